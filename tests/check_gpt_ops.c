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
#include "testutil.h"

#define FD_H 1e-5
#define FD_ATOL 1e-8
#define FD_RTOL 1e-6
#define F32_ATOL 2e-5
#define F32_RTOL 2e-4
#define MAXIN 3

struct op_io {
	int n_in;
	double *in[MAXIN];
	size_t in_n[MAXIN];
	double *out;     /* forward output, malloc'd by the runner */
	size_t out_n;
	double *grad[MAXIN]; /* d(sum(out * R)) / d(in[k]), malloc'd by the runner */
	double *R;
	int out_master;
	/* shape */
	int B, T, C, OC, NH, V;
	int *tokens;     /* host ints for encoder / targets */
};

typedef void (*op_runner)(struct kn_backend *be, struct op_io *io, int backward);

static void *dev_ints(struct kn_backend *be, const int *src, size_t n)
{
	void *p;
	ck_assert_int_eq(kn_alloc(be, &p, n * sizeof(int)), KN_OK);
	memcpy(p, src, n * sizeof(int)); /* cpu backends: device memory is host memory */
	return p;
}

static void finish(struct kn_backend *be, struct op_io *io, void *out, void **in, void **grad, int backward)
{
	free(io->out);
	io->out = tu_host(be, out, io->out_n, io->out_master);
	for (int k = 0; k < io->n_in; k++) {
		if (backward && grad[k]) {
			free(io->grad[k]);
			io->grad[k] = tu_host(be, grad[k], io->in_n[k], 0);
		}
	}
	(void)in;
}

/* ---- runners: upload inputs, forward, optionally backward with dout = R ---- */

static void run_encoder(struct kn_backend *be, struct op_io *io, int backward)
{
	int B = io->B, T = io->T, C = io->C;
	void *wte = tu_dev(be, io->in[0], io->in_n[0], 0), *wpe = tu_dev(be, io->in[1], io->in_n[1], 0);
	void *tok = dev_ints(be, io->tokens, (size_t)B * T), *out = tu_dev(be, NULL, io->out_n, 0);
	void *g[2] = { NULL, NULL };
	be->ops->encoder_forward(out, tok, wte, wpe, B, T, C);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		g[0] = tu_dev(be, NULL, io->in_n[0], 0);
		g[1] = tu_dev(be, NULL, io->in_n[1], 0);
		be->ops->encoder_backward(g[0], g[1], dout, tok, B, T, C);
		kn_free(be, dout, 0);
	}
	finish(be, io, out, NULL, g, backward);
	kn_free(be, wte, 0), kn_free(be, wpe, 0), kn_free(be, tok, 0), kn_free(be, out, 0);
	kn_free(be, g[0], 0), kn_free(be, g[1], 0);
}

static void run_layernorm(struct kn_backend *be, struct op_io *io, int backward)
{
	int N = io->B * io->T, C = io->C;
	void *x = tu_dev(be, io->in[0], io->in_n[0], 0), *w = tu_dev(be, io->in[1], io->in_n[1], 0);
	void *b = tu_dev(be, io->in[2], io->in_n[2], 0), *out = tu_dev(be, NULL, io->out_n, 0);
	void *mean = tu_dev(be, NULL, N, 1), *rstd = tu_dev(be, NULL, N, 1);
	void *g[3] = { NULL, NULL, NULL };
	be->ops->layernorm_forward(out, mean, rstd, x, w, b, N, C);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		for (int k = 0; k < 3; k++)
			g[k] = tu_dev(be, NULL, io->in_n[k], 0);
		be->ops->layernorm_backward(g[0], g[1], g[2], dout, x, w, mean, rstd, N, C);
		kn_free(be, dout, 0);
	}
	finish(be, io, out, NULL, g, backward);
	kn_free(be, x, 0), kn_free(be, w, 0), kn_free(be, b, 0), kn_free(be, out, 0);
	kn_free(be, mean, 0), kn_free(be, rstd, 0);
	for (int k = 0; k < 3; k++)
		kn_free(be, g[k], 0);
}

static void run_matmul(struct kn_backend *be, struct op_io *io, int backward)
{
	int N = io->B * io->T, C = io->C, OC = io->OC;
	void *x = tu_dev(be, io->in[0], io->in_n[0], 0), *w = tu_dev(be, io->in[1], io->in_n[1], 0);
	void *b = io->n_in > 2 ? tu_dev(be, io->in[2], io->in_n[2], 0) : NULL;
	void *out = tu_dev(be, NULL, io->out_n, 0);
	void *g[3] = { NULL, NULL, NULL };
	be->ops->matmul_forward(out, x, w, b, N, C, OC);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		for (int k = 0; k < io->n_in; k++)
			g[k] = tu_dev(be, NULL, io->in_n[k], 0);
		be->ops->matmul_backward(g[0], g[1], g[2], dout, x, w, N, C, OC);
		kn_free(be, dout, 0);
	}
	finish(be, io, out, NULL, g, backward);
	kn_free(be, x, 0), kn_free(be, w, 0), kn_free(be, b, 0), kn_free(be, out, 0);
	for (int k = 0; k < 3; k++)
		kn_free(be, g[k], 0);
}

static void run_attention(struct kn_backend *be, struct op_io *io, int backward)
{
	int B = io->B, T = io->T, C = io->C, NH = io->NH;
	void *qkv = tu_dev(be, io->in[0], io->in_n[0], 0), *out = tu_dev(be, NULL, io->out_n, 0);
	void *att = tu_dev(be, NULL, (size_t)B * NH * T * T, 0);
	void *g[1] = { NULL };
	be->ops->attention_forward(out, att, qkv, B, T, C, NH);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		void *scratch = tu_dev(be, NULL, (size_t)B * NH * T * T, 0);
		/* poison: the dqkv contract is "overwrite", so stale values must not leak */
		double *poison = malloc(io->in_n[0] * sizeof *poison);
		for (size_t i = 0; i < io->in_n[0]; i++)
			poison[i] = 1e3;
		g[0] = tu_dev(be, poison, io->in_n[0], 0);
		free(poison);
		be->ops->attention_backward(g[0], scratch, dout, qkv, att, B, T, C, NH);
		kn_free(be, dout, 0), kn_free(be, scratch, 0);
	}
	finish(be, io, out, NULL, g, backward);
	kn_free(be, qkv, 0), kn_free(be, out, 0), kn_free(be, att, 0), kn_free(be, g[0], 0);
}

static void run_gelu(struct kn_backend *be, struct op_io *io, int backward)
{
	void *x = tu_dev(be, io->in[0], io->in_n[0], 0), *out = tu_dev(be, NULL, io->out_n, 0);
	void *g[1] = { NULL };
	be->ops->gelu_forward(out, x, io->out_n);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		g[0] = tu_dev(be, NULL, io->in_n[0], 0);
		be->ops->gelu_backward(g[0], x, dout, io->out_n);
		kn_free(be, dout, 0);
	}
	finish(be, io, out, NULL, g, backward);
	kn_free(be, x, 0), kn_free(be, out, 0), kn_free(be, g[0], 0);
}

/* residual_forward, with accumulate() as its backward */
static void run_residual(struct kn_backend *be, struct op_io *io, int backward)
{
	void *a = tu_dev(be, io->in[0], io->in_n[0], 0), *b = tu_dev(be, io->in[1], io->in_n[1], 0);
	void *out = tu_dev(be, NULL, io->out_n, 0);
	void *g[2] = { NULL, NULL };
	be->ops->residual_forward(out, a, b, io->out_n);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		g[0] = tu_dev(be, NULL, io->in_n[0], 0);
		g[1] = tu_dev(be, NULL, io->in_n[1], 0);
		be->ops->accumulate(g[0], dout, io->out_n);
		be->ops->accumulate(g[1], dout, io->out_n);
		kn_free(be, dout, 0);
	}
	finish(be, io, out, NULL, g, backward);
	kn_free(be, a, 0), kn_free(be, b, 0), kn_free(be, out, 0), kn_free(be, g[0], 0), kn_free(be, g[1], 0);
}

/* R is uniform (R[0]) for the fused loss: backward takes the scalar dloss */
static void run_crossentropy(struct kn_backend *be, struct op_io *io, int backward)
{
	int N = io->B * io->T, V = io->V;
	void *logits = tu_dev(be, io->in[0], io->in_n[0], 0), *losses = tu_dev(be, NULL, N, 1);
	void *tg = dev_ints(be, io->tokens, (size_t)N);
	void *g[1] = { NULL };
	be->ops->crossentropy_forward(losses, logits, tg, N, V);
	if (backward) {
		be->ops->crossentropy_backward(logits, tg, (float)io->R[0], N, V);
		g[0] = logits;
	}
	finish(be, io, losses, NULL, g, backward);
	kn_free(be, logits, 0), kn_free(be, losses, 0), kn_free(be, tg, 0);
}

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

static double *rnd(size_t n, double lo, double hi, uint64_t seed)
{
	double *x = malloc(n * sizeof *x);
	tu_fill_uniform(x, n, lo, hi, seed);
	return x;
}

static void io_free(struct op_io *io)
{
	for (int k = 0; k < io->n_in; k++)
		free(io->in[k]);
	free(io->R);
	free(io->tokens);
}

START_TEST(test_encoder)
{
	struct op_io io = { .B = 2, .T = 5, .C = 8, .V = 7, .n_in = 2 };
	io.in_n[0] = (size_t)io.V * io.C;
	io.in_n[1] = (size_t)io.T * io.C;
	io.in[0] = rnd(io.in_n[0], -1, 1, 1);
	io.in[1] = rnd(io.in_n[1], -1, 1, 2);
	io.out_n = (size_t)io.B * io.T * io.C;
	io.R = rnd(io.out_n, -1, 1, 3);
	io.tokens = malloc(sizeof(int) * io.B * io.T);
	for (int i = 0; i < io.B * io.T; i++)
		io.tokens[i] = (i * 3) % 4; /* repeated tokens exercise the accumulation */
	check_op("encoder", run_encoder, &io);
	io_free(&io);
}
END_TEST

START_TEST(test_layernorm)
{
	struct op_io io = { .B = 3, .T = 4, .C = 16, .n_in = 3 };
	size_t N = (size_t)io.B * io.T;
	io.in_n[0] = N * io.C;
	io.in_n[1] = io.in_n[2] = io.C;
	io.in[0] = rnd(io.in_n[0], -2, 2, 4);
	io.in[1] = rnd(io.C, 0.5, 1.5, 5);
	io.in[2] = rnd(io.C, -0.5, 0.5, 6);
	io.out_n = N * io.C;
	io.R = rnd(io.out_n, -1, 1, 7);
	check_op("layernorm", run_layernorm, &io);
	io_free(&io);
}
END_TEST

START_TEST(test_matmul)
{
	struct op_io io = { .B = 2, .T = 6, .C = 12, .OC = 20, .n_in = 3 };
	size_t N = (size_t)io.B * io.T;
	io.in_n[0] = N * io.C;
	io.in_n[1] = (size_t)io.OC * io.C;
	io.in_n[2] = io.OC;
	io.in[0] = rnd(io.in_n[0], -1, 1, 8);
	io.in[1] = rnd(io.in_n[1], -1, 1, 9);
	io.in[2] = rnd(io.in_n[2], -1, 1, 10);
	io.out_n = N * io.OC;
	io.R = rnd(io.out_n, -1, 1, 11);
	check_op("matmul", run_matmul, &io);
	io.n_in = 2; /* no bias, as the LM head */
	check_op("matmul (no bias)", run_matmul, &io);
	io.n_in = 3;
	io_free(&io);
}
END_TEST

START_TEST(test_attention)
{
	struct op_io io = { .B = 2, .T = 7, .C = 12, .NH = 3, .n_in = 1 };
	io.in_n[0] = (size_t)io.B * io.T * 3 * io.C;
	io.in[0] = rnd(io.in_n[0], -1.5, 1.5, 12);
	io.out_n = (size_t)io.B * io.T * io.C;
	io.R = rnd(io.out_n, -1, 1, 13);
	check_op("attention", run_attention, &io);
	io_free(&io);
}
END_TEST

START_TEST(test_gelu)
{
	struct op_io io = { .n_in = 1 };
	io.in_n[0] = io.out_n = 200;
	io.in[0] = rnd(200, -4, 4, 14);
	io.R = rnd(200, -1, 1, 15);
	check_op("gelu", run_gelu, &io);
	io_free(&io);
}
END_TEST

START_TEST(test_residual)
{
	struct op_io io = { .n_in = 2 };
	io.in_n[0] = io.in_n[1] = io.out_n = 64;
	io.in[0] = rnd(64, -1, 1, 16);
	io.in[1] = rnd(64, -1, 1, 17);
	io.R = rnd(64, -1, 1, 18);
	check_op("residual", run_residual, &io);
	io_free(&io);
}
END_TEST

START_TEST(test_crossentropy)
{
	struct op_io io = { .B = 2, .T = 5, .V = 11, .n_in = 1, .out_master = 1 };
	size_t N = (size_t)io.B * io.T;
	io.in_n[0] = N * io.V;
	io.in[0] = rnd(io.in_n[0], -3, 3, 19);
	io.out_n = N;
	io.R = malloc(N * sizeof *io.R);
	for (size_t i = 0; i < N; i++)
		io.R[i] = 0.37; /* the mean-loss scale */
	io.tokens = malloc(sizeof(int) * N);
	for (size_t i = 0; i < N; i++)
		io.tokens[i] = (int)((i * 5) % (size_t)io.V);
	check_op("crossentropy", run_crossentropy, &io);
	io_free(&io);
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
		for (int i = 0; i < N; i++) {
			double gi = g[i] * scale;
			em[i] = b1 * em[i] + (1 - b1) * gi;
			ev[i] = b2 * ev[i] + (1 - b2) * gi * gi;
			double mh = em[i] / (1 - pow(b1, t)), vh = ev[i] / (1 - pow(b2, t));
			ew[i] -= lr * (mh / (sqrt(vh) + eps) + wd * ew[i]);
		}
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
	double *x = rnd(N, -1, 1, 22);
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
	tcase_add_test(tc, test_encoder);
	tcase_add_test(tc, test_layernorm);
	tcase_add_test(tc, test_matmul);
	tcase_add_test(tc, test_attention);
	tcase_add_test(tc, test_gelu);
	tcase_add_test(tc, test_residual);
	tcase_add_test(tc, test_crossentropy);
	tcase_add_test(tc, test_adamw);
	tcase_add_test(tc, test_reductions_deterministic);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return tu_run_suite(suite()); }
