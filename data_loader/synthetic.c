#include "data_loader/synthetic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_loader/rng.h"
#include "kernels/error.h"

#define SYNTH_WORDS 64
#define SYNTH_DOMAIN 0x5e7d0a7aull /* keeps synthetic data apart from the sampler's random streams */

int dl_synthetic_text(struct dl_text *t, size_t n, uint64_t seed)
{
	char words[SYNTH_WORDS][12];
	struct dl_rng r;
	memset(t, 0, sizeof *t);
	snprintf(t->source, sizeof t->source, "synthetic-text");
	snprintf(t->path, sizeof t->path, "synthetic-text");
	t->n_files = 1;
	dl_rng_init(&r, dl_hash64(seed, SYNTH_DOMAIN, 1));
	for (int w = 0; w < SYNTH_WORDS; w++) {
		int len = 1 + (int)dl_rng_below(&r, 9);
		for (int i = 0; i < len; i++)
			words[w][i] = "etaoinshrdlucmfwypvbgkjqxz"[dl_rng_below(&r, i % 2 ? 26 : 10)];
		words[w][len] = 0;
	}
	uint8_t *buf = malloc(n + 16);
	if (!buf)
		return kn_error(KN_ENOMEM, "out of memory for %zu bytes of synthetic text", n);
	size_t len = 0;
	int in_sentence = 0;
	while (len < n) {
		/* the smaller of two uniforms favours the first words (a Zipf-like tail) */
		uint64_t a = dl_rng_below(&r, SYNTH_WORDS), b = dl_rng_below(&r, SYNTH_WORDS);
		const char *w = words[a < b ? a : b];
		for (size_t i = 0; w[i] && len < n; i++)
			buf[len++] = (uint8_t)(i == 0 && !in_sentence ? w[i] - 'a' + 'A' : w[i]);
		in_sentence = dl_rng_below(&r, 8) != 0;
		const char *sep = in_sentence ? " " : dl_rng_below(&r, 4) ? ". " : ".\n";
		for (size_t i = 0; sep[i] && len < n; i++)
			buf[len++] = (uint8_t)sep[i];
	}
	int rc = dl_text_from_bytes(t, buf, n);
	free(buf);
	return rc;
}

/* One image of class c: a bright bar through the centre region at the
 * class's angle and offset, a little jitter, and background noise. */
static void draw(uint8_t *px, int c, struct dl_rng *r)
{
	double angle = c * (M_PI / DL_SYNTH_CLASSES) + (dl_rng_uniform(r) - 0.5) * 0.2;
	double off = (c % 3 - 1) * 4.0 + (dl_rng_uniform(r) - 0.5) * 2.0;
	double ca = cos(angle), sa = sin(angle), mid = (DL_SYNTH_SIDE - 1) / 2.0;
	for (int y = 0; y < DL_SYNTH_SIDE; y++) {
		for (int x = 0; x < DL_SYNTH_SIDE; x++) {
			double d = fabs((x - mid) * sa - (y - mid) * ca - off);
			double v = d < 2.0 ? 200.0 - 40.0 * d : 0.0;
			v += dl_rng_uniform(r) * 40.0;
			px[y * DL_SYNTH_SIDE + x] = (uint8_t)(v > 255 ? 255 : v);
		}
	}
}

static int make_set(struct dl_image_set *set, size_t n, size_t first, uint64_t seed)
{
	size_t px = DL_SYNTH_SIDE * DL_SYNTH_SIDE;
	set->pixels = malloc(n * px);
	set->labels = malloc(n);
	set->n = n;
	if (!set->pixels || !set->labels)
		return kn_error(KN_ENOMEM, "out of memory for %zu synthetic images", n);
	for (size_t i = 0; i < n; i++) {
		struct dl_rng r;
		dl_rng_init(&r, dl_hash64(seed, SYNTH_DOMAIN, first + i));
		set->labels[i] = (uint8_t)dl_rng_below(&r, DL_SYNTH_CLASSES);
		draw(set->pixels + i * px, set->labels[i], &r);
	}
	return KN_OK;
}

int dl_synthetic_images(struct dl_idx *x, size_t n, uint64_t seed)
{
	memset(x, 0, sizeof *x);
	snprintf(x->path, sizeof x->path, "synthetic-images");
	x->C = 1;
	x->H = x->W = DL_SYNTH_SIDE;
	x->classes = DL_SYNTH_CLASSES;
	int rc = make_set(&x->train, n, 0, seed);
	if (rc == KN_OK)
		rc = make_set(&x->val, (n + 5) / 6, n, seed);
	if (rc) {
		dl_idx_release(x);
		return rc;
	}
	dl_idx_pixel_stats(x);
	return KN_OK;
}
