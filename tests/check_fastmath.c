/* The fp32 CPU kernels' own exp and tanh (kernels/cpu/real.h) against libm in double. */
#define KN_REAL_BITS 32
#include <check.h>
#include <math.h>

#include "kernels/cpu/real.h"
#include "testutil.h"

START_TEST(test_fast_expf)
{
	/* within 2 ulp (2^-22 relative) of the correctly rounded value on [-87, 88] */
	double worst = 0;
	for (float x = -87.0f; x <= 88.0f; x += 0.000731f) {
		double ref = exp((double)x), got = kn_fast_expf(x);
		double e = fabs(got - ref) / ref;
		worst = e > worst ? e : worst;
	}
	ck_assert_msg(worst <= 0x1p-22, "worst relative error %.3g", worst);
	ck_assert_float_eq(kn_fast_expf(0.0f), 1.0f);
	ck_assert(kn_fast_expf(-1000.0f) > 0 && kn_fast_expf(-1000.0f) < 1e-37f); /* clamped, not 0 or NaN */
	ck_assert(isfinite(kn_fast_expf(1000.0f)));
	ck_assert(isnan(kn_fast_expf(NAN)));
}
END_TEST

START_TEST(test_fast_tanhf)
{
	double worst = 0;
	for (float x = -20.0f; x <= 20.0f; x += 0.000377f) {
		double e = fabs(kn_fast_tanhf(x) - tanh((double)x));
		worst = e > worst ? e : worst;
	}
	ck_assert_msg(worst <= 2e-7, "worst absolute error %.3g", worst);
	ck_assert_float_eq(kn_fast_tanhf(100.0f), 1.0f);
	ck_assert_float_eq(kn_fast_tanhf(-100.0f), -1.0f);
	ck_assert(signbit(kn_fast_tanhf(-0.0f)));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fastmath");
	TCase *tc = tcase_create("fastmath");
	tcase_add_test(tc, test_fast_expf);
	tcase_add_test(tc, test_fast_tanhf);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
