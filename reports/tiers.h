/*
 * reports/tiers.h — which GPU memory tier a configuration needs.
 *
 * For each group of ok points that differ only in batch size (same device,
 * model, size, precision and sequence length), the measured peaks are fitted
 * by least squares as peak = a + b x batch (weights and optimizer state are
 * the intercept, activations the slope). The fit's error is the largest
 * |fitted - measured| / measured over the group. From the fit: the largest
 * batch whose predicted peak fits each tier (8/16/24/40/80 GiB).
 */
#ifndef RP_TIERS_H
#define RP_TIERS_H

#include "reports/points.h"

#define RP_NTIERS 5
#define RP_TIER_HEADROOM 0.10
extern const int rp_tier_gib[RP_NTIERS];

struct rp_tier_fit {
	int first;                   /* index of a point of the group (names it) */
	int n_points, n_batches;
	double a_bytes, b_bytes_per_sample;
	double max_err_frac;
	int fitted;                  /* 0: fewer than 2 batch sizes, or a peak that does not grow with batch */
	long max_batch[RP_NTIERS];   /* largest batch that fits each tier (0 = none); -1 when not fitted */
};

/* One fit per group with at least one ok point that has a measured peak;
 * *out is malloc'd (caller frees). KN_ERR on OOM. */
int rp_tiers_fit(const struct rp_points *pts, struct rp_tier_fit **out, int *n);
/* Index of the smallest tier that holds bytes x (1 + headroom); -1 when even
 * the largest does not. */
int rp_tier_for(double bytes, double headroom);
double rp_tier_bytes(int i);

#endif
