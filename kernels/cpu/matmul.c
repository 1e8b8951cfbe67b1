/* Linear layers through BLAS: out = inp @ weight^T + bias. */
#include "kernels/cpu/real.h"

void KN_CPU_FN(matmul_forward)(void *out_, const void *inp_, const void *weight_, const void *bias_, int N, int C,
			       int OC)
{
	real *out = out_;
	const real *inp = inp_, *w = weight_, *bias = bias_;
	real beta = 0;
	if (bias) {
#pragma omp parallel for schedule(static)
		for (int n = 0; n < N; n++)
			for (int o = 0; o < OC; o++)
				out[(size_t)n * OC + o] = bias[o];
		beta = 1;
	}
	KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1, inp, C, w, C, beta, out, OC);
}

void KN_CPU_FN(matmul_backward)(void *dinp_, void *dweight_, void *dbias_, const void *dout_, const void *inp_,
				const void *weight_, int N, int C, int OC)
{
	real *dinp = dinp_, *dw = dweight_, *db = dbias_;
	const real *dout = dout_, *inp = inp_, *w = weight_;
	/* dinp[N,C] = dout[N,OC] @ w[OC,C] */
	KN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1, dout, OC, w, C, 0, dinp, C);
	/* dw[OC,C] += dout^T @ inp */
	KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1, dout, OC, inp, C, 1, dw, C);
	if (db) {
		const int OB = 64;
#pragma omp parallel for schedule(static)
		for (int o0 = 0; o0 < OC; o0 += OB) {
			int o1 = o0 + OB < OC ? o0 + OB : OC;
			for (int n = 0; n < N; n++)
				for (int o = o0; o < o1; o++)
					db[o] += dout[(size_t)n * OC + o];
		}
	}
}
