/*
 * Causal multi-head attention. qkv[B,T,3C] holds q, k, v side by side; head h
 * uses columns h*hs .. (h+1)*hs of each. Each (batch, head) pair is one
 * independent task: scores and weighted sums are single-threaded GEMMs inside
 * the parallel loop (OpenBLAS runs sequentially inside an OpenMP region).
 */
#include "kernels/cpu/real.h"

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
			KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, scale, q, 3 * C, k, 3 * C, 0, p, T);
			for (int t = 0; t < T; t++) {
				real *row = p + (size_t)t * T;
				real mx = row[0];
				for (int j = 1; j <= t; j++)
					mx = row[j] > mx ? row[j] : mx;
				real sum = 0;
				for (int j = 0; j <= t; j++) {
					row[j] = KN_EXP(row[j] - mx);
					sum += row[j];
				}
				real inv = 1 / sum;
				for (int j = 0; j <= t; j++)
					row[j] *= inv;
				for (int j = t + 1; j < T; j++)
					row[j] = 0;
			}
			real *o = out + (size_t)b * T * C + h * hs;
			KN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1, p, T, v, 3 * C, 0, o, C);
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
			/* dP = dO V^T ; dV = P^T dO */
			KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1, dO, C, v, 3 * C, 0, dp, T);
			KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1, p, T, dO, C, 0, dv, 3 * C);
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
			/* dQ = scale dS K ; dK = scale dS^T Q */
			KN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, scale, dp, T, k, 3 * C, 0, dq, 3 * C);
			KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, scale, dp, T, q, 3 * C, 0, dk, 3 * C);
		}
	}
}
