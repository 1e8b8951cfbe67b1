/* compare: matching by configuration, speedups, noise from repeats, geomean, the --fail-if-slower gate;
 * diagnose: the verdict thresholds, worker counts, oversubscription and prefetch advice. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/report_fixture.h"
#include "kernels/error.h"
#include "reports/compare.h"
#include "reports/diagnose.h"

#define H100 "NVIDIA H100 80GB HBM3"

struct side {
	struct rp_results res;
	struct rp_points pts;
};

static void side(struct side *s, const char *name, struct rp_record *r, int n)
{
	const char *path = fx_path(name);
	fx_write_records(path, r, n);
	ck_assert_int_eq(rp_results_load(&s->res, path), KN_OK);
	ck_assert_int_eq(rp_points_build(&s->pts, &s->res), KN_OK);
}

static void drop(struct side *s)
{
	rp_points_release(&s->pts);
	rp_results_release(&s->res);
}

static void point(struct rp_record *r, const char *id, const char *dev, int batch, double sps)
{
	fx_record(r, id);
	fx_device(r, dev);
	r->batch = batch;
	r->samples_per_sec = sps;
}

/* A: a CPU sweep; B: the same grid on an H100 */
static void sweeps(struct side *a, struct side *b)
{
	struct rp_record ra[8], rb[8];
	point(&ra[0], "a16", "cpu", 16, 100);
	point(&ra[1], "a32", "cpu", 32, 190);
	point(&ra[2], "a32", "cpu", 32, 200);
	point(&ra[3], "a32", "cpu", 32, 210);
	point(&ra[4], "a64", "cpu", 64, 300);
	point(&ra[5], "a128", "cpu", 128, 400);
	point(&ra[6], "a8", "cpu", 8, 50);
	side(a, "a.jsonl", ra, 7);
	point(&rb[0], "b16", H100, 16, 150);
	rb[0].peak_device_bytes = 1.2e8;
	rb[0].final_loss = 2.4;
	point(&rb[1], "b32", H100, 32, 185);
	point(&rb[2], "b32", H100, 32, 195);
	point(&rb[3], "b32", H100, 32, 205);
	point(&rb[4], "b64", H100, 64, 240);
	point(&rb[5], "b256", H100, 256, 900);
	point(&rb[6], "b8", H100, 8, NAN);
	strcpy(rb[6].status, "oom");
	side(b, "b.jsonl", rb, 7);
}

START_TEST(test_matching_and_verdicts)
{
	struct side a, b;
	struct rp_compare c;
	sweeps(&a, &b);
	ck_assert_int_eq(rp_compare(&c, &a.pts, &b.pts), KN_OK);
	ck_assert_int_eq(c.n, 4);
	ck_assert_int_eq(c.n_only_a, 1);
	ck_assert_str_eq(a.pts.p[c.only_a[0]].cfg->id, "a128");
	ck_assert_int_eq(c.n_only_b, 1);
	ck_assert_str_eq(b.pts.p[c.only_b[0]].cfg->id, "b256");
	const struct rp_match *m = c.m;
	ck_assert_str_eq(b.pts.p[m[0].b].cfg->id, "b16");
	ck_assert_double_eq_tol(m[0].speedup, 1.5, 1e-12);
	ck_assert_int_eq(m[0].verdict, RP_FASTER);
	ck_assert_int_eq(m[0].noise_known, 0);
	ck_assert_double_eq_tol(m[0].mem_change, 0.2, 1e-12);
	ck_assert_double_eq_tol(m[0].loss_change, -0.1, 1e-12);
	ck_assert_double_eq_tol(m[1].speedup, 195.0 / 200, 1e-12); /* 2.5% slower, inside 190..210 vs 185..205 */
	ck_assert_int_eq(m[1].verdict, RP_NO_CHANGE);
	ck_assert_double_eq_tol(m[2].speedup, 0.8, 1e-12);
	ck_assert_int_eq(m[2].verdict, RP_SLOWER);
	ck_assert_int_eq(m[3].verdict, RP_NOT_COMPARABLE); /* ok -> oom */
	ck_assert(isnan(m[3].speedup));
	ck_assert_int_eq(c.n_geomean, 3);
	ck_assert_double_eq_tol(c.geomean, cbrt(1.5 * 0.975 * 0.8), 1e-12);

	struct rp_buf why;
	rp_buf_init(&why);
	int missing = -1;
	ck_assert_int_eq(rp_compare_regressions(&c, 10, &why, &missing), 3);
	ck_assert_int_eq(missing, 1); /* a128, ok in A, is not in B at all */
	ck_assert_str_eq(rp_buf_str(&why), "  fp32 b64 on cpu -> H100 (id a64): 20.0% slower (300 -> 240 samples/s)\n"
					    "  fp32 b8 on cpu -> H100 (id a8): ok in A, oom in B\n"
					    "  fp32 b128 on cpu (id a128): ok in A, missing from B\n");
	rp_buf_release(&why);
	rp_buf_init(&why);
	ck_assert_int_eq(rp_compare_regressions(&c, 20.5, &why, NULL), 2); /* only the lost points */
	ck_assert_int_eq(rp_compare_regressions(&c, 1, &why, NULL), 3);    /* 1%: still not the 2.5% inside the noise */
	rp_buf_release(&why);

	struct rp_buf md;
	rp_buf_init(&md);
	rp_compare_markdown(&c, "runs/a", "runs/b", &md);
	const char *s = rp_buf_str(&md);
	ck_assert_ptr_nonnull(strstr(s, "Matched 4 points by configuration (device and host ignored); 1 only in A, 1 only "
					"in B. Geometric-mean speedup of B over A: 1.054x over 3 points with both sides ok."));
	ck_assert_ptr_nonnull(strstr(s, "| fp32 b16 | cpu | H100 | 100 | 150 | 1.500x | faster (no repeats) | +20.0% | "
					"-0.1000 |\n"));
	ck_assert_ptr_nonnull(strstr(s, "| fp32 b32 | cpu | H100 | 200 (3 runs: 190-210) | 195 (3 runs: 185-205) | 0.975x | "
					"no change (within spread) | +0.0% | +0.0000 |\n"));
	ck_assert_ptr_nonnull(strstr(s, "| fp32 b8 | cpu | H100 | 50 | oom | n/a | ok → oom | n/a | n/a |\n"));
	ck_assert_ptr_nonnull(strstr(s, "Only in A (1):\n\n- cpu fp32 b128 (id a128, ok)\n"));
	ck_assert_ptr_nonnull(strstr(s, "Only in B (1):\n\n- H100 fp32 b256 (id b256, ok)\n"));
	rp_buf_release(&md);
	rp_compare_release(&c);
	drop(&a);
	drop(&b);
}
END_TEST

START_TEST(test_same_device_paired_first)
{
	struct side a, b;
	struct rp_compare c;
	struct rp_record ra[2], rb[1];
	point(&ra[0], "cpu16", "cpu", 16, 100);
	point(&ra[1], "gpu16", H100, 16, 1000);
	side(&a, "a2.jsonl", ra, 2);
	point(&rb[0], "new16", "NVIDIA A100-SXM4-80GB", 16, 800);
	side(&b, "b2.jsonl", rb, 1);
	ck_assert_int_eq(rp_compare(&c, &a.pts, &b.pts), KN_OK);
	ck_assert_int_eq(c.n, 1);
	ck_assert_str_eq(a.pts.p[c.m[0].a].cfg->id, "gpu16"); /* cuda with cuda, though A's cpu came first */
	ck_assert_str_eq(a.pts.p[c.only_a[0]].cfg->id, "cpu16");
	rp_compare_release(&c);
	drop(&a);
	drop(&b);
}
END_TEST

START_TEST(test_nothing_matches)
{
	struct side a, b;
	struct rp_compare c;
	struct rp_record ra[1], rb[1];
	point(&ra[0], "x", "cpu", 16, 100);
	point(&rb[0], "y", "cpu", 16, 100);
	rb[0].seed = 7; /* another seed: another configuration */
	side(&a, "a3.jsonl", ra, 1);
	side(&b, "b3.jsonl", rb, 1);
	ck_assert_int_eq(rp_compare(&c, &a.pts, &b.pts), KN_OK);
	ck_assert_int_eq(c.n, 0);
	ck_assert(isnan(c.geomean));
	struct rp_buf md;
	rp_buf_init(&md);
	rp_compare_markdown(&c, "a", "b", &md);
	ck_assert_ptr_nonnull(strstr(rp_buf_str(&md), "No matched point is ok on both sides: no speedup."));
	rp_buf_release(&md);
	rp_compare_release(&c);
	drop(&a);
	drop(&b);
}
END_TEST

/* CPU points on different OpenBLAS kernel families: counted and said, with escaping per format */
START_TEST(test_blas_kernels_differ)
{
	struct side a, b;
	struct rp_record ra[4], rb[4];
	const char *ka[] = { "Haswell", "SkylakeX", NULL, "Haswell" }, *kb[] = { "Cooperlake", "skylakex", "Haswell", "Zen" };
	for (int i = 0; i < 4; i++) {
		char id[8];
		snprintf(id, sizeof id, "p%d", i);
		point(&ra[i], id, "cpu", 16 << i, 100);
		point(&rb[i], id, "cpu", 16 << i, 150);
		if (ka[i])
			cJSON_AddStringToObject(ra[i].versions, "blas_kernels", ka[i]);
		cJSON_AddStringToObject(rb[i].versions, "blas_kernels", kb[i]);
	}
	strcpy(rb[3].status, "oom"); /* no speedup: its kernels do not count */
	rb[3].samples_per_sec = NAN;
	side(&a, "a.jsonl", ra, 4);
	side(&b, "b.jsonl", rb, 4);
	struct rp_compare c;
	ck_assert_int_eq(rp_compare(&c, &a.pts, &b.pts), KN_OK);
	ck_assert_int_eq(c.n, 4);
	ck_assert_int_eq(c.n_blas_differ, 1); /* same family in another case, a record without one, no speedup: not counted */
	ck_assert_str_eq(c.blas_a, "Haswell");
	ck_assert_str_eq(c.blas_b, "Cooperlake");
	struct rp_buf md;
	rp_buf_init(&md);
	rp_compare_markdown(&c, "a", "b", &md);
	ck_assert_ptr_nonnull(strstr(rp_buf_str(&md), "Note: 1 matched CPU point ran different OpenBLAS kernels in A and B "
						      "(Haswell in A, Cooperlake in B): its speedup includes the change of "
						      "kernels (versions.blas\\_kernels)."));
	rp_buf_release(&md);
	rp_compare_release(&c);
	drop(&a);
	drop(&b);

	/* a hostile family name is escaped in HTML; a GPU pair is not a CPU pair */
	point(&ra[0], "p0", "cpu", 16, 100);
	point(&rb[0], "p0", "cpu", 16, 150);
	point(&ra[1], "p1", H100, 32, 100);
	point(&rb[1], "p1", H100, 32, 150);
	cJSON_AddStringToObject(ra[0].versions, "blas_kernels", "Haswell");
	cJSON_AddStringToObject(rb[0].versions, "blas_kernels", "<b>x</b>");
	cJSON_AddStringToObject(ra[1].versions, "blas_kernels", "Haswell");
	cJSON_AddStringToObject(rb[1].versions, "blas_kernels", "Zen");
	side(&a, "a.jsonl", ra, 2);
	side(&b, "b.jsonl", rb, 2);
	ck_assert_int_eq(rp_compare(&c, &a.pts, &b.pts), KN_OK);
	ck_assert_int_eq(c.n_blas_differ, 1);
	struct rp_buf html;
	rp_buf_init(&html);
	rp_compare_html(&c, "a", "b", &html);
	ck_assert_ptr_null(strstr(rp_buf_str(&html), "<b>x</b>"));
	ck_assert_ptr_nonnull(strstr(rp_buf_str(&html), "&lt;b&gt;x&lt;/b&gt; in B): its speedup includes"));
	rp_buf_release(&html);
	rp_compare_release(&c);
	drop(&a);
	drop(&b);
}
END_TEST

/* ---- diagnose ---- */

static void loader_record(struct rp_record *r, int workers, double step_ms, double wait_ms)
{
	fx_record(r, "d");
	r->workers = workers;
	r->prefetch = 2;
	r->step_ms_p50 = step_ms;
	r->data_wait_frac = wait_ms / step_ms;
	r->samples_per_sec = r->batch / step_ms * 1e3;
	cJSON *ph = cJSON_AddObjectToObject(r->extra, "phase_ms");
	cJSON_AddNumberToObject(ph, "data_wait", wait_ms);
}

START_TEST(test_bound_thresholds)
{
	ck_assert_int_eq(rp_bound_of(0.0499), RP_BOUND_NOT);
	ck_assert_int_eq(rp_bound_of(0.05), RP_BOUND_MODERATE);
	ck_assert_int_eq(rp_bound_of(0.1999), RP_BOUND_MODERATE);
	ck_assert_int_eq(rp_bound_of(0.20), RP_BOUND_HIGH);
	ck_assert_int_eq(rp_bound_of(1.0), RP_BOUND_HIGH);
	ck_assert_int_eq(rp_bound_of(NAN), RP_BOUND_UNKNOWN);
	ck_assert_str_eq(rp_bound_name(RP_BOUND_HIGH), "highly input-bound");
}
END_TEST

START_TEST(test_trainer_thread_loading)
{
	struct rp_record r;
	struct rp_diagnosis d;
	loader_record(&r, 0, 100, 40); /* loading 16 samples takes 40 ms on the trainer thread */
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_int_eq(d.bound, RP_BOUND_HIGH);
	ck_assert_double_eq_tol(d.demand_sps, 16 / 0.060, 1e-9);
	ck_assert_double_eq_tol(d.supply_sps, 400, 1e-9);
	ck_assert_int_eq(d.supply_measured, 0);
	ck_assert_int_eq(d.workers_needed, 1); /* ceil(266.7 x 1.2 / 400) */
	ck_assert_int_eq(d.oversubscribed, 0); /* 4 compute threads + 1 worker on 8 CPUs */
	ck_assert_str_eq(d.explanation, "The trainer waited for data 40.0% of each step. The loader supplies 400 "
					"samples/s but the compute could take 267: use --workers 1.");
	rp_record_release(&r);
}
END_TEST

START_TEST(test_starved_workers_oversubscribe)
{
	struct rp_record r;
	struct rp_diagnosis d;
	loader_record(&r, 2, 100, 50); /* 2 workers make 160 samples/s; compute alone could take 320 */
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_double_eq_tol(d.per_worker_sps, 80, 1e-9);
	ck_assert_int_eq(d.workers_needed, 5); /* ceil(320 x 1.2 / 80) = ceil(4.8) */
	ck_assert_int_eq(d.oversubscribed, 1); /* 4 + 5 > 8 CPUs: no busy_cpu_frac, so each worker is a full core */
	ck_assert_double_eq_tol(d.loader_cores, 5, 1e-12);
	ck_assert_ptr_nonnull(strstr(d.explanation, "use --workers 5, but then the workers compute on about 5 cores beside "
						    "4 compute threads on 8 CPUs: expect less than linear gains"));
	rp_record_release(&r);

	loader_record(&r, 4, 100, 30);
	cJSON_AddNumberToObject(r.loader, "producer_samples_per_sec", 200); /* capacity only: 50 per worker */
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_int_eq(d.supply_measured, 1);
	ck_assert_double_eq_tol(d.per_worker_sps, 50, 1e-9);
	ck_assert_int_eq(d.workers_needed, 6); /* ceil(228.6 x 1.2 / 50) = ceil(5.49) */
	rp_record_release(&r);
}
END_TEST

START_TEST(test_loader_statistics)
{
	/* the loader's own measurements, as data_loader/ records them: a slow store, workers mostly waiting */
	struct rp_record r;
	struct rp_diagnosis d;
	loader_record(&r, 2, 100, 60);
	cJSON_AddNumberToObject(r.loader, "consumer_samples_per_sec", 400);
	cJSON_AddNumberToObject(r.loader, "producer_samples_per_sec", 100);
	cJSON_AddNumberToObject(r.loader, "producer_samples_per_sec_per_worker", 50);
	cJSON_AddNumberToObject(r.loader, "busy_cpu_frac", 0.05);
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_int_eq(d.demand_measured, 1);
	ck_assert_double_eq(d.demand_sps, 400);
	ck_assert_int_eq(d.supply_measured, 1);
	ck_assert_int_eq(d.workers_needed, 10); /* ceil(400 x 1.2 / 50) */
	ck_assert_int_eq(d.oversubscribed, 0);  /* 10 workers at 5% CPU (0.5 cores) + 4 compute threads fit 8 CPUs */
	ck_assert_str_eq(d.explanation, "The trainer waited for data 60.0% of each step. The loader supplies 100 samples/s "
					"but the compute could take 400: use --workers 10 (the workers spend 5% of their "
					"busy time on CPU, the rest waiting on reads, so more workers than the 8 CPUs is fine).");
	rp_record_release(&r);
}
END_TEST

/* A loader record on a 2-CPU host with 2 compute threads and the workers' busy and CPU shares. */
static void two_cpus(struct rp_record *r, int workers, double wait_ms, double busy_frac, double busy_cpu_frac)
{
	loader_record(r, workers, 100, wait_ms);
	cJSON_SetNumberValue(cJSON_GetObjectItem(r->versions, "threads"), 2);
	cJSON_SetNumberValue(cJSON_GetObjectItem(r->versions, "host_cpus"), 2);
	cJSON_AddNumberToObject(r->loader, "busy_frac", busy_frac);
	cJSON_AddNumberToObject(r->loader, "busy_cpu_frac", busy_cpu_frac);
}

/* Workers that wait (on reads, or blocked on a full ring) take no core: only the loader's CPU demand
 * in cores, workers x busy_frac x busy_cpu_frac, counts, and only when it is material. */
START_TEST(test_waiting_workers_fit)
{
	struct rp_record r;
	struct rp_diagnosis d;
	/* a slow store: 4 workers busy all the time, 0.2% of it on CPU, beside 2 compute threads on 2 CPUs */
	two_cpus(&r, 4, 1, 1.0, 0.002);
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_double_eq_tol(d.loader_cores, 0.008, 1e-12);
	ck_assert_int_eq(d.oversubscribed, 0);
	ck_assert_str_eq(d.explanation, "The trainer waited for data 1.0% of each step. Loading keeps up; more workers or "
					"prefetch will not speed this point up.");
	/* starved on that store: 10 more workers are still fine, as the trainer's live warning says */
	rp_record_release(&r);
	two_cpus(&r, 1, 75, 1.0, 0.002);
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_int_eq(d.workers_needed, 5); /* ceil(16 / 25 ms x 1.2 / 160) */
	ck_assert_int_eq(d.oversubscribed, 0);
	ck_assert_ptr_nonnull(strstr(d.explanation, "use --workers 5 (the workers spend 0% of their busy time on CPU, the "
						    "rest waiting on reads, so more workers than the 2 CPUs is fine)."));
	rp_record_release(&r);

	/* the default run: 2 workers blocked on a full ring almost all the time */
	two_cpus(&r, 2, 0, 7.7e-5, 0.81);
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_int_eq(d.oversubscribed, 0);
	ck_assert_ptr_null(strstr(d.explanation, "oversubscribe"));
	/* the same workers computing: augmenting and decoding, busy 90% of the time, 90% of it on CPU */
	cJSON_SetNumberValue(cJSON_GetObjectItem(r.loader, "busy_frac"), 0.9);
	cJSON_SetNumberValue(cJSON_GetObjectItem(r.loader, "busy_cpu_frac"), 0.9);
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_double_eq_tol(d.loader_cores, 1.62, 1e-12);
	ck_assert_int_eq(d.oversubscribed, 1);
	ck_assert_str_eq(d.explanation, "The trainer waited for data 0.0% of each step. Loading keeps up, but the workers "
					"compute on about 1.6 cores beside 2 compute threads on 2 CPUs, so they slow the "
					"step itself (its forward and backward), which data wait does not show: the worker "
					"count can still change the step time; compare points that differ only in --workers.");
	/* a material but small demand that still fits beside the compute threads */
	cJSON_SetNumberValue(cJSON_GetObjectItem(r.versions, "host_cpus"), 4);
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_int_eq(d.oversubscribed, 0);
	/* more compute threads than CPUs oversubscribe whatever the loader does */
	cJSON_SetNumberValue(cJSON_GetObjectItem(r.versions, "threads"), 8);
	cJSON_SetNumberValue(cJSON_GetObjectItem(r.loader, "busy_frac"), 0.0);
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_int_eq(d.oversubscribed, 1);
	rp_record_release(&r);
}
END_TEST

START_TEST(test_prefetch_and_not_bound)
{
	struct rp_record r;
	struct rp_diagnosis d;
	loader_record(&r, 8, 100, 10); /* moderately bound, enough workers on average, bursty latency */
	cJSON_AddNumberToObject(r.loader, "producer_samples_per_sec", 1000);
	cJSON_AddNumberToObject(r.loader, "batch_ms_p50", 20);
	cJSON_AddNumberToObject(r.loader, "batch_ms_p95", 200);
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_int_eq(d.bound, RP_BOUND_MODERATE);
	ck_assert_int_eq(d.workers_needed, 2);
	ck_assert_int_eq(d.prefetch_advice, 4); /* ceil(200 ms / 90 ms of compute) + 1 */
	ck_assert_ptr_nonnull(strstr(d.explanation, "use --prefetch 4 so the ring absorbs slow batches"));
	rp_record_release(&r);

	loader_record(&r, 2, 100, 1);
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_int_eq(d.bound, RP_BOUND_NOT);
	ck_assert_int_eq(d.workers_needed, -1);
	ck_assert_int_eq(d.prefetch_advice, 0);
	ck_assert_str_eq(d.explanation, "The trainer waited for data 1.0% of each step. Loading keeps up; more workers or "
					"prefetch will not speed this point up.");
	strcpy(r.status, "oom");
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_EDATA);
	ck_assert_str_eq(kn_last_error(), "status oom: nothing to diagnose");
	rp_record_release(&r);
}
END_TEST

/* CPU points whose GEMMs ran BLAS kernels below the CPU's best: said, with who chose them */
START_TEST(test_blas_below_the_cpu)
{
	struct rp_record r;
	struct rp_diagnosis d;
	loader_record(&r, 2, 100, 1);
	cJSON_AddStringToObject(r.versions, "blas_kernels", "Haswell");
	cJSON_AddStringToObject(r.versions, "blas_kernels_by", "OPENBLAS_CORETYPE");
	cJSON_AddStringToObject(r.versions, "blas_cpu_best", "Cooperlake");
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_int_eq(d.blas_below, 1);
	ck_assert_str_eq(d.explanation, "The trainer waited for data 1.0% of each step. Loading keeps up; more workers or "
					"prefetch will not speed this point up. Note: the CPU's matrix products ran OpenBLAS's "
					"Haswell kernels, below the Cooperlake kernels this CPU runs, so the compute measured is "
					"slower than the CPU's (OPENBLAS_CORETYPE forced them: unset it to measure this CPU at "
					"its best).");
	struct rp_buf md;
	rp_buf_init(&md);
	rp_diagnosis_markdown(&r, &d, &md);
	ck_assert_ptr_nonnull(strstr(rp_buf_str(&md), "- BLAS: OpenBLAS Haswell kernels (chosen by OPENBLAS\\_CORETYPE), "
						       "**below this CPU's Cooperlake**"));
	rp_buf_release(&md);

	/* the library's own pick, below the best (amptune's reselection failed): a newer library may help */
	cJSON_ReplaceItemInObject(r.versions, "blas_kernels_by", cJSON_CreateString("library"));
	cJSON_ReplaceItemInObject(r.versions, "blas_kernels", cJSON_CreateString("Sandybridge"));
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	ck_assert_ptr_nonnull(strstr(d.explanation, "ran OpenBLAS's Sandybridge kernels, below the Cooperlake kernels"));
	ck_assert_ptr_nonnull(strstr(d.explanation, "a newer OpenBLAS may"));

	/* a record without blas_kernels_by: no "chosen by" */
	cJSON_DeleteItemFromObject(r.versions, "blas_kernels_by");
	ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
	rp_buf_init(&md);
	rp_diagnosis_markdown(&r, &d, &md);
	ck_assert_ptr_nonnull(strstr(rp_buf_str(&md), "- BLAS: OpenBLAS Sandybridge kernels, **below this CPU's Cooperlake**"));
	rp_buf_release(&md);

	/* the best family (any case), an unknown best, an older record, a GPU point: nothing said */
	const char *cases[][3] = { { "cpu", "cooperlake", "Cooperlake" }, { "cpu", "Haswell", "" },
				   { "cpu", NULL, NULL }, { "cuda", "Haswell", "Cooperlake" } };
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		snprintf(r.device, sizeof r.device, "%s", cases[i][0]);
		cJSON_DeleteItemFromObject(r.versions, "blas_kernels");
		cJSON_DeleteItemFromObject(r.versions, "blas_cpu_best");
		if (cases[i][1]) {
			cJSON_AddStringToObject(r.versions, "blas_kernels", cases[i][1]);
			cJSON_AddStringToObject(r.versions, "blas_cpu_best", cases[i][2]);
		}
		ck_assert_int_eq(rp_diagnose(&r, &d), KN_OK);
		ck_assert_msg(!d.blas_below && !strstr(d.explanation, "OpenBLAS"), "case %zu: %s", i, d.explanation);
	}
	rp_record_release(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reports_compare");
	TCase *cmp = tcase_create("compare"), *diag = tcase_create("diagnose");
	tcase_add_test(cmp, test_matching_and_verdicts);
	tcase_add_test(cmp, test_same_device_paired_first);
	tcase_add_test(cmp, test_nothing_matches);
	tcase_add_test(cmp, test_blas_kernels_differ);
	tcase_add_test(diag, test_bound_thresholds);
	tcase_add_test(diag, test_trainer_thread_loading);
	tcase_add_test(diag, test_starved_workers_oversubscribe);
	tcase_add_test(diag, test_loader_statistics);
	tcase_add_test(diag, test_waiting_workers_fit);
	tcase_add_test(diag, test_prefetch_and_not_bound);
	tcase_add_test(diag, test_blas_below_the_cpu);
	suite_add_tcase(s, cmp);
	suite_add_tcase(s, diag);
	return fx_run(s);
}
