/*
 * reports/report.h — `amptune report DIR`: a sweep turned into a decision.
 *
 * rp_report_build() analyses loaded results (points, prices, the
 * recommendation, memory tiers, the estimator checked against measured
 * peaks); the writers render it as Markdown, self-contained HTML (inline CSS
 * and SVG, nothing fetched) and CSV (one row per record) into caller-owned
 * buffers; rp_report_write() writes all three only after all three rendered,
 * each through a temporary file and a rename.
 *
 * The report borrows `res`, which must outlive it.
 */
#ifndef RP_REPORT_H
#define RP_REPORT_H

#include "reports/cost.h"
#include "reports/diagnose.h"
#include "reports/points.h"
#include "reports/recommend.h"
#include "reports/results.h"
#include "reports/text.h"
#include "reports/tiers.h"

struct rp_report {
	const struct rp_results *res;
	struct rp_prices prices;
	struct rp_points pts;
	struct rp_reco reco;
	struct rp_tier_fit *fits;
	int n_fits;
	int est_checked;        /* ok points of our own models the estimator was checked on */
	double est_max_err;     /* largest |estimate - measured| / measured among them */
	double *est_err;        /* per point (NAN when not checked) */
	int blas_below;         /* ok cpu points whose BLAS kernels rank below their CPU's best ... */
	struct rp_blas_note blas; /* ... the first one's kernels, the CPU's best, and who chose them */
	int blas_mixed;         /* those points do not all share the first one's note */
	int n_repriced;         /* ok points priced otherwise than their records' price_per_hour ... */
	int first_repriced;     /* ... the first of them */
	int n_unmatched_prices; /* plan [prices] keys that price nothing (rp_prices_unmatched_plan) */
	char unmatched_prices[400];
};

/* `flags` holds the --price rules (may be NULL); plan prices are added here.
 * KN_EUSAGE for a bad plan price or a --price matching no device. */
int rp_report_build(struct rp_report *rep, const struct rp_results *res, const struct rp_prices *flags,
		    double loss_tol);
void rp_report_release(struct rp_report *rep);

void rp_report_markdown(const struct rp_report *rep, struct rp_buf *b);
void rp_report_html(const struct rp_report *rep, struct rp_buf *b);
void rp_report_csv(const struct rp_report *rep, struct rp_buf *b);
/* The report's notes, each in a line or paragraph of its own, as plain text or escaped for
 * Markdown or HTML: CPU points measured on BLAS kernels below their CPU's best ("N CPU points ran
 * OpenBLAS's X kernels ..."), and plan [prices] keys that price no point. */
enum { RP_NOTE_PLAIN, RP_NOTE_MD, RP_NOTE_HTML };
void rp_report_notes(const struct rp_report *rep, struct rp_buf *b, int fmt);
/* The recommendation in a few plain lines for the terminal. */
void rp_report_summary(const struct rp_report *rep, struct rp_buf *b);
/* Writes DIR/report.md, DIR/report.html and DIR/results.csv. */
int rp_report_write(const struct rp_report *rep, const char *dir);

/* The page around a report or comparison: doctype, inline CSS, header. */
void rp_html_begin(struct rp_buf *b, const char *title_prefix, const char *name);
void rp_html_end(struct rp_buf *b);

/* Shared by the writers (report.c, report_html.c). */
int rp_report_on_pareto(const struct rp_report *rep, int i);
/* 1 when point i opens a row of the prices table: ok, and the first with its device and price. */
int rp_report_price_row(const struct rp_report *rep, int i);
/* ", eval loss 3.9 against the best 2.43 (+60.5%)." for a point the loss rule excluded (the loss it compared). */
void rp_report_loss_gap(const struct rp_report *rep, int i, struct rp_buf *b);
/* Why an ok point cannot be recommended, as a table tag: "loss rule" or "1 of 3 runs ok"; NULL for
 * an eligible point, one that is not ok, or one left out only for lack of an epoch time or a cost. */
const char *rp_report_excluded_tag(const struct rp_point *p, char *buf, size_t n);
/* The sentence after "Faster, but ": "excluded by the loss rule: " or "excluded, ok in 1 of 3 runs
 * (oom): " (md and html put the point and rp_report_why_excluded's tail around it). */
const char *rp_report_excluded_lead(const struct rp_point *p, char *buf, size_t n);
/* The tail after the point: the loss gap, or "." for failed runs. */
void rp_report_why_excluded(const struct rp_report *rep, int i, struct rp_buf *b);
/* The samples/s cell of the table of points: rp_point_sps_str of an ok point, "n/a" of another. */
const char *rp_report_sps_cell(const struct rp_point *p, char *out, size_t n);
/* When the recommended point's samples/s range (over ok runs, one of the two run more than once)
 * overlaps the runner-up's on cost (or the fastest's on time), a line that says so, in the format
 * fmt (RP_NOTE_*: the terminal's line, a Markdown bullet, an HTML list item); else nothing. */
void rp_report_overlap_note(const struct rp_report *rep, struct rp_buf *b, int fmt);
/* "n records, m points (k repeated): 3 ok, 1 oom" into b, escaped for neither format (no strings from data). */
void rp_report_counts(const struct rp_report *rep, struct rp_buf *b);

#endif
