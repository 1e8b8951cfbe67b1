/*
 * Batch normalisation over the columns of an [M, C] (NHWC) map, eps 1e-5.
 *
 * Per-channel statistics reduce over M rows in fixed chunks of rows: each
 * chunk is summed by one thread into its own partial (in double), and the
 * partials are folded in chunk order, so the result is bitwise identical for
 * any thread count. The forward's mean and variance merge chunk moments
 * (Chan, Golub & LeVeque), which stays accurate where sum-of-squares would
 * cancel.
 */
#include "kernels/cpu/real.h"

#define BN_EPS 1e-5
#define BN_PARTIALS 16384 /* doubles of partials on the stack */
#define BN_MAX_C (BN_PARTIALS / 4) /* channels at most (the models stay far below) */

enum stats_mode { STATS_MOMENTS, STATS_BACKWARD };

static int rows_per_chunk(int C) { return KN_CHUNK / C > 0 ? KN_CHUNK / C : 1; }

/* dout masked by a ReLU's output (mask NULL: no ReLU) */
static inline real masked(const real *dout, const real *mask, long i) { return !mask || mask[i] > 0 ? dout[i] : 0; }

/* One chunk's partials for rows [lo, hi): MOMENTS: p1 = mean, p2 = sum of squared
 * deviations; BACKWARD: p1 = sum dout, p2 = sum dout * xhat. A chunk holds at
 * most KN_CHUNK elements, so it sums in `real`; chunks fold in double. */
static void chunk_stats(enum stats_mode mode, const real *x, const real *dout, const real *mask, const real *mean,
			const real *rstd, long lo, long hi, int C, double *p1, double *p2)
{
	real a1[BN_MAX_C], a2[BN_MAX_C];
	for (int c = 0; c < C; c++)
		a1[c] = a2[c] = 0;
	if (mode == STATS_MOMENTS) {
		for (long r = lo; r < hi; r++)
			for (int c = 0; c < C; c++)
				a1[c] += x[r * C + c];
		for (int c = 0; c < C; c++)
			a1[c] /= (real)(hi - lo);
		for (long r = lo; r < hi; r++)
			for (int c = 0; c < C; c++) {
				real d = x[r * C + c] - a1[c];
				a2[c] += d * d;
			}
	} else if (mask) {
		for (long r = lo; r < hi; r++)
			for (int c = 0; c < C; c++) {
				long i = r * C + c;
				real d = mask[i] > 0 ? dout[i] : 0;
				a1[c] += d;
				a2[c] += d * ((x[i] - mean[c]) * rstd[c]);
			}
	} else {
		for (long r = lo; r < hi; r++)
			for (int c = 0; c < C; c++) {
				long i = r * C + c;
				a1[c] += dout[i];
				a2[c] += dout[i] * ((x[i] - mean[c]) * rstd[c]);
			}
	}
	for (int c = 0; c < C; c++) {
		p1[c] = a1[c];
		p2[c] = a2[c];
	}
}

/* Folds chunk statistics over all M rows into s1[C], s2[C] (see chunk_stats). */
static void column_stats(enum stats_mode mode, const real *x, const real *dout, const real *mask, const real *mean,
			 const real *rstd, long M, int C, double *s1, double *s2)
{
	double part[BN_PARTIALS];
	long rows = rows_per_chunk(C), nchunks = (M + rows - 1) / rows;
	long group = BN_PARTIALS / (2 * C);
	double n_acc = 0;
	for (int c = 0; c < C; c++)
		s1[c] = s2[c] = 0;
	for (long g0 = 0; g0 < nchunks; g0 += group) {
		long cnt = nchunks - g0 < group ? nchunks - g0 : group;
#pragma omp parallel for schedule(static)
		for (long j = 0; j < cnt; j++) {
			long lo = (g0 + j) * rows, hi = lo + rows < M ? lo + rows : M;
			chunk_stats(mode, x, dout, mask, mean, rstd, lo, hi, C, part + j * 2 * C, part + j * 2 * C + C);
		}
		for (long j = 0; j < cnt; j++) {
			const double *p1 = part + j * 2 * C, *p2 = p1 + C;
			long lo = (g0 + j) * rows;
			double nb = (double)((lo + rows < M ? lo + rows : M) - lo), n = n_acc + nb;
			for (int c = 0; c < C; c++) {
				if (mode == STATS_MOMENTS) {
					double delta = p1[c] - s1[c];
					s1[c] += delta * nb / n;
					s2[c] += p2[c] + delta * delta * n_acc * nb / n;
				} else {
					s1[c] += p1[c];
					s2[c] += p2[c];
				}
			}
			n_acc = n;
		}
	}
}

void KN_CPU_FN(batchnorm_forward)(void *out_, void *mean_, void *rstd_, void *running_mean_, void *running_var_,
				  const void *inp_, const void *weight_, const void *bias_, const void *residual_, int relu,
				  int M, int C, int train, float momentum)
{
	real *out = out_, *mean = mean_, *rstd = rstd_, *rmean = running_mean_, *rvar = running_var_;
	const real *x = inp_, *w = weight_, *b = bias_, *res = residual_;
	if (train) {
		double s1[BN_MAX_C], s2[BN_MAX_C];
		column_stats(STATS_MOMENTS, x, NULL, NULL, NULL, NULL, M, C, s1, s2);
		for (int c = 0; c < C; c++) {
			mean[c] = (real)s1[c];
			rstd[c] = (real)(1.0 / sqrt(s2[c] / M + BN_EPS));
			double unbiased = M > 1 ? s2[c] / (M - 1) : s2[c];
			rmean[c] = (real)((1.0 - momentum) * rmean[c] + momentum * s1[c]);
			rvar[c] = (real)((1.0 - momentum) * rvar[c] + momentum * unbiased);
		}
	} else {
		for (int c = 0; c < C; c++) {
			mean[c] = rmean[c];
			rstd[c] = (real)(1.0 / sqrt((double)rvar[c] + BN_EPS));
		}
	}
#pragma omp parallel for schedule(static)
	for (long r = 0; r < M; r++) {
		const real *xr = x + r * C, *rr = res ? res + r * C : NULL;
		real *o = out + r * C;
		for (int c = 0; c < C; c++) {
			real y = (xr[c] - mean[c]) * rstd[c] * w[c] + b[c] + (rr ? rr[c] : 0);
			o[c] = relu && y < 0 ? 0 : y;
		}
	}
}

void KN_CPU_FN(batchnorm_backward)(void *dinp_, void *dweight_, void *dbias_, const void *dout_,
				   const void *relu_out_, const void *inp_, const void *weight_, const void *mean_,
				   const void *rstd_, int M, int C)
{
	real *dinp = dinp_, *dw = dweight_, *db = dbias_;
	const real *dout = dout_, *mask = relu_out_, *x = inp_, *w = weight_, *mean = mean_, *rstd = rstd_;
	double s1[BN_MAX_C], s2[BN_MAX_C];
	real k1[BN_MAX_C], k2[BN_MAX_C];
	column_stats(STATS_BACKWARD, x, dout, mask, mean, rstd, M, C, s1, s2);
	for (int c = 0; c < C; c++) {
		db[c] += (real)s1[c];
		dw[c] += (real)s2[c];
		k1[c] = (real)(s1[c] / M);
		k2[c] = (real)(s2[c] / M);
	}
	/* dx = rstd w (dout - mean(dout) - xhat mean(dout xhat)) */
#pragma omp parallel for schedule(static)
	for (long r = 0; r < M; r++) {
		const real *xr = x + r * C;
		real *di = dinp + r * C;
		for (int c = 0; c < C; c++) {
			real xhat = (xr[c] - mean[c]) * rstd[c];
			di[c] = rstd[c] * w[c] * (masked(dout, mask, r * C + c) - k1[c] - xhat * k2[c]);
		}
	}
}
