/*
 * reports/results.h — a results file read into memory, strictly.
 *
 * A path is a sweep directory (its results.jsonl, and plan.ini when present),
 * a results file (.jsonl, or one `train --json` record), or "-" for stdin.
 * Every line must be a valid schema-v1 record; the one exception is a torn
 * last line (no newline, not JSON: a writer killed mid-append), which is
 * ignored and reported in `torn_line`. Blank lines are skipped.
 *
 * Repeats are records sharing an `id`; they must share its configuration
 * (model, size, dataset, precision, batch, seq, workers, prefetch, seed,
 * steps). Two forms of one value are allowed: 0 in batch, seq, prefetch or
 * steps means the run never resolved it and matches any value, and the device
 * is not compared (a sweep's record for a point that died before printing one
 * says "auto" where a finished repeat says "cuda").
 *
 * A run (id, repeat; reports/runs.h) recorded twice with the same line is
 * read once; two different records of one run are refused naming both lines.
 *
 * Lifecycle: rp_results_load() fills a caller-owned struct (zero it or not,
 * it is overwritten); rp_results_release() frees the records.
 */
#ifndef RP_RESULTS_H
#define RP_RESULTS_H

#include "reports/record.h"

#define RP_MAX_PLAN_PRICES 64

struct rp_plan_price {
	char device[160];
	char value[64];
	int line; /* in plan.ini */
};

struct rp_results {
	struct rp_record *recs;
	long *lines;          /* the line each record came from */
	int *group;           /* each record's id, numbered 0.. in order of first appearance */
	int n, cap, ngroups;
	char path[4096];      /* the results file read ("-" for stdin) */
	char dir[4096];       /* the sweep directory; "" when a file was named */
	char plan_path[4160]; /* DIR/plan.ini when it exists; else "" */
	char name[128];       /* [sweep] name from plan.ini, else the directory's or file's base name */
	long torn_line;       /* line number of an ignored torn last line; 0 if none */
	struct rp_plan_price plan_prices[RP_MAX_PLAN_PRICES]; /* [prices] of plan.ini, unparsed */
	int n_plan_prices;
};

/*
 * Returns KN_OK; KN_EUSAGE when `path` does not exist; KN_EDATA naming
 * file:line for a bad record, a directory without results.jsonl, or a file
 * with no records; KN_EUSAGE for a plan.ini that is not INI (its line).
 */
int rp_results_load(struct rp_results *res, const char *path);
void rp_results_release(struct rp_results *res);

/* 0 when `b` can be a repeat of `a` (see above); else 1, with `what` naming the
 * first field that differs as "batch 8, not 4" (b's value, then a's). */
int rp_config_differs(const struct rp_record *a, const struct rp_record *b, char *what, size_t n);

#endif
