/*
 * kernels/cpu/real.h — the element type of one CPU kernel build.
 *
 * Every file under kernels/cpu that includes this is compiled twice by CMake:
 * KN_REAL_BITS=32 gives the fp32 backend users train on, KN_REAL_BITS=64 the
 * fp64 reference backend that gradient checks run the same model code on.
 * KN_CPU_FN(name) gives each build's functions their own names.
 */
#ifndef KN_CPU_REAL_H
#define KN_CPU_REAL_H

#include <cblas.h>
#include <math.h>
#include <stddef.h>

#if KN_REAL_BITS == 64
typedef double real;
#define KN_CPU_FN(name) kn_cpu64_##name
#define KN_GEMM cblas_dgemm
#define KN_EXP exp
#define KN_LOG log
#define KN_SQRT sqrt
#define KN_TANH tanh
#elif KN_REAL_BITS == 32
typedef float real;
#define KN_CPU_FN(name) kn_cpu32_##name
#define KN_GEMM cblas_sgemm
#define KN_EXP expf
#define KN_LOG logf
#define KN_SQRT sqrtf
#define KN_TANH tanhf
#else
#error "KN_REAL_BITS must be 32 or 64"
#endif

#if KN_REAL_BITS == 32
#include <stdint.h>
#include <string.h>
/* e^x in fp32 without libm, so that loops calling it vectorise: Cody-Waite
 * range reduction and Cephes' degree-6 polynomial, within 2 ulp of expf on
 * [-87, 88] (inputs are clamped to that range). */
static inline float kn_fast_expf(float x)
{
	x = x < -87.0f ? -87.0f : x; /* compares, not fminf/fmaxf, which are library calls */
	x = x > 88.0f ? 88.0f : x;
	float n = __builtin_rintf(x * 1.44269504088896341f);
	float r = __builtin_fmaf(n, -0.693359375f, x);
	r = __builtin_fmaf(n, 2.12194440e-4f, r);
	float p = 1.9875691500e-4f;
	p = __builtin_fmaf(p, r, 1.3981999507e-3f);
	p = __builtin_fmaf(p, r, 8.3334519073e-3f);
	p = __builtin_fmaf(p, r, 4.1665795894e-2f);
	p = __builtin_fmaf(p, r, 1.6666665459e-1f);
	p = __builtin_fmaf(p, r, 5.0000001201e-1f);
	p = __builtin_fmaf(p * r, r, r) + 1.0f;
	uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
	float scale;
	memcpy(&scale, &bits, sizeof scale);
	return p * scale;
}
/* tanh from one exponential; absolute error below 1e-7 */
static inline float kn_fast_tanhf(float x)
{
	float t = kn_fast_expf(-2.0f * __builtin_fabsf(x));
	return __builtin_copysignf((1.0f - t) / (1.0f + t), x);
}
#define KN_TANH_FAST kn_fast_tanhf
#define KN_EXP_FAST kn_fast_expf
#else
#define KN_TANH_FAST tanh
#define KN_EXP_FAST exp
#endif

/* Reductions sum fixed-size chunks in parallel, then the chunk partials in
 * order, so results are bitwise identical for any thread count. */
#define KN_CHUNK 4096

#endif
