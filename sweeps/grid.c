#include "sweeps/grid.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/error.h"
#include "reports/record.h"
#include "sweeps/models.h"

/* The `amptune train` option each plan key becomes; NULL: the sweep's own. */
static const char *const train_option[SW_NKEYS] = {
	[SW_MODEL] = "--model", [SW_SIZE] = "--size", [SW_DATA] = "--data", [SW_STEPS] = "--steps",
	[SW_EPOCHS] = "--epochs", [SW_WARMUP_STEPS] = "--warmup-steps", [SW_SEED] = "--seed",
	[SW_DEVICE_MEM_LIMIT] = "--device-mem-limit", [SW_LR] = "--lr", [SW_EVAL_BATCHES] = "--eval-batches",
	[SW_THREADS] = "--threads", [SW_DATA_LATENCY_US] = "--data-latency-us", [SW_DATA_COST] = "--data-cost",
	[SW_EVAL_IMAGES] = "--eval-images",
	[SW_DEVICES] = "--device", [SW_PRECISIONS] = "--precision", [SW_BATCH_SIZES] = "--batch",
	[SW_SEQ] = "--seq", [SW_WORKERS] = "--workers", [SW_PREFETCH] = "--prefetch",
};

/* Settings beyond rp_config_id()'s fields that enter the id when set, in id order. */
static const enum sw_key id_extras[] = { SW_EPOCHS, SW_WARMUP_STEPS, SW_DEVICE_MEM_LIMIT, SW_LR,
					 SW_EVAL_BATCHES, SW_THREADS, SW_DATA_LATENCY_US, SW_DATA_COST, SW_EVAL_IMAGES };

long sw_point_seq(const struct sw_plan *p, const struct sw_point *pt)
{
	if (pt->seq >= 0)
		return pt->seq;
	const struct sw_model *m = sw_find_model(p->model);
	int context = 0;
	if (m && m->check_size && m->check_size(p->size, &context) != KN_OK)
		context = 0;
	return context;
}

static void point_id(const struct sw_plan *p, struct sw_point *pt)
{
	char buf[2048], v[600];
	int n = snprintf(buf, sizeof buf, "%s|%s|%s|%s|%s|%ld|%ld|%ld|%ld|%llu|%ld", p->model, p->size, p->data,
			 pt->device, pt->precision, pt->batch, sw_point_seq(p, pt), pt->workers, pt->prefetch,
			 (unsigned long long)p->seed, p->steps);
	for (size_t i = 0; i < sizeof id_extras / sizeof *id_extras; i++) {
		if (!sw_plan_is_set(p, id_extras[i]) || n >= (int)sizeof buf)
			continue;
		sw_plan_value(p, id_extras[i], v, sizeof v);
		n += snprintf(buf + n, sizeof buf - (size_t)n, "|%s=%s", sw_key_name(id_extras[i]), v);
	}
	rp_hash_id(pt->id, buf, n < (int)sizeof buf ? (size_t)n : sizeof buf);
}

int sw_grid_expand(struct sw_grid *g, const struct sw_plan *p)
{
	long nconfigs = 1;
	memset(g, 0, sizeof *g);
	for (int a = 0; a < SW_NAXES; a++)
		nconfigs *= p->axis[a].n ? p->axis[a].n : 1;
	if (nconfigs * p->repeats > SW_MAX_POINTS)
		return kn_error(KN_EUSAGE, "%s: plan '%s' expands to %ld runs (%ld points x %ld repeats), more than %d",
				p->file, p->name, nconfigs * p->repeats, nconfigs, (long)p->repeats, SW_MAX_POINTS);
	g->nconfigs = (int)nconfigs;
	g->n = (int)(nconfigs * p->repeats);
	g->points = calloc((size_t)g->n, sizeof *g->points);
	if (!g->points)
		return kn_error(KN_ENOMEM, "out of memory for %d grid points", g->n);
	for (int i = 0; i < g->n; i++) {
		struct sw_point *pt = &g->points[i];
		int pick[SW_NAXES], rest = i % g->nconfigs;
		/* mixed-radix digits of the index, the last axis fastest */
		for (int a = SW_NAXES - 1; a >= 0; a--) {
			int n = p->axis[a].n ? p->axis[a].n : 1;
			pick[a] = rest % n;
			rest /= n;
		}
		const struct sw_axis *ax = p->axis;
#define AXIS_NUM(key) (ax[(key) - SW_FIRST_AXIS].n ? ax[(key) - SW_FIRST_AXIS].num[pick[(key) - SW_FIRST_AXIS]] : -1)
		pt->index = i % g->nconfigs;
		pt->repeat = i / g->nconfigs + 1;
		pt->order = i;
		pt->device = ax[SW_DEVICES - SW_FIRST_AXIS].v[pick[SW_DEVICES - SW_FIRST_AXIS]];
		pt->precision = ax[SW_PRECISIONS - SW_FIRST_AXIS].v[pick[SW_PRECISIONS - SW_FIRST_AXIS]];
		pt->batch = AXIS_NUM(SW_BATCH_SIZES);
		pt->seq = AXIS_NUM(SW_SEQ);
		pt->workers = AXIS_NUM(SW_WORKERS);
		pt->prefetch = AXIS_NUM(SW_PREFETCH);
#undef AXIS_NUM
		point_id(p, pt);
	}
	return KN_OK;
}

void sw_grid_release(struct sw_grid *g)
{
	free(g->points);
	g->points = NULL;
	g->n = g->nconfigs = 0;
}

int sw_point_in_shard(const struct sw_point *pt, int shard, int nshards) { return pt->order % nshards == shard; }

/* Appends one argument to a, copied into a->buf. */
static int push(struct sw_argv *a, int *argc, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int push(struct sw_argv *a, int *argc, size_t *used, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(a->buf + *used, sizeof a->buf - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof a->buf - *used || *argc + 1 >= (int)(sizeof a->argv / sizeof *a->argv))
		return kn_error(KN_EUSAGE, "the train command line of a point is too long");
	a->argv[(*argc)++] = a->buf + *used;
	a->argv[*argc] = NULL;
	*used += (size_t)n + 1;
	return KN_OK;
}

int sw_point_argv(const struct sw_plan *p, const struct sw_point *pt, struct sw_argv *a)
{
	int argc = 0, rc = KN_OK;
	size_t used = 0;
	char v[600];
	rc = push(a, &argc, &used, "amptune");
	if (!rc)
		rc = push(a, &argc, &used, "train");
	for (int k = 0; k < SW_NKEYS && !rc; k++) {
		if (!train_option[k] || !sw_plan_is_set(p, (enum sw_key)k))
			continue;
		if (k < SW_FIRST_AXIS) {
			sw_plan_value(p, (enum sw_key)k, v, sizeof v);
		} else if (k == SW_DEVICES || k == SW_PRECISIONS) {
			snprintf(v, sizeof v, "%s", k == SW_DEVICES ? pt->device : pt->precision);
		} else {
			long num = k == SW_BATCH_SIZES ? pt->batch : k == SW_SEQ ? pt->seq : k == SW_WORKERS ? pt->workers
													       : pt->prefetch;
			snprintf(v, sizeof v, "%ld", num);
		}
		if (!(rc = push(a, &argc, &used, "%s", train_option[k])))
			rc = push(a, &argc, &used, "%s", v);
	}
	if (!rc)
		rc = push(a, &argc, &used, "--json");
	if (!rc)
		rc = push(a, &argc, &used, "--id");
	if (!rc)
		rc = push(a, &argc, &used, "%s", pt->id);
	return rc;
}

int sw_parse_shard(const char *what, const char *s, int *shard, int *nshards)
{
	int i, n, end = 0;
	if (!isdigit((unsigned char)s[0]) || sscanf(s, "%d/%d%n", &i, &n, &end) != 2 || s[end] ||
	    !isdigit((unsigned char)strchr(s, '/')[1]) || n < 1 || n > 100000 || i < 0 || i >= n)
		return kn_error(KN_EUSAGE, "%s expects I/N with 0 <= I < N <= 100000, got '%s'", what, s);
	*shard = i;
	*nshards = n;
	return KN_OK;
}
