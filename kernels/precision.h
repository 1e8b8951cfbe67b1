/*
 * kernels/precision.h — the training precisions and host-side conversions.
 *
 * fp32: fp32 everywhere, TF32 off. tf32: fp32 storage, TF32 GEMMs. bf16/fp16:
 * 16-bit weight copy, activations and gradients with fp32 master weights and
 * optimizer state (fp16 adds dynamic loss scaling). fp64 is not user-facing: it
 * selects the CPU reference backend that gradient checks run on.
 */
#ifndef KN_PRECISION_H
#define KN_PRECISION_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>
#include <stdint.h>

enum kn_precision { KN_FP32, KN_TF32, KN_FP16, KN_BF16, KN_FP64, KN_PRECISION_COUNT };

/* Parses a user-facing name (fp32|tf32|fp16|bf16); returns 0 or -1. fp64 is refused. */
int kn_precision_parse(const char *s, enum kn_precision *out);
const char *kn_precision_name(enum kn_precision p);

/* Round-to-nearest-even conversions; NaN stays NaN, overflow goes to inf. */
uint16_t kn_f32_to_bf16(float f);
float kn_bf16_to_f32(uint16_t h);
uint16_t kn_f32_to_f16(float f);
float kn_f16_to_f32(uint16_t h);

#ifdef __cplusplus
}
#endif

#endif
