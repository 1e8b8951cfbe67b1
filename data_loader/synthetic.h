/*
 * data_loader/synthetic.h — datasets made from a seed, for tests and
 * benchmarks: the same seed gives the same bytes on every machine.
 *
 * Synthetic text is sentences of words drawn (Zipf-like) from a vocabulary of
 * 64 made-up words, so a model has something to learn. Synthetic images are
 * 1x28x28 with 10 classes: each class draws a bar at its own position and
 * angle, plus noise; validation images continue the same stream.
 *
 * Both fill the same structs as real data (text.h, idx.h) and are released
 * with dl_text_release() / dl_idx_release().
 */
#ifndef DL_SYNTHETIC_H
#define DL_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

#include "data_loader/idx.h"
#include "data_loader/text.h"

#define DL_SYNTH_TEXT_BYTES (1u << 20)
#define DL_SYNTH_IMAGES 60000
#define DL_SYNTH_SIDE 28
#define DL_SYNTH_CLASSES 10

/* n bytes of text split like real text (every 10th chunk is validation). */
int dl_synthetic_text(struct dl_text *t, size_t n, uint64_t seed);
/* n training images and ceil(n/6) validation images (60000 and 10000 by default). */
int dl_synthetic_images(struct dl_idx *x, size_t n, uint64_t seed);

#endif
