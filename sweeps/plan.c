#include "sweeps/plan.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernels/error.h"
#include "reports/cost.h"
#include "sweeps/ini.h"
#include "sweeps/models.h"
#include "trainer/config.h"

enum kind { K_TEXT, K_LONG, K_DOUBLE, K_BYTES, K_SEED, K_WORDS, K_LONGS };

struct key_def {
	const char *name;
	enum kind kind;
	double lo, hi;
	size_t off, size; /* the field in struct sw_plan (scalars) */
	const char *const *words;
};

static const char *const device_words[] = { "auto", "cpu", "cuda", NULL };
static const char *const precision_words[] = { "fp32", "tf32", "fp16", "bf16", NULL };

#define FIELD(f) offsetof(struct sw_plan, f), sizeof(((struct sw_plan *)0)->f)
static const struct key_def keys[SW_NKEYS] = {
	[SW_NAME] = { "name", K_TEXT, 0, 0, FIELD(name), NULL },
	[SW_MODEL] = { "model", K_TEXT, 0, 0, FIELD(model), NULL },
	[SW_SIZE] = { "size", K_TEXT, 0, 0, FIELD(size), NULL },
	[SW_DATA] = { "data", K_TEXT, 0, 0, FIELD(data), NULL },
	[SW_STEPS] = { "steps", K_LONG, 1, 1e8, FIELD(steps), NULL },
	[SW_EPOCHS] = { "epochs", K_DOUBLE, 1e-6, 1e6, FIELD(epochs), NULL },
	[SW_WARMUP_STEPS] = { "warmup_steps", K_LONG, 0, 1e8, FIELD(warmup_steps), NULL },
	[SW_SEED] = { "seed", K_SEED, 0, 9007199254740992.0, FIELD(seed), NULL },
	[SW_REPEATS] = { "repeats", K_LONG, 1, 1000, FIELD(repeats), NULL },
	[SW_TIME_LIMIT_S] = { "time_limit_s", K_DOUBLE, 0.001, 1e7, FIELD(time_limit_s), NULL },
	[SW_DEVICE_MEM_LIMIT] = { "device_mem_limit", K_BYTES, 0, 0, FIELD(device_mem_limit), NULL },
	[SW_LR] = { "lr", K_DOUBLE, 0, 10, FIELD(lr), NULL },
	[SW_EVAL_BATCHES] = { "eval_batches", K_LONG, 0, 1000000, FIELD(eval_batches), NULL },
	[SW_THREADS] = { "threads", K_LONG, 1, 4096, FIELD(threads), NULL },
	[SW_DATA_LATENCY_US] = { "data_latency_us", K_LONG, 0, 1e7, FIELD(data_latency_us), NULL },
	[SW_DATA_COST] = { "data_cost", K_LONG, 0, 1e7, FIELD(data_cost), NULL },
	[SW_EVAL_IMAGES] = { "eval_images", K_LONG, 0, 1e8, FIELD(eval_images), NULL },
	[SW_DEVICES] = { "devices", K_WORDS, 0, 0, 0, 0, device_words },
	[SW_PRECISIONS] = { "precisions", K_WORDS, 0, 0, 0, 0, precision_words },
	[SW_BATCH_SIZES] = { "batch_sizes", K_LONGS, 1, 65536, 0, 0, NULL },
	[SW_SEQ] = { "seq", K_LONGS, 1, 1 << 20, 0, 0, NULL },
	[SW_WORKERS] = { "workers", K_LONGS, 0, 256, 0, 0, NULL },
	[SW_PREFETCH] = { "prefetch", K_LONGS, 1, 256, 0, 0, NULL },
};

static const enum sw_key required[] = { SW_NAME, SW_MODEL, SW_SIZE, SW_DATA, SW_DEVICES, SW_PRECISIONS, SW_BATCH_SIZES };

const char *sw_key_name(enum sw_key k) { return (unsigned)k < SW_NKEYS ? keys[k].name : "?"; }
int sw_plan_is_set(const struct sw_plan *p, enum sw_key k) { return p->line[k] != 0; }

const struct sw_axis *sw_plan_axis(const struct sw_plan *p, enum sw_key k)
{
	return k >= SW_FIRST_AXIS && k < SW_NKEYS ? &p->axis[k - SW_FIRST_AXIS] : NULL;
}

static void *field(struct sw_plan *p, enum sw_key k) { return (char *)p + keys[k].off; }
static const void *cfield(const struct sw_plan *p, enum sw_key k) { return (const char *)p + keys[k].off; }

void sw_plan_init(struct sw_plan *p)
{
	memset(p, 0, sizeof *p);
	p->repeats = 1;
	p->seed = 1337; /* train's default, so an unset seed runs what train runs */
}

void sw_plan_release(struct sw_plan *p)
{
	free(p->text);
	p->text = NULL;
	p->text_len = 0;
}

void sw_plan_value(const struct sw_plan *p, enum sw_key k, char *buf, size_t n)
{
	const void *f = cfield(p, k);
	switch (keys[k].kind) {
	case K_TEXT: snprintf(buf, n, "%s", (const char *)f); break;
	case K_LONG: snprintf(buf, n, "%ld", *(const long *)f); break;
	case K_DOUBLE: snprintf(buf, n, "%.15g", *(const double *)f); break;
	case K_BYTES: snprintf(buf, n, "%zu", *(const size_t *)f); break;
	case K_SEED: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)f); break;
	default: snprintf(buf, n, "%s", ""); break;
	}
}

double sw_plan_price(const struct sw_plan *p, const char *device, const char *device_name)
{
	const char *names[SW_PRICES_MAX];
	for (int i = 0; i < p->nprices; i++)
		names[i] = p->prices[i].device;
	int k = rp_price_pick(names, p->nprices, device, device_name);
	return k >= 0 ? p->prices[k].per_hour : NAN;
}

/* ---- values ---- */

static int in_words(const char *const *words, const char *v)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(words[i], v) == 0)
			return 1;
	return 0;
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
			return 0;
	return 1;
}

static int set_text(struct sw_plan *p, enum sw_key k, const char *v, char *msg, size_t n)
{
	const struct key_def *d = &keys[k];
	if (strlen(v) >= d->size) {
		snprintf(msg, n, "'%s' is longer than %zu characters", d->name, d->size - 1);
		return -1;
	}
	if (k == SW_NAME && !valid_name(v)) {
		snprintf(msg, n, "'name' expects 1 to 63 letters, digits, '.', '_' or '-', got '%s'", v);
		return -1;
	}
	if (k == SW_MODEL && !sw_find_model(v)) {
		snprintf(msg, n, "'model' expects %s, got '%s'", sw_model_list(), v);
		return -1;
	}
	snprintf(field(p, k), d->size, "%s", v);
	return 0;
}

static int set_scalar(struct sw_plan *p, enum sw_key k, const char *v, char *msg, size_t n)
{
	const struct key_def *d = &keys[k];
	long l;
	double x;
	switch (d->kind) {
	case K_TEXT:
		return set_text(p, k, v, msg, n);
	case K_LONG:
		if (tr_parse_long(d->name, v, (long)d->lo, (long)d->hi, &l))
			break;
		*(long *)field(p, k) = l;
		return 0;
	case K_DOUBLE:
		if (tr_parse_double(d->name, v, d->lo, d->hi, &x))
			break;
		*(double *)field(p, k) = x;
		return 0;
	case K_SEED:
		if (tr_parse_seed(d->name, v, field(p, k)))
			break;
		return 0;
	case K_BYTES:
		if (tr_parse_bytes(d->name, v, field(p, k))) {
			snprintf(msg, n, "'%s' expects a positive byte count such as 16G, 512MiB or 1000000, got '%s'",
				 d->name, v);
			return -1;
		}
		return 0;
	default:
		break;
	}
	if (d->kind == K_DOUBLE)
		snprintf(msg, n, "'%s' expects a number in [%g, %g], got '%s'", d->name, d->lo, d->hi, v);
	else
		snprintf(msg, n, "'%s' expects %s in [%.0f, %.0f], got '%s'", d->name,
			 d->kind == K_SEED ? "a whole number" : "an integer", d->lo, d->hi, v);
	return -1;
}

/* Parses "a, b, c" into the axis; `v` is modified. */
static int set_axis(struct sw_plan *p, enum sw_key k, char *v, char *msg, size_t n)
{
	const struct key_def *d = &keys[k];
	struct sw_axis *a = &p->axis[k - SW_FIRST_AXIS];
	char expect[96] = "";
	int nwords = 0;
	while (d->words && d->words[nwords])
		nwords++;
	sw_join_names(expect, sizeof expect, d->words, nwords, sizeof *d->words);
	a->n = 0;
	/* split by hand: strtok would skip empty values */
	for (char *item = v; item;) {
		char *comma = strchr(item, ',');
		if (comma)
			*comma = 0;
		char *next = comma ? comma + 1 : NULL;
		long l = 0;
		item = sw_trim(item);
		if (!*item) {
			snprintf(msg, n, "'%s' has an empty value", d->name);
			return -1;
		}
		if (d->words && !in_words(d->words, item)) {
			snprintf(msg, n, "'%s' expects values from %s, got '%s'", d->name, expect, item);
			return -1;
		}
		if (!d->words && tr_parse_long(d->name, item, (long)d->lo, (long)d->hi, &l)) {
			snprintf(msg, n, "'%s' expects integers in [%.0f, %.0f], got '%s'", d->name, d->lo, d->hi, item);
			return -1;
		}
		if (a->n == SW_AXIS_MAX) {
			snprintf(msg, n, "'%s' has more than %d values", d->name, SW_AXIS_MAX);
			return -1;
		}
		if (d->words)
			snprintf(a->v[a->n], SW_VALUE_MAX, "%s", item);
		else
			snprintf(a->v[a->n], SW_VALUE_MAX, "%ld", l);
		a->num[a->n] = l;
		for (int i = 0; i < a->n; i++) {
			if (strcmp(a->v[i], a->v[a->n]) == 0) {
				snprintf(msg, n, "'%s' lists '%s' twice", d->name, item);
				return -1;
			}
		}
		a->n++;
		item = next;
	}
	return 0;
}

static int set_key(struct sw_plan *p, enum sw_key k, const char *value, char *msg, size_t n)
{
	char buf[1024];
	if (strlen(value) >= sizeof buf) { /* no value fits in fewer: data paths take 511 */
		snprintf(msg, n, "'%s' is longer than %zu characters", keys[k].name, sizeof buf - 1);
		return -1;
	}
	snprintf(buf, sizeof buf, "%s", value);
	char *v = sw_trim(buf);
	if (!*v) {
		snprintf(msg, n, "'%s' is empty", keys[k].name);
		return -1;
	}
	return k >= SW_FIRST_AXIS ? set_axis(p, k, v, msg, n) : set_scalar(p, k, v, msg, n);
}

/* A [prices] entry; an override (line < 0) replaces, a second file line is an error. */
static int set_price(struct sw_plan *p, const char *device, const char *value, int line, char *msg, size_t n)
{
	double x;
	int i = 0;
	if (!*device || strlen(device) >= sizeof p->prices[0].device) {
		snprintf(msg, n, "a [prices] key must name a device in 1 to %zu characters",
			 sizeof p->prices[0].device - 1);
		return -1;
	}
	/* as the report reads prices: above 0 (a cost of 0 would make every ratio of costs meaningless) */
	if (tr_parse_double(device, value, 0, 1e6, &x) || x <= 0) {
		snprintf(msg, n, "price for '%s' expects dollars per hour in (0, 1e+06], got '%s'", device, value);
		return -1;
	}
	while (i < p->nprices && strcmp(p->prices[i].device, device) != 0)
		i++;
	if (i < p->nprices && line > 0) {
		snprintf(msg, n, "price for '%s' is set twice (first on line %d)", device, p->prices[i].line);
		return -1;
	}
	if (i == SW_PRICES_MAX) {
		snprintf(msg, n, "[prices] has more than %d devices", SW_PRICES_MAX);
		return -1;
	}
	if (i == p->nprices)
		p->nprices++;
	snprintf(p->prices[i].device, sizeof p->prices[i].device, "%s", device);
	p->prices[i].per_hour = x;
	p->prices[i].line = line;
	return 0;
}

static int find_key(const char *name)
{
	for (int k = 0; k < SW_NKEYS; k++)
		if (strcmp(keys[k].name, name) == 0)
			return k;
	return -1;
}

/* ---- the INI file ---- */

struct parser {
	struct sw_plan *p;
	int err_line;
	char err[768];
};

static void fail(struct parser *ps, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct parser *ps, int line, const char *fmt, ...)
{
	if (ps->err_line && ps->err_line <= line)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->err, sizeof ps->err, fmt, ap);
	va_end(ap);
	ps->err_line = line;
}

static void on_error(void *user, int line, const char *msg) { fail(user, line, "%s", msg); }

static void on_section(void *user, const char *name, int line)
{
	struct parser *ps = user;
	if (strcmp(name, "sweep") == 0) {
		if (!ps->p->sweep_line)
			ps->p->sweep_line = line;
	} else if (strcmp(name, "prices") != 0) {
		fail(ps, line, "unknown section [%s] (expected [sweep] or [prices])", name);
	}
}

static void on_key(void *user, const char *section, const char *name, const char *value, int line)
{
	struct parser *ps = user;
	struct sw_plan *p = ps->p;
	char msg[640];
	if (strcmp(section, "prices") == 0) {
		if (set_price(p, name, value, line, msg, sizeof msg))
			fail(ps, line, "%s", msg);
		return;
	}
	if (strcmp(section, "sweep") != 0) {
		if (!*section)
			fail(ps, line, "key '%s' is outside a section", name);
		return; /* an unknown section was reported at its header */
	}
	int k = find_key(name);
	if (k < 0)
		fail(ps, line, "unknown key '%s' in [sweep]", name);
	else if (p->line[k])
		fail(ps, line, "key '%s' is set twice (first on line %d)", name, p->line[k]);
	else if (set_key(p, (enum sw_key)k, value, msg, sizeof msg))
		fail(ps, line, "%s", msg);
	else
		p->line[k] = line;
}

/* ---- --set overrides ---- */

/* Prints s on one line: a line break as \n or \r, so that it cannot end a comment line early. */
static void put_text(FILE *out, const char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			fprintf(out, "\\%c", *s == '\n' ? 'n' : 'r');
		else
			fputc(*s, out);
}

static int set_error(const char *set, const char *msg)
{
	char shown[2200] = "";
	FILE *f = fmemopen(shown, sizeof shown - 1, "w");
	if (f) {
		put_text(f, set);
		fclose(f);
	}
	return kn_error(KN_EUSAGE, "--set '%s': %s", shown, msg);
}

/*
 * An override is written to DIR/plan.ini as "key = value", and that copy must read back to the
 * same plan (sw_ini_read()): a value cannot hold a line break (the rest would be a line of its
 * own) or ';' after white space (an inline comment, cut off); a [prices] key (device, or NULL)
 * cannot hold a line break or ':', nor start with '[', ';' or '#'. Such values are refused
 * rather than escaped: the reader knows no quoting, and a plan file cannot hold them either.
 */
static int unwritable(const char *device, const char *value, char *msg, size_t n)
{
	const char *why = NULL, *cannot = "which a plan file (and so the copy DIR/plan.ini) cannot hold";
	for (const char *c = value; *c && !why; c++) {
		if (*c == '\n' || *c == '\r') {
			why = "the value holds a line break";
		} else if (*c == ';' && c > value && isspace((unsigned char)c[-1])) {
			why = "the value holds ';' after white space";
			cannot = "which starts a comment in a plan file (and so in the copy DIR/plan.ini)";
		}
	}
	if (!why && device && strpbrk(device, "\n\r"))
		why = "the [prices] key holds a line break";
	else if (!why && device && strchr(device, ':'))
		why = "the [prices] key holds ':'";
	else if (!why && device && *device && strchr("[;#", *device))
		why = "the [prices] key starts with '[', ';' or '#'";
	if (why)
		snprintf(msg, n, "%s, %s", why, cannot);
	return why != NULL;
}

static int apply_set(struct sw_plan *p, const char *set, int index)
{
	char buf[1024], msg[640];
	if (strlen(set) >= sizeof buf)
		return kn_error(KN_EUSAGE, "--set '%.40s...': longer than %zu characters", set, sizeof buf - 1);
	snprintf(buf, sizeof buf, "%s", set);
	char *eq = strchr(buf, '=');
	if (!eq)
		return kn_error(KN_EUSAGE, "--set '%s': expected key=value", set);
	*eq = 0;
	char *key = sw_trim(buf), *value = sw_trim(eq + 1);
	if (unwritable(strncmp(key, "prices.", 7) == 0 ? sw_trim(key + 7) : NULL, value, msg, sizeof msg))
		return set_error(set, msg);
	if (strncmp(key, "prices.", 7) == 0) {
		if (set_price(p, sw_trim(key + 7), value, -1 - index, msg, sizeof msg))
			return kn_error(KN_EUSAGE, "--set '%s': %s", set, msg);
		return KN_OK;
	}
	if (strncmp(key, "sweep.", 6) == 0)
		key += 6;
	int k = find_key(key);
	if (k < 0)
		return kn_error(KN_EUSAGE, "--set '%s': unknown key '%s'", set, key);
	if (set_key(p, (enum sw_key)k, value, msg, sizeof msg))
		return kn_error(KN_EUSAGE, "--set '%s': %s", set, msg);
	p->line[k] = -1 - index;
	/* steps and epochs exclude each other: the later setting wins */
	if (k == SW_STEPS && p->line[SW_EPOCHS])
		p->line[SW_EPOCHS] = 0, p->epochs = 0;
	if (k == SW_EPOCHS && p->line[SW_STEPS])
		p->line[SW_STEPS] = 0, p->steps = 0;
	return KN_OK;
}

/* ---- checks across keys ---- */

/* "FILE:LINE" for a key's line, or "--set 'k=v'" for an override. */
static const char *where(const struct sw_plan *p, int line, char *const *set, char *buf, size_t n)
{
	if (line < 0)
		snprintf(buf, n, "--set '%s'", set[-1 - line]);
	else if (line > 0)
		snprintf(buf, n, "%s:%d", p->file, line);
	else
		snprintf(buf, n, "%s", p->file);
	return buf;
}

#define CHECK_FAIL(line, ...)                                                                           \
	do {                                                                                            \
		char at_[600], m_[768];                                                                 \
		snprintf(m_, sizeof m_, __VA_ARGS__);                                                   \
		return kn_error(KN_EUSAGE, "%s: %s", where(p, (line), set, at_, sizeof at_), m_);      \
	} while (0)

static int check_plan(struct sw_plan *p, char *const *set)
{
	if (!p->sweep_line)
		CHECK_FAIL(0, "no [sweep] section");
	for (size_t i = 0; i < sizeof required / sizeof *required; i++)
		if (!p->line[required[i]])
			CHECK_FAIL(p->sweep_line, "[sweep] is missing '%s'", keys[required[i]].name);
	if (p->line[SW_STEPS] && p->line[SW_EPOCHS])
		CHECK_FAIL(p->line[SW_EPOCHS], "'steps' and 'epochs' cannot both be set (steps on line %d)",
			   p->line[SW_STEPS]);
	if (!p->line[SW_STEPS] && !p->line[SW_EPOCHS])
		CHECK_FAIL(p->sweep_line, "[sweep] is missing 'steps' or 'epochs'");
	const struct sw_model *m = sw_find_model(p->model);
	int context = 0;
	if (m->check_size && m->check_size(p->size, &context))
		CHECK_FAIL(p->line[SW_SIZE], "%s", kn_last_error());
	/* a given warm-up must leave steps timed; train lowers its default for a short run itself */
	if (p->line[SW_STEPS] && p->line[SW_WARMUP_STEPS] && p->warmup_steps >= p->steps)
		CHECK_FAIL(p->line[SW_WARMUP_STEPS], "'warmup_steps' (%ld) must be below 'steps' (%ld)", p->warmup_steps,
			   p->steps);
	if (!m->token_model && p->line[SW_SEQ])
		CHECK_FAIL(p->line[SW_SEQ], "'seq' does not apply to model '%s'", p->model);
	if (!m->token_model && p->line[SW_EVAL_BATCHES])
		CHECK_FAIL(p->line[SW_EVAL_BATCHES], "'eval_batches' does not apply to model '%s'", p->model);
	if (m->token_model && p->line[SW_EVAL_IMAGES])
		CHECK_FAIL(p->line[SW_EVAL_IMAGES], "'eval_images' does not apply to model '%s'", p->model);
	const struct sw_axis *seq = sw_plan_axis(p, SW_SEQ);
	for (int i = 0; context && i < seq->n; i++)
		if (seq->num[i] > context)
			CHECK_FAIL(p->line[SW_SEQ], "'seq' value %ld exceeds the context of %s '%s' (%d)", seq->num[i],
				   p->model, p->size, context);
	return KN_OK;
}

int sw_plan_parse(struct sw_plan *p, const char *label, const char *text, size_t len, char *const *set, int nset)
{
	struct parser ps = { .p = p };
	int rc;
	snprintf(p->file, sizeof p->file, "%s", label);
	const struct sw_ini_reader r = { &ps, on_section, on_key, on_error };
	if (sw_ini_read(text, len, &r))
		return kn_error(KN_ENOMEM, "out of memory parsing '%s'", label);
	if (ps.err_line)
		return kn_error(KN_EUSAGE, "%s:%d: %s", label, ps.err_line, ps.err);
	for (int i = 0; i < nset; i++)
		if ((rc = apply_set(p, set[i], i)))
			return rc;
	return check_plan(p, set);
}

int sw_plan_load(struct sw_plan *p, const char *path, char *const *set, int nset)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return kn_error(KN_EUSAGE, "cannot read plan '%s': %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		char *grown = cap < (1u << 24) ? realloc(buf, cap * 2) : NULL;
		if (!grown) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = grown;
		cap *= 2;
	}
	int bad = ferror(f);
	fclose(f);
	if (!buf)
		return kn_error(KN_EUSAGE, "cannot read plan '%s': larger than 16 MiB or out of memory", path);
	if (bad) {
		struct stat st;
		free(buf);
		return kn_error(KN_EUSAGE, "cannot read plan '%s': %s", path,
				stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? "it is a directory, not a plan file" : "read error");
	}
	buf[n] = 0;
	free(p->text);
	p->text = buf;
	p->text_len = n;
	return sw_plan_parse(p, path, buf, n, set, nset);
}

/* ---- the effective plan ---- */

/*
 * The copy's format, DIR/plan.ini:
 *
 *	; plan 'NAME' as run by amptune sweep, from 'FROM' with --set 'k=v' ...
 *	; (the effective settings; the original file follows as comments)
 *	[sweep]
 *	key = value                      every key set, overrides applied
 *	[prices]                         (when there are prices)
 *	device = dollars
 *
 *	; original 'FROM':
 *	;| each line of FROM, as it was
 *
 * A plan is taken for such a copy only when its first two lines are this header (COPY_NOTE the
 * second, exactly); then only its trailing "original block" is passed on: the last line that is
 * "; original '...':" and the ";|" lines (and empty lines) after it, up to the end. That block is
 * comment lines only, so nothing in a plan — a user's comment that reads "; original '...'", a
 * copy edited by hand — can reach a copy as settings. Anything else, a copy without such a block
 * included, is an original: every line of it is written as a ";| " comment. Copies written before
 * this rule have the same format and are read the same way.
 */
#define COPY_NOTE "; (the effective settings; the original file follows as comments)\n"

/* In a copy that sw_plan_write() made, its original block (see above); else NULL. */
static const char *original_block(const char *text, size_t len)
{
	const char *end = text + len, *nl = memchr(text, '\n', len), *block = NULL;
	if (len < 8 || memcmp(text, "; plan '", 8) != 0 || !nl || (size_t)(end - nl - 1) < strlen(COPY_NOTE) ||
	    memcmp(nl + 1, COPY_NOTE, strlen(COPY_NOTE)) != 0)
		return NULL;
	for (const char *s = nl + 1; s < end;) {
		const char *e = memchr(s, '\n', (size_t)(end - s));
		size_t n = e ? (size_t)(e - s) : (size_t)(end - s);
		if (n >= 14 && memcmp(s, "; original '", 12) == 0 && memcmp(s + n - 2, "':", 2) == 0)
			block = s;
		else if (n > 0 && (n < 2 || memcmp(s, ";|", 2) != 0))
			block = NULL;
		s = e ? e + 1 : end;
	}
	return block;
}

int sw_plan_write(const struct sw_plan *p, FILE *out, const char *from, char *const *set, int nset)
{
	char v[600];
	fprintf(out, "; plan '%s' as run by amptune sweep, from '", p->name);
	put_text(out, from);
	fprintf(out, "'");
	for (int i = 0; i < nset; i++) {
		fprintf(out, "%s--set '", i == 0 ? " with " : " ");
		put_text(out, set[i]);
		fprintf(out, "'");
	}
	fprintf(out, "\n%s[sweep]\n", COPY_NOTE);
	for (int k = 0; k < SW_NKEYS; k++) {
		if (!p->line[k])
			continue;
		if (k < SW_FIRST_AXIS) {
			/* a value starting with ';' follows the '=' at once: after white space it would be a comment */
			sw_plan_value(p, (enum sw_key)k, v, sizeof v);
			fprintf(out, "%s =%s%s\n", keys[k].name, v[0] == ';' ? "" : " ", v);
			continue;
		}
		const struct sw_axis *a = sw_plan_axis(p, (enum sw_key)k);
		fprintf(out, "%s =", keys[k].name);
		for (int i = 0; i < a->n; i++)
			fprintf(out, "%s %s", i ? "," : "", a->v[i]);
		fprintf(out, "\n");
	}
	if (p->nprices)
		fprintf(out, "\n[prices]\n");
	for (int i = 0; i < p->nprices; i++)
		fprintf(out, "%s = %.15g\n", p->prices[i].device, p->prices[i].per_hour);
	/* a plan that is itself such a copy passes its original on as it is */
	const char *block = p->text ? original_block(p->text, p->text_len) : NULL;
	if (block) {
		size_t n = (size_t)(p->text + p->text_len - block);
		fprintf(out, "\n%.*s%s", (int)n, block, block[n - 1] == '\n' ? "" : "\n");
	} else if (p->text) {
		fprintf(out, "\n; original '");
		put_text(out, from);
		fprintf(out, "':\n");
		for (const char *s = p->text; s < p->text + p->text_len;) {
			const char *nl = memchr(s, '\n', (size_t)(p->text + p->text_len - s));
			size_t len = nl ? (size_t)(nl - s) : (size_t)(p->text + p->text_len - s);
			fprintf(out, ";| %.*s\n", (int)len, s);
			s += len + 1;
		}
	}
	return ferror(out) ? -1 : 0;
}
