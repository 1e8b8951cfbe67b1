/*
 * Winograd F(4x4, 3x3) convolution for 3x3, stride-1, padding-1 layers (NHWC), the forward and
 * the filter gradient; the data gradient of such a layer is its forward with flipped weights
 * (conv.c). See winograd.c for the algorithm, layout and determinism.
 */
#ifndef KN_CPU_WINOGRAD_H
#define KN_CPU_WINOGRAD_H

#include "kernels/backend.h"

/* Layers with at least this many input and output channels use Winograd (3x3, stride 1, padding
 * 1); narrower ones (the stem's one channel) im2col + GEMM. One per build (fp32, fp64), declared
 * outside the kernels' own builds too, so that the tests can run Winograd on shapes small enough
 * for finite differences, or im2col on wide ones, and bench/conv_winograd.c can time both; set it
 * before sizing a workspace. */
extern int kn_cpu32_winograd_min_channels, kn_cpu64_winograd_min_channels;

#ifdef KN_REAL_BITS /* the kernels' own builds (real.h) */
#include "kernels/cpu/real.h"

int KN_CPU_FN(winograd_applies)(const struct kn_conv_shape *s);
/* workspace elements (of real) either pass needs */
size_t KN_CPU_FN(winograd_elems)(const struct kn_conv_shape *s);
/* out = conv(inp, w); overwritten */
void KN_CPU_FN(winograd_forward)(real *out, const real *inp, const real *w, real *work, const struct kn_conv_shape *s);
/* dw += dout^T (x) inp, the filter gradient; accumulates */
void KN_CPU_FN(winograd_backward_filter)(real *dw, const real *dout, const real *inp, real *work,
					 const struct kn_conv_shape *s);
#endif

#endif
