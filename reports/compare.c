#include "reports/compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernels/error.h"
#include "reports/report.h"

static int same_config(const struct rp_record *a, const struct rp_record *b)
{
	return !strcmp(a->model, b->model) && !strcmp(a->size, b->size) && !strcmp(a->dataset, b->dataset) &&
	       !strcmp(a->precision, b->precision) && a->batch == b->batch && a->seq == b->seq &&
	       a->workers == b->workers && a->prefetch == b->prefetch && a->seed == b->seed && a->steps == b->steps;
}

static int is_ok(const struct rp_point *p) { return strcmp(p->status, "ok") == 0; }

/* A hash of what same_config compares, so matching need not try every pair. */
static uint64_t config_hash(const struct rp_record *r)
{
	char key[512];
	int n = snprintf(key, sizeof key, "%s|%s|%s|%s|%d|%d|%d|%d|%llu|%ld", r->model, r->size, r->dataset,
			 r->precision, r->batch, r->seq, r->workers, r->prefetch, (unsigned long long)r->seed, r->steps);
	return rp_fnv1a(RP_FNV1A_BASIS, key, (size_t)(n < (int)sizeof key ? n : (int)sizeof key - 1));
}

static const char *blas_kernels(const struct rp_record *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->versions, "blas_kernels");
	return strncmp(r->device, "cpu", 3) == 0 && cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* a matched pair of CPU points whose GEMMs ran different OpenBLAS kernel families */
static void note_blas(struct rp_compare *c, const struct rp_record *a, const struct rp_record *b)
{
	const char *ka = blas_kernels(a), *kb = blas_kernels(b);
	if (!ka || !kb || !strcasecmp(ka, kb))
		return;
	if (!c->n_blas_differ++) {
		snprintf(c->blas_a, sizeof c->blas_a, "%s", ka);
		snprintf(c->blas_b, sizeof c->blas_b, "%s", kb);
	}
}

const char *rp_verdict_name(enum rp_verdict v)
{
	switch (v) {
	case RP_FASTER: return "faster";
	case RP_SLOWER: return "slower";
	case RP_SAME: return "same";
	case RP_NO_CHANGE: return "no change (within spread)";
	default: return "not comparable";
	}
}

static void judge(struct rp_match *m, const struct rp_point *a, const struct rp_point *b)
{
	m->speedup = m->mem_change = m->loss_change = NAN;
	m->verdict = RP_NOT_COMPARABLE;
	if (isfinite(a->mem_bytes) && isfinite(b->mem_bytes) && a->mem_bytes > 0)
		m->mem_change = (b->mem_bytes - a->mem_bytes) / a->mem_bytes;
	if (isfinite(a->final_loss) && isfinite(b->final_loss))
		m->loss_change = b->final_loss - a->final_loss;
	if (!is_ok(a) || !is_ok(b) || !(a->samples_per_sec > 0) || !(b->samples_per_sec > 0))
		return;
	m->speedup = b->samples_per_sec / a->samples_per_sec;
	m->noise_known = a->n_ok > 1 || b->n_ok > 1;
	if (m->noise_known && a->sps_min <= b->sps_max && b->sps_min <= a->sps_max)
		m->verdict = RP_NO_CHANGE;
	else
		m->verdict = m->speedup > 1 ? RP_FASTER : m->speedup < 1 ? RP_SLOWER : RP_SAME;
}

int rp_compare(struct rp_compare *c, const struct rp_points *a, const struct rp_points *b)
{
	memset(c, 0, sizeof *c);
	c->a = a;
	c->b = b;
	c->m = calloc((size_t)(a->n < b->n ? a->n : b->n) + 1, sizeof *c->m);
	c->only_a = calloc((size_t)a->n + 1, sizeof *c->only_a);
	c->only_b = calloc((size_t)b->n + 1, sizeof *c->only_b);
	int *pair_a = calloc((size_t)a->n + 1, sizeof *pair_a), *pair_b = calloc((size_t)b->n + 1, sizeof *pair_b);
	/* B's points chained by configuration hash, each chain in B's order */
	size_t slots = 16;
	while (slots < 2 * (size_t)b->n)
		slots *= 2;
	int *head = malloc(slots * sizeof *head), *next = calloc((size_t)b->n + 1, sizeof *next);
	if (!c->m || !c->only_a || !c->only_b || !pair_a || !pair_b || !head || !next) {
		free(pair_a);
		free(pair_b);
		free(head);
		free(next);
		rp_compare_release(c);
		return kn_error(KN_ERR, "out of memory comparing");
	}
	for (int i = 0; i < a->n; i++)
		pair_a[i] = -1;
	for (size_t s = 0; s < slots; s++)
		head[s] = -1;
	for (int k = b->n - 1; k >= 0; k--) {
		size_t s = config_hash(b->p[k].cfg) & (slots - 1);
		pair_b[k] = -1;
		next[k] = head[s];
		head[s] = k;
	}
	/* pass 0: same configuration on the same device (its name: an H100 to an H100, where a point
	 * ran on several); pass 1: on the same kind of device; pass 2: the device ignored */
	for (int pass = 0; pass < 3; pass++) {
		for (int i = 0; i < a->n; i++) {
			const struct rp_record *x = a->p[i].cfg;
			for (int k = head[config_hash(x) & (slots - 1)]; k >= 0 && pair_a[i] < 0; k = next[k]) {
				const struct rp_record *y = b->p[k].cfg;
				if (pair_b[k] >= 0 || !same_config(x, y) || (pass < 2 && strcmp(x->device, y->device)) ||
				    (pass == 0 && strcmp(x->device_name, y->device_name)))
					continue;
				pair_a[i] = k;
				pair_b[k] = i;
			}
		}
	}
	free(head);
	free(next);
	double logsum = 0;
	for (int i = 0; i < a->n; i++) {
		if (pair_a[i] < 0) {
			c->only_a[c->n_only_a++] = i;
			continue;
		}
		struct rp_match *m = &c->m[c->n++];
		m->a = i;
		m->b = pair_a[i];
		judge(m, &a->p[i], &b->p[m->b]);
		if (isfinite(m->speedup)) /* the note is about speedups */
			note_blas(c, a->p[i].cfg, b->p[m->b].cfg);
		if (isfinite(m->speedup)) {
			logsum += log(m->speedup);
			c->n_geomean++;
		}
	}
	for (int k = 0; k < b->n; k++)
		if (pair_b[k] < 0)
			c->only_b[c->n_only_b++] = k;
	c->geomean = c->n_geomean ? exp(logsum / c->n_geomean) : NAN;
	free(pair_a);
	free(pair_b);
	return KN_OK;
}

void rp_compare_release(struct rp_compare *c)
{
	free(c->m);
	free(c->only_a);
	free(c->only_b);
	memset(c, 0, sizeof *c);
}

int rp_compare_regressions(const struct rp_compare *c, double pct, struct rp_buf *why, int *n_missing)
{
	int n = 0, missing = 0;
	for (int i = 0; i < c->n; i++) {
		const struct rp_match *m = &c->m[i];
		const struct rp_point *a = &c->a->p[m->a], *b = &c->b->p[m->b];
		char l[512];
		int lost = is_ok(a) && !is_ok(b);
		/* ok in B, but in a smaller share of its repeats than in A: runs B lost count too */
		int flaky = is_ok(a) && is_ok(b) && (double)b->n_ok / b->n_reps < (double)a->n_ok / a->n_reps;
		int slower = m->verdict == RP_SLOWER && m->speedup < 1 - pct / 100;
		if (!lost && !flaky && !slower)
			continue;
		n++;
		char da[160], db[160];
		rp_point_label_without(c->a, a, RP_AXIS_DEVICE, l, sizeof l);
		rp_buf_printf(why, "  %s on %s", l, rp_points_device(c->a, a->cfg, da, sizeof da));
		if (strcmp(da, rp_points_device(c->b, b->cfg, db, sizeof db)) != 0)
			rp_buf_printf(why, " -> %s", db);
		if (lost)
			rp_buf_printf(why, " (id %s): ok in A, %s in B\n", a->cfg->id, b->status);
		else if (flaky)
			rp_buf_printf(why, " (id %s): %d of %d runs ok in A, %d of %d in B (%s)\n", a->cfg->id, a->n_ok, a->n_reps,
				      b->n_ok, b->n_reps, rp_point_failed_status(b));
		else
			rp_buf_printf(why, " (id %s): %.1f%% slower (%.4g -> %.4g samples/s)\n", a->cfg->id,
				      100 * (1 - m->speedup), a->samples_per_sec, b->samples_per_sec);
	}
	for (int k = 0; k < c->n_only_a; k++) { /* a point B lost altogether is not ok in B either */
		const struct rp_point *a = &c->a->p[c->only_a[k]];
		char l[512];
		if (!is_ok(a))
			continue;
		missing++;
		char da[160];
		rp_point_label_without(c->a, a, RP_AXIS_DEVICE, l, sizeof l);
		rp_buf_printf(why, "  %s on %s (id %s): ok in A, missing from B\n", l, rp_points_device(c->a, a->cfg, da, sizeof da),
			      a->cfg->id);
	}
	if (n_missing)
		*n_missing = missing;
	return n + missing;
}

/* rp_point_sps_str, or the status of a point that is not ok */
static const char *sps_text(const struct rp_point *p, char *out, size_t n)
{
	if (!is_ok(p)) {
		snprintf(out, n, "%s", p->status);
		return out;
	}
	return rp_point_sps_str(p, out, n);
}

struct cells {
	char label[512], dev_a[160], dev_b[160], sps_a[160], sps_b[160], speedup[32], verdict[64], mem[32], loss[32];
};

static void match_cells(const struct rp_compare *c, const struct rp_match *m, struct cells *t)
{
	const struct rp_point *a = &c->a->p[m->a], *b = &c->b->p[m->b];
	rp_point_label_without(c->a, a, RP_AXIS_DEVICE, t->label, sizeof t->label);
	rp_points_device(c->a, a->cfg, t->dev_a, sizeof t->dev_a);
	rp_points_device(c->b, b->cfg, t->dev_b, sizeof t->dev_b);
	sps_text(a, t->sps_a, sizeof t->sps_a);
	sps_text(b, t->sps_b, sizeof t->sps_b);
	snprintf(t->speedup, sizeof t->speedup, isfinite(m->speedup) ? "%.3fx" : "n/a", m->speedup);
	snprintf(t->verdict, sizeof t->verdict, "%s%s", rp_verdict_name(m->verdict),
		 isfinite(m->speedup) && !m->noise_known ? " (no repeats)" : "");
	if (m->verdict == RP_NOT_COMPARABLE)
		snprintf(t->verdict, sizeof t->verdict, "%s → %s", a->status, b->status);
	snprintf(t->mem, sizeof t->mem, isfinite(m->mem_change) ? "%+.1f%%" : "n/a", 100 * m->mem_change);
	snprintf(t->loss, sizeof t->loss, isfinite(m->loss_change) ? "%+.4f" : "n/a", m->loss_change);
}

static void text(struct rp_buf *b, int html, const char *s);

static void summary_line(const struct rp_compare *c, struct rp_buf *b, int html)
{
	rp_buf_printf(b, "Matched %d point%s by configuration (device and host ignored); %d only in A, %d only in B. ",
		      c->n, c->n == 1 ? "" : "s", c->n_only_a, c->n_only_b);
	if (c->n_geomean)
		rp_buf_printf(b, "Geometric-mean speedup of B over A: %.3fx over %d point%s with both sides ok.", c->geomean,
			      c->n_geomean, c->n_geomean == 1 ? "" : "s");
	else
		rp_buf_puts(b, "No matched point is ok on both sides: no speedup.");
	if (c->n_blas_differ) {
		int one = c->n_blas_differ == 1;
		rp_buf_printf(b, " Note: %d matched CPU point%s ran different OpenBLAS kernels in A and B (", c->n_blas_differ,
			      one ? "" : "s");
		text(b, html, c->blas_a);
		rp_buf_puts(b, " in A, ");
		text(b, html, c->blas_b);
		rp_buf_printf(b, " in B%s): %s include%s the change of kernels (", one ? "" : ", for the first",
			      one ? "its speedup" : "their speedups", one ? "s" : "");
		text(b, html, "versions.blas_kernels");
		rp_buf_puts(b, ").");
	}
}

static const char *const headers[] = { "point", "A device", "B device", "A samples/s", "B samples/s", "B/A",
				       "verdict", "peak memory", "final loss" };

static void text(struct rp_buf *b, int html, const char *s)
{
	if (html)
		rp_buf_html(b, s);
	else
		rp_buf_md(b, s);
}

/* One renderer for both formats, so Markdown and HTML always say the same. */
static void render(const struct rp_compare *c, const char *path_a, const char *path_b, struct rp_buf *b, int html)
{
	if (html) {
		rp_html_begin(b, "amptune compare", "");
		rp_buf_puts(b, "<p class=\"sub\">");
	} else {
		rp_buf_puts(b, "# amptune compare\n\n");
	}
	rp_buf_puts(b, "A: ");
	text(b, html, path_a);
	rp_buf_printf(b, " (%d point%s)%s", c->a->n, c->a->n == 1 ? "" : "s", html ? " &#183; B: " : "  \nB: ");
	text(b, html, path_b);
	rp_buf_printf(b, " (%d point%s)%s", c->b->n, c->b->n == 1 ? "" : "s", html ? "</p>\n</header>\n<p>" : "\n\n");
	summary_line(c, b, html);
	rp_buf_puts(b, html ? "</p>\n<div class=\"tw\"><table>\n<thead><tr>" : "\n\n");
	for (int h = 0; h < 9 && (html || c->n); h++)
		rp_buf_printf(b, html ? "<th>%s</th>" : h ? " %s |" : "| %s |", headers[h]);
	rp_buf_puts(b, html ? "</tr></thead>\n<tbody>\n" : c->n ? "\n|---|---|---|---:|---:|---:|---|---:|---:|\n" : "");
	for (int i = 0; i < c->n; i++) {
		struct cells t;
		match_cells(c, &c->m[i], &t);
		const char *cols[] = { t.label, t.dev_a, t.dev_b, t.sps_a, t.sps_b, t.speedup, t.verdict, t.mem, t.loss };
		rp_buf_puts(b, html ? "<tr>" : "|");
		for (int k = 0; k < 9; k++) {
			rp_buf_puts(b, !html ? " " : k >= 3 && k != 6 ? "<td class=\"n\">" : "<td>");
			text(b, html, cols[k]);
			rp_buf_puts(b, html ? "</td>" : " |");
		}
		rp_buf_puts(b, html ? "</tr>\n" : "\n");
	}
	if (html)
		rp_buf_puts(b, "</tbody></table></div>\n");
	for (int side = 0; side < 2; side++) {
		const struct rp_points *pts = side ? c->b : c->a;
		int n = side ? c->n_only_b : c->n_only_a, *idx = side ? c->only_b : c->only_a;
		if (html)
			rp_buf_printf(b, "<h2>Only in %s (%d)</h2>\n<ul>\n%s", side ? "B" : "A", n, n ? "" : "<li>none</li>\n");
		else
			rp_buf_printf(b, "\nOnly in %s (%d)%s\n", side ? "B" : "A", n, n ? ":\n" : ".");
		for (int k = 0; k < n; k++) {
			char l[512];
			const struct rp_point *p = &pts->p[idx[k]];
			rp_buf_puts(b, html ? "<li>" : "- ");
			text(b, html, rp_point_label(pts, p, l, sizeof l));
			rp_buf_puts(b, " (id ");
			text(b, html, p->cfg->id);
			rp_buf_printf(b, ", %s)%s\n", p->status, html ? "</li>" : "");
		}
		if (html)
			rp_buf_puts(b, "</ul>\n");
	}
	if (html)
		rp_html_end(b);
}

void rp_compare_markdown(const struct rp_compare *c, const char *path_a, const char *path_b, struct rp_buf *b)
{
	render(c, path_a, path_b, b, 0);
}

void rp_compare_html(const struct rp_compare *c, const char *path_a, const char *path_b, struct rp_buf *b)
{
	render(c, path_a, path_b, b, 1);
}
