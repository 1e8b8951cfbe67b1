#include "reports/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/error.h"
#include "reports/estimate.h"

/* The optimizer a record trained with: its "optimizer" field (cnn records carry it), else what
 * `amptune train` uses for the model by default. */
static enum rp_est_optim record_optimizer(const struct rp_record *r)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(r->extra, "optimizer");
	if (cJSON_IsString(o))
		return strcmp(o->valuestring, "sgd") == 0 ? RP_OPT_SGD : RP_OPT_ADAMW;
	return strcmp(r->model, "cnn") == 0 ? RP_OPT_SGD : RP_OPT_ADAMW;
}

/* The estimator against the allocator's measured peak, for our own models. */
static void check_estimator(struct rp_report *rep)
{
	rep->est_max_err = NAN;
	for (int i = 0; i < rep->pts.n; i++) {
		const struct rp_point *p = &rep->pts.p[i];
		struct rp_est_input in = { .batch = p->cfg->batch, .mode = RP_EST_TRAIN, .optimizer = record_optimizer(p->cfg) };
		struct rp_estimate e;
		rep->est_err[i] = NAN;
		if (strcmp(p->status, "ok") || !isfinite(p->peak_device_bytes) || p->peak_device_bytes <= 0 ||
		    kn_precision_parse(p->cfg->precision, &in.precision))
			continue;
		snprintf(in.model, sizeof in.model, "%s", p->cfg->model);
		snprintf(in.size, sizeof in.size, "%s", p->cfg->size);
		in.seq = strcmp(p->cfg->model, "gpt") == 0 ? p->cfg->seq : 0; /* a cnn record's seq is its image side */
		in.cuda_layout = strcmp(p->cfg->device, "cuda") == 0; /* against the allocator's peak: no runtime */
		if (rp_estimate(&in, &e) || !e.exact)
			continue;
		rep->est_err[i] = (e.total - p->peak_device_bytes) / p->peak_device_bytes;
		rep->est_max_err = rep->est_checked++ ? fmax(rep->est_max_err, fabs(rep->est_err[i])) : fabs(rep->est_err[i]);
	}
}

int rp_report_build(struct rp_report *rep, const struct rp_results *res, const struct rp_prices *flags,
		    double loss_tol)
{
	int rc;
	memset(rep, 0, sizeof *rep);
	rep->res = res;
	if (flags)
		rep->prices = *flags;
	if ((rc = rp_prices_check_flags(&rep->prices, res)) || (rc = rp_prices_add_plan(&rep->prices, res)) ||
	    (rc = rp_points_build(&rep->pts, res)))
		return rc;
	rp_points_price(&rep->pts, &rep->prices);
	rep->est_err = calloc((size_t)rep->pts.n, sizeof *rep->est_err);
	if (!rep->est_err)
		return kn_error(KN_ERR, "out of memory");
	if ((rc = rp_recommend(&rep->pts, loss_tol, &rep->reco)) || (rc = rp_tiers_fit(&rep->pts, &rep->fits, &rep->n_fits)))
		return rc;
	check_estimator(rep);
	rep->n_unmatched_prices =
		rp_prices_unmatched_plan(&rep->prices, res, rep->unmatched_prices, sizeof rep->unmatched_prices);
	for (int i = 0; i < rep->pts.n; i++) {
		const struct rp_point *p = &rep->pts.p[i];
		double own = rp_record_price(p->cfg);
		if (strcmp(p->status, "ok") || !isfinite(own) || p->price.source == RP_PRICE_FLAG ||
		    fabs(own - p->price.usd_per_hour) <= 1e-9 * own)
			continue;
		if (!rep->n_repriced++)
			rep->first_repriced = i;
	}
	for (int i = 0; i < rep->pts.n; i++) {
		struct rp_blas_note n;
		if (strcmp(rep->pts.p[i].status, "ok") || !rp_record_blas_below(rep->pts.p[i].cfg, &n))
			continue;
		if (!rep->blas_below++)
			rep->blas = n;
		else if (strcmp(n.kernels, rep->blas.kernels) || strcmp(n.cpu_best, rep->blas.cpu_best) ||
			 strcmp(n.by, rep->blas.by))
			rep->blas_mixed = 1;
	}
	return KN_OK;
}

static void put(struct rp_buf *b, int fmt, const char *s)
{
	if (fmt == RP_NOTE_HTML)
		rp_buf_html(b, s);
	else if (fmt == RP_NOTE_MD)
		rp_buf_md(b, s);
	else
		rp_buf_puts(b, s);
}

static void prices_note(const struct rp_report *rep, struct rp_buf *b, int fmt)
{
	put(b, fmt, rep->res->plan_path);
	rp_buf_printf(b, " [prices] ");
	put(b, fmt, rep->unmatched_prices);
	rp_buf_printf(b, " %s no point's device (a key is a device kind, cpu or cuda, or words of a device_name): "
			 "a misspelling? The points it was meant for get the default price.",
		      rep->n_unmatched_prices == 1 ? "matches" : "match");
}

static void repriced_note(const struct rp_report *rep, struct rp_buf *b, int fmt)
{
	const struct rp_point *p = &rep->pts.p[rep->first_repriced];
	char l[512];
	int many = rep->n_repriced > 1;
	if (many)
		rp_buf_printf(b, "%d points are priced otherwise than their records say (", rep->n_repriced);
	else {
		put(b, fmt, rp_point_label(&rep->pts, p, l, sizeof l));
		rp_buf_puts(b, " is priced otherwise than its records say (");
	}
	put(b, fmt, "price_per_hour");
	rp_buf_printf(b, ", from the plan %s ran under)", many ? "they" : "it");
	if (many) {
		rp_buf_puts(b, ", the first ");
		put(b, fmt, rp_point_label(&rep->pts, p, l, sizeof l));
	}
	rp_buf_printf(b, ": $%.2f per hour in its records, $%.2f here (", rp_record_price(p->cfg), p->price.usd_per_hour);
	put(b, fmt, p->price.basis);
	rp_buf_puts(b, "). Pass --price to price it as you mean.");
}

static void blas_note(const struct rp_report *rep, struct rp_buf *b, int fmt)
{
	int one = rep->blas_below == 1, forced = !strcmp(rep->blas.by, "OPENBLAS_CORETYPE");
	rp_buf_printf(b, "%d CPU point%s ran OpenBLAS's ", rep->blas_below, one ? "" : "s");
	put(b, fmt, rep->blas.kernels);
	rp_buf_puts(b, " kernels");
	put(b, fmt, forced ? " (forced by OPENBLAS_CORETYPE)" : "");
	rp_buf_puts(b, ", below the ");
	put(b, fmt, rep->blas.cpu_best);
	rp_buf_printf(b, " kernels %s CPU runs%s: %s matrix products, and so %s times, understate the CPU",
		      one ? "its" : "their", rep->blas_mixed ? " (for the first; the others differ)" : "", one ? "its" : "their",
		      one ? "its" : "their");
	put(b, fmt, forced ? " (unset OPENBLAS_CORETYPE to measure it at its best)" : "");
	rp_buf_puts(b, ".");
}

/* 1 when a record says a non-deterministic algorithm ran (extra "deterministic": false) */
static int ran_nondeterministic(const struct rp_record *r)
{
	return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r->extra, "deterministic"));
}

/* Names the ok points any of whose ok runs ran a non-deterministic algorithm (at most four, then
 * a count); nothing when none did. */
static void nondeterministic_note(const struct rp_report *rep, struct rp_buf *b, int fmt, const char *lead,
				  const char *end)
{
	int n = 0;
	char l[512];
	for (int i = 0; i < rep->pts.n; i++) {
		const struct rp_point *p = &rep->pts.p[i];
		int nd = 0;
		for (int k = 0; k < p->n_reps; k++)
			nd |= !strcmp(p->reps[k]->status, "ok") && ran_nondeterministic(p->reps[k]);
		if (!nd)
			continue;
		if (!n)
			rp_buf_puts(b, lead);
		if (n < 4) {
			rp_buf_puts(b, n ? ", " : "");
			put(b, fmt, rp_point_label(&rep->pts, p, l, sizeof l));
		}
		n++;
	}
	if (!n)
		return;
	if (n > 4)
		rp_buf_printf(b, " and %d more", n - 4);
	rp_buf_printf(b, " ran a non-deterministic cuDNN convolution algorithm (cuDNN offered no deterministic one "
			 "for some layer within the workspace): %s not bitwise reproducible, so the same seed may give "
			 "slightly different losses.%s",
		      n == 1 ? "its runs are" : "their runs are", end);
}

void rp_report_notes(const struct rp_report *rep, struct rp_buf *b, int fmt)
{
	static const char *const note[] = { "note: ", "\nNote: ", "<p class=\"warn\">" };
	static const char *const warning[] = { "warning: ", "\nWarning: ", "<p class=\"warn\">" };
	static const char *const end[] = { "\n", "\n", "</p>\n" };
	if (rep->blas_below) {
		rp_buf_puts(b, note[fmt]);
		blas_note(rep, b, fmt);
		rp_buf_puts(b, end[fmt]);
	}
	if (rep->n_unmatched_prices) {
		rp_buf_puts(b, warning[fmt]);
		prices_note(rep, b, fmt);
		rp_buf_puts(b, end[fmt]);
	}
	if (rep->n_repriced) {
		rp_buf_puts(b, note[fmt]);
		repriced_note(rep, b, fmt);
		rp_buf_puts(b, end[fmt]);
	}
	nondeterministic_note(rep, b, fmt, note[fmt], end[fmt]);
}

void rp_report_release(struct rp_report *rep)
{
	rp_reco_release(&rep->reco);
	rp_points_release(&rep->pts);
	free(rep->fits);
	free(rep->est_err);
	memset(rep, 0, sizeof *rep);
}

int rp_report_price_row(const struct rp_report *rep, int i)
{
	const struct rp_point *p = &rep->pts.p[i];
	if (strcmp(p->status, "ok"))
		return 0; /* nothing was priced: a failed point's device may not even be resolved ("auto") */
	for (int k = 0; k < i; k++)
		if (!strcmp(rep->pts.p[k].status, "ok") && !strcmp(rep->pts.p[k].price.basis, p->price.basis) &&
		    !strcmp(rep->pts.p[k].cfg->device_name, p->cfg->device_name))
			return 0;
	return 1;
}

int rp_report_on_pareto(const struct rp_report *rep, int i)
{
	for (int k = 0; k < rep->reco.n_pareto; k++)
		if (rep->reco.pareto[k] == i)
			return 1;
	return 0;
}

const char *rp_report_sps_cell(const struct rp_point *p, char *out, size_t n)
{
	if (strcmp(p->status, "ok"))
		return rp_fmt_num(out, n, NAN);
	return rp_point_sps_str(p, out, n);
}

void rp_report_counts(const struct rp_report *rep, struct rp_buf *b)
{
	static const char *const statuses[] = { "ok", "oom", "oom-predicted", "diverged", "unsupported", "timeout",
						"failed", "interrupted" };
	int repeated = 0;
	for (int i = 0; i < rep->pts.n; i++)
		repeated += rep->pts.p[i].n_reps > 1;
	rp_buf_printf(b, "%d record%s, %d point%s", rep->res->n, rep->res->n == 1 ? "" : "s", rep->pts.n,
		      rep->pts.n == 1 ? "" : "s");
	if (repeated)
		rp_buf_printf(b, " (%d repeated)", repeated);
	const char *sep = ": ";
	for (size_t s = 0; s < sizeof statuses / sizeof *statuses; s++) {
		int n = 0;
		for (int i = 0; i < rep->pts.n; i++)
			n += strcmp(rep->pts.p[i].status, statuses[s]) == 0;
		if (n) {
			rp_buf_printf(b, "%s%d %s", sep, n, statuses[s]);
			sep = ", ";
		}
	}
}

/* The eligible point next after the recommended one on cost (the rule's order: cost, epoch, loss,
 * results line), or -1. */
static int runner_up(const struct rp_report *rep)
{
	const struct rp_points *pts = &rep->pts;
	int best = rep->reco.best, u = -1;
	for (int i = 0; i < pts->n; i++) {
		const struct rp_point *p = &pts->p[i], *q = u >= 0 ? &pts->p[u] : NULL;
		if (i == best || !p->eligible)
			continue;
		if (!q || p->cost_per_epoch < q->cost_per_epoch ||
		    (p->cost_per_epoch == q->cost_per_epoch &&
		     (p->epoch_s < q->epoch_s || (p->epoch_s == q->epoch_s && p->rule_loss < q->rule_loss))))
			u = i;
	}
	return u;
}

/* Whether the spreads of two points' samples/s (min..max over ok runs, one of them run more than
 * once) overlap once carried over to what is ranked: qa and qb, a cost or a time per epoch, each
 * scaled by median / max .. median / min samples/s. At one price and size of epoch it is the
 * overlap of the samples/s ranges themselves. */
static int spreads_overlap(const struct rp_point *a, double qa, const struct rp_point *b, double qb)
{
	if ((a->n_ok < 2 && b->n_ok < 2) || !isfinite(qa) || !isfinite(qb) || !(a->sps_min > 0) || !(b->sps_min > 0))
		return 0;
	double alo = qa * a->samples_per_sec / a->sps_max, ahi = qa * a->samples_per_sec / a->sps_min;
	double blo = qb * b->samples_per_sec / b->sps_max, bhi = qb * b->samples_per_sec / b->sps_min;
	return alo <= bhi && blo <= ahi;
}

void rp_report_overlap_note(const struct rp_report *rep, struct rp_buf *b, int fmt)
{
	static const char *const lead[] = { "noise:       ", "- Noise: ", "<li>Noise: " };
	static const char *const end[] = { "\n", "\n", "</li>\n" };
	const struct rp_points *pts = &rep->pts;
	int best = rep->reco.best, fast = rep->reco.fastest, up, riv[2], n = 0;
	if (best < 0)
		return;
	const struct rp_point *p = &pts->p[best];
	up = runner_up(rep);
	if (up >= 0 && spreads_overlap(p, p->cost_per_epoch, &pts->p[up], pts->p[up].cost_per_epoch))
		riv[n++] = up;
	if (fast >= 0 && fast != best && fast != up && spreads_overlap(p, p->epoch_s, &pts->p[fast], pts->p[fast].epoch_s))
		riv[n++] = fast;
	if (!n)
		return;
	char t[160], l[512];
	rp_buf_printf(b, "%sthe recommended point's samples/s, %s, overlap those ", lead[fmt], rp_point_sps_str(p, t, sizeof t));
	for (int k = 0; k < n; k++) {
		const struct rp_point *q = &pts->p[riv[k]];
		rp_buf_puts(b, k ? ", and of " : "of ");
		put(b, fmt, rp_point_label(pts, q, l, sizeof l));
		rp_buf_printf(b, ", %s, at %s",
			      riv[k] != up ? "the fastest" : riv[k] == fast ? "the runner-up on cost and the fastest"
									   : "the runner-up on cost",
			      rp_point_sps_str(q, t, sizeof t));
	}
	rp_buf_printf(b, ": the repeats do not separate %s, so the ranking may be noise.%s",
		      n > 1 ? "them from it" : "them", end[fmt]);
}

/* ---- Markdown ----------------------------------------------------------- */

static void md_point(const struct rp_report *rep, struct rp_buf *b, int i)
{
	char l[512];
	rp_buf_puts(b, "**");
	rp_buf_md(b, rp_point_label(&rep->pts, &rep->pts.p[i], l, sizeof l));
	rp_buf_puts(b, "** (id ");
	rp_buf_md(b, rep->pts.p[i].cfg->id);
	rp_buf_puts(b, ")");
}

static void md_facts(struct rp_buf *b, const struct rp_point *p)
{
	char e[48], c[48], s[32];
	rp_buf_printf(b, "%s per epoch, %s per epoch, %s samples/s, %s %.4g", rp_point_cost_str(p, c, sizeof c),
		      rp_point_epoch_str(p, e, sizeof e), rp_fmt_num(s, sizeof s, p->samples_per_sec),
		      rp_loss_kind_name(p->loss_kind), p->rule_loss);
}

void rp_report_loss_gap(const struct rp_report *rep, int i, struct rp_buf *b)
{
	const struct rp_point *q = &rep->pts.p[i];
	const char *kind = rp_loss_kind_name(q->loss_kind);
	if (isfinite(q->rule_loss))
		rp_buf_printf(b, ", %s %.4g against the best %.4g (%+.1f%%).", kind, q->rule_loss, q->best_loss_same_steps,
			      100 * (q->rule_loss / q->best_loss_same_steps - 1));
	else
		rp_buf_printf(b, ", which recorded no %s.", kind);
}

const char *rp_report_excluded_tag(const struct rp_point *p, char *buf, size_t n)
{
	if (p->eligible || strcmp(p->status, "ok") != 0)
		return NULL;
	if (!p->loss_ok)
		snprintf(buf, n, "loss rule");
	else if (p->n_ok < p->n_reps)
		snprintf(buf, n, "%d of %d runs ok", p->n_ok, p->n_reps);
	else
		return NULL;
	return buf;
}

const char *rp_report_excluded_lead(const struct rp_point *p, char *buf, size_t n)
{
	if (!p->loss_ok)
		snprintf(buf, n, "excluded by the loss rule: ");
	else
		snprintf(buf, n, "excluded, ok in %d of %d runs (%s): ", p->n_ok, p->n_reps, rp_point_failed_status(p));
	return buf;
}

void rp_report_why_excluded(const struct rp_report *rep, int i, struct rp_buf *b)
{
	if (!rep->pts.p[i].loss_ok)
		rp_report_loss_gap(rep, i, b);
	else
		rp_buf_puts(b, ".");
}

static void md_excluded(const struct rp_report *rep, struct rp_buf *b, int i, const char *what)
{
	char lead[96];
	rp_buf_printf(b, "- %s, but %s", what, rp_report_excluded_lead(&rep->pts.p[i], lead, sizeof lead));
	md_point(rep, b, i);
	rp_report_why_excluded(rep, i, b);
	rp_buf_puts(b, "\n");
}

static void md_recommendation(const struct rp_report *rep, struct rp_buf *b)
{
	const struct rp_reco *r = &rep->reco;
	const struct rp_points *pts = &rep->pts;
	rp_buf_puts(b, "## Recommendation\n\n");
	if (r->best < 0) {
		rp_buf_printf(b, "No recommendation: %s.\n\n", r->why_none);
	} else {
		const struct rp_point *p = &pts->p[r->best];
		md_point(rep, b, r->best);
		rp_buf_puts(b, ": ");
		md_facts(b, p);
		if (rp_record_epochs(p->cfg) > 0)
			rp_buf_printf(b, " (the best %s at %g epochs: %.4g).\n\n", rp_loss_kind_name(p->loss_kind),
				      rp_record_epochs(p->cfg), p->best_loss_same_steps);
		else
			rp_buf_printf(b, " (the best %s at %ld steps: %.4g).\n\n", rp_loss_kind_name(p->loss_kind),
				      p->cfg->steps, p->best_loss_same_steps);
		rp_buf_puts(b, "- Fastest qualifying point: ");
		md_point(rep, b, r->fastest);
		rp_buf_puts(b, ": ");
		md_facts(b, &pts->p[r->fastest]);
		rp_buf_puts(b, ".\n");
		rp_report_overlap_note(rep, b, RP_NOTE_MD);
	}
	if (r->excluded_faster >= 0)
		md_excluded(rep, b, r->excluded_faster, "Faster");
	if (r->excluded_cheaper >= 0)
		md_excluded(rep, b, r->excluded_cheaper, "Cheaper");
	rp_buf_puts(b, "- CPU vs GPU: ");
	rp_buf_md(b, r->verdict);
	rp_buf_puts(b, "\n");
	if (r->best >= 0) {
		const struct rp_point *p = &pts->p[r->best];
		char m[32], mh[32];
		int t = rp_tier_for(p->mem_bytes, RP_TIER_HEADROOM);
		rp_buf_printf(b, "- Memory: the recommended point peaks at %s; with 10%% headroom (%s) ",
			      rp_fmt_bytes(m, sizeof m, p->mem_bytes), rp_fmt_bytes(mh, sizeof mh, p->mem_bytes * 1.1));
		if (t >= 0)
			rp_buf_printf(b, "the smallest tier that holds it is %d GB.\n", rp_tier_gib[t]);
		else
			rp_buf_printf(b, "%s.\n", isfinite(p->mem_bytes) ? "it needs more than 80 GB" : "no tier can be named (peak not measured)");
	}
	rp_buf_printf(b, "\nRule: %s.\n\n", r->rule);
	if (r->n_pareto > 0) {
		rp_buf_puts(b, "### Time/cost Pareto front\n\n| point | epoch | cost per epoch | samples/s | final loss |\n"
			       "|---|---:|---:|---:|---:|\n");
		for (int k = 0; k < r->n_pareto; k++) {
			const struct rp_point *p = &pts->p[r->pareto[k]];
			char l[512], e[48], c[48], s[160];
			rp_buf_puts(b, "| ");
			rp_buf_md(b, rp_point_label(pts, p, l, sizeof l));
			rp_buf_printf(b, "%s | %s | %s | %s | %.4g |\n", r->pareto[k] == r->best ? " (recommended)" : "",
				      rp_point_epoch_str(p, e, sizeof e), rp_point_cost_str(p, c, sizeof c),
				      rp_point_sps_str(p, s, sizeof s), p->final_loss);
		}
		rp_buf_puts(b, "\n");
	}
}

static void md_tiers(const struct rp_report *rep, struct rp_buf *b)
{
	rp_buf_puts(b, "## Memory tiers\n\n");
	if (rep->n_fits == 0) {
		rp_buf_puts(b, "No ok point measured its peak memory.\n\n");
		return;
	}
	rp_buf_puts(b, "Largest batch whose fitted peak fits each tier (a card of N GB counted as N GiB, no headroom). Fit: peak = a + b x batch over "
		       "the measured peaks of points that differ only in batch size.\n\n"
		       "| device, model, precision, seq | points | a | b per sample | max fit error |");
	for (int t = 0; t < RP_NTIERS; t++)
		rp_buf_printf(b, " %d GB |", rp_tier_gib[t]);
	rp_buf_puts(b, "\n|---|---:|---:|---:|---:|");
	for (int t = 0; t < RP_NTIERS; t++)
		rp_buf_puts(b, "---:|");
	rp_buf_puts(b, "\n");
	for (int k = 0; k < rep->n_fits; k++) {
		const struct rp_tier_fit *f = &rep->fits[k];
		const struct rp_record *g = rep->pts.p[f->first].cfg;
		char dev[160], a[32], s[32];
		rp_buf_puts(b, "| ");
		rp_buf_md(b, rp_points_device(&rep->pts, g, dev, sizeof dev));
		rp_buf_puts(b, ", ");
		rp_buf_md(b, g->model);
		rp_buf_puts(b, "-");
		rp_buf_md(b, g->size);
		rp_buf_puts(b, ", ");
		rp_buf_md(b, g->precision);
		rp_buf_printf(b, ", seq %d | %d | ", g->seq, f->n_points);
		if (!isfinite(f->b_bytes_per_sample)) {
			rp_buf_puts(b, "n/a | n/a | needs 2+ batch sizes |");
		} else {
			rp_buf_printf(b, "%s | %s | %.1f%% |", rp_fmt_bytes(a, sizeof a, f->a_bytes),
				      rp_fmt_bytes(s, sizeof s, f->b_bytes_per_sample), 100 * f->max_err_frac);
		}
		for (int t = 0; t < RP_NTIERS; t++) {
			if (f->max_batch[t] < 0)
				rp_buf_puts(b, " - |");
			else
				rp_buf_printf(b, " %ld |", f->max_batch[t]);
		}
		rp_buf_puts(b, "\n");
	}
	rp_buf_puts(b, "\n");
	if (rep->est_checked)
		rp_buf_printf(b, "The estimator (`amptune estimate`) against the measured peaks of %d point%s: largest error %.2f%%.\n\n",
			      rep->est_checked, rep->est_checked == 1 ? "" : "s", 100 * rep->est_max_err);
}

static void md_points(const struct rp_report *rep, struct rp_buf *b)
{
	rp_buf_puts(b, "## All points\n\n| id | point | status | step p50 / p95 | samples/s | tokens/s | epoch | cost per "
		       "epoch | $ per M samples | peak memory | final loss | eval loss | data wait | repeats |\n"
		       "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < rep->pts.n; i++) {
		const struct rp_point *p = &rep->pts.p[i];
		char l[512], e[48], c[48], s[160], t[32], m[32], u[32];
		rp_buf_puts(b, "| ");
		rp_buf_md(b, p->cfg->id);
		rp_buf_puts(b, " | ");
		rp_buf_md(b, rp_point_label(&rep->pts, p, l, sizeof l));
		char step[64], fl[32], el[32];
		char s50[32], s95[32];
		snprintf(step, sizeof step, isfinite(p->step_ms_p50) ? "%s / %s ms" : "n/a",
			 rp_fmt_sig3(s50, sizeof s50, p->step_ms_p50), rp_fmt_sig3(s95, sizeof s95, p->step_ms_p95));
		snprintf(fl, sizeof fl, isfinite(p->final_loss) ? "%.4g" : "n/a", p->final_loss);
		snprintf(el, sizeof el, isfinite(p->eval_loss) ? "%.4g" : "n/a", p->eval_loss);
		char tag[48], why[80] = "";
		if (i == rep->reco.best)
			snprintf(why, sizeof why, " (recommended)");
		else if (rp_report_excluded_tag(p, tag, sizeof tag))
			snprintf(why, sizeof why, " (%s: excluded)", tag);
		rp_buf_printf(b, "%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | ", why,
			      p->status, step,
			      rp_report_sps_cell(p, s, sizeof s), rp_fmt_num(t, sizeof t, p->tokens_per_sec),
			      rp_point_epoch_str(p, e, sizeof e), rp_point_cost_str(p, c, sizeof c),
			      rp_fmt_usd(u, sizeof u, p->cost_per_m_samples), rp_fmt_bytes(m, sizeof m, p->mem_bytes), fl,
			      el);
		if (isfinite(p->data_wait_frac))
			rp_buf_printf(b, "%.1f%%", 100 * p->data_wait_frac);
		else
			rp_buf_puts(b, "n/a");
		rp_buf_printf(b, " | %d of %d ok |\n", p->n_ok, p->n_reps);
	}
	int header = 0;
	for (int i = 0; i < rep->pts.n; i++) {
		const struct rp_point *p = &rep->pts.p[i];
		if (strcmp(p->status, "ok") == 0 || !p->cfg->message[0])
			continue;
		if (!header++)
			rp_buf_puts(b, "\nWhy points did not finish:\n\n");
		rp_buf_puts(b, "- ");
		rp_buf_md(b, p->cfg->id);
		rp_buf_printf(b, " (%s): ", p->status);
		rp_buf_md(b, p->cfg->message);
		rp_buf_puts(b, "\n");
	}
	rp_buf_puts(b, "\n");
}

static void md_prices(const struct rp_report *rep, struct rp_buf *b)
{
	rp_buf_puts(b, "## Prices\n\n| device | $ per hour | basis |\n|---|---:|---|\n");
	for (int i = 0; i < rep->pts.n; i++) {
		const struct rp_point *p = &rep->pts.p[i];
		if (!rp_report_price_row(rep, i))
			continue;
		rp_buf_puts(b, "| ");
		rp_buf_md(b, p->cfg->device);
		rp_buf_puts(b, " ");
		rp_buf_md(b, p->cfg->device_name);
		rp_buf_printf(b, " | %.2f | ", p->price.usd_per_hour);
		rp_buf_md(b, p->price.basis);
		rp_buf_puts(b, " |\n");
	}
	rp_buf_puts(b, "\nCost per epoch = hours per epoch x price per hour; cost per million samples = 10^6 / samples per "
		       "second / 3600 x price. Override with `--price DEVICE=USD` or a `[prices]` section in the plan.\n\n");
}

void rp_report_markdown(const struct rp_report *rep, struct rp_buf *b)
{
	rp_buf_puts(b, "# amptune report: ");
	rp_buf_md(b, rep->res->name);
	rp_buf_puts(b, "\n\nResults: ");
	rp_buf_md(b, rep->res->path);
	rp_buf_puts(b, ", ");
	rp_report_counts(rep, b);
	rp_buf_puts(b, ".\n");
	if (rep->res->torn_line)
		rp_buf_printf(b, "\nWarning: line %ld was torn (a write cut short) and was ignored.\n", rep->res->torn_line);
	rp_report_notes(rep, b, RP_NOTE_MD);
	rp_buf_puts(b, "\n");
	md_recommendation(rep, b);
	md_tiers(rep, b);
	md_points(rep, b);
	md_prices(rep, b);
	rp_buf_puts(b, "\\* extrapolated: the run was shorter than an epoch, so the epoch time is the median step time "
		       "x steps per epoch (and its cost follows from it).\n");
}

/* ---- CSV ----------------------------------------------------------------- */

static void csv_num(struct rp_buf *b, double v)
{
	if (isfinite(v))
		rp_buf_printf(b, ",%.10g", v);
	else
		rp_buf_puts(b, ",");
}

static void csv_str(struct rp_buf *b, const char *s)
{
	rp_buf_puts(b, ",");
	rp_buf_csv(b, s);
}

/* The scalar fields train and sweep write beyond the fixed ones (docs/results-schema.md), kept in a
 * record's `extra`: an empty cell where a record lacks one or holds null. */
static const char *const csv_extra_nums[] = { "point", "repeat", "exit_code", "term_signal", "wall_s", "time_limit_s",
					      "price_per_hour", "params", "steps_done", "timed_steps", "warmup_steps",
					      "steps_per_epoch", "lr", "eval_batches", "loss_scale_final" };
static const char *const csv_extra_strs[] = { "optimizer", "stderr_tail" };

static void csv_extra(struct rp_buf *b, const struct rp_record *r, const char *key, int is_string)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->extra, key);
	if (is_string)
		csv_str(b, cJSON_IsString(v) ? v->valuestring : "");
	else
		csv_num(b, cJSON_IsNumber(v) ? v->valuedouble : NAN);
}

void rp_report_csv(const struct rp_report *rep, struct rp_buf *b)
{
	rp_buf_puts(b, "id,line,status,message,model,size,dataset,device,device_name,precision,batch,seq,workers,"
		       "prefetch,seed,steps,step_ms_p50,step_ms_p95,samples_per_sec,tokens_per_sec,flops_per_step,mfu,"
		       "epoch_s,epoch_s_extrapolated,peak_device_bytes,peak_host_bytes,pinned_bytes,initial_loss,"
		       "final_loss,eval_loss,eval_accuracy,data_wait_frac,loss_scale_skips,usd_per_hour,price_basis,"
		       "cost_per_epoch_usd,cost_per_million_samples_usd,cost_per_million_tokens_usd,recommended,pareto,"
		       "started_at,finished_at,sweep,peak_device_bytes_driver,deterministic");
	for (size_t k = 0; k < sizeof csv_extra_nums / sizeof *csv_extra_nums; k++)
		rp_buf_printf(b, ",%s", csv_extra_nums[k]);
	for (size_t k = 0; k < sizeof csv_extra_strs / sizeof *csv_extra_strs; k++)
		rp_buf_printf(b, ",%s", csv_extra_strs[k]);
	rp_buf_puts(b, "\n");
	for (int i = 0; i < rep->pts.n; i++) {
		const struct rp_point *p = &rep->pts.p[i];
		for (int k = 0; k < p->n_reps; k++) {
			const struct rp_record *r = p->reps[k];
			double usd = p->price.usd_per_hour;
			rp_buf_csv(b, r->id);
			rp_buf_printf(b, ",%ld", rep->res->lines[r - rep->res->recs]);
			csv_str(b, r->status);
			csv_str(b, r->message);
			csv_str(b, r->model);
			csv_str(b, r->size);
			csv_str(b, r->dataset);
			csv_str(b, r->device);
			csv_str(b, r->device_name);
			csv_str(b, r->precision);
			rp_buf_printf(b, ",%d,%d,%d,%d,%llu,%ld", r->batch, r->seq, r->workers, r->prefetch,
				      (unsigned long long)r->seed, r->steps);
			const double nums[] = { r->step_ms_p50, r->step_ms_p95, r->samples_per_sec, r->tokens_per_sec,
						r->flops_per_step, r->mfu, r->epoch_s };
			for (size_t n = 0; n < sizeof nums / sizeof *nums; n++)
				csv_num(b, nums[n]);
			rp_buf_puts(b, r->epoch_s_extrapolated ? ",true" : ",false");
			const double more[] = { r->peak_device_bytes, r->peak_host_bytes, r->pinned_bytes, r->initial_loss,
						r->final_loss, r->eval_loss, r->eval_accuracy, r->data_wait_frac,
						(double)r->loss_scale_skips, usd };
			for (size_t n = 0; n < sizeof more / sizeof *more; n++)
				csv_num(b, more[n]);
			csv_str(b, p->price.basis);
			csv_num(b, rp_cost_usd(r->epoch_s, usd));
			csv_num(b, rp_cost_per_million(r->samples_per_sec, usd));
			csv_num(b, rp_cost_per_million(r->tokens_per_sec, usd));
			rp_buf_printf(b, ",%s,%s", i == rep->reco.best ? "true" : "false",
				      rp_report_on_pareto(rep, i) ? "true" : "false");
			csv_str(b, r->started_at);
			csv_str(b, r->finished_at);
			csv_extra(b, r, "sweep", 1);
			csv_num(b, r->peak_device_bytes_driver);
			{
				const cJSON *d = cJSON_GetObjectItemCaseSensitive(r->extra, "deterministic");
				rp_buf_puts(b, cJSON_IsBool(d) ? (cJSON_IsTrue(d) ? ",true" : ",false") : ",");
			}
			for (size_t x = 0; x < sizeof csv_extra_nums / sizeof *csv_extra_nums; x++)
				csv_extra(b, r, csv_extra_nums[x], 0);
			for (size_t x = 0; x < sizeof csv_extra_strs / sizeof *csv_extra_strs; x++)
				csv_extra(b, r, csv_extra_strs[x], 1);
			rp_buf_puts(b, "\n");
		}
	}
}

/* ---- terminal and files -------------------------------------------------- */

void rp_report_summary(const struct rp_report *rep, struct rp_buf *b)
{
	const struct rp_reco *r = &rep->reco;
	char l[512], e[48], c[48];
	rp_report_counts(rep, b);
	rp_buf_puts(b, "\n");
	if (r->best < 0) {
		rp_buf_printf(b, "no recommendation: %s\n", r->why_none);
	} else {
		const struct rp_point *p = &rep->pts.p[r->best], *f = &rep->pts.p[r->fastest];
		rp_buf_printf(b, "recommended: %s (id %s): %s per epoch, %s per epoch, %s %.4g\n",
			      rp_point_label(&rep->pts, p, l, sizeof l), p->cfg->id, rp_point_cost_str(p, c, sizeof c),
			      rp_point_epoch_str(p, e, sizeof e), rp_loss_kind_name(p->loss_kind), p->rule_loss);
		rp_buf_printf(b, "fastest:     %s (id %s): %s per epoch, %s per epoch\n",
			      rp_point_label(&rep->pts, f, l, sizeof l), f->cfg->id, rp_point_epoch_str(f, e, sizeof e),
			      rp_point_cost_str(f, c, sizeof c));
		rp_report_overlap_note(rep, b, RP_NOTE_PLAIN);
	}
	rp_buf_printf(b, "%s\n", r->verdict);
	int extrapolated = 0;
	for (int i = 0; i < rep->pts.n; i++)
		extrapolated |= rep->pts.p[i].epoch_s_extrapolated;
	if (extrapolated)
		rp_buf_puts(b, "* extrapolated from the timed steps: the runs were shorter than an epoch\n");
	if (rep->res->torn_line)
		rp_buf_printf(b, "warning: %s:%ld: torn last line ignored\n", rep->res->path, rep->res->torn_line);
	rp_report_notes(rep, b, RP_NOTE_PLAIN);
}

int rp_report_write(const struct rp_report *rep, const char *dir)
{
	struct rp_buf md, html, csv;
	char path[4200];
	int rc = KN_OK;
	rp_buf_init(&md);
	rp_buf_init(&html);
	rp_buf_init(&csv);
	rp_report_markdown(rep, &md);
	rp_report_html(rep, &html);
	rp_report_csv(rep, &csv);
	const struct {
		const char *name;
		struct rp_buf *b;
	} out[] = { { "report.md", &md }, { "report.html", &html }, { "results.csv", &csv } };
	for (int i = 0; i < 3 && rc == KN_OK; i++)
		if (out[i].b->oom)
			rc = kn_error(KN_ERR, "out of memory rendering %s", out[i].name);
	/* every file written before any replaces its old self, so a failure to write leaves the old report
	 * whole; the renames that follow fail only if DIR changes under us (a destination that is a
	 * directory is refused before the first) */
	char tmp[3][4300];
	int written = 0;
	for (int i = 0; i < 3 && rc == KN_OK; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, out[i].name);
		if ((rc = rp_write_tmp(path, out[i].b, tmp[i], sizeof tmp[i])) == KN_OK)
			written++;
	}
	for (int i = 0; i < 3 && rc == KN_OK; i++) {
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, out[i].name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			rc = kn_error(KN_ERR, "cannot write '%s': it is a directory", path);
	}
	for (int i = 0; i < 3 && rc == KN_OK; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, out[i].name);
		if (rename(tmp[i], path) != 0)
			rc = kn_error(KN_ERR, "cannot write '%s': %s", path, strerror(errno));
		else
			tmp[i][0] = 0;
	}
	for (int i = 0; i < written; i++)
		if (tmp[i][0])
			unlink(tmp[i]);
	rp_buf_release(&md);
	rp_buf_release(&html);
	rp_buf_release(&csv);
	return rc;
}
