/*
 * sweeps/outcome.h — the results record of a finished point.
 */
#ifndef SW_OUTCOME_H
#define SW_OUTCOME_H

#include "sweeps/grid.h"
#include "sweeps/plan.h"
#include "sweeps/runner.h"

/*
 * The record line (no newline; caller frees; NULL when out of memory) of a
 * point that ended as `o` says: the record the child printed when its stdout
 * holds one, else one made from the point's settings; the status from
 * sw_status_for(); and the sweep's own fields: sweep, repeat, point,
 * exit_code (null after a signal), term_signal, wall_s, time_limit_s and
 * price_per_hour (when the plan sets them), and stderr_tail unless ok.
 */
char *sw_point_record(const struct sw_plan *p, const struct sw_point *pt, const struct sw_outcome *o);
/* The record of a point not run because the estimator predicts it cannot fit
 * (status "oom-predicted"; measurements null); NULL on OOM. */
char *sw_predicted_record(const struct sw_plan *p, const struct sw_point *pt, const char *message);

#endif
