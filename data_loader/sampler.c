#include "data_loader/sampler.h"

#include "data_loader/rng.h"
#include "kernels/error.h"

#define FEISTEL_ROUNDS 6
#define SHUFFLE_DOMAIN 0x5ca1ab1eull

int dl_sampler_init(struct dl_sampler *s, uint64_t n, int B, uint64_t seed, int shuffle, int drop_last)
{
	*s = (struct dl_sampler){ .n = n, .B = B, .shuffle = shuffle, .drop_last = drop_last, .seed = seed };
	if (B < 1 || n < (uint64_t)B)
		return kn_error(KN_EDATA, "%llu samples are fewer than one batch of %d", (unsigned long long)n, B);
	int bits = 0;
	while (bits < 64 && (n - 1) >> bits)
		bits++;
	s->half_bits = (bits + 1) / 2;
	s->steps_per_epoch = dl_sampler_steps(n, B, drop_last);
	return KN_OK;
}

long dl_sampler_steps(uint64_t n, int B, int drop_last)
{
	return (long)(drop_last ? n / (uint64_t)B : (n + (uint64_t)B - 1) / (uint64_t)B);
}

static uint64_t feistel(const struct dl_sampler *s, uint64_t key, uint64_t x)
{
	uint64_t mask = (1ull << s->half_bits) - 1;
	uint64_t left = x >> s->half_bits, right = x & mask;
	for (uint64_t r = 0; r < FEISTEL_ROUNDS; r++) {
		uint64_t next = left ^ (dl_hash64(key, r, right) & mask);
		left = right;
		right = next;
	}
	return left << s->half_bits | right;
}

uint64_t dl_sampler_perm(const struct dl_sampler *s, long epoch, uint64_t i)
{
	if (!s->shuffle || s->n < 2)
		return i;
	uint64_t key = dl_hash64(s->seed, SHUFFLE_DOMAIN, (uint64_t)epoch);
	/* a bijection on [0, 4^half_bits); walking the cycle until it lands
	 * below n restricts it to a bijection on [0, n) */
	do
		i = feistel(s, key, i);
	while (i >= s->n);
	return i;
}

void dl_sampler_locate(const struct dl_sampler *s, long step, int row, long *epoch, uint64_t *sample)
{
	uint64_t pos;
	if (s->drop_last) {
		*epoch = step / s->steps_per_epoch;
		pos = (uint64_t)(step % s->steps_per_epoch) * (uint64_t)s->B + (uint64_t)row;
	} else {
		uint64_t stream = (uint64_t)step * (uint64_t)s->B + (uint64_t)row;
		*epoch = (long)(stream / s->n);
		pos = stream % s->n;
	}
	*sample = dl_sampler_perm(s, *epoch, pos);
}

long dl_sampler_epoch(const struct dl_sampler *s, long step)
{
	if (s->drop_last)
		return step / s->steps_per_epoch;
	return (long)((uint64_t)step * (uint64_t)s->B / s->n);
}
