#include "sweeps/outcome.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "amptune_version.h"
#include "data_loader/options.h"
#include "kernels/error.h"
#include "reports/record.h"
#include "trainer/metrics.h"

static int valid_record(const cJSON *j)
{
	struct rp_record r;
	int ok = rp_record_init(&r) == 0 && rp_record_from_json(&r, j) == KN_OK;
	rp_record_release(&r);
	return ok;
}

/* The last line of stdout that is a valid record of the schema this amptune
 * writes: what `train --json` prints. Anything else is not trusted, so a
 * results file never holds a line its readers would refuse. */
static cJSON *child_record(const struct sw_outcome *o)
{
	const char *s = o->out, *end = o->out + o->out_len;
	while (end > s) {
		const char *line_end = end;
		while (line_end > s && (line_end[-1] == '\n' || line_end[-1] == '\r'))
			line_end--;
		const char *line = line_end;
		while (line > s && line[-1] != '\n')
			line--;
		cJSON *j = cJSON_ParseWithLength(line, (size_t)(line_end - line));
		if (j && valid_record(j))
			return j;
		cJSON_Delete(j);
		end = line;
	}
	return NULL;
}

/* A record from the point's settings, for a child that printed none. */
static cJSON *made_record(const struct sw_plan *p, const struct sw_point *pt, const struct sw_outcome *o)
{
	struct rp_record r;
	if (rp_record_init(&r)) {
		rp_record_release(&r);
		return NULL;
	}
	snprintf(r.model, sizeof r.model, "%s", p->model);
	snprintf(r.size, sizeof r.size, "%s", p->size);
	snprintf(r.dataset, sizeof r.dataset, "%s", p->data);
	snprintf(r.device, sizeof r.device, "%s", pt->device);
	snprintf(r.precision, sizeof r.precision, "%s", pt->precision);
	r.batch = (int)pt->batch;
	r.seq = (int)sw_point_seq(p, pt);
	struct dl_options loader; /* what train runs with when the plan leaves these unset */
	dl_options_defaults(&loader);
	r.workers = pt->workers >= 0 ? (int)pt->workers : loader.workers;
	r.prefetch = pt->prefetch >= 0 ? (int)pt->prefetch : loader.prefetch;
	r.seed = p->seed;
	r.steps = p->steps;
	snprintf(r.started_at, sizeof r.started_at, "%s", o->started_at);
	snprintf(r.finished_at, sizeof r.finished_at, "%s", o->finished_at);
	cJSON_AddStringToObject(r.versions, "amptune", AMPTUNE_VERSION);
	cJSON_AddStringToObject(r.versions, "git_commit", AMPTUNE_GIT_COMMIT);
	cJSON *j = rp_record_to_json(&r);
	rp_record_release(&r);
	return j;
}

static int put(cJSON *o, const char *key, cJSON *v)
{
	if (!v)
		return -1;
	if (cJSON_HasObjectItem(o, key))
		return cJSON_ReplaceItemInObjectCaseSensitive(o, key, v) ? 0 : -1;
	return cJSON_AddItemToObject(o, key, v) ? 0 : -1;
}

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

/* The last non-blank line of the child's stderr that says something, or "": a usage error ends
 * with the hint "see 'amptune help train'", and the reason is the line before it. */
static void last_line(const char *tail, char *buf, size_t n)
{
	const char *end = tail + strlen(tail);
	for (;;) {
		while (end > tail && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
			end--;
		const char *start = end;
		while (start > tail && start[-1] != '\n')
			start--;
		if (start > tail && (size_t)(end - start) >= 17 && strncmp(start, "see 'amptune help", 17) == 0) {
			end = start;
			continue;
		}
		snprintf(buf, n, "%.*s", (int)(end - start), start);
		return;
	}
}

static void message_for(const struct sw_plan *p, const struct sw_outcome *o, const char *status, int had_record,
			const char *child_msg, char *buf, size_t n)
{
	char last[600];
	last_line(o->stderr_tail, last, sizeof last);
	const char *why = *child_msg ? child_msg : last;
	if (strcmp(status, "timeout") == 0)
		snprintf(buf, n, "exceeded time_limit_s %g: stopped after %.1f s", p->time_limit_s, o->wall_s);
	else if (!o->exited)
		snprintf(buf, n, "killed by signal %d (%s)%s%s", o->term_signal, strsignal(o->term_signal),
			 *why ? ": " : "", why);
	else if (strcmp(status, "failed") == 0 && o->exit_code == 0 && !had_record)
		snprintf(buf, n, "exited 0 without printing a results record");
	else if (strcmp(status, "failed") == 0)
		snprintf(buf, n, "exit code %d%s%s", o->exit_code, *why ? ": " : "", why);
	else
		snprintf(buf, n, "%s", strcmp(status, "ok") == 0 ? child_msg : why);
}

char *sw_predicted_record(const struct sw_plan *p, const struct sw_point *pt, const char *message)
{
	struct sw_outcome o;
	memset(&o, 0, sizeof o);
	tr_utc_now(o.started_at, sizeof o.started_at);
	snprintf(o.finished_at, sizeof o.finished_at, "%s", o.started_at);
	cJSON *j = made_record(p, pt, &o);
	if (!j)
		return NULL;
	int bad = put(j, "id", cJSON_CreateString(pt->id)) || put(j, "status", cJSON_CreateString("oom-predicted")) ||
		  put(j, "message", cJSON_CreateString(message)) || put(j, "sweep", cJSON_CreateString(p->name)) ||
		  put(j, "repeat", cJSON_CreateNumber(pt->repeat)) || put(j, "point", cJSON_CreateNumber(pt->index)) ||
		  put(j, "exit_code", cJSON_CreateNull()) || put(j, "wall_s", cJSON_CreateNumber(0));
	if (p->nprices)
		bad |= put(j, "price_per_hour", num_or_null(sw_plan_price(p, pt->device, "")));
	char *line = bad ? NULL : rp_utf8_repair(cJSON_PrintUnformatted(j));
	cJSON_Delete(j);
	return line;
}

char *sw_point_record(const struct sw_plan *p, const struct sw_point *pt, const struct sw_outcome *o)
{
	cJSON *j = child_record(o);
	int had_record = j != NULL;
	const char *status = sw_status_for(o->exited, o->exited ? o->exit_code : o->term_signal, o->timed_out);
	char msg[1024];
	if (!had_record && strcmp(status, "ok") == 0)
		status = "failed"; /* exit 0 but nothing to record */
	if (!j && !(j = made_record(p, pt, o)))
		return NULL;
	const cJSON *cm = cJSON_GetObjectItemCaseSensitive(j, "message");
	message_for(p, o, status, had_record, had_record && cJSON_IsString(cm) ? cm->valuestring : "", msg,
		    sizeof msg);
	double price = NAN;
	const cJSON *dev = cJSON_GetObjectItemCaseSensitive(j, "device");
	const cJSON *devname = cJSON_GetObjectItemCaseSensitive(j, "device_name");
	if (cJSON_IsString(dev) && cJSON_IsString(devname))
		price = sw_plan_price(p, dev->valuestring, devname->valuestring);
	int bad = put(j, "id", cJSON_CreateString(pt->id)) || put(j, "status", cJSON_CreateString(status)) ||
		  put(j, "message", cJSON_CreateString(msg)) || put(j, "sweep", cJSON_CreateString(p->name)) ||
		  put(j, "repeat", cJSON_CreateNumber(pt->repeat)) || put(j, "point", cJSON_CreateNumber(pt->index)) ||
		  put(j, "exit_code", o->exited ? cJSON_CreateNumber(o->exit_code) : cJSON_CreateNull()) ||
		  put(j, "wall_s", cJSON_CreateNumber(o->wall_s));
	if (!o->exited)
		bad |= put(j, "term_signal", cJSON_CreateNumber(o->term_signal));
	if (p->time_limit_s > 0)
		bad |= put(j, "time_limit_s", cJSON_CreateNumber(p->time_limit_s));
	if (p->nprices)
		bad |= put(j, "price_per_hour", num_or_null(price));
	if (strcmp(status, "ok") != 0)
		bad |= put(j, "stderr_tail", cJSON_CreateString(o->stderr_tail));
	/* every field sw_entry_parse() checks is set above, so the line reads back */
	char *line = bad ? NULL : rp_utf8_repair(cJSON_PrintUnformatted(j));
	cJSON_Delete(j);
	return line;
}
