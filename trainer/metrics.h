/*
 * trainer/metrics.h — clocks, percentiles, memory and timestamps.
 */
#ifndef TR_METRICS_H
#define TR_METRICS_H

#include <stddef.h>

double tr_now_ms(void);
/* Linear-interpolated percentile (q in [0,1]) of n values; sorts a copy. NAN when n == 0. */
double tr_percentile(const double *v, size_t n, double q);
/* Peak resident set size of this process, in bytes. */
double tr_peak_rss_bytes(void);
/* Current UTC time as ISO 8601 ("2026-11-24T19:00:00Z") into buf. */
void tr_utc_now(char *buf, size_t n);

#endif
