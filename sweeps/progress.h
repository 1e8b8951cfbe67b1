/*
 * sweeps/progress.h — what a running sweep shows: on a TTY a progress bar
 * (points done/total, the current point, elapsed time, an ETA from the
 * points finished so far) redrawn on stderr; otherwise one plain line per
 * point start and finish; nothing when quiet. Then the summary table.
 */
#ifndef SW_PROGRESS_H
#define SW_PROGRESS_H

#include <stdio.h>

#include "sweeps/grid.h"
#include "sweeps/results.h"

enum sw_progress_mode { SW_PROGRESS_QUIET, SW_PROGRESS_LINES, SW_PROGRESS_BAR };

struct sw_progress {
	enum sw_progress_mode mode;
	int total, done;        /* points of this run; done counts those recorded before */
	int ran;                /* points finished by this process */
	double t0_ms, ran_s, cur_t0_ms, drawn_ms;
	char cur[160];          /* the current point, described */
};

void sw_progress_init(struct sw_progress *pg, enum sw_progress_mode mode, int total, int done);
void sw_progress_start(struct sw_progress *pg, const struct sw_point *pt, int repeats);
/* Redraws the bar (at most 4 times a second); a struct sw_progress * as ctx. */
void sw_progress_tick(void *ctx);
void sw_progress_finish(struct sw_progress *pg, const struct sw_point *pt, const char *status, double wall_s);
/* Clears the bar, before other output. */
/* A point this run leaves unrun and unrecorded (its device is not on this machine). */
void sw_progress_skip(struct sw_progress *pg, const struct sw_point *pt, const char *why);
void sw_progress_end(struct sw_progress *pg);

/* The table of points (`sel`, n of them, in grid order) with what `r` recorded
 * for each, and a line counting statuses. */
void sw_summary_print(FILE *out, const struct sw_plan *p, const struct sw_point *const *sel, int n,
		      const struct sw_results *r);
/* The header and one row of --list / --dry-run; `note` is an extra column (may be NULL). */
void sw_list_header(FILE *out, int with_note);
void sw_list_row(FILE *out, const struct sw_plan *p, const struct sw_point *pt, const char *note);

#endif
