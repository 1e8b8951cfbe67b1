#include "report_fixture.h"

#include "kernels/error.h"
#include "reports/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fx_record(struct rp_record *r, const char *id)
{
	ck_assert_int_eq(rp_record_init(r), 0);
	snprintf(r->id, sizeof r->id, "%s", id);
	strcpy(r->status, "ok");
	strcpy(r->model, "gpt");
	strcpy(r->size, "tiny");
	strcpy(r->dataset, "fortunes");
	strcpy(r->precision, "fp32");
	fx_device(r, "cpu");
	r->batch = 16, r->seq = 128, r->steps = 100, r->seed = 1337;
	r->step_ms_p50 = 100, r->step_ms_p95 = 110, r->samples_per_sec = 160, r->tokens_per_sec = 20480;
	r->flops_per_step = 1e10, r->epoch_s = 3600, r->peak_device_bytes = 1e8, r->peak_host_bytes = 2e8;
	r->pinned_bytes = 0, r->initial_loss = 5.5, r->final_loss = 2.5, r->eval_loss = 2.6, r->data_wait_frac = 0.01;
	rp_record_add_loss(r, 0, 5.5);
	rp_record_add_loss(r, 99, 2.5);
	cJSON_AddNumberToObject(r->versions, "threads", 4);
	cJSON_AddNumberToObject(r->versions, "host_cpus", 8);
	strcpy(r->started_at, "2026-01-01T00:00:00Z");
	strcpy(r->finished_at, "2026-01-01T00:01:00Z");
}

void fx_device(struct rp_record *r, const char *name)
{
	if (strcmp(name, "cpu") == 0) {
		strcpy(r->device, "cpu");
		strcpy(r->device_name, "Test CPU (4 threads)");
	} else {
		strcpy(r->device, "cuda");
		snprintf(r->device_name, sizeof r->device_name, "%s", name);
	}
}

const char *fx_path(const char *name)
{
	static char buf[8][1024];
	static int k;
	const char *base = getenv("TEST_TMPDIR");
	char dir[512];
	snprintf(dir, sizeof dir, "%s/reports.%ld", base && *base ? base : "/tmp", (long)getpid());
	mkdir(base && *base ? base : "/tmp", 0755);
	mkdir(dir, 0755);
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

void fx_write_records(const char *path, struct rp_record *recs, int n)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < n; i++) {
		char *line = rp_record_to_line(&recs[i]);
		ck_assert_ptr_nonnull(line);
		fprintf(f, "%s\n", line);
		free(line);
		rp_record_release(&recs[i]);
	}
	ck_assert_int_eq(fclose(f), 0);
}

void fx_write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

char *fx_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	if (s)
		s[n] = 0;
	fclose(f);
	return s;
}

void fx_report(const char *dir)
{
	struct rp_results res;
	struct rp_report rep;
	ck_assert_int_eq(rp_results_load(&res, dir), KN_OK);
	ck_assert_int_eq(rp_report_build(&rep, &res, NULL, RP_LOSS_TOL_DEFAULT), KN_OK);
	ck_assert_int_eq(rp_report_write(&rep, dir), KN_OK);
	rp_report_release(&rep);
	rp_results_release(&res);
}

int fx_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
