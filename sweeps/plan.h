/*
 * sweeps/plan.h — a sweep plan: an INI file with a [sweep] section (what to
 * train and the axes of the grid) and a [prices] section (dollars per hour per
 * device, passed through to reports). docs/sweeps.md lists every key.
 *
 * Parsing is strict: an unknown section or key, a key set twice, a bad value
 * or an empty axis is KN_EUSAGE with a message "FILE:LINE: ..." (exit 64).
 * `--set key=value` overrides replace the file's value; their errors name the
 * override instead of a line. An override a plan file could not hold (a line
 * break, ';' after white space) is refused, so the copy reads back the same.
 *
 * Lifecycle: sw_plan_init() clears a caller-owned struct (no allocation);
 * sw_plan_load() fills it and owns a copy of the file's text; sw_plan_release()
 * frees that copy. Axis values and scalars live inside the struct.
 */
#ifndef SW_PLAN_H
#define SW_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SW_AXIS_MAX 64    /* values per axis */
#define SW_VALUE_MAX 16   /* characters per axis value, with the NUL */
#define SW_PRICES_MAX 32

/* Every [sweep] key. The order is the order of docs/sweeps.md and of the
 * effective plan sw_plan_write() prints. */
enum sw_key {
	SW_NAME, SW_MODEL, SW_SIZE, SW_DATA, SW_STEPS, SW_EPOCHS, SW_WARMUP_STEPS, SW_SEED, SW_REPEATS,
	SW_TIME_LIMIT_S, SW_DEVICE_MEM_LIMIT, SW_LR, SW_EVAL_BATCHES, SW_THREADS, SW_DATA_LATENCY_US, SW_DATA_COST,
	SW_EVAL_IMAGES,
	SW_DEVICES, SW_PRECISIONS, SW_BATCH_SIZES, SW_SEQ, SW_WORKERS, SW_PREFETCH,
	SW_NKEYS
};
#define SW_FIRST_AXIS SW_DEVICES
#define SW_NAXES (SW_NKEYS - SW_FIRST_AXIS)

/* A list-valued key. Values keep the plan's order; numeric axes also hold
 * their parsed value in num[]. */
struct sw_axis {
	int n;
	char v[SW_AXIS_MAX][SW_VALUE_MAX];
	long num[SW_AXIS_MAX];
};

struct sw_price {
	char device[160]; /* a device kind ("cpu", "cuda") or a recorded device_name */
	double per_hour;
	int line;
};

struct sw_plan {
	char file[512];          /* the path as given, for messages */
	char name[64], model[16], size[32], data[512];
	long steps;              /* 0 when epochs is set */
	double epochs;           /* 0 when steps is set */
	long warmup_steps, repeats, eval_batches, threads, data_latency_us, data_cost, eval_images;
	uint64_t seed;
	double time_limit_s;     /* 0 = no limit */
	double lr;
	size_t device_mem_limit; /* 0 = none */
	struct sw_axis axis[SW_NAXES]; /* indexed by key - SW_FIRST_AXIS */
	struct sw_price prices[SW_PRICES_MAX];
	int nprices;
	int line[SW_NKEYS];      /* where each key was set: > 0 a line, -1 a --set, 0 unset (default) */
	int sweep_line;          /* the first [sweep] header's line */
	char *text;              /* the file's bytes (owned), NUL-terminated */
	size_t text_len;
};

void sw_plan_init(struct sw_plan *p);
void sw_plan_release(struct sw_plan *p);

/*
 * Reads and validates the plan at `path`, then applies `nset` overrides
 * ("key=value" or "prices.DEVICE=value"). Returns KN_OK, or KN_EUSAGE with
 * kn_last_error() naming the file and line (or the override).
 */
int sw_plan_load(struct sw_plan *p, const char *path, char *const *set, int nset);
/* Same, from text in memory; `label` stands for the file name in messages. */
int sw_plan_parse(struct sw_plan *p, const char *label, const char *text, size_t len, char *const *set, int nset);

/* The axis of a list-valued key, or NULL. */
const struct sw_axis *sw_plan_axis(const struct sw_plan *p, enum sw_key k);
const char *sw_key_name(enum sw_key k);
int sw_plan_is_set(const struct sw_plan *p, enum sw_key k);
/* A scalar key's value in the canonical text form the runner passes to train
 * (numbers as "%ld" or "%.15g", byte counts in bytes); "" for list keys. */
void sw_plan_value(const struct sw_plan *p, enum sw_key k, char *buf, size_t n);
/* Dollars per hour for a device as the report prices it (rp_price_pick()): a
 * key that is a word of device_name first, then its kind; NAN if none. */
double sw_plan_price(const struct sw_plan *p, const char *device, const char *device_name);

/*
 * Prints the effective plan (every key that is set, overrides applied) as an
 * INI file that sw_plan_load() reads back to an equal plan, followed by the
 * original file as comment lines; a plan that is itself such a copy passes its
 * original block on instead (plan.c describes the format). Returns 0, or -1
 * when a write failed.
 */
int sw_plan_write(const struct sw_plan *p, FILE *out, const char *from, char *const *set, int nset);

#endif
