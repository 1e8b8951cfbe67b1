#include "reports/tiers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/error.h"

const int rp_tier_gib[RP_NTIERS] = { 8, 16, 24, 40, 80 };

double rp_tier_bytes(int i) { return rp_tier_gib[i] * 1073741824.0; }

int rp_tier_for(double bytes, double headroom)
{
	if (!isfinite(bytes))
		return -1;
	for (int i = 0; i < RP_NTIERS; i++)
		if (bytes * (1 + headroom) <= rp_tier_bytes(i))
			return i;
	return -1;
}

static int usable(const struct rp_point *p) { return strcmp(p->status, "ok") == 0 && isfinite(p->mem_bytes); }

static int same_group(const struct rp_record *a, const struct rp_record *b)
{
	return !strcmp(a->device, b->device) && !strcmp(a->device_name, b->device_name) && !strcmp(a->model, b->model) &&
	       !strcmp(a->size, b->size) && !strcmp(a->precision, b->precision) && a->seq == b->seq;
}

static int cmp_int(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

/* `batches` has room for every point (scratch for counting distinct batch sizes). */
static void fit_group(const struct rp_points *pts, struct rp_tier_fit *f, int *batches)
{
	const struct rp_record *g = pts->p[f->first].cfg;
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	int n = 0, lo = -1, hi = -1;
	for (int i = f->first; i < pts->n; i++) {
		const struct rp_point *p = &pts->p[i];
		if (!usable(p) || !same_group(g, p->cfg))
			continue;
		double x = p->cfg->batch, y = p->mem_bytes;
		sx += x, sy += y, sxx += x * x, sxy += x * y;
		batches[n++] = p->cfg->batch;
		lo = lo < 0 || p->cfg->batch < lo ? p->cfg->batch : lo;
		hi = p->cfg->batch > hi ? p->cfg->batch : hi;
	}
	qsort(batches, (size_t)n, sizeof *batches, cmp_int);
	for (int i = 0; i < n; i++)
		f->n_batches += i == 0 || batches[i] != batches[i - 1];
	f->n_points = n;
	for (int t = 0; t < RP_NTIERS; t++)
		f->max_batch[t] = -1;
	f->a_bytes = f->b_bytes_per_sample = f->max_err_frac = NAN;
	if (lo == hi)
		return;
	double den = n * sxx - sx * sx;
	f->b_bytes_per_sample = (n * sxy - sx * sy) / den;
	f->a_bytes = (sy - f->b_bytes_per_sample * sx) / n;
	f->max_err_frac = 0;
	for (int i = f->first; i < pts->n; i++) {
		const struct rp_point *p = &pts->p[i];
		if (!usable(p) || !same_group(g, p->cfg))
			continue;
		double fit = f->a_bytes + f->b_bytes_per_sample * p->cfg->batch;
		f->max_err_frac = fmax(f->max_err_frac, fabs(fit - p->mem_bytes) / p->mem_bytes);
	}
	if (!(f->b_bytes_per_sample > 0))
		return;
	f->fitted = 1;
	for (int t = 0; t < RP_NTIERS; t++) {
		double b = floor((rp_tier_bytes(t) - f->a_bytes) / f->b_bytes_per_sample);
		f->max_batch[t] = b < 0 ? 0 : b > 1e9 ? 1000000000L : (long)b;
	}
}

int rp_tiers_fit(const struct rp_points *pts, struct rp_tier_fit **out, int *n)
{
	*n = 0;
	*out = calloc((size_t)pts->n + 1, sizeof **out);
	int *batches = malloc(((size_t)pts->n + 1) * sizeof *batches);
	if (!*out || !batches) {
		free(*out);
		free(batches);
		*out = NULL;
		return kn_error(KN_ERR, "out of memory");
	}
	for (int i = 0; i < pts->n; i++) {
		if (!usable(&pts->p[i]))
			continue;
		int seen = 0;
		for (int k = 0; k < *n && !seen; k++)
			seen = same_group(pts->p[(*out)[k].first].cfg, pts->p[i].cfg);
		if (seen)
			continue;
		struct rp_tier_fit *f = &(*out)[(*n)++];
		f->first = i;
		fit_group(pts, f, batches);
	}
	free(batches);
	return KN_OK;
}
