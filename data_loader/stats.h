/*
 * data_loader/stats.h — what the loader measured, and what it means.
 *
 * The loader records, per dequeue (dl_loader_next call, on the trainer's
 * thread): how long the call blocked, how many batches were ready in order
 * from the one asked for (the queue depth), and the clock at entry and return;
 * per batch: its production latency (first chunk claimed to last chunk done,
 * or the fill time with workers = 0); per worker: time busy filling samples,
 * blocked on a full ring, and alive. docs/data-loader.md defines every
 * statistic dl_loader_stats_json() derives from these.
 *
 * Ownership: struct dl_stats lives inside struct dl_loader and is freed by
 * dl_loader_release().
 */
#ifndef DL_STATS_H
#define DL_STATS_H

#include <stddef.h>

#include <cJSON.h>

struct dl_loader;

/* A growable array of doubles; NAN marks entries never set. */
struct dl_series {
	double *v;
	size_t n, cap;
};

int dl_series_set(struct dl_series *s, size_t i, double x);  /* KN_ENOMEM */
void dl_series_release(struct dl_series *s);
/* Linear-interpolated q-quantile of the finite values of v[0..n); NAN if none. */
double dl_quantile(const double *v, size_t n, double q);

struct dl_worker_stats {
	double start_ms, busy_ms, blocked_ms, life_ms; /* life_ms is set when the worker exits */
	double busy_cpu_ms;  /* CPU time of the thread while busy (the rest of busy is sleeping / reading) */
	long samples;
};

struct dl_stats {
	struct dl_series wait_ms, depth, request_ms, return_ms; /* by dequeue */
	struct dl_series handoff_ms;  /* by dequeue: taking a batch that was ready when asked for (else 0) */
	struct dl_series produce_ms;                            /* by batch index */
	struct dl_worker_stats *worker;                         /* [n_workers] */
	int n_workers;
	double sync_fill_ms;   /* workers = 0: time the trainer's thread spent filling */
	double sync_fill_cpu_ms;
	long sync_samples;
	long warnings, last_warning_step;
};

/*
 * Adds the loader's configuration and statistics to `o` (the record's
 * "loader" object). The first `warmup` dequeues are summarised apart, in
 * "warmup". Call after dl_loader_stop() or between dequeues. KN_ENOMEM.
 */
int dl_loader_stats_json(struct dl_loader *l, cJSON *o, long warmup);

/*
 * Starvation check for the live log, meant to be called after each
 * dl_loader_next(): every DL_STARVE_WINDOW steps after `warmup` it looks at
 * the last window, and when the trainer waited for data more than
 * DL_STARVE_FRAC of the time it writes a one-line diagnosis (likely cause and
 * the knob to turn) into msg and returns 1 — the first time, then at most
 * every DL_STARVE_REPEAT steps. Returns 0 otherwise.
 */
#define DL_STARVE_WINDOW 10
#define DL_STARVE_FRAC 0.20
#define DL_STARVE_REPEAT 100
int dl_loader_starvation(struct dl_loader *l, long warmup, char *msg, size_t n);

#endif
