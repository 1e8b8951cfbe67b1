/*
 * Every GPT op's backward against central finite differences computed in
 * double on the fp64 reference backend, and every op's fp32 forward and
 * backward against the fp64 results on the same inputs.
 *
 * Tolerances (|a - b| <= atol + rtol * |b|):
 *   analytic fp64 vs finite differences (h = 1e-5): atol 1e-8, rtol 1e-6
 *   fp32 backend vs fp64 backend:                   atol 2e-5, rtol 2e-4
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "gpt_op_cases.h"
#include "testutil.h"

#define FD_H 1e-5
#define FD_ATOL 1e-8
#define FD_RTOL 1e-6
#define F32_ATOL 2e-5
#define F32_RTOL 2e-4
/* ---- the generic check ---- */

static double dot(const double *a, const double *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static void check_op(const char *name, op_runner run, struct op_io *io)
{
	struct kn_backend be64, be32;
	ck_assert_int_eq(kn_backend_open_reference(&be64), KN_OK);
	ck_assert_int_eq(kn_backend_open(&be32, "cpu", KN_FP32, 0), KN_OK);

	run(&be64, io, 1);
	double *out64 = io->out, *g64[MAXIN] = { 0 };
	io->out = NULL;
	for (int k = 0; k < io->n_in; k++) {
		g64[k] = io->grad[k];
		io->grad[k] = NULL;
	}
	/* finite differences: every element of small inputs, a strided sample of large ones */
	for (int k = 0; k < io->n_in; k++) {
		size_t n = io->in_n[k], stride = n > 600 ? n / 300 : 1;
		double *num = calloc(n, sizeof *num), *ana = calloc(n, sizeof *ana);
		size_t m = 0;
		for (size_t i = 0; i < n; i += stride, m++) {
			double save = io->in[k][i];
			io->in[k][i] = save + FD_H;
			run(&be64, io, 0);
			double lp = dot(io->out, io->R, io->out_n);
			io->in[k][i] = save - FD_H;
			run(&be64, io, 0);
			double lm = dot(io->out, io->R, io->out_n);
			io->in[k][i] = save;
			num[m] = (lp - lm) / (2 * FD_H);
			ana[m] = g64[k][i];
		}
		double err = tu_max_err(ana, num, m, FD_ATOL, FD_RTOL);
		ck_assert_msg(err <= 1.0, "%s: d/d(input %d) differs from finite differences (error %.3g x tolerance)", name,
			      k, err);
		free(num);
		free(ana);
	}
	/* fp32 against fp64 */
	run(&be32, io, 1);
	double err = tu_max_err(io->out, out64, io->out_n, F32_ATOL, F32_RTOL);
	ck_assert_msg(err <= 1.0, "%s: fp32 forward differs from fp64 (error %.3g x tolerance)", name, err);
	for (int k = 0; k < io->n_in; k++) {
		err = tu_max_err(io->grad[k], g64[k], io->in_n[k], F32_ATOL, F32_RTOL);
		ck_assert_msg(err <= 1.0, "%s: fp32 gradient %d differs from fp64 (error %.3g x tolerance)", name, k, err);
		free(io->grad[k]);
		free(g64[k]);
		io->grad[k] = NULL;
	}
	free(out64);
	free(io->out);
	io->out = NULL;
	kn_backend_release(&be64);
	kn_backend_release(&be32);
}

START_TEST(test_op_case)
{
	struct op_io io;
	const char *name;
	op_runner run = gpt_op_case(_i, &io, &name);
	check_op(name, run, &io);
	op_io_free(&io);
}
END_TEST

/* AdamW against the update rule written out in double. */
START_TEST(test_adamw)
{
	struct kn_backend be;
	ck_assert_int_eq(kn_backend_open_reference(&be), KN_OK);
	enum { N = 50 };
	double w0[N], g[N];
	tu_fill_uniform(w0, N, -1, 1, 20);
	tu_fill_uniform(g, N, -0.5, 0.5, 21);
	void *w = tu_dev(&be, w0, N, 1), *dg = tu_dev(&be, g, N, 0), *m = tu_dev(&be, NULL, N, 1), *v = tu_dev(&be, NULL, N, 1);
	double lr = 0.01, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, scale = 0.5;
	double em[N] = { 0 }, ev[N] = { 0 }, ew[N];
	memcpy(ew, w0, sizeof ew);
	for (int t = 1; t <= 3; t++) {
		be.ops->adamw(w, w, dg, m, v, N, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd, t, (float)scale);
		tu_adamw_reference(ew, em, ev, g, N, lr, b1, b2, eps, wd, t, scale);
	}
	double *got = tu_host(&be, w, N, 1);
	/* hyper-parameters pass through float: compare at float precision */
	ck_assert_double_le(tu_max_err(got, ew, N, 1e-7, 1e-6), 1.0);
	free(got);
	kn_free(&be, w, 0), kn_free(&be, dg, 0), kn_free(&be, m, 0), kn_free(&be, v, 0);
	kn_backend_release(&be);
}
END_TEST

/* Reductions are bitwise identical whatever the thread count. */
START_TEST(test_reductions_deterministic)
{
	struct kn_backend be;
	ck_assert_int_eq(kn_backend_open(&be, "cpu", KN_FP32, 0), KN_OK);
	enum { N = 100003 };
	double *x = malloc(N * sizeof *x);
	tu_fill_uniform(x, N, -1, 1, 22);
	void *d = tu_dev(&be, x, N, 0);
	double s1 = be.ops->norm_squared(d, N), m1 = be.ops->sum_master(d, N);
	double ref = 0;
	for (int i = 0; i < N; i++)
		ref += (double)(float)x[i] * (float)x[i];
	ck_assert_double_eq_tol(s1, ref, 1e-9 * ref);
	extern void omp_set_num_threads(int);
	omp_set_num_threads(1);
	double s2 = be.ops->norm_squared(d, N), m2 = be.ops->sum_master(d, N);
	omp_set_num_threads(2);
	ck_assert(memcmp(&s1, &s2, sizeof s1) == 0);
	ck_assert(memcmp(&m1, &m2, sizeof m1) == 0);
	kn_free(&be, d, 0);
	free(x);
	kn_backend_release(&be);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("gpt_ops");
	TCase *tc = tcase_create("ops");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_op_case, 0, GPT_OP_NCASES);
	tcase_add_test(tc, test_adamw);
	tcase_add_test(tc, test_reductions_deterministic);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return tu_run_suite(suite()); }
