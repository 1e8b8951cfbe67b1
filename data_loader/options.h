/*
 * data_loader/options.h — the loader settings a user chooses (amptune train's
 * --workers, --prefetch, --shuffle, --drop-last, --augment, --data-latency-us,
 * --data-cost). Kept apart from loader.h so configs can hold them cheaply.
 */
#ifndef DL_OPTIONS_H
#define DL_OPTIONS_H

struct dl_options {
	int workers;          /* 0 = fill batches on the caller's thread */
	int prefetch;         /* batches the workers may have ahead of the one the trainer holds, >= 1 */
	int shuffle;          /* permute each epoch */
	int drop_last;        /* remainder policy: drop (1) or wrap into the next epoch (0), see sampler.h */
	int augment;          /* random text windows / image crops and flips */
	long latency_us;      /* --data-latency-us: sleep per sample */
	long cost;            /* --data-cost: CPU work per sample (transform.h) */
	volatile int *interrupt; /* nonzero makes a waiting dl_loader_next() return KN_EINTR; may be NULL */
	long fail_at_batch;   /* tests: the worker filling this batch fails with KN_EDATA; -1 = never */
};

/* workers 2, prefetch 4, shuffle, augment, wrap, no knobs, no interrupt flag. */
void dl_options_defaults(struct dl_options *o);

#endif
