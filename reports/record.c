#include "reports/record.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/error.h"
#include "kernels/precision.h"

int rp_record_init(struct rp_record *r)
{
	memset(r, 0, sizeof *r);
	double *nums[] = { &r->step_ms_p50, &r->step_ms_p95, &r->samples_per_sec, &r->tokens_per_sec,
			   &r->flops_per_step, &r->mfu, &r->epoch_s, &r->peak_device_bytes,
			   &r->peak_device_bytes_driver, &r->peak_host_bytes, &r->pinned_bytes, &r->initial_loss,
			   &r->final_loss, &r->eval_loss, &r->eval_accuracy, &r->data_wait_frac };
	for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
		*nums[i] = NAN;
	r->loader = cJSON_CreateObject();
	r->versions = cJSON_CreateObject();
	r->extra = cJSON_CreateObject();
	return r->loader && r->versions && r->extra ? 0 : -1;
}

void rp_record_release(struct rp_record *r)
{
	free(r->loss_curve);
	cJSON_Delete(r->loader);
	cJSON_Delete(r->versions);
	cJSON_Delete(r->extra);
	r->loss_curve = NULL;
	r->loader = r->versions = r->extra = NULL;
}

int rp_record_add_loss(struct rp_record *r, long step, double loss)
{
	if (r->n_loss_curve == r->cap_loss_curve) {
		int cap = r->cap_loss_curve ? 2 * r->cap_loss_curve : 64;
		struct rp_loss_point *p = realloc(r->loss_curve, (size_t)cap * sizeof *p);
		if (!p)
			return -1;
		r->loss_curve = p;
		r->cap_loss_curve = cap;
	}
	r->loss_curve[r->n_loss_curve++] = (struct rp_loss_point){ step, loss };
	return 0;
}

static void add_num(cJSON *o, const char *k, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

cJSON *rp_record_to_json(const struct rp_record *r)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "schema_version", RP_SCHEMA_VERSION);
	cJSON_AddStringToObject(o, "id", r->id);
	cJSON_AddStringToObject(o, "status", r->status);
	cJSON_AddStringToObject(o, "message", r->message);
	cJSON_AddStringToObject(o, "model", r->model);
	cJSON_AddStringToObject(o, "size", r->size);
	cJSON_AddStringToObject(o, "dataset", r->dataset);
	cJSON_AddStringToObject(o, "device", r->device);
	cJSON_AddStringToObject(o, "device_name", r->device_name);
	cJSON_AddStringToObject(o, "precision", r->precision);
	cJSON_AddNumberToObject(o, "batch", r->batch);
	cJSON_AddNumberToObject(o, "seq", r->seq);
	cJSON_AddNumberToObject(o, "workers", r->workers);
	cJSON_AddNumberToObject(o, "prefetch", r->prefetch);
	cJSON_AddNumberToObject(o, "seed", (double)r->seed);
	cJSON_AddNumberToObject(o, "steps", (double)r->steps);
	add_num(o, "step_ms_p50", r->step_ms_p50);
	add_num(o, "step_ms_p95", r->step_ms_p95);
	add_num(o, "samples_per_sec", r->samples_per_sec);
	add_num(o, "tokens_per_sec", r->tokens_per_sec);
	add_num(o, "flops_per_step", r->flops_per_step);
	add_num(o, "mfu", r->mfu);
	add_num(o, "epoch_s", r->epoch_s);
	cJSON_AddBoolToObject(o, "epoch_s_extrapolated", r->epoch_s_extrapolated);
	add_num(o, "peak_device_bytes", r->peak_device_bytes);
	add_num(o, "peak_device_bytes_driver", r->peak_device_bytes_driver);
	add_num(o, "peak_host_bytes", r->peak_host_bytes);
	add_num(o, "pinned_bytes", r->pinned_bytes);
	cJSON *curve = cJSON_AddArrayToObject(o, "loss_curve");
	for (int i = 0; curve && i < r->n_loss_curve; i++) {
		cJSON *pt = cJSON_CreateArray();
		cJSON_AddItemToArray(pt, cJSON_CreateNumber((double)r->loss_curve[i].step));
		cJSON_AddItemToArray(pt, isfinite(r->loss_curve[i].loss) ? cJSON_CreateNumber(r->loss_curve[i].loss)
									   : cJSON_CreateNull());
		cJSON_AddItemToArray(curve, pt);
	}
	add_num(o, "initial_loss", r->initial_loss);
	add_num(o, "final_loss", r->final_loss);
	add_num(o, "eval_loss", r->eval_loss);
	add_num(o, "eval_accuracy", r->eval_accuracy);
	add_num(o, "data_wait_frac", r->data_wait_frac);
	cJSON_AddItemToObject(o, "loader", cJSON_Duplicate(r->loader, 1));
	cJSON_AddNumberToObject(o, "loss_scale_skips", (double)r->loss_scale_skips);
	cJSON_AddItemToObject(o, "versions", cJSON_Duplicate(r->versions, 1));
	cJSON_AddStringToObject(o, "started_at", r->started_at);
	cJSON_AddStringToObject(o, "finished_at", r->finished_at);
	for (cJSON *e = r->extra ? r->extra->child : NULL; e; e = e->next)
		if (!cJSON_HasObjectItem(o, e->string))
			cJSON_AddItemToObject(o, e->string, cJSON_Duplicate(e, 1));
	return o;
}

long rp_utf8_invalid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!len || i + len > n)
			return (long)i;
		unsigned cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return (long)i;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		/* overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return (long)i;
		i += len;
	}
	return -1;
}

char *rp_utf8_repair(char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	if (rp_utf8_invalid(s, n) < 0)
		return s;
	char *out = malloc(3 * n + 1), *o = out; /* each bad byte becomes U+FFFD, 3 bytes */
	if (!out) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < n;) {
		long bad = rp_utf8_invalid(s + i, n - i);
		size_t good = bad < 0 ? n - i : (size_t)bad;
		memcpy(o, s + i, good);
		o += good;
		i += good;
		if (i < n) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*o = 0;
	free(s);
	return out;
}

char *rp_record_to_line(const struct rp_record *r)
{
	cJSON *o = rp_record_to_json(r);
	if (!o)
		return NULL;
	char *s = rp_utf8_repair(cJSON_PrintUnformatted(o));
	cJSON_Delete(o);
	return s;
}

uint64_t rp_fnv1a(uint64_t h, const char *text, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)text[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void rp_hash_id(char out[13], const char *text, size_t n)
{
	uint64_t h = rp_fnv1a(RP_FNV1A_BASIS, text, n);
	snprintf(out, 13, "%012llx", (unsigned long long)(h & 0xffffffffffffull));
}

void rp_config_id(char out[13], const char *model, const char *size, const char *dataset, const char *device,
		  const char *precision, int batch, int seq, int workers, int prefetch, uint64_t seed, long steps,
		  const char *extra)
{
	char buf[2048];
	int n = snprintf(buf, sizeof buf, "%s|%s|%s|%s|%s|%d|%d|%d|%d|%llu|%ld%s", model, size, dataset, device, precision,
			 batch, seq, workers, prefetch, (unsigned long long)seed, steps, extra);
	rp_hash_id(out, buf, n < (int)sizeof buf ? (size_t)n : sizeof buf);
}

/* ---- reading ---------------------------------------------------------- */

static const char *const known_statuses[] = { "ok", "oom", "oom-predicted", "diverged", "unsupported",
					      "timeout", "failed", "interrupted" };

int rp_status_known(const char *status)
{
	for (size_t i = 0; i < sizeof known_statuses / sizeof *known_statuses; i++)
		if (strcmp(status, known_statuses[i]) == 0)
			return 1;
	return 0;
}

static int model_known(const char *model) { return !strcmp(model, "gpt") || !strcmp(model, "cnn"); }

/* "auto": a point that never opened a backend (unsupported, oom-predicted) */
static int device_known(const char *device)
{
	return !strcmp(device, "cpu") || !strcmp(device, "cuda") || !strcmp(device, "auto");
}

static int precision_known(const char *precision)
{
	enum kn_precision p;
	return kn_precision_parse(precision, &p) == 0;
}

/* 1 unless s is what tr_utc_now() writes, 2026-11-24T19:25:52Z, and a time that exists (second 60: a
 * leap second); `why` then says what does not exist, " (month 13 does not exist)", or is "" (the form). */
static int bad_utc_time(const char *s, char *why, size_t n)
{
	static const char form[] = "dddd-dd-ddTdd:dd:ddZ";
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	why[0] = 0;
	for (size_t i = 0; i < sizeof form - 1; i++)
		if (form[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != form[i])
			return 1;
	if (s[sizeof form - 1])
		return 1;
	int y = atoi(s), mo = atoi(s + 5), d = atoi(s + 8), h = atoi(s + 11), mi = atoi(s + 14), sec = atoi(s + 17);
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	int days = mo >= 1 && mo <= 12 ? mdays[mo - 1] + (mo == 2 && leap) : 0;
	if (!days)
		snprintf(why, n, " (month %02d does not exist)", mo);
	else if (d < 1 || d > days)
		snprintf(why, n, " (day %02d does not exist in a month of %d days)", d, days);
	else if (h > 23)
		snprintf(why, n, " (hour %02d does not exist)", h);
	else if (mi > 59)
		snprintf(why, n, " (minute %02d does not exist)", mi);
	else if (sec > 60)
		snprintf(why, n, " (second %02d does not exist)", sec);
	return why[0] != 0;
}

enum field_type {
	F_STR,      /* string that must fit the char array */
	F_TIME,     /* F_STR holding a UTC time, as bad_utc_time() checks it */
	F_INT,      /* whole number in [min, INT_MAX] into int */
	F_LONG,     /* whole number in [0, 2^53] into long */
	F_U64,      /* whole number in [0, 2^53] into uint64_t */
	F_MEASURED, /* number >= 0 or null into double (NAN) */
	F_LOSS,     /* any number or null into double */
	F_FRAC,     /* number in [0, 1] or null into double */
	F_BOOL,     /* true or false into int */
	F_OBJECT,   /* JSON object, duplicated into a cJSON * member */
};

struct field {
	const char *name;
	enum field_type type;
	size_t off, size;
	int optional;
	int (*known)(const char *); /* F_STR: the values allowed; NULL: any */
	int min;                    /* F_STR: the shortest length; whole numbers: the least value */
	int kept;                   /* checked only: the value stays in `extra` (size: F_STR's limit) */
};

#define FLD(name, type) { #name, type, offsetof(struct rp_record, name), sizeof(((struct rp_record *)0)->name), 0, NULL, 0, 0 }
#define ENUM(name, known) { #name, F_STR, offsetof(struct rp_record, name), sizeof(((struct rp_record *)0)->name), 0, known, 0, 0 }
/* a field a sweep adds, checked when present */
#define SWEEP(name, type, size, min) { #name, type, 0, size, 1, NULL, min, 1 }

static const struct field fields[] = {
	{ "id", F_STR, offsetof(struct rp_record, id), sizeof(((struct rp_record *)0)->id), 0, NULL, 1, 0 },
	ENUM(status, rp_status_known), FLD(message, F_STR), ENUM(model, model_known), FLD(size, F_STR),
	FLD(dataset, F_STR), ENUM(device, device_known), FLD(device_name, F_STR), ENUM(precision, precision_known),
	FLD(batch, F_INT), FLD(seq, F_INT), FLD(workers, F_INT), FLD(prefetch, F_INT), FLD(seed, F_U64),
	FLD(steps, F_LONG), FLD(step_ms_p50, F_MEASURED), FLD(step_ms_p95, F_MEASURED),
	FLD(samples_per_sec, F_MEASURED), FLD(tokens_per_sec, F_MEASURED), FLD(flops_per_step, F_MEASURED),
	FLD(mfu, F_MEASURED), FLD(epoch_s, F_MEASURED), FLD(epoch_s_extrapolated, F_BOOL),
	FLD(peak_device_bytes, F_MEASURED), FLD(peak_host_bytes, F_MEASURED), FLD(pinned_bytes, F_MEASURED),
	FLD(initial_loss, F_LOSS), FLD(final_loss, F_LOSS), FLD(eval_loss, F_LOSS), FLD(eval_accuracy, F_FRAC),
	FLD(data_wait_frac, F_FRAC), FLD(loader, F_OBJECT), FLD(loss_scale_skips, F_LONG),
	FLD(versions, F_OBJECT), FLD(started_at, F_TIME), FLD(finished_at, F_TIME),
	{ "peak_device_bytes_driver", F_MEASURED, offsetof(struct rp_record, peak_device_bytes_driver), sizeof(double), 1,
	  NULL, 0, 0 },
	SWEEP(sweep, F_STR, 64, 0), SWEEP(repeat, F_INT, 0, 1), SWEEP(point, F_INT, 0, 0),
	SWEEP(price_per_hour, F_MEASURED, 0, 0),
};

static const char *json_type(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	return "an object";
}

static int whole(const cJSON *v, double lo, double hi, double *out)
{
	if (!cJSON_IsNumber(v))
		return 0;
	double d = v->valuedouble;
	if (!(d >= lo && d <= hi) || d != floor(d))
		return 0;
	*out = d;
	return 1;
}

/* Checks v as field f; stores it in r unless f is kept in `extra`. */
static int read_field(struct rp_record *r, const struct field *f, const cJSON *v)
{
	char *dst = f->kept ? NULL : (char *)r + f->off;
	char why[64];
	double d;
	switch (f->type) {
	case F_STR:
	case F_TIME:
		if (!cJSON_IsString(v))
			return kn_error(KN_EDATA, "field '%s' must be a string, got %s", f->name, json_type(v));
		if (strlen(v->valuestring) >= f->size)
			return kn_error(KN_EDATA, "field '%s' is longer than %zu bytes", f->name, f->size - 1);
		if (strlen(v->valuestring) < (size_t)f->min)
			return kn_error(KN_EDATA, "field '%s' is empty", f->name);
		if (f->known && !f->known(v->valuestring))
			return kn_error(KN_EDATA, "field '%s' has unknown value '%s'", f->name, v->valuestring);
		if (f->type == F_TIME && bad_utc_time(v->valuestring, why, sizeof why))
			return kn_error(KN_EDATA, "field '%s' must be a UTC time like 2026-11-24T19:25:52Z, got '%s'%s",
					f->name, v->valuestring, why);
		if (dst)
			memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
		return KN_OK;
	case F_INT:
	case F_LONG:
	case F_U64:
		if (!whole(v, f->min, f->type == F_INT ? 2147483647.0 : 9007199254740992.0, &d)) {
			char got[32];
			if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble == floor(v->valuedouble))
				snprintf(got, sizeof got, "%g", v->valuedouble); /* whole, but out of range */
			else
				snprintf(got, sizeof got, "%s", cJSON_IsNumber(v) ? "a fraction or negative number" : json_type(v));
			return kn_error(KN_EDATA, "field '%s' must be a whole number >= %d, got %s", f->name, f->min, got);
		}
		if (!dst)
			return KN_OK;
		if (f->type == F_INT)
			*(int *)dst = (int)d;
		else if (f->type == F_LONG)
			*(long *)dst = (long)d;
		else
			*(uint64_t *)dst = (uint64_t)d;
		return KN_OK;
	case F_MEASURED:
	case F_LOSS:
	case F_FRAC:
		if (cJSON_IsNull(v)) {
			if (dst)
				*(double *)dst = NAN;
			return KN_OK;
		}
		if (!cJSON_IsNumber(v))
			return kn_error(KN_EDATA, "field '%s' must be a number or null, got %s", f->name, json_type(v));
		d = v->valuedouble;
		if (!isfinite(d))
			return kn_error(KN_EDATA, "field '%s' is out of range", f->name);
		if (f->type == F_MEASURED && d < 0)
			return kn_error(KN_EDATA, "field '%s' must be >= 0, got %g", f->name, d);
		if (f->type == F_FRAC && !(d >= 0 && d <= 1))
			return kn_error(KN_EDATA, "field '%s' must be in [0, 1], got %g", f->name, d);
		if (dst)
			*(double *)dst = d;
		return KN_OK;
	case F_BOOL:
		if (!cJSON_IsBool(v))
			return kn_error(KN_EDATA, "field '%s' must be true or false, got %s", f->name, json_type(v));
		if (dst)
			*(int *)dst = cJSON_IsTrue(v);
		return KN_OK;
	case F_OBJECT: {
		if (!cJSON_IsObject(v))
			return kn_error(KN_EDATA, "field '%s' must be an object, got %s", f->name, json_type(v));
		if (!dst)
			return KN_OK;
		cJSON *dup = cJSON_Duplicate(v, 1);
		if (!dup)
			return kn_error(KN_ERR, "out of memory reading field '%s'", f->name);
		cJSON_Delete(*(cJSON **)dst);
		*(cJSON **)dst = dup;
		return KN_OK;
	}
	}
	return KN_OK;
}

static int read_loss_curve(struct rp_record *r, const cJSON *v)
{
	if (!cJSON_IsArray(v))
		return kn_error(KN_EDATA, "field 'loss_curve' must be an array, got %s", json_type(v));
	int i = 0;
	for (const cJSON *pt = v->child; pt; pt = pt->next, i++) {
		double step;
		const cJSON *s = cJSON_GetArrayItem(pt, 0), *l = cJSON_GetArrayItem(pt, 1);
		if (!cJSON_IsArray(pt) || cJSON_GetArraySize(pt) != 2 || !whole(s, 0, 9007199254740992.0, &step) ||
		    !(cJSON_IsNumber(l) || cJSON_IsNull(l)))
			return kn_error(KN_EDATA, "field 'loss_curve' item %d must be [step, loss or null]", i);
		if (rp_record_add_loss(r, (long)step, cJSON_IsNumber(l) ? l->valuedouble : NAN))
			return kn_error(KN_ERR, "out of memory reading 'loss_curve'");
	}
	return KN_OK;
}

static int is_schema_field(const char *name)
{
	if (strcmp(name, "schema_version") == 0 || strcmp(name, "loss_curve") == 0)
		return 1;
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
		if (!fields[i].kept && strcmp(fields[i].name, name) == 0)
			return 1;
	return 0;
}

double rp_record_epochs(const struct rp_record *r)
{
	const cJSON *e = r->extra ? cJSON_GetObjectItemCaseSensitive(r->extra, "epochs") : NULL;
	return cJSON_IsNumber(e) && e->valuedouble > 0 ? e->valuedouble : 0;
}

int rp_record_from_json(struct rp_record *r, const cJSON *o)
{
	if (!cJSON_IsObject(o))
		return kn_error(KN_EDATA, "a record must be a JSON object, got %s", json_type(o));
	for (const cJSON *e = o->child; e; e = e->next)
		for (const cJSON *p = o->child; p != e; p = p->next)
			if (strcmp(p->string, e->string) == 0)
				return kn_error(KN_EDATA, "field '%s' appears twice", e->string);
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(o, "schema_version");
	if (!ver)
		return kn_error(KN_EDATA, "missing field 'schema_version'");
	if (!cJSON_IsNumber(ver))
		return kn_error(KN_EDATA, "field 'schema_version' must be a number, got %s", json_type(ver));
	if (ver->valuedouble != RP_SCHEMA_VERSION)
		return kn_error(KN_EDATA, "schema_version %g is not supported (this amptune reads version %d)",
				ver->valuedouble, RP_SCHEMA_VERSION);
	int rc;
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, fields[i].name);
		if (!v && fields[i].optional)
			continue;
		if (!v)
			return kn_error(KN_EDATA, "missing field '%s'", fields[i].name);
		if ((rc = read_field(r, &fields[i], v)))
			return rc;
	}
	const cJSON *curve = cJSON_GetObjectItemCaseSensitive(o, "loss_curve");
	if (!curve)
		return kn_error(KN_EDATA, "missing field 'loss_curve'");
	if ((rc = read_loss_curve(r, curve)))
		return rc;
	for (const cJSON *e = o->child; e; e = e->next) {
		if (is_schema_field(e->string))
			continue;
		cJSON *dup = cJSON_Duplicate(e, 1);
		if (!dup)
			return kn_error(KN_ERR, "out of memory reading field '%s'", e->string);
		cJSON_AddItemToObject(r->extra, e->string, dup);
	}
	return KN_OK;
}

/* The offset of the first byte below 0x20 that JSON does not allow (any inside a
 * string; outside, all but tab and CR), or -1. cJSON takes them: inside a string
 * a NUL would cut the value short, outside it any of them passes for a space.
 * The offset of a raw control byte, or (*nul set) of a \u0000 escape inside a string, which
 * the record's C strings would silently cut at; -1 when there is neither. */
static long control_byte(const char *line, size_t len, int *nul)
{
	int in_string = 0;
	*nul = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 && (in_string || (c != '\t' && c != '\r')))
			return (long)i;
		if (in_string && c == '\\' && i + 5 < len && line[i + 1] == 'u' && strncmp(line + i + 2, "0000", 4) == 0) {
			*nul = 1;
			return (long)i;
		}
		if (in_string && c == '\\' && i + 1 < len && (unsigned char)line[i + 1] >= 0x20)
			i++; /* an escaped character, '"' included */
		else if (c == '"')
			in_string = !in_string;
	}
	return -1;
}

int rp_record_parse(struct rp_record *r, const char *line, size_t len)
{
	int nul;
	long bad = control_byte(line, len, &nul);
	if (bad >= 0 && nul)
		return kn_error(KN_EDATA, "a NUL character (\\u0000) in a string at byte %ld", bad + 1);
	if (bad >= 0)
		return kn_error(KN_EDATA, "not JSON (control character 0x%02x at byte %ld)", (unsigned char)line[bad], bad + 1);
	/* JSON text is UTF-8 (cJSON does not check): a CSV or report made from other bytes would not be */
	if ((bad = rp_utf8_invalid(line, len)) >= 0)
		return kn_error(KN_EDATA, "not UTF-8 (byte 0x%02x at byte %ld)", (unsigned char)line[bad], bad + 1);
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (!o)
		return kn_error(KN_EDATA, "not JSON (error near byte %ld)",
				(long)((end ? end : cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : line) - line) + 1);
	while (end && end < line + len && (*end == ' ' || *end == '\t' || *end == '\r'))
		end++;
	int rc = end && end < line + len ? kn_error(KN_EDATA, "text after the JSON object at byte %ld", (long)(end - line) + 1)
					 : rp_record_from_json(r, o);
	cJSON_Delete(o);
	return rc;
}
