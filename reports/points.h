/*
 * reports/points.h — records grouped into points (repeats of one `id`), with
 * medians over the repeats that finished `ok`, labels and costs.
 *
 * A point is `ok` when at least one repeat is; its numbers are the medians of
 * its ok repeats (NAN when none measured them), and `sps_min`/`sps_max` are
 * the spread of samples/s across them: the noise, shown by report and compare
 * (rp_point_sps_str) and used by compare's verdicts.
 * Points keep pointers into the rp_results they were built from, which must
 * outlive them. Order: first appearance in the results file.
 */
#ifndef RP_POINTS_H
#define RP_POINTS_H

#include <stddef.h>

#include "reports/cost.h"
#include "reports/results.h"

enum rp_axis {
	RP_AXIS_MODEL = 1, RP_AXIS_DEVICE = 2, RP_AXIS_PRECISION = 4, RP_AXIS_BATCH = 8, RP_AXIS_SEQ = 16,
	RP_AXIS_WORKERS = 32, RP_AXIS_PREFETCH = 64, RP_AXIS_STEPS = 128, RP_AXIS_DATASET = 256, RP_AXIS_SEED = 512,
	RP_AXIS_CPU = 1024, /* CPU points differ in their CPU or thread count */
};

/* The loss the recommendation rule compares within a group of points (rp_recommend). */
enum rp_loss_kind {
	RP_LOSS_EVAL,  /* eval_loss: every ok point of the group has one */
	RP_LOSS_TAIL,  /* the mean of the last quarter of the training-loss curve */
	RP_LOSS_FINAL, /* the last training loss: some point has neither of the above */
};

struct rp_point {
	const struct rp_record *cfg;    /* the configuration: the first ok repeat, else the first */
	const struct rp_record *rep;    /* the ok repeat nearest the median samples/s (curves, phases); or cfg */
	const struct rp_record **reps;  /* every repeat, file order */
	int n_reps, n_ok;
	long line;                      /* results line of the first repeat */
	const char *status;             /* "ok" when any repeat is, else the first repeat's status */
	double step_ms_p50, step_ms_p95, samples_per_sec, tokens_per_sec, epoch_s, peak_device_bytes, final_loss,
		eval_loss, data_wait_frac, mfu;
	double tail_loss;               /* rp_tail_loss() of the ok repeats (median) */
	double sps_min, sps_max;
	double mem_bytes;               /* device memory needed: the driver's peak when measured, else the allocator's */
	int epoch_s_extrapolated;       /* any ok repeat's epoch time was extrapolated */
	struct rp_price price;
	double cost_per_epoch, cost_per_m_samples, cost_per_m_tokens;
	/* set by rp_recommend() */
	enum rp_loss_kind loss_kind;    /* which loss the rule compared in this point's group */
	double rule_loss;               /* this point's loss of that kind */
	double best_loss_same_steps;    /* the group's best loss of that kind */
	int loss_ok, eligible;
};

struct rp_points {
	struct rp_point *p;
	int n;
	unsigned varies;                /* rp_axis bits that differ between points */
	int long_devices;               /* two devices of one id print alike: labels name devices in full */
	const struct rp_record **slots; /* storage for every point's reps */
};

int rp_points_build(struct rp_points *pts, const struct rp_results *res);
void rp_points_release(struct rp_points *pts);
/* Prices every point and fills its costs. */
void rp_points_price(struct rp_points *pts, const struct rp_prices *prices);

/* "cpu", or the model word of a GPU's name ("H100" of "NVIDIA H100 80GB HBM3", "RTX 4090"). */
const char *rp_device_label(const struct rp_record *r, char *out, size_t n);
int rp_is_gpu(const struct rp_record *r);
/* The device as the points' labels name it: rp_device_label(), or, when two devices of one id
 * would print alike (pts->long_devices), the whole device_name less the vendor's words. */
const char *rp_points_device(const struct rp_points *pts, const struct rp_record *r, char *out, size_t n);
/* The status of the point's first run that did not end ok, or "ok". */
const char *rp_point_failed_status(const struct rp_point *p);
/* The point's settings that vary across the set, always device, precision
 * and batch: "H100 80GB HBM3 bf16 b64 w4". Unescaped. */
const char *rp_point_label(const struct rp_points *pts, const struct rp_point *p, char *out, size_t n);
/* The same without the axes in `omit` (rp_axis bits): a chart series' name. */
const char *rp_point_label_without(const struct rp_points *pts, const struct rp_point *p, unsigned omit, char *out,
				   size_t n);
/* Time and cost per epoch as text, with "*" when the epoch time was
 * extrapolated from the timed steps rather than measured over an epoch. */
const char *rp_point_epoch_str(const struct rp_point *p, char *out, size_t n);
const char *rp_point_cost_str(const struct rp_point *p, char *out, size_t n);
/* Samples/s of an ok point: the median, and over several ok runs their range (min-max) with as
 * many digits as the ends need to differ: "677 (3 runs: 397-680)", "97.93 (2 runs: 97.90-97.95)",
 * "123 (2 of 3 runs ok, oom: 120-125)", "31 (1 of 3 runs ok, oom)"; one run: "677". */
const char *rp_point_sps_str(const struct rp_point *p, char *out, size_t n);
/* The mean of the last quarter (at least one) of a record's loss-curve samples: a training loss
 * smoothed over the end of the run. NAN when the curve is empty or a loss in that quarter is not finite. */
double rp_tail_loss(const struct rp_record *r);
/* "eval loss", "training loss (mean of the last quarter)", "final training loss". */
const char *rp_loss_kind_name(enum rp_loss_kind k);
/* Median of the finite values among n (NAN if none); reorders v. */
double rp_median(double *v, int n);

#endif
