/* Precision names and the host fp16/bf16 conversions (round to nearest even). */
#include <check.h>
#include <math.h>
#include <string.h>

#include "kernels/precision.h"
#include "testutil.h"

START_TEST(test_names)
{
	enum kn_precision p;
	ck_assert_int_eq(kn_precision_parse("bf16", &p), 0);
	ck_assert_int_eq(p, KN_BF16);
	ck_assert_int_eq(kn_precision_parse("fp64", &p), -1); /* reference only, not user-facing */
	ck_assert_int_eq(kn_precision_parse("FP32", &p), -1);
	ck_assert_str_eq(kn_precision_name(KN_TF32), "tf32");
}
END_TEST

START_TEST(test_bf16)
{
	ck_assert_uint_eq(kn_f32_to_bf16(1.0f), 0x3f80);
	ck_assert_uint_eq(kn_f32_to_bf16(-2.0f), 0xc000);
	/* 1 + 2^-8 is a tie between 1 and 1 + 2^-7: rounds to even (1.0) */
	ck_assert_uint_eq(kn_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
	ck_assert_uint_eq(kn_f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
	ck_assert(isnan(kn_bf16_to_f32(kn_f32_to_bf16(NAN))));
	ck_assert(isinf(kn_bf16_to_f32(kn_f32_to_bf16(INFINITY))));
	for (float f = -3.0f; f < 3.0f; f += 0.01f) {
		float r = kn_bf16_to_f32(kn_f32_to_bf16(f));
		ck_assert_float_le(fabsf(r - f), fabsf(f) * 0x1p-8f + 1e-30f);
	}
}
END_TEST

START_TEST(test_fp16)
{
	ck_assert_uint_eq(kn_f32_to_f16(1.0f), 0x3c00);
	ck_assert_uint_eq(kn_f32_to_f16(65504.0f), 0x7bff);
	ck_assert_uint_eq(kn_f32_to_f16(65520.0f), 0x7c00);        /* rounds up to inf */
	ck_assert_uint_eq(kn_f32_to_f16(0x1p-24f), 0x0001);         /* smallest subnormal */
	ck_assert_uint_eq(kn_f32_to_f16(0x1p-25f), 0x0000);         /* tie: rounds to even (0) */
	ck_assert_uint_eq(kn_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);  /* tie to even */
	ck_assert_uint_eq(kn_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
	ck_assert(isnan(kn_f16_to_f32(kn_f32_to_f16(NAN))));
	for (int h = 0; h < 0x7c00; h++) /* every finite positive half survives a round trip */
		ck_assert_uint_eq(kn_f32_to_f16(kn_f16_to_f32((uint16_t)h)), (unsigned)h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("precision");
	TCase *tc = tcase_create("conversions");
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_bf16);
	tcase_add_test(tc, test_fp16);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
