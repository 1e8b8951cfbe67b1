/*
 * An experiment behind docs/benchmarks.md's resnet paragraph: a direct AVX-512
 * 3x3 stride-1 "same" convolution over NHWC maps (no im2col, no BLAS packing)
 * against what kernels/cpu/conv.c does (im2col tiles of 256 rows, one
 * single-threaded OpenBLAS sgemm each), one thread, on resnet's four map sizes.
 *
 * The direct kernel keeps 12 output pixels x 32 output channels in 24 zmm
 * accumulators; the input is copied once into a zero-padded image, and pixels
 * run along its padded rows (the 2 pad columns of each row are computed and
 * dropped), so 12 consecutive pixels read 12 inputs C floats apart; weights
 * are packed [OC/32][ky][kx][C][32]. Both sides' times include their copies
 * (padding and weight packing; im2col). Best of 7 runs each, and the largest
 * difference of the outputs.
 *
 *   cc -std=c11 -D_POSIX_C_SOURCE=200809L -O3 -march=x86-64-v3 -mavx512f -mfma \
 *      -Wall -Wextra -Werror bench/conv_direct.c -o conv_direct -lopenblas -lm
 *   for s in "28 64" "14 128" "7 256" "4 512"; do
 *       env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 ./conv_direct $s; done
 *
 * Needs an AVX-512 CPU. Not part of the build: amptune does not use it (why:
 * docs/benchmarks.md).
 */
#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MR 12 /* output pixels per register tile */
#define N_IMAGES 32

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* in_pad: [N][H+2][W+2][C]; wp: [OC/32][9][C][32]; out: [N][H][W][OC] */
static void direct(float *out, const float *in_pad, const float *wp, int N, int H, int W, int C, int OC)
{
	int WP = W + 2, Q = H * WP; /* pixels along the padded rows */
	for (int n = 0; n < N; n++) {
		const float *img = in_pad + (size_t)n * (H + 2) * WP * C;
		for (int ob = 0; ob < OC / 32; ob++) {
			const float *wb = wp + (size_t)ob * 9 * C * 32;
			for (int q0 = 0; q0 < Q; q0 += MR) {
				int mr = Q - q0 < MR ? Q - q0 : MR;
				__m512 acc[MR][2];
				for (int p = 0; p < MR; p++)
					acc[p][0] = acc[p][1] = _mm512_setzero_ps();
				for (int ky = 0; ky < 3; ky++)
					for (int kx = 0; kx < 3; kx++) {
						const float *a = img + (size_t)(q0 + ky * WP + kx) * C;
						const float *w = wb + (size_t)(ky * 3 + kx) * C * 32;
						if (mr == MR) { /* the full tile: every loop unrolled */
							for (int c = 0; c < C; c++) {
								__m512 w0 = _mm512_load_ps(w + c * 32), w1 = _mm512_load_ps(w + c * 32 + 16);
#pragma GCC unroll 12
								for (int p = 0; p < MR; p++) {
									__m512 b = _mm512_set1_ps(a[p * C + c]);
									acc[p][0] = _mm512_fmadd_ps(b, w0, acc[p][0]);
									acc[p][1] = _mm512_fmadd_ps(b, w1, acc[p][1]);
								}
							}
						} else {
							for (int c = 0; c < C; c++) {
								__m512 w0 = _mm512_load_ps(w + c * 32), w1 = _mm512_load_ps(w + c * 32 + 16);
								for (int p = 0; p < mr; p++) {
									__m512 b = _mm512_set1_ps(a[p * C + c]);
									acc[p][0] = _mm512_fmadd_ps(b, w0, acc[p][0]);
									acc[p][1] = _mm512_fmadd_ps(b, w1, acc[p][1]);
								}
							}
						}
					}
				for (int p = 0; p < mr; p++) {
					int q = q0 + p, oy = q / WP, ox = q % WP;
					if (ox >= W)
						continue; /* a pad column */
					float *o = out + (((size_t)n * H + oy) * W + ox) * OC + ob * 32;
					_mm512_storeu_ps(o, acc[p][0]);
					_mm512_storeu_ps(o + 16, acc[p][1]);
				}
			}
		}
	}
}

/* conv.c's way: im2col tiles of 256 rows, each one sgemm against W [OC][9C] */
static void im2col_gemm(float *out, const float *in, const float *w, float *cols, int N, int H, int W, int C, int OC)
{
	int rows = N * H * W, KKC = 9 * C, RT = 256;
	for (int r0 = 0; r0 < rows; r0 += RT) {
		int rt = rows - r0 < RT ? rows - r0 : RT;
		for (int r = 0; r < rt; r++) {
			int q = r0 + r, n = q / (H * W), oy = q / W % H, ox = q % W;
			float *dst = cols + (size_t)r * KKC;
			for (int kk = 0; kk < 9; kk++, dst += C) {
				int iy = oy + kk / 3 - 1, ix = ox + kk % 3 - 1;
				if (iy < 0 || iy >= H || ix < 0 || ix >= W)
					memset(dst, 0, (size_t)C * sizeof *dst);
				else
					memcpy(dst, in + (((size_t)n * H + iy) * W + ix) * C, (size_t)C * sizeof *dst);
			}
		}
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rt, OC, KKC, 1, cols, KKC, w, KKC, 0,
			    out + (size_t)r0 * OC, OC);
	}
}

static float *alloc(size_t n)
{
	float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
	if (!p) {
		fprintf(stderr, "conv_direct: out of memory\n");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	if (argc != 3 || atoi(argv[1]) < 1 || atoi(argv[2]) < 32 || atoi(argv[2]) % 32) {
		fprintf(stderr, "usage: conv_direct SIDE CHANNELS (channels a multiple of 32)\n");
		return 64;
	}
	int N = N_IMAGES, H = atoi(argv[1]), W = H, C = atoi(argv[2]), OC = C;
	size_t nin = (size_t)N * H * W * C, nout = (size_t)N * H * W * OC, nw = (size_t)OC * 9 * C;
	size_t npad = (size_t)N * (H + 2) * (W + 2) * C;
	float *in = alloc(nin), *w = alloc(nw), *inp = alloc(npad), *wp = alloc(nw), *o1 = alloc(nout), *o2 = alloc(nout);
	float *cols = alloc((size_t)256 * 9 * C);
	srand(1);
	for (size_t i = 0; i < nin; i++)
		in[i] = (float)rand() / RAND_MAX - 0.5f;
	for (size_t i = 0; i < nw; i++)
		w[i] = (float)rand() / RAND_MAX - 0.5f;
	double best_direct = 1e30, best_gemm = 1e30;
	for (int it = 0; it < 7; it++) {
		double t0 = now_s();
		memset(inp, 0, npad * sizeof *inp);
		for (int n = 0; n < N; n++)
			for (int y = 0; y < H; y++)
				memcpy(inp + (((size_t)n * (H + 2) + y + 1) * (W + 2) + 1) * C, in + ((size_t)n * H + y) * W * C,
				       (size_t)W * C * sizeof *in);
		for (int ob = 0; ob < OC / 32; ob++)
			for (int k = 0; k < 9 * C; k++)
				for (int j = 0; j < 32; j++)
					wp[((size_t)ob * 9 * C + k) * 32 + j] = w[(size_t)(ob * 32 + j) * 9 * C + k];
		direct(o1, inp, wp, N, H, W, C, OC);
		double t1 = now_s();
		im2col_gemm(o2, in, w, cols, N, H, W, C, OC);
		double t2 = now_s();
		best_direct = fmin(best_direct, t1 - t0);
		best_gemm = fmin(best_gemm, t2 - t1);
	}
	double diff = 0;
	for (size_t i = 0; i < nout; i++)
		diff = fmax(diff, fabs(o1[i] - o2[i]));
	double flop = 2.0 * N * H * W * OC * 9 * C;
	printf("%dx%dx%d -> %d, batch %d: direct %.2f ms (%.0f GFLOP/s), im2col+sgemm %.2f ms (%.0f GFLOP/s), "
	       "direct faster by %.2fx, outputs differ by at most %.1e\n",
	       H, W, C, OC, N, best_direct * 1e3, flop / best_direct / 1e9, best_gemm * 1e3, flop / best_gemm / 1e9,
	       best_gemm / best_direct, diff);
	free(in), free(w), free(inp), free(wp), free(o1), free(o2), free(cols);
	return 0;
}
