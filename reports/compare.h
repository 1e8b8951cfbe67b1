/*
 * reports/compare.h — `amptune compare A B`: two sets of results, point by
 * point.
 *
 * Points match when their configuration agrees (model, size, dataset,
 * precision, batch, seq, workers, prefetch, seed, steps); the device and host
 * are ignored, so an A100 sweep matches an H100 sweep, and a CPU sweep a GPU
 * one. Where a side holds the same configuration on several devices, points
 * on the same device are paired first.
 *
 * Speedup is B's samples/s over A's. With repeats on either side, a speedup
 * whose samples/s ranges (min..max over the ok repeats) overlap is "no
 * change": the difference is inside the measured spread.
 *
 * Matched CPU points with a speedup whose GEMMs ran different OpenBLAS kernel
 * families (versions.blas_kernels, case ignored; both recorded) are counted,
 * and the summary says their speedups include the change of kernels.
 */
#ifndef RP_COMPARE_H
#define RP_COMPARE_H

#include "reports/points.h"
#include "reports/text.h"

enum rp_verdict { RP_FASTER, RP_SLOWER, RP_SAME, RP_NO_CHANGE, RP_NOT_COMPARABLE };

struct rp_match {
	int a, b;             /* point indices in A and B */
	double speedup;       /* B/A samples/s; NAN unless both ok and measured */
	double mem_change;    /* (B - A) / A of the peak; NAN when unknown */
	double loss_change;   /* B - A final loss; NAN when unknown */
	enum rp_verdict verdict;
	int noise_known;      /* either side has 2+ ok repeats */
};

struct rp_compare {
	const struct rp_points *a, *b;
	struct rp_match *m;
	int n;
	int *only_a, *only_b;
	int n_only_a, n_only_b;
	double geomean;       /* geometric mean of the speedups; NAN when none */
	int n_geomean;
	int n_blas_differ;    /* matched cpu pairs with a speedup, on different BLAS kernel families */
	char blas_a[24], blas_b[24]; /* the first such pair's families */
};

int rp_compare(struct rp_compare *c, const struct rp_points *a, const struct rp_points *b);
void rp_compare_release(struct rp_compare *c);
const char *rp_verdict_name(enum rp_verdict v);
void rp_compare_markdown(const struct rp_compare *c, const char *path_a, const char *path_b, struct rp_buf *b);
void rp_compare_html(const struct rp_compare *c, const char *path_a, const char *path_b, struct rp_buf *b);
/* Matched points slower than A by more than pct percent of A's samples/s (a
 * "no change" inside the spread is not), or ok in A and not ok in B, or ok in
 * a smaller share of their repeats in B than in A (runs that failed), and
 * points ok in A that B does not hold at all (counted into *n_missing when
 * not NULL); each is listed into `why`. Returns how many in all. */
int rp_compare_regressions(const struct rp_compare *c, double pct, struct rp_buf *why, int *n_missing);

#endif
