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

/* Reductions sum fixed-size chunks in parallel, then the chunk partials in
 * order, so results are bitwise identical for any thread count. */
#define KN_CHUNK 4096

#endif
