/*
 * reports/cost.h — the cost model: dollars per hour for the device a record
 * ran on, and what an epoch, a million samples or a million tokens cost.
 *
 * A price comes from, in order: `--price DEVICE=USD` (flags), the plan's
 * [prices] section, the record's own `price_per_hour` (what the plan it ran
 * under said: merged results keep it), or a built-in default by device class. A rule's DEVICE
 * matches a record whose `device` it equals ("cpu", "cuda") or whose
 * `device_name` contains it as a whole word ("H100" matches "NVIDIA H100 80GB
 * HBM3", not "GH100"), case-insensitively. Of the rules that match, a word of
 * the device_name beats the device kind, a longer word a shorter one, and of
 * two as long the one earlier in the name wins (rp_price_pick()), whatever
 * their order.
 *
 * Defaults (docs/reports.md explains each assumption): CPU at $0.05 per
 * vCPU-hour for the threads the run used; GPUs by name in three tiers,
 * entry $0.60/h (T4, A10, L4, ...), mid $2.00/h (V100, A100, L40S, ...),
 * top $4.00/h (H100, H200, B200, ...); an unrecognised GPU is priced as mid
 * and says so.
 */
#ifndef RP_COST_H
#define RP_COST_H

#include "reports/record.h"
#include "reports/results.h"

#define RP_MAX_PRICE_RULES 128
#define RP_CPU_USD_PER_VCPU_HOUR 0.05

enum rp_price_source { RP_PRICE_DEFAULT, RP_PRICE_RECORD, RP_PRICE_PLAN, RP_PRICE_FLAG };

struct rp_price_rule {
	char device[160];
	double usd_per_hour;
	enum rp_price_source source;
};

struct rp_prices {
	struct rp_price_rule rules[RP_MAX_PRICE_RULES];
	int n;
};

struct rp_price {
	double usd_per_hour;
	enum rp_price_source source;
	char basis[256];  /* the rule or the default's assumption, for the report */
};

void rp_prices_init(struct rp_prices *p);
/* One `--price DEVICE=USD` argument ("H100=3.5", "cpu=$0.20"): KN_EUSAGE on
 * a malformed one. A DEVICE given before (in any case) takes the later price. */
int rp_prices_add_flag(struct rp_prices *p, const char *arg);
/* The [prices] of the plan the results came with: KN_EUSAGE naming plan.ini
 * and the key for a value that is not a positive number. */
int rp_prices_add_plan(struct rp_prices *p, const struct rp_results *res);
/* Every --price rule must match a device in the results: KN_EUSAGE listing
 * the devices there otherwise. */
/* The plan's [prices] keys other than the device kinds that match no record (a misspelling,
 * or a device the results do not hold), quoted and comma-separated into out; their count. */
int rp_prices_unmatched_plan(const struct rp_prices *p, const struct rp_results *res, char *out, size_t n);
int rp_prices_check_flags(const struct rp_prices *p, const struct rp_results *res);
/* Which of the n price keys prices a device (the longest word of its
 * device_name, then the earliest; else its device kind), or -1 when none
 * matches: the one lookup for the report's and the sweep's prices. */
int rp_price_pick(const char *const *keys, int n, const char *device, const char *device_name);
/* The price_per_hour a sweep wrote into r (extra field), or NAN when it has none. */
double rp_record_price(const struct rp_record *r);
/* The price of the device `r` ran on (never fails: a default applies). */
void rp_price_of(const struct rp_prices *p, const struct rp_record *r, struct rp_price *out);

/* The threads a CPU run used: versions.threads, else "(N threads)" in the
 * device name, else 1. */
int rp_cpu_threads(const struct rp_record *r);
/* 1 when `word` occurs in `text` as a whole word, case-insensitively. */
int rp_word_in(const char *text, const char *word);

/* Dollars for `seconds` at `usd_per_hour`; NAN when either is unknown. */
double rp_cost_usd(double seconds, double usd_per_hour);
/* Dollars per million items at `items_per_sec`. */
double rp_cost_per_million(double items_per_sec, double usd_per_hour);

#endif
