/*
 * Training the tiny GPT on CUDA: 50 steps against the CPU backend's loss
 * curve from the same seed and batches, per precision; run-to-run bitwise
 * determinism on the GPU; a device memory limit below the model's needs gives
 * out-of-memory. Exits 77 when no CUDA device is present.
 *
 * Loss-curve tolerance (max over steps of |cuda - cpu|, nats): fp32 2e-3,
 * tf32 2e-2, fp16 and bf16 8e-2 — rounding differences compound over 50
 * AdamW steps, so these are looser than the per-op tolerances.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "reports/record.h"
#include "testutil.h"
#include "trainer/config.h"
#include "trainer/train.h"

static void config(struct tr_config *c, const char *device, enum kn_precision p)
{
	tr_config_defaults(c);
	strcpy(c->device, device);
	c->precision = p;
	c->batch = 8;
	c->seq = 64;
	c->steps = 50;
	c->eval_batches = 2;
	c->quiet = 1;
}

static const struct {
	enum kn_precision p;
	double tol;
} precisions[] = { { KN_FP32, 2e-3 }, { KN_TF32, 2e-2 }, { KN_FP16, 8e-2 }, { KN_BF16, 8e-2 } };

START_TEST(test_loss_curve_matches_cpu)
{
	struct tr_config c;
	struct rp_record cpu, gpu;
	config(&c, "cpu", KN_FP32);
	rp_record_init(&cpu);
	ck_assert_int_eq(tr_train(&c, &cpu), KN_OK);
	config(&c, "cuda", precisions[_i].p);
	rp_record_init(&gpu);
	int rc = tr_train(&c, &gpu);
	ck_assert_msg(rc == KN_OK, "cuda %s: %s", kn_precision_name(precisions[_i].p), kn_last_error());
	ck_assert_int_eq(gpu.n_loss_curve, cpu.n_loss_curve);
	double worst = 0;
	for (int i = 0; i < cpu.n_loss_curve; i++)
		worst = fmax(worst, fabs(gpu.loss_curve[i].loss - cpu.loss_curve[i].loss));
	ck_assert_msg(worst <= precisions[_i].tol, "%s: loss curve differs from the cpu by up to %.4g nats",
		      kn_precision_name(precisions[_i].p), worst);
	ck_assert_str_eq(gpu.device, "cuda");
	ck_assert(gpu.peak_device_bytes > 0);
	rp_record_release(&cpu);
	rp_record_release(&gpu);
}
END_TEST

START_TEST(test_deterministic)
{
	struct tr_config c;
	struct rp_record a, b;
	config(&c, "cuda", KN_BF16);
	c.steps = 20;
	rp_record_init(&a);
	rp_record_init(&b);
	ck_assert_int_eq(tr_train(&c, &a), KN_OK);
	ck_assert_int_eq(tr_train(&c, &b), KN_OK);
	tu_assert_same_losses(&a, &b, "bf16, same seed twice");
	rp_record_release(&a);
	rp_record_release(&b);
}
END_TEST

/* fp16 starting at loss scale 2^24 overflows (fp16 max 65504): the first steps
 * are skipped and the scale backs off, then training proceeds and learns. */
START_TEST(test_fp16_overflow_backs_off)
{
	struct tr_config c;
	struct rp_record r;
	config(&c, "cuda", KN_FP16);
	c.loss_scale_init = 16777216.0;
	rp_record_init(&r);
	ck_assert_int_eq(tr_train(&c, &r), KN_OK);
	ck_assert_int_ge(r.loss_scale_skips, 1);
	cJSON *fin = cJSON_GetObjectItem(r.extra, "loss_scale_final");
	ck_assert_ptr_nonnull(fin);
	ck_assert_double_lt(fin->valuedouble, 16777216.0);
	ck_assert_double_lt(r.final_loss, r.initial_loss - 1.0);
	rp_record_release(&r);
}
END_TEST

START_TEST(test_mem_limit_oom)
{
	struct tr_config c;
	struct rp_record r;
	config(&c, "cuda", KN_BF16);
	/* above the backend's own 32 MiB cuBLASLt workspace, below that plus the
	 * tiny model's ~13 MiB of weights and optimizer state */
	c.device_mem_limit = 40u << 20;
	rp_record_init(&r);
	ck_assert_int_eq(tr_train(&c, &r), KN_ENOMEM);
	ck_assert_str_eq(r.status, "oom");
	rp_record_release(&r);
}
END_TEST

int main(void)
{
	if (tu_cuda_device_count_forked() == 0) {
		printf("gpu_gpt_train: no CUDA device present (or CUDA not compiled in): skipped\n");
		return 77;
	}
	setenv("AMPTUNE_CUDA_UNVALIDATED", "1", 1);
	Suite *s = suite_create("gpu_gpt_train");
	TCase *tc = tcase_create("train");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_loss_curve_matches_cpu, 0, sizeof precisions / sizeof *precisions);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_fp16_overflow_backs_off);
	tcase_add_test(tc, test_mem_limit_oom);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
