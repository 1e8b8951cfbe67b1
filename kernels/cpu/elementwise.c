/* GELU, residual adds, zeroing and the deterministic reductions. */
#include <string.h>

#include "kernels/cpu/real.h"

#define GELU_SCALE 0.7978845608028654 /* sqrt(2/pi) */

void KN_CPU_FN(gelu_forward)(void *out_, const void *inp_, size_t n)
{
	real *out = out_;
	const real *x = inp_;
#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < n; i++) {
		real c = (real)0.044715 * x[i] * x[i] * x[i];
		out[i] = (real)0.5 * x[i] * (1 + KN_TANH_FAST((real)GELU_SCALE * (x[i] + c)));
	}
}

void KN_CPU_FN(gelu_backward)(void *dinp_, const void *inp_, const void *dout_, size_t n)
{
	real *dinp = dinp_;
	const real *x = inp_, *dout = dout_;
#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < n; i++) {
		real u = (real)GELU_SCALE * (x[i] + (real)0.044715 * x[i] * x[i] * x[i]);
		real th = KN_TANH_FAST(u);
		real sech2 = 1 - th * th;
		real du = (real)GELU_SCALE * (1 + 3 * (real)0.044715 * x[i] * x[i]);
		dinp[i] = ((real)0.5 * (1 + th) + (real)0.5 * x[i] * sech2 * du) * dout[i];
	}
}

void KN_CPU_FN(residual_forward)(void *out_, const void *a_, const void *b_, size_t n)
{
	real *out = out_;
	const real *a = a_, *b = b_;
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

void KN_CPU_FN(accumulate)(void *dst_, const void *src_, size_t n)
{
	real *dst = dst_;
	const real *src = src_;
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
}

void KN_CPU_FN(zero)(void *x, size_t n) { memset(x, 0, n * sizeof(real)); }

static double chunked_sum(const real *x, size_t n, int squares)
{
	size_t nchunks = (n + KN_CHUNK - 1) / KN_CHUNK;
	double partial_stack[256], *partial = partial_stack;
	double total = 0;
	/* large inputs fold chunks in blocks of 256 partials */
	for (size_t base = 0; base < nchunks; base += 256) {
		size_t cnt = nchunks - base < 256 ? nchunks - base : 256;
#pragma omp parallel for schedule(static)
		for (size_t c = 0; c < cnt; c++) {
			size_t lo = (base + c) * KN_CHUNK, hi = lo + KN_CHUNK < n ? lo + KN_CHUNK : n;
			double s = 0;
			for (size_t i = lo; i < hi; i++)
				s += squares ? (double)x[i] * x[i] : (double)x[i];
			partial[c] = s;
		}
		for (size_t c = 0; c < cnt; c++)
			total += partial[c];
	}
	return total;
}

double KN_CPU_FN(sum_master)(const void *x, size_t n) { return chunked_sum(x, n, 0); }

double KN_CPU_FN(norm_squared)(const void *x, size_t n) { return chunked_sum(x, n, 1); }

void KN_CPU_FN(master_to_compute)(void *dst, const void *src, size_t n)
{
	if (dst != src)
		memcpy(dst, src, n * sizeof(real));
}

void KN_CPU_FN(relu_forward)(void *out_, const void *inp_, size_t n)
{
	real *out = out_;
	const real *x = inp_;
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		out[i] = x[i] > 0 ? x[i] : 0;
}

void KN_CPU_FN(relu_backward)(void *dinp_, const void *out_, const void *dout_, size_t n)
{
	real *dinp = dinp_;
	const real *out = out_, *dout = dout_;
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		dinp[i] = out[i] > 0 ? dout[i] : 0;
}
