#include "reports/results.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernels/error.h"
#include "reports/runs.h"
#include "sweeps/ini.h"

void rp_results_release(struct rp_results *res)
{
	for (int i = 0; i < res->n; i++)
		rp_record_release(&res->recs[i]);
	free(res->recs);
	free(res->lines);
	free(res->group);
	res->recs = NULL;
	res->lines = NULL;
	res->group = NULL;
	res->n = res->cap = res->ngroups = 0;
}

/* The configuration repeats of a point share. A 0 in batch, seq, prefetch or
 * steps is a value the run never resolved (a record written before train
 * resolved its default, or steps from epochs), so it matches any other;
 * workers 0 is a setting (no loader threads), except in a record whose backend
 * never opened (no device_name): a sweep made it from the plan, and older
 * sweeps wrote 0 there for workers the plan left unset.
 * Device is not compared: a sweep's record of a point that never started says
 * "auto" where a run says "cuda". */
enum config_type { C_STR, C_INT, C_LONG, C_U64 };

static const struct config_field {
	const char *name;
	enum config_type type;
	size_t off;
	int zero_unresolved; /* 1: always; 2: in a record whose backend never opened */
} config_fields[] = {
#define CFG(name, type, zero) { #name, type, offsetof(struct rp_record, name), zero }
	CFG(model, C_STR, 0), CFG(size, C_STR, 0), CFG(dataset, C_STR, 0), CFG(precision, C_STR, 0),
	CFG(batch, C_INT, 1), CFG(seq, C_INT, 1), CFG(workers, C_INT, 2), CFG(prefetch, C_INT, 1),
	CFG(seed, C_U64, 0), CFG(steps, C_LONG, 1),
#undef CFG
};

/* The field's value as text ("'tiny'" or "16"); *unresolved set for a 0 that stands for none. */
static void config_value(const struct rp_record *r, const struct config_field *f, char *buf, size_t n,
			 int *unresolved)
{
	const char *p = (const char *)r + f->off;
	unsigned long long v = f->type == C_INT ? (unsigned long long)*(const int *)p
			      : f->type == C_LONG ? (unsigned long long)*(const long *)p
			      : f->type == C_U64 ? (unsigned long long)*(const uint64_t *)p : 0;
	if (f->type == C_STR)
		snprintf(buf, n, "'%s'", p);
	else
		snprintf(buf, n, "%llu", v);
	*unresolved = (f->zero_unresolved == 1 || (f->zero_unresolved == 2 && !r->device_name[0])) &&
		      f->type != C_STR && v == 0;
}

#define N_CONFIG (sizeof config_fields / sizeof *config_fields)

/* 1 when field i of `b` disagrees with `a`'s, with "batch 8, not 4" in `what`. */
static int field_differs(const struct rp_record *a, const struct rp_record *b, size_t i, char *what, size_t n)
{
	char va[600], vb[600];
	int ua, ub;
	config_value(a, &config_fields[i], va, sizeof va, &ua);
	config_value(b, &config_fields[i], vb, sizeof vb, &ub);
	if (ua || ub || strcmp(va, vb) == 0)
		return 0;
	snprintf(what, n, "%s %s, not %s", config_fields[i].name, vb, va);
	return 1;
}

int rp_config_differs(const struct rp_record *a, const struct rp_record *b, char *what, size_t n)
{
	for (size_t i = 0; i < N_CONFIG; i++)
		if (field_differs(a, b, i, what, n))
			return 1;
	return 0;
}

/*
 * The ids read so far, hashed, so each record is checked against its earlier
 * repeats in constant time. A group keeps, per configuration field, the first
 * record that resolved it: agreeing with those is agreeing with every earlier
 * repeat, since they all agree with each other.
 */
struct repeat_group {
	int first;          /* the id's first record */
	int rec[N_CONFIG];  /* per field, the first record that resolved it; -1: none yet */
};

struct id_index {
	int *slots;         /* group index; -1 empty; a power of two, above twice ngroups */
	size_t nslots;
	struct repeat_group *groups;
	int ngroups, cap;
};

static void id_index_release(struct id_index *ix)
{
	free(ix->slots);
	free(ix->groups);
	memset(ix, 0, sizeof *ix);
}

static size_t id_hash(const char *id)
{
	uint64_t h = rp_fnv1a(RP_FNV1A_BASIS, id, strlen(id));
	return (size_t)(h ^ (h >> 29));
}

/* The slot of `id`'s group, or the empty slot where it would go. */
static int *id_slot(const struct id_index *ix, const struct rp_record *recs, const char *id)
{
	size_t mask = ix->nslots - 1;
	for (size_t s = id_hash(id) & mask;; s = (s + 1) & mask) {
		int g = ix->slots[s];
		if (g < 0 || strcmp(recs[ix->groups[g].first].id, id) == 0)
			return &ix->slots[s];
	}
}

/* Record i's group, created when i is its id's first record; NULL on OOM. */
static struct repeat_group *id_group(struct id_index *ix, const struct rp_record *recs, int i)
{
	if (2 * ((size_t)ix->ngroups + 1) > ix->nslots) {
		size_t nslots = ix->nslots ? 2 * ix->nslots : 256;
		int *slots = malloc(nslots * sizeof *slots);
		if (!slots)
			return NULL;
		for (size_t k = 0; k < nslots; k++)
			slots[k] = -1;
		free(ix->slots);
		ix->slots = slots;
		ix->nslots = nslots;
		for (int g = 0; g < ix->ngroups; g++)
			*id_slot(ix, recs, recs[ix->groups[g].first].id) = g;
	}
	int *slot = id_slot(ix, recs, recs[i].id);
	if (*slot >= 0)
		return &ix->groups[*slot];
	if (ix->ngroups == ix->cap) {
		int cap = ix->cap ? 2 * ix->cap : 64;
		struct repeat_group *groups = realloc(ix->groups, (size_t)cap * sizeof *groups);
		if (!groups)
			return NULL;
		ix->groups = groups;
		ix->cap = cap;
	}
	struct repeat_group *g = &ix->groups[ix->ngroups];
	g->first = i;
	for (size_t k = 0; k < N_CONFIG; k++)
		g->rec[k] = -1;
	*slot = ix->ngroups++;
	return g;
}

/* Checks record i against the earlier repeats of its id, then notes what it resolves. */
static int check_repeat(struct rp_results *res, struct id_index *ix, int i)
{
	const struct rp_record *r = &res->recs[i];
	struct repeat_group *g = id_group(ix, res->recs, i);
	char what[1300];
	if (!g)
		return kn_error(KN_ERR, "out of memory reading '%s'", res->path);
	res->group[i] = (int)(g - ix->groups);
	res->ngroups = ix->ngroups;
	for (size_t k = 0; k < N_CONFIG; k++) {
		int ref = g->rec[k];
		if (ref >= 0 && field_differs(&res->recs[ref], r, k, what, sizeof what))
			return kn_error(KN_EDATA, "id '%s' repeats with %s as on line %ld", r->id, what, res->lines[ref]);
	}
	for (size_t k = 0; k < N_CONFIG; k++) {
		char v[600];
		int unresolved;
		config_value(r, &config_fields[k], v, sizeof v, &unresolved);
		if (g->rec[k] < 0 && !unresolved)
			g->rec[k] = i;
	}
	return KN_OK;
}

/* The whole stream into a NUL-terminated buffer. */
static int slurp(FILE *f, const char *path, char **out, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *s = malloc(cap);
	if (!s)
		return kn_error(KN_ERR, "out of memory reading '%s'", path);
	for (;;) {
		if (n + 1 >= cap) {
			char *t = realloc(s, cap * 2);
			if (!t) {
				free(s);
				return kn_error(KN_ERR, "out of memory reading '%s'", path);
			}
			s = t;
			cap *= 2;
		}
		size_t got = fread(s + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(s);
		return kn_error(KN_EDATA, "cannot read '%s': %s", path, strerror(errno));
	}
	s[n] = 0;
	*out = s;
	*len = n;
	return KN_OK;
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* What reading a file keeps beside the records: the indexes of ids and runs, and each record's line. */
struct reading {
	struct id_index ids;
	struct rp_run_index runs;
	const char **text; /* record i's line: text[i], len[i] bytes */
	size_t *len;
};

static struct rp_run record_run(const void *ctx, int i)
{
	return rp_record_run(&((const struct rp_results *)ctx)->recs[i]);
}

static int grow(struct rp_results *res, struct reading *rd)
{
	int cap = res->cap ? res->cap * 2 : 64;
	struct rp_record *r = realloc(res->recs, (size_t)cap * sizeof *r);
	if (r)
		res->recs = r;
	long *lines = r ? realloc(res->lines, (size_t)cap * sizeof *lines) : NULL;
	if (lines)
		res->lines = lines;
	int *group = lines ? realloc(res->group, (size_t)cap * sizeof *group) : NULL;
	if (group)
		res->group = group;
	const char **text = group ? realloc(rd->text, (size_t)cap * sizeof *text) : NULL;
	if (text)
		rd->text = text;
	size_t *len = text ? realloc(rd->len, (size_t)cap * sizeof *len) : NULL;
	if (!len)
		return kn_error(KN_ERR, "out of memory reading '%s'", res->path);
	rd->len = len;
	res->cap = cap;
	return KN_OK;
}

/* Record i against an earlier record of its run (rp_run_twice): *dup set when it is the same line. */
static int check_run(struct rp_results *res, struct reading *rd, int i, int *dup)
{
	int first = rp_run_add(&rd->runs, res, i);
	char at_a[4200], at_b[4200];
	*dup = 0;
	if (first < 0)
		return KN_ERR;
	if (first == i)
		return KN_OK;
	snprintf(at_a, sizeof at_a, "%s:%ld", res->path, res->lines[first]);
	snprintf(at_b, sizeof at_b, "%s:%ld", res->path, res->lines[i]);
	*dup = 1;
	return rp_run_twice(record_run(res, i), rd->text[first], rd->len[first], at_a, rd->text[i], rd->len[i], at_b,
			    " (one run measured twice: remove one of them; 'amptune merge' combines results "
			    "files, keeping a run recorded twice with the same line once)");
}

static int add_record(struct rp_results *res, struct reading *rd, const char *line, size_t len, long lineno)
{
	if (res->n == res->cap && grow(res, rd))
		return KN_ERR;
	struct rp_record *r = &res->recs[res->n];
	if (rp_record_init(r)) {
		rp_record_release(r);
		return kn_error(KN_ERR, "out of memory reading '%s'", res->path);
	}
	int rc = rp_record_parse(r, line, len), dup = 0;
	if (rc) {
		rp_record_release(r);
		return rc;
	}
	res->lines[res->n] = lineno;
	rd->text[res->n] = line;
	rd->len[res->n] = len;
	rc = check_run(res, rd, res->n, &dup);
	if (rc || dup) { /* a run recorded twice with the same line is read once */
		rp_record_release(r);
		return rc;
	}
	res->n++;
	return check_repeat(res, &rd->ids, res->n - 1);
}

static int parse_lines(struct rp_results *res, const char *text, size_t len)
{
	struct reading rd = { .runs.key = record_run };
	long lineno = 0;
	int rc = KN_OK;
	const char *p = text, *end = text + len;
	while (p < end && rc == KN_OK) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		if (!blank(p, n)) {
			rc = add_record(res, &rd, p, n, lineno);
			if (rc && !nl && strstr(kn_last_error(), "not JSON") == kn_last_error()) {
				res->torn_line = lineno; /* an append cut short: ignored, reported */
				rc = KN_OK;
				break;
			}
			if (rc) {
				char msg[1024];
				snprintf(msg, sizeof msg, "%s", kn_last_error());
				rc = kn_error(rc, "%s:%ld: %s", res->path, lineno, msg);
			}
		}
		p += n + 1;
	}
	id_index_release(&rd.ids);
	rp_run_index_release(&rd.runs);
	free(rd.text);
	free(rd.len);
	if (rc == KN_OK && res->n == 0)
		rc = kn_error(KN_EDATA, "'%s' holds no records%s", res->path, res->torn_line ? " (only a torn line)" : "");
	return rc;
}

struct plan_reader {
	struct rp_results *res;
	int err_line;
	char err[160];
};

static void plan_section(void *user, const char *name, int line) { (void)user, (void)name, (void)line; }

static void plan_error(void *user, int line, const char *msg)
{
	struct plan_reader *pr = user;
	if (!pr->err_line) {
		pr->err_line = line;
		snprintf(pr->err, sizeof pr->err, "%s", msg);
	}
}

static void plan_key(void *user, const char *section, const char *name, const char *value, int line)
{
	struct plan_reader *pr = user;
	struct rp_results *res = pr->res;
	if (strcmp(section, "sweep") == 0 && strcmp(name, "name") == 0)
		snprintf(res->name, sizeof res->name, "%s", value);
	if (strcmp(section, "prices") == 0) {
		if (res->n_plan_prices == RP_MAX_PLAN_PRICES) {
			plan_error(user, line, "more than 64 [prices] entries");
			return;
		}
		struct rp_plan_price *p = &res->plan_prices[res->n_plan_prices++];
		snprintf(p->device, sizeof p->device, "%s", name);
		snprintf(p->value, sizeof p->value, "%s", value);
		p->line = line;
	}
}

static void base_name(char *out, size_t n, const char *path)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	snprintf(out, n, "%.*s", (int)(len - start), path + start);
}

static int read_plan(struct rp_results *res)
{
	struct stat st;
	snprintf(res->plan_path, sizeof res->plan_path, "%s/plan.ini", res->dir);
	if (stat(res->plan_path, &st) != 0) {
		res->plan_path[0] = 0;
		return KN_OK;
	}
	FILE *f = fopen(res->plan_path, "rb");
	if (!f)
		return kn_error(KN_EUSAGE, "cannot read '%s': %s", res->plan_path, strerror(errno));
	char *text;
	size_t len;
	int rc = slurp(f, res->plan_path, &text, &len);
	fclose(f);
	if (rc) { /* a plan.ini that cannot be read is a broken sweep directory, as one that does not parse */
		char msg[600];
		snprintf(msg, sizeof msg, "%s", kn_last_error());
		return kn_error(KN_EUSAGE, "%s", msg);
	}
	struct plan_reader pr = { .res = res };
	const struct sw_ini_reader r = { &pr, plan_section, plan_key, plan_error };
	int oom = sw_ini_read(text, len, &r);
	free(text);
	if (oom)
		return kn_error(KN_ENOMEM, "out of memory reading '%s'", res->plan_path);
	if (pr.err_line)
		return kn_error(KN_EUSAGE, "%s:%d: %s", res->plan_path, pr.err_line, pr.err);
	return KN_OK;
}

int rp_results_load(struct rp_results *res, const char *path)
{
	struct stat st;
	FILE *f;
	memset(res, 0, sizeof *res);
	if (strcmp(path, "-") == 0) {
		snprintf(res->path, sizeof res->path, "-");
		snprintf(res->name, sizeof res->name, "stdin");
		f = stdin;
	} else {
		if (stat(path, &st) != 0)
			return kn_error(KN_EUSAGE, "'%s': %s", path, strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			snprintf(res->dir, sizeof res->dir, "%s", path);
			if (snprintf(res->path, sizeof res->path, "%s/results.jsonl", path) >= (int)sizeof res->path)
				return kn_error(KN_EUSAGE, "path '%s' is too long", path);
			if (stat(res->path, &st) != 0) {
				char shards[4200];
				snprintf(shards, sizeof shards, "%s/shards", path);
				if (stat(shards, &st) == 0 && S_ISDIR(st.st_mode))
					return kn_error(KN_EDATA, "'%s' has no results.jsonl: its shards are not merged yet "
								  "(run 'amptune merge %s')",
							path, path);
				return kn_error(KN_EDATA, "'%s' has no results.jsonl (not a sweep directory, or no point finished)",
						path);
			}
		} else {
			snprintf(res->path, sizeof res->path, "%s", path);
		}
		base_name(res->name, sizeof res->name, res->dir[0] ? res->dir : res->path);
		f = fopen(res->path, "rb");
		if (!f)
			return kn_error(KN_EDATA, "cannot open '%s': %s", res->path, strerror(errno));
	}
	char *text = NULL;
	size_t len = 0;
	int rc = slurp(f, res->path, &text, &len);
	if (f != stdin)
		fclose(f);
	if (rc == KN_OK)
		rc = parse_lines(res, text, len);
	free(text);
	if (rc == KN_OK && res->dir[0])
		rc = read_plan(res);
	if (rc)
		rp_results_release(res);
	return rc;
}
