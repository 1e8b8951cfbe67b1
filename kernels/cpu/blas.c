/*
 * Which OpenBLAS kernels the CPU backend's GEMMs run on.
 *
 * A DYNAMIC_ARCH OpenBLAS picks its kernel family from the CPU id when it is
 * loaded. A release older than the CPU may not recognise it and fall back to
 * an older family: unknown AMD families went to Barcelona (no AVX) and some
 * unknown Intel models to Prescott, before OpenBLAS fixed its fallbacks
 * (upstream issues 3620 and 4267; Debian 12 ships 0.3.21). The family matters:
 * on an AVX-512 CPU (AMD EPYC, Zen 5) the AVX2 Haswell kernels make amptune's
 * fp32 step 1.2-1.7x slower than the AVX-512 SkylakeX/Cooperlake kernels
 * (docs/benchmarks.md), and a CPU point measured so would mislead the
 * CPU-against-GPU comparison. So before the first GEMM, if the library's pick
 * ranks below the best family the CPU and the OS support,
 *
 *   avx512 f/cd/bw/dq/vl + bf16 -> Cooperlake
 *   avx512 f/cd/bw/dq/vl        -> SkylakeX
 *   avx2 + fma                  -> Haswell
 *
 * we ask the library to select again with that family, as OPENBLAS_CORETYPE
 * would have at load time (or the next one down that it takes:
 * kn_blas_upgrade). A newer library's pick, or its tuned Zen kernels on an
 * AVX2 CPU, are kept, and so is anything the user set in OPENBLAS_CORETYPE (the records say so, and `amptune diagnose` points out a
 * forced family below the CPU's best). The entry points are looked up at run
 * time, so a BLAS without them (a single-target OpenBLAS, another library) is
 * left alone. What runs, and who chose it, goes into every record.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernels/cpu/blas.h"

static struct kn_blas_info info;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* kernel families by the widest vector ISA they use; unknown names rank 0 */
int kn_blas_family_rank(const char *name)
{
	static const struct {
		const char *name;
		int rank;
	} ranks[] = {
		{ "Sandybridge", 1 }, { "Bulldozer", 1 }, { "Piledriver", 1 }, { "Steamroller", 1 },
		{ "Haswell", 2 },     { "Zen", 2 },       { "Excavator", 2 },  { "SkylakeX", 3 },
		{ "Cooperlake", 4 },  { "SapphireRapids", 5 },
	};
	for (size_t i = 0; i < sizeof ranks / sizeof *ranks; i++)
		if (!strcasecmp(name, ranks[i].name))
			return ranks[i].rank;
	return 0;
}

int kn_blas_below(const char *kernels, const char *cpu_best)
{
	return kernels[0] && kn_blas_family_rank(cpu_best) > kn_blas_family_rank(kernels);
}

/* the best family this CPU and OS run ("" for none of ours); __builtin_cpu_supports checks both */
const char *kn_blas_family_for_cpu(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
		     __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
		     __builtin_cpu_supports("avx512vl");
	if (avx512 && __builtin_cpu_supports("avx512bf16"))
		return "Cooperlake";
	if (avx512)
		return "SkylakeX";
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return "Haswell";
#endif
	return "";
}

/* the library's version out of its config line ("OpenBLAS 0.3.21 DYNAMIC_ARCH ...") */
static void library_name(char *buf, size_t n, const char *config)
{
	size_t len = 0;
	for (int words = 0; config[len] && words < 2; len++)
		if (config[len] == ' ' && ++words == 2)
			break;
	snprintf(buf, n, "%.*s", (int)len, config);
}

static char *(*get_corename)(void);
static void (*reinit)(void), (*unselect)(void);

static void lookup(void)
{
	get_corename = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
	reinit = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
	unselect = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
}

int kn_blas_select(const char *family)
{
	lookup();
	if (!get_corename || !reinit || !unselect)
		return -1;
	/* the library reads OPENBLAS_CORETYPE when it selects; it is removed again so that programs we
	 * start (a sweep's children decide for themselves) see the environment the user gave */
	const char *had = getenv("OPENBLAS_CORETYPE");
	char saved[64];
	snprintf(saved, sizeof saved, "%s", had ? had : "");
	if (setenv("OPENBLAS_CORETYPE", family, 1) != 0)
		return -1;
	unselect();
	reinit();
	if (had)
		setenv("OPENBLAS_CORETYPE", saved, 1);
	else
		unsetenv("OPENBLAS_CORETYPE");
	return strcasecmp(get_corename(), family) == 0 ? 0 : -1;
}

const char *kn_blas_upgrade(const char *library_pick, const char *cpu_best, int (*select)(const char *family))
{
	/* a library older than a family may not know its name, and then falls back to a family of its own
	 * choosing (old releases: Prescott); so the families are tried from the best down, and the
	 * library's pick is selected again when none of those above it is taken */
	static const char *const order[] = { "SapphireRapids", "Cooperlake", "SkylakeX", "Haswell" };
	int best = kn_blas_family_rank(cpu_best), floor = kn_blas_family_rank(library_pick);
	for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
		int r = kn_blas_family_rank(order[i]);
		if (r <= best && r > floor && select(order[i]) == 0)
			return order[i];
	}
	if (best > floor)
		select(library_pick);
	return NULL;
}

static void choose(void)
{
	char *(*get_config)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_config");
	lookup();
	info.cpu_best = kn_blas_family_for_cpu();
	info.source = "library";
	if (!get_config || !get_corename) {
		snprintf(info.library, sizeof info.library, "not OpenBLAS");
		return;
	}
	library_name(info.library, sizeof info.library, get_config());
	snprintf(info.library_kernels, sizeof info.library_kernels, "%s", get_corename());
	snprintf(info.kernels, sizeof info.kernels, "%s", info.library_kernels);
	/* whatever the user forced is kept, even a name the library mapped to another family or ignored:
	 * kernels says what runs */
	const char *forced = getenv("OPENBLAS_CORETYPE");
	if (forced && *forced) {
		info.source = "OPENBLAS_CORETYPE";
		info.library_kernels[0] = 0; /* the library's own pick was never made */
		return;
	}
	if (kn_blas_upgrade(info.library_kernels, info.cpu_best, kn_blas_select))
		info.source = "amptune";
	snprintf(info.kernels, sizeof info.kernels, "%s", get_corename());
}

const struct kn_blas_info *kn_blas_setup(void)
{
	pthread_once(&once, choose);
	return &info;
}
