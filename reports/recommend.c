#include "reports/recommend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/error.h"
#include "reports/text.h"

/* The points of a task trained as long: the same epochs when a run was given epochs (its steps
 * then depend on its batch), else the same steps. */
static int same_task(const struct rp_record *a, const struct rp_record *b)
{
	double ea = rp_record_epochs(a), eb = rp_record_epochs(b);
	return !strcmp(a->model, b->model) && !strcmp(a->size, b->size) && !strcmp(a->dataset, b->dataset) &&
	       (ea > 0 || eb > 0 ? ea == eb : a->steps == b->steps);
}

static int is_ok(const struct rp_point *p) { return strcmp(p->status, "ok") == 0; }

/* <0 when a costs less than b, exactly (faster()'s tie-break, a total order for qsort); the
 * recommendation's picks compare costs with a band (cheapest()). */
static int cheaper(const struct rp_point *a, int ia, const struct rp_point *b, int ib)
{
	if (a->cost_per_epoch != b->cost_per_epoch)
		return a->cost_per_epoch < b->cost_per_epoch ? -1 : 1;
	if (a->epoch_s != b->epoch_s)
		return a->epoch_s < b->epoch_s ? -1 : 1;
	if (a->rule_loss != b->rule_loss)
		return a->rule_loss < b->rule_loss ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static int faster(const struct rp_point *a, int ia, const struct rp_point *b, int ib)
{
	if (a->epoch_s != b->epoch_s)
		return a->epoch_s < b->epoch_s ? -1 : 1;
	return cheaper(a, ia, b, ib);
}

/* The points the picks of rp_recommend() choose among. */
enum pool { ANY_OK, ELIGIBLE, ELIGIBLE_CPU, ELIGIBLE_GPU };

static int in_pool(const struct rp_point *p, enum pool pool)
{
	if (pool == ANY_OK)
		return is_ok(p) && isfinite(p->epoch_s) && isfinite(p->cost_per_epoch);
	return p->eligible && (pool == ELIGIBLE || (pool == ELIGIBLE_GPU) == !!rp_is_gpu(p->cfg));
}

/* The cheapest point of a pool, or -1: of those within RP_COST_TIE of the lowest cost, the
 * shortest epoch, then the lower loss, then the earlier line. */
static int cheapest(const struct rp_points *pts, enum pool pool)
{
	double least = INFINITY;
	int best = -1;
	for (int i = 0; i < pts->n; i++)
		if (in_pool(&pts->p[i], pool))
			least = fmin(least, pts->p[i].cost_per_epoch);
	for (int i = 0; i < pts->n; i++) {
		const struct rp_point *p = &pts->p[i], *b = best < 0 ? NULL : &pts->p[best];
		if (!in_pool(p, pool) || p->cost_per_epoch > least * (1 + RP_COST_TIE))
			continue;
		if (!b || p->epoch_s < b->epoch_s || (p->epoch_s == b->epoch_s && p->rule_loss < b->rule_loss))
			best = i;
	}
	return best;
}

static const struct rp_points *sort_pts; /* qsort's context for cmp_faster */

static int cmp_faster(const void *x, const void *y)
{
	int i = *(const int *)x, k = *(const int *)y;
	return faster(&sort_pts->p[i], i, &sort_pts->p[k], k);
}

static double loss_of(const struct rp_point *p, enum rp_loss_kind k)
{
	return k == RP_LOSS_EVAL ? p->eval_loss : k == RP_LOSS_TAIL ? p->tail_loss : p->final_loss;
}

/* The ok points of one task (model, size, dataset, steps): what the loss rule compares. */
struct task {
	const struct rp_record *cfg;
	int eval, tail;        /* every ok point has an eval loss / a tail of the training loss */
	double best[3];        /* the least finite loss of each rp_loss_kind; INFINITY: none */
};

/* The loss a task compares: eval loss when every ok point of it has one, else the smoothed
 * tail of the training loss when every one has that, else the last training loss. */
static enum rp_loss_kind task_loss_kind(const struct task *t)
{
	return t->eval ? RP_LOSS_EVAL : t->tail ? RP_LOSS_TAIL : RP_LOSS_FINAL;
}

static int mark_loss(struct rp_points *pts, double tol)
{
	struct task *tasks = malloc(((size_t)pts->n + 1) * sizeof *tasks);
	int *of = malloc(((size_t)pts->n + 1) * sizeof *of), ntasks = 0;
	if (!tasks || !of) {
		free(tasks);
		free(of);
		return kn_error(KN_ERR, "out of memory");
	}
	for (int i = 0; i < pts->n; i++) { /* a sweep has few tasks: a scan of them is short */
		const struct rp_point *p = &pts->p[i];
		int t = 0;
		while (t < ntasks && !same_task(tasks[t].cfg, p->cfg))
			t++;
		if (t == ntasks)
			tasks[ntasks++] = (struct task){ p->cfg, 1, 1, { INFINITY, INFINITY, INFINITY } };
		of[i] = t;
		if (!is_ok(p))
			continue;
		tasks[t].eval &= isfinite(p->eval_loss);
		tasks[t].tail &= isfinite(p->tail_loss);
		for (int k = 0; k < 3; k++) /* each rp_loss_kind */
			if (isfinite(loss_of(p, (enum rp_loss_kind)k)))
				tasks[t].best[k] = fmin(tasks[t].best[k], loss_of(p, (enum rp_loss_kind)k));
	}
	for (int i = 0; i < pts->n; i++) {
		struct rp_point *p = &pts->p[i];
		const struct task *t = &tasks[of[i]];
		p->loss_kind = task_loss_kind(t);
		p->rule_loss = loss_of(p, p->loss_kind);
		double best = t->best[p->loss_kind];
		p->best_loss_same_steps = isfinite(best) ? best : NAN;
		p->loss_ok = is_ok(p) && isfinite(p->rule_loss) && p->rule_loss <= best + tol * fabs(best);
		/* a setting that failed in some of its runs (oom at the edge of memory, say) is no pick */
		p->eligible = p->loss_ok && p->n_ok == p->n_reps && isfinite(p->epoch_s) && isfinite(p->cost_per_epoch);
	}
	free(tasks);
	free(of);
	return KN_OK;
}

static void verdict(const struct rp_points *pts, struct rp_reco *r)
{
	if (r->cpu_best < 0 || r->gpu_best < 0) {
		snprintf(r->verdict, sizeof r->verdict, "Only %s points qualify, so there is nothing to compare them with.",
			 r->cpu_best < 0 ? "GPU" : "CPU");
		if (r->cpu_best < 0 && r->gpu_best < 0)
			snprintf(r->verdict, sizeof r->verdict, "No point qualifies, so there is no verdict.");
		return;
	}
	const struct rp_point *c = &pts->p[r->cpu_best], *g = &pts->p[r->gpu_best];
	char ct[48], gt[48], cc[48], gc[48], gname[160];
	rp_point_epoch_str(c, ct, sizeof ct);
	rp_point_epoch_str(g, gt, sizeof gt);
	rp_point_cost_str(c, cc, sizeof cc);
	rp_point_cost_str(g, gc, sizeof gc);
	rp_points_device(pts, g->cfg, gname, sizeof gname);
	/* both as "how many times the GPU beats the CPU" */
	double speed = c->epoch_s / g->epoch_s, cost = c->cost_per_epoch / g->cost_per_epoch;
	int gpu_faster = speed > 1, gpu_cheaper = cost > 1;
	if (fmax(cost, 1 / cost) <= 1 + RP_COST_TIE) { /* as cheapest() ties them: the faster wins */
		int gpu = gpu_faster;
		snprintf(r->verdict, sizeof r->verdict,
			 "The %s wins: an epoch takes %s on the %s against %s on the %s (%.3gx faster) and costs about "
			 "the same (%s against %s).",
			 gpu ? "GPU" : "CPU", gpu ? gt : ct, gpu ? gname : "CPU", gpu ? ct : gt, gpu ? "CPU" : gname,
			 gpu ? speed : 1 / speed, gpu ? gc : cc, gpu ? cc : gc);
		return;
	}
	if (gpu_faster == gpu_cheaper) {
		int gpu = gpu_faster;
		snprintf(r->verdict, sizeof r->verdict,
			 "The %s wins: an epoch takes %s on the %s against %s on the %s (%.3gx faster) and costs %s "
			 "against %s (%.3gx cheaper).",
			 gpu ? "GPU" : "CPU", gpu ? gt : ct, gpu ? gname : "CPU", gpu ? ct : gt, gpu ? "CPU" : gname,
			 gpu ? speed : 1 / speed, gpu ? gc : cc, gpu ? cc : gc, gpu ? cost : 1 / cost);
		return;
	}
	snprintf(r->verdict, sizeof r->verdict,
		 "The %s is %.3gx faster (%s against %s per epoch) but the %s is %.3gx cheaper (%s against %s per "
		 "epoch): the %s when time matters, the %s when cost does.",
		 gpu_faster ? "GPU" : "CPU", gpu_faster ? speed : 1 / speed, gpu_faster ? gt : ct, gpu_faster ? ct : gt,
		 gpu_faster ? "CPU" : "GPU", gpu_faster ? 1 / cost : cost, gpu_faster ? cc : gc, gpu_faster ? gc : cc,
		 gpu_faster ? "GPU" : "CPU", gpu_faster ? "CPU" : "GPU");
}

int rp_recommend(struct rp_points *pts, double loss_tol, struct rp_reco *r)
{
	memset(r, 0, sizeof *r);
	r->loss_tol = loss_tol;
	r->best = r->fastest = r->fastest_any = r->cheapest_any = r->cpu_best = r->gpu_best = -1;
	r->excluded_faster = r->excluded_cheaper = -1;
	int rc = mark_loss(pts, loss_tol);
	if (rc)
		return rc;
	r->pareto = calloc((size_t)pts->n + 1, sizeof *r->pareto);
	if (!r->pareto)
		return kn_error(KN_ERR, "out of memory");
	for (int i = 0; i < pts->n; i++) {
		const struct rp_point *p = &pts->p[i];
		if (is_ok(p))
			r->n_ok++;
		if (is_ok(p) && isfinite(p->epoch_s) && isfinite(p->cost_per_epoch)) {
			if (r->fastest_any < 0 || faster(p, i, &pts->p[r->fastest_any], r->fastest_any) < 0)
				r->fastest_any = i;
		}
		if (!p->eligible)
			continue;
		r->n_eligible++;
		if (r->fastest < 0 || faster(p, i, &pts->p[r->fastest], r->fastest) < 0)
			r->fastest = i;
	}
	r->cheapest_any = cheapest(pts, ANY_OK);
	r->best = cheapest(pts, ELIGIBLE);
	r->cpu_best = cheapest(pts, ELIGIBLE_CPU);
	r->gpu_best = cheapest(pts, ELIGIBLE_GPU);
	/* the Pareto front of the eligible points over (time, cost): in order of time, a point is on
	 * it when no faster point costs as little and no equally fast one costs less */
	int n = 0;
	for (int i = 0; i < pts->n; i++)
		if (pts->p[i].eligible)
			r->pareto[n++] = i;
	sort_pts = pts;
	qsort(r->pareto, (size_t)n, sizeof *r->pareto, cmp_faster);
	double cheapest_before = INFINITY; /* the least cost among strictly faster points */
	for (int a = 0; a < n;) {
		int b = a;
		double t = pts->p[r->pareto[a]].epoch_s, least = pts->p[r->pareto[a]].cost_per_epoch;
		while (b < n && pts->p[r->pareto[b]].epoch_s == t)
			b++;
		/* [a, b) are equally fast, the cheapest first (cheaper() breaks faster()'s ties) */
		for (int k = a; k < b; k++) {
			double c = pts->p[r->pareto[k]].cost_per_epoch;
			if (!(cheapest_before <= c) && !(least < c))
				r->pareto[r->n_pareto++] = r->pareto[k];
		}
		cheapest_before = fmin(cheapest_before, least);
		a = b;
	}
	if (r->fastest_any >= 0 && r->fastest_any != r->fastest && !pts->p[r->fastest_any].eligible)
		r->excluded_faster = r->fastest_any;
	if (r->cheapest_any >= 0 && r->cheapest_any != r->best && r->cheapest_any != r->excluded_faster &&
	    !pts->p[r->cheapest_any].eligible)
		r->excluded_cheaper = r->cheapest_any;
	snprintf(r->rule, sizeof r->rule,
		 "the lowest cost per epoch among points ok in every run whose loss is within %g%% of the best loss reached at the "
		 "same step count, or the same epochs for runs given epochs (same model, size and dataset), comparing the eval loss where every such point has "
		 "one, else the mean of the last quarter of the training-loss curve; ties go to the shorter epoch, then "
		 "the lower loss",
		 100 * loss_tol);
	int flaky = 0; /* ok points with a loss, a time and a price that failed in some of their runs */
	for (int i = 0; i < pts->n; i++) {
		const struct rp_point *p = &pts->p[i];
		flaky += is_ok(p) && p->loss_ok && p->n_ok < p->n_reps && isfinite(p->epoch_s) && isfinite(p->cost_per_epoch);
	}
	if (r->best < 0)
		snprintf(r->why_none, sizeof r->why_none, "%s",
			 r->n_ok == 0 ? "no point finished ok"
			 : flaky      ? "every ok point that has a loss, a time per epoch and a price failed in some of its runs"
				      : "no ok point has a loss, a time per epoch and a price");
	verdict(pts, r);
	return KN_OK;
}

void rp_reco_release(struct rp_reco *r)
{
	free(r->pareto);
	r->pareto = NULL;
}
