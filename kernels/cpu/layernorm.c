/* LayerNorm over the last dimension, eps 1e-5 as in GPT-2. */
#include "kernels/cpu/real.h"

void KN_CPU_FN(layernorm_forward)(void *out_, void *mean_, void *rstd_, const void *inp_, const void *weight_,
				  const void *bias_, int N, int C)
{
	real *out = out_, *mean = mean_, *rstd = rstd_;
	const real *inp = inp_, *w = weight_, *bias = bias_;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const real *x = inp + (size_t)n * C;
		real m = 0;
		for (int i = 0; i < C; i++)
			m += x[i];
		m /= C;
		real v = 0;
		for (int i = 0; i < C; i++)
			v += (x[i] - m) * (x[i] - m);
		v /= C;
		real s = 1 / KN_SQRT(v + (real)1e-5);
		real *o = out + (size_t)n * C;
		for (int i = 0; i < C; i++)
			o[i] = (x[i] - m) * s * w[i] + bias[i];
		mean[n] = m;
		rstd[n] = s;
	}
}

void KN_CPU_FN(layernorm_backward)(void *dinp_, void *dweight_, void *dbias_, const void *dout_, const void *inp_,
				   const void *weight_, const void *mean_, const void *rstd_, int N, int C)
{
	real *dinp = dinp_, *dw = dweight_, *db = dbias_;
	const real *dout = dout_, *inp = inp_, *w = weight_, *mean = mean_, *rstd = rstd_;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const real *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
		real m = mean[n], s = rstd[n];
		real dnorm_mean = 0, dnorm_norm_mean = 0;
		for (int i = 0; i < C; i++) {
			real norm = (x[i] - m) * s;
			real dnorm = w[i] * d[i];
			dnorm_mean += dnorm;
			dnorm_norm_mean += dnorm * norm;
		}
		dnorm_mean /= C;
		dnorm_norm_mean /= C;
		real *di = dinp + (size_t)n * C;
		for (int i = 0; i < C; i++) {
			real norm = (x[i] - m) * s;
			real dnorm = w[i] * d[i];
			di[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
		}
	}
	/* weight and bias gradients reduce over rows: split by channel for a fixed order */
	const int CB = 32;
#pragma omp parallel for schedule(static)
	for (int c0 = 0; c0 < C; c0 += CB) {
		int c1 = c0 + CB < C ? c0 + CB : C;
		for (int n = 0; n < N; n++) {
			const real *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
			for (int i = c0; i < c1; i++) {
				dw[i] += (x[i] - mean[n]) * rstd[n] * d[i];
				db[i] += d[i];
			}
		}
	}
}
