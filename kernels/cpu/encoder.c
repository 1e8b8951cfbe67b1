/* Token + position embedding. */
#include "kernels/cpu/real.h"

void KN_CPU_FN(encoder_forward)(void *out_, const int *tokens, const void *wte_, const void *wpe_, int B, int T, int C)
{
	real *out = out_;
	const real *wte = wte_, *wpe = wpe_;
#pragma omp parallel for collapse(2) schedule(static)
	for (int b = 0; b < B; b++) {
		for (int t = 0; t < T; t++) {
			real *o = out + ((size_t)b * T + t) * C;
			const real *we = wte + (size_t)tokens[b * T + t] * C;
			const real *pe = wpe + (size_t)t * C;
			for (int i = 0; i < C; i++)
				o[i] = we[i] + pe[i];
		}
	}
}

/* Rows of dwte are shared by every position holding the same token, so the
 * work is split by channel: each thread owns a slice of columns and walks all
 * positions in order, which keeps the sum order fixed. */
void KN_CPU_FN(encoder_backward)(void *dwte_, void *dwpe_, const void *dout_, const int *tokens, int B, int T, int C)
{
	real *dwte = dwte_, *dwpe = dwpe_;
	const real *dout = dout_;
	const int CB = 16;
#pragma omp parallel for schedule(static)
	for (int c0 = 0; c0 < C; c0 += CB) {
		int c1 = c0 + CB < C ? c0 + CB : C;
		for (int b = 0; b < B; b++) {
			for (int t = 0; t < T; t++) {
				const real *d = dout + ((size_t)b * T + t) * C;
				real *dw = dwte + (size_t)tokens[b * T + t] * C;
				real *dp = dwpe + (size_t)t * C;
				for (int i = c0; i < c1; i++) {
					dw[i] += d[i];
					dp[i] += d[i];
				}
			}
		}
	}
}
