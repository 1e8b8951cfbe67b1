/*
 * The CNN ops: gradient checks against central finite differences on the fp64
 * reference backend, naive definitions of the forward passes, the overwrite /
 * accumulate contracts, fp32 against fp64 on the same inputs, and bitwise
 * determinism across thread counts.
 *
 * The shared cases (helpers/cnn_op_cases.c: every CNN op on small, odd and
 * the presets' real shapes, outputs poisoned, accumulated gradients offset)
 * also run on the fp32 backend against fp64 on the same fp32-rounded inputs,
 * to the per-result tolerance of cnn_tolerance() at fp32: 6 u + 16 sqrt(depth)
 * u for a result summing `depth` terms, u = 2^-24, relative to its scale.
 *
 * Tolerances: linear ops (conv, pool, FC) are checked exactly through the
 * adjoint identity <dout, f(x)> = <f^T(dout), x> to 1e-12 relative (conv:
 * 1e-11, as Winograd's transforms divide by 3 and 15: 1.1e-12 seen), and by
 * finite differences (h = 1e-4) to 1e-8; nonlinear ops (batch norm, loss,
 * ReLU away from 0) by finite differences with h = 1e-5 to 1e-6 relative to
 * max(1, |gradient|). fp32 ops agree with fp64 to 2e-4 of the output's scale.
 */
#include <check.h>

#include "cnn_op_cases.h"
#include "testutil.h"
#include <math.h>
#include <stdio.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "data_loader/rng.h"
#include "kernels/backend.h"
#include "kernels/cpu/winograd.h"

static struct kn_backend ref, f32;

static void setup(void)
{
	ck_assert_int_eq(kn_backend_open_reference(&ref), KN_OK);
	ck_assert_int_eq(kn_backend_open(&f32, "cpu", KN_FP32, 0), KN_OK);
}

static void teardown(void)
{
	kn_backend_release(&ref);
	kn_backend_release(&f32);
}

/* The reference backend's buffers are host doubles; tests index them directly. */
static double *dalloc(size_t n)
{
	double *p = calloc(n ? n : 1, sizeof *p);
	ck_assert_ptr_nonnull(p);
	return p;
}

static double *drandom(size_t n, uint64_t seed)
{
	double *p = dalloc(n);
	struct dl_rng r;
	dl_rng_init(&r, seed);
	for (size_t i = 0; i < n; i++)
		p[i] = 2 * dl_rng_uniform(&r) - 1;
	return p;
}

static double dot(const double *a, const double *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static float *to_f32(const double *x, size_t n)
{
	float *p = malloc((n ? n : 1) * sizeof *p);
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (float)x[i];
	return p;
}

static double max_abs(const double *x, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs(x[i]));
	return m;
}

/* |a - b| <= tol * scale for every element, with a message naming the first miss */
static void assert_close_f32(const char *what, const float *a, const double *b, size_t n, double tol)
{
	double scale = fmax(1e-30, max_abs(b, n));
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(fabs(a[i] - b[i]) <= tol * scale, "%s[%zu]: fp32 %.9g vs fp64 %.9g (scale %g)", what, i,
			      (double)a[i], b[i], scale);
}

static void assert_grad(const char *what, size_t i, double analytic, double numeric, double tol)
{
	ck_assert_msg(fabs(analytic - numeric) <= tol * fmax(1.0, fabs(numeric)),
		      "%s[%zu]: analytic %.12g vs finite difference %.12g", what, i, analytic, numeric);
}

/* ---- convolution ---- */

/* conv.c runs 3x3 stride-1 layers this wide through Winograd F(4x4, 3x3) (kernels/cpu/winograd.c);
 * the tests lower it to put small shapes through that path, or raise it to compare with im2col. */
static void set_winograd_min_channels(int c) { kn_cpu32_winograd_min_channels = kn_cpu64_winograd_min_channels = c; }

static size_t in_elems(const struct kn_conv_shape *s) { return (size_t)s->N * s->H * s->W * s->C; }
static size_t w_elems(const struct kn_conv_shape *s) { return (size_t)s->OC * s->K * s->K * s->C; }
static size_t out_elems(const struct kn_conv_shape *s)
{
	return (size_t)s->N * kn_conv_out_dim(s->H, s->K, s->stride, s->pad) *
	       kn_conv_out_dim(s->W, s->K, s->stride, s->pad) * s->OC;
}

/* The definition, straight from NHWC indices. */
static void naive_conv(double *out, const double *x, const double *w, const struct kn_conv_shape *s)
{
	int OH = kn_conv_out_dim(s->H, s->K, s->stride, s->pad), OW = kn_conv_out_dim(s->W, s->K, s->stride, s->pad);
	for (int n = 0; n < s->N; n++)
		for (int oy = 0; oy < OH; oy++)
			for (int ox = 0; ox < OW; ox++)
				for (int o = 0; o < s->OC; o++) {
					double acc = 0;
					for (int ky = 0; ky < s->K; ky++)
						for (int kx = 0; kx < s->K; kx++) {
							int iy = oy * s->stride - s->pad + ky, ix = ox * s->stride - s->pad + kx;
							if (iy < 0 || iy >= s->H || ix < 0 || ix >= s->W)
								continue;
							for (int c = 0; c < s->C; c++)
								acc += x[(((size_t)n * s->H + iy) * s->W + ix) * s->C + c] *
								       w[(((size_t)o * s->K + ky) * s->K + kx) * s->C + c];
						}
					out[(((size_t)n * OH + oy) * OW + ox) * s->OC + o] = acc;
				}
}

static void *workspace(struct kn_backend *be, const struct kn_conv_shape *s)
{
	void *p = malloc(be->ops->conv2d_workspace_bytes(s));
	ck_assert_ptr_nonnull(p);
	return p;
}

static void check_conv(struct kn_conv_shape s, int finite_differences)
{
	const struct kn_ops *op = ref.ops;
	size_t ni = in_elems(&s), nw = w_elems(&s), no = out_elems(&s);
	double *x = drandom(ni, 1), *w = drandom(nw, 2), *dout = drandom(no, 3);
	double *out = dalloc(no), *want = dalloc(no), *dx = drandom(ni, 4), *dw = dalloc(nw), *dw0 = drandom(nw, 5);
	void *work = workspace(&ref, &s);
	op->conv2d_forward(out, x, w, work, &s);
	naive_conv(want, x, w, &s);
	for (size_t i = 0; i < no; i++)
		ck_assert_msg(fabs(out[i] - want[i]) <= 1e-12 * fmax(1, fabs(want[i])), "conv out[%zu] %.15g vs %.15g", i,
			      out[i], want[i]);
	/* dinp is overwritten (it held noise); dweight accumulates onto dw0 */
	op->conv2d_backward_data(dx, dout, w, work, &s);
	memcpy(dw, dw0, nw * sizeof *dw);
	op->conv2d_backward_filter(dw, dout, x, work, &s);
	for (size_t i = 0; i < nw; i++)
		dw[i] -= dw0[i];
	double lhs = dot(dout, out, no);
	ck_assert_msg(fabs(dot(dx, x, ni) - lhs) <= 1e-11 * fmax(1, fabs(lhs)), "conv adjoint (data): %.15g vs %.15g",
		      dot(dx, x, ni), lhs);
	ck_assert_msg(fabs(dot(dw, w, nw) - lhs) <= 1e-11 * fmax(1, fabs(lhs)), "conv adjoint (filter): %.15g vs %.15g",
		      dot(dw, w, nw), lhs);
	if (finite_differences) {
		const double h = 1e-4;
		for (size_t i = 0; i < ni + nw; i++) {
			double *p = i < ni ? &x[i] : &w[i - ni], save = *p, lp, lm;
			*p = save + h;
			op->conv2d_forward(out, x, w, work, &s);
			lp = dot(dout, out, no);
			*p = save - h;
			op->conv2d_forward(out, x, w, work, &s);
			lm = dot(dout, out, no);
			*p = save;
			assert_grad(i < ni ? "conv dinp" : "conv dweight", i < ni ? i : i - ni, i < ni ? dx[i] : dw[i - ni],
				    (lp - lm) / (2 * h), 1e-8);
		}
	}
	free(x), free(w), free(dout), free(out), free(want), free(dx), free(dw), free(dw0), free(work);
}

START_TEST(conv_stride1_pad1)
{
	check_conv((struct kn_conv_shape){ 2, 5, 6, 3, 4, 3, 1, 1 }, 1);
}
END_TEST

START_TEST(conv_stride2_pad1)
{
	check_conv((struct kn_conv_shape){ 2, 7, 6, 2, 3, 3, 2, 1 }, 1);
}
END_TEST

START_TEST(conv_1x1_stride2)
{
	check_conv((struct kn_conv_shape){ 3, 5, 5, 3, 2, 1, 2, 0 }, 1);
}
END_TEST

/* Larger shapes through every path of conv.c: many row tiles (of the wide
 * size: 20 28x28 images have rows for 16 of them) and filter slots (16
 * channels), several workspace chunks (28x28x64 images are 9 to a chunk), the
 * column-tiled filter gradient of wide layers (128 -> 256 channels: 9 column
 * blocks, output channels split in 2; 100 -> 200: ragged column and channel
 * blocks) and the stem's single input channel. Run by im2col (the 3x3 stride-1 ones would
 * otherwise go to Winograd), then as conv.c chooses. */
START_TEST(conv_large_shapes)
{
	set_winograd_min_channels(_i ? 16 : 1 << 30);
	check_conv((struct kn_conv_shape){ 20, 28, 28, 16, 8, 3, 1, 1 }, 0);
	check_conv((struct kn_conv_shape){ 20, 28, 28, 16, 8, 3, 2, 1 }, 0);
	check_conv((struct kn_conv_shape){ 10, 28, 28, 64, 4, 3, 1, 1 }, 0);
	check_conv((struct kn_conv_shape){ 2, 4, 4, 128, 256, 3, 1, 1 }, 0);
	check_conv((struct kn_conv_shape){ 2, 5, 5, 100, 200, 3, 1, 1 }, 0);
	check_conv((struct kn_conv_shape){ 6, 28, 28, 1, 16, 3, 1, 1 }, 0); /* the stem */
	set_winograd_min_channels(16);
}
END_TEST

/* ---- batch norm ---- */

/* sum(R * act(bn(x) + res)); res NULL and relu 0 for plain batch norm */
static double bn_loss(const double *x, const double *g, const double *b, const double *res, int relu, const double *R,
		      int M, int C, double *out)
{
	double mean[8], rstd[8], rm[8] = { 0 }, rv[8] = { 0 };
	ref.ops->batchnorm_forward(out, mean, rstd, rm, rv, x, g, b, res, relu, M, C, 1, 0.1f);
	return dot(out, R, (size_t)M * C);
}

/* Training-mode batch norm, plain and fused with a residual add and a ReLU
 * (whose mask batchnorm_backward applies from the forward's output). */
static void check_batchnorm(int fused)
{
	const int M = 18, C = 3;
	size_t n = (size_t)M * C;
	double *x = drandom(n, 11), *g = drandom(C, 12), *b = drandom(C, 13), *R = drandom(n, 14), *out = dalloc(n);
	double *res = fused ? drandom(n, 16) : NULL;
	double mean[3], rstd[3], rm[3] = { 0 }, rv[3] = { 1, 1, 1 };
	double *dx = drandom(n, 15), dg[3] = { 0.5, 0.5, 0.5 }, db[3] = { -1, -1, -1 };
	for (size_t i = 0; i < n; i++)
		x[i] = 3 * x[i] + 2; /* a mean and spread far from the normalised ones */
	ref.ops->batchnorm_forward(out, mean, rstd, rm, rv, x, g, b, res, fused, M, C, 1, 0.1f);
	ref.ops->batchnorm_backward(dx, dg, db, R, fused ? out : NULL, x, g, mean, rstd, M, C);
	const double h = 1e-5;
	for (size_t i = 0; i < n + 2 * C; i++) {
		double *p = i < n ? &x[i] : i < n + C ? &g[i - n] : &b[i - n - C], save = *p;
		*p = save + h;
		double lp = bn_loss(x, g, b, res, fused, R, M, C, out);
		*p = save - h;
		double lm = bn_loss(x, g, b, res, fused, R, M, C, out);
		*p = save;
		double num = (lp - lm) / (2 * h);
		if (i < n)
			assert_grad("bn dinp", i, dx[i], num, 1e-6);
		else if (i < n + C)
			assert_grad("bn dweight (+0.5 start)", i - n, dg[i - n] - 0.5, num, 1e-6);
		else
			assert_grad("bn dbias (-1 start)", i - n - C, db[i - n - C] + 1, num, 1e-6);
	}
	if (fused) {
		int zeros = 0;
		for (size_t i = 0; i < n; i++)
			zeros += out[i] == 0;
		ck_assert_msg(zeros > 0 && zeros < (int)n, "the ReLU should cut some outputs, cut %d of %zu", zeros, n);
	}
	free(x), free(g), free(b), free(R), free(out), free(dx), free(res);
}

START_TEST(batchnorm_gradients)
{
	check_batchnorm(0);
	check_batchnorm(1);
}
END_TEST

/* Statistics over many chunks match a naive two-pass in double; running
 * statistics follow PyTorch; eval mode normalises with them. */
START_TEST(batchnorm_statistics_and_eval)
{
	const int M = 5003, C = 4;
	size_t n = (size_t)M * C;
	double *x = drandom(n, 21), *out = dalloc(n), g[4] = { 1, 2, 0.5, 1 }, b[4] = { 0, 1, -1, 0.25 };
	double mean[4], rstd[4], rm[4] = { 0.5, 0.5, 0.5, 0.5 }, rv[4] = { 2, 2, 2, 2 };
	for (size_t i = 0; i < n; i++)
		x[i] = 100 + (i % C + 1) * x[i]; /* large mean: sum-of-squares would cancel */
	ref.ops->batchnorm_forward(out, mean, rstd, rm, rv, x, g, b, NULL, 0, M, C, 1, 0.1f);
	for (int c = 0; c < C; c++) {
		double s = 0, ss = 0;
		for (int r = 0; r < M; r++)
			s += x[(size_t)r * C + c];
		double mu = s / M;
		for (int r = 0; r < M; r++)
			ss += (x[(size_t)r * C + c] - mu) * (x[(size_t)r * C + c] - mu);
		ck_assert_double_eq_tol(mean[c], mu, 1e-12);
		ck_assert_double_eq_tol(rstd[c], 1 / sqrt(ss / M + 1e-5), 1e-12);
		double mom = 0.1f; /* the op takes momentum as a float */
		ck_assert_double_eq_tol(rm[c], (1 - mom) * 0.5 + mom * mu, 1e-12);
		ck_assert_double_eq_tol(rv[c], (1 - mom) * 2 + mom * ss / (M - 1), 1e-12);
		ck_assert_double_eq_tol(out[c], (x[c] - mu) / sqrt(ss / M + 1e-5) * g[c] + b[c], 1e-12);
	}
	double rm2[4], rv2[4];
	memcpy(rm2, rm, sizeof rm);
	memcpy(rv2, rv, sizeof rv);
	ref.ops->batchnorm_forward(out, mean, rstd, rm, rv, x, g, b, NULL, 0, M, C, 0, 0.1f);
	for (int c = 0; c < C; c++) {
		ck_assert_msg(rm[c] == rm2[c] && rv[c] == rv2[c], "eval mode moved the running statistics");
		ck_assert_double_eq_tol(out[C + c], (x[C + c] - rm[c]) / sqrt(rv[c] + 1e-5) * g[c] + b[c], 1e-12);
	}
	free(x), free(out);
}
END_TEST

/* ---- ReLU, pooling, FC, loss ---- */

START_TEST(relu_and_pool_gradients)
{
	const int N = 2, HW = 6, C = 3;
	size_t n = (size_t)N * HW * C;
	double *x = drandom(n, 31), *y = dalloc(n), *d = drandom(n, 32), *dx = drandom(n, 33);
	for (size_t i = 0; i < n; i++)
		if (fabs(x[i]) < 0.05)
			x[i] = 0.5; /* keep finite differences off the kink */
	ref.ops->relu_forward(y, x, n);
	ref.ops->relu_backward(dx, y, d, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_double_eq(y[i], x[i] > 0 ? x[i] : 0);
		ck_assert_double_eq(dx[i], x[i] > 0 ? d[i] : 0);
	}
	double pooled[6], dp[6], *dpx = drandom(n, 34);
	double *R = drandom((size_t)N * C, 35);
	ref.ops->avgpool_forward(pooled, x, N, HW, C);
	for (int b = 0; b < N; b++)
		for (int c = 0; c < C; c++) {
			double s = 0;
			for (int p = 0; p < HW; p++)
				s += x[((size_t)b * HW + p) * C + c];
			ck_assert_double_eq_tol(pooled[b * C + c], s / HW, 1e-15);
		}
	ref.ops->avgpool_backward(dpx, R, N, HW, C);
	const double h = 1e-4;
	for (size_t i = 0; i < n; i++) {
		double save = x[i];
		x[i] = save + h;
		ref.ops->avgpool_forward(dp, x, N, HW, C);
		double lp = dot(dp, R, (size_t)N * C);
		x[i] = save - h;
		ref.ops->avgpool_forward(dp, x, N, HW, C);
		double lm = dot(dp, R, (size_t)N * C);
		x[i] = save;
		assert_grad("avgpool dinp", i, dpx[i], (lp - lm) / (2 * h), 1e-8);
	}
	free(x), free(y), free(d), free(dx), free(dpx), free(R);
}
END_TEST

/* mean cross-entropy of an FC layer's logits: the head of the CNN */
static double head_loss(const double *x, const double *w, const double *b, const int *t, int N, int C, int V)
{
	double logits[64], losses[8];
	ref.ops->matmul_forward(logits, x, w, b, N, C, V);
	ref.ops->crossentropy_forward(losses, logits, t, N, V);
	return ref.ops->sum_master(losses, (size_t)N) / N;
}

START_TEST(fc_and_loss_gradients)
{
	const int N = 4, C = 5, V = 6;
	int t[4] = { 0, 5, 2, 2 };
	double *x = drandom((size_t)N * C, 41), *w = drandom((size_t)V * C, 42), *b = drandom(V, 43);
	double logits[24], losses[4], dx[20], *dw = dalloc((size_t)V * C), db[6] = { 0 };
	ref.ops->matmul_forward(logits, x, w, b, N, C, V);
	ref.ops->crossentropy_forward(losses, logits, t, N, V);
	ref.ops->crossentropy_backward(logits, t, 1.0f / N, N, V);
	ref.ops->matmul_backward(dx, dw, db, logits, x, w, N, C, V);
	const double h = 1e-5;
	size_t nx = (size_t)N * C, nw = (size_t)V * C;
	for (size_t i = 0; i < nx + nw + V; i++) {
		double *p = i < nx ? &x[i] : i < nx + nw ? &w[i - nx] : &b[i - nx - nw], save = *p;
		*p = save + h;
		double lp = head_loss(x, w, b, t, N, C, V);
		*p = save - h;
		double lm = head_loss(x, w, b, t, N, C, V);
		*p = save;
		double num = (lp - lm) / (2 * h);
		double an = i < nx ? dx[i] : i < nx + nw ? dw[i - nx] : db[i - nx - nw];
		assert_grad(i < nx ? "fc dinp" : i < nx + nw ? "fc dweight" : "fc dbias", i, an, num, 1e-6);
	}
	free(x), free(w), free(b), free(dw);
}
END_TEST

START_TEST(count_correct_and_sgd)
{
	double probs[12] = { 0.1, 0.7, 0.2, 0.5, 0.25, 0.25, 0.3, 0.3, 0.4, 0.4, 0.4, 0.2 };
	int t[4] = { 1, 0, 1, 1 }; /* right, right, wrong, wrong (tie goes to the first) */
	ck_assert_int_eq(ref.ops->count_correct(probs, t, 4, 3), 2);
	t[3] = 0;
	ck_assert_int_eq(ref.ops->count_correct(probs, t, 4, 3), 3);
	double w[2] = { 1.0, -2.0 }, g[2] = { 0.5, 0.25 }, vel[2] = { 0.1, 0.0 };
	ref.ops->sgd(w, w, g, vel, 2, 0.1f, 0.9f, 0.01f, 2.0f);
	/* g' = 2 g + 0.01 w; v = 0.9 v + g'; w -= 0.1 v */
	double v0 = 0.9 * 0.1 + (1.0 + 0.01), v1 = 0.5 + 0.01 * -2.0;
	ck_assert_double_eq_tol(vel[0], v0, 1e-7);
	ck_assert_double_eq_tol(vel[1], v1, 1e-7);
	ck_assert_double_eq_tol(w[0], 1.0 - 0.1 * v0, 1e-7);
	ck_assert_double_eq_tol(w[1], -2.0 - 0.1 * v1, 1e-7);
}
END_TEST

START_TEST(image_to_nhwc_layout)
{
	float img[2 * 3 * 2 * 2];
	for (int i = 0; i < 24; i++)
		img[i] = (float)i;
	double out[24];
	ref.ops->image_to_nhwc(out, img, 2, 3, 2, 2);
	/* out[n, y, x, c] = img[n, c, y, x] */
	for (int n = 0; n < 2; n++)
		for (int p = 0; p < 4; p++)
			for (int c = 0; c < 3; c++)
				ck_assert_double_eq(out[(n * 4 + p) * 3 + c], img[(n * 3 + c) * 4 + p]);
}
END_TEST

/* ---- fp32 against fp64 on the same inputs ---- */

START_TEST(fp32_matches_fp64)
{
	struct kn_conv_shape s = { 4, 9, 9, 8, 16, 3, 2, 1 };
	size_t ni = in_elems(&s), nw = w_elems(&s), no = out_elems(&s);
	int M = (int)(no / s.OC), C = s.OC;
	double *x = drandom(ni, 51), *w = drandom(nw, 52), *dout = drandom(no, 53);
	double *o64 = dalloc(no), *bn64 = dalloc(no), *dx64 = dalloc(ni), *dw64 = dalloc(nw), *dbn64 = dalloc(no);
	double g64[16], b64[16], mean64[16], rstd64[16], rm64[16] = { 0 }, rv64[16] = { 0 }, dg64[16] = { 0 }, db64[16] = { 0 };
	for (int c = 0; c < C; c++)
		g64[c] = 1 + 0.1 * c, b64[c] = 0.05 * c;
	float *xf = to_f32(x, ni), *wf = to_f32(w, nw), *doutf = to_f32(dout, no), *gf = to_f32(g64, C), *bf = to_f32(b64, C);
	float *of = calloc(no, 4), *bnf = calloc(no, 4), *dxf = calloc(ni, 4), *dwf = calloc(nw, 4), *dbnf = calloc(no, 4);
	float meanf[16], rstdf[16], rmf[16] = { 0 }, rvf[16] = { 0 }, dgf[16] = { 0 }, dbf[16] = { 0 };
	ck_assert(of && bnf && dxf && dwf && dbnf);
	void *w64 = workspace(&ref, &s), *w32 = workspace(&f32, &s);

	ref.ops->conv2d_forward(o64, x, w, w64, &s);
	ref.ops->batchnorm_forward(bn64, mean64, rstd64, rm64, rv64, o64, g64, b64, NULL, 1, M, C, 1, 0.1f);
	ref.ops->batchnorm_backward(dbn64, dg64, db64, dout, bn64, o64, g64, mean64, rstd64, M, C);
	ref.ops->conv2d_backward_data(dx64, dbn64, w, w64, &s);
	ref.ops->conv2d_backward_filter(dw64, dbn64, x, w64, &s);
	f32.ops->conv2d_forward(of, xf, wf, w32, &s);
	f32.ops->batchnorm_forward(bnf, meanf, rstdf, rmf, rvf, of, gf, bf, NULL, 1, M, C, 1, 0.1f);
	f32.ops->batchnorm_backward(dbnf, dgf, dbf, doutf, bnf, of, gf, meanf, rstdf, M, C);
	f32.ops->conv2d_backward_data(dxf, dbnf, wf, w32, &s);
	f32.ops->conv2d_backward_filter(dwf, dbnf, xf, w32, &s);

	assert_close_f32("conv out", of, o64, no, 2e-5);
	assert_close_f32("bn out", bnf, bn64, no, 2e-5);
	assert_close_f32("bn dinp", dbnf, dbn64, no, 2e-4);
	assert_close_f32("bn dweight", dgf, dg64, C, 2e-4);
	assert_close_f32("bn dbias", dbf, db64, C, 2e-4);
	assert_close_f32("conv dinp", dxf, dx64, ni, 2e-4);
	assert_close_f32("conv dweight", dwf, dw64, nw, 2e-4);
	free(x), free(w), free(dout), free(o64), free(bn64), free(dx64), free(dw64), free(dbn64);
	free(xf), free(wf), free(doutf), free(gf), free(bf), free(of), free(bnf), free(dxf), free(dwf), free(dbnf);
	free(w64), free(w32);
}
END_TEST

/* Every shared case: fp32 against fp64 on the same (fp32) inputs. */
START_TEST(shared_cases_fp32_match_fp64)
{
	struct cnn_io io;
	const char *name;
	double *want[CNN_MAXRES];
	cnn_runner run = cnn_op_case(_i, &io, &name);
	cnn_io_quantize(&f32, &io);
	run(&ref, &io, 1);
	cnn_io_keep(&io, want);
	run(&f32, &io, 1);
	ck_assert_int_gt(io.n_res, 0);
	ck_assert_msg(!io.bwd_data_skipped, "%s: backward-data skipped on the cpu", name);
	for (int k = 0; k < io.n_res; k++) {
		double e = cnn_max_err(KN_FP32, &io.res[k], io.res[k].x, want[k]);
		ck_assert_msg(e <= 1.0, "%s: fp32 %s differs from fp64 (%.3g x tolerance %.3g)", name, io.res[k].name, e,
			      cnn_tolerance(KN_FP32, &io.res[k]));
		free(want[k]);
	}
	cnn_io_free(&io);
}
END_TEST

/* ---- Winograd ---- */

/* The Winograd path on shapes small enough for finite differences: odd sides (tiles that cross
 * the map's edge), one pixel, channels that fill no vector; then at its real threshold, over three
 * chunks of images. Exact in fp64 as im2col: to 1e-12 against the definition, 1e-11 through the
 * adjoint identities. */
START_TEST(winograd_gradients)
{
	set_winograd_min_channels(1);
	check_conv((struct kn_conv_shape){ 2, 5, 6, 3, 4, 3, 1, 1 }, 1);
	check_conv((struct kn_conv_shape){ 3, 1, 1, 2, 3, 3, 1, 1 }, 1);
	check_conv((struct kn_conv_shape){ 1, 4, 3, 5, 2, 3, 1, 1 }, 1);
	check_conv((struct kn_conv_shape){ 7, 9, 7, 17, 33, 3, 1, 1 }, 0);
	set_winograd_min_channels(16);
	check_conv((struct kn_conv_shape){ 40, 17, 19, 130, 150, 3, 1, 1 }, 0); /* three chunks of images (16, 16, 8), channel blocks of 64, 64 and 2 */
}
END_TEST

/* largest |a - b| over the largest |b| */
static double rel_err(const float *a, const double *b, size_t n)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e = fmax(e, fabs(a[i] - b[i]));
	return e / fmax(1e-30, max_abs(b, n));
}

/* fp32 Winograd's error against fp64 on the resnet's Winograd shapes (and a ragged one over
 * three chunks of images), next to fp32 im2col's on the same inputs: F(4x4, 3x3)'s transforms
 * round more (coefficients from 1/15 to 8). Bound, relative to the result's scale: at most 32x
 * im2col's error and 2e-5 (measured: up to 12x, 4.8e-6; with the usual points 0, +-1, +-2, 30x
 * and 1.2e-5, which this bound fails). */
START_TEST(winograd_fp32_accuracy_near_im2col)
{
	static const struct kn_conv_shape shapes[] = {
		{ 4, 14, 14, 128, 128, 3, 1, 1 }, { 8, 7, 7, 256, 256, 3, 1, 1 }, { 16, 4, 4, 512, 512, 3, 1, 1 },
		{ 40, 17, 19, 130, 150, 3, 1, 1 },
	};
	static const char *what[] = { "forward", "data gradient", "filter gradient" };
	for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
		struct kn_conv_shape s = shapes[k];
		size_t ni = in_elems(&s), nw = w_elems(&s), no = out_elems(&s), n[3] = { no, ni, nw };
		double *x = drandom(ni, 81 + k), *w = drandom(nw, 91 + k), *d = drandom(no, 101 + k), *want[3];
		float *xf = to_f32(x, ni), *wf = to_f32(w, nw), *df = to_f32(d, no), *got[3];
		for (size_t i = 0; i < ni; i++)
			x[i] = xf[i];
		for (size_t i = 0; i < nw; i++)
			w[i] = wf[i];
		for (size_t i = 0; i < no; i++)
			d[i] = df[i];
		for (int r = 0; r < 3; r++) {
			want[r] = dalloc(n[r]), got[r] = calloc(n[r], 4);
			ck_assert_ptr_nonnull(got[r]);
		}
		set_winograd_min_channels(1 << 30); /* the reference by im2col */
		void *w64 = workspace(&ref, &s);
		ref.ops->conv2d_forward(want[0], x, w, w64, &s);
		ref.ops->conv2d_backward_data(want[1], d, w, w64, &s);
		ref.ops->conv2d_backward_filter(want[2], d, x, w64, &s);
		double err[2][3]; /* [im2col, Winograd][pass] */
		for (int path = 0; path < 2; path++) {
			set_winograd_min_channels(path ? 16 : 1 << 30);
			void *work = workspace(&f32, &s);
			memset(got[2], 0, nw * 4);
			f32.ops->conv2d_forward(got[0], xf, wf, work, &s);
			f32.ops->conv2d_backward_data(got[1], df, wf, work, &s);
			f32.ops->conv2d_backward_filter(got[2], df, xf, work, &s);
			for (int r = 0; r < 3; r++)
				err[path][r] = rel_err(got[r], want[r], n[r]);
			free(work);
		}
		for (int r = 0; r < 3; r++) {
			printf("winograd %dx%dx%d->%d n%d %s: fp32 error %.2e, im2col %.2e\n", s.H, s.W, s.C, s.OC, s.N,
			       what[r], err[1][r], err[0][r]);
			ck_assert_msg(err[1][r] <= fmax(32 * err[0][r], 1e-6) && err[1][r] <= 2e-5,
				      "shape %zu %s: winograd fp32 error %.3g, im2col %.3g", k, what[r], err[1][r], err[0][r]);
			free(want[r]), free(got[r]);
		}
		free(x), free(w), free(d), free(xf), free(wf), free(df), free(w64);
	}
	set_winograd_min_channels(16);
}
END_TEST

/* ---- determinism across thread counts ---- */

START_TEST(reductions_ignore_thread_count)
{
	struct kn_conv_shape s = { 20, 28, 28, 16, 16, 3, 1, 1 };
	size_t ni = in_elems(&s), nw = w_elems(&s), no = out_elems(&s);
	int M = (int)(no / s.OC);
	double *x64 = drandom(ni, 61), *d64 = drandom(no, 62);
	float *x = to_f32(x64, ni), *d = to_f32(d64, no), *res[2][3];
	float g[16], b[16];
	for (int c = 0; c < 16; c++)
		g[c] = 1, b[c] = 0;
	void *work = workspace(&f32, &s);
	int max_threads = omp_get_max_threads();
	for (int run = 0; run < 2; run++) {
		omp_set_num_threads(run == 0 ? 1 : (max_threads > 1 ? max_threads : 2));
		float *dw = calloc(nw, 4), *out = calloc(no, 4), *dx = calloc(no, 4), mean[16], rstd[16], rm[16] = { 0 },
		      rv[16] = { 0 }, dg[16] = { 0 }, db[16] = { 0 };
		ck_assert(dw && out && dx);
		f32.ops->conv2d_backward_filter(dw, d, x, work, &s);
		f32.ops->batchnorm_forward(out, mean, rstd, rm, rv, x, g, b, NULL, 0, M, 16, 1, 0.1f);
		f32.ops->batchnorm_backward(dx, dg, db, d, NULL, x, g, mean, rstd, M, 16);
		res[run][0] = dw, res[run][1] = out, res[run][2] = dx;
	}
	omp_set_num_threads(max_threads);
	ck_assert_msg(memcmp(res[0][0], res[1][0], nw * 4) == 0, "conv dweight differs between 1 and N threads");
	ck_assert_msg(memcmp(res[0][1], res[1][1], no * 4) == 0, "batchnorm forward differs between 1 and N threads");
	ck_assert_msg(memcmp(res[0][2], res[1][2], no * 4) == 0, "batchnorm backward differs between 1 and N threads");
	for (int r = 0; r < 2; r++)
		for (int k = 0; k < 3; k++)
			free(res[r][k]);
	free(x64), free(d64), free(x), free(d), free(work);
}
END_TEST

/* a wide layer's column-tiled filter gradient, in ragged channel and column blocks, and the
 * forward and data gradient in row tiles that outnumber nothing: 1 and N threads agree bitwise */
START_TEST(wide_conv_ignores_thread_count)
{
	/* 100 -> 200 by im2col; 130 -> 150 (40 images, three chunks) by Winograd */
	struct kn_conv_shape s = _i ? (struct kn_conv_shape){ 40, 17, 19, 130, 150, 3, 1, 1 }
				    : (struct kn_conv_shape){ 3, 5, 5, 100, 200, 3, 1, 1 };
	set_winograd_min_channels(_i ? 16 : 1 << 30);
	size_t ni = in_elems(&s), nw = w_elems(&s), no = out_elems(&s);
	double *x64 = drandom(ni, 71), *d64 = drandom(no, 72), *w64 = drandom(nw, 73);
	float *x = to_f32(x64, ni), *d = to_f32(d64, no), *w = to_f32(w64, nw), *res[2][3];
	void *work = workspace(&f32, &s);
	int max_threads = omp_get_max_threads();
	for (int run = 0; run < 2; run++) {
		omp_set_num_threads(run == 0 ? 1 : (max_threads > 1 ? max_threads : 2));
		res[run][0] = calloc(nw, 4), res[run][1] = calloc(no, 4), res[run][2] = calloc(ni, 4);
		ck_assert(res[run][0] && res[run][1] && res[run][2]);
		f32.ops->conv2d_backward_filter(res[run][0], d, x, work, &s);
		f32.ops->conv2d_forward(res[run][1], x, w, work, &s);
		f32.ops->conv2d_backward_data(res[run][2], d, w, work, &s);
	}
	omp_set_num_threads(max_threads);
	set_winograd_min_channels(16);
	ck_assert_msg(memcmp(res[0][0], res[1][0], nw * 4) == 0, "conv dweight differs between 1 and N threads");
	ck_assert_msg(memcmp(res[0][1], res[1][1], no * 4) == 0, "conv forward differs between 1 and N threads");
	ck_assert_msg(memcmp(res[0][2], res[1][2], ni * 4) == 0, "conv dinp differs between 1 and N threads");
	for (int r = 0; r < 2; r++)
		for (int k = 0; k < 3; k++)
			free(res[r][k]);
	free(x64), free(d64), free(w64), free(x), free(d), free(w), free(work);
}
END_TEST

/* The model sizes one workspace for its largest batch and calls with fewer images (a last
 * partial batch): every path must fit. The buffer ends at an inaccessible page, so an overrun
 * faults (Check reports the signal) instead of corrupting memory. */
START_TEST(workspace_sized_for_the_batch_fits_fewer_images)
{
	static const struct kn_conv_shape shapes[] = {
		{ 64, 16, 16, 64, 256, 3, 2, 1 }, /* slots at 128-row tiles, not at 256: the path once depended on N */
		{ 64, 16, 16, 48, 384, 3, 2, 1 }, { 64, 8, 8, 384, 512, 1, 2, 0 }, { 40, 28, 28, 16, 32, 3, 1, 1 },
		{ 24, 14, 14, 128, 128, 3, 1, 1 }, /* Winograd, and below */
		{ 64, 4, 4, 512, 512, 3, 1, 1 }, { 50, 7, 7, 256, 256, 3, 1, 1 },
	};
	long page = sysconf(_SC_PAGESIZE);
	for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
		struct kn_conv_shape s = shapes[k];
		size_t bytes = f32.ops->conv2d_workspace_bytes(&s), span = (bytes + page - 1) / page * page;
		unsigned char *map = mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert(map != MAP_FAILED);
		ck_assert_int_eq(mprotect(map + span, page, PROT_NONE), 0);
		void *work = map + span - bytes; /* its last byte is the one before the guard page */
		int B = s.N;
		size_t ni = in_elems(&s), nw = w_elems(&s), no = out_elems(&s);
		float *x = calloc(ni, 4), *w = calloc(nw, 4), *d = calloc(no, 4), *dw = calloc(nw, 4), *dx = calloc(ni, 4),
		      *out = calloc(no, 4);
		ck_assert(x && w && d && dw && dx && out);
		for (int n = B; n >= 1; n = n > 1 ? n / 2 : 0) {
			s.N = n;
			ck_assert_msg(f32.ops->conv2d_workspace_bytes(&s) <= bytes, "shape %zu: n %d needs more than B %d", k, n, B);
			f32.ops->conv2d_forward(out, x, w, work, &s);
			f32.ops->conv2d_backward_data(dx, d, w, work, &s);
			f32.ops->conv2d_backward_filter(dw, d, x, work, &s);
		}
		free(x), free(w), free(d), free(dw), free(dx), free(out);
		munmap(map, span + page);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cnn_ops");
	TCase *tc = tcase_create("ops");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, conv_stride1_pad1);
	tcase_add_test(tc, conv_stride2_pad1);
	tcase_add_test(tc, conv_1x1_stride2);
	tcase_add_loop_test(tc, conv_large_shapes, 0, 2);
	tcase_add_test(tc, batchnorm_gradients);
	tcase_add_test(tc, batchnorm_statistics_and_eval);
	tcase_add_test(tc, relu_and_pool_gradients);
	tcase_add_test(tc, fc_and_loss_gradients);
	tcase_add_test(tc, count_correct_and_sgd);
	tcase_add_test(tc, image_to_nhwc_layout);
	tcase_add_test(tc, fp32_matches_fp64);
	tcase_add_test(tc, reductions_ignore_thread_count);
	tcase_add_loop_test(tc, wide_conv_ignores_thread_count, 0, 2);
	tcase_add_test(tc, winograd_gradients);
	tcase_add_test(tc, winograd_fp32_accuracy_near_im2col);
	tcase_add_test(tc, workspace_sized_for_the_batch_fits_fewer_images);
	tcase_add_loop_test(tc, shared_cases_fp32_match_fp64, 0, CNN_OP_NCASES);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
