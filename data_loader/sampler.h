/*
 * data_loader/sampler.h — which sample goes into row r of global batch k.
 *
 * An epoch is a permutation of the N samples: the identity without shuffling,
 * else a pseudo-random permutation keyed by (seed, epoch). The permutation is
 * computed per position, not stored (a 6-round Feistel network on the next
 * power of 4, cycle-walked into [0, N)), so any thread can place any sample of
 * any epoch in O(1) without shared state: batch k's contents depend only on
 * (seed, N, B, policy, k), never on which worker fills it or when.
 *
 * Remainder policy, when B does not divide N:
 *   wrap (default)  epochs are laid end to end and batches cut from that
 *                   stream, so the last batch of epoch e is completed with the
 *                   first samples of epoch e+1. No sample is skipped; every
 *                   sample appears exactly once in each epoch's span of N
 *                   stream positions; an epoch takes ceil(N/B) steps to cover.
 *   drop_last       each epoch is floor(N/B) batches and its last N mod B
 *                   permuted samples are not used in that epoch (with
 *                   shuffling, a different set every epoch).
 * Every batch has exactly B rows either way.
 */
#ifndef DL_SAMPLER_H
#define DL_SAMPLER_H

#include <stdint.h>

struct dl_sampler {
	uint64_t n;              /* samples per epoch */
	int B;
	int shuffle, drop_last;
	uint64_t seed;
	int half_bits;           /* Feistel: each half is half_bits wide */
	long steps_per_epoch;    /* drop_last: N / B; wrap: ceil(N / B) */
};

/* KN_EDATA when n < B (not one full batch). No allocation; no release. */
int dl_sampler_init(struct dl_sampler *s, uint64_t n, int B, uint64_t seed, int shuffle, int drop_last);
/* Steps of B samples that one epoch of n takes (B >= 1). */
long dl_sampler_steps(uint64_t n, int B, int drop_last);
/* The sample at position i (< n) of `epoch`'s order. */
uint64_t dl_sampler_perm(const struct dl_sampler *s, long epoch, uint64_t i);
/* Row `row` of global batch `step`: its epoch and sample index. */
/* The epoch of row 0 of global batch `step`. */
long dl_sampler_epoch(const struct dl_sampler *s, long step);
void dl_sampler_locate(const struct dl_sampler *s, long step, int row, long *epoch, uint64_t *sample);

#endif
