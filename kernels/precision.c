#include "kernels/precision.h"

#include <string.h>

static const char *const names[KN_PRECISION_COUNT] = { "fp32", "tf32", "fp16", "bf16", "fp64" };

int kn_precision_parse(const char *s, enum kn_precision *out)
{
	for (int p = 0; p < KN_FP64; p++) {
		if (strcmp(s, names[p]) == 0) {
			*out = (enum kn_precision)p;
			return 0;
		}
	}
	return -1;
}

const char *kn_precision_name(enum kn_precision p)
{
	return (unsigned)p < KN_PRECISION_COUNT ? names[p] : "?";
}

static uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static float bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

uint16_t kn_f32_to_bf16(float f)
{
	uint32_t u = f32_bits(f);
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
	u += 0x7fffu + ((u >> 16) & 1u);
	return (uint16_t)(u >> 16);
}

float kn_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t kn_f32_to_f16(float f)
{
	uint32_t u = f32_bits(f);
	uint32_t sign = (u >> 16) & 0x8000u;
	uint32_t absu = u & 0x7fffffffu;
	if (absu > 0x7f800000u)
		return (uint16_t)(sign | 0x7e00u);
	if (absu >= 0x477ff000u) /* rounds to >= 65520: inf */
		return (uint16_t)(sign | 0x7c00u);
	if (absu < 0x38800000u) { /* subnormal or zero in fp16 */
		float a = bits_f32(absu);
		/* 2^-24 is the fp16 subnormal step; rint rounds half to even. */
		uint32_t m = (uint32_t)__builtin_rintf(a * 16777216.0f);
		return (uint16_t)(sign | m);
	}
	uint32_t exp = ((absu >> 23) - 112u) << 10;
	uint32_t mant = absu & 0x7fffffu;
	uint32_t h = exp | (mant >> 13);
	uint32_t rest = mant & 0x1fffu;
	if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
		h++;
	return (uint16_t)(sign | h);
}

float kn_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exp = (h >> 10) & 0x1fu;
	uint32_t mant = h & 0x3ffu;
	if (exp == 0) {
		float f = (float)mant / 16777216.0f;
		return sign ? -f : f;
	}
	if (exp == 31)
		return bits_f32(sign | 0x7f800000u | (mant << 13));
	return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}
