/*
 * data_loader/loader.h — batches for the trainer, made ahead of time by a team
 * of worker threads.
 *
 * Design: the loader owns a ring of prefetch + 1 batch slots. With workers > 0
 * it starts `workers` threads (plain threads: an OpenMP team would slow the
 * compute team's parallel regions, see loader.c); each worker repeatedly claims the next piece of work — a chunk of rows of the next
 * batch not yet claimed — fills those rows (sample, transform, knobs) into the
 * batch's slot, and marks them done; a batch is ready when all its chunks are.
 * Workers run at most `prefetch` batches ahead of the batch the trainer holds,
 * then block until the trainer gives one back. dl_loader_next() returns batches
 * strictly in order (0, 1, 2, ...), giving back the previous one. With
 * workers = 0 the trainer's own thread fills each batch inside
 * dl_loader_next(), in one slot.
 *
 * Determinism: row r of batch k is a pure function of (dataset, seed, B, T,
 * shuffle, drop_last, augment, k, r) (see sampler.h and transform.h), so
 * batches are bitwise identical for any workers and prefetch.
 *
 * Slots come from kn_host_alloc(), so on CUDA they are pinned host memory that
 * an asynchronous copy can read while the next batch is being filled.
 *
 * Errors and shutdown: an error in a worker stops the team and is returned by
 * the dl_loader_next() call that wanted a batch the team did not finish (with
 * the worker's message), never a hang, and by every call after it. dl_loader_next() also returns KN_EINTR
 * when *opts.interrupt becomes nonzero while it waits. dl_loader_stop() may be
 * called at any time, mid-epoch or mid-batch: workers finish the sample in
 * hand, the workers are joined, and statistics stay readable.
 *
 * Lifecycle: dl_loader_init() fills a caller-owned struct (and starts the
 * team); dl_loader_release() stops it and frees everything; it is safe on a
 * zeroed struct, after a failed init, and twice. The dataset must outlive the
 * loader.
 */
#ifndef DL_LOADER_H
#define DL_LOADER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "data_loader/dataset.h"
#include "data_loader/options.h"
#include "data_loader/sampler.h"
#include "data_loader/stats.h"

struct kn_backend;

struct dl_batch {
	/* text / token models */
	int *inputs;  /* [B*T] host memory owned by the loader, valid until the next call */
	int *targets; /* [B*T] */
	int B, T;
	/* image models: images [B, C, H, W] normalised float32 (NCHW), labels [B] */
	float *images;
	int *labels;
	int C, H, W;
	long step;    /* global batch index */
	long epoch;   /* epoch of the first row (with the wrap policy a batch may span two) */
	const uint64_t *samples; /* [B] dataset index of each row (tests, debugging) */
	double wait_ms;          /* the time the call waited for data: 0 when the batch was ready when asked
				  * for (taking it may still take time: a trainer thread waiting for a CPU
				  * is no data wait, and counts as the stats' handoff_ms) */
};

struct dl_slot {
	long batch;          /* the batch this slot holds or is being filled with; -1 = none */
	int chunks_done;
	int ready;
	double start_ms;     /* when its first chunk was claimed */
	double ready_ms;     /* when its last chunk was done (set with ready) */
	void *mem;           /* one kn_host_alloc block holding the arrays below */
	int *inputs, *targets;
	float *images;
	int *labels;
	uint64_t *samples;
};

struct dl_loader {
	const struct dl_dataset *ds;
	enum dl_split split;
	struct kn_backend *be;
	struct dl_options opt;
	int B, T;
	uint64_t seed;
	struct dl_sampler sampler;
	long steps_per_epoch;    /* see sampler.h */
	uint64_t samples_per_epoch;
	int nslots, chunk_rows, chunks_per_batch;
	struct dl_slot *slots;
	size_t slot_bytes;
	long next_step;          /* the batch the next dl_loader_next() returns */
	/* shared with the workers, under mu */
	pthread_mutex_t mu;
	pthread_cond_t space, ready;
	int sync_ready;          /* mu and the conditions exist */
	long claim_batch;        /* next piece of work: (claim_batch, claim_chunk) */
	int claim_chunk;
	long released;           /* batches before this one are given back */
	atomic_int stop;
	int err_status;
	char err_msg[1024];
	pthread_t *team;         /* the workers' threads */
	struct worker_arg *team_args;
	int team_running;        /* threads started (and not yet joined) */
	int team_size;           /* workers running */
	struct dl_stats stats;
};

/* The samples one epoch of the split visits (images, or windows of T+1 tokens); KN_EDATA naming the
 * data when they are fewer than one batch of B. */
int dl_samples_per_epoch(const struct dl_dataset *ds, enum dl_split split, int B, int T, uint64_t *n);
/* The steps of B samples an epoch of the split takes under `opt` (NULL: the defaults), as a loader
 * opened so would count them; errors as dl_samples_per_epoch. */
int dl_steps_per_epoch(const struct dl_dataset *ds, enum dl_split split, int B, int T, const struct dl_options *opt,
		       long *steps);

/*
 * Opens a loader over one split of `ds` with batch size B (and window T for
 * token data; ignored for images). KN_EDATA when the split has fewer samples
 * than one batch, KN_EUSAGE for bad options, KN_ENOMEM/backend errors for slots,
 * KN_ERR when threads cannot be started.
 */
int dl_loader_init(struct dl_loader *l, struct kn_backend *be, const struct dl_dataset *ds, enum dl_split split,
		   int B, int T, uint64_t seed, const struct dl_options *opt);
/* The next batch in order; it stays valid until the next call or release. */
int dl_loader_next(struct dl_loader *l, struct dl_batch *b);
/* Stops and joins the workers; batches can no longer be taken; stats stay. */
void dl_loader_stop(struct dl_loader *l);
void dl_loader_release(struct dl_loader *l);

#endif
