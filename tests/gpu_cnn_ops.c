/*
 * Every CNN op on CUDA against the fp64 CPU reference on the same inputs, in
 * each precision: the shared cases of helpers/cnn_op_cases.c (convolutions of
 * odd sizes and of the tiny and resnet presets' layers, batch norm in training
 * mode plain / with a residual / with a ReLU / both and in eval mode with its
 * statistics and running-statistic updates, ReLU, average pooling,
 * image_to_nhwc, count_correct with ties, SGD with fp32 master weights and an
 * act-typed compute copy). Results the op overwrites start as NaN; gradients
 * it accumulates start from a nonzero pattern. Each convolution runs with
 * exactly the workspace conv2d_workspace_bytes reports, NaN-filled, and a
 * guard after it that must stay untouched. Repeated runs of the convolution
 * and batch-norm cases must be bitwise identical (determinism of
 * backward-filter and batch-norm backward, whose reductions a GPU could do
 * with atomics). Exits 77 (skipped) when no CUDA device is present or CUDA is
 * not compiled in.
 *
 * Inputs are first rounded to what the GPU stores (cnn_io_quantize), so the
 * fp64 reference sees exactly the GPU's operands and the tolerance covers the
 * op's own arithmetic only. Tolerance per result (cnn_tolerance), relative to
 * the result's scale S = max |fp64| (+ 1/2 where it accumulated onto the
 * start pattern): 6 u + 16 sqrt(depth) u32, plus 8 * 2^-11 for convolutions
 * in tf32, where u is the unit roundoff of the result's storage, u32 = 2^-24
 * that of the fp32 accumulators, and depth the number of terms summed into
 * one element: K*K*C for a convolution's output, K*K*OC for its dinp,
 * N*OH*OW for its dweight, M = N*H*W rows for every batch-norm result (eval
 * mode: 1), HW for the pooled mean, 1 elsewhere. The 6 u are the final
 * rounding and intermediates held in the storage type; fp32 sums of `depth`
 * terms err like a random walk, sqrt(depth) u32, taken at 4 sigma with room
 * for a library's transform algorithms (x16); TF32 rounds both factors of
 * every product to 11 bits, adding noise of about 2 * 2^-11 of S, at 4 sigma.
 * ReLU and count_correct must be exact. For example:
 *   fp32 (TF32 off), u = 2^-24:  3x3 conv of 16 channels (depth 144) 1.2e-5;
 *                                batch norm over M = 3136 rows 5.4e-5
 *   tf32, products 2^-11:        the same conv 3.9e-3 (batch norm as fp32:
 *                                TF32 touches tensor-core products only)
 *   fp16, u = 2^-11:             2.9e-3 + the fp32 term (conv 2.9e-3)
 *   bf16, u = 2^-8:              2.3e-2 + the fp32 term (conv 2.3e-2)
 * Master-typed results (batch-norm statistics, SGD master weights and
 * velocity) are fp32 in every precision and get the fp32 tolerance.
 *
 * The stem convolution (1 input channel) may have no cuDNN backward-data
 * algorithm (deterministic or not); the model never needs the stem's input gradient,
 * so the backend fails only a call of it. For that case alone, and only when
 * the backend reports exactly that condition (helpers/cnn_op_cases.h,
 * bwd_data_optional), its forward and backward-filter are checked, "conv
 * dinp" is skipped with a note naming the case and the backend's message,
 * and the failed backend is replaced by a new one. The CPU suite checks all
 * three.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn_op_cases.h"
#include "gpu_suite.h"
#include "kernels/backend.h"

static const enum kn_precision precisions[] = { KN_FP32, KN_TF32, KN_FP16, KN_BF16 };
enum { NPREC = sizeof precisions / sizeof *precisions };

static void open_cuda(struct kn_backend *be, enum kn_precision p)
{
	int rc = kn_backend_open(be, "cuda", p, 0);
	ck_assert_msg(rc == KN_OK, "opening cuda %s: %s", kn_precision_name(p), kn_last_error());
}

/* After a run that skipped the stem's backward-data: the note, and a new backend
 * in place of the failed one (its error is sticky). Returns 1 when it skipped. */
static int after_skip(struct kn_backend *gpu, const struct cnn_io *io, const char *name)
{
	if (!io->bwd_data_skipped)
		return 0;
	printf("note: %s %s: conv dinp not checked, backward-data unavailable (the model never runs it "
	       "for this layer): %s\n",
	       name, kn_precision_name(gpu->precision), io->skip_note);
	fflush(stdout);
	enum kn_precision p = gpu->precision;
	kn_backend_release(gpu);
	open_cuda(gpu, p);
	return 1;
}

START_TEST(test_op_on_cuda)
{
	enum kn_precision p = precisions[_i / CNN_OP_NCASES];
	const char *pn = kn_precision_name(p), *name;
	struct kn_backend ref, gpu;
	struct cnn_io io;
	double *want[CNN_MAXRES];
	cnn_runner run = cnn_op_case(_i % CNN_OP_NCASES, &io, &name);
	open_cuda(&gpu, p);
	ck_assert_int_eq(kn_backend_open_reference(&ref), KN_OK);
	cnn_io_quantize(&gpu, &io);
	run(&ref, &io, 1);
	cnn_io_keep(&io, want);
	run(&gpu, &io, 1);
	int skipped = after_skip(&gpu, &io, name);
	ck_assert_msg(kn_sync(&gpu) == KN_OK, "%s %s: %s", name, pn, kn_last_error());
	ck_assert_int_gt(io.n_res, 0);
	for (int k = 0; k < io.n_res; k++) {
		if (cnn_res_skipped(&io, k)) {
			free(want[k]);
			continue;
		}
		double e = cnn_max_err(p, &io.res[k], io.res[k].x, want[k]);
		ck_assert_msg(e <= 1.0, "%s %s: %s differs from fp64 (%.3g x tolerance %.3g of its scale)", name, pn,
			      io.res[k].name, e, cnn_tolerance(p, &io.res[k]));
		free(want[k]);
	}
	for (int k = io.n_res; k < CNN_MAXRES; k++)
		free(want[k]);
	ck_assert(!skipped || cnn_is_conv(run));
	cnn_io_free(&io);
	kn_backend_release(&gpu);
	kn_backend_release(&ref);
}
END_TEST

/* conv2d_workspace_bytes answers for every case's shape, the same each time
 * and far below a card's memory (these layers are small); the ops then run
 * in exactly that many bytes (the runner's guard region behind them stays
 * untouched). */
START_TEST(test_conv_workspace)
{
	enum kn_precision p = precisions[_i];
	struct kn_backend gpu;
	open_cuda(&gpu, p);
	ck_assert_msg(gpu.ops->conv2d_workspace_bytes != NULL, "no conv2d_workspace_bytes");
	int convs = 0;
	for (int k = 0; k < CNN_OP_NCASES; k++) {
		struct cnn_io io;
		const char *name;
		cnn_runner run = cnn_op_case(k, &io, &name);
		if (cnn_is_conv(run)) {
			size_t a = gpu.ops->conv2d_workspace_bytes(&io.conv), b = gpu.ops->conv2d_workspace_bytes(&io.conv);
			ck_assert_msg(a == b, "%s: workspace %zu then %zu bytes", name, a, b);
			ck_assert_msg(a < ((size_t)4 << 30), "%s: workspace of %zu bytes", name, a);
			run(&gpu, &io, 1);
			ck_assert_msg(io.work_bytes == a, "%s: ran with %zu bytes, reported %zu", name, io.work_bytes, a);
			after_skip(&gpu, &io, name);
			convs++;
		}
		cnn_io_free(&io);
	}
	ck_assert_int_ge(convs, 10);
	ck_assert_msg(kn_sync(&gpu) == KN_OK, "%s", kn_last_error());
	kn_backend_release(&gpu);
}
END_TEST

/* Two runs on the same inputs give the same bits: every result of the
 * convolution (forward, backward-data, backward-filter) and batch-norm cases,
 * plus larger maps where a reduction spans many thread blocks. */
START_TEST(test_deterministic)
{
	enum kn_precision p = precisions[_i];
	const char *pn = kn_precision_name(p);
	struct kn_backend gpu;
	open_cuda(&gpu, p);
	enum { NEXTRA = 2 };
	for (int k = 0; k < CNN_OP_NCASES + NEXTRA; k++) {
		struct cnn_io io;
		const char *name;
		cnn_runner run;
		if (k == CNN_OP_NCASES) {
			name = "conv tiny 16->32 s2 28x28, 32 images";
			run = cnn_conv_case(&io, (struct kn_conv_shape){ 32, 28, 28, 16, 32, 3, 2, 1 }, 900);
		} else if (k == CNN_OP_NCASES + 1) {
			name = "batchnorm train + residual + relu, 32 images of 28x28x16";
			run = cnn_batchnorm_case(&io, 32 * 28 * 28, 16, 1, 1, 1, 910);
		} else {
			run = cnn_op_case(k, &io, &name);
		}
		if (!cnn_is_conv(run) && !cnn_is_batchnorm(run)) {
			cnn_io_free(&io);
			continue;
		}
		double *first[CNN_MAXRES];
		run(&gpu, &io, 1);
		int skipped = after_skip(&gpu, &io, name);
		cnn_io_keep(&io, first);
		run(&gpu, &io, 1);
		ck_assert_msg(after_skip(&gpu, &io, name) == skipped, "%s %s: backward-data ran once of two times", name,
			      pn);
		for (int r = 0; r < io.n_res; r++) {
			if (cnn_res_skipped(&io, r))
				continue;
			ck_assert_msg(first[r] && io.res[r].x, "%s %s: %s not fetched", name, pn, io.res[r].name);
			ck_assert_msg(memcmp(first[r], io.res[r].x, io.res[r].n * sizeof(double)) == 0,
				      "%s %s: %s differs between two runs", name, pn, io.res[r].name);
		}
		for (int r = 0; r < CNN_MAXRES; r++)
			free(first[r]);
		cnn_io_free(&io);
	}
	kn_backend_release(&gpu);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("gpu_cnn_ops");
	TCase *tc = tcase_create("ops");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_op_on_cuda, 0, NPREC * CNN_OP_NCASES);
	tcase_add_loop_test(tc, test_conv_workspace, 0, NPREC);
	tcase_add_loop_test(tc, test_deterministic, 0, NPREC);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return tu_gpu_suite_main("gpu_cnn_ops", suite); }
