/*
 * Training the tiny CNN (train --model cnn --size tiny) on CUDA through
 * tr_train(): 50 steps against the CPU backend's run from the same seed and
 * batches, per precision, with the eval accuracy after them; run-to-run
 * bitwise determinism on the GPU; fp16's dynamic loss scaler backing off from
 * an overflowing scale; device memory limits below the model's needs give
 * out-of-memory. Exits 77 when no CUDA device is present.
 *
 * Data: synthetic-images:12000 (made from the seed, so the same on every
 * machine; 2000 validation images), batch 128 (the preset's), SGD with
 * momentum 0.9 and weight decay 5e-4 (train's cnn defaults) at lr 0.05. At
 * the default lr 0.2 this model's first 50 steps are chaotic: fp32 and fp64
 * on the CPU drift up to 0.29 nats apart and end at eval accuracies 0.81 and
 * 0.91, which would leave room for real errors; at 0.05 the loss still falls
 * from 2.33 to 0.96 and the accuracy reaches 0.63.
 *
 * Tolerances: max over the 50 steps of |cuda - cpu| loss, and |cuda - cpu|
 * eval loss, in nats: fp32 5e-3, tf32 2e-2, fp16 and bf16 3e-2; eval accuracy
 * (2000 images) within 0.02 (fp32, tf32) or 0.03 (fp16, bf16). Measured on
 * the CPU for this config against fp64: fp32 kernels drift 1.3e-3 nats and
 * 0.0065 in accuracy; fp32 kernels whose act-typed results are rounded to
 * bf16 or fp16 after every op (what those precisions store), 2.6e-3 / 0.0085
 * and 3.1e-3 / 0.010. The tolerances leave the GPU's own rounding (other
 * summation orders, cuDNN's algorithms, TF32's 11-bit products, which sit
 * between fp32 and fp16) three to ten times that; a wrong kernel moves the
 * loss by tenths of a nat.
 *
 * On the CPU emulation of CUDA (emu_gpu_cnn_train; a step takes most of a
 * second) the runs are shorter, with the same tolerances: 25 steps against
 * the CPU (enough for the loss to fall by the half nat the test asks of the
 * CPU run), 6 for determinism, 30 for the loss scaler.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_suite.h"
#include "kernels/backend.h"
#include "kernels/cpu/winograd.h"
#include "reports/record.h"
#include "trainer/cnn.h"
#include "trainer/config.h"
#include "trainer/train.h"
#include "testutil.h"

#define DATA "synthetic-images:12000"
#define EVAL_IMAGES 2000

static void config(struct tr_config *c, const char *device, enum kn_precision p)
{
	tr_config_defaults(c);
	strcpy(c->model, "cnn");
	strcpy(c->size, "tiny");
	strcpy(c->data, DATA);
	strcpy(c->device, device);
	c->precision = p;
	c->optimizer = TR_OPT_SGD;
	c->momentum = 0.9;
	c->weight_decay = 5e-4;
	c->lr = 0.05;
	c->batch = 128;
	c->steps = tu_gpu_steps(50, 25);
	c->eval_images = EVAL_IMAGES;
	c->quiet = 1;
}

static const struct {
	enum kn_precision p;
	double loss_tol, acc_tol;
} precisions[] = {
	{ KN_FP32, 5e-3, 0.02 },
	{ KN_TF32, 2e-2, 0.02 },
	{ KN_FP16, 3e-2, 0.03 },
	{ KN_BF16, 3e-2, 0.03 },
};
enum { NPREC = sizeof precisions / sizeof *precisions };

START_TEST(test_loss_curve_matches_cpu)
{
	enum kn_precision p = precisions[_i].p;
	const char *pn = kn_precision_name(p);
	double tol = precisions[_i].loss_tol;
	struct tr_config c;
	struct rp_record cpu, gpu;
	config(&c, "cpu", KN_FP32);
	/* the reference convolves by im2col, fp32's most accurate path (the CPU's Winograd
	 * F(4x4, 3x3) rounds some 30x more: kernels/cpu/winograd.c), which the tolerances below
	 * were measured with */
	int winograd_from = kn_cpu32_winograd_min_channels;
	kn_cpu32_winograd_min_channels = 1 << 30;
	tu_train_ok(&c, &cpu);
	kn_cpu32_winograd_min_channels = winograd_from;
	/* the comparison means something only if the model learned */
	ck_assert_msg(cpu.final_loss < cpu.initial_loss - 0.5, "cpu loss %.4f -> %.4f", cpu.initial_loss, cpu.final_loss);
	ck_assert_double_gt(cpu.eval_accuracy, 0.3);
	config(&c, "cuda", p);
	tu_train_ok(&c, &gpu);
	ck_assert_str_eq(gpu.device, "cuda");
	ck_assert(gpu.peak_device_bytes > 0);
	/* fp16 trains through its loss scaler, which skips nothing here: the
	 * largest weight gradient of these 50 steps is 0.26 on the cpu, 17000 at
	 * the default scale 65536, below fp16's 65504 (a skip would also make the
	 * curves part, so it is checked before them) */
	ck_assert_msg(gpu.loss_scale_skips == 0, "%s: %ld steps skipped for overflow", pn, gpu.loss_scale_skips);
	ck_assert(isfinite(gpu.final_loss) && isfinite(gpu.eval_loss));
	long worst_step;
	double worst = tu_loss_curve_gap(&cpu, &gpu, &worst_step);
	printf("note: cnn cuda %s: loss curve within %.3g nats of the cpu (step %ld), eval loss %.3g, eval accuracy "
	       "%.4f against %.4f; tolerances %g nats, %g\n",
	       pn, worst, worst_step, fabs(gpu.eval_loss - cpu.eval_loss), gpu.eval_accuracy, cpu.eval_accuracy, tol,
	       precisions[_i].acc_tol);
	fflush(stdout);
	ck_assert_msg(worst <= tol, "%s: loss curve differs from the cpu by up to %.4g nats (step %ld), tolerance %g", pn,
		      worst, worst_step, tol);
	ck_assert_msg(fabs(gpu.eval_loss - cpu.eval_loss) <= tol, "%s: eval loss %.5f, cpu %.5f", pn, gpu.eval_loss,
		      cpu.eval_loss);
	ck_assert_msg(fabs(gpu.eval_accuracy - cpu.eval_accuracy) <= precisions[_i].acc_tol,
		      "%s: eval accuracy %.4f, cpu %.4f (tolerance %g)", pn, gpu.eval_accuracy, cpu.eval_accuracy,
		      precisions[_i].acc_tol);
	rp_record_release(&cpu);
	rp_record_release(&gpu);
}
END_TEST

/* The same seed twice on the GPU: the same loss curve, eval loss and accuracy, to the bit. */
START_TEST(test_deterministic)
{
	enum kn_precision p = precisions[_i].p;
	struct tr_config c;
	struct rp_record a, b;
	config(&c, "cuda", p);
	c.steps = tu_gpu_steps(20, 6);
	c.eval_images = 500;
	tu_train_ok(&c, &a);
	tu_train_ok(&c, &b);
	/* the record says whether every algorithm was deterministic: the promise checked below */
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(a.extra, "deterministic");
	ck_assert_msg(cJSON_IsTrue(det), "%s: the record says deterministic %s: cuDNN offered no deterministic algorithm "
		      "that fits for some layer", kn_precision_name(p), cJSON_IsFalse(det) ? "false" : "(absent)");
	tu_assert_same_losses(&a, &b, kn_precision_name(p));
	ck_assert_msg(memcmp(&a.eval_loss, &b.eval_loss, sizeof(double)) == 0, "eval loss %.17g then %.17g", a.eval_loss,
		      b.eval_loss);
	ck_assert_msg(a.eval_accuracy == b.eval_accuracy, "eval accuracy %g then %g", a.eval_accuracy, b.eval_accuracy);
	rp_record_release(&a);
	rp_record_release(&b);
}
END_TEST

/* fp16 from loss scale 2^24: the loss gradient alone, (p - 1) * 2^24 / 128, is
 * past fp16's 65504, so the first steps overflow and are skipped while the
 * scale halves; then training proceeds and learns. */
START_TEST(test_fp16_overflow_backs_off)
{
	struct tr_config c;
	struct rp_record r;
	config(&c, "cuda", KN_FP16);
	c.steps = tu_gpu_steps(50, 30);
	c.loss_scale_init = 16777216.0;
	tu_train_ok(&c, &r);
	ck_assert_int_ge(r.loss_scale_skips, 1);
	ck_assert_int_lt(r.loss_scale_skips, c.steps / 2);
	cJSON *fin = cJSON_GetObjectItem(r.extra, "loss_scale_final");
	ck_assert_msg(fin != NULL, "the record has no loss_scale_final: is the cnn step's loss scaler on for fp16?");
	ck_assert_double_lt(fin->valuedouble, 16777216.0);
	ck_assert(isfinite(r.final_loss));
	ck_assert_msg(r.final_loss < r.initial_loss - 0.5, "loss %.4f -> %.4f", r.initial_loss, r.final_loss);
	rp_record_release(&r);
}
END_TEST

/* Device memory limits below the model's needs: status "oom" with the
 * allocator's message, never a crash. _i = 0: room for the backend itself
 * (measured on a fresh one) plus half of what the tiny CNN allocates for
 * batches of 128 (tr_cnn_memory), so the model's own allocations fail;
 * _i = 1: 1 MiB, below what the backend itself holds. */
START_TEST(test_mem_limit_oom)
{
	struct tr_config c;
	config(&c, "cuda", KN_BF16);
	if (_i == 0) {
		struct kn_backend be;
		struct tr_cnn_memory mem;
		ck_assert_msg(kn_backend_open(&be, "cuda", KN_BF16, 0) == KN_OK, "%s", kn_last_error());
		size_t base = be.mem_in_use_bytes, ab = be.act_bytes, mb = be.master_bytes;
		kn_backend_release(&be);
		ck_assert_int_eq(tr_cnn_memory(&tr_find_cnn_preset("tiny")->cnn, c.batch, TR_OPT_SGD, ab, mb, &mem), KN_OK);
		/* weights, compute copy, gradients, master, velocity; statistics; activations */
		size_t need = mem.params * (2 * ab + 2 * mb) + mem.stats_bytes + mem.activation_bytes;
		c.device_mem_limit = base + need / 2;
	} else {
		c.device_mem_limit = 1u << 20;
	}
	tu_train_oom(&c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("gpu_cnn_train");
	TCase *tc = tcase_create("train");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_loss_curve_matches_cpu, 0, NPREC);
	tcase_add_loop_test(tc, test_deterministic, 0, NPREC);
	tcase_add_test(tc, test_fp16_overflow_backs_off);
	tcase_add_loop_test(tc, test_mem_limit_oom, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return tu_gpu_suite_main("gpu_cnn_train", suite); }
