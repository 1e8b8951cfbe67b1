/*
 * The GPT model as a whole: a full gradient check on a micro config against
 * central finite differences in double (fp64 reference backend), fp32 against
 * fp64, memory accounting and the memory limit, determinism of a training
 * run, and learning on real text.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_loader/rng.h"
#include "kernels/backend.h"
#include "reports/record.h"
#include "testutil.h"
#include "trainer/config.h"
#include "trainer/gpt.h"
#include "trainer/train.h"

static const struct tr_gpt_config micro = { .max_seq = 8, .vocab = 32, .layers = 2, .heads = 2, .channels = 16 };
enum { MB = 2, MT = 8 };

static void micro_batch(int *inputs, int *targets)
{
	struct dl_rng r;
	dl_rng_init(&r, 99);
	for (int i = 0; i < MB * MT; i++) {
		inputs[i] = (int)dl_rng_below(&r, micro.vocab);
		targets[i] = (int)dl_rng_below(&r, micro.vocab);
	}
}

/* Tolerance for analytic vs finite differences (h = 1e-5, double): atol 1e-8, rtol 1e-5. */
START_TEST(test_model_gradcheck)
{
	struct kn_backend be;
	struct tr_gpt m;
	int inputs[MB * MT], targets[MB * MT];
	ck_assert_int_eq(kn_backend_open_reference(&be), KN_OK);
	ck_assert_int_eq(tr_gpt_init(&m, &be, &micro, MB, MT, 7), KN_OK);
	/* make LayerNorm weights and biases non-trivial so their gradients are exercised */
	double *w = m.master;
	struct dl_rng r;
	dl_rng_init(&r, 3);
	for (size_t i = 0; i < m.num_params; i++)
		w[i] += 0.05 * dl_rng_normal(&r);
	micro_batch(inputs, targets);
	ck_assert_int_eq(tr_gpt_upload_batch(&m, inputs, targets), KN_OK);
	double loss;
	ck_assert_int_eq(tr_gpt_forward(&m, MT, &loss), KN_OK);
	ck_assert(fabs(loss - log(32.0)) < 0.5);
	tr_gpt_backward(&m, 1.0f);
	double *grad = malloc(m.num_params * sizeof *grad);
	memcpy(grad, m.grads, m.num_params * sizeof *grad);
	const double h = 1e-5;
	double worst = 0;
	size_t worst_i = 0, off = 0;
	int worst_t = 0;
	for (int t = 0; t < TR_GPT_NPARAMS; t++) {
		for (size_t k = 0; k < m.param_sizes[t]; k++) {
			size_t i = off + k;
			double save = w[i], lp, lm;
			w[i] = save + h;
			tr_gpt_forward(&m, MT, &lp);
			w[i] = save - h;
			tr_gpt_forward(&m, MT, &lm);
			w[i] = save;
			double num = (lp - lm) / (2 * h);
			double e = fabs(num - grad[i]) / (1e-8 + 1e-5 * fabs(num));
			if (!(e <= worst)) {
				worst = e;
				worst_i = k;
				worst_t = t;
			}
		}
		off += m.param_sizes[t];
	}
	ck_assert_msg(worst <= 1.0, "gradient of %s[%zu] differs from finite differences (%.3g x tolerance)",
		      tr_gpt_param_names[worst_t], worst_i, worst);
	free(grad);
	tr_gpt_release(&m);
	ck_assert_int_eq((int)be.mem_in_use_bytes, 0);
	kn_backend_release(&be);
}
END_TEST

/* fp32 model against the fp64 model from the same initial weights:
 * loss within 1e-5 relative, gradients within 1e-3 of the gradient norm. */
START_TEST(test_model_fp32_matches_fp64)
{
	struct kn_backend b64, b32;
	struct tr_gpt m64, m32;
	int inputs[MB * MT], targets[MB * MT];
	ck_assert_int_eq(kn_backend_open_reference(&b64), KN_OK);
	ck_assert_int_eq(kn_backend_open(&b32, "cpu", KN_FP32, 0), KN_OK);
	ck_assert_int_eq(tr_gpt_init(&m64, &b64, &micro, MB, MT, 11), KN_OK);
	ck_assert_int_eq(tr_gpt_init(&m32, &b32, &micro, MB, MT, 11), KN_OK);
	micro_batch(inputs, targets);
	double l64, l32;
	tr_gpt_upload_batch(&m64, inputs, targets);
	tr_gpt_upload_batch(&m32, inputs, targets);
	tr_gpt_forward(&m64, MT, &l64);
	tr_gpt_forward(&m32, MT, &l32);
	ck_assert_double_eq_tol(l32, l64, 1e-5 * l64);
	tr_gpt_backward(&m64, 1.0f);
	tr_gpt_backward(&m32, 1.0f);
	double *g64 = tu_host(&b64, m64.grads, m64.num_params, 0), *g32 = tu_host(&b32, m32.grads, m32.num_params, 0);
	double diff = 0, norm = 0;
	for (size_t i = 0; i < m64.num_params; i++) {
		diff += (g32[i] - g64[i]) * (g32[i] - g64[i]);
		norm += g64[i] * g64[i];
	}
	ck_assert_msg(sqrt(diff) <= 1e-3 * sqrt(norm), "fp32 gradients differ by %.3g of the norm", sqrt(diff / norm));
	free(g64);
	free(g32);
	tr_gpt_release(&m64);
	tr_gpt_release(&m32);
	kn_backend_release(&b64);
	kn_backend_release(&b32);
}
END_TEST

START_TEST(test_param_count_and_memory)
{
	const struct tr_size_preset *tiny = tr_find_size("tiny"), *small = tr_find_size("small"), *big = tr_find_size("gpt2-124m");
	ck_assert_uint_eq(tr_gpt_count_params(&tiny->gpt), 842496);
	ck_assert_uint_eq(tr_gpt_count_params(&small->gpt), 10844160);
	ck_assert_uint_eq(tr_gpt_count_params(&big->gpt), 124475904);

	struct kn_backend be;
	struct tr_gpt m;
	ck_assert_int_eq(kn_backend_open(&be, "cpu", KN_FP32, 0), KN_OK);
	ck_assert_int_eq(tr_gpt_init(&m, &be, &tiny->gpt, 2, 16, 1), KN_OK);
	/* master + m + v + grads, fp32, with compute aliasing master */
	size_t param_bytes = 4 * 4 * (size_t)842496;
	ck_assert_uint_gt(be.mem_peak_bytes, param_bytes);
	ck_assert_uint_eq(be.mem_in_use_bytes, be.mem_peak_bytes);
	tr_gpt_release(&m);
	ck_assert_uint_eq(be.mem_in_use_bytes, 0);
	kn_backend_release(&be);

	/* a limit below the parameters' needs: out of memory, with numbers */
	ck_assert_int_eq(kn_backend_open(&be, "cpu", KN_FP32, 8 * 1024 * 1024), KN_OK);
	ck_assert_int_eq(tr_gpt_init(&m, &be, &tiny->gpt, 64, 128, 1), KN_ENOMEM);
	ck_assert_ptr_nonnull(strstr(kn_last_error(), "out of memory on 'cpu': need "));
	ck_assert_ptr_nonnull(strstr(kn_last_error(), "of the 8.0 MiB limit"));
	ck_assert_uint_eq(be.mem_in_use_bytes, 0);
	kn_backend_release(&be);
}
END_TEST

static void quick_config(struct tr_config *c)
{
	tr_config_defaults(c);
	strcpy(c->device, "cpu");
	c->batch = 8;
	c->seq = 64;
	c->steps = 20;
	c->eval_batches = 2;
	c->quiet = 1;
}

START_TEST(test_determinism)
{
	struct tr_config c;
	struct rp_record a, b;
	quick_config(&c);
	rp_record_init(&a);
	rp_record_init(&b);
	ck_assert_int_eq(tr_train(&c, &a), KN_OK);
	ck_assert_int_eq(tr_train(&c, &b), KN_OK);
	ck_assert_int_eq(a.n_loss_curve, 20);
	ck_assert_int_eq(b.n_loss_curve, 20);
	tu_assert_same_losses(&a, &b, "same seed");
	ck_assert(memcmp(&a.eval_loss, &b.eval_loss, sizeof(double)) == 0);
	ck_assert_str_eq(a.id, b.id);
	/* a different seed gives a different run */
	rp_record_release(&b);
	rp_record_init(&b);
	c.seed = 1338;
	ck_assert_int_eq(tr_train(&c, &b), KN_OK);
	ck_assert(a.loss_curve[19].loss != b.loss_curve[19].loss);
	rp_record_release(&a);
	rp_record_release(&b);
}
END_TEST

/* Loss scaling multiplies by a power of two and divides it back out before
 * clipping and AdamW: in fp32 without overflow that is exact, so the run is
 * bitwise the same as without scaling. */
START_TEST(test_loss_scaling_is_exact_in_fp32)
{
	struct tr_config c;
	struct rp_record a, b;
	quick_config(&c);
	c.steps = 12;
	rp_record_init(&a);
	rp_record_init(&b);
	c.loss_scaling = 0;
	ck_assert_int_eq(tr_train(&c, &a), KN_OK);
	c.loss_scaling = 1;
	c.loss_scale_init = 4096;
	ck_assert_int_eq(tr_train(&c, &b), KN_OK);
	tu_assert_same_losses(&a, &b, "unscaled, then scaled");
	ck_assert_int_eq(b.loss_scale_skips, 0);
	rp_record_release(&a);
	rp_record_release(&b);
}
END_TEST

/* tiny on fortunes: from ln(256) = 5.545 nats/byte to a validation loss below 3.0 in 150 steps */
/* ---- the fused-attention path of the model, on the fp64 reference ----
 * The model keeps a log-sum-exp per row instead of the softmax where the
 * backend has flash_attention_* ops; these are those ops written out plainly
 * in double (the algorithm the CUDA kernels tile: lse forward, a backward that
 * rebuilds P from lse with dS = P (dP - D), D = rowsum(dout * out)), swapped
 * into a copy of the reference backend's table. */
static void ref_flash_forward(void *out_, void *lse_, const void *qkv_, int B, int T, int C, int NH)
{
	double *out = out_, *lse = lse_;
	const double *qkv = qkv_;
	int hs = C / NH;
	double scale = 1.0 / sqrt((double)hs), s[64];
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++)
			for (int t = 0; t < T; t++) {
				const double *q = qkv + ((size_t)b * T + t) * 3 * C + h * hs;
				double m = -INFINITY, l = 0;
				for (int j = 0; j <= t; j++) {
					const double *k = qkv + ((size_t)b * T + j) * 3 * C + C + h * hs;
					s[j] = 0;
					for (int d = 0; d < hs; d++)
						s[j] += q[d] * k[d] * scale;
					m = fmax(m, s[j]);
				}
				for (int j = 0; j <= t; j++)
					l += exp(s[j] - m);
				double *o = out + ((size_t)b * T + t) * C + h * hs;
				for (int d = 0; d < hs; d++) {
					o[d] = 0;
					for (int j = 0; j <= t; j++)
						o[d] += exp(s[j] - m) / l * qkv[((size_t)b * T + j) * 3 * C + 2 * C + h * hs + d];
				}
				lse[((size_t)b * NH + h) * T + t] = m + log(l);
			}
}

static void ref_flash_backward(void *dqkv_, const void *dout_, const void *qkv_, const void *out_, const void *lse_, int B,
			       int T, int C, int NH)
{
	double *dqkv = dqkv_;
	const double *dout = dout_, *qkv = qkv_, *out = out_, *lse = lse_;
	int hs = C / NH;
	double scale = 1.0 / sqrt((double)hs);
	memset(dqkv, 0, (size_t)B * T * 3 * C * sizeof *dqkv);
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++)
			for (int t = 0; t < T; t++) {
				size_t row = (size_t)b * T + t;
				const double *q = qkv + row * 3 * C + h * hs, *dy = dout + row * C + h * hs;
				double D = 0;
				for (int d = 0; d < hs; d++)
					D += dy[d] * out[row * C + h * hs + d];
				for (int j = 0; j <= t; j++) {
					size_t rj = (size_t)b * T + j;
					const double *k = qkv + rj * 3 * C + C + h * hs, *v = k + C;
					double sc = 0, dp = 0;
					for (int d = 0; d < hs; d++) {
						sc += q[d] * k[d] * scale;
						dp += dy[d] * v[d];
					}
					double p = exp(sc - lse[((size_t)b * NH + h) * T + t]), ds = p * (dp - D);
					for (int d = 0; d < hs; d++) {
						dqkv[row * 3 * C + h * hs + d] += scale * ds * k[d];
						dqkv[rj * 3 * C + C + h * hs + d] += scale * ds * q[d];
						dqkv[rj * 3 * C + 2 * C + h * hs + d] += p * dy[d];
					}
				}
			}
}

START_TEST(test_fused_attention_path)
{
	/* head size 32: a shape the fused path takes */
	static const struct tr_gpt_config cfg = { .max_seq = 8, .vocab = 32, .layers = 2, .heads = 2, .channels = 64 };
	struct kn_backend plain, fused;
	ck_assert_int_eq(kn_backend_open_reference(&plain), KN_OK);
	ck_assert_int_eq(kn_backend_open_reference(&fused), KN_OK);
	struct kn_ops ops = *fused.ops;
	ops.flash_attention_forward = ref_flash_forward;
	ops.flash_attention_backward = ref_flash_backward;
	fused.ops = &ops;
	struct tr_gpt a, f;
	ck_assert_int_eq(tr_gpt_init(&a, &plain, &cfg, MB, MT, 5), KN_OK);
	ck_assert_int_eq(tr_gpt_init(&f, &fused, &cfg, MB, MT, 5), KN_OK);
	ck_assert_int_eq(a.flash, 0);
	ck_assert_int_eq(f.flash, 1);
	/* the softmax [L,B,NH,T,T] and its [B,NH,T,T] gradient scratch give way to lse [L,B,NH,T] */
	size_t L = cfg.layers, NH = cfg.heads, att = (size_t)MB * NH * MT * MT;
	ck_assert_uint_eq(plain.mem_peak_bytes - fused.mem_peak_bytes, (L * att + att - L * MB * NH * MT) * sizeof(double));
	int inputs[MB * MT], targets[MB * MT];
	micro_batch(inputs, targets);
	for (int step = 0; step < 3; step++) {
		double la, lf;
		ck_assert_int_eq(tr_gpt_upload_batch(&a, inputs, targets), KN_OK);
		ck_assert_int_eq(tr_gpt_upload_batch(&f, inputs, targets), KN_OK);
		ck_assert_int_eq(tr_gpt_forward(&a, MT, &la), KN_OK);
		ck_assert_int_eq(tr_gpt_forward(&f, MT, &lf), KN_OK);
		ck_assert_msg(fabs(la - lf) <= 1e-12 * fabs(la), "step %d: loss %.17g unfused, %.17g fused", step, la, lf);
		tr_gpt_backward(&a, 1.0f);
		tr_gpt_backward(&f, 1.0f);
		const double *ga = a.grads, *gf = f.grads;
		double e = tu_max_err(gf, ga, a.num_params, 1e-12, 1e-9);
		ck_assert_msg(e <= 1.0, "step %d: fused gradients differ (%.3g x tolerance)", step, e);
		tr_gpt_update(&a, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f);
		tr_gpt_update(&f, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f);
	}
	tr_gpt_release(&a);
	tr_gpt_release(&f);
	kn_backend_release(&plain);
	kn_backend_release(&fused);
}
END_TEST

START_TEST(test_learns_fortunes)
{
	struct tr_config c;
	struct rp_record rec;
	tr_config_defaults(&c);
	strcpy(c.device, "cpu");
	c.steps = 150;
	c.quiet = 1;
	rp_record_init(&rec);
	ck_assert_int_eq(tr_train(&c, &rec), KN_OK);
	ck_assert_double_eq_tol(rec.initial_loss, log(256.0), 0.1);
	ck_assert_msg(rec.eval_loss < 3.0, "validation loss %.4f after 150 steps", rec.eval_loss);
	ck_assert_str_eq(rec.status, "ok");
	ck_assert(isfinite(rec.step_ms_p50) && rec.step_ms_p50 > 0);
	ck_assert(rec.step_ms_p95 >= rec.step_ms_p50);
	ck_assert_int_eq(rec.epoch_s_extrapolated, 1);
	rp_record_release(&rec);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("gpt_model");
	TCase *tc = tcase_create("model");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_model_gradcheck);
	tcase_add_test(tc, test_model_fp32_matches_fp64);
	tcase_add_test(tc, test_param_count_and_memory);
	tcase_add_test(tc, test_determinism);
	tcase_add_test(tc, test_loss_scaling_is_exact_in_fp32);
	tcase_add_test(tc, test_fused_attention_path);
	tcase_add_test(tc, test_learns_fortunes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return tu_run_suite(suite()); }
