/*
 * Winograd F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2015) for 3x3 stride-1 padding-1 convolutions over NHWC maps.
 *
 * The output is cut into 2x2 tiles; tile t reads a 4x4 input patch d (rows 2ty-1 .. 2ty+2, zero
 * outside the image). Per input channel c and output channel o:
 *
 *   out_tile = A^T [ (G g G^T) .* (B^T d B) ] A      (.* elementwise, 4x4)
 *
 * so with V[xi][t][c] = (B^T d_c B)[xi] and U[xi][o][c] = (G g_oc G^T)[xi] for the 16 positions xi
 * of the 4x4 domain, the sum over c is 16 independent GEMMs M[xi] = V[xi] U[xi]^T of
 * [tiles x C] by [C x OC], then out_tile = A^T M A. That is 16 multiply-adds per 4 outputs
 * instead of 36: 2.25x fewer GEMM FLOPs (less where a map's odd side pads its last tiles).
 * The filter gradient is the exact adjoint, in the same domain: dM = A dout_tile A^T,
 * dU[xi] = dM[xi]^T V[xi] summed over tiles, dg = G^T dU G.
 *
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 *
 * Work goes in chunks of whole images whose V and M fit WINO_CHUNK_ELEMS; each stage is one
 * parallel loop (transforms over tiles, GEMMs over the 16 positions: one single-threaded BLAS
 * call each, as in conv.c), and the filter gradient sums the chunks in order. Chunks depend on
 * the shape alone, so every result is bitwise identical for any thread count.
 *
 * Workspace (of real): U or dU [16][OC][C], a zero row of max(C, OC), V [16][tiles][C] and M or
 * dM [16][tiles][OC] of one chunk.
 */
#include <string.h>

#include "kernels/cpu/winograd.h"

#define WINO_CHUNK_ELEMS (1 << 22)
#define OUT_BLOCK 64 /* output channels the output transform holds at once */

int KN_CPU_FN(winograd_min_channels) = 32;

int KN_CPU_FN(winograd_applies)(const struct kn_conv_shape *s)
{
	int min = KN_CPU_FN(winograd_min_channels);
	return s->K == 3 && s->stride == 1 && s->pad == 1 && s->C >= min && s->OC >= min;
}

static int tiles_y(const struct kn_conv_shape *s) { return (s->H + 1) / 2; }
static int tiles_x(const struct kn_conv_shape *s) { return (s->W + 1) / 2; }
static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

/* whole images per chunk, from the shape alone (a call with fewer images than the workspace was
 * sized for takes chunks no larger) */
static int images_per_chunk(const struct kn_conv_shape *s)
{
	size_t per_image = 16 * (size_t)tiles_y(s) * tiles_x(s) * (s->C + s->OC);
	size_t n = WINO_CHUNK_ELEMS / per_image;
	if (n < 1)
		n = 1;
	return n > (size_t)s->N ? s->N : (int)n;
}

struct wino_work {
	real *u, *zero, *v, *m;
};

static struct wino_work carve(real *work, const struct kn_conv_shape *s)
{
	size_t tiles = (size_t)images_per_chunk(s) * tiles_y(s) * tiles_x(s);
	struct wino_work w;
	w.u = work;
	w.zero = w.u + round16(16 * (size_t)s->C * s->OC);
	w.v = w.zero + round16(s->C > s->OC ? s->C : s->OC);
	w.m = w.v + round16(16 * tiles * s->C);
	memset(w.zero, 0, (s->C > s->OC ? s->C : s->OC) * sizeof(real));
	return w;
}

size_t KN_CPU_FN(winograd_elems)(const struct kn_conv_shape *s)
{
	size_t tiles = (size_t)images_per_chunk(s) * tiles_y(s) * tiles_x(s);
	return round16(16 * (size_t)s->C * s->OC) + round16(s->C > s->OC ? s->C : s->OC) + round16(16 * tiles * s->C) +
	       16 * tiles * s->OC;
}

/* The size x size rows (each of `len` elements) of the patch of tile t of a chunk from image n0:
 * off -1, size 4 for the input patch around a 2x2 output tile, off 0, size 2 for the tile itself;
 * the zero row outside the map. */
static void patch_rows(const real **p, int size, const real *map, const real *zero, const struct kn_conv_shape *s,
		       int n0, long t, int off, int len)
{
	int TY = tiles_y(s), TX = tiles_x(s), n = n0 + (int)(t / ((long)TY * TX)), ty = (int)(t / TX % TY), tx = (int)(t % TX);
	for (int i = 0; i < size; i++)
		for (int j = 0; j < size; j++) {
			int y = 2 * ty + off + i, x = 2 * tx + off + j;
			p[i * size + j] = y >= 0 && y < s->H && x >= 0 && x < s->W ? map + (((size_t)n * s->H + y) * s->W + x) * len
										 : zero;
		}
}

/* V[xi][t][c] = (B^T d B)[xi] for the tiles of images n0 .. n0 + nimg - 1 */
static void input_transform(real *v, const real *inp, const real *zero, const struct kn_conv_shape *s, int n0, int nimg)
{
	int C = s->C;
	long tiles = (long)nimg * tiles_y(s) * tiles_x(s);
	size_t plane = (size_t)tiles * C;
#pragma omp parallel for schedule(static)
	for (long t = 0; t < tiles; t++) {
		const real *p[16];
		patch_rows(p, 4, inp, zero, s, n0, t, -1, C);
		real *dst = v + (size_t)t * C;
#pragma omp simd
		for (int c = 0; c < C; c++) {
			real r[4][4];
			for (int j = 0; j < 4; j++) { /* B^T d, column j */
				real d0 = p[j][c], d1 = p[4 + j][c], d2 = p[8 + j][c], d3 = p[12 + j][c];
				r[0][j] = d0 - d2, r[1][j] = d1 + d2, r[2][j] = d2 - d1, r[3][j] = d1 - d3;
			}
			for (int i = 0; i < 4; i++) { /* (B^T d) B, row i */
				dst[(i * 4 + 0) * plane + c] = r[i][0] - r[i][2];
				dst[(i * 4 + 1) * plane + c] = r[i][1] + r[i][2];
				dst[(i * 4 + 2) * plane + c] = r[i][2] - r[i][1];
				dst[(i * 4 + 3) * plane + c] = r[i][1] - r[i][3];
			}
		}
	}
}

/* U[xi][o][c] = (G g G^T)[xi] for the 3x3 kernel g of output channel o and input channel c */
static void weight_transform(real *u, const real *w, const struct kn_conv_shape *s)
{
	int C = s->C, OC = s->OC;
	size_t plane = (size_t)OC * C;
#pragma omp parallel for schedule(static)
	for (int o = 0; o < OC; o++) {
		const real *g = w + (size_t)o * 9 * C;
		real *dst = u + (size_t)o * C;
#pragma omp simd
		for (int c = 0; c < C; c++) {
			real r[4][3];
			for (int j = 0; j < 3; j++) { /* G g, column j */
				real g0 = g[j * C + c], g1 = g[(3 + j) * C + c], g2 = g[(6 + j) * C + c];
				r[0][j] = g0, r[1][j] = (real)0.5 * (g0 + g1 + g2), r[2][j] = (real)0.5 * (g0 - g1 + g2), r[3][j] = g2;
			}
			for (int i = 0; i < 4; i++) { /* (G g) G^T, row i */
				dst[(i * 4 + 0) * plane + c] = r[i][0];
				dst[(i * 4 + 1) * plane + c] = (real)0.5 * (r[i][0] + r[i][1] + r[i][2]);
				dst[(i * 4 + 2) * plane + c] = (real)0.5 * (r[i][0] - r[i][1] + r[i][2]);
				dst[(i * 4 + 3) * plane + c] = r[i][2];
			}
		}
	}
}

/* out's 2x2 tiles = A^T M A, the parts inside the map */
static void output_transform(real *out, const real *m, const struct kn_conv_shape *s, int n0, int nimg)
{
	int TY = tiles_y(s), TX = tiles_x(s), OC = s->OC;
	long tiles = (long)nimg * TY * TX;
	size_t plane = (size_t)tiles * OC;
#pragma omp parallel for schedule(static)
	for (long t = 0; t < tiles; t++) {
		int n = n0 + (int)(t / (TY * TX)), ty = (int)(t / TX % TY), tx = (int)(t % TX);
		const real *src = m + (size_t)t * OC;
		for (int o0 = 0; o0 < OC; o0 += OUT_BLOCK) {
			int len = OC - o0 < OUT_BLOCK ? OC - o0 : OUT_BLOCK;
			real y[4][OUT_BLOCK];
#pragma omp simd
			for (int c = 0; c < len; c++) {
				real r[2][4];
				for (int j = 0; j < 4; j++) { /* A^T M, column j */
					real m0 = src[j * plane + o0 + c], m1 = src[(4 + j) * plane + o0 + c];
					real m2 = src[(8 + j) * plane + o0 + c], m3 = src[(12 + j) * plane + o0 + c];
					r[0][j] = m0 + m1 + m2, r[1][j] = m1 - m2 - m3;
				}
				for (int i = 0; i < 2; i++) { /* (A^T M) A, row i */
					y[i * 2 + 0][c] = r[i][0] + r[i][1] + r[i][2];
					y[i * 2 + 1][c] = r[i][1] - r[i][2] - r[i][3];
				}
			}
			for (int a = 0; a < 2; a++)
				for (int b = 0; b < 2; b++) {
					int oy = 2 * ty + a, ox = 2 * tx + b;
					if (oy < s->H && ox < s->W)
						memcpy(out + (((size_t)n * s->H + oy) * s->W + ox) * OC + o0, y[a * 2 + b],
						       len * sizeof(real));
				}
		}
	}
}

void KN_CPU_FN(winograd_forward)(real *out, const real *inp, const real *w, real *work, const struct kn_conv_shape *s)
{
	struct wino_work ws = carve(work, s);
	int C = s->C, OC = s->OC, chunk = images_per_chunk(s);
	weight_transform(ws.u, w, s);
	for (int n0 = 0; n0 < s->N; n0 += chunk) {
		int nimg = s->N - n0 < chunk ? s->N - n0 : chunk;
		long tiles = (long)nimg * tiles_y(s) * tiles_x(s);
		input_transform(ws.v, inp, ws.zero, s, n0, nimg);
#pragma omp parallel for schedule(static)
		for (int xi = 0; xi < 16; xi++)
			KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)tiles, OC, C, 1, ws.v + (size_t)xi * tiles * C, C,
				ws.u + (size_t)xi * OC * C, C, 0, ws.m + (size_t)xi * tiles * OC, OC);
		output_transform(out, ws.m, s, n0, nimg);
	}
}

/* dM[xi][t][o] = (A dY A^T)[xi] for the 2x2 output-gradient tiles (zero outside the map) */
static void grad_transform(real *dm, const real *dout, const real *zero, const struct kn_conv_shape *s, int n0, int nimg)
{
	int OC = s->OC;
	long tiles = (long)nimg * tiles_y(s) * tiles_x(s);
	size_t plane = (size_t)tiles * OC;
#pragma omp parallel for schedule(static)
	for (long t = 0; t < tiles; t++) {
		const real *p[4];
		patch_rows(p, 2, dout, zero, s, n0, t, 0, OC);
		real *dst = dm + (size_t)t * OC;
#pragma omp simd
		for (int c = 0; c < OC; c++) {
			real r[4][2];
			for (int j = 0; j < 2; j++) { /* A dY, column j */
				real y0 = p[j][c], y1 = p[2 + j][c];
				r[0][j] = y0, r[1][j] = y0 + y1, r[2][j] = y0 - y1, r[3][j] = -y1;
			}
			for (int i = 0; i < 4; i++) { /* (A dY) A^T, row i */
				dst[(i * 4 + 0) * plane + c] = r[i][0];
				dst[(i * 4 + 1) * plane + c] = r[i][0] + r[i][1];
				dst[(i * 4 + 2) * plane + c] = r[i][0] - r[i][1];
				dst[(i * 4 + 3) * plane + c] = -r[i][1];
			}
		}
	}
}

/* dw[o][ky][kx][c] += (G^T dU G)[ky][kx] */
static void weight_grad_transform(real *dw, const real *du, const struct kn_conv_shape *s)
{
	int C = s->C, OC = s->OC;
	size_t plane = (size_t)OC * C;
#pragma omp parallel for schedule(static)
	for (int o = 0; o < OC; o++) {
		const real *src = du + (size_t)o * C;
		real *g = dw + (size_t)o * 9 * C;
#pragma omp simd
		for (int c = 0; c < C; c++) {
			real r[3][4];
			for (int j = 0; j < 4; j++) { /* G^T dU, column j */
				real x0 = src[j * plane + c], x1 = src[(4 + j) * plane + c];
				real x2 = src[(8 + j) * plane + c], x3 = src[(12 + j) * plane + c];
				r[0][j] = x0 + (real)0.5 * (x1 + x2), r[1][j] = (real)0.5 * (x1 - x2), r[2][j] = (real)0.5 * (x1 + x2) + x3;
			}
			for (int i = 0; i < 3; i++) { /* (G^T dU) G, row i */
				g[(i * 3 + 0) * C + c] += r[i][0] + (real)0.5 * (r[i][1] + r[i][2]);
				g[(i * 3 + 1) * C + c] += (real)0.5 * (r[i][1] - r[i][2]);
				g[(i * 3 + 2) * C + c] += (real)0.5 * (r[i][1] + r[i][2]) + r[i][3];
			}
		}
	}
}

void KN_CPU_FN(winograd_backward_filter)(real *dw, const real *dout, const real *inp, real *work,
					 const struct kn_conv_shape *s)
{
	struct wino_work ws = carve(work, s);
	int C = s->C, OC = s->OC, chunk = images_per_chunk(s);
	for (int n0 = 0; n0 < s->N; n0 += chunk) {
		int nimg = s->N - n0 < chunk ? s->N - n0 : chunk;
		long tiles = (long)nimg * tiles_y(s) * tiles_x(s);
		input_transform(ws.v, inp, ws.zero, s, n0, nimg);
		grad_transform(ws.m, dout, ws.zero, s, n0, nimg);
		/* dU[xi][o][c] (+)= dM[xi]^T V[xi]: the first chunk overwrites, the others add in order */
#pragma omp parallel for schedule(static)
		for (int xi = 0; xi < 16; xi++)
			KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, (int)tiles, 1, ws.m + (size_t)xi * tiles * OC, OC,
				ws.v + (size_t)xi * tiles * C, C, n0 == 0 ? 0 : 1, ws.u + (size_t)xi * OC * C, C);
	}
	weight_grad_transform(dw, ws.u, s);
}
