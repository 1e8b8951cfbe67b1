#include "reports/diagnose.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/cpu/blas.h"
#include "kernels/error.h"

const char *rp_bound_name(enum rp_bound b)
{
	switch (b) {
	case RP_BOUND_HIGH: return "highly input-bound";
	case RP_BOUND_MODERATE: return "moderately input-bound";
	case RP_BOUND_NOT: return "not input-bound";
	default: return "unknown (data wait not measured)";
	}
}

enum rp_bound rp_bound_of(double f)
{
	if (!isfinite(f))
		return RP_BOUND_UNKNOWN;
	return f >= RP_INPUT_BOUND_HIGH ? RP_BOUND_HIGH : f >= RP_INPUT_BOUND_MODERATE ? RP_BOUND_MODERATE : RP_BOUND_NOT;
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void str(char *dst, size_t n, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	snprintf(dst, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

int rp_record_blas_below(const struct rp_record *r, struct rp_blas_note *n)
{
	memset(n, 0, sizeof *n);
	if (strncmp(r->device, "cpu", 3))
		return 0;
	str(n->kernels, sizeof n->kernels, r->versions, "blas_kernels");
	str(n->cpu_best, sizeof n->cpu_best, r->versions, "blas_cpu_best");
	str(n->by, sizeof n->by, r->versions, "blas_kernels_by");
	return kn_blas_below(n->kernels, n->cpu_best);
}

static void blas_advice(const struct rp_diagnosis *d, char *s, size_t n)
{
	if (!strcmp(d->blas.by, "OPENBLAS_CORETYPE"))
		snprintf(s, n, "OPENBLAS_CORETYPE forced them: unset it to measure this CPU at its best");
	else
		snprintf(s, n, "the library could not select the better family: a newer OpenBLAS may");
}

/* 1 when the point's workers, computing, crowd the CPUs its compute threads fit on by themselves
 * (so oversubscribed means the loader's material demand on top of them) */
static int workers_crowd(const struct rp_record *r, const struct rp_diagnosis *d)
{
	return d->oversubscribed == 1 && r->workers > 0 && d->compute_threads <= d->host_cpus;
}

/* "about 1.7 cores beside 2 compute threads on 2 CPUs" */
static const char *cores_beside(const struct rp_diagnosis *d, char *out, size_t n)
{
	snprintf(out, n, "about %.2g cores beside %d compute thread%s on %d CPU%s", d->loader_cores, d->compute_threads,
		 d->compute_threads == 1 ? "" : "s", d->host_cpus, d->host_cpus == 1 ? "" : "s");
	return out;
}

static void explain(const struct rp_record *r, struct rp_diagnosis *d)
{
	char cores[128];
	char *s = d->explanation;
	size_t n = sizeof d->explanation, len = 0;
#define SAY(...) (len += (size_t)snprintf(len < n ? s + len : NULL, len < n ? n - len : 0, __VA_ARGS__))
	if (d->bound == RP_BOUND_UNKNOWN) {
		SAY("The record has no data-wait measurement, so starvation cannot be judged.");
		return;
	}
	SAY("The trainer waited for data %.1f%% of each step.", 100 * d->wait_frac);
	if (d->bound == RP_BOUND_NOT && workers_crowd(r, d)) {
		/* the workers' computing shares the CPUs with the step's: data wait does not show that cost */
		SAY(" Loading keeps up, but the workers compute on %s, so they slow the step itself (its forward and "
		    "backward), which data wait does not show: the worker count can still change the step time; compare "
		    "points that differ only in --workers.",
		    cores_beside(d, cores, sizeof cores));
	} else if (d->bound == RP_BOUND_NOT) {
		SAY(" Loading keeps up; more workers or prefetch will not speed this point up.");
	} else if (d->workers_needed > 0 && d->workers_needed > r->workers) {
		SAY(" The loader supplies %.0f samples/s but the compute could take %.0f: use --workers %d", d->supply_sps,
		    d->demand_sps, d->workers_needed);
		if (d->oversubscribed == 1) {
			SAY(", but then the workers compute on about %.2g cores beside %d compute threads on %d CPUs",
			    d->loader_cores, d->compute_threads, d->host_cpus);
			if (isfinite(d->worker_cpu_frac))
				SAY(" (making a sample is %.0f%% CPU)", 100 * d->worker_cpu_frac);
			SAY(": expect less than linear gains, or make samples cheaper (decoding, --data-cost).");
		} else if (d->oversubscribed == 0 && isfinite(d->worker_cpu_frac) &&
			   d->loader_threads + d->compute_threads > d->host_cpus) {
			SAY(" (the workers spend %.0f%% of their busy time on CPU, the rest waiting on reads, so more "
			    "workers than the %d CPUs is fine).",
			    100 * d->worker_cpu_frac, d->host_cpus);
		} else {
			SAY(".");
		}
	} else if (d->prefetch_advice > 0) {
		SAY(" Workers keep up on average, but batch latency is uneven (p95 %.3g ms against p50 %.3g ms): use "
		    "--prefetch %d so the ring absorbs slow batches.",
		    d->latency_p95_ms, d->latency_p50_ms, d->prefetch_advice);
	} else {
		SAY(" Look at the dataset's per-sample cost (decoding, augmentation, storage latency).");
		if (workers_crowd(r, d))
			SAY(" The workers already compute on %s: more of them would take cores from the step, so cheaper "
			    "samples are the way out.",
			    cores_beside(d, cores, sizeof cores));
	}
	if (d->oversubscribed == 1 && d->compute_threads > d->host_cpus) /* the compute threads alone are too many */
		SAY(" Note: %d compute threads on %d CPU%s oversubscribe them by themselves: use --threads %d (or fewer, "
		    "leaving cores to the loader).",
		    d->compute_threads, d->host_cpus, d->host_cpus == 1 ? "" : "s", d->host_cpus);
	if (d->handoff_ms > RP_HANDOFF_MATERIAL * r->step_ms_p50)
		SAY(" Taking batches once they were ready cost %.3g ms per step (%.0f%% of the step): the trainer's "
		    "thread waited %s, not for data.",
		    d->handoff_ms, 100 * d->handoff_ms / r->step_ms_p50,
		    d->oversubscribed == 1 ? "for a CPU that loader workers held" : "for the loader's lock or the scheduler");
	if (d->blas_below) {
		char advice[160];
		blas_advice(d, advice, sizeof advice);
		SAY(" Note: the CPU's matrix products ran OpenBLAS's %s kernels, below the %s kernels this CPU runs, so the "
		    "compute measured is slower than the CPU's (%s).",
		    d->blas.kernels, d->blas.cpu_best, advice);
	}
#undef SAY
}

int rp_diagnose(const struct rp_record *r, struct rp_diagnosis *d)
{
	memset(d, 0, sizeof *d);
	if (strcmp(r->status, "ok"))
		return kn_error(KN_EDATA, "status %s: nothing to diagnose", r->status);
	if (!(r->step_ms_p50 > 0))
		return kn_error(KN_EDATA, "no step time measured");
	d->wait_frac = r->data_wait_frac;
	d->bound = rp_bound_of(d->wait_frac);
	const cJSON *ph = cJSON_GetObjectItemCaseSensitive(r->extra, "phase_ms");
	d->wait_ms = num(ph, "data_wait");
	if (!isfinite(d->wait_ms))
		d->wait_ms = isfinite(d->wait_frac) ? d->wait_frac * r->step_ms_p50 : 0;
	d->compute_ms = fmax(r->step_ms_p50 - d->wait_ms, r->step_ms_p50 * 1e-3);
	d->demand_sps = num(r->loader, "consumer_samples_per_sec");
	d->demand_measured = isfinite(d->demand_sps);
	if (!d->demand_measured)
		d->demand_sps = r->batch / d->compute_ms * 1e3;
	d->supply_sps = num(r->loader, "producer_samples_per_sec");
	d->per_worker_sps = num(r->loader, "producer_samples_per_sec_per_worker");
	d->worker_cpu_frac = num(r->loader, "busy_cpu_frac");
	d->supply_measured = isfinite(d->supply_sps);
	if (!d->supply_measured) {
		if (r->workers == 0 && d->wait_ms > 0)
			d->supply_sps = r->batch / d->wait_ms * 1e3; /* the trainer thread made each batch during the wait */
		else if (r->workers > 0 && d->bound != RP_BOUND_NOT)
			d->supply_sps = r->samples_per_sec;          /* starved: it consumed what the workers made */
	}
	if (!isfinite(d->per_worker_sps) && isfinite(d->supply_sps) && (d->supply_measured || d->bound != RP_BOUND_NOT))
		d->per_worker_sps = d->supply_sps / (r->workers > 0 ? r->workers : 1);
	d->workers_needed = -1;
	if (d->per_worker_sps > 0)
		d->workers_needed = (int)ceil(d->demand_sps * (1 + RP_WORKER_HEADROOM) / d->per_worker_sps - 1e-9);
	double threads = num(r->versions, "threads"), cpus = num(r->versions, "host_cpus");
	d->compute_threads = strncmp(r->device, "cpu", 3) == 0 ? (isfinite(threads) ? (int)threads : 0) : 1;
	d->host_cpus = isfinite(cpus) ? (int)cpus : 0;
	d->loader_threads = d->bound != RP_BOUND_NOT && d->workers_needed > r->workers ? d->workers_needed : r->workers;
	d->worker_busy_frac = num(r->loader, "busy_frac");
	/* cores the workers compute on: an advised count is taken as busy all the time; a worker blocked
	 * on a full ring or waiting on reads takes no core */
	double busy = d->loader_threads == r->workers && isfinite(d->worker_busy_frac) ? d->worker_busy_frac : 1;
	d->loader_cores = d->loader_threads * busy * (isfinite(d->worker_cpu_frac) ? d->worker_cpu_frac : 1);
	d->oversubscribed = -1;
	if (d->compute_threads && d->host_cpus)
		d->oversubscribed = d->compute_threads > d->host_cpus ||
				    (d->loader_cores > RP_LOADER_CORES_MATERIAL &&
				     d->compute_threads + d->loader_cores > d->host_cpus);
	d->latency_p50_ms = num(r->loader, "batch_ms_p50");
	d->latency_p95_ms = num(r->loader, "batch_ms_p95");
	if (!isfinite(d->latency_p50_ms) || !isfinite(d->latency_p95_ms)) {
		d->latency_p50_ms = num(r->loader, "wait_ms_p50");
		d->latency_p95_ms = num(r->loader, "wait_ms_p95");
	}
	int bursty = isfinite(d->latency_p95_ms) && d->latency_p95_ms > 2 * d->latency_p50_ms;
	if ((d->bound == RP_BOUND_HIGH || d->bound == RP_BOUND_MODERATE) && bursty && r->workers > 0) {
		int k = (int)ceil(d->latency_p95_ms / d->compute_ms) + 1;
		d->prefetch_advice = k > r->prefetch ? k : r->prefetch + 1;
	}
	d->handoff_ms = num(r->loader, "handoff_ms_mean");
	d->blas_below = rp_record_blas_below(r, &d->blas);
	explain(r, d);
	return KN_OK;
}

void rp_diagnosis_markdown(const struct rp_record *r, const struct rp_diagnosis *d, struct rp_buf *b)
{
	rp_buf_printf(b, "- data wait: %.1f%% of step time: **%s**\n", 100 * d->wait_frac, rp_bound_name(d->bound));
	char rate[32];
	if (d->demand_measured)
		rp_buf_printf(b, "- demand: %s samples/s (measured by the loader: what the trainer takes when not waiting)\n",
			      rp_fmt_num(rate, sizeof rate, d->demand_sps));
	else
		rp_buf_printf(b, "- demand: %s samples/s (compute alone: %.4g ms per step of %.4g ms)\n",
			      rp_fmt_num(rate, sizeof rate, d->demand_sps), d->compute_ms, r->step_ms_p50);
	if (isfinite(d->supply_sps))
		rp_buf_printf(b, "- supply: %s samples/s from %d worker%s (%s)\n", rp_fmt_num(rate, sizeof rate, d->supply_sps),
			      r->workers,
			      r->workers == 1 ? "" : "s",
			      d->supply_measured ? "measured by the loader"
			      : r->workers == 0 ? "inferred: the trainer thread loads each batch during its wait"
						: "inferred: the trainer consumed what the workers made");
	else
		rp_buf_printf(b, "- supply: at least the demand (the loader kept up; its rate was not recorded)\n");
	if (d->workers_needed >= 0)
		rp_buf_printf(b, "- workers: %s samples/s per worker, so %d would meet demand with %.0f%% headroom (now %d)\n",
			      rp_fmt_num(rate, sizeof rate, d->per_worker_sps), d->workers_needed, 100 * RP_WORKER_HEADROOM, r->workers);
	if (d->oversubscribed >= 0) {
		rp_buf_printf(b, "- threads: %d compute + %d loader on %d CPUs: %s (the loader computes on about %.2g cores: ",
			      d->compute_threads, d->loader_threads, d->host_cpus,
			      d->oversubscribed ? "oversubscribed" : "fits", d->loader_cores);
		if (d->loader_threads == 0)
			rp_buf_puts(b, "no worker threads");
		else if (!isfinite(d->worker_cpu_frac))
			rp_buf_puts(b, "busy_cpu_frac not recorded, so each worker counts as a full core");
		else if (d->loader_threads == r->workers && isfinite(d->worker_busy_frac))
			rp_buf_printf(b, "the workers are busy %.3g%% of the time, %.0f%% of that on CPU", 100 * d->worker_busy_frac,
				      100 * d->worker_cpu_frac);
		else
			rp_buf_printf(b, "each worker busy all the time, %.0f%% of it on CPU", 100 * d->worker_cpu_frac);
		if (!d->oversubscribed && d->loader_threads + d->compute_threads > d->host_cpus)
			rp_buf_puts(b, "; workers that mostly wait, on a full ring or on reads, take no core, so more threads "
				       "than CPUs is fine");
		rp_buf_puts(b, ")\n");
	} else {
		rp_buf_puts(b, "- threads: the host's CPU count was not recorded; oversubscription not checked\n");
	}
	if (isfinite(d->latency_p95_ms))
		rp_buf_printf(b, "- batch latency: p50 %.3g ms, p95 %.3g ms\n", d->latency_p50_ms, d->latency_p95_ms);
	if (isfinite(d->handoff_ms) && r->workers > 0)
		rp_buf_printf(b, "- handoff: %.3g ms per step taking batches once they were ready (not data wait: the "
				 "trainer thread waiting for a CPU, or the lock)\n",
			      d->handoff_ms);
	if (d->prefetch_advice)
		rp_buf_printf(b, "- prefetch: raise --prefetch from %d to %d\n", r->prefetch, d->prefetch_advice);
	if (d->blas.kernels[0]) {
		rp_buf_puts(b, "- BLAS: OpenBLAS ");
		rp_buf_md(b, d->blas.kernels);
		rp_buf_puts(b, " kernels");
		if (d->blas.by[0]) {
			rp_buf_puts(b, " (chosen by ");
			rp_buf_md(b, !strcmp(d->blas.by, "library") ? "the library" : d->blas.by);
			rp_buf_puts(b, ")");
		}
		if (d->blas_below) {
			char advice[160];
			blas_advice(d, advice, sizeof advice);
			rp_buf_puts(b, ", **below this CPU's ");
			rp_buf_md(b, d->blas.cpu_best);
			rp_buf_puts(b, "**: ");
			rp_buf_md(b, advice);
			rp_buf_puts(b, "\n");
		} else {
			rp_buf_puts(b, d->blas.cpu_best[0] ? ", the best this CPU runs\n" : "\n");
		}
	}
	rp_buf_puts(b, "\n");
	rp_buf_md(b, d->explanation);
	rp_buf_puts(b, "\n");
}
