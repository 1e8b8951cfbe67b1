/*
 * data_loader/transform.h — turning one sample into one batch row, on the
 * worker that fills it.
 *
 * Randomness comes from dl_hash64(seed, epoch, sample), never from a
 * sequential generator, so a row is the same whichever worker makes it.
 *
 * Text: sample w is window w of the stream, tokens [w*T, w*T + T]; with
 * `random` on, the window starts at a random offset in [0, T) past that
 * (clamped to the end of the stream), so epochs see different windows. Row
 * inputs are tokens [s, s+T), targets [s+1, s+T].
 *
 * Images: pixels are scaled to [0, 1] and normalised with the training split's
 * mean and std. With `random` on (training augmentation) the image is padded
 * by 2 on every side with black (pixel 0), cropped back to H x W at a random
 * offset in [0, 4]^2, and flipped left-right with probability 1/2.
 */
#ifndef DL_TRANSFORM_H
#define DL_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "data_loader/dataset.h"

#define DL_CROP_PAD 2

/* Windows of T+1 tokens in a stream of n tokens: (n - 1) / T. */
size_t dl_text_windows(size_t n, int T);
void dl_text_row(const struct dl_tokens *tk, uint64_t window, int T, int random, uint64_t seed, long epoch,
		 int *inputs, int *targets);
void dl_image_row(const struct dl_dataset *ds, const struct dl_image_set *set, uint64_t sample, int random,
		  uint64_t seed, long epoch, float *image, int *label);

/* The starvation knobs, per sample. dl_sample_latency() sleeps latency_us
 * microseconds (a slow store) in slices of at most DL_LATENCY_SLICE_US,
 * returning 1 early when *stop or *interrupt (either may be NULL) becomes
 * nonzero, else 0. dl_sample_cost() does `cost` units of CPU work (a
 * decoder); one unit is 670 rounds of a 64-bit multiply-xorshift, about 1
 * microsecond of one core. The work is fixed, not timed, so it scales with
 * cores like real decoding. */
#define DL_LATENCY_SLICE_US 10000
int dl_sample_latency(long latency_us, const _Atomic int *stop, const volatile int *interrupt);
void dl_sample_cost(long cost);

#endif
