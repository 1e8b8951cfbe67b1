#include "reports/record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

char *rp_record_to_line(const struct rp_record *r)
{
	cJSON *o = rp_record_to_json(r);
	if (!o)
		return NULL;
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

void rp_config_id(char out[13], const char *model, const char *size, const char *dataset, const char *device,
		  const char *precision, int batch, int seq, int workers, int prefetch, uint64_t seed, long steps)
{
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "%s|%s|%s|%s|%s|%d|%d|%d|%d|%llu|%ld", model, size, dataset, device, precision,
			 batch, seq, workers, prefetch, (unsigned long long)seed, steps);
	uint64_t h = 0xcbf29ce484222325ull;
	for (int i = 0; i < n && i < (int)sizeof buf; i++) {
		h ^= (unsigned char)buf[i];
		h *= 0x100000001b3ull;
	}
	snprintf(out, 13, "%012llx", (unsigned long long)(h & 0xffffffffffffull));
}
