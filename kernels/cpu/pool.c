/* Global average pooling over the spatial positions of an NHWC map. */
#include "kernels/cpu/real.h"

void KN_CPU_FN(avgpool_forward)(void *out_, const void *inp_, int N, int HW, int C)
{
	real *out = out_;
	const real *inp = inp_;
	real inv = (real)1 / HW;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		real *o = out + (size_t)n * C;
		const real *x = inp + (size_t)n * HW * C;
		for (int c = 0; c < C; c++)
			o[c] = 0;
		for (int p = 0; p < HW; p++)
			for (int c = 0; c < C; c++)
				o[c] += x[(size_t)p * C + c];
		for (int c = 0; c < C; c++)
			o[c] *= inv;
	}
}

void KN_CPU_FN(avgpool_backward)(void *dinp_, const void *dout_, int N, int HW, int C)
{
	real *dinp = dinp_;
	const real *dout = dout_;
	real inv = (real)1 / HW;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const real *d = dout + (size_t)n * C;
		real *di = dinp + (size_t)n * HW * C;
		for (int p = 0; p < HW; p++)
			for (int c = 0; c < C; c++)
				di[(size_t)p * C + c] = d[c] * inv;
	}
}
