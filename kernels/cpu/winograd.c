/*
 * Winograd F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2015) for 3x3 stride-1 padding-1 convolutions over NHWC maps.
 *
 * The output is cut into m x m tiles (m = 4); tile t reads an a x a input patch d (a = m + 2 = 6:
 * rows m*ty - 1 .. m*ty + m, zero outside the image). Per input channel c and output channel o:
 *
 *   out_tile = A^T [ (G g G^T) .* (B^T d B) ] A      (.* elementwise, a x a)
 *
 * so with V[xi][t][c] = (B^T d_c B)[xi] and U[xi][o][c] = (G g_oc G^T)[xi] for the a*a positions
 * xi, the sum over c is a*a independent GEMMs M[xi] = V[xi] U[xi]^T of [tiles x C] by [C x OC],
 * then out_tile = A^T M A: 36 multiply-adds per 16 outputs instead of 144, 4x fewer (less where
 * the map's side is no multiple of 4 and the last tiles are padded: 14x14 computes 16x16). The
 * filter gradient is the exact adjoint, in the same domain: dM = A dY A^T for each
 * output-gradient tile dY, dU[xi] = dM[xi]^T V[xi] summed over tiles, dg = G^T dU G.
 *
 * The interpolation points are 0, 1, -1, 1/2, -2 (and infinity), not the usual 0, 1, -1, 2, -2,
 * whose fp32 error is 2.7x larger (Barabasz et al., "Error analysis and improving the accuracy
 * of Winograd convolution for deep neural networks", 2020); A^T and G follow from the points,
 * B^T from A^T and G (solved exactly, in rationals):
 *   A^T = [1 1 1 1 1 0; 0 1 -1 1/2 -2 0; 0 1 1 1/4 4 0; 0 1 -1 1/8 -8 1]
 *   G   = [1 0 0; 1/3 1/3 1/3; -1/3 1/3 -1/3; -16/15 -8/15 -4/15; 1/15 -2/15 4/15; 0 0 1]
 *   B^T = [1 -3/2 -2 3/2 1 0; 0 -1 1/2 5/2 1 0; 0 1 -5/2 1/2 1 0; 0 -2 -1 2 1 0;
 *          0 1/2 -1 -1/2 1 0; 0 1 -3/2 -2 3/2 1]
 * The coefficients still cost precision: the fp32 error against fp64 is up to about 5e-6 of the
 * result's scale, some 10x im2col's (tests/check_cnn_ops.c prints both). F(2x2, 3x3) keeps
 * im2col's error but does 2.25x, not 4x, fewer multiply-adds, and was slower on every layer of
 * the presets (docs/benchmarks.md); it was dropped.
 *
 * Every 2-D transform is a 1-D transform of columns, then of rows, over blocks of CH_BLOCK
 * channels held in a local buffer; each 1-D transform is one vectorised loop over channels.
 * Work goes in chunks of whole images whose V and M fit WINO_CHUNK_ELEMS; each stage is one
 * parallel loop (transforms over tiles, GEMMs over the a*a positions: one single-threaded BLAS
 * call each, as in conv.c), and the filter gradient sums the chunks in order. Chunks depend on
 * the shape alone, so every result is bitwise identical for any thread count.
 *
 * Workspace (of real): U or dU [a*a][OC][C], a zero row of max(C, OC), V [a*a][tiles][C] and M
 * or dM [a*a][tiles][OC] of one chunk.
 */
#include <string.h>

#include "kernels/cpu/winograd.h"

#define WINO_CHUNK_ELEMS (1 << 22)
#define CH_BLOCK 64 /* channels a tile's transform holds at once */
#define TILE 4  /* the output tile's side, m */
#define PATCH 6 /* the input patch's side, a = m + 2 */

int KN_CPU_FN(winograd_min_channels) = 16;

int KN_CPU_FN(winograd_applies)(const struct kn_conv_shape *s)
{
	int min = KN_CPU_FN(winograd_min_channels);
	return s->K == 3 && s->stride == 1 && s->pad == 1 && s->C >= min && s->OC >= min;
}

struct wino {
	int ty, tx;       /* tiles down and across */
	long per_image;   /* tiles per image */
	int chunk;        /* whole images per chunk */
};

static struct wino plan(const struct kn_conv_shape *s)
{
	struct wino w;
	w.ty = (s->H + TILE - 1) / TILE;
	w.tx = (s->W + TILE - 1) / TILE;
	w.per_image = (long)w.ty * w.tx;
	/* from the shape alone: a call with fewer images than the workspace was sized for takes
	 * chunks no larger */
	size_t n = WINO_CHUNK_ELEMS / ((size_t)PATCH * PATCH * w.per_image * (s->C + s->OC));
	w.chunk = n < 1 ? 1 : n > (size_t)s->N ? s->N : (int)n;
	return w;
}

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

struct wino_work {
	real *u, *zero, *v, *m;
};

/* The workspace's parts (see top) as element offsets into it, and its size. */
static size_t layout(const struct kn_conv_shape *s, const struct wino *w, size_t *zero, size_t *v, size_t *m)
{
	size_t npos = (size_t)PATCH * PATCH, tiles = (size_t)w->chunk * w->per_image, widest = s->C > s->OC ? s->C : s->OC;
	*zero = round16(npos * s->C * s->OC);
	*v = *zero + round16(widest);
	*m = *v + round16(npos * tiles * s->C);
	return *m + npos * tiles * s->OC;
}

static struct wino_work carve(real *work, const struct kn_conv_shape *s, const struct wino *w)
{
	size_t zero, v, m;
	layout(s, w, &zero, &v, &m);
	struct wino_work ws = { work, work + zero, work + v, work + m };
	memset(ws.zero, 0, (v - zero) * sizeof(real)); /* the zero row, rounded up */
	return ws;
}

size_t KN_CPU_FN(winograd_elems)(const struct kn_conv_shape *s)
{
	struct wino w = plan(s);
	size_t zero, v, m;
	return layout(s, &w, &zero, &v, &m);
}

/* ---- the 1-D transforms: o[k][c] from x[0..][c], for c < n ---- */

typedef void (*transform_1d)(real *const *o, const real *const *x, int n);
/* G and G^T (the weights' transforms) work in double, so their thirds and fifteenths are
 * products, not divisions (which cost 2% of a resnet step), rounded to real once */
#define THIRD (1.0 / 3)
#define FIFTEENTH (1.0 / 15)
#define EACH_CHANNEL _Pragma("omp simd") for (int c = 0; c < n; c++)

static inline void bt4(real *const *o, const real *const *x, int n) /* B^T, 6 -> 6 */
{
	EACH_CHANNEL {
		real d0 = x[0][c], d1 = x[1][c], d2 = x[2][c], d3 = x[3][c], d4 = x[4][c], d5 = x[5][c];
		o[0][c] = d0 + (real)1.5 * (d3 - d1) - 2 * d2 + d4;
		o[1][c] = (real)0.5 * d2 + (real)2.5 * d3 - d1 + d4;
		o[2][c] = d1 - (real)2.5 * d2 + (real)0.5 * d3 + d4;
		o[3][c] = 2 * (d3 - d1) - d2 + d4;
		o[4][c] = (real)0.5 * (d1 - d3) - d2 + d4;
		o[5][c] = d1 + (real)1.5 * (d4 - d2) - 2 * d3 + d5;
	}
}

static inline void g4(real *const *o, const real *const *x, int n) /* G, 3 -> 6 */
{
	EACH_CHANNEL {
		double g0 = x[0][c], g1 = x[1][c], g2 = x[2][c];
		o[0][c] = (real)g0;
		o[1][c] = (real)((g0 + g1 + g2) * THIRD);
		o[2][c] = (real)((g1 - g0 - g2) * THIRD);
		o[3][c] = (real)(-(16 * g0 + 8 * g1 + 4 * g2) * FIFTEENTH);
		o[4][c] = (real)((g0 - 2 * g1 + 4 * g2) * FIFTEENTH);
		o[5][c] = (real)g2;
	}
}

static inline void at4(real *const *o, const real *const *x, int n) /* A^T, 6 -> 4 */
{
	EACH_CHANNEL {
		real m0 = x[0][c], m1 = x[1][c], m2 = x[2][c], m3 = x[3][c], m4 = x[4][c], m5 = x[5][c];
		real p12 = m1 + m2, d12 = m1 - m2;
		o[0][c] = m0 + p12 + m3 + m4;
		o[1][c] = d12 + (real)0.5 * m3 - 2 * m4;
		o[2][c] = p12 + (real)0.25 * m3 + 4 * m4;
		o[3][c] = d12 + (real)0.125 * m3 - 8 * m4 + m5;
	}
}

static inline void a4(real *const *o, const real *const *x, int n) /* A, 4 -> 6 */
{
	EACH_CHANNEL {
		real y0 = x[0][c], y1 = x[1][c], y2 = x[2][c], y3 = x[3][c];
		o[0][c] = y0;
		o[1][c] = y0 + y1 + y2 + y3;
		o[2][c] = y0 - y1 + y2 - y3;
		o[3][c] = y0 + (real)0.5 * y1 + (real)0.25 * y2 + (real)0.125 * y3;
		o[4][c] = y0 - 2 * y1 + 4 * y2 - 8 * y3;
		o[5][c] = y3;
	}
}

static inline void gt4(real *const *o, const real *const *x, int n) /* G^T, 6 -> 3 */
{
	EACH_CHANNEL {
		double x0 = x[0][c], x1 = x[1][c], x2 = x[2][c], x3 = x[3][c], x4 = x[4][c], x5 = x[5][c];
		o[0][c] = (real)(x0 + (x1 - x2) * THIRD + (x4 - 16 * x3) * FIFTEENTH);
		o[1][c] = (real)((x1 + x2) * THIRD - (8 * x3 + 2 * x4) * FIFTEENTH);
		o[2][c] = (real)((x1 - x2) * THIRD + (4 * x4 - 4 * x3) * FIFTEENTH + x5);
	}
}

/* o = L x L^T for an ni x ni grid x of channel rows, L the (no x ni) matrix f applies: f on each
 * column into tmp (no x ni rows of CH_BLOCK), then on each row of tmp. */
static inline __attribute__((always_inline)) void transform_2d(transform_1d f, int ni, int no, real *const *o, const real *const *x, real *tmp, int n)
{
	const real *in[PATCH];
	real *out[PATCH];
	for (int j = 0; j < ni; j++) {
		for (int k = 0; k < ni; k++)
			in[k] = x[k * ni + j];
		for (int k = 0; k < no; k++)
			out[k] = tmp + (size_t)(k * ni + j) * CH_BLOCK;
		f(out, in, n);
	}
	for (int i = 0; i < no; i++) {
		for (int k = 0; k < ni; k++)
			in[k] = tmp + (size_t)(i * ni + k) * CH_BLOCK;
		f(o + i * no, in, n);
	}
}

/* The size x size rows (each of `len` elements, from element c0) of the patch of tile t of a
 * chunk from image n0, starting `off` pixels before the tile (1 for the input patch, 0 for the
 * tile itself); the zero row outside the map. */
static void patch_rows(const real **p, int size, const real *map, const real *zero, const struct kn_conv_shape *s,
		       const struct wino *w, int n0, long t, int off, int len, int c0)
{
	int n = n0 + (int)(t / w->per_image), ty = (int)(t / w->tx % w->ty), tx = (int)(t % w->tx);
	for (int i = 0; i < size; i++)
		for (int j = 0; j < size; j++) {
			int y = TILE * ty - off + i, x = TILE * tx - off + j;
			p[i * size + j] = y >= 0 && y < s->H && x >= 0 && x < s->W
						  ? map + (((size_t)n * s->H + y) * s->W + x) * len + c0
						  : zero + c0;
		}
}

/* per tile of images n0 .. n0 + nimg - 1, each block of channels: dst[xi][t] = L patch L^T with
 * L = B^T on the input patch (V) or A on the output-gradient tile (dM) */
static void tile_transform(real *dst, const real *map, const real *zero, const struct kn_conv_shape *s,
			   const struct wino *w, int n0, int nimg, int grad)
{
	int len = grad ? s->OC : s->C, ni = grad ? TILE : PATCH, npos = PATCH * PATCH;
	long tiles = (long)nimg * w->per_image;
	size_t plane = (size_t)tiles * len;
#pragma omp parallel for schedule(static)
	for (long t = 0; t < tiles; t++) {
		const real *p[PATCH * PATCH];
		real *o[PATCH * PATCH], tmp[PATCH * PATCH * CH_BLOCK];
		for (int c0 = 0; c0 < len; c0 += CH_BLOCK) {
			patch_rows(p, ni, map, zero, s, w, n0, t, grad ? 0 : 1, len, c0);
			for (int xi = 0; xi < npos; xi++)
				o[xi] = dst + xi * plane + (size_t)t * len + c0;
			int nc = len - c0 < CH_BLOCK ? len - c0 : CH_BLOCK;
			if (grad) /* each call with its transform and sizes known, so both inline */
				transform_2d(a4, TILE, PATCH, o, p, tmp, nc);
			else
				transform_2d(bt4, PATCH, PATCH, o, p, tmp, nc);
		}
	}
}

/* U[xi][o][c] = (G g G^T)[xi] for the 3x3 kernel g of output channel o and input channel c */
static void weight_transform(real *u, const real *wt, const struct kn_conv_shape *s)
{
	int C = s->C, npos = PATCH * PATCH;
	size_t plane = (size_t)s->OC * C;
#pragma omp parallel for schedule(static)
	for (int oc = 0; oc < s->OC; oc++) {
		const real *g[9];
		real *o[PATCH * PATCH], tmp[PATCH * PATCH * CH_BLOCK];
		for (int c0 = 0; c0 < C; c0 += CH_BLOCK) {
			for (int k = 0; k < 9; k++)
				g[k] = wt + ((size_t)oc * 9 + k) * C + c0;
			for (int xi = 0; xi < npos; xi++)
				o[xi] = u + xi * plane + (size_t)oc * C + c0;
			transform_2d(g4, 3, PATCH, o, g, tmp, C - c0 < CH_BLOCK ? C - c0 : CH_BLOCK);
		}
	}
}

/* out's m x m tiles = A^T M A, the parts inside the map */
static void output_transform(real *out, const real *mm, const struct kn_conv_shape *s, const struct wino *w, int n0,
			     int nimg)
{
	int OC = s->OC, npos = PATCH * PATCH, m = TILE;
	long tiles = (long)nimg * w->per_image;
	size_t plane = (size_t)tiles * OC;
#pragma omp parallel for schedule(static)
	for (long t = 0; t < tiles; t++) {
		int n = n0 + (int)(t / w->per_image), ty = (int)(t / w->tx % w->ty), tx = (int)(t % w->tx);
		const real *x[PATCH * PATCH];
		real *o[16], y[16 * CH_BLOCK], tmp[PATCH * PATCH * CH_BLOCK];
		for (int i = 0; i < m * m; i++)
			o[i] = y + i * CH_BLOCK;
		for (int c0 = 0; c0 < OC; c0 += CH_BLOCK) {
			int len = OC - c0 < CH_BLOCK ? OC - c0 : CH_BLOCK;
			for (int xi = 0; xi < npos; xi++)
				x[xi] = mm + xi * plane + (size_t)t * OC + c0;
			transform_2d(at4, PATCH, m, o, x, tmp, len);
			for (int i = 0; i < m; i++)
				for (int j = 0; j < m; j++) {
					int oy = m * ty + i, ox = m * tx + j;
					if (oy < s->H && ox < s->W)
						memcpy(out + (((size_t)n * s->H + oy) * s->W + ox) * OC + c0, o[i * m + j],
						       len * sizeof(real));
				}
		}
	}
}

void KN_CPU_FN(winograd_forward)(real *out, const real *inp, const real *wt, real *work, const struct kn_conv_shape *s)
{
	struct wino w = plan(s);
	struct wino_work ws = carve(work, s, &w);
	int C = s->C, OC = s->OC, npos = PATCH * PATCH;
	weight_transform(ws.u, wt, s);
	for (int n0 = 0; n0 < s->N; n0 += w.chunk) {
		int nimg = s->N - n0 < w.chunk ? s->N - n0 : w.chunk;
		long tiles = (long)nimg * w.per_image;
		tile_transform(ws.v, inp, ws.zero, s, &w, n0, nimg, 0);
#pragma omp parallel for schedule(static)
		for (int xi = 0; xi < npos; xi++)
			KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)tiles, OC, C, 1, ws.v + (size_t)xi * tiles * C, C,
				ws.u + (size_t)xi * OC * C, C, 0, ws.m + (size_t)xi * tiles * OC, OC);
		output_transform(out, ws.m, s, &w, n0, nimg);
	}
}

/* dw[o][ky][kx][c] += (G^T dU G)[ky][kx] */
static void weight_grad_transform(real *dw, const real *du, const struct kn_conv_shape *s)
{
	int C = s->C, npos = PATCH * PATCH;
	size_t plane = (size_t)s->OC * C;
#pragma omp parallel for schedule(static)
	for (int oc = 0; oc < s->OC; oc++) {
		const real *x[PATCH * PATCH];
		real *o[9], g[9 * CH_BLOCK], tmp[PATCH * PATCH * CH_BLOCK];
		for (int k = 0; k < 9; k++)
			o[k] = g + k * CH_BLOCK;
		for (int c0 = 0; c0 < C; c0 += CH_BLOCK) {
			int len = C - c0 < CH_BLOCK ? C - c0 : CH_BLOCK;
			for (int xi = 0; xi < npos; xi++)
				x[xi] = du + xi * plane + (size_t)oc * C + c0;
			transform_2d(gt4, PATCH, 3, o, x, tmp, len);
			for (int k = 0; k < 9; k++) {
				real *dst = dw + ((size_t)oc * 9 + k) * C + c0;
				for (int c = 0; c < len; c++)
					dst[c] += g[k * CH_BLOCK + c];
			}
		}
	}
}

void KN_CPU_FN(winograd_backward_filter)(real *dw, const real *dout, const real *inp, real *work,
					 const struct kn_conv_shape *s)
{
	struct wino w = plan(s);
	struct wino_work ws = carve(work, s, &w);
	int C = s->C, OC = s->OC, npos = PATCH * PATCH;
	for (int n0 = 0; n0 < s->N; n0 += w.chunk) {
		int nimg = s->N - n0 < w.chunk ? s->N - n0 : w.chunk;
		long tiles = (long)nimg * w.per_image;
		tile_transform(ws.v, inp, ws.zero, s, &w, n0, nimg, 0);
		tile_transform(ws.m, dout, ws.zero, s, &w, n0, nimg, 1);
		/* dU[xi][o][c] (+)= dM[xi]^T V[xi]: the first chunk overwrites, the others add in order */
#pragma omp parallel for schedule(static)
		for (int xi = 0; xi < npos; xi++)
			KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, (int)tiles, 1, ws.m + (size_t)xi * tiles * OC, OC,
				ws.v + (size_t)xi * tiles * C, C, n0 == 0 ? 0 : 1, ws.u + (size_t)xi * OC * C, C);
	}
	weight_grad_transform(dw, ws.u, s);
}
