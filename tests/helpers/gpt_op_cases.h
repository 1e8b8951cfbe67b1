/*
 * The GPT ops' test cases, shared by the CPU suite (finite differences on the
 * fp64 reference, fp32 against fp64) and the GPU suite (CUDA against fp64 per
 * precision). A runner uploads io's inputs to `be`, runs the op's forward and,
 * with `backward`, its backward with dout = R, and downloads the forward
 * output into io->out and the input gradients into io->grad (both malloc'd).
 * Outputs the op must overwrite start as NaN, so unwritten elements fail;
 * gradients it accumulates into start from a nonzero pattern that is
 * subtracted after the download, so overwriting instead of adding fails.
 */
#ifndef GPT_OP_CASES_H
#define GPT_OP_CASES_H

#include <stddef.h>

struct kn_backend;

#define MAXIN 5

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
	int H;           /* the MLP's hidden width */
	int *tokens;     /* host ints for encoder / targets */
};

typedef void (*op_runner)(struct kn_backend *be, struct op_io *io, int backward);

void run_encoder(struct kn_backend *be, struct op_io *io, int backward);
void run_layernorm(struct kn_backend *be, struct op_io *io, int backward);
void run_matmul(struct kn_backend *be, struct op_io *io, int backward);
void run_attention(struct kn_backend *be, struct op_io *io, int backward);
void run_gelu(struct kn_backend *be, struct op_io *io, int backward);
void run_residual(struct kn_backend *be, struct op_io *io, int backward);
void run_crossentropy(struct kn_backend *be, struct op_io *io, int backward);
/* res = a + b, out = layernorm(res): the output is res then out; backward as the model's */
void run_residual_layernorm(struct kn_backend *be, struct op_io *io, int backward);
/* linear -> GELU -> linear, through kn_matmul_gelu_forward / kn_matmul_backward_gelu */
void run_mlp(struct kn_backend *be, struct op_io *io, int backward);

/* The standard cases: fills io for case k (0..GPT_OP_NCASES-1) and returns its runner. */
#define GPT_OP_NCASES 13
op_runner gpt_op_case(int k, struct op_io *io, const char **name);
void op_io_free(struct op_io *io);

#endif
