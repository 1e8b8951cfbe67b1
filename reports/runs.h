/*
 * reports/runs.h — runs: one (id, repeat) of a point, and the rule every reader
 * applies to a run recorded twice.
 *
 * A sweep's record names its run by `id` and `repeat`. A run recorded twice
 * with the same line (results cat'ed together with a copy of themselves) is
 * one record, read once; two different records of one run are two
 * measurements that cannot both be it, and are refused (KN_EDATA). Reports
 * (reports/results.c) and merge (sweeps/results.c, sweeps/cmd_merge.c) apply
 * the same rule through rp_run_twice(). A record without `repeat` (train
 * --json) names no run: readers count it as one more repeat of its id, and
 * merge keeps each.
 *
 * The index maps each run to the first item of it in an array the caller
 * owns and may grow; it reads the items' keys through `key` with the `ctx`
 * given to each call. Zero the struct and set `key` before use.
 */
#ifndef RP_RUNS_H
#define RP_RUNS_H

#include <stddef.h>

#include "reports/record.h"

struct rp_run {
	const char *id;
	int repeat;     /* >= 1; 0: the item names no run and is not indexed */
};

struct rp_run_index {
	struct rp_run (*key)(const void *ctx, int i);
	int *slots;     /* item index; -1 empty; a power of two, above twice n */
	int nslots, n;  /* n: items indexed */
};

/* The run of record r: its id and `repeat`, 0 when it has none. */
struct rp_run rp_record_run(const struct rp_record *r);
/* The first indexed item of (id, repeat), or -1. */
int rp_run_find(const struct rp_run_index *ix, const void *ctx, const char *id, int repeat);
/* Indexes item i, the last of items 0..i: returns the first item of its run (i when it is the first; i
 * too when it names no run), or -1 out of memory (with kn_error). */
int rp_run_add(struct rp_run_index *ix, const void *ctx, int i);
void rp_run_index_release(struct rp_run_index *ix);

/*
 * The rule for one run recorded twice, as line a (at `at_a`, say "FILE:LINE")
 * and line b (at `at_b`): KN_OK when the lines are byte for byte the same (the
 * reader keeps the first), else KN_EDATA "conflicting records of point 'ID'
 * repeat R: AT_A and AT_B differ" followed by `hint`.
 */
int rp_run_twice(struct rp_run run, const char *a, size_t alen, const char *at_a, const char *b, size_t blen,
		 const char *at_b, const char *hint);

#endif
