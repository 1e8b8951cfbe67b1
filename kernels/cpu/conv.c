/*
 * KxK convolution over NHWC maps through im2col + GEMM.
 *
 * An im2col row holds the K*K*C inputs one output pixel sees, in (ky, kx, c)
 * order, so with weights [OC, K*K*C] the forward is a GEMM:
 * out[rows, OC] = cols[rows, KKC] @ W^T. Work is cut into fixed tiles of
 * ROW_TILE output rows (ROW_TILE_WIDE where the layer has rows for LANES such
 * tiles: a bigger GEMM packs the weights once for more rows); each tile is one
 * single-threaded BLAS call inside our OpenMP loop (BLAS's own threading picks
 * its blocking from the thread count, which changes the rounding, so it is
 * kept out). Tiles are dealt to LANES lanes (tile t to lane t % LANES), and
 * lanes to threads round-robin (so that a layer with fewer tiles than lanes
 * still keeps every thread busy); a lane owns a cache-sized buffer and runs
 * its tiles in order. Tiles, lanes and chunks depend on the shape alone, so
 * every result is bitwise identical for any thread count.
 *
 * forward: a lane gathers a tile's rows and multiplies them while in cache.
 * backward-filter: dW = sum over tiles of dout_tile^T @ cols_tile; each lane
 *   sums its tiles into its own partial and the partials are added in lane
 *   order (for short im2col rows, like the stem's, by outer products in a
 *   plain loop rather than BLAS). Where LANES partials would not fit the
 *   budget (wide layers, which have few rows), dW is tiled instead, in
 *   blocks of COL_TILE columns (and of output channels, until there are
 *   LANES blocks), over chunks of whole images whose cols fit
 *   CONV_WORK_ELEMS; a block's GEMM packs its slice of dout once per
 *   COL_TILE columns, so COL_TILE is wide (at 32 the packing cost a quarter
 *   of the resnet's filter gradients).
 * backward-data: for "same" stride-1 convs, the forward of dout with flipped,
 *   channel-swapped weights; otherwise dcols = dout @ W per tile, then col2im
 *   as a gather, over chunks of whole images.
 *
 * 3x3 stride-1 padding-1 layers with at least 16 input and output channels go
 * to Winograd F(4x4, 3x3) instead (winograd.c): forward and filter gradient,
 * and so the data gradient through the forward above; on the presets' maps it
 * is 1.0-2.7x faster than im2col (bench/conv_winograd.c, docs/benchmarks.md).
 */
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cpu/real.h"
#include "kernels/cpu/winograd.h"

#define CONV_WORK_ELEMS (1 << 22)
#define ROW_TILE 128       /* output rows per tile ... */
#define ROW_TILE_WIDE 256  /* ... or these where the layer has rows for LANES of them (bigger GEMMs) */
#define COL_TILE 128
#define LANES 16
#define SMALL_KKC 16

/* rows per tile: from the shape alone, so results do not depend on the thread count */
static int row_tile(const struct kn_conv_shape *s)
{
	long rows = (long)s->N * kn_conv_out_dim(s->H, s->K, s->stride, s->pad) * kn_conv_out_dim(s->W, s->K, s->stride, s->pad);
	return rows >= (long)LANES * ROW_TILE_WIDE ? ROW_TILE_WIDE : ROW_TILE;
}

/* one past the last row of tile t of rt rows */
static inline long tile_end(long t, int rt, long rows) { return (t + 1) * rt < rows ? (t + 1) * rt : rows; }

static int images_per_chunk(const struct kn_conv_shape *s)
{
	size_t per_image = (size_t)kn_conv_out_dim(s->H, s->K, s->stride, s->pad) *
			   kn_conv_out_dim(s->W, s->K, s->stride, s->pad) * s->K * s->K * s->C;
	size_t n = CONV_WORK_ELEMS / (per_image ? per_image : 1);
	if (n < 1)
		n = 1;
	return n > (size_t)s->N ? s->N : (int)n;
}

/* The filter gradient's slots at the widest tile, whatever this N's tile: the path must not depend
 * on N, or a call with fewer images than the workspace was sized for could take the slot path the
 * sizing ruled out, and overrun it. */
static size_t slot_elems(const struct kn_conv_shape *s)
{
	size_t KKC = (size_t)s->K * s->K * s->C;
	return (size_t)LANES * ((size_t)ROW_TILE_WIDE * KKC + (size_t)s->OC * KKC);
}

static int filter_uses_slots(const struct kn_conv_shape *s) { return slot_elems(s) <= CONV_WORK_ELEMS; }

static size_t chunk_elems(const struct kn_conv_shape *s)
{
	size_t OH = kn_conv_out_dim(s->H, s->K, s->stride, s->pad), OW = kn_conv_out_dim(s->W, s->K, s->stride, s->pad);
	return (size_t)images_per_chunk(s) * OH * OW * s->K * s->K * s->C;
}

/* Short im2col rows (the stem's 9 taps of one channel) starve a GEMM over
 * rows: such filter gradients sum outer products in a plain loop. */
static int is_small(const struct kn_conv_shape *s) { return s->K * s->K * s->C < SMALL_KKC; }

static size_t lane_elems(const struct kn_conv_shape *s) { return (size_t)LANES * row_tile(s) * s->K * s->K * s->C; }

/* A "same" stride-1 convolution's data gradient is itself such a convolution:
 * of dout, with the weights flipped in space and input/output channels swapped. */
static int data_grad_is_conv(const struct kn_conv_shape *s) { return s->stride == 1 && 2 * s->pad == s->K - 1; }

static struct kn_conv_shape transposed(const struct kn_conv_shape *s)
{
	return (struct kn_conv_shape){ s->N, s->H, s->W, s->OC, s->C, s->K, 1, s->pad };
}

/* the flipped weights lead the workspace, rounded to a cache line */
static size_t flipped_elems(const struct kn_conv_shape *s) { return ((size_t)s->OC * s->K * s->K * s->C + 15) / 16 * 16; }

static size_t forward_elems(const struct kn_conv_shape *s)
{
	return KN_CPU_FN(winograd_applies)(s) ? KN_CPU_FN(winograd_elems)(s) : lane_elems(s);
}

size_t KN_CPU_FN(conv2d_workspace_bytes)(const struct kn_conv_shape *s)
{
	size_t need = forward_elems(s), filter = KN_CPU_FN(winograd_applies)(s) ? need
						  : filter_uses_slots(s)	   ? slot_elems(s)
										   : chunk_elems(s);
	if (filter > need)
		need = filter;
	if (data_grad_is_conv(s)) {
		struct kn_conv_shape t = transposed(s);
		if (flipped_elems(s) + forward_elems(&t) > need)
			need = flipped_elems(s) + forward_elems(&t);
	} else if (chunk_elems(s) > need) {
		need = chunk_elems(s);
	}
	return need * sizeof(real);
}

/* Copies (src) or zeroes (src NULL) C elements; the common channel counts get
 * fixed-length loops the compiler unrolls into a few vector moves. */
static inline void put_segment(real *restrict dst, const real *restrict src, int C)
{
#define SEGMENT(n)                                               \
	do {                                                     \
		if (src)                                         \
			for (int c = 0; c < (n); c++)            \
				dst[c] = src[c];                 \
		else                                             \
			for (int c = 0; c < (n); c++)            \
				dst[c] = 0;                      \
		return;                                          \
	} while (0)
	switch (C) {
	case 16: SEGMENT(16);
	case 32: SEGMENT(32);
	case 64: SEGMENT(64);
	default:
		if (src)
			memcpy(dst, src, C * sizeof(real));
		else
			memset(dst, 0, C * sizeof(real));
	}
#undef SEGMENT
}

/* im2col of output rows [r0, r1) (rows counted from image n0) into dst, row r0 first */
static void im2col_rows(real *dst, const real *inp, const struct kn_conv_shape *s, int n0, long r0, long r1)
{
	int K = s->K, C = s->C, H = s->H, W = s->W, st = s->stride, pad = s->pad;
	int OH = kn_conv_out_dim(H, K, st, pad), OW = kn_conv_out_dim(W, K, st, pad);
	for (long r = r0; r < r1;) {
		int n = n0 + (int)(r / ((long)OH * OW)), oy = (int)(r / OW % OH), ox0 = (int)(r % OW);
		int ox1 = r1 - r < OW - ox0 ? ox0 + (int)(r1 - r) : OW;
		const real *img = inp + (size_t)n * H * W * C;
		for (int ox = ox0; ox < ox1; ox++) {
			for (int ky = 0; ky < K; ky++) {
				int iy = oy * st - pad + ky;
				const real *row = iy >= 0 && iy < H ? img + (size_t)iy * W * C : NULL;
				if (C == 1) { /* the stem: single values, no segment copies */
					for (int kx = 0; kx < K; kx++) {
						int ix = ox * st - pad + kx;
						*dst++ = row && ix >= 0 && ix < W ? row[ix] : 0;
					}
					continue;
				}
				for (int kx = 0; kx < K; kx++, dst += C) {
					int ix = ox * st - pad + kx;
					put_segment(dst, row && ix >= 0 && ix < W ? row + (size_t)ix * C : NULL, C);
				}
			}
		}
		r += ox1 - ox0;
	}
}

void KN_CPU_FN(conv2d_forward)(void *out_, const void *inp_, const void *weight_, void *work_,
			       const struct kn_conv_shape *s)
{
	real *out = out_, *work = work_;
	const real *inp = inp_, *w = weight_;
	if (KN_CPU_FN(winograd_applies)(s)) {
		KN_CPU_FN(winograd_forward)(out, inp, w, work, s);
		return;
	}
	int OH = kn_conv_out_dim(s->H, s->K, s->stride, s->pad), OW = kn_conv_out_dim(s->W, s->K, s->stride, s->pad);
	int KKC = s->K * s->K * s->C;
	int rt = row_tile(s);
	long rows = (long)s->N * OH * OW, ntiles = (rows + rt - 1) / rt;
	int OC = s->OC;
	/* a lane gathers a tile's rows into its own cache-sized buffer and multiplies them there */
#pragma omp parallel for schedule(static, 1)
	for (int lane = 0; lane < LANES; lane++) {
		real *cols = work + (size_t)lane * rt * KKC;
		for (long t = lane; t < ntiles; t += LANES) {
			long r0 = t * rt, r1 = tile_end(t, rt, rows);
			im2col_rows(cols, inp, s, 0, r0, r1);
			KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), OC, KKC, 1, cols, KKC, w, KKC, 0,
				out + (size_t)r0 * OC, OC);
		}
	}
}

/* dW += sum of dout_tile^T @ cols_tile through LANES partials (see top) */
static void filter_by_slots(real *dw, const real *dout, const real *inp, real *work, const struct kn_conv_shape *s)
{
	int OH = kn_conv_out_dim(s->H, s->K, s->stride, s->pad), OW = kn_conv_out_dim(s->W, s->K, s->stride, s->pad);
	int KKC = s->K * s->K * s->C, OC = s->OC;
	int rt = row_tile(s);
	long rows = (long)s->N * OH * OW, ntiles = (rows + rt - 1) / rt;
	size_t wsz = (size_t)OC * KKC;
	int small = is_small(s);
	real *part = work, *cols = work + LANES * wsz;
#pragma omp parallel for schedule(static, 1)
	for (int slot = 0; slot < LANES; slot++) {
		real *p = part + slot * wsz, *c = cols + (size_t)slot * rt * KKC;
		memset(p, 0, wsz * sizeof(real));
		for (long t = slot; t < ntiles; t += LANES) {
			long r0 = t * rt, r1 = tile_end(t, rt, rows);
			im2col_rows(c, inp, s, 0, r0, r1);
			if (!small) {
				KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, OC, KKC, (int)(r1 - r0), 1, dout + (size_t)r0 * OC,
					OC, c, KKC, 1, p, KKC);
				continue;
			}
			/* small: the partial is transposed, p[k, o] */
			for (long r = r0; r < r1; r++) {
				const real *a = c + (size_t)(r - r0) * KKC, *d = dout + (size_t)r * OC;
				for (int k = 0; k < KKC; k++)
					for (int oc = 0; oc < OC; oc++)
						p[(size_t)k * OC + oc] += a[k] * d[oc];
			}
		}
	}
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < wsz; i++) {
		size_t src = small ? i % KKC * OC + i / KKC : i; /* dw[o, k] from p[k, o] */
		real acc = dw[i];
		for (int slot = 0; slot < LANES; slot++)
			acc += part[slot * wsz + src];
		dw[i] = acc;
	}
}

void KN_CPU_FN(conv2d_backward_filter)(void *dweight_, const void *dout_, const void *inp_, void *work_,
				       const struct kn_conv_shape *s)
{
	real *dw = dweight_, *cols = work_;
	const real *dout = dout_, *inp = inp_;
	if (KN_CPU_FN(winograd_applies)(s)) {
		KN_CPU_FN(winograd_backward_filter)(dw, dout, inp, cols, s);
		return;
	}
	if (filter_uses_slots(s)) {
		filter_by_slots(dw, dout, inp, cols, s);
		return;
	}
	int OH = kn_conv_out_dim(s->H, s->K, s->stride, s->pad), OW = kn_conv_out_dim(s->W, s->K, s->stride, s->pad);
	int KKC = s->K * s->K * s->C, chunk = images_per_chunk(s);
	int ncoltiles = (KKC + COL_TILE - 1) / COL_TILE;
	/* output channels split too, as evenly as 16-multiples allow, until there are LANES blocks */
	int nocb = (LANES + ncoltiles - 1) / ncoltiles, OCB;
	if (nocb > s->OC / 16)
		nocb = s->OC / 16 > 0 ? s->OC / 16 : 1;
	OCB = ((s->OC + nocb - 1) / nocb + 15) / 16 * 16;
	nocb = (s->OC + OCB - 1) / OCB;
	for (int n0 = 0; n0 < s->N; n0 += chunk) {
		int nimg = s->N - n0 < chunk ? s->N - n0 : chunk;
		int rt = row_tile(s);
		long rows = (long)nimg * OH * OW, ntiles = (rows + rt - 1) / rt;
		const real *d = dout + (size_t)n0 * OH * OW * s->OC;
#pragma omp parallel for schedule(static)
		for (long t = 0; t < ntiles; t++) {
			long r0 = t * rt, r1 = tile_end(t, rt, rows);
			im2col_rows(cols + (size_t)r0 * KKC, inp, s, n0, r0, r1);
		}
		/* dW[o0:o1, j0:j1] += dout[rows, o0:o1]^T @ cols[rows, j0:j1]; chunks add in order */
#pragma omp parallel for schedule(static)
		for (int t = 0; t < ncoltiles * nocb; t++) {
			int j0 = t % ncoltiles * COL_TILE, j1 = j0 + COL_TILE < KKC ? j0 + COL_TILE : KKC;
			int o0 = t / ncoltiles * OCB, o1 = o0 + OCB < s->OC ? o0 + OCB : s->OC;
			KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, o1 - o0, j1 - j0, (int)rows, 1, d + o0, s->OC,
				cols + j0, KKC, 1, dw + (size_t)o0 * KKC + j0, KKC);
		}
	}
}

static inline void add_segment(real *restrict dst, const real *restrict src, int C)
{
	switch (C) {
	case 16: for (int c = 0; c < 16; c++) dst[c] += src[c]; return;
	case 32: for (int c = 0; c < 32; c++) dst[c] += src[c]; return;
	case 64: for (int c = 0; c < 64; c++) dst[c] += src[c]; return;
	default: for (int c = 0; c < C; c++) dst[c] += src[c];
	}
}

/* The outputs o (along one axis) whose window covers input i: o*st - pad + k == i
 * for some k in [0, K), i.e. o in [lo, hi]. */
static inline void covering(int i, int K, int st, int pad, int outdim, int *lo, int *hi)
{
	int a = i + pad - K + 1, b = i + pad;
	*lo = a <= 0 ? 0 : (a + st - 1) / st;
	*hi = b < 0 ? -1 : (b / st < outdim - 1 ? b / st : outdim - 1);
}

/* col2im as a gather: every input pixel sums the (at most K*K) im2col entries
 * that read it, in (ky, kx) order, so no two threads write the same element. */
static void col2im(real *dinp, const real *dcols, const struct kn_conv_shape *s, int n0, int nimg)
{
	int K = s->K, C = s->C, H = s->H, W = s->W, st = s->stride, pad = s->pad;
	int OH = kn_conv_out_dim(H, K, st, pad), OW = kn_conv_out_dim(W, K, st, pad);
	size_t KKC = (size_t)K * K * C;
	long image_rows = (long)nimg * H;
#pragma omp parallel for schedule(static)
	for (long ir = 0; ir < image_rows; ir++) {
		int n = (int)(ir / H), iy = (int)(ir % H), oy_lo, oy_hi;
		covering(iy, K, st, pad, OH, &oy_lo, &oy_hi);
		real *dst = dinp + ((size_t)(n0 + n) * H + iy) * W * C;
		for (int ix = 0; ix < W; ix++, dst += C) {
			int ox_lo, ox_hi;
			covering(ix, K, st, pad, OW, &ox_lo, &ox_hi);
			for (int c = 0; c < C; c++)
				dst[c] = 0;
			for (int oy = oy_hi; oy >= oy_lo; oy--) { /* ky ascending */
				int ky = iy + pad - oy * st;
				for (int ox = ox_hi; ox >= ox_lo; ox--) {
					int kx = ix + pad - ox * st;
					add_segment(dst, dcols + (((size_t)n * OH + oy) * OW + ox) * KKC + ((size_t)ky * K + kx) * C, C);
				}
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
	if (data_grad_is_conv(s)) {
		int K = s->K, C = s->C, OC = s->OC;
		real *wt = work_;
		struct kn_conv_shape t = transposed(s);
		/* wt[c, ky, kx, o] = w[o, K-1-ky, K-1-kx, c], in blocks of 16 channels c: each read is a
		 * run of 16 of w's contiguous c (a column-at-a-time read strides by K*K*C) */
#pragma omp parallel for schedule(static)
		for (int c0 = 0; c0 < C; c0 += 16)
			for (int ky = 0; ky < K; ky++)
				for (int kx = 0; kx < K; kx++)
					for (int o = 0; o < OC; o++) {
						const real *src = w + (((size_t)o * K + (K - 1 - ky)) * K + (K - 1 - kx)) * C;
						for (int c = c0; c < C && c < c0 + 16; c++)
							wt[(((size_t)c * K + ky) * K + kx) * OC + o] = src[c];
					}
		KN_CPU_FN(conv2d_forward)(dinp, dout, wt, wt + flipped_elems(s), &t);
		return;
	}
	for (int n0 = 0; n0 < s->N; n0 += chunk) {
		int nimg = s->N - n0 < chunk ? s->N - n0 : chunk;
		int rt = row_tile(s);
		long rows = (long)nimg * OH * OW, ntiles = (rows + rt - 1) / rt;
		const real *d = dout + (size_t)n0 * OH * OW * s->OC;
		/* dcols[rows, KKC] = dout[rows, OC] @ W[OC, KKC] */
#pragma omp parallel for schedule(static)
		for (long t = 0; t < ntiles; t++) {
			long r0 = t * rt, r1 = tile_end(t, rt, rows);
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
