/* `amptune merge`: shards' (and other runs') results combined into one results.jsonl. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/error.h"
#include "sweeps/grid.h"
#include "sweeps/plan.h"
#include "sweeps/results.h"
#include "trainer/commands.h"

void cmd_merge_usage(FILE *out)
{
	fprintf(out,
		"usage: amptune merge DIR [--force]\n"
		"       amptune merge SRC... --out DIR [--force]\n"
		"\n"
		"Validates and combines results into DIR/results.jsonl, replacing it atomically.\n"
		"`merge DIR` gathers DIR/results.jsonl and the shards' DIR/shards/N.jsonl; each SRC\n"
		"is a sweep directory (the same files) or a results file, and DIR's own\n"
		"results.jsonl is always kept. A point recorded twice with the same line is kept\n"
		"once; two different records of the same point (id and repeat) are a conflict and\n"
		"nothing is written. A record without a repeat (train --json) names no run and is\n"
		"kept as it is, each. Records come out in grid order (repeat, then point). A torn\n"
		"last line (a write cut short) is reported and ignored; DIR/results.jsonl's own is\n"
		"kept in DIR/results.jsonl.torn before the file is replaced. DIR/plan.ini is copied\n"
		"from the first source directory that has one when DIR has none. A merge that\n"
		"fails leaves no DIR behind that it created.\n"
		"\n"
		"options:\n"
		"  --out DIR   where the merged results.jsonl goes (with SRC...)\n"
		"  --force     merge results of plans with different names\n"
		"\n"
		"exit codes: 0 merged, 1 runtime failure (a sweep is still running in a source or\n"
		"DIR, a write failed), 64 usage, a bad plan.ini or different plans, 65 a bad or conflicting record.\n");
}

struct merge {
	const char *out;
	int force;
	char **paths;   /* results files to read */
	int npaths;
	char **dirs;    /* source directories */
	int ndirs;
	struct sw_results rec;
	int lock;
	size_t made[64]; /* the directories of out this merge created: prefix lengths, outermost first */
	int nmade;
};

static int same_file(const char *a, const char *b)
{
	struct stat x, y;
	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static int add_source(struct merge *m, const char *src)
{
	struct stat st;
	if (stat(src, &st))
		return kn_error(KN_EUSAGE, "cannot read '%s': %s", src, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return sw_push_path(&m->paths, &m->npaths, src);
	char **found;
	int n, rc;
	if ((rc = sw_results_list_dir(src, &found, &n)))
		return rc;
	if (!n)
		fprintf(stderr, "amptune merge: warning: '%s' holds no results.jsonl and no shards/N.jsonl\n", src);
	for (int i = 0; i < n && rc == KN_OK; i++)
		rc = sw_push_path(&m->paths, &m->npaths, found[i]);
	sw_free_paths(found, n);
	return rc ? rc : sw_push_path(&m->dirs, &m->ndirs, src);
}

/* A sweep still writing a source would add records after the merge read it. */
static int check_idle(const struct merge *m)
{
	char path[4200], busy[4400];
	for (int i = 0; i < m->ndirs; i++) {
		int fd, unsupported;
		snprintf(path, sizeof path, "%s/.lock", m->dirs[i]);
		if (same_file(m->dirs[i], m->out) || access(path, F_OK))
			continue;
		snprintf(busy, sizeof busy, "a sweep is still running in '%s'", m->dirs[i]);
		if (sw_lock_acquire(path, LOCK_EX, busy, &fd, &unsupported))
			return KN_ERR;
		sw_lock_release(fd);
	}
	return KN_OK;
}

/* The plan names of the sources and records must agree, unless --force.
 * first_plan: the first source directory's plan.ini, for copy_plan(). */
static int check_names(const struct merge *m, char *first_plan, size_t n)
{
	char name[64] = "", from[4200] = "", path[4200];
	first_plan[0] = 0;
	for (int i = 0; i <= m->ndirs; i++) {
		struct sw_plan p;
		snprintf(path, sizeof path, "%s/plan.ini", i < m->ndirs ? m->dirs[i] : m->out);
		if (access(path, F_OK))
			continue;
		sw_plan_init(&p);
		int rc = sw_plan_load(&p, path, NULL, 0);
		if (rc && !m->force)
			rc = sw_error_around(KN_EUSAGE, "", " (use --force to merge without it)"); /* a plan error: 64, as everywhere */
		else if (rc)
			rc = KN_OK;
		else if (!name[0])
			snprintf(name, sizeof name, "%s", p.name), snprintf(from, sizeof from, "%s", path);
		else if (strcmp(name, p.name) != 0 && !m->force)
			rc = kn_error(KN_EUSAGE, "'%s' is plan '%s' but '%s' is plan '%s'; merge them with --force", from,
				      name, path, p.name);
		if (p.name[0] && !first_plan[0] && i < m->ndirs)
			snprintf(first_plan, n, "%s", path);
		sw_plan_release(&p);
		if (rc)
			return rc;
	}
	for (int i = 0; i < m->rec.n && !m->force; i++) {
		const struct sw_entry *e = &m->rec.e[i];
		if (e->sweep[0] && !name[0])
			snprintf(name, sizeof name, "%s", e->sweep);
		else if (e->sweep[0] && strcmp(name, e->sweep) != 0)
			return kn_error(KN_EUSAGE, "'%s' line %d is a result of plan '%s', not '%s'; merge them with --force",
					e->file, e->lineno, e->sweep, name);
	}
	return KN_OK;
}

static const struct sw_results *sort_rec;
static const int *sort_point; /* per entry: its configuration's place in the grid order to sort by */
static int cmp_entry(const void *a, const void *b)
{
	int i = *(const int *)a, k = *(const int *)b, pi = sort_point[i], pk = sort_point[k];
	const struct sw_entry *x = &sort_rec->e[i], *y = &sort_rec->e[k];
	if ((pi < 0) != (pk < 0))
		return pi < 0 ? 1 : -1;
	if (pi < 0) /* records without a point: last, in input order */
		return i - k;
	if (x->repeat != y->repeat)
		return x->repeat < y->repeat ? -1 : 1;
	if (pi != pk)
		return pi < pk ? -1 : 1;
	return i - k;
}

static int cmp_point_id(const void *a, const void *b)
{
	return strcmp(((const struct sw_point *)a)->id, ((const struct sw_point *)b)->id);
}

/* Where each entry sorts: its id's configuration in grid g of the directory's plan (the current
 * one: a record made before an axis grew keeps the `point` of the grid it ran in, which no longer
 * says where it goes), else its record's own `point`; -1 (last) for a record without one. g NULL:
 * no plan. NULL when out of memory. */
static int *grid_places(const struct merge *m, const struct sw_grid *g)
{
	int *at = malloc((size_t)m->rec.n * sizeof *at + 1);
	if (!at)
		return NULL;
	for (int i = 0; i < m->rec.n; i++)
		at[i] = m->rec.e[i].point;
	int n = g ? g->nconfigs : 0; /* the first repeat's runs: every configuration once */
	struct sw_point *first = g ? malloc((size_t)n * sizeof *first + 1) : NULL;
	if (!first)
		return at;
	for (int i = 0, k = 0; i < g->n && k < n; i++)
		if (g->points[i].repeat == 1)
			first[k++] = g->points[i];
	qsort(first, (size_t)n, sizeof *first, cmp_point_id);
	for (int i = 0; i < m->rec.n; i++) {
		struct sw_point key;
		size_t idn = strlen(m->rec.e[i].id);
		if (idn >= sizeof key.id) /* longer than any id a grid makes */
			continue;
		memcpy(key.id, m->rec.e[i].id, idn + 1);
		const struct sw_point *hit = bsearch(&key, first, (size_t)n, sizeof *first, cmp_point_id);
		if (hit && at[i] >= 0) /* a record without a point stays one (last) */
			at[i] = hit->index;
	}
	free(first);
	return at;
}

/* The run an entry names, as the reports read it: none (repeat 0, not indexed) for a record
 * without `repeat`, which every reader counts as one more repeat of its id, the same line or not */
static struct rp_run merge_run(const void *ctx, int i)
{
	const struct sw_entry *e = &((const struct sw_results *)ctx)->e[i];
	return (struct rp_run){ e->id, e->no_run ? 0 : e->repeat };
}

static const struct sw_results *line_rec;
static int by_line(const void *a, const void *b)
{
	int i = *(const int *)a, k = *(const int *)b, c = strcmp(line_rec->e[i].line, line_rec->e[k].line);
	return c ? c : i - k;
}

/* Marks (copy[i] = 1) each record without a repeat whose line an earlier one from another file
 * holds byte for byte: merging again reads DIR's own results.jsonl beside the sources, and must
 * not add the sources' records again. Within one file, every such record counts, the same line
 * or not, as every reader counts them. Returns nonzero out of memory. */
static int cross_file_copies(const struct sw_results *rec, char *copy)
{
	int *idx = malloc((size_t)rec->n * sizeof *idx + 1), n = 0;
	if (!idx)
		return 1;
	for (int i = 0; i < rec->n; i++)
		if (rec->e[i].no_run)
			idx[n++] = i;
	line_rec = rec;
	qsort(idx, (size_t)n, sizeof *idx, by_line);
	for (int j = 1, lead = 0; j < n; j++) {
		const struct sw_entry *a = &rec->e[idx[lead]], *b = &rec->e[idx[j]];
		if (strcmp(a->line, b->line))
			lead = j; /* the first of a new line: the lines sort by text, then by input order */
		else if (strcmp(a->file, b->file))
			copy[idx[j]] = 1;
	}
	free(idx);
	return 0;
}

/* The merged file's text: each (id, repeat) once, every record without a repeat, in grid order. */
static int merged_text(const struct merge *m, const struct sw_grid *g, char **text, size_t *len, int *kept,
		       int *dropped)
{
	int *keep = malloc((size_t)m->rec.n * sizeof *keep + 1), *places = keep ? grid_places(m, g) : NULL;
	char *copy = places ? calloc((size_t)m->rec.n + 1, 1) : NULL;
	struct rp_run_index runs = { .key = merge_run };
	int rc = KN_OK;
	*kept = *dropped = 0;
	if (!copy || cross_file_copies(&m->rec, copy)) {
		free(keep), free(places), free(copy);
		return kn_error(KN_ERR, "out of memory");
	}
	for (int i = 0; i < m->rec.n && rc == KN_OK; i++) {
		const struct sw_entry *e = &m->rec.e[i];
		if (copy[i]) {
			(*dropped)++;
			continue;
		}
		int at = rp_run_add(&runs, &m->rec, i);
		if (at < 0) {
			rc = KN_ERR;
			break;
		}
		const struct sw_entry *first = &m->rec.e[at];
		char at_a[4200], at_b[4200];
		if (first == e) {
			keep[(*kept)++] = i;
			continue;
		}
		snprintf(at_a, sizeof at_a, "'%s' line %d", first->file, first->lineno);
		snprintf(at_b, sizeof at_b, "'%s' line %d", e->file, e->lineno);
		rc = rp_run_twice((struct rp_run){ e->id, e->repeat }, first->line, strlen(first->line), at_a, e->line,
				  strlen(e->line), at_b, "");
		if (rc == KN_OK)
			(*dropped)++;
	}
	FILE *f = rc ? NULL : open_memstream(text, len);
	if (!rc && !f)
		rc = kn_error(KN_ERR, "out of memory");
	if (f) {
		sort_rec = &m->rec;
		sort_point = places;
		qsort(keep, (size_t)*kept, sizeof *keep, cmp_entry);
		for (int i = 0; i < *kept; i++)
			fprintf(f, "%s\n", m->rec.e[keep[i]].line);
		if (fclose(f))
			rc = kn_error(KN_ERR, "out of memory");
	}
	free(keep);
	free(places);
	free(copy);
	rp_run_index_release(&runs);
	return rc;
}

static int copy_plan(const char *from, const char *out)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/plan.ini", out);
	if (!from[0] || access(path, F_OK) == 0)
		return KN_OK;
	struct sw_plan p;
	sw_plan_init(&p);
	int rc = sw_plan_load(&p, from, NULL, 0);
	if (rc == KN_OK)
		rc = sw_write_atomic(path, p.text, p.text_len);
	sw_plan_release(&p);
	return rc;
}

/* Says (on stderr) which of the runs of plan p (grid g) no record holds yet: a shard still running,
 * failed to start or never submitted; the merge is still written. */
static void warn_missing(const struct merge *m, const struct sw_plan *p, const struct sw_grid *g)
{
	int missing = 0, first = -1;
	for (int i = 0; i < g->n; i++)
		if (sw_results_find(&m->rec, g->points[i].id, g->points[i].repeat) < 0 && !missing++)
			first = i;
	if (missing)
		fprintf(stderr,
			"amptune merge: warning: %d of the %d runs of plan '%s' have no record (the first: point %d, id %s, "
			"repeat %d): a shard still running, failed or never run? Merge again when it is done\n",
			missing, g->n, p->name, g->points[first].index, g->points[first].id, g->points[first].repeat);
}

static int merge(struct merge *m)
{
	char path[4200], first_plan[4200], busy[4400], *text = NULL;
	size_t len = 0;
	int rc, unsupported, kept, dropped;
	snprintf(path, sizeof path, "%s/results.jsonl", m->out);
	int have_out = access(path, F_OK) == 0, listed = 0;
	if (!m->npaths && !have_out) { /* an empty results file would only make the report fail later */
		/* unless a shard that has recorded nothing yet is running in a source or there: say that */
		if ((rc = check_idle(m)))
			return rc;
		snprintf(path, sizeof path, "%s/.lock", m->out);
		snprintf(busy, sizeof busy, "a sweep is running in '%s' (no point recorded yet)", m->out);
		if (access(path, F_OK) == 0) {
			if ((rc = sw_lock_acquire(path, LOCK_EX, busy, &m->lock, &unsupported)))
				return rc;
			sw_lock_release(m->lock);
			m->lock = -1;
		}
		return kn_error(KN_EUSAGE, "nothing to merge (the warning above says where it looked); nothing written");
	}
	for (int i = 0; i < m->npaths; i++)
		listed |= same_file(m->paths[i], path);
	if (have_out && !listed && (rc = sw_push_path(&m->paths, &m->npaths, path)))
		return rc;
	if ((rc = sw_mkdirs_new(m->out, m->made, &m->nmade, (int)(sizeof m->made / sizeof *m->made))))
		return rc;
	snprintf(path, sizeof path, "%s/.lock", m->out);
	snprintf(busy, sizeof busy, "a sweep or another merge is running in '%s'", m->out);
	if ((rc = sw_lock_acquire(path, LOCK_EX, busy, &m->lock, &unsupported)) || (rc = check_idle(m)))
		return rc;
	/* the file about to be replaced keeps a torn tail in FILE.torn, as a sweep does */
	snprintf(path, sizeof path, "%s/results.jsonl", m->out);
	if (have_out) {
		struct sw_read_note note;
		char saved[4300];
		if ((rc = sw_results_repair(path, &note)))
			return rc;
		snprintf(saved, sizeof saved, "saved to '%s.torn'", path);
		sw_warn_torn("merge", path, &note, saved);
	}
	if ((rc = sw_results_read_all(&m->rec, m->paths, m->npaths, "merge")) ||
	    (rc = check_names(m, first_plan, sizeof first_plan)))
		return rc;
	/* the plan records are ordered by, and checked against for missing runs: DIR's own, else the one
	 * copied there; read once, and no plan (or one that does not read) orders by the records alone */
	char dir_plan[4200];
	snprintf(dir_plan, sizeof dir_plan, "%s/plan.ini", m->out);
	const char *order_plan = access(dir_plan, F_OK) == 0 ? dir_plan : first_plan;
	struct sw_plan plan;
	struct sw_grid grid = { 0 };
	sw_plan_init(&plan);
	int have_grid = order_plan[0] && sw_plan_load(&plan, order_plan, NULL, 0) == KN_OK &&
			sw_grid_expand(&grid, &plan) == KN_OK;
	rc = merged_text(m, have_grid ? &grid : NULL, &text, &len, &kept, &dropped);
	snprintf(path, sizeof path, "%s/results.jsonl", m->out);
	if (rc == KN_OK && (rc = sw_write_atomic(path, text, len)) == KN_OK)
		rc = copy_plan(first_plan, m->out);
	free(text);
	if (rc == KN_OK) {
		printf("amptune merge: %d record%s from %d file%s into '%s'; %d identical duplicate%s dropped\n", kept,
		       kept == 1 ? "" : "s", m->npaths, m->npaths == 1 ? "" : "s", path, dropped, dropped == 1 ? "" : "s");
		fflush(stdout);
		if (have_grid)
			warn_missing(m, &plan, &grid);
	}
	sw_grid_release(&grid);
	sw_plan_release(&plan);
	return rc;
}

/*
 * A failed merge leaves no directory behind that it created for --out: it removes the lock file it
 * made in DIR (while it still holds the lock: only a DIR it created itself) and then, innermost
 * first, the directories it created, as long as rmdir() finds them empty. Nothing that was there
 * before, and nothing another process put there meanwhile, is removed.
 */
static void remove_made(const struct merge *m)
{
	char path[4200];
	int own_dir = m->nmade > 0 && m->made[m->nmade - 1] == strlen(m->out);
	if (own_dir && m->lock >= 0) {
		snprintf(path, sizeof path, "%s/.lock", m->out);
		unlink(path);
	}
	for (int i = m->nmade - 1; i >= 0; i--) {
		snprintf(path, sizeof path, "%.*s", (int)m->made[i], m->out);
		if (rmdir(path))
			break;
	}
}

int cmd_merge(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, 0, 'o' },
		{ "force", no_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct merge m = { .lock = -1 };
	int opt, rc = KN_OK;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (opt == 'o' && *optarg)
			m.out = tr_trim_dir(optarg);
		else if (opt == 'f')
			m.force = 1;
		else if (opt == 'h') {
			cmd_merge_usage(stdout);
			return 0;
		} else if (opt == 'o')
			return tr_usage_error("merge", "option '--out' expects a directory, got ''");
		else if (opt == ':')
			return tr_usage_error("merge", "option '--out' needs a value");
		else {
			char msg[512];
			snprintf(msg, sizeof msg, "unknown option '%s'", argv[optind - 1]);
			return tr_usage_error("merge", msg);
		}
	}
	if (optind == argc)
		return tr_usage_error("merge", "expected a sweep directory, or sources and --out DIR");
	if (!m.out && optind + 1 < argc)
		return tr_usage_error("merge", "several sources need --out DIR");
	struct stat out_st;
	if (m.out && stat(m.out, &out_st) == 0 && !S_ISDIR(out_st.st_mode)) {
		char msg[700];
		snprintf(msg, sizeof msg, "option '--out' names '%.500s', which is a file, not a directory", m.out);
		return tr_usage_error("merge", msg);
	}
	if (!m.out) {
		struct stat st;
		char msg[700];
		if (stat(argv[optind], &st)) {
			snprintf(msg, sizeof msg, "no sweep directory '%.500s': %s", argv[optind], strerror(errno));
			return tr_usage_error("merge", msg);
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(msg, sizeof msg, "'merge DIR' expects a sweep directory; '%.500s' is a file (for files use "
						  "SRC... --out DIR)", argv[optind]);
			return tr_usage_error("merge", msg);
		}
		m.out = tr_trim_dir(argv[optind]);
	}
	sw_results_init(&m.rec);
	for (int i = optind; i < argc && rc == KN_OK; i++)
		rc = add_source(&m, argv[i]);
	if (rc == KN_OK)
		rc = merge(&m);
	if (rc) {
		fprintf(stderr, "amptune merge: %s\n", kn_last_error());
		remove_made(&m);
	}
	sw_lock_release(m.lock);
	sw_results_release(&m.rec);
	sw_free_paths(m.paths, m.npaths);
	sw_free_paths(m.dirs, m.ndirs);
	return kn_exit_code(rc, 0);
}
