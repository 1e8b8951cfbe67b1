/*
 * kernels/cpu/blas.h — choosing the BLAS kernels the CPU backend runs on
 * (see blas.c for why). kn_blas_setup() decides once per process, before the
 * first GEMM: main() calls it first thing, before any thread of amptune's
 * starts (it sets and clears an environment variable; a pthreads OpenBLAS's
 * own server threads, started when it loaded, never read the environment),
 * and kn_cpu_open() again for programs that skip main's. The returned struct is static; it lives as
 * long as the process.
 */
#ifndef KN_CPU_BLAS_H
#define KN_CPU_BLAS_H

struct kn_blas_info {
	char library[48];          /* "OpenBLAS 0.3.21", or "not OpenBLAS" */
	char kernels[24];          /* kernel family in use: "SkylakeX" ("" when unknown) */
	char library_kernels[24];  /* the library's own pick ("" when OPENBLAS_CORETYPE forced one) */
	const char *source;        /* who chose `kernels`: "library", "amptune" or "OPENBLAS_CORETYPE" (set and
	                            * non-empty: never overridden, whatever the library made of it) */
	const char *cpu_best;      /* the best family this CPU runs (kn_blas_family_for_cpu) */
};

const struct kn_blas_info *kn_blas_setup(void);

/* the best OpenBLAS kernel family this CPU and OS can run ("" when none of ours applies) */
const char *kn_blas_family_for_cpu(void);

/* families by the widest vector ISA their kernels use (Haswell and Zen 2, SkylakeX 3, ...); 0 unknown */
int kn_blas_family_rank(const char *family);
/* Whether `kernels` (a family in use; "" unknown) rank below `cpu_best`: a CPU measured below
 * what it runs. */
int kn_blas_below(const char *kernels, const char *cpu_best);

/* Makes OpenBLAS select `family` now, as OPENBLAS_CORETYPE would at load time (the
 * environment is left as it was). Only before amptune's threads start and while no
 * GEMM runs. 0 when the library now runs `family`; -1 otherwise (not a DYNAMIC_ARCH
 * OpenBLAS, or it does not know or fell back from the name). */
int kn_blas_select(const char *family);

/* The decision kn_blas_setup makes, with the selection passed in (kn_blas_select; tests pass a
 * fake): when cpu_best ranks above library_pick, tries the families from cpu_best down to the
 * first that ranks above library_pick and that `select` takes (returns 0 for), and returns it;
 * when none is taken, selects library_pick again and returns NULL. NULL also when cpu_best does
 * not rank above library_pick (nothing selected). */
const char *kn_blas_upgrade(const char *library_pick, const char *cpu_best, int (*select)(const char *family));

#endif
