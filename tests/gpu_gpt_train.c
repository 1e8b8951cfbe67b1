/*
 * Training the tiny GPT on CUDA through tr_train(), as `amptune train` runs
 * it (batch 8 x seq 64, the default data, AdamW at lr 1e-3, 2 validation
 * batches): 50 steps against the CPU backend's loss curve and eval loss from
 * the same seed and batches, per precision; run-to-run bitwise determinism on
 * the GPU, per precision; fp16's dynamic loss scaler backing off from an
 * overflowing scale; device memory limits below the model's needs give
 * out-of-memory. Exits 77 only when no GPU is present (helpers/gpu_suite.h).
 *
 * Tolerances: max over the 50 steps of |cuda - cpu| loss, and |cuda - cpu|
 * eval loss, in nats: fp32 2e-4, tf32 2e-2, fp16 and bf16 8e-2. On the CPU
 * this config's fp32 kernels stay within 4.5e-6 nats of fp64 over the 50
 * steps (eval loss 4e-8): the run is well conditioned, so fp32 on the GPU
 * (other summation orders, no TF32) gets 2e-4, some forty times that, which a
 * wrong kernel (tenths of a nat) cannot meet. The reduced formats cannot be
 * measured on the CPU; their tolerances are those of the per-op tolerances
 * compounded over 50 AdamW steps, TF32 (11-bit products) between fp32 and
 * fp16. Every comparison prints its deviation, so a GPU run calibrates them.
 *
 * On the CPU emulation of CUDA (emu_gpu_gpt_train; a step takes a second)
 * the runs are shorter, with the same tolerances: 12 steps against the CPU,
 * 6 for determinism, 25 for the loss scaler.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_suite.h"
#include "kernels/backend.h"
#include "reports/record.h"
#include "testutil.h"
#include "trainer/config.h"
#include "trainer/gpt.h"
#include "trainer/train.h"

static void config(struct tr_config *c, const char *device, enum kn_precision p)
{
	tr_config_defaults(c);
	strcpy(c->device, device);
	c->precision = p;
	c->batch = 8;
	c->seq = 64;
	c->steps = tu_gpu_steps(50, 12);
	c->eval_batches = 2;
	c->quiet = 1;
}

static const struct {
	enum kn_precision p;
	double tol;
} precisions[] = { { KN_FP32, 2e-4 }, { KN_TF32, 2e-2 }, { KN_FP16, 8e-2 }, { KN_BF16, 8e-2 } };
enum { NPREC = sizeof precisions / sizeof *precisions };

START_TEST(test_loss_curve_matches_cpu)
{
	enum kn_precision p = precisions[_i].p;
	const char *pn = kn_precision_name(p);
	double tol = precisions[_i].tol;
	struct tr_config c;
	struct rp_record cpu, gpu;
	config(&c, "cpu", KN_FP32);
	tu_train_ok(&c, &cpu);
	/* the comparison means something only if the model learned (5.58 -> 2.96 on the cpu) */
	ck_assert_msg(cpu.final_loss < cpu.initial_loss - 1.0, "cpu loss %.4f -> %.4f", cpu.initial_loss, cpu.final_loss);
	config(&c, "cuda", p);
	tu_train_ok(&c, &gpu);
	ck_assert_str_eq(gpu.device, "cuda");
	ck_assert(gpu.peak_device_bytes > 0);
	/* at the default scale 65536 the loss gradient is at most 65536 / (8 * 64) = 128 per logit:
	 * fp16 skips nothing (a skip would also make the curves part, so it is checked first) */
	ck_assert_msg(gpu.loss_scale_skips == 0, "%s: %ld steps skipped for overflow", pn, gpu.loss_scale_skips);
	long worst_step;
	double worst = tu_loss_curve_gap(&cpu, &gpu, &worst_step);
	double eval_d = fabs(gpu.eval_loss - cpu.eval_loss);
	printf("note: gpt cuda %s: loss curve within %.3g nats of the cpu (step %ld), eval loss %.3g; tolerance %g\n", pn,
	       worst, worst_step, eval_d, tol);
	ck_assert_msg(worst <= tol, "%s: loss curve differs from the cpu by up to %.4g nats (step %ld), tolerance %g", pn,
		      worst, worst_step, tol);
	ck_assert_msg(eval_d <= tol, "%s: eval loss %.6f, cpu %.6f, tolerance %g", pn, gpu.eval_loss, cpu.eval_loss, tol);
	rp_record_release(&cpu);
	rp_record_release(&gpu);
}
END_TEST

/* The same seed twice on the GPU: the same loss curve and eval loss, to the bit. */
START_TEST(test_deterministic)
{
	enum kn_precision p = precisions[_i].p;
	struct tr_config c;
	struct rp_record a, b;
	config(&c, "cuda", p);
	c.steps = tu_gpu_steps(20, 6);
	tu_train_ok(&c, &a);
	tu_train_ok(&c, &b);
	ck_assert_msg(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a.extra, "deterministic")),
		      "%s: the record does not say deterministic true", kn_precision_name(p));
	tu_assert_same_losses(&a, &b, kn_precision_name(p));
	ck_assert_msg(memcmp(&a.eval_loss, &b.eval_loss, sizeof(double)) == 0, "%s: eval loss %.17g then %.17g",
		      kn_precision_name(p), a.eval_loss, b.eval_loss);
	rp_record_release(&a);
	rp_record_release(&b);
}
END_TEST

/* fp16 from loss scale 2^24: the loss gradient is up to 2^24 / (8 * 64) = 32768
 * per logit, and the tied embedding's gradient sums it over every position
 * whose target is that token (tens of them for common bytes), far past fp16's
 * 65504: the first steps overflow and are skipped, each halving the scale,
 * then training proceeds and learns. The growth interval (1000 good steps,
 * tested on the host in check_loss_scale) is not reached in 50 steps, so the
 * final scale is exactly 2^24 halved once per skip. */
START_TEST(test_fp16_overflow_backs_off)
{
	struct tr_config c;
	struct rp_record r;
	config(&c, "cuda", KN_FP16);
	c.steps = tu_gpu_steps(50, 25);
	c.loss_scale_init = 16777216.0;
	tu_train_ok(&c, &r);
	ck_assert_int_ge(r.loss_scale_skips, 1);
	ck_assert_int_lt(r.loss_scale_skips, c.steps / 2);
	cJSON *fin = cJSON_GetObjectItem(r.extra, "loss_scale_final");
	ck_assert_msg(fin != NULL, "the record has no loss_scale_final: is the loss scaler on for fp16?");
	ck_assert_msg(fin->valuedouble == ldexp(16777216.0, -(int)r.loss_scale_skips),
		      "final scale %g after %ld skips from 2^24", fin->valuedouble, r.loss_scale_skips);
	ck_assert_msg(r.final_loss < r.initial_loss - 1.0, "loss %.4f -> %.4f", r.initial_loss, r.final_loss);
	rp_record_release(&r);
}
END_TEST

/* Device memory limits below the model's needs: status "oom" with the
 * allocator's message, never a crash. _i = 0: room for the backend itself
 * (measured on a fresh one) plus half of the bytes the model's parameters
 * alone take in bf16 with AdamW (compute weights and gradients in bf16,
 * master weights and both moments in fp32: 16 bytes each), so the model's
 * own allocations fail; _i = 1: 1 MiB, below what the backend itself holds. */
START_TEST(test_mem_limit_oom)
{
	struct tr_config c;
	config(&c, "cuda", KN_BF16);
	if (_i == 0) {
		struct kn_backend be;
		ck_assert_msg(kn_backend_open(&be, "cuda", KN_BF16, 0) == KN_OK, "%s", kn_last_error());
		size_t base = be.mem_in_use_bytes, per_param = 2 * be.act_bytes + 3 * be.master_bytes;
		kn_backend_release(&be);
		size_t params = tr_gpt_count_params(&tr_find_size(c.size)->gpt);
		ck_assert_uint_gt(params, 0);
		c.device_mem_limit = base + params * per_param / 2;
	} else {
		c.device_mem_limit = 1u << 20;
	}
	tu_train_oom(&c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("gpu_gpt_train");
	TCase *tc = tcase_create("train");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_loss_curve_matches_cpu, 0, NPREC);
	tcase_add_loop_test(tc, test_deterministic, 0, NPREC);
	tcase_add_test(tc, test_fp16_overflow_backs_off);
	tcase_add_loop_test(tc, test_mem_limit_oom, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return tu_gpu_suite_main("gpu_gpt_train", suite); }
