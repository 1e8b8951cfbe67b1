/*
 * reports/svg.h — inline SVG charts for report.html: no scripts, no fonts or
 * images fetched; text is styled by the page's CSS (class names below).
 *
 * Every label and tooltip passed in is unescaped text from a plan or results
 * file; the chart escapes it. Pointers are borrowed for the call only.
 * Each chart is one <svg class="chart" id="..."> with a viewBox, so it scales
 * with the page.
 */
#ifndef RP_SVG_H
#define RP_SVG_H

#include "reports/text.h"

#define RP_PALETTE_SIZE 10
extern const char *const rp_palette[RP_PALETTE_SIZE];

/* RP_LOG2: ticks at powers of two (batch sizes); RP_LOG10: decades (rates);
 * RP_LOG_BYTES: powers of two labelled in KiB/MiB/GiB. */
enum rp_axis_kind { RP_LINEAR, RP_LOG2, RP_LOG10, RP_LOG_BYTES };

struct rp_chart_axis {
	const char *label;
	enum rp_axis_kind kind;
	int from_zero;         /* linear axes: start at 0 */
};

struct rp_series {
	const char *label;
	const double *x, *y;   /* non-finite points are skipped */
	int n;
	int color;             /* palette index */
	int dashed;
	const char *const *tips; /* per-point tooltip, or NULL */
};

struct rp_hline {
	double y;
	const char *label;
};

struct rp_line_chart {
	const char *id, *title;
	struct rp_chart_axis x, y;
	const struct rp_series *series;
	int n_series;
	const struct rp_hline *hlines;
	int n_hlines;
	const char *note;      /* a line under the plot, or NULL */
};

void rp_svg_line_chart(struct rp_buf *b, const struct rp_line_chart *c);

struct rp_bar {
	const char *label, *value_text, *tip;
	double value;
	int highlight;         /* drawn in the accent colour */
	int hatched;           /* drawn hatched: the value is extrapolated */
};

/* Horizontal bars, one row per bar, in the order given. */
void rp_svg_bar_chart(struct rp_buf *b, const char *id, const char *title, const char *axis_label,
		      const struct rp_bar *bars, int n, const char *note);

#define RP_MAX_SEGMENTS 8

struct rp_stack_row {
	const char *label;
	double seg[RP_MAX_SEGMENTS]; /* NAN = not measured */
};

/* Horizontal stacked bars: row r is segments seg_names[0..n_seg) in order,
 * segment s drawn in rp_palette[seg_colours[s]]. */
void rp_svg_stacked_chart(struct rp_buf *b, const char *id, const char *title, const char *axis_label,
			  const char *const *seg_names, const int *seg_colours, int n_seg, const struct rp_stack_row *rows,
			  int n, const char *note);

#endif
