/*
 * KxK convolution over NHWC maps through im2col + GEMM.
 *
 * An im2col row holds the K*K*C inputs one output pixel sees, in (ky, kx, c)
 * order, so with weights [OC, K*K*C] the forward is one GEMM per chunk:
 * out[rows, OC] = cols[rows, KKC] @ W^T. The batch is cut into chunks of whole
 * images whose cols fit a fixed budget (CONV_WORK_ELEMS), so the workspace
 * stays small at any batch size and the chunking, hence every sum's order,
 * depends on the shape alone, never on the thread count. Within a chunk the
 * GEMMs are cut into fixed tiles (ROW_TILE output rows, or COL_TILE weight
 * columns for the filter gradient), each a single-threaded BLAS call inside
 * our OpenMP loop: BLAS's own threading picks its blocking from the thread
 * count, which changes the rounding, so it is kept out.
 */
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cpu/real.h"

#define CONV_WORK_ELEMS (1 << 20)
#define ROW_TILE 128
#define COL_TILE 32

static int images_per_chunk(const struct kn_conv_shape *s)
{
	size_t per_image = (size_t)kn_conv_out_dim(s->H, s->K, s->stride, s->pad) *
			   kn_conv_out_dim(s->W, s->K, s->stride, s->pad) * s->K * s->K * s->C;
	size_t n = CONV_WORK_ELEMS / (per_image ? per_image : 1);
	if (n < 1)
		n = 1;
	return n > (size_t)s->N ? s->N : (int)n;
}

size_t KN_CPU_FN(conv2d_workspace_bytes)(const struct kn_conv_shape *s)
{
	size_t OH = kn_conv_out_dim(s->H, s->K, s->stride, s->pad), OW = kn_conv_out_dim(s->W, s->K, s->stride, s->pad);
	return (size_t)images_per_chunk(s) * OH * OW * s->K * s->K * s->C * sizeof(real);
}

/* im2col of rows [r0, r1) of the chunk starting at image n0 into cols (row r at r * KKC) */
static void im2col_rows(real *cols, const real *inp, const struct kn_conv_shape *s, int n0, long r0, long r1)
{
	int K = s->K, C = s->C, H = s->H, W = s->W;
	int OH = kn_conv_out_dim(H, K, s->stride, s->pad), OW = kn_conv_out_dim(W, K, s->stride, s->pad);
	size_t KKC = (size_t)K * K * C;
	for (long r = r0; r < r1; r++) {
		int n = n0 + (int)(r / (OH * OW)), oy = (int)(r / OW % OH), ox = (int)(r % OW);
		real *dst = cols + (size_t)r * KKC;
		for (int ky = 0; ky < K; ky++) {
			int iy = oy * s->stride - s->pad + ky;
			for (int kx = 0; kx < K; kx++, dst += C) {
				int ix = ox * s->stride - s->pad + kx;
				if (iy < 0 || iy >= H || ix < 0 || ix >= W)
					memset(dst, 0, C * sizeof(real));
				else
					memcpy(dst, inp + (((size_t)n * H + iy) * W + ix) * C, C * sizeof(real));
			}
		}
	}
}

void KN_CPU_FN(conv2d_forward)(void *out_, const void *inp_, const void *weight_, void *work_,
			       const struct kn_conv_shape *s)
{
	real *out = out_, *cols = work_;
	const real *inp = inp_, *w = weight_;
	int OH = kn_conv_out_dim(s->H, s->K, s->stride, s->pad), OW = kn_conv_out_dim(s->W, s->K, s->stride, s->pad);
	int KKC = s->K * s->K * s->C, chunk = images_per_chunk(s);
	for (int n0 = 0; n0 < s->N; n0 += chunk) {
		int nimg = s->N - n0 < chunk ? s->N - n0 : chunk;
		long rows = (long)nimg * OH * OW, ntiles = (rows + ROW_TILE - 1) / ROW_TILE;
		real *o = out + (size_t)n0 * OH * OW * s->OC;
		/* each tile gathers its rows and multiplies them while they are in cache */
#pragma omp parallel for schedule(static)
		for (long t = 0; t < ntiles; t++) {
			long r0 = t * ROW_TILE, r1 = r0 + ROW_TILE < rows ? r0 + ROW_TILE : rows;
			im2col_rows(cols, inp, s, n0, r0, r1);
			KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), s->OC, KKC, 1,
				cols + (size_t)r0 * KKC, KKC, w, KKC, 0, o + (size_t)r0 * s->OC, s->OC);
		}
	}
}

void KN_CPU_FN(conv2d_backward_filter)(void *dweight_, const void *dout_, const void *inp_, void *work_,
				       const struct kn_conv_shape *s)
{
	real *dw = dweight_, *cols = work_;
	const real *dout = dout_, *inp = inp_;
	int OH = kn_conv_out_dim(s->H, s->K, s->stride, s->pad), OW = kn_conv_out_dim(s->W, s->K, s->stride, s->pad);
	int KKC = s->K * s->K * s->C, chunk = images_per_chunk(s);
	int ncoltiles = (KKC + COL_TILE - 1) / COL_TILE;
	for (int n0 = 0; n0 < s->N; n0 += chunk) {
		int nimg = s->N - n0 < chunk ? s->N - n0 : chunk;
		long rows = (long)nimg * OH * OW, ntiles = (rows + ROW_TILE - 1) / ROW_TILE;
		const real *d = dout + (size_t)n0 * OH * OW * s->OC;
#pragma omp parallel for schedule(static)
		for (long t = 0; t < ntiles; t++)
			im2col_rows(cols, inp, s, n0, t * ROW_TILE, t * ROW_TILE + ROW_TILE < rows ? t * ROW_TILE + ROW_TILE : rows);
		/* dW[:, j0:j1] += dout[rows, OC]^T @ cols[rows, j0:j1]: every tile sums
		 * all rows itself, and the chunks add in order */
#pragma omp parallel for schedule(static)
		for (int t = 0; t < ncoltiles; t++) {
			int j0 = t * COL_TILE, j1 = j0 + COL_TILE < KKC ? j0 + COL_TILE : KKC;
			KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, s->OC, j1 - j0, (int)rows, 1, d, s->OC, cols + j0, KKC,
				1, dw + j0, KKC);
		}
	}
}

/* col2im as a gather: every input pixel sums the (at most K*K) im2col entries
 * that read it, in (ky, kx) order, so no two threads write the same element. */
static void col2im(real *dinp, const real *dcols, const struct kn_conv_shape *s, int n0, int nimg)
{
	int K = s->K, C = s->C, H = s->H, W = s->W, st = s->stride;
	int OH = kn_conv_out_dim(H, K, st, s->pad), OW = kn_conv_out_dim(W, K, st, s->pad);
	size_t KKC = (size_t)K * K * C;
	long pixels = (long)nimg * H * W;
#pragma omp parallel for schedule(static)
	for (long p = 0; p < pixels; p++) {
		int n = (int)(p / (H * W)), iy = (int)(p / W % H), ix = (int)(p % W);
		real *dst = dinp + ((size_t)(n0 + n) * H * W + (size_t)iy * W + ix) * C;
		memset(dst, 0, C * sizeof(real));
		for (int ky = 0; ky < K; ky++) {
			int ty = iy + s->pad - ky;
			if (ty < 0 || ty % st || ty / st >= OH)
				continue;
			for (int kx = 0; kx < K; kx++) {
				int tx = ix + s->pad - kx;
				if (tx < 0 || tx % st || tx / st >= OW)
					continue;
				const real *src = dcols + (((size_t)n * OH + ty / st) * OW + tx / st) * KKC +
						  ((size_t)ky * K + kx) * C;
				for (int c = 0; c < C; c++)
					dst[c] += src[c];
			}
		}
	}
}

void KN_CPU_FN(conv2d_backward_data)(void *dinp_, const void *dout_, const void *weight_, void *work_,
				     const struct kn_conv_shape *s)
{
	real *dinp = dinp_, *dcols = work_;
	const real *dout = dout_, *w = weight_;
	int OH = kn_conv_out_dim(s->H, s->K, s->stride, s->pad), OW = kn_conv_out_dim(s->W, s->K, s->stride, s->pad);
	int KKC = s->K * s->K * s->C, chunk = images_per_chunk(s);
	for (int n0 = 0; n0 < s->N; n0 += chunk) {
		int nimg = s->N - n0 < chunk ? s->N - n0 : chunk;
		long rows = (long)nimg * OH * OW, ntiles = (rows + ROW_TILE - 1) / ROW_TILE;
		const real *d = dout + (size_t)n0 * OH * OW * s->OC;
		/* dcols[rows, KKC] = dout[rows, OC] @ W[OC, KKC] */
#pragma omp parallel for schedule(static)
		for (long t = 0; t < ntiles; t++) {
			long r0 = t * ROW_TILE, r1 = r0 + ROW_TILE < rows ? r0 + ROW_TILE : rows;
			KN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(r1 - r0), KKC, s->OC, 1, d + (size_t)r0 * s->OC,
				s->OC, w, KKC, 0, dcols + (size_t)r0 * KKC, KKC);
		}
		col2im(dinp, dcols, s, n0, nimg);
	}
}

void KN_CPU_FN(image_to_nhwc)(void *out_, const float *images, int N, int C, int H, int W)
{
	real *out = out_;
	size_t HW = (size_t)H * W;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *src = images + (size_t)n * C * HW;
		real *dst = out + (size_t)n * HW * C;
		for (size_t p = 0; p < HW; p++)
			for (int c = 0; c < C; c++)
				dst[p * C + c] = (real)src[(size_t)c * HW + p];
	}
}
