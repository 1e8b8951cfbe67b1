/*
 * reports/record.h — one results record (schema v1): what a training point
 * measured. Field names are an interface (docs/results-schema.md); never
 * rename one without bumping RP_SCHEMA_VERSION.
 *
 * Numbers that were not measured are NAN and serialise as JSON null.
 * Ownership: the record owns loss_curve and the cJSON objects loader,
 * versions and extra; rp_record_release() frees them.
 */
#ifndef RP_RECORD_H
#define RP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#define RP_SCHEMA_VERSION 1

struct rp_loss_point {
	long step;
	double loss;
};

struct rp_record {
	char id[24];
	char status[16];        /* ok, oom, diverged, unsupported, timeout, failed */
	char message[1024];
	char model[16], size[32], dataset[512], device[16], device_name[160], precision[8];
	int batch, seq, workers, prefetch;
	uint64_t seed;
	long steps;
	double step_ms_p50, step_ms_p95, samples_per_sec, tokens_per_sec, flops_per_step, mfu;
	double epoch_s;
	int epoch_s_extrapolated;
	double peak_device_bytes, peak_device_bytes_driver, peak_host_bytes, pinned_bytes;
	struct rp_loss_point *loss_curve;
	int n_loss_curve, cap_loss_curve;
	double initial_loss, final_loss, eval_loss, eval_accuracy;
	double data_wait_frac;
	long loss_scale_skips;
	cJSON *loader;   /* object of loader statistics */
	cJSON *versions; /* object */
	cJSON *extra;    /* further fields, merged at top level */
	char started_at[32], finished_at[32];
};

/* Sets every number to NAN/0, strings empty, and creates the owned objects. */
int rp_record_init(struct rp_record *r);
void rp_record_release(struct rp_record *r);
int rp_record_add_loss(struct rp_record *r, long step, double loss);
/* The record as a JSON object (caller frees with cJSON_Delete); NULL on OOM. */
cJSON *rp_record_to_json(const struct rp_record *r);
/* One line of JSON, no trailing newline (caller frees); NULL on OOM. */
char *rp_record_to_line(const struct rp_record *r);
/* The offset of the first byte of s[0, n) that is not well-formed UTF-8 (overlong forms,
 * surrogates and code points past U+10FFFF included), or -1. */
long rp_utf8_invalid(const char *s, size_t n);
/* s (malloc'd, taken over) with every byte that is not well-formed UTF-8 replaced by U+FFFD:
 * s itself when it is all UTF-8, else a new string (s freed); NULL when s is or on no memory.
 * Records are written through it, since a message or stderr tail may carry a path's bytes. */
char *rp_utf8_repair(char *s);
/*
 * Fills an initialised record from one parsed results line, strictly: every
 * field of schema v1 must be present with its type (numbers that were not
 * measured may be null), strings must fit and hold an allowed value (id not
 * empty; status, model, device, precision known; times as tr_utc_now() writes
 * them, and times that exist: month, day of that month, hour, minute, second
 * up to a leap second's 60), and a sweep's fields (sweep, repeat, point, price_per_hour) are checked
 * when present. Fields not in the schema, a sweep's included, are kept in
 * r->extra. `schema_version` is checked first, so a
 * record of another version is refused as such. Returns KN_OK or KN_EDATA
 * with a message naming the field (the caller adds file and line).
 */
int rp_record_from_json(struct rp_record *r, const cJSON *o);
/* Parses one line of text (need not be NUL-terminated) into an initialised
 * record: KN_EDATA "not JSON" (also for a raw control byte, NUL included, which
 * JSON does not allow) or as rp_record_from_json. */
int rp_record_parse(struct rp_record *r, const char *line, size_t len);
/* 1 when `status` is one a results record may carry. */
int rp_status_known(const char *status);
/* The epochs a run was given (train --epochs, its record's extra field "epochs"), or 0. */
double rp_record_epochs(const struct rp_record *r);

/* 12 hex digits of FNV-1a over n bytes of text: the hash behind every id. */
void rp_hash_id(char out[13], const char *text, size_t n);
/* 64-bit FNV-1a of n bytes, continuing from h (RP_FNV1A_BASIS to start): rp_hash_id's hash, and
 * the one the results' hash indexes use. */
#define RP_FNV1A_BASIS 0xcbf29ce484222325ull
uint64_t rp_fnv1a(uint64_t h, const char *text, size_t n);
/* The stable id of a configuration: rp_hash_id() of "model|size|dataset|device|
 * precision|batch|seq|workers|prefetch|seed|steps" followed by `extra` (each
 * other setting that differs from its default, as "|name=value"; "" for none). */
void rp_config_id(char out[13], const char *model, const char *size, const char *dataset, const char *device,
		  const char *precision, int batch, int seq, int workers, int prefetch, uint64_t seed, long steps,
		  const char *extra);

#endif
