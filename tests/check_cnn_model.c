/*
 * The CNN model: a whole-model gradient check on a micro config (fp64
 * reference backend, every parameter, central differences), fp32 against
 * fp64, bitwise determinism for a fixed seed, eval mode, and the tiny model
 * overfitting 256 Fashion-MNIST training images.
 */
#include <check.h>

#include "testutil.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_loader/rng.h"
#include "kernels/backend.h"
#include "trainer/cnn.h"
#include "data_loader/dataset.h"
#include "data_loader/transform.h"
#include "trainer/config.h"

/* 2 stages (2 and 3 channels) on 6x6 images: identity and projection shortcuts, stride 2 */
static const struct tr_cnn_config micro = { 1, 6, 6, 3, 2, { 2, 3 }, { 1, 1 } };

static void random_batch(float *images, int *labels, int n, int hw, int classes, uint64_t seed)
{
	struct dl_rng r;
	dl_rng_init(&r, seed);
	for (int i = 0; i < n * hw; i++)
		images[i] = (float)dl_rng_normal(&r);
	for (int i = 0; i < n; i++)
		labels[i] = (int)dl_rng_below(&r, (uint64_t)classes);
}

START_TEST(micro_model_gradients)
{
	struct kn_backend be;
	struct tr_cnn m;
	enum { B = 4 };
	float images[B * 36];
	int labels[B];
	ck_assert_int_eq(kn_backend_open_reference(&be), KN_OK);
	ck_assert_int_eq(tr_cnn_init(&m, &be, &micro, B, TR_OPT_SGD, 7), KN_OK);
	random_batch(images, labels, B, 36, 3, 8);
	ck_assert_int_eq(tr_cnn_upload_batch(&m, images, labels, B), KN_OK);
	double loss, lp, lm;
	ck_assert_int_eq(tr_cnn_forward(&m, 1, &loss, NULL), KN_OK);
	tr_cnn_backward(&m, 1.0f);
	double *w = m.params, *g = m.grads;
	const double h = 1e-5;
	int checked = 0;
	for (size_t i = 0; i < m.num_params; i++) {
		double save = w[i];
		w[i] = save + h;
		tr_cnn_forward(&m, 1, &lp, NULL);
		w[i] = save - h;
		tr_cnn_forward(&m, 1, &lm, NULL);
		w[i] = save;
		double num = (lp - lm) / (2 * h);
		ck_assert_msg(fabs(g[i] - num) <= 1e-6 * fmax(1.0, fabs(num)),
			      "param %zu of %zu: analytic %.12g vs finite difference %.12g", i, m.num_params, g[i], num);
		checked++;
	}
	ck_assert_int_eq(checked, (int)tr_cnn_count_params(&micro));
	ck_assert_int_eq(checked, 18 + 4 + (36 + 4) * 2 + (54 + 6) + (81 + 6) + (6 + 6) + 3 * 3 + 3);
	tr_cnn_release(&m);
	kn_backend_release(&be);
}
END_TEST

START_TEST(fp32_model_matches_fp64)
{
	struct kn_backend b64, b32;
	struct tr_cnn m64, m32;
	enum { B = 8 };
	static const struct tr_cnn_config cfg = { 1, 12, 12, 10, 2, { 8, 16 }, { 1, 1 } };
	float images[B * 144];
	int labels[B];
	ck_assert_int_eq(kn_backend_open_reference(&b64), KN_OK);
	ck_assert_int_eq(kn_backend_open(&b32, "cpu", KN_FP32, 0), KN_OK);
	ck_assert_int_eq(tr_cnn_init(&m64, &b64, &cfg, B, TR_OPT_SGD, 3), KN_OK);
	ck_assert_int_eq(tr_cnn_init(&m32, &b32, &cfg, B, TR_OPT_SGD, 3), KN_OK);
	random_batch(images, labels, B, 144, 10, 4);
	double l64, l32;
	ck_assert_int_eq(tr_cnn_upload_batch(&m64, images, labels, B), KN_OK);
	ck_assert_int_eq(tr_cnn_upload_batch(&m32, images, labels, B), KN_OK);
	ck_assert_int_eq(tr_cnn_forward(&m64, 1, &l64, NULL), KN_OK);
	ck_assert_int_eq(tr_cnn_forward(&m32, 1, &l32, NULL), KN_OK);
	ck_assert_msg(fabs(l32 - l64) <= 1e-5 * l64, "loss fp32 %.9g vs fp64 %.9g", l32, l64);
	tr_cnn_backward(&m64, 1.0f);
	tr_cnn_backward(&m32, 1.0f);
	double n64 = tr_cnn_grad_norm(&m64), n32 = tr_cnn_grad_norm(&m32);
	ck_assert_msg(fabs(n32 - n64) <= 1e-4 * n64, "grad norm fp32 %.9g vs fp64 %.9g", n32, n64);
	const double *g64 = m64.grads;
	const float *g32 = m32.grads;
	for (size_t i = 0; i < m64.num_params; i++)
		ck_assert_msg(fabs(g32[i] - g64[i]) <= 1e-4 * n64, "grad %zu: fp32 %.9g vs fp64 %.9g", i, (double)g32[i],
			      g64[i]);
	tr_cnn_release(&m64);
	tr_cnn_release(&m32);
	kn_backend_release(&b64);
	kn_backend_release(&b32);
}
END_TEST

/* Five SGD steps from a seed; returns the losses and the eval loss after them. */
static void train_five(double losses[6], uint64_t seed)
{
	struct kn_backend be;
	struct tr_cnn m;
	enum { B = 16 };
	static const struct tr_cnn_config cfg = { 1, 14, 14, 10, 2, { 8, 16 }, { 1, 1 } };
	float images[B * 196];
	int labels[B];
	ck_assert_int_eq(kn_backend_open(&be, "cpu", KN_FP32, 0), KN_OK);
	ck_assert_int_eq(tr_cnn_init(&m, &be, &cfg, B, TR_OPT_SGD, seed), KN_OK);
	for (int step = 0; step < 5; step++) {
		random_batch(images, labels, B, 196, 10, 100 + step);
		ck_assert_int_eq(tr_cnn_upload_batch(&m, images, labels, B), KN_OK);
		ck_assert_int_eq(tr_cnn_forward(&m, 1, &losses[step], NULL), KN_OK);
		tr_cnn_backward(&m, 1.0f);
		tr_cnn_update(&m, 0.05f, 0.9f, 0, 0, 5e-4f, 1.0f);
	}
	ck_assert_int_eq(tr_cnn_forward(&m, 0, &losses[5], NULL), KN_OK);
	tr_cnn_release(&m);
	kn_backend_release(&be);
}

START_TEST(fixed_seed_is_bitwise_deterministic)
{
	double a[6], b[6], c[6];
	train_five(a, 42);
	train_five(b, 42);
	train_five(c, 43);
	ck_assert_msg(memcmp(a, b, sizeof a) == 0, "same seed, different losses: %.17g vs %.17g", a[4], b[4]);
	ck_assert_msg(memcmp(a, c, sizeof a) != 0, "seeds 42 and 43 gave the same losses");
	for (int i = 0; i < 6; i++)
		ck_assert(isfinite(a[i]));
}
END_TEST

/* training images idx[0..n) of the loader's dataset, normalised, not augmented */
static void batch_of(const struct dl_dataset *d, const uint32_t *idx, int n, float *images, int *labels)
{
	for (int i = 0; i < n; i++)
		dl_image_row(d, d->images[DL_TRAIN], idx[i], 0, 1, 0, images + (size_t)i * 784, &labels[i]);
}

/* The tiny preset memorises 256 Fashion-MNIST training images: >= 95% accuracy
 * on them (eval mode, running BN statistics) after 160 steps of batch 32 (20 epochs). */
START_TEST(tiny_overfits_256_images)
{
	enum { N = 256, B = 32, STEPS = 160 };
	struct dl_dataset data;
	ck_assert_msg(dl_dataset_open(&data, "fashion-mnist", 0, 1) == KN_OK, "%s", kn_last_error());
	const struct tr_cnn_preset *preset = tr_find_cnn_preset("tiny");
	ck_assert_ptr_nonnull(preset);
	const struct tr_cnn_config *tiny = &preset->cnn;
	struct kn_backend be;
	struct tr_cnn m;
	ck_assert_int_eq(kn_backend_open(&be, "cpu", KN_FP32, 0), KN_OK);
	ck_assert_int_eq(tr_cnn_init(&m, &be, tiny, B, TR_OPT_SGD, 1), KN_OK);
	float *images = malloc(sizeof(float) * B * 784);
	int labels[B];
	uint32_t idx[N];
	ck_assert_ptr_nonnull(images);
	for (int i = 0; i < N; i++)
		idx[i] = (uint32_t)i;
	double loss = 0;
	for (int step = 0; step < STEPS; step++) {
		int k = step % (N / B);
		batch_of(&data, idx + k * B, B, images, labels);
		ck_assert_int_eq(tr_cnn_upload_batch(&m, images, labels, B), KN_OK);
		ck_assert_int_eq(tr_cnn_forward(&m, 1, &loss, NULL), KN_OK);
		tr_cnn_backward(&m, 1.0f);
		float lr = 0.1f * (1.0f + cosf(3.14159265f * step / STEPS)) / 2;
		tr_cnn_update(&m, lr, 0.9f, 0, 0, 5e-4f, 1.0f);
	}
	long correct = 0, c;
	double eval_loss = 0, l;
	for (int k = 0; k < N / B; k++) {
		batch_of(&data, idx + k * B, B, images, labels);
		ck_assert_int_eq(tr_cnn_upload_batch(&m, images, labels, B), KN_OK);
		ck_assert_int_eq(tr_cnn_forward(&m, 0, &l, &c), KN_OK);
		correct += c;
		eval_loss += l / (N / B);
	}
	printf("tiny overfit: %ld/%d training images right after %d steps\n", correct, N, STEPS);
	ck_assert_msg(correct >= 0.95 * N, "training accuracy %ld/%d (eval loss %.4f, last train loss %.4f)", correct, N,
		      eval_loss, loss);
	free(images);
	tr_cnn_release(&m);
	kn_backend_release(&be);
	dl_dataset_release(&data);
}
END_TEST

START_TEST(bad_inputs_are_refused)
{
	struct kn_backend be;
	struct tr_cnn m;
	float images[2 * 36] = { 0 };
	int labels[2] = { 0, 3 };
	ck_assert_int_eq(kn_backend_open(&be, "cpu", KN_FP32, 0), KN_OK);
	ck_assert_int_eq(tr_cnn_init(&m, &be, &micro, 2, TR_OPT_ADAMW, 1), KN_OK);
	ck_assert_int_eq(tr_cnn_upload_batch(&m, images, labels, 2), KN_EDATA);
	ck_assert_str_eq(kn_last_error(), "label 3 of image 1 is outside 0..2");
	ck_assert_int_eq(tr_cnn_upload_batch(&m, images, labels, 3), KN_EUSAGE);
	tr_cnn_release(&m);
	struct tr_cnn_config bad = micro;
	bad.stages = 0;
	ck_assert_int_eq(tr_cnn_init(&m, &be, &bad, 2, TR_OPT_SGD, 1), KN_EUSAGE);
	/* a memory limit below the model's needs is an out-of-memory, as on a small card */
	be.mem_limit_bytes = 4096;
	ck_assert_int_eq(tr_cnn_init(&m, &be, &micro, 2, TR_OPT_SGD, 1), KN_ENOMEM);
	ck_assert_int_eq((int)be.mem_in_use_bytes, 0);
	kn_backend_release(&be);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cnn_model");
	TCase *tc = tcase_create("model");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, micro_model_gradients);
	tcase_add_test(tc, fp32_model_matches_fp64);
	tcase_add_test(tc, fixed_seed_is_bitwise_deterministic);
	tcase_add_test(tc, bad_inputs_are_refused);
	tcase_add_test(tc, tiny_overfits_256_images);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
