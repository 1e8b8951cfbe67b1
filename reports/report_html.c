/* report.html: one self-contained page (inline CSS and SVG; no scripts, fonts or images fetched). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amptune_version.h"
#include "reports/report.h"
#include "reports/svg.h"

#define MAX_SERIES 10
#define MAX_CURVES 10

static const char css[] =
	":root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--card:#fff;--accent:#f28e2b;--blue:#4e79a7}"
	"*{box-sizing:border-box}"
	"body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,"
	"'DejaVu Sans',Helvetica,Arial,sans-serif}"
	"main{max-width:1280px;margin:0 auto;padding:28px 32px 48px}"
	"h1{font-size:26px;margin:0 0 4px;font-weight:650}h1 span{color:var(--blue)}"
	"h2{font-size:19px;margin:34px 0 12px;font-weight:650}"
	".sub{color:var(--muted);margin:0 0 20px;font-size:14px}"
	".card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 24px;"
	"box-shadow:0 1px 2px rgba(0,0,0,.04)}"
	".reco{border-left:6px solid var(--accent)}"
	".kicker{text-transform:uppercase;letter-spacing:.08em;font-size:12px;color:var(--muted);font-weight:600}"
	".big{font-size:24px;font-weight:650;margin:2px 0 14px;word-break:break-word}"
	".kpis{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:12px}"
	".kpis div{background:var(--bg);border-radius:8px;padding:8px 14px;min-width:130px}"
	".kpis b{display:block;font-size:20px}.kpis span{color:var(--muted);font-size:13px}"
	".reco ul{margin:8px 0;padding-left:20px}.rule{color:var(--muted);font-size:13px;margin:10px 0 0}"
	".warn{background:#fff4e5;border:1px solid #f5c27a;border-radius:8px;padding:8px 14px}"
	".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:18px}"
	"figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:8px}"
	"svg.chart{width:100%;height:auto;display:block}"
	"svg text{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Helvetica,Arial,sans-serif;"
	"fill:#323f4b}"
	"svg .ct{font-size:16px;font-weight:650}svg .tick{font-size:11px;fill:#7b8794}svg .al{font-size:12.5px;fill:#52606d}"
	"svg .lg,svg .rl,svg .val{font-size:12px}svg .hl{font-weight:700;fill:#c4610e}svg .note{font-size:11.5px;fill:#7b8794}"
	"svg .empty{font-size:14px;fill:#9aa5b1}svg .plot{fill:#fbfcfd}"
	"svg .grid{stroke:#e4e7eb;stroke-width:1}svg .axis{stroke:#9aa5b1;stroke-width:1}"
	"svg .ln{fill:none;stroke-width:2.2;stroke-linejoin:round}"
	"svg .tier{stroke:#c81e1e;stroke-width:1.2;stroke-dasharray:6 4;opacity:.7}svg .tierl{font-size:11px;fill:#c81e1e}"
	"table{border-collapse:collapse;width:100%;background:var(--card);font-size:13px;border:1px solid var(--line)}"
	".tw{overflow-x:auto;border-radius:10px}"
	"th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}"
	"th{background:#eef2f7;font-weight:600;vertical-align:bottom}td.n{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}th.n{text-align:right}tr.rec td{background:#fff4e5}"
	".st{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;white-space:nowrap}"
	".st-ok{background:#e3f9e5;color:#0e7a23}.st-oom,.st-oom-predicted{background:#fde8e8;color:#b42318}"
	".st-diverged{background:#fff1d6;color:#9a5b00}.st-unsupported,.st-interrupted{background:#e9ecf2;color:#52606d}"
	".st-timeout,.st-failed{background:#fde8e8;color:#b42318}"
	".msg{color:var(--muted);font-size:12px}td.pt{min-width:170px}.tag{color:var(--accent);font-weight:650}"
	"footer{margin-top:36px;color:var(--muted);font-size:13px}";

static void esc(struct rp_buf *b, const char *s) { rp_buf_html(b, s); }

static void kpi(struct rp_buf *b, const char *value, const char *what)
{
	rp_buf_puts(b, "<div><b>");
	esc(b, value);
	rp_buf_puts(b, "</b><span>");
	esc(b, what);
	rp_buf_puts(b, "</span></div>");
}

static void excluded(const struct rp_report *rep, struct rp_buf *b, int i, const char *what)
{
	char l[512], lead[96];
	rp_buf_printf(b, "<li>%s, but ", what);
	esc(b, rp_report_excluded_lead(&rep->pts.p[i], lead, sizeof lead));
	rp_buf_puts(b, "<b>");
	esc(b, rp_point_label(&rep->pts, &rep->pts.p[i], l, sizeof l));
	rp_buf_puts(b, "</b>");
	rp_report_why_excluded(rep, i, b);
	rp_buf_puts(b, "</li>\n");
}

/* Opens a table row for point i and its first cell: the label, tagged when recommended. */
static void point_row(const struct rp_report *rep, struct rp_buf *b, int i, const char *td_class)
{
	char l[512], tag[48];
	rp_buf_puts(b, i == rep->reco.best ? "<tr class=\"rec\">" : "<tr>");
	rp_buf_printf(b, "<td%s%s%s>", td_class ? " class=\"" : "", td_class ? td_class : "", td_class ? "\"" : "");
	esc(b, rp_point_label(&rep->pts, &rep->pts.p[i], l, sizeof l));
	if (i == rep->reco.best)
		rp_buf_puts(b, " <span class=\"tag\">recommended</span>");
	else if (rp_report_excluded_tag(&rep->pts.p[i], tag, sizeof tag))
		rp_buf_printf(b, " <span class=\"tag\">%s: excluded</span>", tag);
}

static void reco_card(const struct rp_report *rep, struct rp_buf *b)
{
	const struct rp_reco *r = &rep->reco;
	const struct rp_points *pts = &rep->pts;
	char l[512], t[64];
	rp_buf_puts(b, "<section class=\"card reco\" id=\"recommendation\">\n<div class=\"kicker\">Recommended setting</div>\n");
	if (r->best < 0) {
		rp_buf_printf(b, "<div class=\"big\">No recommendation</div>\n<p>%s.</p>\n", r->why_none);
	} else {
		const struct rp_point *p = &pts->p[r->best];
		rp_buf_puts(b, "<div class=\"big\">");
		esc(b, rp_point_label(pts, p, l, sizeof l));
		rp_buf_puts(b, "</div>\n<div class=\"kpis\">");
		kpi(b, rp_point_cost_str(p, t, sizeof t), "per epoch");
		kpi(b, rp_point_epoch_str(p, t, sizeof t), "per epoch");
		kpi(b, rp_fmt_num(t, sizeof t, p->samples_per_sec), "samples/s");
		snprintf(t, sizeof t, "%.4g", p->rule_loss);
		kpi(b, t, rp_loss_kind_name(p->loss_kind));
		int tier = rp_tier_for(p->mem_bytes, RP_TIER_HEADROOM);
		if (tier >= 0)
			snprintf(t, sizeof t, "%d GB", rp_tier_gib[tier]);
		else
			snprintf(t, sizeof t, isfinite(p->mem_bytes) ? "> 80 GB" : "n/a");
		kpi(b, t, "memory tier (+10%)");
		rp_buf_puts(b, "</div>\n<ul>\n");
		const struct rp_point *f = &pts->p[r->fastest];
		rp_buf_puts(b, "<li>Fastest qualifying point: <b>");
		esc(b, rp_point_label(pts, f, l, sizeof l));
		rp_buf_printf(b, "</b>, %s", rp_point_epoch_str(f, t, sizeof t));
		rp_buf_printf(b, " and %s per epoch.</li>\n", rp_point_cost_str(f, t, sizeof t));
		rp_report_overlap_note(rep, b, RP_NOTE_HTML);
	}
	if (r->best < 0)
		rp_buf_puts(b, "<ul>\n");
	if (r->excluded_faster >= 0)
		excluded(rep, b, r->excluded_faster, "Faster");
	if (r->excluded_cheaper >= 0)
		excluded(rep, b, r->excluded_cheaper, "Cheaper");
	rp_buf_puts(b, "<li>CPU vs GPU: ");
	esc(b, r->verdict);
	rp_buf_puts(b, "</li>\n</ul>\n");
	rp_buf_printf(b, "<p class=\"rule\">Rule: %s. Times marked * are extrapolated.</p>\n</section>\n", r->rule);
}

struct series_set {
	struct rp_series s[MAX_SERIES];
	char labels[MAX_SERIES][256];
	double *x, *y, *y2;
	char **tips;
	int n, n_points, dropped;
};

/* Groups ok points into series that differ only in batch size, each sorted by batch. */
static int build_series(const struct rp_report *rep, struct series_set *ss)
{
	const struct rp_points *pts = &rep->pts;
	size_t n = pts->n ? (size_t)pts->n : 1;
	int *series_of = calloc(n, sizeof *series_of);
	ss->x = calloc(n, sizeof *ss->x);
	ss->y = calloc(n, sizeof *ss->y);
	ss->y2 = calloc(n, sizeof *ss->y2);
	ss->tips = calloc(n, sizeof *ss->tips);
	if (!series_of || !ss->x || !ss->y || !ss->y2 || !ss->tips) {
		free(series_of);
		return -1;
	}
	for (int i = 0; i < pts->n; i++) {
		char l[256];
		series_of[i] = -1;
		if (strcmp(pts->p[i].status, "ok"))
			continue;
		rp_point_label_without(pts, &pts->p[i], RP_AXIS_BATCH, l, sizeof l);
		int k = 0;
		while (k < ss->n && strcmp(ss->labels[k], l))
			k++;
		if (k == MAX_SERIES) {
			ss->dropped++;
			continue;
		}
		if (k == ss->n)
			snprintf(ss->labels[ss->n++], sizeof ss->labels[0], "%s", l);
		series_of[i] = k;
	}
	for (int k = 0; k < ss->n; k++) {
		int start = ss->n_points;
		for (int i = 0; i < pts->n; i++) {
			const struct rp_point *p = &pts->p[i];
			if (series_of[i] != k)
				continue;
			int j = ss->n_points++;
			for (; j > start && ss->x[j - 1] > p->cfg->batch; j--) {
				ss->x[j] = ss->x[j - 1], ss->y[j] = ss->y[j - 1], ss->y2[j] = ss->y2[j - 1];
				ss->tips[j] = ss->tips[j - 1];
			}
			char l[256], tip[600], a[32], m[32];
			snprintf(tip, sizeof tip, "%s: %s samples/s, peak %s", rp_point_label(pts, p, l, sizeof l),
				 rp_fmt_num(a, sizeof a, p->samples_per_sec), rp_fmt_bytes(m, sizeof m, p->mem_bytes));
			ss->x[j] = p->cfg->batch, ss->y[j] = p->samples_per_sec, ss->y2[j] = p->mem_bytes;
			ss->tips[j] = strdup(tip);
			if (!ss->tips[j]) {
				free(series_of);
				return -1;
			}
		}
		ss->s[k] = (struct rp_series){ .label = ss->labels[k], .x = ss->x + start, .y = ss->y + start,
					       .n = ss->n_points - start, .color = k,
					       .tips = (const char *const *)ss->tips + start };
	}
	free(series_of);
	return 0;
}

static void free_series(struct series_set *ss)
{
	for (int i = 0; ss->tips && i < ss->n_points; i++)
		free(ss->tips[i]);
	free(ss->tips);
	free(ss->x);
	free(ss->y);
	free(ss->y2);
}

static void chart_throughput_memory(const struct rp_report *rep, struct rp_buf *b)
{
	struct series_set ss;
	memset(&ss, 0, sizeof ss);
	if (build_series(rep, &ss)) {
		b->oom = 1;
		free_series(&ss);
		return;
	}
	char note[128] = "";
	if (ss.dropped)
		snprintf(note, sizeof note, "%d more point%s in further series not drawn (see the table)", ss.dropped,
			 ss.dropped == 1 ? "" : "s");
	double lo = INFINITY, hi = 0;
	for (int i = 0; i < ss.n_points; i++)
		if (ss.y[i] > 0)
			lo = fmin(lo, ss.y[i]), hi = fmax(hi, ss.y[i]);
	int logy = hi / lo > 20; /* a CPU and a GPU on one chart: a linear axis would flatten the CPU */
	struct rp_line_chart c = {
		.id = "chart-throughput", .title = "Throughput vs batch size",
		.x = { "batch size", RP_LOG2, 0 },
		.y = { logy ? "samples per second (log scale)" : "samples per second", logy ? RP_LOG10 : RP_LINEAR, 1 },
		.series = ss.s, .n_series = ss.n, .note = note[0] ? note : NULL,
	};
	rp_buf_puts(b, "<figure>\n");
	rp_svg_line_chart(b, &c);
	rp_buf_puts(b, "</figure>\n<figure>\n");
	struct rp_series mem[MAX_SERIES];
	for (int k = 0; k < ss.n; k++) {
		mem[k] = ss.s[k];
		mem[k].y = ss.y2 + (ss.s[k].y - ss.y);
	}
	struct rp_hline tiers[RP_NTIERS];
	char tl[RP_NTIERS][16];
	for (int t = 0; t < RP_NTIERS; t++) {
		snprintf(tl[t], sizeof tl[t], "%d GB", rp_tier_gib[t]);
		tiers[t] = (struct rp_hline){ rp_tier_bytes(t), tl[t] };
	}
	c = (struct rp_line_chart){
		.id = "chart-memory", .title = "Peak device memory vs batch size",
		.x = { "batch size", RP_LOG2, 0 }, .y = { "peak memory (log scale)", RP_LOG_BYTES, 0 },
		.series = mem, .n_series = ss.n, .hlines = tiers, .n_hlines = RP_NTIERS,
		.note = "dashed red: GPU memory tiers (GiB)",
	};
	rp_svg_line_chart(b, &c);
	rp_buf_puts(b, "</figure>\n");
	free_series(&ss);
}

/* Recommended first, then the Pareto front, then the rest; ok and diverged points with a curve. */
static void chart_loss(const struct rp_report *rep, struct rp_buf *b)
{
	const struct rp_points *pts = &rep->pts;
	struct rp_series s[MAX_CURVES];
	char labels[MAX_CURVES][300];
	double *buf = NULL;
	int order[MAX_CURVES], n = 0, drawable = 0;
	for (int pass = 0; pass < 3; pass++) {
		for (int i = 0; i < pts->n; i++) {
			const struct rp_point *p = &pts->p[i];
			int want = pass == 0 ? i == rep->reco.best : pass == 1 ? rp_report_on_pareto(rep, i) : 1;
			int has_curve = p->rep->n_loss_curve > 0 && (!strcmp(p->status, "ok") || !strcmp(p->status, "diverged"));
			drawable += pass == 0 && has_curve;
			int seen = 0;
			for (int k = 0; k < n && !seen; k++)
				seen = order[k] == i;
			if (want && has_curve && !seen && n < MAX_CURVES)
				order[n++] = i;
		}
	}
	size_t total = 0;
	for (int k = 0; k < n; k++)
		total += (size_t)pts->p[order[k]].rep->n_loss_curve;
	buf = malloc((total ? total : 1) * 2 * sizeof *buf);
	if (!buf) {
		b->oom = 1;
		return;
	}
	size_t off = 0;
	for (int k = 0; k < n; k++) {
		const struct rp_point *p = &pts->p[order[k]];
		const struct rp_record *r = p->rep;
		char l[256];
		snprintf(labels[k], sizeof labels[k], "%s%s", rp_point_label(pts, p, l, sizeof l),
			 strcmp(p->status, "ok") ? " (diverged)" : "");
		double *x = buf + off, *y = buf + off + r->n_loss_curve;
		for (int j = 0; j < r->n_loss_curve; j++)
			x[j] = (double)r->loss_curve[j].step, y[j] = r->loss_curve[j].loss;
		off += 2 * (size_t)r->n_loss_curve;
		s[k] = (struct rp_series){ .label = labels[k], .x = x, .y = y, .n = r->n_loss_curve, .color = k,
					   .dashed = strcmp(p->status, "ok") != 0 };
	}
	char note[160] = "dashed: diverged";
	if (drawable > n)
		snprintf(note, sizeof note, "dashed: diverged; %d more curve%s not drawn", drawable - n,
			 drawable - n == 1 ? "" : "s");
	struct rp_line_chart c = {
		.id = "chart-loss", .title = "Training loss",
		.x = { "step", RP_LINEAR, 1 }, .y = { "loss", RP_LINEAR, 0 },
		.series = s, .n_series = n, .note = note,
	};
	rp_buf_puts(b, "<figure>\n");
	rp_svg_line_chart(b, &c);
	rp_buf_puts(b, "</figure>\n");
	free(buf);
}

static void chart_breakdown(const struct rp_report *rep, struct rp_buf *b)
{
	static const char *const keys[] = { "data_wait", "h2d", "forward", "backward", "optimizer" };
	static const char *const names[] = { "data wait", "host to device", "forward", "backward", "optimizer" };
	static const int colours[] = { 2, 5, 0, 3, 4 }; /* data wait stands out in red */
	const struct rp_points *pts = &rep->pts;
	struct rp_stack_row *rows = calloc((size_t)pts->n + 1, sizeof *rows);
	char (*labels)[256] = calloc((size_t)pts->n + 1, sizeof *labels);
	int n = 0;
	if (!rows || !labels) {
		b->oom = 1;
		goto out;
	}
	int shown[5], n_shown = 0; /* only phases some point measured */
	for (int k = 0; k < 5; k++) {
		int any = 0;
		for (int i = 0; i < pts->n && !any; i++)
			any = !strcmp(pts->p[i].status, "ok") &&
			      cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(
				      cJSON_GetObjectItemCaseSensitive(pts->p[i].rep->extra, "phase_ms"), keys[k]));
		if (any)
			shown[n_shown++] = k;
	}
	const char *shown_names[5];
	int shown_colours[5];
	for (int k = 0; k < n_shown; k++)
		shown_names[k] = names[shown[k]], shown_colours[k] = colours[shown[k]];
	for (int i = 0; i < pts->n; i++) {
		const struct rp_point *p = &pts->p[i];
		if (strcmp(p->status, "ok"))
			continue;
		const cJSON *ph = cJSON_GetObjectItemCaseSensitive(p->rep->extra, "phase_ms");
		rp_point_label(pts, p, labels[n], sizeof labels[n]);
		rows[n].label = labels[n];
		for (int k = 0; k < n_shown; k++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(ph, keys[shown[k]]);
			rows[n].seg[k] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
		}
		n++;
	}
	rp_buf_puts(b, "<figure>\n");
	rp_svg_stacked_chart(b, "chart-breakdown", "Step time breakdown", "mean milliseconds per timed step", shown_names,
			     shown_colours, n_shown, rows, n, "from the trainer's phase timers (phase_ms); phases not measured are left out");
	rp_buf_puts(b, "</figure>\n");
out:
	free(rows);
	free(labels);
}

static int cmp_cost(const void *a, const void *b, void *ctx)
{
	const struct rp_points *pts = ctx;
	double x = pts->p[*(const int *)a].cost_per_epoch, y = pts->p[*(const int *)b].cost_per_epoch;
	if (x != y)
		return x < y ? -1 : 1;
	return *(const int *)a - *(const int *)b;
}

static void chart_cost(const struct rp_report *rep, struct rp_buf *b)
{
	const struct rp_points *pts = &rep->pts;
	int *idx = calloc((size_t)pts->n + 1, sizeof *idx);
	struct rp_bar *bars = calloc((size_t)pts->n + 1, sizeof *bars);
	struct bar_text {
		char label[256], value[64], tip[640];
	} *text = calloc((size_t)pts->n + 1, sizeof *text);
	int n = 0, extrapolated = 0;
	if (!idx || !bars || !text) {
		b->oom = 1;
		goto out;
	}
	for (int i = 0; i < pts->n; i++)
		if (!strcmp(pts->p[i].status, "ok") && isfinite(pts->p[i].cost_per_epoch))
			idx[n++] = i;
	qsort_r(idx, (size_t)n, sizeof *idx, cmp_cost, (void *)pts);
	for (int k = 0; k < n; k++) {
		const struct rp_point *p = &pts->p[idx[k]];
		char e[48];
		struct bar_text *t = &text[k];
		rp_point_label(pts, p, t->label, sizeof t->label);
		rp_point_cost_str(p, t->value, sizeof t->value);
		char tag[48];
		const char *why = rp_report_excluded_tag(p, tag, sizeof tag);
		snprintf(t->tip, sizeof t->tip, "%s: %s per epoch, %s per epoch%s%s%s", t->label, t->value,
			 rp_point_epoch_str(p, e, sizeof e), why ? "; excluded: " : "", why ? why : "",
			 idx[k] == rep->reco.best ? "; recommended" : "");
		if (why) {
			size_t len = strlen(t->value);
			snprintf(t->value + len, sizeof t->value - len, " (%s)", why);
		}
		bars[k] = (struct rp_bar){ t->label, t->value, t->tip, p->cost_per_epoch, idx[k] == rep->reco.best,
					   p->epoch_s_extrapolated };
		extrapolated |= p->epoch_s_extrapolated;
	}
	rp_buf_puts(b, "<figure>\n");
	rp_svg_bar_chart(b, "chart-cost", "Cost per epoch", "US dollars per epoch", bars, n,
			 extrapolated ? "orange: recommended; hatched and *: extrapolated epoch time"
				      : "orange: recommended");
	rp_buf_puts(b, "</figure>\n");
out:
	free(idx);
	free(bars);
	free(text);
}

/* Column headers; bit i of `numeric` right-aligns column i over its numbers. */
static void th_row(struct rp_buf *b, const char *const *cols, int n, unsigned numeric)
{
	rp_buf_puts(b, "<div class=\"tw\"><table>\n<thead><tr>");
	for (int i = 0; i < n; i++)
		rp_buf_printf(b, "<th%s>%s</th>", numeric >> i & 1 ? " class=\"n\"" : "", cols[i]);
	rp_buf_puts(b, "</tr></thead>\n<tbody>\n");
}

static void td_text(struct rp_buf *b, const char *s)
{
	rp_buf_puts(b, "<td>");
	esc(b, s);
	rp_buf_puts(b, "</td>");
}

static void td_num(struct rp_buf *b, const char *s)
{
	rp_buf_puts(b, "<td class=\"n\">");
	esc(b, s);
	rp_buf_puts(b, "</td>");
}

static void pareto_table(const struct rp_report *rep, struct rp_buf *b)
{
	static const char *const cols[] = { "point", "epoch", "cost per epoch", "samples/s", "final loss" };
	const struct rp_points *pts = &rep->pts;
	rp_buf_puts(b, "<h2 id=\"pareto\">Time/cost Pareto front</h2>\n");
	if (rep->reco.n_pareto == 0) {
		rp_buf_puts(b, "<p>No point qualifies.</p>\n");
		return;
	}
	rp_buf_puts(b, "<p class=\"sub\">Qualifying points that no other point beats on both time and cost per epoch, "
		       "fastest first.</p>\n");
	th_row(b, cols, 5, 0x1e);
	for (int k = 0; k < rep->reco.n_pareto; k++) {
		int i = rep->reco.pareto[k];
		const struct rp_point *p = &pts->p[i];
		char t[160];
		point_row(rep, b, i, NULL);
		rp_buf_puts(b, "</td>");
		td_num(b, rp_point_epoch_str(p, t, sizeof t));
		td_num(b, rp_point_cost_str(p, t, sizeof t));
		td_num(b, rp_point_sps_str(p, t, sizeof t));
		snprintf(t, sizeof t, "%.4g", p->final_loss);
		td_num(b, t);
		rp_buf_puts(b, "</tr>\n");
	}
	rp_buf_puts(b, "</tbody></table></div>\n");
}

static void tiers_table(const struct rp_report *rep, struct rp_buf *b)
{
	static const char *const cols[] = { "device, model, precision, seq", "points", "a (fixed)", "b (per sample)",
					    "max fit error", "8 GB", "16 GB", "24 GB", "40 GB", "80 GB" };
	rp_buf_puts(b, "<h2 id=\"tiers\">Memory tiers</h2>\n");
	if (rep->n_fits == 0) {
		rp_buf_puts(b, "<p>No ok point measured its peak memory.</p>\n");
		return;
	}
	rp_buf_puts(b, "<p class=\"sub\">Largest batch whose fitted peak fits each tier (a card of N GB counted as N GiB, no headroom). Fit: peak = a + "
		       "b &#215; batch over the measured peaks of points that differ only in batch size.</p>\n");
	th_row(b, cols, 10, 0x3fe);
	for (int k = 0; k < rep->n_fits; k++) {
		const struct rp_tier_fit *f = &rep->fits[k];
		const struct rp_record *g = rep->pts.p[f->first].cfg;
		char t[512], dev[160];
		snprintf(t, sizeof t, "%s, %s-%s, %s, seq %d", rp_points_device(&rep->pts, g, dev, sizeof dev), g->model, g->size,
			 g->precision, g->seq);
		rp_buf_puts(b, "<tr>");
		td_text(b, t);
		snprintf(t, sizeof t, "%d", f->n_points);
		td_num(b, t);
		if (isfinite(f->b_bytes_per_sample)) {
			td_num(b, rp_fmt_bytes(t, sizeof t, f->a_bytes));
			td_num(b, rp_fmt_bytes(t, sizeof t, f->b_bytes_per_sample));
			snprintf(t, sizeof t, "%.1f%%", 100 * f->max_err_frac);
			td_num(b, t);
		} else {
			rp_buf_puts(b, "<td class=\"n\">n/a</td><td class=\"n\">n/a</td><td>needs 2+ batch sizes</td>");
		}
		for (int i = 0; i < RP_NTIERS; i++) {
			snprintf(t, sizeof t, "%ld", f->max_batch[i]);
			td_num(b, f->max_batch[i] < 0 ? "-" : t);
		}
		rp_buf_puts(b, "</tr>\n");
	}
	rp_buf_puts(b, "</tbody></table></div>\n");
	if (rep->est_checked)
		rp_buf_printf(b, "<p class=\"sub\">The estimator (<code>amptune estimate</code>) against the measured peaks of %d "
				 "point%s: largest error %.2f%%.</p>\n",
			      rep->est_checked, rep->est_checked == 1 ? "" : "s", 100 * rep->est_max_err);
}

static void points_table(const struct rp_report *rep, struct rp_buf *b)
{
	static const char *const cols[] = { "point (id)", "status", "step p50 / p95", "samples/s", "tokens/s", "epoch",
					    "$ per epoch", "$ per M samples", "peak memory", "loss / eval", "data wait",
					    "ok runs" };
	const struct rp_points *pts = &rep->pts;
	rp_buf_puts(b, "<h2 id=\"points\">All points</h2>\n");
	th_row(b, cols, 12, 0xffc);
	for (int i = 0; i < pts->n; i++) {
		const struct rp_point *p = &pts->p[i];
		char t[64], sps[160];
		point_row(rep, b, i, "pt");
		rp_buf_puts(b, "<br/><span class=\"msg\">");
		esc(b, p->cfg->id);
		rp_buf_puts(b, "</span>");
		if (p->cfg->message[0] && strcmp(p->status, "ok")) {
			rp_buf_puts(b, "<br/><span class=\"msg\">");
			esc(b, p->cfg->message);
			rp_buf_puts(b, "</span>");
		}
		rp_buf_printf(b, "</td><td><span class=\"st st-%s\">%s</span></td>", p->status, p->status);
		char s50[32], s95[32];
		snprintf(t, sizeof t, "%s / %s ms", rp_fmt_sig3(s50, sizeof s50, p->step_ms_p50),
			 rp_fmt_sig3(s95, sizeof s95, p->step_ms_p95));
		td_num(b, isfinite(p->step_ms_p50) ? t : "n/a");
		td_num(b, rp_report_sps_cell(p, sps, sizeof sps));
		td_num(b, rp_fmt_num(t, sizeof t, p->tokens_per_sec));
		td_num(b, rp_point_epoch_str(p, t, sizeof t));
		td_num(b, rp_point_cost_str(p, t, sizeof t));
		td_num(b, rp_fmt_usd(t, sizeof t, p->cost_per_m_samples));
		td_num(b, rp_fmt_bytes(t, sizeof t, p->mem_bytes));
		char fl[24] = "n/a", el[24] = "n/a";
		if (isfinite(p->final_loss))
			snprintf(fl, sizeof fl, "%.4g", p->final_loss);
		if (isfinite(p->eval_loss))
			snprintf(el, sizeof el, "%.4g", p->eval_loss);
		snprintf(t, sizeof t, "%s / %s", fl, el);
		td_num(b, t);
		snprintf(t, sizeof t, "%.1f%%", 100 * p->data_wait_frac);
		td_num(b, isfinite(p->data_wait_frac) ? t : "n/a");
		snprintf(t, sizeof t, "%d/%d", p->n_ok, p->n_reps);
		td_num(b, t);
		rp_buf_puts(b, "</tr>\n");
	}
	rp_buf_puts(b, "</tbody></table></div>\n");
}

static void prices_table(const struct rp_report *rep, struct rp_buf *b)
{
	static const char *const cols[] = { "device", "$ per hour", "basis" };
	const struct rp_points *pts = &rep->pts;
	rp_buf_puts(b, "<h2 id=\"prices\">Prices</h2>\n");
	th_row(b, cols, 3, 0x2);
	for (int i = 0; i < pts->n; i++) {
		const struct rp_point *p = &pts->p[i];
		if (!rp_report_price_row(rep, i))
			continue;
		char t[256];
		snprintf(t, sizeof t, "%s %s", p->cfg->device, p->cfg->device_name);
		rp_buf_puts(b, "<tr>");
		td_text(b, t);
		snprintf(t, sizeof t, "$%.2f", p->price.usd_per_hour);
		td_num(b, t);
		td_text(b, p->price.basis);
		rp_buf_puts(b, "</tr>\n");
	}
	rp_buf_puts(b, "</tbody></table></div>\n<p class=\"sub\">Cost per epoch = hours per epoch &#215; price per hour; cost "
		       "per million samples = 10<sup>6</sup> / samples per second / 3600 &#215; price. Override with "
		       "<code>--price DEVICE=USD</code> or a <code>[prices]</code> section in the plan.</p>\n");
}

void rp_html_begin(struct rp_buf *b, const char *title_prefix, const char *name)
{
	rp_buf_puts(b, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
		       "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
		       "<title>");
	esc(b, title_prefix);
	esc(b, name);
	rp_buf_printf(b, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n<header>\n<h1>", css);
	esc(b, title_prefix);
	rp_buf_puts(b, "<span>");
	esc(b, name);
	rp_buf_puts(b, "</span></h1>\n");
}

void rp_html_end(struct rp_buf *b) { rp_buf_puts(b, "</main>\n</body>\n</html>\n"); }

void rp_report_html(const struct rp_report *rep, struct rp_buf *b)
{
	rp_html_begin(b, "amptune report: ", rep->res->name);
	rp_buf_puts(b, "<p class=\"sub\">");
	esc(b, rep->res->path);
	rp_buf_puts(b, " &#183; ");
	rp_report_counts(rep, b);
	rp_buf_puts(b, "</p>\n</header>\n");
	if (rep->res->torn_line)
		rp_buf_printf(b, "<p class=\"warn\">Line %ld of the results was torn (a write cut short) and was ignored.</p>\n",
			      rep->res->torn_line);
	rp_report_notes(rep, b, RP_NOTE_HTML);
	reco_card(rep, b);
	rp_buf_puts(b, "<h2 id=\"charts\">Charts</h2>\n<div class=\"grid\">\n");
	chart_throughput_memory(rep, b);
	chart_loss(rep, b);
	chart_breakdown(rep, b);
	chart_cost(rep, b);
	rp_buf_puts(b, "</div>\n");
	pareto_table(rep, b);
	tiers_table(rep, b);
	points_table(rep, b);
	prices_table(rep, b);
	rp_buf_printf(b, "<footer>* extrapolated: the run was shorter than an epoch, so the epoch time is the median step "
			 "time &#215; steps per epoch, and its cost follows from it. Written by amptune %s.</footer>\n",
		      AMPTUNE_VERSION);
	rp_html_end(b);
}
