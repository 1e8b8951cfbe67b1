#include "reports/cost.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernels/error.h"

struct gpu_tier {
	const char *tier;
	double usd_per_hour;
	const char *names[16];
};

/* Order matters only for the report's wording; names are whole words. */
static const struct gpu_tier gpu_tiers[] = {
	{ "top", 4.00, { "H100", "H200", "H800", "H20", "GH200", "B100", "B200", "GB200", "MI300X", NULL } },
	{ "mid", 2.00, { "A100", "A800", "V100", "L40", "L40S", "A40", "A6000", "RTX6000", "MI250X", NULL } },
	{ "entry", 0.60, { "T4", "A10", "A10G", "L4", "A2", "A16", "A30", "P4", "P100", "K80", "RTX", NULL } },
};
#define UNKNOWN_GPU_USD 2.00

void rp_prices_init(struct rp_prices *p) { memset(p, 0, sizeof *p); }

static int parse_usd(const char *s, double *out)
{
	char *end;
	if (*s == '$')
		s++;
	double v = strtod(s, &end);
	if (!kn_is_decimal(s, (size_t)(end - s), 1))
		return -1;
	while (*end == ' ')
		end++;
	if (end == s || *end || !isfinite(v) || v <= 0 || v > 1e6)
		return -1;
	*out = v;
	return 0;
}

static int add_rule(struct rp_prices *p, const char *device, double usd, enum rp_price_source src)
{
	if (p->n == RP_MAX_PRICE_RULES)
		return kn_error(KN_EUSAGE, "more than %d prices", RP_MAX_PRICE_RULES);
	struct rp_price_rule *r = &p->rules[p->n++];
	snprintf(r->device, sizeof r->device, "%s", device);
	r->usd_per_hour = usd;
	r->source = src;
	return KN_OK;
}

int rp_prices_add_flag(struct rp_prices *p, const char *arg)
{
	const char *eq = strchr(arg, '=');
	double usd;
	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof p->rules[0].device || parse_usd(eq + 1, &usd))
		return kn_error(KN_EUSAGE, "option '--price' expects DEVICE=USD_PER_HOUR such as H100=3.50 or cpu=0.20, got '%s'",
				arg);
	char device[160];
	snprintf(device, sizeof device, "%.*s", (int)(eq - arg), arg);
	for (int i = 0; i < p->n; i++)
		if (p->rules[i].source == RP_PRICE_FLAG && !strcasecmp(p->rules[i].device, device)) {
			/* the same device again: the later price wins, as a later option does elsewhere */
			snprintf(p->rules[i].device, sizeof p->rules[i].device, "%s", device);
			p->rules[i].usd_per_hour = usd;
			return KN_OK;
		}
	return add_rule(p, device, usd, RP_PRICE_FLAG);
}

int rp_prices_add_plan(struct rp_prices *p, const struct rp_results *res)
{
	for (int i = 0; i < res->n_plan_prices; i++) {
		double usd;
		if (parse_usd(res->plan_prices[i].value, &usd))
			return kn_error(KN_EUSAGE, "%s:%d: [prices] '%s' expects dollars per hour (a positive number), got '%s'",
					res->plan_path, res->plan_prices[i].line, res->plan_prices[i].device,
					res->plan_prices[i].value);
		int rc = add_rule(p, res->plan_prices[i].device, usd, RP_PRICE_PLAN);
		if (rc)
			return rc;
	}
	return KN_OK;
}

/* Where `word` first occurs in `text` as a whole word, case-insensitively; -1 when it does not. */
static long word_at(const char *text, const char *word)
{
	size_t n = strlen(word);
	if (n == 0)
		return -1;
	for (const char *t = text; *t; t++) {
		if (strncasecmp(t, word, n) != 0)
			continue;
		int before = t > text && isalnum((unsigned char)t[-1]);
		int after = isalnum((unsigned char)t[n]);
		if (!before && !after)
			return (long)(t - text);
	}
	return -1;
}

int rp_word_in(const char *text, const char *word) { return word_at(text, word) >= 0; }

/* How closely `key` prices a device, the higher the closer: 0 not at all, 1 its device kind, then
 * words of its device_name by length, then by how early they occur in the name. */
static long price_fit(const char *key, const char *device, const char *device_name)
{
	if (strcasecmp(key, device) == 0)
		return 1;
	long at = word_at(device_name, key);
	if (at < 0)
		return 0;
	return 2 + (long)strlen(key) * 65536 + (65535 - (at < 65535 ? at : 65535));
}

int rp_price_pick(const char *const *keys, int n, const char *device, const char *device_name)
{
	int best = -1;
	long best_fit = 0;
	for (int i = 0; i < n; i++) {
		long fit = price_fit(keys[i], device, device_name);
		/* equal fits are the same word in another case ("h100", "H100"): byte order decides */
		if (fit > best_fit || (fit && fit == best_fit && strcmp(keys[i], keys[best]) < 0))
			best = i, best_fit = fit;
	}
	return best;
}

static int rule_matches(const struct rp_price_rule *rule, const struct rp_record *r)
{
	return price_fit(rule->device, r->device, r->device_name) > 0;
}

int rp_prices_unmatched_plan(const struct rp_prices *p, const struct rp_results *res, char *out, size_t n)
{
	int count = 0;
	size_t len = 0;
	out[0] = 0;
	for (int i = 0; i < p->n; i++) {
		const char *d = p->rules[i].device;
		/* a device kind the sweep did not reach (no GPU here) is no misspelling */
		if (p->rules[i].source != RP_PRICE_PLAN || !strcasecmp(d, "cpu") || !strcasecmp(d, "cuda") ||
		    !strcasecmp(d, "auto"))
			continue;
		int found = 0;
		for (int k = 0; k < res->n && !found; k++)
			found = rule_matches(&p->rules[i], &res->recs[k]);
		if (!found && len < n)
			len += (size_t)snprintf(out + len, n - len, "%s'%.150s'", count++ ? ", " : "", d);
		else if (!found)
			count++;
	}
	return count;
}

int rp_prices_check_flags(const struct rp_prices *p, const struct rp_results *res)
{
	for (int i = 0; i < p->n; i++) {
		if (p->rules[i].source != RP_PRICE_FLAG)
			continue;
		int found = 0;
		for (int k = 0; k < res->n && !found; k++)
			found = rule_matches(&p->rules[i], &res->recs[k]);
		if (found)
			continue;
		char devices[1024] = "";
		size_t len = 0;
		for (int k = 0; k < res->n && len < sizeof devices - 200; k++) {
			int seen = !res->recs[k].device_name[0]; /* no backend opened ("auto" ''): no device to price */
			for (int j = 0; j < k && !seen; j++)
				seen = !strcmp(res->recs[j].device, res->recs[k].device) &&
				       !strcmp(res->recs[j].device_name, res->recs[k].device_name);
			if (!seen)
				len += (size_t)snprintf(devices + len, sizeof devices - len, "%s%s '%.150s'", len ? ", " : "",
							res->recs[k].device, res->recs[k].device_name);
		}
		return kn_error(KN_EUSAGE, "option '--price': no device in '%s' matches '%s' (devices there: %s)", res->path,
				p->rules[i].device, devices);
	}
	return KN_OK;
}

int rp_cpu_threads(const struct rp_record *r)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(r->versions, "threads");
	if (cJSON_IsNumber(t) && t->valuedouble >= 1)
		return (int)t->valuedouble;
	const char *p = strchr(r->device_name, '(');
	int n;
	if (p && sscanf(p, "(%d thread", &n) == 1 && n >= 1)
		return n;
	return 1;
}

static void default_price(const struct rp_record *r, struct rp_price *out)
{
	out->source = RP_PRICE_DEFAULT;
	if (strncmp(r->device, "cpu", 3) == 0) {
		int n = rp_cpu_threads(r);
		out->usd_per_hour = n * RP_CPU_USD_PER_VCPU_HOUR;
		snprintf(out->basis, sizeof out->basis,
			 "default: %d vCPU x $%.2f per vCPU-hour (on-demand general-purpose cloud VM, memory included)", n,
			 RP_CPU_USD_PER_VCPU_HOUR);
		return;
	}
	for (size_t t = 0; t < sizeof gpu_tiers / sizeof *gpu_tiers; t++) {
		for (int k = 0; gpu_tiers[t].names[k]; k++) {
			if (rp_word_in(r->device_name, gpu_tiers[t].names[k])) {
				out->usd_per_hour = gpu_tiers[t].usd_per_hour;
				snprintf(out->basis, sizeof out->basis,
					 "default: %s-tier GPU (%s) at $%.2f per GPU-hour (typical on-demand cloud price)",
					 gpu_tiers[t].tier, gpu_tiers[t].names[k], gpu_tiers[t].usd_per_hour);
				return;
			}
		}
	}
	out->usd_per_hour = UNKNOWN_GPU_USD;
	snprintf(out->basis, sizeof out->basis,
		 "default: unrecognised GPU priced as mid tier, $%.2f per GPU-hour; set --price for a real figure",
		 UNKNOWN_GPU_USD);
}

void rp_price_of(const struct rp_prices *p, const struct rp_record *r, struct rp_price *out)
{
	const struct rp_price_rule *best = NULL;
	const char *keys[RP_MAX_PRICE_RULES];
	int of[RP_MAX_PRICE_RULES];
	/* --price flags first, then the plan's [prices]: a rule of the plan never beats a flag */
	for (int src = RP_PRICE_FLAG; src > RP_PRICE_DEFAULT && !best; src--) {
		int n = 0;
		for (int i = 0; i < p->n; i++)
			if (p->rules[i].source == (enum rp_price_source)src)
				keys[n] = p->rules[i].device, of[n++] = i;
		int k = rp_price_pick(keys, n, r->device, r->device_name);
		if (k >= 0)
			best = &p->rules[of[k]];
	}
	double own = rp_record_price(r);
	if (!best && isfinite(own)) {
		out->usd_per_hour = own;
		out->source = RP_PRICE_RECORD;
		snprintf(out->basis, sizeof out->basis, "the records' price_per_hour (the plan they ran under) = $%.2f per hour",
			 own);
		return;
	}
	if (!best) {
		default_price(r, out);
		return;
	}
	out->usd_per_hour = best->usd_per_hour;
	out->source = best->source;
	snprintf(out->basis, sizeof out->basis, "%s: %s = $%.2f per hour",
		 best->source == RP_PRICE_FLAG ? "--price" : "plan.ini [prices]", best->device, best->usd_per_hour);
}

double rp_record_price(const struct rp_record *r)
{
	const cJSON *v = r->extra ? cJSON_GetObjectItemCaseSensitive(r->extra, "price_per_hour") : NULL;
	return cJSON_IsNumber(v) && v->valuedouble > 0 && isfinite(v->valuedouble) ? v->valuedouble : NAN;
}

double rp_cost_usd(double seconds, double usd_per_hour)
{
	if (!isfinite(seconds) || !isfinite(usd_per_hour))
		return NAN;
	return seconds / 3600.0 * usd_per_hour;
}

double rp_cost_per_million(double items_per_sec, double usd_per_hour)
{
	if (!(items_per_sec > 0) || !isfinite(usd_per_hour))
		return NAN;
	return 1e6 / items_per_sec / 3600.0 * usd_per_hour;
}
