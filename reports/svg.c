#include "reports/svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Tableau 10: distinguishable, and readable for common colour blindness. */
const char *const rp_palette[RP_PALETTE_SIZE] = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
						  "#b07aa1", "#ff9da7", "#9c755f", "#edc948", "#bab0ac" };

#define W 800.0
#define H 380.0
#define PX0 78.0
#define PX1 560.0
#define PY0 48.0
#define PY1 (H - 58.0)
#define MAX_TICKS 24

struct scale {
	enum rp_axis_kind kind;
	double lo, hi;   /* in axis units: value, or log2(value) */
	double p0, p1;   /* pixels */
	double ticks[MAX_TICKS];
	int n_ticks;
};

static double axis_unit(const struct scale *s, double v) { return s->kind == RP_LINEAR ? v : log2(v); }

static double map(const struct scale *s, double v)
{
	return s->p0 + (axis_unit(s, v) - s->lo) / (s->hi - s->lo) * (s->p1 - s->p0);
}

static double nice_step(double range, int target)
{
	double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

/* Fits the scale to [dmin, dmax] (finite; positive for log axes) and picks ticks. */
static void scale_fit(struct scale *s, double dmin, double dmax, int from_zero)
{
	if (s->kind == RP_LINEAR) {
		if (from_zero)
			dmin = fmin(dmin, 0);
		if (dmax - dmin <= 0) {
			double pad = fabs(dmax) > 0 ? fabs(dmax) * 0.1 : 1;
			dmin -= from_zero && dmin == 0 ? 0 : pad;
			dmax += pad;
		}
		double step = nice_step(dmax - dmin, 5);
		s->lo = floor(dmin / step) * step;
		s->hi = ceil(dmax / step) * step;
		if (s->p0 > s->p1 && s->hi - dmax < 0.04 * (s->hi - s->lo)) /* room above the highest point */
			s->hi += step;
		for (double t = s->lo; t <= s->hi + step * 1e-9 && s->n_ticks < MAX_TICKS; t += step)
			s->ticks[s->n_ticks++] = fabs(t) < step * 1e-9 ? 0 : t;
		return;
	}
	if (s->kind == RP_LOG10) {
		double klo = floor(log10(dmin)), khi = ceil(log10(dmax));
		if (khi == klo)
			khi++;
		s->lo = klo * log2(10);
		s->hi = khi * log2(10);
		for (double k = klo; k <= khi && s->n_ticks < MAX_TICKS; k++)
			for (int m = 1; m <= 5; m++)
				if ((m == 1 || (khi - klo <= 2 && (m == 2 || m == 5))) && k + log10(m) <= khi)
					s->ticks[s->n_ticks++] = m * pow(10, k);
		return;
	}
	double lo = log2(dmin), hi = log2(dmax);
	if (s->kind == RP_LOG2) { /* points kept off the frame: a third of an octave each side */
		double pad = hi - lo < 1 ? 1 : 0.33;
		lo -= pad;
		hi += pad;
	}
	double klo = floor(lo), khi = ceil(hi);
	double step = ceil((khi - klo) / (s->kind == RP_LOG2 ? 10 : 7));
	s->lo = s->kind == RP_LOG2 ? lo : floor(klo / step) * step;
	s->hi = s->kind == RP_LOG2 ? hi : ceil(khi / step) * step;
	for (double k = ceil(s->lo / step) * step; k <= s->hi + 1e-9 && s->n_ticks < MAX_TICKS; k += step)
		s->ticks[s->n_ticks++] = pow(2, k);
}

static const char *tick_label(const struct scale *s, double v, char *out, size_t n)
{
	if (s->kind == RP_LOG_BYTES) {
		static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
		int k = (int)round(log2(v)), u = k < 0 ? 0 : k / 10 > 5 ? 5 : k / 10;
		snprintf(out, n, "%g %s", pow(2, k - 10 * u), unit[u]);
	} else if (s->kind == RP_LOG2) {
		snprintf(out, n, "%g", v);
	} else if (s->kind == RP_LOG10) {
		rp_fmt_num(out, n, v);
	} else {
		rp_fmt_num(out, n, v);
	}
	return out;
}

/* At most `max` characters of s (UTF-8 aware), with an ellipsis when cut. */
static const char *clip(const char *s, int max, char *out, size_t n)
{
	size_t i = 0;
	int chars = 0;
	while (s[i] && i < n - 4) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && ++chars > max)
			break;
		i++;
	}
	snprintf(out, n, "%.*s%s", (int)i, s, s[i] ? "\xe2\x80\xa6" : "");
	return out;
}

static void text_el(struct rp_buf *b, const char *cls, double x, double y, const char *anchor, const char *s)
{
	rp_buf_printf(b, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\"%s%s%s>", cls, x, y, anchor ? " text-anchor=\"" : "",
		      anchor ? anchor : "", anchor ? "\"" : "");
	rp_buf_html(b, s);
	rp_buf_puts(b, "</text>\n");
}

static void svg_open(struct rp_buf *b, const char *id, const char *title, double w, double h)
{
	rp_buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"%s\" viewBox=\"0 0 %.0f %.0f\" "
			 "role=\"img\" aria-label=\"",
		      id, w, h);
	rp_buf_html(b, title);
	rp_buf_puts(b, "\">\n<title>");
	rp_buf_html(b, title);
	rp_buf_puts(b, "</title>\n");
	text_el(b, "ct", 16, 26, NULL, title);
}

static void grid(struct rp_buf *b, const struct scale *xs, const struct scale *ys, const struct rp_chart_axis *xa,
		 const struct rp_chart_axis *ya)
{
	char t[48];
	rp_buf_printf(b, "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n", PX0, PY0,
		      PX1 - PX0, PY1 - PY0);
	for (int i = 0; i < ys->n_ticks; i++) {
		double y = map(ys, ys->ticks[i]);
		rp_buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PX0, y, PX1, y);
		text_el(b, "tick", PX0 - 6, y + 4, "end", tick_label(ys, ys->ticks[i], t, sizeof t));
	}
	for (int i = 0; i < xs->n_ticks; i++) {
		double x = map(xs, xs->ticks[i]);
		rp_buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, PY0, x, PY1);
		text_el(b, "tick", x, PY1 + 16, "middle", tick_label(xs, xs->ticks[i], t, sizeof t));
	}
	rp_buf_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PX0, PY1, PX1, PY1);
	rp_buf_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PX0, PY0, PX0, PY1);
	text_el(b, "al", (PX0 + PX1) / 2, PY1 + 38, "middle", xa->label);
	rp_buf_printf(b, "<text class=\"al\" text-anchor=\"middle\" transform=\"translate(18 %.1f) rotate(-90)\">",
		      (PY0 + PY1) / 2);
	rp_buf_html(b, ya->label);
	rp_buf_puts(b, "</text>\n");
}

static void legend_entry(struct rp_buf *b, double x, double y, const char *color, int dashed, const char *label,
			 int max_chars)
{
	char c[256];
	rp_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"%s/>\n", x,
		      y - 4, x + 18, y - 4, color, dashed ? " stroke-dasharray=\"5 3\"" : "");
	rp_buf_puts(b, "<text class=\"lg\"");
	rp_buf_printf(b, " x=\"%.1f\" y=\"%.1f\"><title>", x + 24, y);
	rp_buf_html(b, label);
	rp_buf_puts(b, "</title>");
	rp_buf_html(b, clip(label, max_chars, c, sizeof c));
	rp_buf_puts(b, "</text>\n");
}

static int usable(const struct rp_chart_axis *a, double v)
{
	return isfinite(v) && (a->kind == RP_LINEAR || v > 0);
}

static void empty_note(struct rp_buf *b, double x0, double x1, double y0, double y1, const char *note)
{
	text_el(b, "empty", (x0 + x1) / 2, (y0 + y1) / 2, "middle", note ? note : "nothing measured to draw");
}

void rp_svg_line_chart(struct rp_buf *b, const struct rp_line_chart *c)
{
	struct scale xs = { .kind = c->x.kind, .p0 = PX0, .p1 = PX1 }, ys = { .kind = c->y.kind, .p0 = PY1, .p1 = PY0 };
	double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
	int points = 0;
	for (int s = 0; s < c->n_series; s++)
		for (int i = 0; i < c->series[s].n; i++) {
			double x = c->series[s].x[i], y = c->series[s].y[i];
			if (!usable(&c->x, x) || !usable(&c->y, y))
				continue;
			xmin = fmin(xmin, x), xmax = fmax(xmax, x), ymin = fmin(ymin, y), ymax = fmax(ymax, y);
			points++;
		}
	svg_open(b, c->id, c->title, W, H);
	if (points == 0) {
		xmin = ymin = 1, xmax = ymax = 2;
	}
	for (int i = 0; i < c->n_hlines && points; i++)
		ymin = fmin(ymin, c->hlines[i].y), ymax = fmax(ymax, c->hlines[i].y);
	if (c->y.kind == RP_LOG_BYTES && points)
		ymin /= 2, ymax *= 1.5;
	scale_fit(&xs, xmin, xmax, c->x.from_zero);
	scale_fit(&ys, ymin, ymax, c->y.from_zero);
	grid(b, &xs, &ys, &c->x, &c->y);
	if (points == 0) {
		empty_note(b, PX0, PX1, PY0, PY1, c->note);
		rp_buf_puts(b, "</svg>\n");
		return;
	}
	for (int i = 0; i < c->n_hlines; i++) {
		double y = map(&ys, c->hlines[i].y);
		rp_buf_printf(b, "<line class=\"tier\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PX0, y, PX1, y);
		/* alternate sides so that labels of close lines do not collide */
		if (i % 2)
			text_el(b, "tierl", PX0 + 4, y - 3, NULL, c->hlines[i].label);
		else
			text_el(b, "tierl", PX1 - 4, y - 3, "end", c->hlines[i].label);
	}
	for (int s = 0; s < c->n_series; s++) {
		const struct rp_series *se = &c->series[s];
		const char *color = rp_palette[se->color % RP_PALETTE_SIZE];
		rp_buf_printf(b, "<polyline class=\"ln\" stroke=\"%s\"%s points=\"", color,
			      se->dashed ? " stroke-dasharray=\"6 4\"" : "");
		for (int i = 0; i < se->n; i++)
			if (usable(&c->x, se->x[i]) && usable(&c->y, se->y[i]))
				rp_buf_printf(b, "%.1f,%.1f ", map(&xs, se->x[i]), map(&ys, se->y[i]));
		rp_buf_puts(b, "\"/>\n");
		for (int i = 0; i < se->n && se->n <= 24; i++) { /* markers only where they stay readable */
			if (!usable(&c->x, se->x[i]) || !usable(&c->y, se->y[i]))
				continue;
			rp_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>", map(&xs, se->x[i]),
				      map(&ys, se->y[i]), color);
			rp_buf_html(b, se->tips && se->tips[i] ? se->tips[i] : se->label);
			rp_buf_puts(b, "</title></circle>\n");
		}
	}
	for (int s = 0; s < c->n_series && s < 16; s++)
		legend_entry(b, PX1 + 22, PY0 + 10 + 19 * s, rp_palette[c->series[s].color % RP_PALETTE_SIZE],
			     c->series[s].dashed, c->series[s].label, 30);
	if (c->note)
		text_el(b, "note", PX0, H - 4, NULL, c->note);
	rp_buf_puts(b, "</svg>\n");
}

#define BAR_LABEL_W 250.0
#define BAR_X1 (W - 96.0)
#define ROW_H 24.0

static double bars_height(int n, double top) { return top + (n ? n : 1) * ROW_H + 56; }

static void bar_axis(struct rp_buf *b, struct scale *xs, double top, int n, const char *axis_label)
{
	char t[48];
	double bottom = top + (n ? n : 1) * ROW_H;
	for (int i = 0; i < xs->n_ticks; i++) {
		double x = map(xs, xs->ticks[i]);
		rp_buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, top - 4, x,
			      bottom);
		text_el(b, "tick", x, bottom + 16, "middle", tick_label(xs, xs->ticks[i], t, sizeof t));
	}
	text_el(b, "al", (BAR_LABEL_W + BAR_X1) / 2, bottom + 38, "middle", axis_label);
}

/* The value axis of a bar chart, its grid, and `empty` (when not NULL) where the bars would be. */
static struct scale bars_frame(struct rp_buf *b, double top, int n, double vmax, const char *axis_label,
			       const char *empty)
{
	struct scale xs = { .kind = RP_LINEAR, .p0 = BAR_LABEL_W, .p1 = BAR_X1 };
	scale_fit(&xs, 0, vmax > 0 ? vmax : 1, 1);
	bar_axis(b, &xs, top, n, axis_label);
	if (empty)
		empty_note(b, BAR_LABEL_W, BAR_X1, top, top + ROW_H, empty);
	return xs;
}

static void row_label(struct rp_buf *b, double y, const char *label, int bold)
{
	char c[256];
	rp_buf_printf(b, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\"><title>", bold ? "rl hl" : "rl",
		      BAR_LABEL_W - 8, y);
	rp_buf_html(b, label);
	rp_buf_puts(b, "</title>");
	rp_buf_html(b, clip(label, 36, c, sizeof c));
	rp_buf_puts(b, "</text>\n");
}

void rp_svg_bar_chart(struct rp_buf *b, const char *id, const char *title, const char *axis_label,
		      const struct rp_bar *bars, int n, const char *note)
{
	double top = 50, h = bars_height(n, top), vmax = 0;
	int drawn = 0;
	for (int i = 0; i < n; i++)
		if (isfinite(bars[i].value) && bars[i].value >= 0)
			vmax = fmax(vmax, bars[i].value), drawn++;
	svg_open(b, id, title, W, h);
	rp_buf_puts(b, "<defs>");
	for (int k = 0; k < 2; k++) /* hatch-ID-0 for plain bars, hatch-ID-1 for highlighted ones */
		rp_buf_printf(b, "<pattern id=\"hatch-%s-%d\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
				 "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"%s\" opacity=\"0.35\"/>"
				 "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"%s\" stroke-width=\"3\"/></pattern>",
			      id, k, rp_palette[k], rp_palette[k]);
	rp_buf_puts(b, "</defs>\n");
	struct scale xs = bars_frame(b, top, n, vmax, axis_label, drawn ? NULL : note ? note : "nothing measured to draw");
	for (int i = 0; i < n; i++) {
		const struct rp_bar *r = &bars[i];
		double y = top + i * ROW_H;
		row_label(b, y + ROW_H / 2 + 4, r->label, r->highlight);
		if (!isfinite(r->value) || r->value < 0) {
			text_el(b, "val", BAR_LABEL_W + 6, y + ROW_H / 2 + 4, NULL, r->value_text ? r->value_text : "n/a");
			continue;
		}
		double x1 = map(&xs, r->value);
		const char *fill = r->highlight ? rp_palette[1] : rp_palette[0];
		rp_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"2\" fill=\"", BAR_LABEL_W,
			      y + 4, fmax(x1 - BAR_LABEL_W, 1.5), ROW_H - 8);
		if (r->hatched)
			rp_buf_printf(b, "url(#hatch-%s-%d)\" stroke=\"%s\"", id, r->highlight, fill);
		else
			rp_buf_printf(b, "%s\"", fill);
		rp_buf_puts(b, "><title>");
		rp_buf_html(b, r->tip ? r->tip : r->label);
		rp_buf_puts(b, "</title></rect>\n");
		text_el(b, r->highlight ? "val hl" : "val", x1 + 6, y + ROW_H / 2 + 4, NULL, r->value_text ? r->value_text : "");
	}
	if (drawn && note)
		text_el(b, "note", 16, h - 4, NULL, note);
	rp_buf_puts(b, "</svg>\n");
}

void rp_svg_stacked_chart(struct rp_buf *b, const char *id, const char *title, const char *axis_label,
			  const char *const *seg_names, const int *seg_colours, int n_seg, const struct rp_stack_row *rows,
			  int n, const char *note)
{
	double top = 70, h = bars_height(n, top), vmax = 0;
	int drawn = 0;
	for (int i = 0; i < n; i++) {
		double sum = 0;
		for (int s = 0; s < n_seg; s++)
			if (isfinite(rows[i].seg[s]) && rows[i].seg[s] > 0)
				sum += rows[i].seg[s], drawn = 1;
		vmax = fmax(vmax, sum);
	}
	svg_open(b, id, title, W, h);
	for (int s = 0; s < n_seg; s++) {
		double x = 16 + s * 120;
		rp_buf_printf(b, "<rect x=\"%.1f\" y=\"38\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/>\n", x,
			      rp_palette[seg_colours[s] % RP_PALETTE_SIZE]);
		text_el(b, "lg", x + 17, 48.5, NULL, seg_names[s]);
	}
	struct scale xs = bars_frame(b, top, n, vmax, axis_label, drawn ? NULL : note ? note : "no phase timings measured");
	for (int i = 0; i < n; i++) {
		double y = top + i * ROW_H, x = BAR_LABEL_W, sum = 0;
		char t[64];
		row_label(b, y + ROW_H / 2 + 4, rows[i].label, 0);
		for (int s = 0; s < n_seg; s++) {
			double v = rows[i].seg[s];
			if (!isfinite(v) || v <= 0)
				continue;
			double w = map(&xs, v) - BAR_LABEL_W;
			rp_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>", x,
				      y + 4, w, ROW_H - 8, rp_palette[seg_colours[s] % RP_PALETTE_SIZE]);
			rp_buf_html(b, seg_names[s]);
			rp_buf_printf(b, ": %.3g ms</title></rect>\n", v);
			x += w;
			sum += v;
		}
		if (sum > 0)
			snprintf(t, sizeof t, "%.*f ms", sum < 10 ? 2 : sum < 100 ? 1 : 0, sum);
		else
			snprintf(t, sizeof t, "not measured");
		text_el(b, "val", x + 6, y + ROW_H / 2 + 4, NULL, t);
	}
	if (drawn && note)
		text_el(b, "note", 16, h - 4, NULL, note);
	rp_buf_puts(b, "</svg>\n");
}
