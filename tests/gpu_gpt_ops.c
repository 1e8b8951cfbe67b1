/*
 * Every GPT op on CUDA against the fp64 CPU reference, in each precision;
 * outputs the op overwrites start as NaN, gradients it accumulates start
 * from a nonzero pattern (helpers/gpt_op_cases.h). The inputs are first
 * rounded to what the GPU stores (act-typed; the loss scale to float), so the
 * reference computes on exactly the GPU's operands and the tolerance covers
 * the op's own arithmetic only. AdamW, the cast to compute weights, zeroing
 * and the host reductions against the same formulas in double. Exits 77 only
 * when no GPU is present (helpers/gpu_suite.h).
 *
 * Tolerances (|cuda - fp64| <= atol + rtol |fp64|; the inputs and outputs are
 * of size 1), from the unit roundoff u of the act type, with room for the
 * few roundings to it an op's intermediates pass through and, in fp32, for
 * sums of up to a few hundred terms (16 sqrt(depth) u):
 *   fp32 (TF32 off, u = 2^-24 = 6.0e-8)      atol 1e-5, rtol 1e-5 (~170 u)
 *   tf32 (products of 11 bits, 2^-11 = 4.9e-4) atol 5e-3, rtol 5e-3 (~10 x 2^-11)
 *   fp16 (u = 2^-11 = 4.9e-4)                atol 1e-2, rtol 1e-2 (~20 u)
 *   bf16 (u = 2^-8  = 3.9e-3)                atol 6e-2, rtol 4e-2 (~15 u, 10 u)
 * fp16 results must be finite: the cases' values stay far inside its range
 * (|x| < 65504), so an inf is an overflow in the kernel, not in the data.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt_op_cases.h"
#include "gpu_suite.h"
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

/* x[0..n) rounded to be's act type, through an upload and download */
static void round_to_device(struct kn_backend *be, double *x, size_t n)
{
	if (!x || !n)
		return;
	void *p = tu_dev(be, x, n, 0);
	double *h = tu_host(be, p, n, 0);
	memcpy(x, h, n * sizeof *x);
	free(h);
	kn_free(be, p, n * be->act_bytes);
}

/* the fp64 results are finite and within fp16's range: the tolerance has a meaning */
static void check_reference(const char *name, const char *what, const double *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(isfinite(x[i]) && fabs(x[i]) < 65504, "%s: fp64 %s element %zu is %g", name, what, i, x[i]);
}

START_TEST(test_op_on_cuda)
{
	int prec = _i / GPT_OP_NCASES, k = _i % GPT_OP_NCASES;
	struct kn_backend ref, gpu;
	struct op_io io;
	const char *name;
	op_runner run = gpt_op_case(k, &io, &name);
	const char *pn = kn_precision_name(precisions[prec].p);
	int rc = kn_backend_open(&gpu, "cuda", precisions[prec].p, 0);
	ck_assert_msg(rc == KN_OK, "opening cuda: %s", kn_last_error());
	ck_assert_int_eq(kn_backend_open_reference(&ref), KN_OK);
	/* the operands as the GPU holds them */
	for (int i = 0; i < io.n_in; i++)
		round_to_device(&gpu, io.in[i], io.in_n[i]);
	round_to_device(&gpu, io.R, io.out_n);
	run(&ref, &io, 1);
	double *out = io.out, *grad[MAXIN] = { 0 };
	io.out = NULL;
	for (int i = 0; i < io.n_in; i++) {
		grad[i] = io.grad[i];
		io.grad[i] = NULL;
	}
	run(&gpu, &io, 1);
	ck_assert_msg(kn_sync(&gpu) == KN_OK, "%s %s: %s", name, pn, kn_last_error());
	ck_assert_msg(io.out_n > 0 && io.out && out, "%s %s: no forward output", name, pn);
	check_reference(name, "forward", out, io.out_n);
	double e = tu_max_err(io.out, out, io.out_n, precisions[prec].atol, precisions[prec].rtol);
	ck_assert_msg(e <= 1.0, "%s %s: forward differs from fp64 (%.3g x tolerance)", name, pn, e);
	for (int i = 0; i < io.n_in; i++) {
		ck_assert_msg(io.in_n[i] > 0 && io.grad[i] && grad[i], "%s %s: gradient %d not fetched", name, pn, i);
		check_reference(name, "gradient", grad[i], io.in_n[i]);
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

/* relative rounding of the act type: 0 where it is fp32 */
static double act_rtol(enum kn_precision p) { return p == KN_BF16 ? 1.0 / 256 : p == KN_FP16 ? 1.0 / 1024 : 0; }

/* AdamW (fp32 master and moments, act-typed gradient and compute copy) against
 * the update written out in double; master_to_compute as a rounding of master. */
START_TEST(test_adamw_on_cuda)
{
	enum kn_precision p = precisions[_i].p;
	const char *pn = kn_precision_name(p);
	struct kn_backend be;
	ck_assert_msg(kn_backend_open(&be, "cuda", p, 0) == KN_OK, "opening cuda: %s", kn_last_error());
	enum { N = 1000 };
	double x0[N], g0[N];
	tu_fill_uniform(x0, N, -1, 1, 30);
	tu_fill_uniform(g0, N, -0.5, 0.5, 31);
	void *w = tu_dev(&be, x0, N, 1), *m = tu_dev(&be, NULL, N, 1), *v = tu_dev(&be, NULL, N, 1);
	void *dg = tu_dev(&be, g0, N, 0), *cw = be.compute_aliases_master ? w : tu_dev(&be, NULL, N, 0);
	void *cast = tu_dev(&be, NULL, N, 0);
	/* the values as stored on the device: master fp32, gradient in the act type */
	double *ew = tu_host(&be, w, N, 1), *g = tu_host(&be, dg, N, 0);
	be.ops->master_to_compute(cast, w, N);
	double *got = tu_host(&be, cast, N, 0);
	ck_assert_msg(tu_max_err(got, ew, N, 1e-7, act_rtol(p)) <= 1.0, "%s: master_to_compute", pn);
	free(got);
	double lr = 0.01, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, scale = 0.5;
	double em[N] = { 0 }, ev[N] = { 0 };
	for (int t = 1; t <= 3; t++) {
		be.ops->adamw(w, cw, dg, m, v, N, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd, t, (float)scale);
		tu_adamw_reference(ew, em, ev, g, N, lr, b1, b2, eps, wd, t, scale);
	}
	ck_assert_msg(kn_sync(&be) == KN_OK, "%s: %s", pn, kn_last_error());
	double *gw = tu_host(&be, w, N, 1), *gc = tu_host(&be, cw, N, 0);
	/* fp32 arithmetic on values of size 1: a few float roundings per step */
	ck_assert_msg(tu_max_err(gw, ew, N, 1e-6, 1e-6) <= 1.0, "%s: adamw master weights", pn);
	ck_assert_msg(tu_max_err(gc, gw, N, 1e-7, act_rtol(p)) <= 1.0, "%s: adamw compute copy", pn);
	free(gw), free(gc), free(ew), free(g);
	kn_free(&be, w, 0), kn_free(&be, m, 0), kn_free(&be, v, 0), kn_free(&be, dg, 0), kn_free(&be, cast, 0);
	if (cw != w)
		kn_free(&be, cw, 0);
	kn_backend_release(&be);
}
END_TEST

/* sum_master and norm_squared against sums in double, bitwise repeatable; zero */
START_TEST(test_reductions_on_cuda)
{
	enum kn_precision p = precisions[_i].p;
	const char *pn = kn_precision_name(p);
	struct kn_backend be;
	ck_assert_msg(kn_backend_open(&be, "cuda", p, 0) == KN_OK, "opening cuda: %s", kn_last_error());
	enum { N = 100003 };
	double *x = malloc(N * sizeof *x);
	tu_fill_uniform(x, N, -1, 1, 32);
	void *xm = tu_dev(&be, x, N, 1), *xa = tu_dev(&be, x, N, 0);
	double *hm = tu_host(&be, xm, N, 1), *ha = tu_host(&be, xa, N, 0);
	double rs = 0, rq = 0, abs_s = 0;
	for (int i = 0; i < N; i++) {
		rs += hm[i];
		abs_s += fabs(hm[i]);
		rq += ha[i] * ha[i];
	}
	double s1 = be.ops->sum_master(xm, N), q1 = be.ops->norm_squared(xa, N);
	double s2 = be.ops->sum_master(xm, N), q2 = be.ops->norm_squared(xa, N);
	ck_assert_msg(kn_sync(&be) == KN_OK, "%s: %s", pn, kn_last_error());
	ck_assert_msg(fabs(s1 - rs) <= 1e-10 * abs_s, "%s: sum_master %.17g, expected %.17g", pn, s1, rs);
	ck_assert_msg(fabs(q1 - rq) <= 1e-10 * rq, "%s: norm_squared %.17g, expected %.17g", pn, q1, rq);
	ck_assert_msg(memcmp(&s1, &s2, sizeof s1) == 0 && memcmp(&q1, &q2, sizeof q1) == 0, "%s: not repeatable", pn);
	be.ops->zero(xa, N);
	double *z = tu_host(&be, xa, N, 0);
	for (int i = 0; i < N; i++)
		ck_assert_msg(z[i] == 0, "%s: zero left element %d at %g", pn, i, z[i]);
	free(z), free(hm), free(ha), free(x);
	kn_free(&be, xm, 0), kn_free(&be, xa, 0);
	kn_backend_release(&be);
}
END_TEST

/* One matmul shape with its bias first 256-byte aligned, then only 16-byte
 * aligned: cuBLASLt's heuristic reads the bias pointer's alignment, so an
 * algorithm chosen for the first must not be reused for the second. */
START_TEST(test_matmul_bias_alignment_on_cuda)
{
	enum kn_precision p = precisions[_i].p;
	const char *pn = kn_precision_name(p);
	struct kn_backend be;
	ck_assert_msg(kn_backend_open(&be, "cuda", p, 0) == KN_OK, "opening cuda: %s", kn_last_error());
	enum { N = 128, C = 32, OC = 256, PAD = 256 };
	size_t shift[] = { 0, 16 / be.act_bytes, 32 / be.act_bytes, 64 / be.act_bytes };
	double *x = malloc(N * C * sizeof *x), *w = malloc(OC * C * sizeof *w), *b = malloc((OC + PAD) * sizeof *b);
	tu_fill_uniform(x, N * C, -1, 1, 41);
	tu_fill_uniform(w, OC * C, -1, 1, 42);
	tu_fill_uniform(b, OC + PAD, -1, 1, 43);
	void *dx = tu_dev(&be, x, N * C, 0), *dw = tu_dev(&be, w, OC * C, 0), *db = tu_dev(&be, b, OC + PAD, 0);
	double *hx = tu_host(&be, dx, N * C, 0), *hw = tu_host(&be, dw, OC * C, 0), *hb = tu_host(&be, db, OC + PAD, 0);
	void *out = tu_dev(&be, NULL, N * OC, 0);
	double *ref = malloc(N * OC * sizeof *ref);
	for (size_t s = 0; s < sizeof shift / sizeof *shift; s++) {
		const double *bias = hb + shift[s];
		for (int n = 0; n < N; n++)
			for (int o = 0; o < OC; o++) {
				double acc = bias[o];
				for (int c = 0; c < C; c++)
					acc += hx[n * C + c] * hw[o * C + c];
				ref[n * OC + o] = acc;
			}
		be.ops->matmul_forward(out, dx, dw, (char *)db + shift[s] * be.act_bytes, N, C, OC);
		ck_assert_msg(kn_sync(&be) == KN_OK, "%s bias +%zu: %s", pn, shift[s], kn_last_error());
		double *got = tu_host(&be, out, N * OC, 0);
		double e = tu_max_err(got, ref, N * OC, 4 * precisions[_i].atol, 4 * precisions[_i].rtol);
		ck_assert_msg(e <= 1.0, "%s: bias at +%zu elements: %.3g x tolerance", pn, shift[s], e);
		free(got);
	}
	free(ref), free(x), free(w), free(b), free(hx), free(hw), free(hb);
	kn_free(&be, dx, 0), kn_free(&be, dw, 0), kn_free(&be, db, 0), kn_free(&be, out, 0);
	kn_backend_release(&be);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("gpu_gpt_ops");
	TCase *tc = tcase_create("ops");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_op_on_cuda, 0, NPREC * GPT_OP_NCASES);
	tcase_add_loop_test(tc, test_adamw_on_cuda, 0, NPREC);
	tcase_add_loop_test(tc, test_reductions_on_cuda, 0, NPREC);
	tcase_add_loop_test(tc, test_matmul_bias_alignment_on_cuda, 0, NPREC);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return tu_gpu_suite_main("gpu_gpt_ops", suite); }
