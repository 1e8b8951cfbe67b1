/*
 * data_loader/loader.h — batches of token windows for the trainer.
 *
 * Sampler (text): the split is cut into W = (n - 1) / T windows of T+1 bytes;
 * each epoch visits every window once in an order shuffled from (seed, epoch)
 * and shifts each window by a random offset in [0, T) from (seed, epoch,
 * window), so batch k of epoch e is a pure function of (seed, e, k). An epoch
 * is W / B steps: the W % B windows left over are dropped for that epoch.
 * Evaluation batches (shuffle off) take windows in order with no shift.
 *
 * This loader fills batches on the calling thread; it records how long the
 * trainer waited for each batch so the results record can state data-wait.
 *
 * Lifecycle: dl_loader_init() fills a caller-owned struct and allocates the
 * batch buffers through the backend (pinned where it matters);
 * dl_loader_release() frees them.
 */
#ifndef DL_LOADER_H
#define DL_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "data_loader/text.h"

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
	long epoch;
};

struct dl_loader_stats {
	long batches;
	double wait_ms_total;  /* time the caller spent inside dl_loader_next */
};

struct dl_loader {
	const uint8_t *bytes;
	size_t n_bytes;
	int B, T;
	uint64_t seed;
	int shuffle;
	size_t windows;          /* W */
	long steps_per_epoch;    /* W / B */
	uint32_t *perm;          /* window order for perm_epoch */
	long perm_epoch;
	long next_step;
	int *host;               /* 2*B*T ints from kn_host_alloc */
	struct kn_backend *be;
	struct dl_loader_stats stats;
};

enum dl_split { DL_TRAIN, DL_VAL };

/* Returns KN_OK, or KN_EDATA when the split is too small for one batch. */
int dl_loader_init(struct dl_loader *l, struct kn_backend *be, const struct dl_text *text, enum dl_split split,
		   int B, int T, uint64_t seed, int shuffle);
/* Fills the next batch in order. */
int dl_loader_next(struct dl_loader *l, struct dl_batch *b);
void dl_loader_release(struct dl_loader *l);

#endif
