/*
 * Causal multi-head attention. qkv[B,T,3C] holds q, k, v side by side; head h
 * uses columns h*hs .. (h+1)*hs of each. Each (batch, head) pair is one
 * independent task: scores and weighted sums are single-threaded GEMMs inside
 * the parallel loop (OpenBLAS runs sequentially inside an OpenMP region).
 *
 * The causal mask makes the upper triangle of every T x T matrix zero, so the
 * GEMMs run over NBLK row (or column) blocks and skip the blocks above the
 * diagonal: 5/8 of the full work for NBLK = 4.
 */
#include "kernels/cpu/real.h"

#define NBLK 4

static int blk(int T, int i) { return (int)(((long)T * i) / NBLK); }

static void softmax_causal(real *p, int T)
{
	for (int t = 0; t < T; t++) {
		real *row = p + (size_t)t * T;
		real mx = row[0];
		for (int j = 1; j <= t; j++)
			mx = row[j] > mx ? row[j] : mx;
		for (int j = 0; j <= t; j++)
			row[j] = KN_EXP_FAST(row[j] - mx);
		real sum = 0;
		for (int j = 0; j <= t; j++)
			sum += row[j];
		real inv = 1 / sum;
		for (int j = 0; j <= t; j++)
			row[j] *= inv;
		for (int j = t + 1; j < T; j++)
			row[j] = 0;
	}
}

void KN_CPU_FN(attention_forward)(void *out_, void *att_, const void *qkv_, int B, int T, int C, int NH)
{
	real *out = out_, *att = att_;
	const real *qkv = qkv_;
	int hs = C / NH;
	real scale = 1 / KN_SQRT((real)hs);
#pragma omp parallel for collapse(2) schedule(static)
	for (int b = 0; b < B; b++) {
		for (int h = 0; h < NH; h++) {
			const real *q = qkv + (size_t)b * T * 3 * C + h * hs;
			const real *k = q + C, *v = q + 2 * C;
			real *p = att + ((size_t)b * NH + h) * T * T;
			real *o = out + (size_t)b * T * C + h * hs;
			/* rows r0..r1 attend to keys 0..r1 */
			for (int i = 0; i < NBLK; i++) {
				int r0 = blk(T, i), r1 = blk(T, i + 1);
				if (r1 > r0)
					KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hs, scale, q + (size_t)r0 * 3 * C,
						3 * C, k, 3 * C, 0, p + (size_t)r0 * T, T);
			}
			softmax_causal(p, T);
			for (int i = 0; i < NBLK; i++) {
				int r0 = blk(T, i), r1 = blk(T, i + 1);
				if (r1 > r0)
					KN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, r1, 1, p + (size_t)r0 * T, T, v,
						3 * C, 0, o + (size_t)r0 * C, C);
			}
		}
	}
}

void KN_CPU_FN(attention_backward)(void *dqkv_, void *dscratch_, const void *dout_, const void *qkv_, const void *att_,
				   int B, int T, int C, int NH)
{
	real *dqkv = dqkv_, *scratch = dscratch_;
	const real *dout = dout_, *qkv = qkv_, *att = att_;
	int hs = C / NH;
	real scale = 1 / KN_SQRT((real)hs);
#pragma omp parallel for collapse(2) schedule(static)
	for (int b = 0; b < B; b++) {
		for (int h = 0; h < NH; h++) {
			size_t qoff = (size_t)b * T * 3 * C + h * hs;
			const real *q = qkv + qoff, *k = q + C, *v = q + 2 * C;
			real *dq = dqkv + qoff, *dk = dq + C, *dv = dq + 2 * C;
			const real *p = att + ((size_t)b * NH + h) * T * T;
			const real *dO = dout + (size_t)b * T * C + h * hs;
			real *dp = scratch + ((size_t)b * NH + h) * T * T;
			for (int i = 0; i < NBLK; i++) {
				int r0 = blk(T, i), r1 = blk(T, i + 1), n = T - r0;
				if (r1 == r0)
					continue;
				/* dP[r0..r1, 0..r1] = dO V^T */
				KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hs, 1, dO + (size_t)r0 * C, C, v, 3 * C,
					0, dp + (size_t)r0 * T, T);
				/* dV[r0..r1] = P[r0..T, r0..r1]^T dO[r0..T] (rows above r0 are masked) */
				KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, r1 - r0, hs, n, 1, p + (size_t)r0 * T + r0, T,
					dO + (size_t)r0 * C, C, 0, dv + (size_t)r0 * 3 * C, 3 * C);
			}
			/* softmax backward: dS = P * (dP - rowsum(P * dP)), causal part only */
			for (int t = 0; t < T; t++) {
				const real *pr = p + (size_t)t * T;
				real *dr = dp + (size_t)t * T;
				real dot = 0;
				for (int j = 0; j <= t; j++)
					dot += pr[j] * dr[j];
				for (int j = 0; j <= t; j++)
					dr[j] = pr[j] * (dr[j] - dot);
				for (int j = t + 1; j < T; j++)
					dr[j] = 0;
			}
			for (int i = 0; i < NBLK; i++) {
				int r0 = blk(T, i), r1 = blk(T, i + 1), n = T - r0;
				if (r1 == r0)
					continue;
				/* dQ[r0..r1] = scale dS[r0..r1, 0..r1] K[0..r1] */
				KN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, r1, scale, dp + (size_t)r0 * T, T, k,
					3 * C, 0, dq + (size_t)r0 * 3 * C, 3 * C);
				/* dK[r0..r1] = scale dS[r0..T, r0..r1]^T Q[r0..T] */
				KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, r1 - r0, hs, n, scale, dp + (size_t)r0 * T + r0, T,
					q + (size_t)r0 * 3 * C, 3 * C, 0, dk + (size_t)r0 * 3 * C, 3 * C);
			}
		}
	}
}
