#include "data_loader/transform.h"

#include <time.h>

#include "data_loader/rng.h"

#define WINDOW_DOMAIN 0x77696e64ull  /* random text windows */
#define AUGMENT_DOMAIN 0x61756721ull /* crops and flips */

size_t dl_text_windows(size_t n, int T) { return n > 1 ? (n - 1) / (size_t)T : 0; }

void dl_text_row(const struct dl_tokens *tk, uint64_t window, int T, int random, uint64_t seed, long epoch,
		 int *inputs, int *targets)
{
	size_t start = (size_t)window * (size_t)T, max_start = tk->n - (size_t)T - 1;
	if (random)
		start += dl_hash64(seed ^ WINDOW_DOMAIN, (uint64_t)epoch, window) % (uint64_t)T;
	if (start > max_start)
		start = max_start;
	if (tk->u8) {
		const uint8_t *src = tk->u8 + start;
		for (int t = 0; t < T; t++) {
			inputs[t] = src[t];
			targets[t] = src[t + 1];
		}
	} else {
		const uint16_t *src = tk->u16 + start;
		for (int t = 0; t < T; t++) {
			inputs[t] = src[t];
			targets[t] = src[t + 1];
		}
	}
}

void dl_image_row(const struct dl_dataset *ds, const struct dl_image_set *set, uint64_t sample, int random,
		  uint64_t seed, long epoch, float *image, int *label)
{
	int C = ds->C, H = ds->H, W = ds->W, dx = DL_CROP_PAD, dy = DL_CROP_PAD, flip = 0;
	const uint8_t *src = set->pixels + (size_t)sample * C * H * W;
	float scale = (float)(1.0 / (255.0 * ds->std)), shift = (float)(-ds->mean / ds->std);
	if (random) {
		uint64_t h = dl_hash64(seed ^ AUGMENT_DOMAIN, (uint64_t)epoch, sample);
		dx = (int)(h % (2 * DL_CROP_PAD + 1));
		dy = (int)((h >> 8) % (2 * DL_CROP_PAD + 1));
		flip = (int)(h >> 16) & 1;
	}
	/* output (y, x) reads input (y + dy - pad, x' + dx - pad), x' = flipped x */
	for (int c = 0; c < C; c++) {
		for (int y = 0; y < H; y++) {
			int sy = y + dy - DL_CROP_PAD;
			float *out = image + ((size_t)c * H + y) * W;
			for (int x = 0; x < W; x++) {
				int sx = (flip ? W - 1 - x : x) + dx - DL_CROP_PAD;
				int v = sy >= 0 && sy < H && sx >= 0 && sx < W ? src[((size_t)c * H + sy) * W + sx] : 0;
				out[x] = (float)v * scale + shift;
			}
		}
	}
	*label = set->labels[sample];
}

#define COST_ROUNDS 670 /* per unit of --data-cost: about 1 us on a 3 GHz core */

static _Thread_local volatile uint64_t overhead_sink;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int dl_sample_latency(long latency_us, const _Atomic int *stop, const volatile int *interrupt)
{
	double end = now_us() + (double)latency_us;
	for (;;) {
		if ((stop && *stop) || (interrupt && *interrupt))
			return 1;
		double left = end - now_us();
		if (left <= 0)
			return 0;
		long us = left < DL_LATENCY_SLICE_US ? (long)left + 1 : DL_LATENCY_SLICE_US;
		struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
		nanosleep(&ts, NULL); /* a signal cuts it short: the loop looks at the flags again */
	}
}

void dl_sample_cost(long cost)
{
	uint64_t h = (uint64_t)cost;
	for (long i = 0; i < cost * COST_ROUNDS; i++)
		h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ull + (uint64_t)i;
	overhead_sink = h;
}
