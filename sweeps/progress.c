#include "sweeps/progress.h"

#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cJSON.h>

#include "trainer/metrics.h"

static void describe(char *buf, size_t n, const struct sw_point *pt, int repeats)
{
	int used = snprintf(buf, n, "%s %s %s batch %ld", pt->id, pt->device, pt->precision, pt->batch);
	if (pt->seq >= 0 && used < (int)n)
		used += snprintf(buf + used, n - (size_t)used, " seq %ld", pt->seq);
	if (pt->workers >= 0 && used < (int)n)
		used += snprintf(buf + used, n - (size_t)used, " workers %ld", pt->workers);
	if (pt->prefetch >= 0 && used < (int)n)
		used += snprintf(buf + used, n - (size_t)used, " prefetch %ld", pt->prefetch);
	if (repeats > 1 && used < (int)n)
		snprintf(buf + used, n - (size_t)used, " (repeat %d/%d)", pt->repeat, repeats);
}

static void clock_text(char *buf, size_t n, double s)
{
	long t = (long)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void sw_progress_init(struct sw_progress *pg, enum sw_progress_mode mode, int total, int done)
{
	memset(pg, 0, sizeof *pg);
	pg->mode = mode;
	pg->total = total;
	pg->done = done;
	pg->t0_ms = tr_now_ms();
}

static void draw(struct sw_progress *pg)
{
	struct winsize ws;
	int width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
	double now = tr_now_ms(), elapsed = (now - pg->t0_ms) / 1e3;
	char bar[32], el[48], eta[64] = "ETA --", line[512];
	int fill = pg->total ? (int)(20.0 * pg->done / pg->total) : 20;
	for (int i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = 0;
	clock_text(el, sizeof el, elapsed);
	if (pg->ran) {
		/* the mean point so far, for what is left, less what the current one has run */
		double left = pg->ran_s / pg->ran * (pg->total - pg->done) - (now - pg->cur_t0_ms) / 1e3;
		strcpy(eta, "ETA ");
		clock_text(eta + 4, sizeof eta - 4, left > 0 ? left : 0);
	}
	/* the current point last: a narrow terminal cuts it, not the counts */
	snprintf(line, sizeof line, "[%s] %d/%d | %s elapsed | %s | %s", bar, pg->done, pg->total, el, eta, pg->cur);
	if ((int)strlen(line) > width - 1)
		line[width - 1] = 0;
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	pg->drawn_ms = now;
}

void sw_progress_start(struct sw_progress *pg, const struct sw_point *pt, int repeats)
{
	describe(pg->cur, sizeof pg->cur, pt, repeats);
	pg->cur_t0_ms = tr_now_ms();
	if (pg->mode == SW_PROGRESS_BAR)
		draw(pg);
	else if (pg->mode == SW_PROGRESS_LINES)
		fprintf(stderr, "amptune sweep: [%d/%d] start %s\n", pg->done + 1, pg->total, pg->cur);
}

void sw_progress_tick(void *ctx)
{
	struct sw_progress *pg = ctx;
	if (pg->mode == SW_PROGRESS_BAR && tr_now_ms() - pg->drawn_ms >= 250)
		draw(pg);
}

void sw_progress_finish(struct sw_progress *pg, const struct sw_point *pt, const char *status, double wall_s)
{
	pg->done++;
	pg->ran++;
	pg->ran_s += wall_s;
	pg->cur_t0_ms = tr_now_ms(); /* until the next point starts, none is running */
	if (pg->mode == SW_PROGRESS_BAR)
		draw(pg);
	else if (pg->mode == SW_PROGRESS_LINES)
		fprintf(stderr, "amptune sweep: [%d/%d] %s %s in %.1f s\n", pg->done, pg->total, status, pt->id, wall_s);
}

void sw_progress_skip(struct sw_progress *pg, const struct sw_point *pt, const char *why)
{
	pg->done++;
	if (pg->mode == SW_PROGRESS_BAR)
		draw(pg);
	else if (pg->mode == SW_PROGRESS_LINES)
		fprintf(stderr, "amptune sweep: [%d/%d] not run %s: %s\n", pg->done, pg->total, pt->id, why);
}

void sw_progress_end(struct sw_progress *pg)
{
	if (pg->mode == SW_PROGRESS_BAR) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
}

static void num_col(FILE *out, const cJSON *rec, const char *key, int width, const char *fmt, double scale)
{
	const cJSON *v = rec ? cJSON_GetObjectItemCaseSensitive(rec, key) : NULL;
	if (cJSON_IsNumber(v))
		fprintf(out, fmt, width, v->valuedouble * scale);
	else
		fprintf(out, " %*s", width, "-");
}

static void axis_col(FILE *out, long v, int width)
{
	if (v >= 0)
		fprintf(out, " %*ld", width, v);
	else
		fprintf(out, " %*s", width, "-");
}

#define SETTINGS_HEADER "point id           rep device precision batch    seq workers prefetch"

/* The columns --list, --dry-run and the summary share. */
static void settings_cols(FILE *out, const struct sw_plan *p, const struct sw_point *pt, const char *device)
{
	long seq = sw_point_seq(p, pt);
	fprintf(out, "%5d %s %3d %-6s %-9s %5ld", pt->index, pt->id, pt->repeat, device, pt->precision, pt->batch);
	axis_col(out, seq > 0 ? seq : -1, 6);
	axis_col(out, pt->workers, 7);
	axis_col(out, pt->prefetch, 8);
}

void sw_list_header(FILE *out, int with_note) { fprintf(out, SETTINGS_HEADER "%s\n", with_note ? "  here" : ""); }

void sw_list_row(FILE *out, const struct sw_plan *p, const struct sw_point *pt, const char *note)
{
	settings_cols(out, p, pt, pt->device);
	fprintf(out, "%s%s\n", note ? "  " : "", note ? note : "");
}

void sw_summary_print(FILE *out, const struct sw_plan *p, const struct sw_point *const *sel, int n,
		      const struct sw_results *r)
{
	static const char *const order[] = { "ok", "oom", "oom-predicted", "diverged", "unsupported", "timeout", "failed", "-" };
	enum { NORDER = sizeof order / sizeof *order };
	int counts[NORDER] = { 0 };
	fprintf(out, SETTINGS_HEADER " status       step_ms samples/s   tokens/s peak_MiB final_loss\n");
	for (int i = 0; i < n; i++) {
		const struct sw_point *pt = sel[i];
		int e = sw_results_find(r, pt->id, pt->repeat);
		cJSON *rec = e >= 0 ? cJSON_Parse(r->e[e].line) : NULL;
		const cJSON *dev = rec ? cJSON_GetObjectItemCaseSensitive(rec, "device") : NULL;
		const char *status = e >= 0 ? r->e[e].status : "-";
		settings_cols(out, p, pt, cJSON_IsString(dev) && *dev->valuestring ? dev->valuestring : pt->device);
		fprintf(out, " %-11s", status);
		num_col(out, rec, "step_ms_p50", 8, " %*.2f", 1);
		num_col(out, rec, "samples_per_sec", 9, " %*.1f", 1);
		num_col(out, rec, "tokens_per_sec", 10, " %*.0f", 1);
		num_col(out, rec, "peak_device_bytes", 8, " %*.1f", 1.0 / 1048576.0);
		num_col(out, rec, "final_loss", 10, " %*.4f", 1);
		fprintf(out, "\n");
		cJSON_Delete(rec);
		for (int s = 0; s < NORDER; s++)
			if (strcmp(order[s], status) == 0 || s == NORDER - 1) {
				counts[s]++;
				break;
			}
	}
	fprintf(out, "%d point%s:", n, n == 1 ? "" : "s");
	for (int s = 0, first = 1; s < NORDER; s++) {
		if (!counts[s])
			continue;
		fprintf(out, "%s %d %s", first ? "" : ",", counts[s], s == NORDER - 1 ? "not run" : order[s]);
		first = 0;
	}
	fprintf(out, "\n");
}
