/* The estimator against hand-computed numbers (and, for our GPT, the allocator's count). */
#include <check.h>
#include <math.h>
#include <string.h>

#include "helpers/report_fixture.h"
#include "kernels/error.h"
#include "reports/estimate.h"
#include "reports/tiers.h"

static struct rp_estimate est(const char *model, const char *size, double params, const char *prec, int batch, int seq,
			      enum rp_est_mode mode, int on_gpu)
{
	struct rp_est_input in = { .params = params, .batch = batch, .seq = seq, .mode = mode, .on_gpu = on_gpu };
	struct rp_estimate e;
	strcpy(in.model, model);
	strcpy(in.size, size);
	ck_assert_int_eq(kn_precision_parse(prec, &in.precision), 0);
	ck_assert_int_eq(rp_estimate(&in, &e), KN_OK);
	return e;
}

START_TEST(test_tiny_is_exact)
{
	/* tiny: V 256, C 128, L 4, context 128. Parameters: wte 32768 + wpe 16384 + per layer (2x128 ln1 +
	 * 3x128x128+384 qkv + 128x128+128 proj + 2x128 ln2 + 4x128x128+512 fc + 4x128x128+128 fcproj)
	 * x 4 = 793088, + 256 lnf = 842496. */
	struct rp_estimate e = est("gpt", "tiny", 0, "fp32", 4, 32, RP_EST_TRAIN, 0);
	ck_assert_double_eq(e.params, 842496);
	ck_assert_double_eq(e.weights, 842496.0 * 4);   /* fp32: the weights are the master copy */
	ck_assert_double_eq(e.grads, 842496.0 * 4);
	ck_assert_double_eq(e.optimizer, 842496.0 * 8); /* AdamW m and v */
	ck_assert_double_eq(e.master, 0);
	ck_assert_double_eq(e.workspace, 0);
	/* B 4, T 32: kept activations 1196032 floats, LayerNorm statistics 2432, one layer's activation
	 * gradients 180224 (10 x BT x C + the attention matrix), tokens and targets 256 ints in each of
	 * two input slots */
	ck_assert_double_eq(e.activations, (1196032.0 + 2432 + 180224) * 4 + 2 * 256 * 4);
	ck_assert_double_eq(e.total, 18996736); /* = peak_device_bytes of `train --batch 4 --seq 32` on the CPU */
	ck_assert_int_eq(e.exact, 1);
	/* (6 x (4 x 12 x 128^2 + 256 x 128) + 12 x 4 x 128 x 32) x 128 tokens */
	ck_assert_double_eq(e.flops_per_step, 654311424);
	ck_assert_int_eq(e.tier, 0);
}
END_TEST

START_TEST(test_mixed_precision_state)
{
	struct rp_estimate e = est("gpt", "tiny", 0, "bf16", 4, 32, RP_EST_TRAIN, 1);
	ck_assert_double_eq(e.weights, 842496.0 * 2); /* the bf16 compute copy */
	ck_assert_double_eq(e.grads, 842496.0 * 2);
	ck_assert_double_eq(e.master, 842496.0 * 4);
	ck_assert_double_eq(e.optimizer, 842496.0 * 8);
	ck_assert_double_eq(e.workspace, 512.0 * 1048576);
	struct rp_est_input in = { .model = "gpt", .size = "tiny", .batch = 4, .precision = KN_FP32,
				   .optimizer = RP_OPT_SGD };
	ck_assert_int_eq(rp_estimate(&in, &e), KN_OK);
	ck_assert_double_eq(e.optimizer, 842496.0 * 4); /* momentum only */
	ck_assert_int_eq(e.seq, 128);                    /* the preset's context by default */
	e = est("gpt", "gpt2-124m", 0, "fp32", 4, 1024, RP_EST_TRAIN, 1);
	ck_assert_double_eq(e.params, 124475904);
}
END_TEST

START_TEST(test_cuda_layout)
{
	/* bf16 on CUDA: fused attention drops each layer's softmax (kept, L of them) and the one in the
	 * gradient scratch, and keeps an fp32 log-sum-exp per row: tiny (L 4, 4 heads of 32) at B 4, T 32 */
	struct rp_est_input in = { .model = "gpt", .size = "tiny", .batch = 4, .seq = 32, .precision = KN_BF16 };
	struct rp_estimate cpu, cuda;
	ck_assert_int_eq(rp_estimate(&in, &cpu), KN_OK);
	in.cuda_layout = 1;
	ck_assert_int_eq(rp_estimate(&in, &cuda), KN_OK);
	double att = 4.0 * 4 * 32 * 32;
	ck_assert_double_eq(cuda.activations, cpu.activations - (4 + 1) * att * 2 + 4.0 * 4 * 4 * 32 * 4);
	ck_assert_int_eq(cpu.exact, 1);
	ck_assert_int_eq(cuda.exact, 0); /* the backend's own scratch goes through the allocator too */
	ck_assert_ptr_nonnull(strstr(cuda.assumptions, "log-sum-exp"));
	/* fp32 on CUDA keeps the softmax, as on the CPU */
	in.precision = KN_FP32;
	ck_assert_int_eq(rp_estimate(&in, &cuda), KN_OK);
	in.cuda_layout = 0;
	ck_assert_int_eq(rp_estimate(&in, &cpu), KN_OK);
	ck_assert_double_eq(cuda.activations, cpu.activations);
	/* the CNN on CUDA: cuDNN's workspace is chosen at run time and not counted */
	struct rp_est_input c = { .model = "cnn", .size = "tiny", .batch = 64, .precision = KN_FP32 };
	ck_assert_int_eq(rp_estimate(&c, &cpu), KN_OK);
	c.cuda_layout = 1;
	ck_assert_int_eq(rp_estimate(&c, &cuda), KN_OK);
	ck_assert(cpu.workspace > 0);
	ck_assert_double_eq(cuda.workspace, 0);
	ck_assert_double_eq(cuda.total, cpu.total - cpu.workspace);
	ck_assert_int_eq(cpu.exact, 1);
	ck_assert_int_eq(cuda.exact, 0);
	ck_assert_ptr_nonnull(strstr(cuda.assumptions, "cuDNN's convolution workspace not counted"));
}
END_TEST

START_TEST(test_seven_billion_inference)
{
	/* 7B: 32 layers (GPT-3 6.7B), d_model from 12 L C^2 + (V + T) C = 7e9 -> 4201.9 -> 4224, 33 heads */
	struct rp_estimate e = est("gpt", "", 7e9, "fp16", 1, 2048, RP_EST_INFER, 1);
	ck_assert_int_eq(e.layers, 32);
	ck_assert_int_eq(e.d_model, 4224);
	ck_assert_int_eq(e.heads, 33);
	ck_assert_double_eq(e.weights, 14e9);
	ck_assert_double_eq(e.grads + e.optimizer + e.master, 0);
	/* fp16: (18 BTC + heads T^2 + T V + KV 2 L T C) x 2 bytes + tokens:
	 * (155713536 + 138412032 + 103022592 + 553648128) x 2 + 8192 */
	ck_assert_double_eq(e.activations, 1901600768.0);
	ck_assert_double_eq(e.total, 14e9 + 1901600768.0 + 536870912.0); /* 15.31 GiB */
	ck_assert_int_eq(e.tier, 2); /* 16.84 GiB with headroom: a 16 GB card is too small, 24 GB holds it */
	e = est("gpt", "", 7e9, "fp16", 2, 2048, RP_EST_INFER, 1);
	ck_assert_int_eq(rp_tier_gib[e.tier], 24);
	e = est("gpt", "", 1.3e9, "fp16", 1, 2048, RP_EST_INFER, 1);
	ck_assert_int_eq(e.layers, 24);
	ck_assert_int_eq(e.d_model, 2048); /* GPT-3 XL's shape */
	ck_assert_double_eq(e.weights, 2.6e9);
	ck_assert_int_eq(rp_tier_gib[e.tier], 8);
}
END_TEST

START_TEST(test_cnn)
{
	/* 50M parameters, fp32 AdamW at batch 64 on 224x224: 16 bytes per parameter, plus ResNet-50's 27M
	 * kept activations scaled by 50/25.6, x 64 images x 4 bytes x 1.1 for backward scratch, plus inputs */
	struct rp_estimate e = est("cnn", "", 50e6, "fp32", 64, 0, RP_EST_TRAIN, 1);
	ck_assert_double_eq(e.weights + e.grads + e.optimizer, 8e8);
	ck_assert_double_eq_tol(e.activations, 27e6 * (50 / 25.6) * 64 * 4 * 1.1 + 64 * 224 * 224 * 3 * 4, 1);
	ck_assert_double_eq_tol(e.total / 1073741824.0, 15.11, 0.01);
	ck_assert_int_eq(rp_tier_gib[e.tier], 24); /* 16.6 GiB with headroom */
	ck_assert_double_eq_tol(e.flops_per_step, 2 * 4.1e9 * (50 / 25.6) * 64 * 3, 1);
}
END_TEST

START_TEST(test_bad_input)
{
	struct rp_est_input in = { .model = "rnn", .batch = 1 };
	struct rp_estimate e;
	ck_assert_int_eq(rp_estimate(&in, &e), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), "option '--model' expects gpt, cnn, got 'rnn'");
	strcpy(in.model, "gpt");
	ck_assert_int_eq(rp_estimate(&in, &e), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), "--model gpt needs --size tiny|small|gpt2-124m or --params N");
	strcpy(in.size, "tiny");
	in.seq = 200;
	ck_assert_int_eq(rp_estimate(&in, &e), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), "option '--seq' is 200, beyond the 'tiny' model's context of 128");
	strcpy(in.model, "cnn");
	strcpy(in.size, "huge");
	ck_assert_int_eq(rp_estimate(&in, &e), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), "option '--size' expects tiny or resnet for --model cnn, got 'huge'");
	strcpy(in.size, "tiny");
	in.image = 32;
	ck_assert_int_eq(rp_estimate(&in, &e), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), "the cnn 'tiny' preset takes 28x28 images, not 32");
	in.image = 0;
	/* a count no GPT-style shape has: the embeddings alone (vocab 50304 x d_model 64) hold 3.35M */
	strcpy(in.model, "gpt");
	in.size[0] = 0;
	in.seq = 0;
	in.params = 100;
	ck_assert_int_eq(rp_estimate(&in, &e), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), "option '--params' is 100, too few for a GPT-style transformer: the shape it "
					  "resolves to (12 layers, d_model 64, vocab 50304, context 2048) has 3.94M "
					  "parameters; ask for at least that many, or set a smaller shape with --layers, "
					  "--d-model, --vocab and --seq");
	in.params = 3e6; /* within the slack of d_model's rounding */
	ck_assert_int_eq(rp_estimate(&in, &e), KN_OK);
	ck_assert_str_eq(e.shape, "generic GPT-style transformer: 12 layers, d_model 64, 1 head, vocab 50304 (a shape of "
				  "3.94M parameters)");
	in.params = 1e5, in.layers = 1, in.d_model = 64, in.vocab = 256, in.seq = 64; /* a shape that small, given */
	ck_assert_int_eq(rp_estimate(&in, &e), KN_OK);
	in.batch = 0;
	ck_assert_int_eq(rp_estimate(&in, &e), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), "option '--batch' must be at least 1");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reports_estimate");
	TCase *tc = tcase_create("estimate");
	tcase_add_test(tc, test_tiny_is_exact);
	tcase_add_test(tc, test_mixed_precision_state);
	tcase_add_test(tc, test_cuda_layout);
	tcase_add_test(tc, test_seven_billion_inference);
	tcase_add_test(tc, test_cnn);
	tcase_add_test(tc, test_bad_input);
	suite_add_tcase(s, tc);
	return fx_run(s);
}
