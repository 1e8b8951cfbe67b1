#include "reports/points.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/error.h"
#include "reports/text.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double rp_median(double *v, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		if (isfinite(v[i]))
			v[k++] = v[i];
	if (k == 0)
		return NAN;
	qsort(v, (size_t)k, sizeof *v, cmp_double);
	return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

double rp_tail_loss(const struct rp_record *r)
{
	int n = r->n_loss_curve, k = (n + 3) / 4;
	double sum = 0;
	if (n == 0)
		return NAN;
	for (int i = n - k; i < n; i++)
		sum += r->loss_curve[i].loss;
	return isfinite(sum) ? sum / k : NAN;
}

const char *rp_loss_kind_name(enum rp_loss_kind k)
{
	switch (k) {
	case RP_LOSS_EVAL: return "eval loss";
	case RP_LOSS_TAIL: return "training loss (mean of the last quarter)";
	default: return "final training loss";
	}
}

/* The median over ok repeats of the double at byte offset `off` of a record; v has room for
 * every repeat. */
static double median_of(const struct rp_point *p, size_t off, double *v)
{
	int n = 0;
	for (int i = 0; i < p->n_reps; i++)
		if (strcmp(p->reps[i]->status, "ok") == 0)
			v[n++] = *(const double *)((const char *)p->reps[i] + off);
	return rp_median(v, n);
}

#define MEDIAN(p, field) median_of(p, offsetof(struct rp_record, field), v)

/* `v`: scratch for as many values as the point has repeats */
static void summarise(struct rp_point *p, double *v)
{
	p->status = p->cfg->status;
	p->rep = p->cfg;
	p->sps_min = p->sps_max = NAN;
	for (int i = 0; i < p->n_reps; i++) {
		const struct rp_record *r = p->reps[i];
		if (strcmp(r->status, "ok") != 0)
			continue;
		p->n_ok++;
		p->status = "ok";
		p->epoch_s_extrapolated |= r->epoch_s_extrapolated;
		if (isfinite(r->samples_per_sec)) {
			p->sps_min = isfinite(p->sps_min) ? fmin(p->sps_min, r->samples_per_sec) : r->samples_per_sec;
			p->sps_max = isfinite(p->sps_max) ? fmax(p->sps_max, r->samples_per_sec) : r->samples_per_sec;
		}
	}
	p->step_ms_p50 = MEDIAN(p, step_ms_p50);
	p->step_ms_p95 = MEDIAN(p, step_ms_p95);
	p->samples_per_sec = MEDIAN(p, samples_per_sec);
	p->tokens_per_sec = MEDIAN(p, tokens_per_sec);
	p->epoch_s = MEDIAN(p, epoch_s);
	p->peak_device_bytes = MEDIAN(p, peak_device_bytes);
	p->final_loss = MEDIAN(p, final_loss);
	p->eval_loss = MEDIAN(p, eval_loss);
	int n_tails = 0;
	for (int i = 0; i < p->n_reps; i++)
		if (strcmp(p->reps[i]->status, "ok") == 0)
			v[n_tails++] = rp_tail_loss(p->reps[i]);
	p->tail_loss = rp_median(v, n_tails);
	p->data_wait_frac = MEDIAN(p, data_wait_frac);
	p->mfu = MEDIAN(p, mfu);
	p->mem_bytes = MEDIAN(p, peak_device_bytes_driver);
	if (!isfinite(p->mem_bytes))
		p->mem_bytes = p->peak_device_bytes;
	p->cost_per_epoch = p->cost_per_m_samples = p->cost_per_m_tokens = NAN;
	p->rule_loss = p->best_loss_same_steps = NAN;
	double best = INFINITY;
	int have = 0;
	for (int i = 0; i < p->n_reps; i++) {
		const struct rp_record *r = p->reps[i];
		double d = fabs(r->samples_per_sec - p->samples_per_sec);
		if (strcmp(r->status, "ok") != 0 || (have && !(d < best)))
			continue;
		have = 1;
		best = isfinite(d) ? d : INFINITY;
		p->rep = r;
	}
}

static unsigned differences(const struct rp_record *a, const struct rp_record *b)
{
	unsigned v = 0;
	if (strcmp(a->model, b->model) || strcmp(a->size, b->size))
		v |= RP_AXIS_MODEL;
	if (strcmp(a->device, b->device) || strcmp(a->device_name, b->device_name))
		v |= RP_AXIS_DEVICE;
	if (strcmp(a->precision, b->precision))
		v |= RP_AXIS_PRECISION;
	if (a->batch != b->batch)
		v |= RP_AXIS_BATCH;
	if (a->seq != b->seq)
		v |= RP_AXIS_SEQ;
	if (a->workers != b->workers)
		v |= RP_AXIS_WORKERS;
	if (a->prefetch != b->prefetch)
		v |= RP_AXIS_PREFETCH;
	if (a->steps != b->steps)
		v |= RP_AXIS_STEPS;
	if (strcmp(a->dataset, b->dataset))
		v |= RP_AXIS_DATASET;
	if (a->seed != b->seed)
		v |= RP_AXIS_SEED;
	return v;
}

/* 1 when two devices print alike ("H100" for an H100 SXM and an H100 PCIe, "cpu" for two CPUs) */
static int same_short_label(const struct rp_record *a, const struct rp_record *b)
{
	char x[160], y[160];
	return !strcmp(rp_device_label(a, x, sizeof x), rp_device_label(b, y, sizeof y));
}

static const int *lead_of; /* for by_lead: each point's first record */
static int by_lead(const void *a, const void *b) { return lead_of[*(const int *)a] - lead_of[*(const int *)b]; }

/*
 * owner[i]: the point record i belongs to, points numbered in order of their first record. A point
 * is an id on one device: repeats of an id that ran on different devices (`device` and
 * `device_name`: array tasks landing on an H100 and an A100) are different points, never one
 * median. A record whose backend never opened (no device_name: which device it would have run on
 * is unknown) joins its id's point when the id ran on one device (or none); when it ran on several,
 * such records are a point of their own, so no device's point depends on the file's order. Sets
 * pts->n, each point's cfg, line and n_reps, and pts->long_devices. Returns nonzero out of memory.
 */
static int group_points(struct rp_points *pts, const struct rp_results *res, int *owner)
{
	int n = res->n, np = 0, rc = 0;
	int *first = malloc((size_t)n * sizeof *first + 1), *next = malloc((size_t)n * sizeof *next + 1);
	int *unknown = malloc((size_t)n * sizeof *unknown + 1), *ndev = calloc((size_t)n + 1, sizeof *ndev);
	int *lead = malloc((size_t)n * sizeof *lead + 1), *order = malloc((size_t)n * sizeof *order + 1);
	int *rank = malloc((size_t)n * sizeof *rank + 1);
	const struct rp_record **dev = calloc((size_t)n + 1, sizeof *dev); /* per point: who named its device */
	if (!first || !next || !unknown || !ndev || !lead || !order || !rank || !dev) {
		rc = 1;
		goto out;
	}
	for (int g = 0; g < n; g++)
		first[g] = unknown[g] = -1;
	for (int i = 0; i < n; i++) { /* the records that name their device */
		const struct rp_record *r = &res->recs[i];
		int g = res->group[i], k = first[g], last = -1;
		if (!r->device_name[0])
			continue;
		for (; k >= 0; last = k, k = next[k])
			if (!strcmp(dev[k]->device, r->device) && !strcmp(dev[k]->device_name, r->device_name))
				break;
		if (k < 0) {
			k = np++;
			dev[k] = r;
			lead[k] = i;
			next[k] = -1;
			*(last >= 0 ? &next[last] : &first[g]) = k;
			ndev[g]++;
		}
		owner[i] = k;
	}
	for (int i = 0; i < n; i++) { /* those that do not */
		int g = res->group[i], k;
		if (res->recs[i].device_name[0])
			continue;
		if (ndev[g] == 1) {
			k = first[g];
		} else if ((k = unknown[g]) < 0) {
			k = unknown[g] = np++;
			lead[k] = i;
		}
		if (i < lead[k])
			lead[k] = i;
		owner[i] = k;
	}
	for (int k = 0; k < np; k++)
		order[k] = k;
	lead_of = lead;
	qsort(order, (size_t)np, sizeof *order, by_lead);
	for (int j = 0; j < np; j++)
		rank[order[j]] = j;
	pts->n = np;
	for (int j = 0; j < np; j++) {
		pts->p[j].cfg = &res->recs[lead[order[j]]];
		pts->p[j].line = res->lines[lead[order[j]]];
	}
	for (int i = 0; i < n; i++) {
		owner[i] = rank[owner[i]];
		pts->p[owner[i]].n_reps++;
	}
	/* two devices of one id that print alike: every label names devices in full */
	for (int g = 0; g < n && !pts->long_devices; g++)
		for (int k = first[g]; k >= 0 && !pts->long_devices; k = next[k])
			for (int j = next[k]; j >= 0; j = next[j])
				if (same_short_label(dev[k], dev[j]))
					pts->long_devices = 1;
out:
	free(first), free(next), free(unknown), free(ndev), free(lead), free(order), free(rank), free(dev);
	return rc;
}

int rp_points_build(struct rp_points *pts, const struct rp_results *res)
{
	memset(pts, 0, sizeof *pts);
	pts->p = calloc((size_t)res->n, sizeof *pts->p);
	pts->slots = calloc((size_t)res->n, sizeof *pts->slots);
	int *owner = calloc((size_t)res->n, sizeof *owner);
	if (!pts->p || !pts->slots || !owner) {
		free(owner);
		rp_points_release(pts);
		return kn_error(KN_ERR, "out of memory grouping %d records", res->n);
	}
	if (group_points(pts, res, owner)) {
		free(owner);
		rp_points_release(pts);
		return kn_error(KN_ERR, "out of memory grouping %d records", res->n);
	}
	const struct rp_record **slot = pts->slots;
	for (int k = 0; k < pts->n; k++) {
		pts->p[k].reps = slot;
		slot += pts->p[k].n_reps;
		pts->p[k].n_reps = 0;
	}
	for (int i = 0; i < res->n; i++) {
		struct rp_point *p = &pts->p[owner[i]];
		p->reps[p->n_reps++] = &res->recs[i];
		/* the configuration as a finished run resolved it ("cuda", not "auto") */
		if (strcmp(p->cfg->status, "ok") != 0 && strcmp(res->recs[i].status, "ok") == 0)
			p->cfg = &res->recs[i];
	}
	free(owner);
	double *scratch = malloc(((size_t)res->n + 1) * sizeof *scratch);
	if (!scratch) {
		rp_points_release(pts);
		return kn_error(KN_ERR, "out of memory summarising %d records", res->n);
	}
	const struct rp_record *first_cpu = NULL; /* CPUs vary when any differs from the first */
	for (int k = 0; k < pts->n; k++) {
		summarise(&pts->p[k], scratch);
		pts->varies |= differences(pts->p[0].cfg, pts->p[k].cfg);
		if (rp_is_gpu(pts->p[k].cfg))
			continue;
		if (!first_cpu)
			first_cpu = pts->p[k].cfg;
		else if (strcmp(first_cpu->device_name, pts->p[k].cfg->device_name))
			pts->varies |= RP_AXIS_CPU;
	}
	free(scratch);
	return KN_OK;
}

void rp_points_release(struct rp_points *pts)
{
	free(pts->p);
	free(pts->slots);
	memset(pts, 0, sizeof *pts);
}

void rp_points_price(struct rp_points *pts, const struct rp_prices *prices)
{
	for (int k = 0; k < pts->n; k++) {
		struct rp_point *p = &pts->p[k];
		rp_price_of(prices, p->cfg, &p->price);
		p->cost_per_epoch = rp_cost_usd(p->epoch_s, p->price.usd_per_hour);
		p->cost_per_m_samples = rp_cost_per_million(p->samples_per_sec, p->price.usd_per_hour);
		p->cost_per_m_tokens = rp_cost_per_million(p->tokens_per_sec, p->price.usd_per_hour);
	}
}

int rp_is_gpu(const struct rp_record *r) { return strncmp(r->device, "cpu", 3) != 0; }

/* A GPU's name past its vendor's words, which a last word never is: "NVIDIA GeForce RTX 4090" ->
 * "RTX 4090", "NVIDIA H100 80GB HBM3" -> "H100 80GB HBM3" */
static const char *past_vendor(const char *s)
{
	static const char *const vendor[] = { "NVIDIA", "Tesla", "GeForce", "Quadro", "AMD", "Radeon", "Instinct" };
	for (;;) {
		while (*s == ' ')
			s++;
		size_t len = strcspn(s, " ");
		int skip = 0;
		for (size_t i = 0; i < sizeof vendor / sizeof *vendor && !skip; i++)
			skip = strlen(vendor[i]) == len && strncmp(s, vendor[i], len) == 0;
		if (!skip || !s[len])
			return s;
		s += len;
	}
}

const char *rp_device_label(const struct rp_record *r, char *out, size_t n)
{
	if (!rp_is_gpu(r) || !r->device_name[0]) {
		snprintf(out, n, "%s", r->device);
		return out;
	}
	/* the model's word: "NVIDIA H100 80GB HBM3" -> "H100", "NVIDIA GeForce RTX 4090" -> "RTX 4090" */
	const char *s = past_vendor(r->device_name);
	size_t len = strcspn(s, " "), letters = 0;
	while (letters < len && ((s[letters] >= 'A' && s[letters] <= 'Z') || (s[letters] >= 'a' && s[letters] <= 'z')))
		letters++;
	if (letters == len && s[len]) /* a series word ("RTX"): keep the number after it */
		len += 1 + strcspn(s + len + 1, " ");
	snprintf(out, n, "%.*s", (int)len, s);
	return out;
}

const char *rp_points_device(const struct rp_points *pts, const struct rp_record *r, char *out, size_t n)
{
	if (!pts->long_devices || !r->device_name[0])
		return rp_device_label(r, out, n);
	/* a CPU's whole name ("AMD EPYC 9B45 (2 threads)"); a GPU's past its vendor ("H100 80GB HBM3") */
	snprintf(out, n, "%s", rp_is_gpu(r) ? past_vendor(r->device_name) : r->device_name);
	return out;
}

const char *rp_point_failed_status(const struct rp_point *p)
{
	for (int i = 0; i < p->n_reps; i++)
		if (strcmp(p->reps[i]->status, "ok") != 0)
			return p->reps[i]->status;
	return "ok";
}

const char *rp_point_label(const struct rp_points *pts, const struct rp_point *p, char *out, size_t n)
{
	return rp_point_label_without(pts, p, 0, out, n);
}

const char *rp_point_label_without(const struct rp_points *pts, const struct rp_point *p, unsigned omit, char *out,
				   size_t n)
{
	const struct rp_record *r = p->cfg;
	char dev[160];
	size_t len = 0;
	unsigned v = pts->varies & ~omit;
#define ADD(...) (len += (size_t)snprintf(len < n ? out + len : NULL, len < n ? n - len : 0, __VA_ARGS__))
	if (v & RP_AXIS_MODEL)
		ADD("%s-%s ", r->model, r->size);
	if (omit & RP_AXIS_DEVICE)
		ADD("%s", r->precision);
	else if ((v & RP_AXIS_CPU) && !rp_is_gpu(r) && !pts->long_devices) /* CPUs that differ: say how */
		ADD("%s %dt %s", rp_device_label(r, dev, sizeof dev), rp_cpu_threads(r), r->precision);
	else
		ADD("%s %s", rp_points_device(pts, r, dev, sizeof dev), r->precision);
	if (!(omit & RP_AXIS_BATCH))
		ADD(" b%d", r->batch);
	if (v & RP_AXIS_SEQ)
		ADD(" s%d", r->seq);
	if (v & RP_AXIS_WORKERS)
		ADD(" w%d", r->workers);
	if (v & RP_AXIS_PREFETCH)
		ADD(" p%d", r->prefetch);
	if (v & RP_AXIS_STEPS)
		ADD(" %ld steps", r->steps);
	if (v & RP_AXIS_DATASET)
		ADD(" %s", r->dataset);
	if (v & RP_AXIS_SEED)
		ADD(" seed %llu", (unsigned long long)r->seed);
#undef ADD
	return out;
}

const char *rp_point_epoch_str(const struct rp_point *p, char *out, size_t n)
{
	char t[32];
	snprintf(out, n, "%s%s", rp_fmt_seconds(t, sizeof t, p->epoch_s),
		 p->epoch_s_extrapolated && isfinite(p->epoch_s) ? "*" : "");
	return out;
}

const char *rp_point_cost_str(const struct rp_point *p, char *out, size_t n)
{
	char t[32];
	snprintf(out, n, "%s%s", rp_fmt_usd(t, sizeof t, p->cost_per_epoch),
		 p->epoch_s_extrapolated && isfinite(p->cost_per_epoch) ? "*" : "");
	return out;
}

/* "123 (3 runs: 120-125)"; with failed runs "123 (2 of 3 runs ok, oom: 120-125)", "31 (1 of 3 runs ok, oom)";
 * one run: "123". The ends of a range take as many digits as they need to differ (97.90-97.95). */
const char *rp_point_sps_str(const struct rp_point *p, char *out, size_t n)
{
	char v[40], lo[40], hi[40], runs[64];
	int d = 3;
	if (p->n_ok < p->n_reps)
		snprintf(runs, sizeof runs, "%d of %d runs ok, %s", p->n_ok, p->n_reps, rp_point_failed_status(p));
	else
		snprintf(runs, sizeof runs, "%d runs", p->n_ok);
	if (p->n_ok > 1) {
		/* the last digit shown is at most the difference: 97.90-97.95, not 97.9-98 */
		double top = fmax(fabs(p->sps_min), fabs(p->sps_max)), diff = p->sps_max - p->sps_min;
		for (;; d++) {
			rp_fmt_num_zeros(lo, sizeof lo, p->sps_min, d);
			rp_fmt_num_zeros(hi, sizeof hi, p->sps_max, d);
			if (!(diff > 0) || d == 17 || (strcmp(lo, hi) && diff >= pow(10, floor(log10(top)) - d + 1)))
				break;
		}
		snprintf(out, n, "%s (%s: %s-%s)", rp_fmt_num_zeros(v, sizeof v, p->samples_per_sec, d), runs, lo, hi);
	} else if (p->n_ok < p->n_reps) {
		snprintf(out, n, "%s (%s)", rp_fmt_num(v, sizeof v, p->samples_per_sec), runs);
	} else {
		rp_fmt_num(out, n, p->samples_per_sec);
	}
	return out;
}
