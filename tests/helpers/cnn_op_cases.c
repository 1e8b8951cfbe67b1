#include "cnn_op_cases.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "testutil.h"

#define GUARD_BYTES 4096
#define GUARD_BYTE 0xa5
#define BN_EPS 1e-5
#define KINK_MARGIN 0.1 /* batch-norm + ReLU inputs: pre-activations stay this far from 0 */

#define NEED_OP(be, op) ck_assert_msg((be)->ops->op != NULL, "the '%s' backend has no " #op " op", (be)->name)

double cnn_acc_start(size_t i) { return (double)((long)(i * 5 % 9) - 4) / 8; }

/* ---- device buffers of one run, freed together with their sizes ---- */

struct devs {
	struct kn_backend *be;
	int n;
	void *p[16];
	size_t bytes[16];
};

static size_t elem_bytes(struct kn_backend *be, enum cnn_elem t)
{
	return t == CNN_ACT ? be->act_bytes : t == CNN_MASTER ? be->master_bytes : 4;
}

static void *dev_alloc(struct devs *d, size_t bytes)
{
	ck_assert_int_lt(d->n, 16);
	void *p;
	int rc = kn_alloc(d->be, &p, bytes);
	ck_assert_msg(rc == KN_OK, "allocating %zu bytes on '%s': %s", bytes, d->be->name, kn_last_error());
	d->p[d->n] = p;
	d->bytes[d->n++] = bytes;
	return p;
}

static void devs_free(struct devs *d)
{
	for (int i = d->n - 1; i >= 0; i--)
		kn_free(d->be, d->p[i], d->bytes[i]);
	d->n = 0;
}

/* n values of type t from the host doubles x (NULL: zeros) */
static void *dev_values(struct devs *d, enum cnn_elem t, const double *x, size_t n)
{
	struct kn_backend *be = d->be;
	void *p = dev_alloc(d, (n ? n : 1) * elem_bytes(be, t));
	double *zeros = NULL;
	if (!x)
		x = zeros = calloc(n ? n : 1, sizeof *zeros);
	int rc;
	if (t == CNN_ACT || t == CNN_MASTER) {
		rc = be->vt->upload(be, p, x, n, t == CNN_MASTER);
	} else {
		void *h = malloc((n ? n : 1) * 4);
		for (size_t i = 0; i < n; i++) {
			if (t == CNN_F32)
				((float *)h)[i] = (float)x[i];
			else
				((int *)h)[i] = (int)x[i];
		}
		rc = be->vt->copy_h2d(be, p, h, n * 4);
		free(h);
	}
	ck_assert_msg(rc == KN_OK, "uploading to '%s': %s", be->name, kn_last_error());
	free(zeros);
	return p;
}

static void *dev_input(struct devs *d, const struct cnn_buf *b) { return dev_values(d, b->type, b->x, b->n); }

/* a result the op must overwrite: NaN everywhere */
static void *dev_poisoned(struct devs *d, const struct cnn_buf *b)
{
	double *h = malloc((b->n ? b->n : 1) * sizeof *h);
	for (size_t i = 0; i < b->n; i++)
		h[i] = NAN;
	void *p = dev_values(d, b->type, h, b->n);
	free(h);
	return p;
}

/* a gradient the op accumulates into: cnn_acc_start's pattern */
static void *dev_accumulated(struct devs *d, const struct cnn_buf *b)
{
	double *h = malloc((b->n ? b->n : 1) * sizeof *h);
	for (size_t i = 0; i < b->n; i++)
		h[i] = cnn_acc_start(i);
	void *p = dev_values(d, b->type, h, b->n);
	free(h);
	return p;
}

/* downloads result k from p (after a sync that must succeed), undoing the accumulation start */
static void fetch(struct devs *d, struct cnn_io *io, int k, const void *p)
{
	struct kn_backend *be = d->be;
	struct cnn_buf *b = &io->res[k];
	int rc = kn_sync(be);
	ck_assert_msg(rc == KN_OK, "'%s' before reading %s: %s", be->name, b->name, kn_last_error());
	free(b->x);
	b->x = malloc((b->n ? b->n : 1) * sizeof *b->x);
	rc = be->vt->download(be, b->x, p, b->n, b->type == CNN_MASTER);
	ck_assert_msg(rc == KN_OK, "'%s' reading %s: %s", be->name, b->name, kn_last_error());
	if (b->acc)
		for (size_t i = 0; i < b->n; i++)
			b->x[i] -= cnn_acc_start(i);
}

/* ---- convolution workspace: exactly the reported bytes, NaN-filled, then a guard ---- */

static void *workspace(struct devs *d, struct cnn_io *io)
{
	struct kn_backend *be = d->be;
	NEED_OP(be, conv2d_workspace_bytes);
	size_t ws = be->ops->conv2d_workspace_bytes(&io->conv);
	ck_assert_msg(ws == be->ops->conv2d_workspace_bytes(&io->conv), "conv2d_workspace_bytes is not repeatable");
	io->work_bytes = ws;
	unsigned char *h = malloc(ws + GUARD_BYTES);
	memset(h, 0xff, ws); /* NaN in every float format: an op must not read what it did not write */
	memset(h + ws, GUARD_BYTE, GUARD_BYTES);
	void *p = dev_alloc(d, ws + GUARD_BYTES);
	ck_assert_int_eq(be->vt->copy_h2d(be, p, h, ws + GUARD_BYTES), KN_OK);
	free(h);
	return p;
}

static void check_guard(struct devs *d, const struct cnn_io *io, const void *work)
{
	struct kn_backend *be = d->be;
	unsigned char h[GUARD_BYTES];
	ck_assert_msg(kn_sync(be) == KN_OK, "'%s': %s", be->name, kn_last_error());
	ck_assert_int_eq(be->vt->copy_d2h(be, h, (const char *)work + io->work_bytes, GUARD_BYTES), KN_OK);
	for (size_t i = 0; i < GUARD_BYTES; i++)
		ck_assert_msg(h[i] == GUARD_BYTE,
			      "'%s' wrote byte %zu past the %zu-byte workspace conv2d_workspace_bytes reported", be->name, i,
			      io->work_bytes);
}

/* ---- runners ---- */

/* 1 when the backend failed with exactly the cuda backend's "no backward-data
 * algorithm" error for shape s (kernels/cuda/cuda_cnn.cu,
 * no_algorithm: out of memory when a larger workspace might have offered one) */
static int no_bwd_data_algorithm(int rc, const struct kn_conv_shape *s)
{
	char want[200];
	snprintf(want, sizeof want,
		 "cuDNN algorithm choice failed: no backward-data algorithm for N=%d %dx%dx%d -> %d "
		 "channels, %dx%d stride %d pad %d within a ",
		 s->N, s->H, s->W, s->C, s->OC, s->K, s->K, s->stride, s->pad);
	return (rc == KN_EUNAVAIL || rc == KN_ENOMEM) && strstr(kn_last_error(), want) != NULL;
}

static void run_conv(struct kn_backend *be, struct cnn_io *io, int backward)
{
	struct devs d = { .be = be };
	const struct kn_conv_shape *s = &io->conv;
	NEED_OP(be, conv2d_forward);
	io->bwd_data_skipped = 0;
	io->skip_note[0] = 0;
	void *x = dev_input(&d, &io->in[0]), *w = dev_input(&d, &io->in[1]);
	void *work = workspace(&d, io), *out = dev_poisoned(&d, &io->res[0]);
	be->ops->conv2d_forward(out, x, w, work, s);
	fetch(&d, io, 0, out);
	if (backward) {
		NEED_OP(be, conv2d_backward_filter);
		NEED_OP(be, conv2d_backward_data);
		void *dout = dev_values(&d, CNN_ACT, io->R, io->res[0].n);
		void *dw = dev_accumulated(&d, &io->res[2]), *dx = dev_poisoned(&d, &io->res[CNN_CONV_DINP]);
		/* the model's order: filter, then data; forward and filter are checked
		 * (results and workspace guard) before data runs, which may fail the backend */
		be->ops->conv2d_backward_filter(dw, dout, x, work, s);
		fetch(&d, io, 2, dw);
		check_guard(&d, io, work);
		be->ops->conv2d_backward_data(dx, dout, w, work, s);
		if (io->bwd_data_optional && strcmp(be->name, "cuda") == 0) {
			int rc = kn_sync(be);
			if (rc != KN_OK && no_bwd_data_algorithm(rc, s)) {
				io->bwd_data_skipped = 1;
				snprintf(io->skip_note, sizeof io->skip_note, "%s", kn_last_error());
				devs_free(&d);
				return;
			}
		}
		fetch(&d, io, CNN_CONV_DINP, dx);
	}
	check_guard(&d, io, work);
	devs_free(&d);
}

int cnn_res_skipped(const struct cnn_io *io, int k) { return io->bwd_data_skipped && k == CNN_CONV_DINP; }

static void run_batchnorm(struct kn_backend *be, struct cnn_io *io, int backward)
{
	struct devs d = { .be = be };
	int M = io->M, C = io->C;
	NEED_OP(be, batchnorm_forward);
	void *x = dev_input(&d, &io->in[0]), *w = dev_input(&d, &io->in[1]), *b = dev_input(&d, &io->in[2]);
	void *rm = dev_input(&d, &io->in[3]), *rv = dev_input(&d, &io->in[4]);
	void *res = io->residual ? dev_input(&d, &io->in[5]) : NULL;
	void *out = dev_poisoned(&d, &io->res[0]), *mean = dev_poisoned(&d, &io->res[1]);
	void *rstd = dev_poisoned(&d, &io->res[2]);
	be->ops->batchnorm_forward(out, mean, rstd, rm, rv, x, w, b, res, io->relu, M, C, io->train, io->momentum);
	fetch(&d, io, 0, out);
	fetch(&d, io, 1, mean);
	fetch(&d, io, 2, rstd);
	fetch(&d, io, 3, rm);
	fetch(&d, io, 4, rv);
	if (backward && io->train) {
		NEED_OP(be, batchnorm_backward);
		void *dout = dev_values(&d, CNN_ACT, io->R, io->res[0].n);
		void *dx = dev_poisoned(&d, &io->res[5]), *dw = dev_accumulated(&d, &io->res[6]);
		void *db = dev_accumulated(&d, &io->res[7]);
		/* with a ReLU the forward's output masks dout (it was kept off the kink) */
		be->ops->batchnorm_backward(dx, dw, db, dout, io->relu ? out : NULL, x, w, mean, rstd, M, C);
		fetch(&d, io, 5, dx);
		fetch(&d, io, 6, dw);
		fetch(&d, io, 7, db);
	}
	devs_free(&d);
}

static void run_relu(struct kn_backend *be, struct cnn_io *io, int backward)
{
	struct devs d = { .be = be };
	size_t n = io->in[0].n;
	NEED_OP(be, relu_forward);
	void *x = dev_input(&d, &io->in[0]), *out = io->inplace ? x : dev_poisoned(&d, &io->res[0]);
	be->ops->relu_forward(out, x, n);
	fetch(&d, io, 0, out);
	if (backward) {
		NEED_OP(be, relu_backward);
		void *dout = dev_values(&d, CNN_ACT, io->R, n), *dx = io->inplace ? dout : dev_poisoned(&d, &io->res[1]);
		be->ops->relu_backward(dx, out, dout, n);
		fetch(&d, io, 1, dx);
	}
	devs_free(&d);
}

static void run_avgpool(struct kn_backend *be, struct cnn_io *io, int backward)
{
	struct devs d = { .be = be };
	NEED_OP(be, avgpool_forward);
	void *x = dev_input(&d, &io->in[0]), *out = dev_poisoned(&d, &io->res[0]);
	be->ops->avgpool_forward(out, x, io->N, io->HW, io->C);
	fetch(&d, io, 0, out);
	if (backward) {
		NEED_OP(be, avgpool_backward);
		void *dout = dev_values(&d, CNN_ACT, io->R, io->res[0].n), *dx = dev_poisoned(&d, &io->res[1]);
		be->ops->avgpool_backward(dx, dout, io->N, io->HW, io->C);
		fetch(&d, io, 1, dx);
	}
	devs_free(&d);
}

static void run_image_to_nhwc(struct kn_backend *be, struct cnn_io *io, int backward)
{
	struct devs d = { .be = be };
	(void)backward;
	NEED_OP(be, image_to_nhwc);
	void *img = dev_input(&d, &io->in[0]), *out = dev_poisoned(&d, &io->res[0]);
	be->ops->image_to_nhwc(out, img, io->N, io->C, io->H, io->W);
	fetch(&d, io, 0, out);
	devs_free(&d);
}

static void run_count_correct(struct kn_backend *be, struct cnn_io *io, int backward)
{
	struct devs d = { .be = be };
	(void)backward;
	NEED_OP(be, count_correct);
	void *probs = dev_input(&d, &io->in[0]), *targets = dev_input(&d, &io->in[1]);
	long n = be->ops->count_correct(probs, targets, io->N, io->V);
	ck_assert_msg(kn_sync(be) == KN_OK, "'%s' count_correct: %s", be->name, kn_last_error());
	ck_assert_msg(n == io->expect, "'%s' count_correct: %ld, expected %ld (ties go to the first index)", be->name, n,
		      io->expect);
	free(io->res[0].x);
	io->res[0].x = malloc(sizeof *io->res[0].x);
	io->res[0].x[0] = (double)n;
	devs_free(&d);
}

/* `steps` SGD updates with the same gradient; master and velocity master-typed,
 * the compute copy act-typed (the master itself where the backend aliases them) */
static void run_sgd(struct kn_backend *be, struct cnn_io *io, int backward)
{
	struct devs d = { .be = be };
	size_t n = io->in[0].n;
	(void)backward;
	NEED_OP(be, sgd);
	void *w = dev_input(&d, &io->in[0]), *g = dev_input(&d, &io->in[1]), *vel = dev_input(&d, &io->in[2]);
	void *cw = be->compute_aliases_master ? w : dev_poisoned(&d, &io->res[1]);
	for (int t = 0; t < io->steps; t++)
		be->ops->sgd(w, cw, g, vel, n, io->lr, io->sgd_momentum, io->weight_decay, io->grad_scale);
	fetch(&d, io, 0, w);
	fetch(&d, io, 1, cw);
	fetch(&d, io, 2, vel);
	devs_free(&d);
}

int cnn_is_conv(cnn_runner run) { return run == run_conv; }
int cnn_is_batchnorm(cnn_runner run) { return run == run_batchnorm; }

/* ---- building cases ---- */

static double *rnd(size_t n, double lo, double hi, uint64_t seed)
{
	double *x = malloc((n ? n : 1) * sizeof *x);
	tu_fill_uniform(x, n, lo, hi, seed);
	return x;
}

static void input(struct cnn_io *io, int k, const char *name, enum cnn_elem t, size_t n, double *x)
{
	io->in[k] = (struct cnn_buf){ .name = name, .type = t, .n = n, .x = x };
	if (k >= io->n_in)
		io->n_in = k + 1;
}

static void result(struct cnn_io *io, int k, const char *name, enum cnn_elem t, size_t n, int depth, int tc, int acc)
{
	io->res[k] = (struct cnn_buf){ .name = name, .type = t, .n = n, .depth = depth, .tc = tc, .acc = acc };
	if (k >= io->n_res)
		io->n_res = k + 1;
}

cnn_runner cnn_conv_case(struct cnn_io *io, struct kn_conv_shape s, uint64_t seed)
{
	memset(io, 0, sizeof *io);
	io->conv = s;
	int OH = kn_conv_out_dim(s.H, s.K, s.stride, s.pad), OW = kn_conv_out_dim(s.W, s.K, s.stride, s.pad);
	size_t ni = (size_t)s.N * s.H * s.W * s.C, nw = (size_t)s.OC * s.K * s.K * s.C;
	size_t no = (size_t)s.N * OH * OW * s.OC;
	/* weights of variance 1/(K K C): outputs of the inputs' size, as in the model */
	double a = sqrt(3.0 / ((double)s.K * s.K * s.C));
	input(io, 0, "inp", CNN_ACT, ni, rnd(ni, -1, 1, seed));
	input(io, 1, "weight", CNN_ACT, nw, rnd(nw, -a, a, seed + 1));
	io->R = rnd(no, -1, 1, seed + 2);
	result(io, 0, "conv out", CNN_ACT, no, s.K * s.K * s.C, 1, 0);
	result(io, 1, "conv dinp", CNN_ACT, ni, s.K * s.K * s.OC, 1, 0);
	result(io, 2, "conv dweight", CNN_ACT, nw, s.N * OH * OW, 1, 1);
	io->n_fwd = 1;
	return run_conv;
}

/* batch statistics (train) or the running ones (eval) of x[M, C] in double */
static void bn_stats(const struct cnn_io *io, double *mean, double *rstd)
{
	int M = io->M, C = io->C;
	const double *x = io->in[0].x;
	for (int c = 0; c < C; c++) {
		if (!io->train) {
			mean[c] = io->in[3].x[c];
			rstd[c] = 1 / sqrt(io->in[4].x[c] + BN_EPS);
			continue;
		}
		double s = 0, ss = 0;
		for (int r = 0; r < M; r++)
			s += x[(size_t)r * C + c];
		mean[c] = s / M;
		for (int r = 0; r < M; r++)
			ss += (x[(size_t)r * C + c] - mean[c]) * (x[(size_t)r * C + c] - mean[c]);
		rstd[c] = 1 / sqrt(ss / M + BN_EPS);
	}
}

/* Moves inputs whose pre-activation lies within KINK_MARGIN of 0 out to about
 * twice that, so a ReLU cuts the same elements on every backend whatever the
 * rounding (the margin is ten times a bf16 rounding of these values). */
static void keep_off_relu_kink(struct cnn_io *io)
{
	int M = io->M, C = io->C, moved = 1;
	double *mean = malloc(C * sizeof *mean), *rstd = malloc(C * sizeof *rstd);
	double *x = io->in[0].x, *w = io->in[1].x, *b = io->in[2].x, *res = io->residual ? io->in[5].x : NULL;
	for (int pass = 0; moved && pass < 50; pass++) {
		moved = 0;
		bn_stats(io, mean, rstd);
		for (size_t i = 0; i < (size_t)M * C; i++) {
			int c = (int)(i % C);
			double y = (x[i] - mean[c]) * rstd[c] * w[c] + b[c] + (res ? res[i] : 0);
			if (fabs(y) < KINK_MARGIN) {
				x[i] += (y < 0 ? -2 : 2) * KINK_MARGIN / (rstd[c] * w[c]);
				moved++;
			}
		}
	}
	ck_assert_msg(!moved, "batch-norm inputs did not settle off the ReLU kink");
	free(mean);
	free(rstd);
}

cnn_runner cnn_batchnorm_case(struct cnn_io *io, int M, int C, int residual, int relu, int train, uint64_t seed)
{
	memset(io, 0, sizeof *io);
	io->M = M;
	io->C = C;
	io->residual = residual;
	io->relu = relu;
	io->train = train;
	io->momentum = 0.1f;
	size_t n = (size_t)M * C;
	/* per-channel means and spreads unlike the normalised ones, within a few
	 * standard deviations of zero as convolution outputs are */
	double *x = rnd(n, -2, 2, seed), *scale = rnd(C, 0.5, 2, seed + 1), *shift = rnd(C, -1, 1, seed + 2);
	for (size_t i = 0; i < n; i++)
		x[i] = x[i] * scale[i % C] + shift[i % C];
	free(scale);
	free(shift);
	input(io, 0, "inp", CNN_ACT, n, x);
	input(io, 1, "weight", CNN_ACT, C, rnd(C, 0.5, 1.5, seed + 3));
	input(io, 2, "bias", CNN_ACT, C, rnd(C, -0.5, 0.5, seed + 4));
	input(io, 3, "running_mean", CNN_MASTER, C, rnd(C, -0.5, 0.5, seed + 5));
	input(io, 4, "running_var", CNN_MASTER, C, rnd(C, 0.5, 2, seed + 6));
	input(io, 5, "residual", CNN_ACT, residual ? n : 0, residual ? rnd(n, -1, 1, seed + 7) : NULL);
	io->R = rnd(n, -1, 1, seed + 8);
	if (relu)
		keep_off_relu_kink(io);
	/* eval mode reduces nothing: its statistics come straight from the running ones */
	int depth = train ? M : 1;
	result(io, 0, "bn out", CNN_ACT, n, depth, 0, 0);
	result(io, 1, "bn mean", CNN_MASTER, C, depth, 0, 0);
	result(io, 2, "bn rstd", CNN_MASTER, C, depth, 0, 0);
	result(io, 3, "bn running_mean", CNN_MASTER, C, depth, 0, 0);
	result(io, 4, "bn running_var", CNN_MASTER, C, depth, 0, 0);
	io->n_fwd = 5;
	if (train) {
		result(io, 5, "bn dinp", CNN_ACT, n, M, 0, 0);
		result(io, 6, "bn dweight", CNN_ACT, C, M, 0, 1);
		result(io, 7, "bn dbias", CNN_ACT, C, M, 0, 1);
	}
	return run_batchnorm;
}

static cnn_runner relu_case(struct cnn_io *io, int inplace)
{
	enum { N = 1000 };
	memset(io, 0, sizeof *io);
	io->inplace = inplace;
	double *x = rnd(N, -1, 1, 40 + inplace);
	for (int i = 0; i < N; i += 50)
		x[i] = 0; /* exactly 0 is cut: the mask is out > 0 */
	input(io, 0, "inp", CNN_ACT, N, x);
	io->R = rnd(N, -1, 1, 42 + inplace);
	result(io, 0, "relu out", CNN_ACT, N, 1, 0, 0);
	result(io, 1, "relu dinp", CNN_ACT, N, 1, 0, 0);
	io->res[0].exact = io->res[1].exact = 1; /* a copy or a zero of the inputs' own values */
	io->n_fwd = 1;
	return run_relu;
}

static cnn_runner avgpool_case(struct cnn_io *io, int N, int HW, int C, uint64_t seed)
{
	memset(io, 0, sizeof *io);
	io->N = N;
	io->HW = HW;
	io->C = C;
	size_t n = (size_t)N * HW * C;
	input(io, 0, "inp", CNN_ACT, n, rnd(n, -1, 2, seed));
	io->R = rnd((size_t)N * C, -1, 1, seed + 1);
	result(io, 0, "avgpool out", CNN_ACT, (size_t)N * C, HW, 0, 0);
	result(io, 1, "avgpool dinp", CNN_ACT, n, 1, 0, 0);
	io->n_fwd = 1;
	return run_avgpool;
}

static cnn_runner image_case(struct cnn_io *io, int N, int C, int H, int W, uint64_t seed)
{
	memset(io, 0, sizeof *io);
	io->N = N;
	io->C = C;
	io->H = H;
	io->W = W;
	size_t n = (size_t)N * C * H * W;
	double *img = rnd(n, -2, 3, seed);
	for (size_t i = 0; i < n; i++)
		img[i] = (float)img[i]; /* float32 on the device */
	input(io, 0, "images", CNN_F32, n, img);
	result(io, 0, "nhwc out", CNN_ACT, n, 1, 0, 0);
	io->n_fwd = 1;
	return run_image_to_nhwc;
}

/* Probabilities on a grid of 1/64 (exact in every format), so rows have real
 * ties; targets are the first argmax, a later tied index (wrong: the first
 * wins), or random. */
static cnn_runner count_case(struct cnn_io *io)
{
	enum { N = 300, V = 10 };
	memset(io, 0, sizeof *io);
	io->N = N;
	io->V = V;
	double *p = rnd((size_t)N * V, 0, 1, 50), *t = rnd(N, 0, V, 51);
	long expect = 0;
	int ties = 0;
	for (int r = 0; r < N; r++) {
		double *row = p + (size_t)r * V;
		for (int i = 0; i < V; i++)
			row[i] = floor(row[i] * 8) / 64; /* 8 levels: ties are common */
		if (r % 4 == 0)
			row[(r / 4) % V] = row[(r / 4 + 3) % V] = 0.5; /* a tie at the top */
		int best = 0, second = -1;
		for (int i = 1; i < V; i++)
			if (row[i] > row[best])
				best = i;
		for (int i = best + 1; i < V && second < 0; i++)
			if (row[i] == row[best])
				second = i;
		ties += second >= 0;
		if (r % 3 == 0)
			t[r] = best;
		else if (r % 3 == 1 && second >= 0)
			t[r] = second;
		else
			t[r] = floor(t[r]);
		expect += (int)t[r] == best;
	}
	ck_assert_int_gt(ties, N / 4);
	input(io, 0, "probs", CNN_ACT, (size_t)N * V, p);
	input(io, 1, "targets", CNN_INT, N, t);
	result(io, 0, "correct", CNN_ACT, 1, 1, 0, 0);
	io->res[0].exact = 1;
	io->n_fwd = 1;
	io->expect = expect;
	return run_count_correct;
}

static cnn_runner sgd_case(struct cnn_io *io)
{
	enum { N = 4099 };
	memset(io, 0, sizeof *io);
	io->steps = 3;
	io->lr = 0.1f;
	io->sgd_momentum = 0.9f;
	io->weight_decay = 0.01f;
	io->grad_scale = 0.5f;
	input(io, 0, "master", CNN_MASTER, N, rnd(N, -1, 1, 60));
	input(io, 1, "grad", CNN_ACT, N, rnd(N, -1, 1, 61));
	input(io, 2, "velocity", CNN_MASTER, N, rnd(N, -0.2, 0.2, 62));
	result(io, 0, "sgd master", CNN_MASTER, N, 1, 0, 0);
	result(io, 1, "sgd compute", CNN_ACT, N, 1, 0, 0);
	result(io, 2, "sgd velocity", CNN_MASTER, N, 1, 0, 0);
	io->n_fwd = 3;
	return run_sgd;
}

cnn_runner cnn_op_case(int k, struct cnn_io *io, const char **name)
{
	/* The model's layers (trainer/cnn.c plan()) on 28x28x1 images: tiny is
	 * 16/32/64 channels at 28x28/14x14/7x7, resnet 64/128/256/512 down to 4x4;
	 * stride-2 3x3 convs and 1x1 stride-2 shortcuts open every later stage. */
	static const struct {
		const char *name;
		struct kn_conv_shape s;
	} convs[] = {
		{ "conv 3x3 s1 p1", { 2, 7, 6, 3, 5, 3, 1, 1 } },
		{ "conv 3x3 s2 p1", { 2, 9, 8, 4, 6, 3, 2, 1 } },
		{ "conv 1x1 s2 p0", { 3, 7, 7, 8, 12, 1, 2, 0 } },
		{ "conv stem 1->16 28x28", { 4, 28, 28, 1, 16, 3, 1, 1 } },
		{ "conv tiny 16->16 28x28", { 4, 28, 28, 16, 16, 3, 1, 1 } },
		{ "conv tiny 16->32 s2 28x28", { 4, 28, 28, 16, 32, 3, 2, 1 } },
		{ "conv tiny shortcut 32->64 1x1 s2 14x14", { 4, 14, 14, 32, 64, 1, 2, 0 } },
		{ "conv tiny 64->64 7x7", { 4, 7, 7, 64, 64, 3, 1, 1 } },
		{ "conv resnet 128->256 s2 14x14", { 2, 14, 14, 128, 256, 3, 2, 1 } },
		{ "conv resnet 512->512 4x4", { 2, 4, 4, 512, 512, 3, 1, 1 } },
	};
	enum { NCONV = sizeof convs / sizeof *convs };
	static const struct {
		const char *name;
		int M, C, residual, relu, train;
	} bns[] = {
		{ "batchnorm train", 784, 32, 0, 0, 1 },
		{ "batchnorm train + residual", 784, 32, 1, 0, 1 },
		{ "batchnorm train + relu", 392, 64, 0, 1, 1 },
		{ "batchnorm train + residual + relu", 3136, 16, 1, 1, 1 },
		{ "batchnorm train + relu, resnet 512 channels at 4x4", 32, 512, 0, 1, 1 },
		{ "batchnorm eval", 392, 64, 0, 0, 0 },
		{ "batchnorm eval + residual + relu", 784, 32, 1, 1, 0 },
	};
	enum { NBN = sizeof bns / sizeof *bns, NOTHER = 8 };
	_Static_assert(NCONV + NBN + NOTHER == CNN_OP_NCASES, "CNN_OP_NCASES counts every case");
	ck_assert_msg(k >= 0 && k < CNN_OP_NCASES, "no cnn op case %d", k);
	if (k < NCONV) {
		*name = convs[k].name;
		cnn_runner run = cnn_conv_case(io, convs[k].s, 100 + 10 * (uint64_t)k);
		/* the stem's input is the images: the model never asks for its gradient */
		io->bwd_data_optional = convs[k].s.C == 1;
		return run;
	}
	k -= NCONV;
	if (k < NBN) {
		*name = bns[k].name;
		return cnn_batchnorm_case(io, bns[k].M, bns[k].C, bns[k].residual, bns[k].relu, bns[k].train,
					  300 + 10 * (uint64_t)k);
	}
	switch (k - NBN) {
	case 0:
		*name = "relu";
		return relu_case(io, 0);
	case 1:
		*name = "relu in place";
		return relu_case(io, 1);
	case 2:
		*name = "avgpool tiny 7x7x64";
		return avgpool_case(io, 8, 49, 64, 70);
	case 3:
		*name = "avgpool resnet 4x4x512";
		return avgpool_case(io, 4, 16, 512, 72);
	case 4:
		*name = "image_to_nhwc 3 channels";
		return image_case(io, 5, 3, 7, 9, 80);
	case 5:
		*name = "image_to_nhwc 28x28x1";
		return image_case(io, 8, 1, 28, 28, 81);
	case 6:
		*name = "count_correct";
		return count_case(io);
	default:
		*name = "sgd";
		return sgd_case(io);
	}
}

/* ---- quantizing, keeping, freeing ---- */

static void quantize(struct kn_backend *be, enum cnn_elem t, double *x, size_t n)
{
	if (!x || !n || t == CNN_INT)
		return;
	if (t == CNN_F32) {
		for (size_t i = 0; i < n; i++)
			x[i] = (float)x[i];
		return;
	}
	struct devs d = { .be = be };
	void *p = dev_values(&d, t, x, n);
	ck_assert_int_eq(be->vt->download(be, x, p, n, t == CNN_MASTER), KN_OK);
	devs_free(&d);
}

void cnn_io_quantize(struct kn_backend *be, struct cnn_io *io)
{
	for (int k = 0; k < io->n_in; k++)
		quantize(be, io->in[k].type, io->in[k].x, io->in[k].n);
	quantize(be, CNN_ACT, io->R, io->res[0].n);
}

void cnn_io_keep(struct cnn_io *io, double *kept[CNN_MAXRES])
{
	for (int k = 0; k < CNN_MAXRES; k++) {
		kept[k] = io->res[k].x;
		io->res[k].x = NULL;
	}
}

void cnn_io_free(struct cnn_io *io)
{
	for (int k = 0; k < CNN_MAXIN; k++)
		free(io->in[k].x);
	for (int k = 0; k < CNN_MAXRES; k++)
		free(io->res[k].x);
	free(io->R);
	memset(io, 0, sizeof *io);
}

/* ---- tolerances ---- */

double cnn_tolerance(enum kn_precision p, const struct cnn_buf *b)
{
	if (b->exact)
		return 0;
	const double u32 = 0x1p-24;
	double u = b->type != CNN_ACT ? u32 : p == KN_FP16 ? 0x1p-11 : p == KN_BF16 ? 0x1p-8 : p == KN_FP64 ? 0x1p-53 : u32;
	double tol = 6 * u + 16 * sqrt((double)(b->depth > 1 ? b->depth : 1)) * u32;
	if (b->tc && p == KN_TF32)
		tol += 8 * 0x1p-11;
	return tol;
}

double cnn_max_err(enum kn_precision p, const struct cnn_buf *b, const double *got, const double *want)
{
	double S = 0, worst = 0, tol = cnn_tolerance(p, b);
	/* nothing compared, or a scale a NaN or inf made meaningless: fails */
	if (!b->n || !got || !want)
		return INFINITY;
	for (size_t i = 0; i < b->n; i++) {
		if (!isfinite(want[i]))
			return INFINITY;
		S = fmax(S, fabs(want[i]));
	}
	S += b->acc ? 0.5 : 0;
	for (size_t i = 0; i < b->n; i++) {
		double diff = fabs(got[i] - want[i]);
		double e = diff == 0 ? 0 : diff / (tol * S);
		if (!(e <= worst)) /* NaN counts as the worst */
			worst = isnan(e) ? INFINITY : e;
	}
	return worst;
}
