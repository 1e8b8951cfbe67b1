/* Shared test helpers: random buffers, tolerant comparison, temp paths. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

struct kn_backend;

/* Fills x[0..n) with uniform values in [lo, hi) from seed. */
void tu_fill_uniform(double *x, size_t n, double lo, double hi, uint64_t seed);
/* Max over i of |a-b| / (atol + rtol*|b|); <= 1 means within tolerance. */
double tu_max_err(const double *a, const double *b, size_t n, double atol, double rtol);
/* Allocates n elements on `be` (act- or master-typed) and uploads src (NULL = zeros). */
void *tu_dev(struct kn_backend *be, const double *src, size_t n, int master);
/* Downloads n elements into a new malloc'd double array. */
double *tu_host(struct kn_backend *be, const void *dev, size_t n, int master);
/* One AdamW step (the rule of kernels/cpu/adamw.c) in double on w[0..n) with
 * moments m, v (updated in place), gradient g times scale, 1-based step t. */
void tu_adamw_reference(double *w, double *m, double *v, const double *g, int n, double lr, double b1, double b2,
			double eps, double wd, int t, double scale);
/* Runs a Check suite with CK_NORMAL output; returns the process exit code. */
struct Suite;
int tu_run_suite(struct Suite *s);
/* Two runs' loss curves are the same length and the same to the bit ("what" names the runs in a failure). */
struct rp_record;
void tu_assert_same_losses(const struct rp_record *a, const struct rp_record *b, const char *what);
/* Number of CUDA devices, counted in a child process: the CUDA driver cannot
 * be used in a process forked after it was initialised, and Check runs each
 * test in a forked child, so a GPU suite's main() must not touch CUDA itself.
 * -1 when the child could not be run or did not exit normally. */
int tu_cuda_device_count_forked(void);
/* A scratch directory path unique to this process, created on first use. */
const char *tu_tmpdir(void);

#endif
