/* Running points: the status each way a child can end maps to, the record
 * made for it, and the results files (validation, torn lines, locks). The
 * children here are /bin/sh scripts standing in for `amptune train`. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cJSON.h>

#include "kernels/error.h"
#include "reports/record.h"
#include "sweeps/grid.h"
#include "sweeps/outcome.h"
#include "sweeps/results.h"
#include "sweeps/runner.h"
#include "report_fixture.h"
#include "testutil.h"

/* The whole file at path; valid until the next call. */
static const char *slurp(const char *path)
{
	static char *last;
	free(last);
	last = fx_read(path);
	ck_assert_ptr_nonnull(last);
	return last;
}

/* A whole schema-v1 record of run (id, repeat) of sweep "s", as one line. */
static const char *rec(const char *id, int repeat)
{
	static char buf[8][8192];
	static int k;
	struct rp_record r;
	k = (k + 1) % 8;
	fx_record(&r, id);
	cJSON_AddNumberToObject(r.extra, "repeat", repeat);
	cJSON_AddStringToObject(r.extra, "sweep", "s");
	char *line = rp_record_to_line(&r);
	ck_assert_ptr_nonnull(line);
	snprintf(buf[k], sizeof buf[k], "%s", line);
	free(line);
	rp_record_release(&r);
	return buf[k];
}

/* `line` with its first `from` replaced by `to` */
static const char *edit(const char *line, const char *from, const char *to)
{
	static char buf[8192];
	const char *at = strstr(line, from);
	ck_assert_ptr_nonnull(at);
	snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - line), line, to, at + strlen(from));
	return buf;
}

/* Runs `sh -c script` as a point would run. */
static int run_sh(const char *script, double limit_s, volatile sig_atomic_t *stop, struct sw_outcome *o)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	struct sw_child_opts opts = { .exe = "/bin/sh", .argv = argv, .log_path = fx_path("point.log"),
				      .log_header = "== test point ==", .time_limit_s = limit_s, .stop = stop };
	return sw_run_child(&opts, o);
}

START_TEST(test_status_mapping)
{
	ck_assert_str_eq(sw_status_for(1, 0, 0), "ok");
	ck_assert_str_eq(sw_status_for(1, 75, 0), "oom");
	ck_assert_str_eq(sw_status_for(1, 76, 0), "diverged");
	ck_assert_str_eq(sw_status_for(1, 69, 0), "unsupported");
	ck_assert_str_eq(sw_status_for(1, 1, 0), "failed");
	ck_assert_str_eq(sw_status_for(1, 64, 0), "failed");
	ck_assert_str_eq(sw_status_for(1, 65, 0), "failed");
	ck_assert_str_eq(sw_status_for(1, 130, 0), "failed");
	ck_assert_str_eq(sw_status_for(0, SIGSEGV, 0), "failed");
	ck_assert_str_eq(sw_status_for(0, SIGKILL, 1), "timeout");
	ck_assert_str_eq(sw_status_for(1, 0, 1), "timeout");
}
END_TEST

static const int exit_codes[] = { 0, 1, 64, 69, 75, 76, 143 };

START_TEST(test_child_exit_codes)
{
	struct sw_outcome o;
	char script[64];
	snprintf(script, sizeof script, "exit %d", exit_codes[_i]);
	ck_assert_int_eq(run_sh(script, 0, NULL, &o), KN_OK);
	ck_assert_int_eq(o.exited, 1);
	ck_assert_int_eq(o.exit_code, exit_codes[_i]);
	ck_assert_int_eq(o.timed_out, 0);
	ck_assert_int_eq(o.stopped, 0);
	sw_outcome_release(&o);
}
END_TEST

START_TEST(test_child_output)
{
	struct sw_outcome o;
	unlink(fx_path("point.log"));
	ck_assert_int_eq(run_sh("echo warming up; echo '{\"id\":\"x\"}'; echo err1 >&2; echo err2 >&2; exit 1", 0, NULL, &o),
			 KN_OK);
	ck_assert_str_eq(o.out, "warming up\n{\"id\":\"x\"}\n");
	ck_assert_str_eq(o.stderr_tail, "err1\nerr2\n");
	ck_assert(o.wall_s > 0 && o.wall_s < 5);
	ck_assert_int_eq(strlen(o.started_at), 20);
	const char *log = slurp(fx_path("point.log"));
	ck_assert_ptr_nonnull(strstr(log, "== test point ==\n$ sh -c echo warming up;"));
	ck_assert_ptr_nonnull(strstr(log, "\nerr1\nerr2\n== stdout ==\nwarming up\n{\"id\":\"x\"}\n== exit code 1 after "));
	sw_outcome_release(&o);
}
END_TEST

START_TEST(test_child_big_output)
{
	struct sw_outcome o;
	ck_assert_int_eq(run_sh("head -c 1000000 /dev/zero | tr '\\0' x; head -c 5000 /dev/zero | tr '\\0' e >&2", 0, NULL, &o),
			 KN_OK);
	ck_assert_int_eq(o.exit_code, 0);
	ck_assert_uint_eq(o.out_len, 1000000);
	ck_assert_uint_eq(strlen(o.stderr_tail), SW_TAIL_BYTES);
	sw_outcome_release(&o);
}
END_TEST

START_TEST(test_child_signal)
{
	struct sw_outcome o;
	ck_assert_int_eq(run_sh("echo dying >&2; kill -SEGV $$", 0, NULL, &o), KN_OK);
	ck_assert_int_eq(o.exited, 0);
	ck_assert_int_eq(o.term_signal, SIGSEGV);
	ck_assert_str_eq(sw_status_for(o.exited, o.term_signal, o.timed_out), "failed");
	sw_outcome_release(&o);
}
END_TEST

/* Past its limit a child gets SIGTERM; one that ignores it, SIGKILL SW_KILL_GRACE_S later. */
static const struct {
	const char *script;
	double limit_s;
	int signal;
	double min_s, max_s;
} timeouts[] = {
	{ "exec sleep 30", 0.3, SIGTERM, 0.3, 2.0 },
	{ "trap '' TERM; sleep 30", 0.2, SIGKILL, 0.2 + SW_KILL_GRACE_S, 0.2 + SW_KILL_GRACE_S + 1.5 },
};

START_TEST(test_child_timeout)
{
	struct sw_outcome o;
	ck_assert_int_eq(run_sh(timeouts[_i].script, timeouts[_i].limit_s, NULL, &o), KN_OK);
	ck_assert_int_eq(o.timed_out, 1);
	ck_assert_int_eq(o.term_signal, timeouts[_i].signal);
	ck_assert_msg(o.wall_s >= timeouts[_i].min_s && o.wall_s < timeouts[_i].max_s, "wall %g s", o.wall_s);
	sw_outcome_release(&o);
}
END_TEST

START_TEST(test_child_stop)
{
	struct sw_outcome o;
	volatile sig_atomic_t stop = SIGINT;
	ck_assert_int_eq(run_sh("exec sleep 30", 0, &stop, &o), KN_EINTR);
	ck_assert_int_eq(o.stopped, SIGINT);
	ck_assert_int_eq(o.timed_out, 0);
	ck_assert(o.wall_s < 2.0);
	sw_outcome_release(&o);
}
END_TEST

START_TEST(test_child_exec_fails)
{
	struct sw_outcome o;
	char *argv[] = { "nothing", NULL };
	struct sw_child_opts opts = { .exe = "/nonexistent/amptune", .argv = argv, .log_path = fx_path("x.log"),
				      .log_header = "== x ==" };
	ck_assert_int_eq(sw_run_child(&opts, &o), KN_OK);
	ck_assert_int_eq(o.exit_code, 127);
	ck_assert_str_eq(o.stderr_tail, "amptune sweep: cannot exec the point's command\n");
	sw_outcome_release(&o);
}
END_TEST

/* ---- records ---- */

static void load_point(struct sw_plan *p, struct sw_grid *g)
{
	const char *text = "[sweep]\nname = rec\nmodel = gpt\nsize = tiny\ndata = fortunes\nsteps = 5\ntime_limit_s = 0.5\n"
			   "devices = cpu\nprecisions = bf16\nbatch_sizes = 4\n[prices]\ncpu = 0.25\n";
	sw_plan_init(p);
	ck_assert_int_eq(sw_plan_parse(p, "rec.ini", text, strlen(text), NULL, 0), KN_OK);
	ck_assert_int_eq(sw_grid_expand(g, p), KN_OK);
}

static cJSON *record_of(const struct sw_outcome *o)
{
	struct sw_plan p;
	struct sw_grid g;
	load_point(&p, &g);
	char *line = sw_point_record(&p, &g.points[0], o);
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_null(strchr(line, '\n'));
	cJSON *j = cJSON_Parse(line);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, g.points[0].id);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "sweep")->valuestring, "rec");
	ck_assert_int_eq(cJSON_GetObjectItem(j, "repeat")->valueint, 1);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "point")->valueint, 0);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "schema_version")->valueint, 1);
	free(line);
	sw_grid_release(&g);
	return j;
}

static const char *str(const cJSON *j, const char *k) { return cJSON_GetObjectItem(j, k)->valuestring; }

/* What `train --json` prints: a whole record (status, message, measured step time). */
static char *child_line(const char *status, const char *message, double step_ms)
{
	struct rp_record r;
	ck_assert_int_eq(rp_record_init(&r), 0);
	strcpy(r.id, "other");
	snprintf(r.status, sizeof r.status, "%s", status);
	snprintf(r.message, sizeof r.message, "%s", message);
	strcpy(r.model, "gpt");
	strcpy(r.size, "tiny");
	strcpy(r.dataset, "fortunes");
	strcpy(r.precision, "fp32");
	strcpy(r.device, "cpu");
	strcpy(r.device_name, "AMD EPYC");
	strcpy(r.started_at, "2026-01-01T00:00:00Z");
	strcpy(r.finished_at, "2026-01-01T00:00:01Z");
	r.step_ms_p50 = step_ms;
	char *line = rp_record_to_line(&r);
	rp_record_release(&r);
	ck_assert_ptr_nonnull(line);
	return line;
}

START_TEST(test_record_from_child)
{
	struct sw_outcome o = { .exited = 1, .exit_code = 0, .wall_s = 2.5 };
	char *line = child_line("ok", "", 12.5);
	size_t n = strlen(line) + 16;
	o.out = malloc(n);
	snprintf(o.out, n, "log line\n%s\n", line);
	o.out_len = strlen(o.out);
	free(line);
	cJSON *j = record_of(&o);
	ck_assert_str_eq(str(j, "status"), "ok");
	ck_assert_str_eq(str(j, "message"), "");
	ck_assert_double_eq(cJSON_GetObjectItem(j, "step_ms_p50")->valuedouble, 12.5);
	ck_assert_double_eq(cJSON_GetObjectItem(j, "wall_s")->valuedouble, 2.5);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "exit_code")->valueint, 0);
	ck_assert_double_eq(cJSON_GetObjectItem(j, "price_per_hour")->valuedouble, 0.25);
	ck_assert_ptr_null(cJSON_GetObjectItem(j, "stderr_tail"));
	cJSON_Delete(j);
	sw_outcome_release(&o);
}
END_TEST

START_TEST(test_record_made_for_silent_child)
{
	struct sw_outcome o = { .exited = 1, .exit_code = 75, .wall_s = 0.1, .started_at = "2026-01-01T00:00:00Z" };
	o.out = strdup("");
	strcpy(o.stderr_tail, "step 1\namptune train: out of memory on 'cpu'\n");
	cJSON *j = record_of(&o);
	ck_assert_str_eq(str(j, "status"), "oom");
	ck_assert_str_eq(str(j, "message"), "amptune train: out of memory on 'cpu'");
	ck_assert_str_eq(str(j, "model"), "gpt");
	ck_assert_str_eq(str(j, "size"), "tiny");
	ck_assert_str_eq(str(j, "dataset"), "fortunes");
	ck_assert_str_eq(str(j, "device"), "cpu");
	ck_assert_str_eq(str(j, "precision"), "bf16");
	ck_assert_int_eq(cJSON_GetObjectItem(j, "batch")->valueint, 4);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "seq")->valueint, 128);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "steps")->valueint, 5);
	/* what train runs with when the plan leaves them unset, so the record repeats a finished run */
	ck_assert_int_eq(cJSON_GetObjectItem(j, "workers")->valueint, 2);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "prefetch")->valueint, 4);
	ck_assert_str_eq(str(j, "started_at"), "2026-01-01T00:00:00Z");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "step_ms_p50")));
	ck_assert_str_eq(str(j, "stderr_tail"), "step 1\namptune train: out of memory on 'cpu'\n");
	cJSON_Delete(j);
	sw_outcome_release(&o);
}
END_TEST

START_TEST(test_record_statuses)
{
	struct {
		int exited, code, timed_out;
		const char *child_status, *child_message; /* the record train printed; NULL: none */
		const char *tail, *status, *message;
	} cases[] = {
		{ 1, 0, 0, NULL, NULL, "", "failed", "exited 0 without printing a results record" },
		{ 1, 1, 0, NULL, NULL, "boom\n", "failed", "exit code 1: boom" },
		{ 1, 65, 0, "failed", "cannot open text data 'x'", "", "failed", "exit code 65: cannot open text data 'x'" },
		{ 0, SIGSEGV, 0, NULL, NULL, "last words\n", "failed", "killed by signal 11 (Segmentation fault): last words" },
		{ 0, SIGTERM, 1, NULL, NULL, "", "timeout", "exceeded time_limit_s 0.5: stopped after 0.6 s" },
		{ 1, 143, 1, "failed", "interrupted", "", "timeout", "exceeded time_limit_s 0.5: stopped after 0.6 s" },
		{ 1, 76, 0, "diverged", "training diverged at step 3", "", "diverged", "training diverged at step 3" },
		{ 1, 69, 0, NULL, NULL, "no cuda\n", "unsupported", "no cuda" },
		/* a usage error's reason, not the hint after it */
		{ 1, 64, 0, NULL, NULL, "amptune train: option '--seq' is 512, beyond the context\nsee 'amptune help train'\n",
		  "failed", "exit code 64: amptune train: option '--seq' is 512, beyond the context" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct sw_outcome o = { .exited = cases[i].exited, .exit_code = cases[i].exited ? cases[i].code : 0,
					.term_signal = cases[i].exited ? 0 : cases[i].code,
					.timed_out = cases[i].timed_out, .wall_s = 0.6 };
		o.out = cases[i].child_status ? child_line(cases[i].child_status, cases[i].child_message, 3) : strdup("");
		o.out_len = strlen(o.out);
		strcpy(o.stderr_tail, cases[i].tail);
		cJSON *j = record_of(&o);
		ck_assert_msg(strcmp(str(j, "status"), cases[i].status) == 0, "case %zu: %s", i, str(j, "status"));
		ck_assert_msg(strcmp(str(j, "message"), cases[i].message) == 0, "case %zu: %s", i, str(j, "message"));
		if (!cases[i].exited) {
			ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "exit_code")));
			ck_assert_int_eq(cJSON_GetObjectItem(j, "term_signal")->valueint, cases[i].code);
		}
		/* what train measured before it was stopped is kept */
		if (cases[i].child_status)
			ck_assert_double_eq(cJSON_GetObjectItem(j, "step_ms_p50")->valuedouble, 3);
		ck_assert_ptr_nonnull(cJSON_GetObjectItem(j, "stderr_tail"));
		cJSON_Delete(j);
		sw_outcome_release(&o);
	}
}
END_TEST

/* Output that is not a whole record of this schema is not trusted: the record is made from the settings. */
START_TEST(test_record_untrusted_output)
{
	struct sw_outcome o = { .exited = 1, .exit_code = 76, .wall_s = 0.1 };
	char *line = child_line("diverged", "x", 3);
	const char *v2 = edit(line, "\"schema_version\":1", "\"schema_version\":2");
	size_t n = strlen(v2) + 64;
	o.out = malloc(n);
	snprintf(o.out, n, "%s\n{\"schema_version\":1,\"message\":\"y\"}\n", v2);
	o.out_len = strlen(o.out);
	free(line);
	strcpy(o.stderr_tail, "diverged at 3\n");
	cJSON *j = record_of(&o);
	ck_assert_str_eq(str(j, "status"), "diverged");
	ck_assert_str_eq(str(j, "message"), "diverged at 3");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "step_ms_p50")));
	ck_assert_str_eq(str(j, "model"), "gpt");
	cJSON_Delete(j);
	sw_outcome_release(&o);
}
END_TEST

/* ---- results files ---- */

START_TEST(test_results_read)
{
	struct sw_results r;
	struct sw_read_note note;
	const char *path = fx_path("r.jsonl");
	char text[32768];
	snprintf(text, sizeof text, "%s\n\n%s\n%s\n", rec("a", 1), rec("b", 1), rec("a", 2));
	fx_write_text(path, text);
	sw_results_init(&r);
	ck_assert_int_eq(sw_results_read(&r, path, &note), KN_OK);
	ck_assert_int_eq(r.n, 3);
	ck_assert_int_eq(note.torn_line, 0);
	ck_assert_int_eq(sw_results_find(&r, "a", 2), 2);
	ck_assert_int_eq(sw_results_find(&r, "b", 2), -1);
	ck_assert_int_eq(r.e[1].lineno, 3);
	ck_assert_str_eq(r.e[1].file, path);
	ck_assert_str_eq(r.e[1].sweep, "s");
	ck_assert_int_eq(r.e[1].point, -1);
	ck_assert_int_eq(sw_results_read(&r, fx_path("missing.jsonl"), &note), KN_OK);
	ck_assert_int_eq(r.n, 3);
	sw_results_release(&r);
}
END_TEST

START_TEST(test_results_bad_lines)
{
	const char *good = rec("a", 1);
	struct {
		char line[8192];
		const char *msg;
	} cases[] = {
		{ "not json", "not JSON (error near byte 1)" },
		{ "[1,2]", "a record must be a JSON object, got an array" },
		{ "", "text after the JSON object at byte" },
		{ "", "schema_version 2 is not supported (this amptune reads version 1)" },
		{ "", "missing field 'id'" },
		{ "", "field 'status' has unknown value 'great'" },
		{ "", "field 'id' is empty" },
		{ "", "field 'repeat' must be a whole number >= 1, got 0" },
		{ "", "field 'point' must be a whole number >= 0, got a fraction or negative number" },
		{ "", "field 'sweep' must be a string, got a number" },
	};
	snprintf(cases[2].line, sizeof cases[2].line, "%s trailing", good);
	snprintf(cases[3].line, sizeof cases[3].line, "%s", edit(good, "\"schema_version\":1", "\"schema_version\":2"));
	snprintf(cases[4].line, sizeof cases[4].line, "%s", edit(good, "\"id\":\"a\",", ""));
	snprintf(cases[5].line, sizeof cases[5].line, "%s", edit(good, "\"status\":\"ok\"", "\"status\":\"great\""));
	snprintf(cases[6].line, sizeof cases[6].line, "%s", edit(good, "\"id\":\"a\"", "\"id\":\"\""));
	snprintf(cases[7].line, sizeof cases[7].line, "%s", edit(good, "\"repeat\":1", "\"repeat\":0"));
	snprintf(cases[8].line, sizeof cases[8].line, "%s", edit(good, "\"repeat\":1", "\"repeat\":1,\"point\":1.5"));
	snprintf(cases[9].line, sizeof cases[9].line, "%s", edit(good, "\"sweep\":\"s\"", "\"sweep\":7"));
	const char *path = fx_path("bad.jsonl");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct sw_results r;
		struct sw_read_note note;
		static char text[1 << 17];
		char want[1024];
		snprintf(text, sizeof text, "%s\n%s\n%s\n", good, cases[i].line, rec("b", 1));
		fx_write_text(path, text);
		sw_results_init(&r);
		ck_assert_int_eq(sw_results_read(&r, path, &note), KN_EDATA);
		snprintf(want, sizeof want, "'%s' line 2: %s", path, cases[i].msg);
		ck_assert_msg(strncmp(kn_last_error(), want, strlen(want)) == 0, "case %zu: %s", i, kn_last_error());
		sw_results_release(&r);
	}
}
END_TEST

START_TEST(test_torn_last_line)
{
	struct sw_results r;
	struct sw_read_note note;
	char text[32768], want[32768];
	const char *path = fx_path("torn.jsonl"), *torn = fx_path("torn.jsonl.torn");
	unlink(torn);
	snprintf(text, sizeof text, "%s\n%s\n%.40s", rec("a", 1), rec("b", 1), rec("c", 1));
	fx_write_text(path, text);
	sw_results_init(&r);
	ck_assert_int_eq(sw_results_read(&r, path, &note), KN_OK); /* readers report and ignore */
	ck_assert_int_eq(r.n, 2);
	ck_assert_int_eq(note.torn_line, 3);
	ck_assert_uint_eq(note.torn_bytes, 40);
	sw_results_release(&r);
	/* the writer cuts it off, keeping the bytes aside, then appends whole lines */
	ck_assert_int_eq(sw_results_append(path, rec("c", 1), &note), KN_OK);
	ck_assert_int_eq(note.torn_line, 3);
	snprintf(want, sizeof want, "%s\n%s\n%s\n", rec("a", 1), rec("b", 1), rec("c", 1));
	ck_assert_str_eq(slurp(path), want);
	snprintf(want, sizeof want, "%.40s\n", rec("c", 1));
	ck_assert_str_eq(slurp(torn), want);
	/* a whole record without its newline is kept */
	snprintf(text, sizeof text, "%s\n%s", rec("a", 1), rec("b", 1));
	fx_write_text(path, text);
	ck_assert_int_eq(sw_results_repair(path, &note), KN_OK);
	ck_assert_int_eq(note.torn_line, 0);
	snprintf(want, sizeof want, "%s\n%s\n", rec("a", 1), rec("b", 1));
	ck_assert_str_eq(slurp(path), want);
}
END_TEST

START_TEST(test_append_creates)
{
	struct sw_read_note note;
	const char *path = fx_path("new.jsonl");
	unlink(path);
	char want[32768];
	ck_assert_int_eq(sw_results_append(path, rec("a", 1), &note), KN_OK);
	ck_assert_int_eq(sw_results_append(path, rec("a", 2), &note), KN_OK);
	snprintf(want, sizeof want, "%s\n%s\n", rec("a", 1), rec("a", 2));
	ck_assert_str_eq(slurp(path), want);
	ck_assert_int_eq(sw_results_append("/nonexistent/dir/r.jsonl", rec("a", 1), &note), KN_ERR);
	ck_assert_str_eq(kn_last_error(), "cannot open '/nonexistent/dir/r.jsonl': No such file or directory");
}
END_TEST

START_TEST(test_list_dir)
{
	char dir[600], path[700];
	char **paths;
	int n;
	snprintf(dir, sizeof dir, "%s/sweepdir", tu_tmpdir());
	snprintf(path, sizeof path, "%s/shards", dir);
	ck_assert_int_eq(sw_mkdirs(path), KN_OK);
	static const char *const names[] = { "results.jsonl", "shards/10.jsonl", "shards/2.jsonl", "shards/0.jsonl",
					     "shards/0.lock", "shards/x.jsonl", "shards/1.jsonl.torn" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		fx_write_text(path, "");
	}
	ck_assert_int_eq(sw_results_list_dir(dir, &paths, &n), KN_OK);
	ck_assert_int_eq(n, 4);
	static const char *const want[] = { "results.jsonl", "shards/0.jsonl", "shards/2.jsonl", "shards/10.jsonl" };
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, want[i]);
		ck_assert_str_eq(paths[i], path);
	}
	sw_free_paths(paths, n);
}
END_TEST

START_TEST(test_locks)
{
	int a, b, unsupported;
	const char *path = fx_path("lock");
	ck_assert_int_eq(sw_lock_acquire(path, LOCK_EX, "busy here", &a, &unsupported), KN_OK);
	ck_assert_int_eq(unsupported, 0);
	ck_assert_int_eq(sw_lock_acquire(path, LOCK_SH, "busy here", &b, &unsupported), KN_ERR);
	char want[800];
	snprintf(want, sizeof want, "busy here (lock '%s' is held)", path);
	ck_assert_str_eq(kn_last_error(), want);
	sw_lock_release(a);
	ck_assert_int_eq(sw_lock_acquire(path, LOCK_SH, "busy here", &a, &unsupported), KN_OK);
	ck_assert_int_eq(sw_lock_acquire(path, LOCK_SH, "busy here", &b, &unsupported), KN_OK);
	sw_lock_release(a);
	sw_lock_release(b);
}
END_TEST

START_TEST(test_write_atomic)
{
	const char *path = fx_path("atomic.txt");
	ck_assert_int_eq(sw_write_atomic(path, "one\n", 4), KN_OK);
	ck_assert_int_eq(sw_write_atomic(path, "two\n", 4), KN_OK);
	ck_assert_str_eq(slurp(path), "two\n");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sweep_run");
	TCase *tc = tcase_create("run");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_status_mapping);
	tcase_add_loop_test(tc, test_child_exit_codes, 0, sizeof exit_codes / sizeof *exit_codes);
	tcase_add_test(tc, test_child_output);
	tcase_add_test(tc, test_child_big_output);
	tcase_add_test(tc, test_child_signal);
	tcase_add_loop_test(tc, test_child_timeout, 0, sizeof timeouts / sizeof *timeouts);
	tcase_add_test(tc, test_child_stop);
	tcase_add_test(tc, test_child_exec_fails);
	tcase_add_test(tc, test_record_from_child);
	tcase_add_test(tc, test_record_made_for_silent_child);
	tcase_add_test(tc, test_record_statuses);
	tcase_add_test(tc, test_record_untrusted_output);
	tcase_add_test(tc, test_results_read);
	tcase_add_test(tc, test_results_bad_lines);
	tcase_add_test(tc, test_torn_last_line);
	tcase_add_test(tc, test_append_creates);
	tcase_add_test(tc, test_list_dir);
	tcase_add_test(tc, test_locks);
	tcase_add_test(tc, test_write_atomic);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
