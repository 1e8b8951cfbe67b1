#include "gpt_op_cases.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "testutil.h"


static void *dev_ints(struct kn_backend *be, const int *src, size_t n)
{
	void *p;
	if (kn_alloc(be, &p, n * sizeof(int)) || be->vt->copy_h2d(be, p, src, n * sizeof(int)))
		abort();
	return p;
}

/* outputs an op must overwrite start as NaN, so an element it leaves unwritten fails */
static void *poisoned(struct kn_backend *be, size_t n)
{
	double *h = malloc(n * sizeof *h);
	for (size_t i = 0; i < n; i++)
		h[i] = NAN;
	void *p = tu_dev(be, h, n, 0);
	free(h);
	return p;
}

/* Gradients an op accumulates into start from this pattern, which finish_io
 * subtracts again, so an op that overwrites instead of adding fails. The
 * values are multiples of 1/8 in [-1/2, 1/2], exact in every format. */
static double acc_start(size_t i) { return (double)((long)(i * 5 % 9) - 4) / 8; }

static void *accumulated(struct kn_backend *be, size_t n)
{
	double *h = malloc((n ? n : 1) * sizeof *h);
	for (size_t i = 0; i < n; i++)
		h[i] = acc_start(i);
	void *p = tu_dev(be, h, n, 0);
	free(h);
	return p;
}

/* acc_mask: bit k set when grad[k] was made by accumulated() */
static void finish_io(struct kn_backend *be, struct op_io *io, void *out, void **grad, int backward, unsigned acc_mask)
{
	free(io->out);
	io->out = tu_host(be, out, io->out_n, io->out_master);
	for (int k = 0; k < io->n_in; k++) {
		if (backward && grad[k]) {
			free(io->grad[k]);
			io->grad[k] = tu_host(be, grad[k], io->in_n[k], 0);
			if (acc_mask & (1u << k))
				for (size_t i = 0; i < io->in_n[k]; i++)
					io->grad[k][i] -= acc_start(i);
		}
	}
}

/* ---- runners: upload inputs, forward, optionally backward with dout = R ---- */

void run_encoder(struct kn_backend *be, struct op_io *io, int backward)
{
	int B = io->B, T = io->T, C = io->C;
	void *wte = tu_dev(be, io->in[0], io->in_n[0], 0), *wpe = tu_dev(be, io->in[1], io->in_n[1], 0);
	void *tok = dev_ints(be, io->tokens, (size_t)B * T), *out = poisoned(be, io->out_n);
	void *g[2] = { NULL, NULL };
	be->ops->encoder_forward(out, tok, wte, wpe, B, T, C);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		g[0] = accumulated(be, io->in_n[0]);
		g[1] = accumulated(be, io->in_n[1]);
		be->ops->encoder_backward(g[0], g[1], dout, tok, B, T, C);
		kn_free(be, dout, 0);
	}
	finish_io(be, io, out, g, backward, 3);
	kn_free(be, wte, 0), kn_free(be, wpe, 0), kn_free(be, tok, 0), kn_free(be, out, 0);
	kn_free(be, g[0], 0), kn_free(be, g[1], 0);
}

void run_layernorm(struct kn_backend *be, struct op_io *io, int backward)
{
	int N = io->B * io->T, C = io->C;
	void *x = tu_dev(be, io->in[0], io->in_n[0], 0), *w = tu_dev(be, io->in[1], io->in_n[1], 0);
	void *b = tu_dev(be, io->in[2], io->in_n[2], 0), *out = poisoned(be, io->out_n);
	void *mean = tu_dev(be, NULL, N, 1), *rstd = tu_dev(be, NULL, N, 1);
	void *g[3] = { NULL, NULL, NULL };
	be->ops->layernorm_forward(out, mean, rstd, x, w, b, N, C);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		for (int k = 0; k < 3; k++)
			g[k] = accumulated(be, io->in_n[k]); /* dinp accumulates too */
		be->ops->layernorm_backward(g[0], g[1], g[2], dout, x, w, mean, rstd, N, C);
		kn_free(be, dout, 0);
	}
	finish_io(be, io, out, g, backward, 7);
	kn_free(be, x, 0), kn_free(be, w, 0), kn_free(be, b, 0), kn_free(be, out, 0);
	kn_free(be, mean, 0), kn_free(be, rstd, 0);
	for (int k = 0; k < 3; k++)
		kn_free(be, g[k], 0);
}

void run_matmul(struct kn_backend *be, struct op_io *io, int backward)
{
	int N = io->B * io->T, C = io->C, OC = io->OC;
	void *x = tu_dev(be, io->in[0], io->in_n[0], 0), *w = tu_dev(be, io->in[1], io->in_n[1], 0);
	void *b = io->n_in > 2 ? tu_dev(be, io->in[2], io->in_n[2], 0) : NULL;
	void *out = poisoned(be, io->out_n);
	void *g[3] = { NULL, NULL, NULL };
	be->ops->matmul_forward(out, x, w, b, N, C, OC);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		g[0] = poisoned(be, io->in_n[0]); /* dinp is overwritten; weight grads accumulate */
		for (int k = 1; k < io->n_in; k++)
			g[k] = accumulated(be, io->in_n[k]);
		be->ops->matmul_backward(g[0], g[1], g[2], dout, x, w, N, C, OC);
		kn_free(be, dout, 0);
	}
	finish_io(be, io, out, g, backward, 6);
	kn_free(be, x, 0), kn_free(be, w, 0), kn_free(be, b, 0), kn_free(be, out, 0);
	for (int k = 0; k < 3; k++)
		kn_free(be, g[k], 0);
}

/* the fused attention where the backend runs this shape fused (its lse state), else the unfused ops */
static void run_fused_attention(struct kn_backend *be, struct op_io *io, int backward)
{
	int B = io->B, T = io->T, C = io->C, NH = io->NH;
	void *qkv = tu_dev(be, io->in[0], io->in_n[0], 0), *out = poisoned(be, io->out_n);
	void *lse = tu_dev(be, NULL, (size_t)B * NH * T, 1);
	void *g[1] = { NULL };
	be->ops->flash_attention_forward(out, lse, qkv, B, T, C, NH);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		g[0] = poisoned(be, io->in_n[0]);
		be->ops->flash_attention_backward(g[0], dout, qkv, out, lse, B, T, C, NH);
		kn_free(be, dout, 0);
	}
	finish_io(be, io, out, g, backward, 0);
	kn_free(be, qkv, 0), kn_free(be, out, 0), kn_free(be, lse, 0), kn_free(be, g[0], 0);
}

void run_attention(struct kn_backend *be, struct op_io *io, int backward)
{
	int B = io->B, T = io->T, C = io->C, NH = io->NH;
	if (kn_flash_attention_used(be, C, NH)) {
		run_fused_attention(be, io, backward);
		return;
	}
	void *qkv = tu_dev(be, io->in[0], io->in_n[0], 0), *out = poisoned(be, io->out_n);
	void *att = tu_dev(be, NULL, (size_t)B * NH * T * T, 0);
	void *g[1] = { NULL };
	be->ops->attention_forward(out, att, qkv, B, T, C, NH);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		void *scratch = tu_dev(be, NULL, (size_t)B * NH * T * T, 0);
		g[0] = poisoned(be, io->in_n[0]);
		be->ops->attention_backward(g[0], scratch, dout, qkv, att, B, T, C, NH);
		kn_free(be, dout, 0), kn_free(be, scratch, 0);
	}
	finish_io(be, io, out, g, backward, 0);
	kn_free(be, qkv, 0), kn_free(be, out, 0), kn_free(be, att, 0), kn_free(be, g[0], 0);
}

void run_gelu(struct kn_backend *be, struct op_io *io, int backward)
{
	void *x = tu_dev(be, io->in[0], io->in_n[0], 0), *out = poisoned(be, io->out_n);
	void *g[1] = { NULL };
	be->ops->gelu_forward(out, x, io->out_n);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		g[0] = poisoned(be, io->in_n[0]);
		be->ops->gelu_backward(g[0], x, dout, io->out_n);
		kn_free(be, dout, 0);
	}
	finish_io(be, io, out, g, backward, 0);
	kn_free(be, x, 0), kn_free(be, out, 0), kn_free(be, g[0], 0);
}

/* residual_forward, with accumulate() as its backward */
void run_residual(struct kn_backend *be, struct op_io *io, int backward)
{
	void *a = tu_dev(be, io->in[0], io->in_n[0], 0), *b = tu_dev(be, io->in[1], io->in_n[1], 0);
	void *out = poisoned(be, io->out_n);
	void *g[2] = { NULL, NULL };
	be->ops->residual_forward(out, a, b, io->out_n);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0);
		g[0] = accumulated(be, io->in_n[0]);
		g[1] = accumulated(be, io->in_n[1]);
		be->ops->accumulate(g[0], dout, io->out_n);
		be->ops->accumulate(g[1], dout, io->out_n);
		kn_free(be, dout, 0);
	}
	finish_io(be, io, out, g, backward, 3);
	kn_free(be, a, 0), kn_free(be, b, 0), kn_free(be, out, 0), kn_free(be, g[0], 0), kn_free(be, g[1], 0);
}

/* in: a, b [N,C], weight, bias [C]; out: res [N,C] then out [N,C] (one R covers both) */
void run_residual_layernorm(struct kn_backend *be, struct op_io *io, int backward)
{
	int N = io->B * io->T, C = io->C;
	size_t NC = (size_t)N * C;
	void *in[4];
	for (int k = 0; k < 4; k++)
		in[k] = tu_dev(be, io->in[k], io->in_n[k], 0);
	void *res = poisoned(be, NC), *out = poisoned(be, NC);
	void *mean = tu_dev(be, NULL, N, 1), *rstd = tu_dev(be, NULL, N, 1);
	void *g[4] = { NULL, NULL, NULL, NULL };
	kn_residual_layernorm_forward(be, res, out, mean, rstd, in[0], in[1], in[2], in[3], N, C);
	if (backward) {
		/* d(res) = R's first half plus the LayerNorm's backward of its second; a and b both receive it */
		void *dres = tu_dev(be, io->R, NC, 0), *dout = tu_dev(be, io->R + NC, NC, 0);
		for (int k = 0; k < 4; k++)
			g[k] = accumulated(be, io->in_n[k]);
		be->ops->layernorm_backward(dres, g[2], g[3], dout, res, in[2], mean, rstd, N, C);
		be->ops->accumulate(g[0], dres, NC);
		be->ops->accumulate(g[1], dres, NC);
		kn_free(be, dres, 0), kn_free(be, dout, 0);
	}
	double *hres = tu_host(be, res, NC, 0);
	/* finish_io fetches out_n elements from out, which holds the second half only */
	io->out_n = NC;
	finish_io(be, io, out, g, backward, 15);
	io->out_n = 2 * NC;
	/* io->out = [res, out] */
	double *both = malloc(2 * NC * sizeof *both);
	memcpy(both, hres, NC * sizeof *both);
	memcpy(both + NC, io->out, NC * sizeof *both);
	free(hres);
	free(io->out);
	io->out = both;
	kn_free(be, res, 0), kn_free(be, out, 0), kn_free(be, mean, 0), kn_free(be, rstd, 0);
	for (int k = 0; k < 4; k++)
		kn_free(be, in[k], 0), kn_free(be, g[k], 0);
}

/* in: x [N,C], W1 [H,C], b1 [H], W2 [OC,H], b2 [OC]; out: y [N,OC] */
void run_mlp(struct kn_backend *be, struct op_io *io, int backward)
{
	int N = io->B * io->T, C = io->C, H = io->H, OC = io->OC;
	void *in[5];
	for (int k = 0; k < 5; k++)
		in[k] = tu_dev(be, io->in[k], io->in_n[k], 0);
	void *pre = poisoned(be, (size_t)N * H), *h = poisoned(be, (size_t)N * H), *out = poisoned(be, io->out_n);
	void *g[5] = { NULL, NULL, NULL, NULL, NULL };
	kn_matmul_gelu_forward(be, h, pre, in[0], in[1], in[2], N, C, H);
	be->ops->matmul_forward(out, h, in[3], in[4], N, H, OC);
	if (backward) {
		void *dout = tu_dev(be, io->R, io->out_n, 0), *dpre = poisoned(be, (size_t)N * H);
		g[0] = poisoned(be, io->in_n[0]);
		for (int k = 1; k < 5; k++)
			g[k] = accumulated(be, io->in_n[k]);
		kn_matmul_backward_gelu(be, dpre, g[3], g[4], dout, h, in[3], pre, N, H, OC);
		be->ops->matmul_backward(g[0], g[1], g[2], dpre, in[0], in[1], N, C, H);
		kn_free(be, dout, 0), kn_free(be, dpre, 0);
	}
	finish_io(be, io, out, g, backward, 30);
	kn_free(be, pre, 0), kn_free(be, h, 0), kn_free(be, out, 0);
	for (int k = 0; k < 5; k++)
		kn_free(be, in[k], 0), kn_free(be, g[k], 0);
}

/* R is uniform (R[0]) for the fused loss: backward takes the scalar dloss */
void run_crossentropy(struct kn_backend *be, struct op_io *io, int backward)
{
	int N = io->B * io->T, V = io->V;
	void *logits = tu_dev(be, io->in[0], io->in_n[0], 0), *losses = tu_dev(be, NULL, N, 1);
	double *nan_losses = malloc(N * sizeof *nan_losses);
	for (int i = 0; i < N; i++)
		nan_losses[i] = NAN;
	be->vt->upload(be, losses, nan_losses, N, 1);
	free(nan_losses);
	void *tg = dev_ints(be, io->tokens, (size_t)N);
	void *g[1] = { NULL };
	be->ops->crossentropy_forward(losses, logits, tg, N, V);
	if (backward) {
		be->ops->crossentropy_backward(logits, tg, (float)io->R[0], N, V);
		g[0] = logits;
	}
	finish_io(be, io, losses, g, backward, 0);
	kn_free(be, logits, 0), kn_free(be, losses, 0), kn_free(be, tg, 0);
}


static double *rnd(size_t n, double lo, double hi, uint64_t seed)
{
	double *x = malloc(n * sizeof *x);
	tu_fill_uniform(x, n, lo, hi, seed);
	return x;
}

void op_io_free(struct op_io *io)
{
	for (int k = 0; k < io->n_in; k++)
		free(io->in[k]);
	free(io->R);
	free(io->tokens);
	free(io->out);
	for (int k = 0; k < MAXIN; k++)
		free(io->grad[k]);
	memset(io, 0, sizeof *io);
}

op_runner gpt_op_case(int k, struct op_io *io, const char **name)
{
	memset(io, 0, sizeof *io);
	switch (k) {
	case 0:
		*name = "encoder";
		/* C > 128 spans two column blocks of the CUDA embedding gradient */
		*io = (struct op_io){ .B = 2, .T = 5, .C = 130, .V = 7, .n_in = 2 };
		io->in_n[0] = (size_t)io->V * io->C;
		io->in_n[1] = (size_t)io->T * io->C;
		io->in[0] = rnd(io->in_n[0], -1, 1, 1);
		io->in[1] = rnd(io->in_n[1], -1, 1, 2);
		io->out_n = (size_t)io->B * io->T * io->C;
		io->R = rnd(io->out_n, -1, 1, 3);
		io->tokens = malloc(sizeof(int) * io->B * io->T);
		for (int i = 0; i < io->B * io->T; i++)
			io->tokens[i] = (i * 3) % 4; /* repeated tokens exercise the accumulation */
		return run_encoder;
	case 1: {
		*name = "layernorm";
		/* C = 136: several passes of a 32-lane row loop and two 128-column blocks;
		 * N = 75 rows: more than the CUDA column sums' 64 row chunks */
		*io = (struct op_io){ .B = 3, .T = 25, .C = 136, .n_in = 3 };
		size_t N = (size_t)io->B * io->T;
		io->in_n[0] = N * io->C;
		io->in_n[1] = io->in_n[2] = io->C;
		io->in[0] = rnd(io->in_n[0], -2, 2, 4);
		io->in[1] = rnd(io->C, 0.5, 1.5, 5);
		io->in[2] = rnd(io->C, -0.5, 0.5, 6);
		io->out_n = N * io->C;
		io->R = rnd(io->out_n, -1, 1, 7);
		return run_layernorm;
	}
	case 2:
	case 3: {
		*name = k == 2 ? "matmul" : "matmul (no bias)";
		/* N = 14, C = 12, OC = 20 all differ, so a swapped dimension or leading dimension shows */
		*io = (struct op_io){ .B = 2, .T = 7, .C = 12, .OC = 20, .n_in = k == 2 ? 3 : 2 };
		size_t N = (size_t)io->B * io->T;
		io->in_n[0] = N * io->C;
		io->in_n[1] = (size_t)io->OC * io->C;
		io->in[0] = rnd(io->in_n[0], -1, 1, 8);
		io->in[1] = rnd(io->in_n[1], -1, 1, 9);
		if (k == 2) {
			io->in_n[2] = io->OC;
			io->in[2] = rnd(io->in_n[2], -1, 1, 10);
		}
		io->out_n = N * io->OC;
		io->R = rnd(io->out_n, -1, 1, 11);
		return run_matmul;
	}
	case 4:
	case 11:
	case 12:
		/* T = 35: rows longer than one 32-lane pass of the CUDA softmax; head size 4 stays unfused.
		 * Head sizes 64 and 32 run fused where the backend has it (bf16/fp16 on CUDA): T = 70 and
		 * 130 end inside a 64-row tile, and 130 spans three, so the causal tile loops and the
		 * edges past T are exercised */
		*name = k == 4 ? "attention" : k == 11 ? "attention (head size 64)" : "attention (head size 32)";
		*io = k == 4    ? (struct op_io){ .B = 2, .T = 35, .C = 12, .NH = 3, .n_in = 1 }
		      : k == 11 ? (struct op_io){ .B = 2, .T = 70, .C = 128, .NH = 2, .n_in = 1 }
				: (struct op_io){ .B = 1, .T = 130, .C = 64, .NH = 2, .n_in = 1 };
		io->in_n[0] = (size_t)io->B * io->T * 3 * io->C;
		io->in[0] = rnd(io->in_n[0], -1.5, 1.5, 12);
		io->out_n = (size_t)io->B * io->T * io->C;
		io->R = rnd(io->out_n, -1, 1, 13);
		return run_attention;
	case 5:
		*name = "gelu";
		*io = (struct op_io){ .n_in = 1 };
		io->in_n[0] = io->out_n = 200;
		io->in[0] = rnd(200, -4, 4, 14);
		io->R = rnd(200, -1, 1, 15);
		return run_gelu;
	case 6:
		*name = "residual";
		*io = (struct op_io){ .n_in = 2 };
		io->in_n[0] = io->in_n[1] = io->out_n = 64;
		io->in[0] = rnd(64, -1, 1, 16);
		io->in[1] = rnd(64, -1, 1, 17);
		io->R = rnd(64, -1, 1, 18);
		return run_residual;
	case 8:
	case 9: {
		/* the GPT's MLP: hidden width 24 lets the CUDA backend fuse GELU into its GEMMs'
		 * epilogues (leading dimensions divisible by 8); 20 takes the unfused path */
		*name = k == 8 ? "mlp (fusable gelu)" : "mlp (unfusable gelu)";
		*io = (struct op_io){ .B = 2, .T = 7, .C = 12, .H = k == 8 ? 24 : 20, .OC = 20, .n_in = 5 };
		size_t N = (size_t)io->B * io->T;
		size_t n[5] = { N * io->C, (size_t)io->H * io->C, (size_t)io->H, (size_t)io->OC * io->H, (size_t)io->OC };
		for (int i = 0; i < 5; i++) {
			io->in_n[i] = n[i];
			io->in[i] = rnd(n[i], i == 0 ? -2 : -1, i == 0 ? 2 : 1, 20 + (uint64_t)i);
		}
		io->out_n = N * io->OC;
		io->R = rnd(io->out_n, -1, 1, 25);
		return run_mlp;
	}
	case 10: {
		*name = "residual + layernorm";
		/* as the layernorm case: several 32-lane passes per row */
		*io = (struct op_io){ .B = 3, .T = 5, .C = 136, .n_in = 4 };
		size_t NC = (size_t)io->B * io->T * io->C;
		io->in_n[0] = io->in_n[1] = NC;
		io->in_n[2] = io->in_n[3] = io->C;
		io->in[0] = rnd(NC, -2, 2, 30);
		io->in[1] = rnd(NC, -1, 1, 31);
		io->in[2] = rnd(io->C, 0.5, 1.5, 32);
		io->in[3] = rnd(io->C, -0.5, 0.5, 33);
		io->out_n = 2 * NC;
		io->R = rnd(io->out_n, -1, 1, 34);
		return run_residual_layernorm;
	}
	default: {
		*name = "crossentropy";
		/* V = 300: more than one pass of a 256-thread row block */
		*io = (struct op_io){ .B = 2, .T = 5, .V = 300, .n_in = 1, .out_master = 1 };
		size_t N = (size_t)io->B * io->T;
		io->in_n[0] = N * io->V;
		io->in[0] = rnd(io->in_n[0], -3, 3, 19);
		io->out_n = N;
		io->R = malloc(N * sizeof *io->R);
		for (size_t i = 0; i < N; i++)
			io->R[i] = 0.37; /* the mean-loss scale: the fused loss takes a scalar dloss */
		io->tokens = malloc(sizeof(int) * N);
		for (size_t i = 0; i < N; i++)
			io->tokens[i] = (int)((i * 5) % (size_t)io->V);
		return run_crossentropy;
	}
	}
}
