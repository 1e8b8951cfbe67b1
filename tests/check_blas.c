/* Choosing OpenBLAS's kernel family (kernels/cpu/blas.c): the ranking, switching the
 * library's family at run time (GEMMs stay right, the environment is left as it was),
 * and kn_blas_setup's three outcomes. Check forks every test, so each starts with the
 * library's load-time pick and kn_blas_setup not yet run. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cblas.h>

#include "kernels/cpu/blas.h"
#include "testutil.h"

/* whether the library can switch families at run time (a DYNAMIC_ARCH OpenBLAS) */
static int switchable(void)
{
	return kn_blas_select("Haswell") == 0;
}

START_TEST(test_family_rank)
{
	ck_assert_int_lt(kn_blas_family_rank("Sandybridge"), kn_blas_family_rank("Haswell"));
	ck_assert_int_eq(kn_blas_family_rank("Zen"), kn_blas_family_rank("Haswell"));
	ck_assert_int_lt(kn_blas_family_rank("Haswell"), kn_blas_family_rank("SkylakeX"));
	ck_assert_int_lt(kn_blas_family_rank("SkylakeX"), kn_blas_family_rank("Cooperlake"));
	ck_assert_int_eq(kn_blas_family_rank("skylakex"), kn_blas_family_rank("SkylakeX")); /* corenames vary in case */
	ck_assert_int_eq(kn_blas_family_rank("Prescott"), 0);
	ck_assert_int_eq(kn_blas_family_rank(""), 0);
}
END_TEST

/* the CPU's best family agrees with the flags the kernel reports in /proc/cpuinfo */
START_TEST(test_family_for_cpu_matches_cpuinfo)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	static char line[8192];
	char flags[8192] = "";
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "flags", 5)) {
			snprintf(flags, sizeof flags, " %s ", strchr(line, ':') + 1);
			flags[strcspn(flags, "\n")] = ' ';
			break;
		}
	fclose(f);
	if (!flags[0])
		return;
#define HAS(x) (strstr(flags, " " x " ") != NULL)
	int avx512 = HAS("avx512f") && HAS("avx512cd") && HAS("avx512bw") && HAS("avx512dq") && HAS("avx512vl");
	const char *want = avx512 && HAS("avx512_bf16") ? "Cooperlake"
			   : avx512			  ? "SkylakeX"
			   : HAS("avx2") && HAS("fma")	  ? "Haswell"
							  : "";
#undef HAS
	ck_assert_str_eq(kn_blas_family_for_cpu(), want);
}
END_TEST

/* C = A B for a shape that is no multiple of any kernel's tile, against double sums */
static void check_sgemm(const char *family)
{
	enum { M = 67, N = 45, K = 133 };
	static float A[M * K], B[K * N], C[M * N];
	unsigned s = 12345;
	for (int i = 0; i < M * K; i++)
		A[i] = (float)((s = s * 1103515245u + 12345u) >> 9) / (1u << 23) - 0.5f;
	for (int i = 0; i < K * N; i++)
		B[i] = (float)((s = s * 1103515245u + 12345u) >> 9) / (1u << 23) - 0.5f;
	for (int i = 0; i < M * N; i++)
		C[i] = NAN;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
	double worst = 0;
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			double ref = 0, mag = 0;
			for (int k = 0; k < K; k++) {
				ref += (double)A[i * K + k] * B[k * N + j];
				mag += fabs((double)A[i * K + k] * B[k * N + j]);
			}
			double e = fabs(C[i * N + j] - ref) / mag;
			worst = e > worst || isnan(e) ? (isnan(e) ? INFINITY : e) : worst;
		}
	/* K products in fp32 with fp32 sums: a few units of 2^-24 times sqrt(K) at most */
	ck_assert_msg(worst < 1e-6, "%s kernels: worst error %.3g of the sum of magnitudes", family, worst);
}

START_TEST(test_select_switches_and_gemms_stay_right)
{
	if (!switchable())
		return; /* not a DYNAMIC_ARCH OpenBLAS: nothing to switch */
	check_sgemm("Haswell");
	const char *best = kn_blas_family_for_cpu();
	if (best[0]) {
		ck_assert_int_eq(kn_blas_select(best), 0);
		check_sgemm(best);
	}
	ck_assert_int_eq(kn_blas_select("Sandybridge"), 0);
	check_sgemm("Sandybridge");
	ck_assert_int_eq(kn_blas_select("NoSuchFamily"), -1); /* the library falls back (how depends on its release) */
}
END_TEST

START_TEST(test_select_leaves_environment_as_it_was)
{
	if (!switchable())
		return;
	unsetenv("OPENBLAS_CORETYPE");
	ck_assert_int_eq(kn_blas_select("Sandybridge"), 0);
	ck_assert_ptr_null(getenv("OPENBLAS_CORETYPE"));
	setenv("OPENBLAS_CORETYPE", "Zen", 1);
	ck_assert_int_eq(kn_blas_select("Haswell"), 0);
	ck_assert_str_eq(getenv("OPENBLAS_CORETYPE"), "Zen");
}
END_TEST

/* the library picked below the CPU's best (as an old release on a newer CPU does): upgraded */
START_TEST(test_setup_upgrades_a_low_pick)
{
	if (!switchable())
		return;
	unsetenv("OPENBLAS_CORETYPE");
	ck_assert_int_eq(kn_blas_select("Sandybridge"), 0); /* stands for the library's load-time pick */
	const struct kn_blas_info *b = kn_blas_setup();
	ck_assert_str_eq(b->library_kernels, "Sandybridge");
	ck_assert_str_eq(b->cpu_best, kn_blas_family_for_cpu());
	if (kn_blas_family_rank(b->cpu_best) > kn_blas_family_rank("Sandybridge")) {
		ck_assert_str_eq(b->source, "amptune");
		ck_assert_int_eq(strcasecmp(b->kernels, b->cpu_best), 0);
		check_sgemm(b->kernels);
	} else {
		ck_assert_str_eq(b->source, "library");
		ck_assert_str_eq(b->kernels, "Sandybridge");
	}
	ck_assert_ptr_null(getenv("OPENBLAS_CORETYPE"));
	ck_assert_ptr_eq(kn_blas_setup(), b); /* decided once */
}
END_TEST

/* the library's pick is already the CPU's best: kept */
START_TEST(test_setup_keeps_a_good_pick)
{
	const char *best = kn_blas_family_for_cpu();
	if (!switchable() || !best[0])
		return;
	unsetenv("OPENBLAS_CORETYPE");
	ck_assert_int_eq(kn_blas_select(best), 0);
	const struct kn_blas_info *b = kn_blas_setup();
	ck_assert_str_eq(b->source, "library");
	ck_assert_int_eq(strcasecmp(b->kernels, best), 0);
	ck_assert_str_eq(b->kernels, b->library_kernels);
	ck_assert_int_eq(strncmp(b->library, "OpenBLAS 0.", 11), 0);
}
END_TEST

/* the user forced a family: kept, even below the CPU's best, and said so */
START_TEST(test_setup_respects_openblas_coretype)
{
	if (!switchable())
		return;
	setenv("OPENBLAS_CORETYPE", "Sandybridge", 1);
	ck_assert_int_eq(kn_blas_select("Sandybridge"), 0); /* as the library did at load time */
	const struct kn_blas_info *b = kn_blas_setup();
	ck_assert_str_eq(b->source, "OPENBLAS_CORETYPE");
	ck_assert_str_eq(b->kernels, "Sandybridge");
	ck_assert_str_eq(b->library_kernels, "");
	ck_assert_str_eq(getenv("OPENBLAS_CORETYPE"), "Sandybridge");
}
END_TEST

/* anything set in OPENBLAS_CORETYPE is the user's: never overridden, even a name the library ignored */
START_TEST(test_setup_never_overrides_openblas_coretype)
{
	if (!switchable())
		return;
	unsetenv("OPENBLAS_CORETYPE");
	ck_assert_int_eq(kn_blas_select("Sandybridge"), 0); /* what runs */
	setenv("OPENBLAS_CORETYPE", "NoSuchFamily", 1);
	const struct kn_blas_info *b = kn_blas_setup();
	ck_assert_str_eq(b->source, "OPENBLAS_CORETYPE");
	ck_assert_str_eq(b->kernels, "Sandybridge");
	ck_assert_str_eq(getenv("OPENBLAS_CORETYPE"), "NoSuchFamily");
}
END_TEST

/* kn_blas_upgrade against a fake library that knows only some names */
static const char *known[4];
static char selected[32][24];
static int nselected;

static int fake_select(const char *family)
{
	snprintf(selected[nselected++], sizeof selected[0], "%s", family);
	for (int i = 0; i < 4 && known[i]; i++)
		if (!strcmp(known[i], family))
			return 0;
	return -1;
}

static const char *upgrade_with(const char *pick, const char *best, const char *k0, const char *k1, const char *k2)
{
	known[0] = k0, known[1] = k1, known[2] = k2, known[3] = NULL;
	nselected = 0;
	return kn_blas_upgrade(pick, best, fake_select);
}

START_TEST(test_upgrade_walks_down_and_restores)
{
	/* the library knows the best: taken at once */
	ck_assert_str_eq(upgrade_with("Haswell", "Cooperlake", "Cooperlake", "SkylakeX", "Haswell"), "Cooperlake");
	ck_assert_int_eq(nselected, 1);
	/* an old library without Cooperlake: SkylakeX next */
	ck_assert_str_eq(upgrade_with("Haswell", "Cooperlake", "SkylakeX", "Haswell", NULL), "SkylakeX");
	ck_assert_int_eq(nselected, 2);
	ck_assert_str_eq(selected[0], "Cooperlake");
	/* nothing above the pick is known: the pick is selected again (the failed tries changed it) */
	ck_assert_ptr_null(upgrade_with("Zen", "Cooperlake", "Zen", "Haswell", NULL));
	ck_assert_int_eq(nselected, 3); /* Cooperlake, SkylakeX, then Zen back; Haswell ranks as Zen: not tried */
	ck_assert_str_eq(selected[2], "Zen");
	/* from a low pick, AVX2 is above it */
	ck_assert_str_eq(upgrade_with("Sandybridge", "SkylakeX", "Haswell", NULL, NULL), "Haswell");
	ck_assert_str_eq(selected[0], "SkylakeX");
	/* the pick is already the best, or better than what the CPU is known to run: nothing selected */
	ck_assert_ptr_null(upgrade_with("Cooperlake", "Cooperlake", "Cooperlake", NULL, NULL));
	ck_assert_ptr_null(upgrade_with("SapphireRapids", "Cooperlake", "Cooperlake", NULL, NULL));
	ck_assert_ptr_null(upgrade_with("Haswell", "", "Haswell", NULL, NULL));
	ck_assert_int_eq(nselected, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("blas");
	TCase *tc = tcase_create("blas");
	tcase_add_test(tc, test_family_rank);
	tcase_add_test(tc, test_family_for_cpu_matches_cpuinfo);
	tcase_add_test(tc, test_select_switches_and_gemms_stay_right);
	tcase_add_test(tc, test_select_leaves_environment_as_it_was);
	tcase_add_test(tc, test_setup_upgrades_a_low_pick);
	tcase_add_test(tc, test_setup_keeps_a_good_pick);
	tcase_add_test(tc, test_setup_respects_openblas_coretype);
	tcase_add_test(tc, test_setup_never_overrides_openblas_coretype);
	tcase_add_test(tc, test_upgrade_walks_down_and_restores);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
