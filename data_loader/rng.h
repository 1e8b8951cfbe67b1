/*
 * data_loader/rng.h — small deterministic random numbers.
 *
 * dl_hash64 is counter-based: the same (seed, a, b) always gives the same
 * value, whichever thread asks and in whatever order, which is what makes a
 * batch's contents independent of worker count. struct dl_rng is a plain
 * sequential generator (splitmix64) for shuffles and weight init.
 */
#ifndef DL_RNG_H
#define DL_RNG_H

#include <stdint.h>

uint64_t dl_hash64(uint64_t seed, uint64_t a, uint64_t b);

struct dl_rng {
	uint64_t state;
};

void dl_rng_init(struct dl_rng *r, uint64_t seed);
uint64_t dl_rng_next(struct dl_rng *r);
/* uniform in [0, n) without modulo bias worth noticing for n < 2^32 */
uint64_t dl_rng_below(struct dl_rng *r, uint64_t n);
/* uniform in [0, 1) with 53 random bits */
double dl_rng_uniform(struct dl_rng *r);
/* standard normal (Box-Muller) */
double dl_rng_normal(struct dl_rng *r);

#endif
