/*
 * reports/recommend.h — the decision: which point to run.
 *
 * Rule: among points that finished `ok`, keep those whose loss is within
 * `loss_tol` (relative) of the best loss reached by any ok point of the same
 * model, size, dataset and step count, so that a fast point that is diverging
 * or learning badly is never picked; of those, recommend the one with the
 * lowest cost per epoch. The loss is the eval loss where every ok point of
 * the group has one, else the mean of the last quarter of the training-loss
 * curve (rp_tail_loss), else the last training loss: never one minibatch's
 * loss when something steadier was measured. Costs within RP_COST_TIE
 * (relative) of the lowest tie, and ties go to the shorter epoch, then the
 * lower loss, then the earlier line of the results file. Beside it: the
 * fastest such point, the time/cost Pareto front, and a CPU-vs-GPU verdict
 * comparing the cheapest qualifying point of each kind.
 */
#ifndef RP_RECOMMEND_H
#define RP_RECOMMEND_H

#include "reports/points.h"

#define RP_LOSS_TOL_DEFAULT 0.05
/* Costs per epoch within 1% of the lowest are a tie: the report shows them to 3 significant figures
 * from prices that are estimates, so a smaller difference is no reason to pick a slower point. */
#define RP_COST_TIE 0.01

struct rp_reco {
	double loss_tol;
	int best;          /* recommended point, -1 when none qualifies */
	int fastest;       /* lowest epoch time among qualifying points */
	int fastest_any;   /* lowest epoch time among all ok points, qualifying or not */
	int cheapest_any;  /* lowest cost per epoch among all ok points */
	int excluded_faster;   /* an ok point faster than `fastest` that the loss rule excluded, or -1 */
	int excluded_cheaper;  /* an ok point cheaper than `best` that the loss rule excluded (not the above), or -1 */
	int cpu_best, gpu_best;
	int *pareto;       /* qualifying points on the time/cost front, by epoch time */
	int n_pareto;
	int n_ok, n_eligible;
	char verdict[640]; /* CPU-vs-GPU sentence */
	char why_none[256];
	char rule[400];    /* the rule in one sentence, with the tolerance */
};

/* Marks each point's loss_ok/eligible and fills `out`; KN_ERR on OOM. */
int rp_recommend(struct rp_points *pts, double loss_tol, struct rp_reco *out);
void rp_reco_release(struct rp_reco *r);

#endif
