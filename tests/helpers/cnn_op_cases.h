/*
 * The CNN ops' test cases, shared by the CPU suite (fp32 against the fp64
 * reference) and the GPU suite (CUDA against fp64, per precision).
 *
 * A case holds host inputs (doubles) and a runner. The runner uploads the
 * inputs to a backend, runs the op's forward and, with `backward`, its
 * backward with dout = R, and downloads every result into io->res[k].x
 * (malloc'd): the forward's outputs first (io->n_fwd of them), then the
 * gradients. Results the op must overwrite start as NaN, so an unwritten
 * element fails; gradients it accumulates into start from cnn_acc_start(),
 * which is subtracted after the download, so overwriting instead of adding
 * fails. Convolutions get a workspace of exactly the bytes the backend's
 * conv2d_workspace_bytes reports (through kn_alloc), filled with NaN bytes
 * and followed by a guard region that must come back untouched.
 *
 * Comparing two backends on the same inputs: cnn_io_quantize() first rounds
 * every input through the backend under test (act- or master-typed as the op
 * takes it), so the reference computes on exactly the values the other
 * backend sees and the tolerance only has to cover the op's own arithmetic.
 */
#ifndef CNN_OP_CASES_H
#define CNN_OP_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"

/* how a buffer is held on the device */
enum cnn_elem {
	CNN_ACT,    /* act-typed */
	CNN_MASTER, /* master-typed */
	CNN_F32,    /* float32 (the loader's images) */
	CNN_INT,    /* int32 (targets) */
};

struct cnn_buf {
	const char *name;
	enum cnn_elem type;
	size_t n;      /* 0: absent */
	double *x;     /* host values */
	/* results only, for the tolerance (cnn_tolerance) */
	int depth;     /* terms summed into each element */
	int tc;        /* products run on tensor cores: TF32 applies */
	int exact;     /* must match exactly (counts, layouts of exact values) */
	int acc;       /* the op accumulates into it (from cnn_acc_start) */
};

#define CNN_MAXIN 6
#define CNN_MAXRES 8

struct cnn_io {
	int n_in, n_fwd, n_res; /* n_fwd results from a forward-only run, n_res with backward */
	struct cnn_buf in[CNN_MAXIN];
	struct cnn_buf res[CNN_MAXRES];
	double *R;              /* dout, res[0].n elements */
	/* shapes and settings, as the op takes them */
	struct kn_conv_shape conv;
	int M, C, relu, residual, train;
	float momentum;
	int N, HW, V, H, W;
	int inplace;            /* relu: out aliases inp, dinp aliases dout */
	int steps;              /* sgd: updates in a row */
	float lr, sgd_momentum, weight_decay, grad_scale;
	size_t work_bytes;      /* conv: what conv2d_workspace_bytes reported (set by the runner) */
	long expect;            /* count_correct: the count worked out on the host, which the runner asserts */
	/* conv: a layer whose input gradient the model never computes (the stem, on
	 * the images). On the cuda backend only, backward-data may then fail with
	 * exactly the error the backend gives when cuDNN offers no algorithm for
	 * it (kernels/cuda/cuda_cnn.cu, no_bwd_data); the runner then
	 * sets bwd_data_skipped, leaves "conv dinp" unfetched and puts the
	 * backend's message in skip_note. The backend has failed (its errors are
	 * sticky): the caller must release it and open a new one. Any other error,
	 * and any error on another backend, fails as usual. */
	int bwd_data_optional;
	int bwd_data_skipped;
	char skip_note[400];
};

typedef void (*cnn_runner)(struct kn_backend *be, struct cnn_io *io, int backward);

/* The standard cases: fills io for case k (0 .. CNN_OP_NCASES-1) and returns its runner. */
#define CNN_OP_NCASES 25
cnn_runner cnn_op_case(int k, struct cnn_io *io, const char **name);
/* Builders for other shapes (inputs drawn from seed). */
cnn_runner cnn_conv_case(struct cnn_io *io, struct kn_conv_shape s, uint64_t seed);
/* the index of the conv's "conv dinp" result, which bwd_data_skipped leaves unfetched */
#define CNN_CONV_DINP 1
/* 1 when result k of io was not computed (see bwd_data_skipped) and must not be compared */
int cnn_res_skipped(const struct cnn_io *io, int k);
cnn_runner cnn_batchnorm_case(struct cnn_io *io, int M, int C, int residual, int relu, int train, uint64_t seed);
/* 1 for the convolution and batch-norm runners */
int cnn_is_conv(cnn_runner run);
int cnn_is_batchnorm(cnn_runner run);

/* Rounds io's inputs and R to what `be` stores (see above). */
void cnn_io_quantize(struct kn_backend *be, struct cnn_io *io);
/* Moves the results out of io into kept[0 .. n_res) (the caller frees them). */
void cnn_io_keep(struct cnn_io *io, double *kept[CNN_MAXRES]);
void cnn_io_free(struct cnn_io *io);

/* The start value of accumulated gradients at element i: multiples of 1/8 in
 * [-1/2, 1/2], exact in every format. */
double cnn_acc_start(size_t i);

/*
 * Tolerance of result b at precision p, as a fraction of the result's scale
 * S = max |want| (+ 1/2 where the op accumulates onto cnn_acc_start, whose
 * values are rounded together with the result): with u the unit roundoff of
 * b's storage (2^-24 fp32 and master-typed, 2^-11 fp16, 2^-8 bf16) and
 * u32 = 2^-24 for the fp32 accumulators,
 *   tol = 6 u + 16 sqrt(depth) u32  (+ 8 * 2^-11 for tensor-core products in tf32)
 * 6 u: the final rounding plus intermediates rounded to the storage type;
 * 16 sqrt(depth) u32: fp32 rounding errors of a depth-term sum, which grow as
 * a random walk, at 4 sigma with room for the transform algorithms (Winograd,
 * FFT) a convolution library may pick; TF32 rounds both factors of every
 * product to 11 bits (2 * 2^-11 each), summing like random noise to about
 * that fraction of S, times 4. Exact results: 0.
 */
double cnn_tolerance(enum kn_precision p, const struct cnn_buf *b);
/* max_i |got[i] - want[i]| / (tol * S); <= 1 passes. NaN counts as infinite, and so does a
 * comparison of nothing (no elements, a result never fetched) or a non-finite want. */
double cnn_max_err(enum kn_precision p, const struct cnn_buf *b, const double *got, const double *want);

#endif
