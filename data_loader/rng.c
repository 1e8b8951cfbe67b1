#include "data_loader/rng.h"

#include <math.h>

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t dl_hash64(uint64_t seed, uint64_t a, uint64_t b)
{
	return mix(mix(mix(seed + 0x9e3779b97f4a7c15ull) ^ a) + b);
}

void dl_rng_init(struct dl_rng *r, uint64_t seed) { r->state = seed; }

uint64_t dl_rng_next(struct dl_rng *r)
{
	r->state += 0x9e3779b97f4a7c15ull;
	return mix(r->state);
}

uint64_t dl_rng_below(struct dl_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)dl_rng_next(r) * n) >> 64);
}

double dl_rng_uniform(struct dl_rng *r) { return (dl_rng_next(r) >> 11) * 0x1.0p-53; }

double dl_rng_normal(struct dl_rng *r)
{
	double u1 = dl_rng_uniform(r), u2 = dl_rng_uniform(r);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
