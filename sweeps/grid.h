/*
 * sweeps/grid.h — a plan's grid of points, their ids, shards, and the
 * `amptune train` command line of each.
 *
 * Order (docs/sweeps.md): repeats outermost, then devices, precisions,
 * batch_sizes, seq, workers, prefetch, the last varying fastest; within an
 * axis, the plan's order. A configuration's id is rp_hash_id() of its
 * settings: the fields of rp_config_id() ("auto" stays "auto", an unset seq is
 * the model's context, an unset workers/prefetch is -1, steps is 0 with
 * epochs), then "|key=value" for each other setting that changes what a point
 * measures (epochs, warmup_steps, device_mem_limit, lr, eval_batches,
 * threads, data_latency_us, data_cost, eval_images) in that order, only when the plan sets
 * it — so a new optional key never changes the ids of plans without it.
 * Repeats of a configuration share its id and differ in `repeat`.
 *
 * Lifecycle: sw_grid_expand() fills a caller-owned struct; sw_grid_release()
 * frees its points. Points point into the plan, which must outlive the grid.
 */
#ifndef SW_GRID_H
#define SW_GRID_H

#include "sweeps/plan.h"

#define SW_MAX_POINTS 1000000

struct sw_point {
	int index;              /* the configuration's place in the grid, 0-based */
	int repeat;             /* 1-based */
	int order;              /* place in the run order: (repeat - 1) * nconfigs + index */
	char id[13];
	const char *device, *precision;
	long batch, seq, workers, prefetch; /* -1: not set by the plan */
};

struct sw_grid {
	struct sw_point *points; /* in run order */
	int n, nconfigs;
};

/* KN_OK, KN_EUSAGE when the grid has more than SW_MAX_POINTS, KN_ENOMEM. */
int sw_grid_expand(struct sw_grid *g, const struct sw_plan *p);
void sw_grid_release(struct sw_grid *g);

/* Whether the point belongs to shard `shard` of `nshards`: order % nshards. */
int sw_point_in_shard(const struct sw_point *pt, int shard, int nshards);

/* The point's seq as run: the plan's, else the model's context, else 0. */
long sw_point_seq(const struct sw_plan *p, const struct sw_point *pt);

/* argv of `amptune train` for the point: argv[0] "amptune", options for every
 * key the plan sets, then --json --id ID; NULL-terminated. */
struct sw_argv {
	char *argv[64];
	char buf[4096];
};
int sw_point_argv(const struct sw_plan *p, const struct sw_point *pt, struct sw_argv *a);

/* Parses "I/N" (0 <= I < N <= 100000); KN_EUSAGE naming `what` otherwise. */
int sw_parse_shard(const char *what, const char *s, int *shard, int *nshards);

#endif
