/*
 * Every GPT op on CUDA against the fp64 CPU reference on the same inputs, in
 * each precision; outputs the op overwrites start as NaN. Exits 77 (skipped)
 * when no CUDA device is present or CUDA is not compiled in.
 *
 * Tolerances (|cuda - fp64| <= atol + rtol |fp64|), from each format's unit
 * roundoff u and the few roundings an op's result passes through:
 *   fp32 (TF32 off)       atol 1e-5, rtol 1e-5
 *   tf32 (10-bit mantissa) atol 5e-3, rtol 5e-3
 *   fp16 (10-bit, u=4.9e-4) atol 1e-2, rtol 1e-2
 *   bf16 (7-bit,  u=3.9e-3) atol 6e-2, rtol 4e-2
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpt_op_cases.h"
#include "kernels/backend.h"
#include "testutil.h"

static const struct {
	enum kn_precision p;
	double atol, rtol;
} precisions[] = {
	{ KN_FP32, 1e-5, 1e-5 },
	{ KN_TF32, 5e-3, 5e-3 },
	{ KN_FP16, 1e-2, 1e-2 },
	{ KN_BF16, 6e-2, 4e-2 },
};
enum { NPREC = sizeof precisions / sizeof *precisions };

START_TEST(test_op_on_cuda)
{
	int prec = _i / GPT_OP_NCASES, k = _i % GPT_OP_NCASES;
	struct kn_backend ref, gpu;
	struct op_io io;
	const char *name;
	op_runner run = gpt_op_case(k, &io, &name);
	ck_assert_int_eq(kn_backend_open_reference(&ref), KN_OK);
	run(&ref, &io, 1);
	double *out = io.out, *grad[MAXIN] = { 0 };
	io.out = NULL;
	for (int i = 0; i < io.n_in; i++) {
		grad[i] = io.grad[i];
		io.grad[i] = NULL;
	}
	int rc = kn_backend_open(&gpu, "cuda", precisions[prec].p, 0);
	ck_assert_msg(rc == KN_OK, "opening cuda: %s", kn_last_error());
	run(&gpu, &io, 1);
	ck_assert_msg(kn_sync(&gpu) == KN_OK, "%s: %s", name, kn_last_error());
	const char *pn = kn_precision_name(precisions[prec].p);
	double e = tu_max_err(io.out, out, io.out_n, precisions[prec].atol, precisions[prec].rtol);
	ck_assert_msg(e <= 1.0, "%s %s: forward differs from fp64 (%.3g x tolerance)", name, pn, e);
	for (int i = 0; i < io.n_in; i++) {
		e = tu_max_err(io.grad[i], grad[i], io.in_n[i], precisions[prec].atol, precisions[prec].rtol);
		ck_assert_msg(e <= 1.0, "%s %s: gradient %d differs from fp64 (%.3g x tolerance)", name, pn, i, e);
		free(grad[i]);
	}
	free(out);
	op_io_free(&io);
	kn_backend_release(&gpu);
	kn_backend_release(&ref);
}
END_TEST

int main(void)
{
	if (tu_cuda_device_count_forked() == 0) {
		printf("gpu_gpt_ops: no CUDA device present (or CUDA not compiled in): skipped\n");
		return 77;
	}
	setenv("AMPTUNE_CUDA_UNVALIDATED", "1", 1);
	Suite *s = suite_create("gpu_gpt_ops");
	TCase *tc = tcase_create("ops");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_op_on_cuda, 0, NPREC * GPT_OP_NCASES);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
