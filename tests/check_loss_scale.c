/* The fp16 dynamic loss scaler's host logic. */
#include <check.h>
#include <math.h>

#include "testutil.h"
#include "trainer/loss_scale.h"

START_TEST(test_disabled_is_identity)
{
	struct tr_loss_scaler s;
	tr_loss_scaler_init(&s, 0);
	ck_assert_float_eq(s.scale, 1.0f);
	ck_assert_int_eq(tr_loss_scaler_update(&s, INFINITY), 1); /* bf16/fp32: never skips */
	ck_assert_int_eq(s.skips, 0);
	ck_assert_float_eq(tr_loss_scaler_grad_factor(&s, 0.5, 1.0), 1.0f);
	ck_assert_float_eq(tr_loss_scaler_grad_factor(&s, 4.0, 1.0), 0.25f); /* clipping still applies */
}
END_TEST

START_TEST(test_overflow_skips_and_halves)
{
	struct tr_loss_scaler s;
	tr_loss_scaler_init(&s, 1);
	ck_assert_float_eq(s.scale, 65536.0f);
	ck_assert_int_eq(tr_loss_scaler_update(&s, 3.0), 1);
	ck_assert_int_eq(tr_loss_scaler_update(&s, INFINITY), 0);
	ck_assert_float_eq(s.scale, 32768.0f);
	ck_assert_int_eq(tr_loss_scaler_update(&s, NAN), 0);
	ck_assert_float_eq(s.scale, 16384.0f);
	ck_assert_int_eq(s.skips, 2);
	ck_assert_int_eq(s.good_steps, 0);
}
END_TEST

START_TEST(test_growth_after_interval)
{
	struct tr_loss_scaler s;
	tr_loss_scaler_init(&s, 1);
	s.growth_interval = 5;
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(tr_loss_scaler_update(&s, 1.0), 1);
	ck_assert_float_eq(s.scale, 65536.0f);
	tr_loss_scaler_update(&s, 1.0);
	ck_assert_float_eq(s.scale, 131072.0f);
	/* an overflow resets the run of good steps */
	for (int i = 0; i < 4; i++)
		tr_loss_scaler_update(&s, 1.0);
	tr_loss_scaler_update(&s, INFINITY);
	ck_assert_float_eq(s.scale, 65536.0f);
	for (int i = 0; i < 4; i++)
		tr_loss_scaler_update(&s, 1.0);
	ck_assert_float_eq(s.scale, 65536.0f);
}
END_TEST

START_TEST(test_bounds_and_factor)
{
	struct tr_loss_scaler s;
	tr_loss_scaler_init(&s, 1);
	for (int i = 0; i < 40; i++)
		tr_loss_scaler_update(&s, INFINITY);
	ck_assert_float_eq(s.scale, 1.0f); /* never below 1 */
	tr_loss_scaler_init(&s, 1);
	s.growth_interval = 1;
	for (int i = 0; i < 40; i++)
		tr_loss_scaler_update(&s, 1.0);
	ck_assert_float_eq(s.scale, 16777216.0f); /* never above 2^24 */
	tr_loss_scaler_init(&s, 1);
	/* scaled norm 65536 * 0.5: true norm 0.5 below the clip: factor 1/scale */
	ck_assert_float_eq(tr_loss_scaler_grad_factor(&s, 32768.0, 1.0), 1.0f / 65536.0f);
	/* true norm 4: clipped to 1 */
	ck_assert_float_eq(tr_loss_scaler_grad_factor(&s, 262144.0, 1.0), 0.25f / 65536.0f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("loss_scale");
	TCase *tc = tcase_create("loss_scale");
	tcase_add_test(tc, test_disabled_is_identity);
	tcase_add_test(tc, test_overflow_skips_and_halves);
	tcase_add_test(tc, test_growth_after_interval);
	tcase_add_test(tc, test_bounds_and_factor);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
