/* Reading results: strict records, file:line errors, torn lines, repeats, runs recorded twice, plan.ini. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers/report_fixture.h"
#include "kernels/error.h"
#include "reports/record.h"
#include "reports/results.h"

static char *good_line(void)
{
	struct rp_record r;
	fx_record(&r, "abc");
	cJSON_AddNumberToObject(r.extra, "timed_steps", 97);
	char *s = rp_record_to_line(&r);
	rp_record_release(&r);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* line with the first `from` replaced by `to` */
static char *with(const char *line, const char *from, const char *to)
{
	const char *p = strstr(line, from);
	ck_assert_msg(p != NULL, "fixture lacks '%s'", from);
	char *out = malloc(strlen(line) + strlen(to) + 1);
	sprintf(out, "%.*s%s%s", (int)(p - line), line, to, p + strlen(from));
	return out;
}

/* Parses `line` and checks the status and exact message. */
static void expect_parse(const char *line, int status, const char *msg)
{
	struct rp_record r;
	ck_assert_int_eq(rp_record_init(&r), 0);
	int rc = rp_record_parse(&r, line, strlen(line));
	rp_record_release(&r);
	ck_assert_int_eq(rc, status);
	if (msg)
		ck_assert_str_eq(kn_last_error(), msg);
}

START_TEST(test_round_trip)
{
	char *line = good_line();
	struct rp_record r;
	ck_assert_int_eq(rp_record_init(&r), 0);
	ck_assert_int_eq(rp_record_parse(&r, line, strlen(line)), KN_OK);
	ck_assert_str_eq(r.id, "abc");
	ck_assert_str_eq(r.device_name, "Test CPU (4 threads)");
	ck_assert_int_eq(r.batch, 16);
	ck_assert_int_eq(r.steps, 100);
	ck_assert_double_eq(r.samples_per_sec, 160);
	ck_assert(isnan(r.mfu)); /* null: not measured */
	ck_assert(isnan(r.peak_device_bytes_driver));
	ck_assert_int_eq(r.n_loss_curve, 2);
	ck_assert_double_eq(r.loss_curve[1].loss, 2.5);
	ck_assert_int_eq(cJSON_GetObjectItem(r.extra, "timed_steps")->valueint, 97);
	char *again = rp_record_to_line(&r);
	ck_assert_str_eq(again, line); /* the reader keeps everything the writer wrote */
	free(again);
	rp_record_release(&r);
	free(line);
}
END_TEST

START_TEST(test_bad_records)
{
	char *g = good_line(), *b;
	expect_parse("{\"schema_version\":1", KN_EDATA, "not JSON (error near byte 19)");
	expect_parse("[1,2]", KN_EDATA, "a record must be a JSON object, got an array");
	expect_parse("{} x", KN_EDATA, "text after the JSON object at byte 4");
	expect_parse("{\"id\":\"x\"}", KN_EDATA, "missing field 'schema_version'");
	b = with(g, "\"schema_version\":1", "\"schema_version\":2");
	expect_parse(b, KN_EDATA, "schema_version 2 is not supported (this amptune reads version 1)");
	free(b);
	b = with(g, "\"schema_version\":1", "\"schema_version\":\"1\"");
	expect_parse(b, KN_EDATA, "field 'schema_version' must be a number, got a string");
	free(b);
	b = with(g, "\"batch\":16,", "");
	expect_parse(b, KN_EDATA, "missing field 'batch'");
	free(b);
	b = with(g, "\"batch\":16", "\"batch\":\"16\"");
	expect_parse(b, KN_EDATA, "field 'batch' must be a whole number >= 0, got a string");
	free(b);
	b = with(g, "\"batch\":16", "\"batch\":16.5");
	expect_parse(b, KN_EDATA, "field 'batch' must be a whole number >= 0, got a fraction or negative number");
	free(b);
	b = with(g, "\"device\":\"cpu\"", "\"device\":7");
	expect_parse(b, KN_EDATA, "field 'device' must be a string, got a number");
	free(b);
	b = with(g, "\"step_ms_p50\":100", "\"step_ms_p50\":-1");
	expect_parse(b, KN_EDATA, "field 'step_ms_p50' must be >= 0, got -1");
	free(b);
	b = with(g, "\"samples_per_sec\":160", "\"samples_per_sec\":true");
	expect_parse(b, KN_EDATA, "field 'samples_per_sec' must be a number or null, got a boolean");
	free(b);
	b = with(g, "\"data_wait_frac\":0.01", "\"data_wait_frac\":1.5");
	expect_parse(b, KN_EDATA, "field 'data_wait_frac' must be in [0, 1], got 1.5");
	free(b);
	b = with(g, "\"epoch_s_extrapolated\":false", "\"epoch_s_extrapolated\":0");
	expect_parse(b, KN_EDATA, "field 'epoch_s_extrapolated' must be true or false, got a number");
	free(b);
	b = with(g, "\"status\":\"ok\"", "\"status\":\"great\"");
	expect_parse(b, KN_EDATA, "field 'status' has unknown value 'great'");
	free(b);
	b = with(g, "\"loader\":{}", "\"loader\":[]");
	expect_parse(b, KN_EDATA, "field 'loader' must be an object, got an array");
	free(b);
	b = with(g, "[99,2.5]", "[99]");
	expect_parse(b, KN_EDATA, "field 'loss_curve' item 1 must be [step, loss or null]");
	free(b);
	b = with(g, "\"id\":\"abc\"", "\"id\":\"abc\",\"id\":\"def\"");
	expect_parse(b, KN_EDATA, "field 'id' appears twice");
	free(b);
	b = with(g, "\"precision\":\"fp32\"", "\"precision\":\"fp32-with-a-very-long-name\"");
	expect_parse(b, KN_EDATA, "field 'precision' is longer than 7 bytes");
	free(b);
	b = with(g, "\"final_loss\":2.5", "\"final_loss\":1e999");
	expect_parse(b, KN_EDATA, "field 'final_loss' is out of range");
	free(b);
	free(g);
}
END_TEST

/* The values the schema allows, and the fields a sweep adds: one reader for every command. */
START_TEST(test_bad_values)
{
	char *g = good_line(), *b;
	static const struct {
		const char *from, *to, *msg; /* msg NULL: accepted */
	} cases[] = {
		{ "\"id\":\"abc\"", "\"id\":\"\"", "field 'id' is empty" },
		{ "\"model\":\"gpt\"", "\"model\":\"rnn\"", "field 'model' has unknown value 'rnn'" },
		{ "\"model\":\"gpt\"", "\"model\":\"cnn\"", NULL },
		{ "\"precision\":\"fp32\"", "\"precision\":\"fp8\"", "field 'precision' has unknown value 'fp8'" },
		{ "\"precision\":\"fp32\"", "\"precision\":\"fp64\"", "field 'precision' has unknown value 'fp64'" },
		{ "\"precision\":\"fp32\"", "\"precision\":\"bf16\"", NULL },
		{ "\"device\":\"cpu\"", "\"device\":\"tpu\"", "field 'device' has unknown value 'tpu'" },
		{ "\"device\":\"cpu\"", "\"device\":\"cuda\"", NULL },
		{ "\"device\":\"cpu\"", "\"device\":\"auto\"", NULL }, /* a point that never opened a backend */
		{ "\"started_at\":\"2026-01-01T00:00:00Z\"", "\"started_at\":\"yesterday\"",
		  "field 'started_at' must be a UTC time like 2026-11-24T19:25:52Z, got 'yesterday'" },
		{ "\"finished_at\":\"2026-01-01T00:01:00Z\"", "\"finished_at\":\"2026-01-01 00:01:00\"",
		  "field 'finished_at' must be a UTC time like 2026-11-24T19:25:52Z, got '2026-01-01 00:01:00'" },
		{ "\"finished_at\":\"2026-01-01T00:01:00Z\"", "\"finished_at\":\"2026-01-01T00:01:00Zx\"",
		  "field 'finished_at' must be a UTC time like 2026-11-24T19:25:52Z, got '2026-01-01T00:01:00Zx'" },
		{ "\"finished_at\":\"2026-01-01T00:01:00Z\"", "\"finished_at\":\"\"",
		  "field 'finished_at' must be a UTC time like 2026-11-24T19:25:52Z, got ''" },
		{ "\"timed_steps\":97", "\"timed_steps\":97,\"repeat\":\"1\"",
		  "field 'repeat' must be a whole number >= 1, got a string" },
		{ "\"timed_steps\":97", "\"timed_steps\":97,\"repeat\":0", "field 'repeat' must be a whole number >= 1, got 0" },
		{ "\"timed_steps\":97", "\"timed_steps\":97,\"repeat\":3", NULL },
		{ "\"timed_steps\":97", "\"timed_steps\":97,\"point\":-1",
		  "field 'point' must be a whole number >= 0, got a fraction or negative number" },
		{ "\"timed_steps\":97", "\"timed_steps\":97,\"point\":0", NULL },
		{ "\"timed_steps\":97", "\"timed_steps\":97,\"price_per_hour\":-1", "field 'price_per_hour' must be >= 0, got -1" },
		{ "\"timed_steps\":97", "\"timed_steps\":97,\"price_per_hour\":\"1\"",
		  "field 'price_per_hour' must be a number or null, got a string" },
		{ "\"timed_steps\":97", "\"timed_steps\":97,\"price_per_hour\":null", NULL },
		{ "\"timed_steps\":97", "\"timed_steps\":97,\"sweep\":7", "field 'sweep' must be a string, got a number" },
		{ "\"timed_steps\":97",
		  "\"timed_steps\":97,\"sweep\":\"0123456789012345678901234567890123456789012345678901234567890123\"",
		  "field 'sweep' is longer than 63 bytes" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct rp_record r;
		b = with(g, cases[i].from, cases[i].to);
		ck_assert_int_eq(rp_record_init(&r), 0);
		int rc = rp_record_parse(&r, b, strlen(b));
		ck_assert_msg(rc == (cases[i].msg ? KN_EDATA : KN_OK), "case %zu: %s", i, kn_last_error());
		if (cases[i].msg)
			ck_assert_str_eq(kn_last_error(), cases[i].msg);
		else /* a sweep's fields stay with the record */
			ck_assert_int_eq(cJSON_GetArraySize(r.extra), strstr(cases[i].to, "timed_steps\":97,") ? 2 : 1);
		rp_record_release(&r);
		free(b);
	}
	free(g);
}
END_TEST

/* A time must exist: month 1-12, a day of that month (leap years), hour < 24, minute < 60, second < 61
 * (a leap second); started_at and finished_at alike. */
START_TEST(test_times_exist)
{
	static const struct {
		const char *t, *why; /* why NULL: accepted */
	} cases[] = {
		{ "2026-13-45T99:99:99Z", "month 13 does not exist" },
		{ "2026-00-01T00:00:00Z", "month 00 does not exist" },
		{ "2026-01-00T00:00:00Z", "day 00 does not exist in a month of 31 days" },
		{ "2026-04-31T00:00:00Z", "day 31 does not exist in a month of 30 days" },
		{ "2026-02-29T00:00:00Z", "day 29 does not exist in a month of 28 days" },
		{ "1900-02-29T00:00:00Z", "day 29 does not exist in a month of 28 days" },
		{ "2024-02-30T00:00:00Z", "day 30 does not exist in a month of 29 days" },
		{ "2024-02-29T00:00:00Z", NULL },
		{ "2000-02-29T00:00:00Z", NULL },
		{ "2026-12-31T24:00:00Z", "hour 24 does not exist" },
		{ "2026-12-31T23:60:00Z", "minute 60 does not exist" },
		{ "2026-12-31T23:59:61Z", "second 61 does not exist" },
		{ "2016-12-31T23:59:60Z", NULL },
		{ "2026-12-31T23:59:59Z", NULL },
	};
	static const char *const names[] = { "started_at", "finished_at" };
	static const char *const was[] = { "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z" };
	char *g = good_line();
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		for (int k = 0; k < 2; k++) {
			char from[64], to[64], msg[256];
			snprintf(from, sizeof from, "\"%s\":\"%s\"", names[k], was[k]);
			snprintf(to, sizeof to, "\"%s\":\"%s\"", names[k], cases[i].t);
			snprintf(msg, sizeof msg, "field '%s' must be a UTC time like 2026-11-24T19:25:52Z, got '%s' (%s)",
				 names[k], cases[i].t, cases[i].why ? cases[i].why : "");
			char *b = with(g, from, to);
			expect_parse(b, cases[i].why ? KN_EDATA : KN_OK, cases[i].why ? msg : NULL);
			free(b);
		}
	}
	free(g);
}
END_TEST

/* Parses n bytes (which may hold NULs) and checks the exact message. */
static void expect_parse_n(const char *line, size_t n, int status, const char *msg)
{
	struct rp_record r;
	ck_assert_int_eq(rp_record_init(&r), 0);
	int rc = rp_record_parse(&r, line, n);
	rp_record_release(&r);
	ck_assert_msg(rc == status, "%s", kn_last_error());
	if (msg)
		ck_assert_str_eq(kn_last_error(), msg);
}

START_TEST(test_control_characters)
{
	/* raw bytes below 0x20 are not JSON: inside a string a NUL would cut the value short */
	char *g = good_line(), *b = with(g, "\"size\":\"tiny\"", "\"size\":\"ti@ny\"");
	char *at = strchr(strstr(b, "\"size\""), '@');
	char want[128];
	snprintf(want, sizeof want, "not JSON (control character 0x00 at byte %ld)", (long)(at - b) + 1);
	*at = 0;
	expect_parse_n(b, strlen(g) + 1, KN_EDATA, want);
	*at = 1;
	snprintf(want, sizeof want, "not JSON (control character 0x01 at byte %ld)", (long)(at - b) + 1);
	expect_parse(b, KN_EDATA, want);
	*at = '\t'; /* a tab is whitespace between values, never raw inside a string */
	snprintf(want, sizeof want, "not JSON (control character 0x09 at byte %ld)", (long)(at - b) + 1);
	expect_parse(b, KN_EDATA, want);
	free(b);
	/* after an escaped quote the string goes on */
	b = with(g, "\"size\":\"tiny\"", "\"size\":\"t\\\"@\"");
	at = strchr(b, '@');
	*at = '\t';
	snprintf(want, sizeof want, "not JSON (control character 0x09 at byte %ld)", (long)(at - b) + 1);
	expect_parse(b, KN_EDATA, want);
	free(b);
	/* outside strings: tab and CR are whitespace; a NUL is not */
	b = with(g, "\"size\":\"tiny\"", "\"size\":\t\"tiny\"\r");
	expect_parse(b, KN_OK, NULL);
	free(b);
	b = with(g, "\"size\":\"tiny\"", "\"size\":@\"tiny\"");
	at = strchr(b, '@');
	*at = 0;
	snprintf(want, sizeof want, "not JSON (control character 0x00 at byte %ld)", (long)(at - b) + 1);
	expect_parse_n(b, strlen(g) + 1, KN_EDATA, want);
	free(b);
	/* escapes stay allowed */
	b = with(g, "\"message\":\"\"", "\"message\":\"a\\tb\\n\\u0001\"");
	expect_parse(b, KN_OK, NULL);
	free(b);
	/* but an escaped NUL would cut the C string short, silently: refused; an escaped backslash
	 * followed by the text u0000 is not one */
	b = with(g, "\"message\":\"\"", "\"message\":\"ab\\u0000cd\"");
	snprintf(want, sizeof want, "a NUL character (\\u0000) in a string at byte %ld",
		 (long)(strstr(b, "\\u0000") - b) + 1);
	expect_parse(b, KN_EDATA, want);
	free(b);
	b = with(g, "\"message\":\"\"", "\"message\":\"ab\\\\u0000cd\"");
	expect_parse(b, KN_OK, NULL);
	free(b);

	/* in a file: named with its line; a NUL mid-line does not end the line */
	b = with(g, "\"size\":\"tiny\"", "\"size\":\"ti@ny\"");
	at = strchr(strstr(b, "\"size\""), '@');
	long off = (long)(at - b) + 1;
	*at = 0;
	size_t gl = strlen(g), bl = gl + 1;
	char *text = malloc(gl + bl + 4);
	memcpy(text, g, gl);
	text[gl] = '\n';
	memcpy(text + gl + 1, b, bl);
	text[gl + 1 + bl] = '\n';
	const char *path = fx_path("nul.jsonl");
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, gl + bl + 2, f), gl + bl + 2);
	fclose(f);
	struct rp_results res;
	ck_assert_int_eq(rp_results_load(&res, path), KN_EDATA);
	char want_file[1400];
	snprintf(want_file, sizeof want_file, "%s:2: not JSON (control character 0x00 at byte %ld)", path, off);
	ck_assert_str_eq(kn_last_error(), want_file);
	free(text);
	free(b);
	free(g);
}
END_TEST

START_TEST(test_file_errors_name_file_and_line)
{
	struct rp_results res;
	char *g = good_line(), *bad = with(g, "\"seq\":128", "\"seq\":null");
	const char *path = fx_path("bad.jsonl");
	char *text = malloc(3 * strlen(g) + 16);
	sprintf(text, "%s\n\n%s\n", g, bad);
	fx_write_text(path, text);
	ck_assert_int_eq(rp_results_load(&res, path), KN_EDATA);
	char want[1400];
	snprintf(want, sizeof want, "%s:3: field 'seq' must be a whole number >= 0, got null", path);
	ck_assert_str_eq(kn_last_error(), want);

	sprintf(text, "%s\nnot json\n%s\n", g, g);
	fx_write_text(path, text);
	ck_assert_int_eq(rp_results_load(&res, path), KN_EDATA);
	snprintf(want, sizeof want, "%s:2: not JSON (error near byte 1)", path);
	ck_assert_str_eq(kn_last_error(), want);

	fx_write_text(path, "");
	ck_assert_int_eq(rp_results_load(&res, path), KN_EDATA);
	snprintf(want, sizeof want, "'%s' holds no records", path);
	ck_assert_str_eq(kn_last_error(), want);

	ck_assert_int_eq(rp_results_load(&res, "/nonexistent/sweep"), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), "'/nonexistent/sweep': No such file or directory");

	const char *dir = fx_path("emptydir");
	mkdir(dir, 0755);
	ck_assert_int_eq(rp_results_load(&res, dir), KN_EDATA);
	snprintf(want, sizeof want, "'%s' has no results.jsonl (not a sweep directory, or no point finished)", dir);
	ck_assert_str_eq(kn_last_error(), want);
	char shards[1100];
	snprintf(shards, sizeof shards, "%s/shards", dir);
	mkdir(shards, 0755);
	ck_assert_int_eq(rp_results_load(&res, dir), KN_EDATA);
	snprintf(want, sizeof want, "'%s' has no results.jsonl: its shards are not merged yet (run 'amptune merge %s')", dir,
		 dir);
	ck_assert_str_eq(kn_last_error(), want);
	free(text);
	free(bad);
	free(g);
}
END_TEST

START_TEST(test_torn_last_line)
{
	struct rp_results res;
	char *g = good_line();
	const char *path = fx_path("torn.jsonl");
	char *text = malloc(3 * strlen(g) + 16);
	/* a complete record, then an append cut short (no newline) */
	sprintf(text, "%s\n%.*s", g, (int)strlen(g) / 2, g);
	fx_write_text(path, text);
	ck_assert_int_eq(rp_results_load(&res, path), KN_OK);
	ck_assert_int_eq(res.n, 1);
	ck_assert_int_eq(res.torn_line, 2);
	rp_results_release(&res);
	/* the same cut line followed by a newline is corruption, not a torn append */
	sprintf(text, "%s\n%.*s\n", g, (int)strlen(g) / 2, g);
	fx_write_text(path, text);
	ck_assert_int_eq(rp_results_load(&res, path), KN_EDATA);
	/* a last line without newline that parses is a record */
	sprintf(text, "%s\n%s", g, g);
	fx_write_text(path, text);
	ck_assert_int_eq(rp_results_load(&res, path), KN_OK);
	ck_assert_int_eq(res.n, 2);
	ck_assert_int_eq(res.torn_line, 0);
	ck_assert_int_eq(res.lines[1], 2);
	rp_results_release(&res);
	/* a file holding only a torn line has no records */
	sprintf(text, "%.*s", (int)strlen(g) / 2, g);
	fx_write_text(path, text);
	ck_assert_int_eq(rp_results_load(&res, path), KN_EDATA);
	ck_assert_ptr_nonnull(strstr(kn_last_error(), "holds no records (only a torn line)"));
	free(text);
	free(g);
}
END_TEST

/* Writes the records (releasing them) and loads them: KN_OK when `msg` is NULL,
 * else KN_EDATA with "PATH:" + msg. */
static void expect_repeats(struct rp_record *r, int n, const char *msg)
{
	struct rp_results res;
	const char *path = fx_path("repeats.jsonl");
	fx_write_records(path, r, n);
	int rc = rp_results_load(&res, path);
	if (!msg) {
		ck_assert_msg(rc == KN_OK, "%s", kn_last_error());
		ck_assert_int_eq(res.n, n);
		rp_results_release(&res);
		return;
	}
	ck_assert_int_eq(rc, KN_EDATA);
	char want[1400];
	snprintf(want, sizeof want, "%s:%s", path, msg);
	ck_assert_str_eq(kn_last_error(), want);
}

START_TEST(test_repeats_must_agree)
{
	struct rp_record r[3];
	for (int i = 0; i < 3; i++)
		fx_record(&r[i], "same");
	r[1].samples_per_sec = 170; /* a repeat: measurements differ ... */
	strcpy(r[1].device, "auto"); /* ... and so may the form of the device (a sweep's record of a killed child) */
	strcpy(r[2].precision, "bf16"); /* not a repeat */
	expect_repeats(r, 3, "3: id 'same' repeats with precision 'bf16', not 'fp32' as on line 1");

	/* every setting of the configuration counts, each named in the error */
	static const char *const msgs[] = {
		"2: id 'same' repeats with batch 8, not 16 as on line 1",
		"2: id 'same' repeats with seq 64, not 128 as on line 1",
		"2: id 'same' repeats with workers 2, not 0 as on line 1", /* 0 workers is a setting */
		"2: id 'same' repeats with prefetch 4, not 2 as on line 1",
		"2: id 'same' repeats with steps 50, not 100 as on line 1",
		"2: id 'same' repeats with size 'small', not 'tiny' as on line 1",
		"2: id 'same' repeats with seed 7, not 1337 as on line 1",
	};
	for (int k = 0; k < 7; k++) {
		fx_record(&r[0], "same");
		fx_record(&r[1], "same");
		r[0].prefetch = 2;
		switch (k) {
		case 0: r[1].batch = 8; break;
		case 1: r[1].seq = 64; break;
		case 2: r[1].workers = 2; break;
		case 3: r[1].prefetch = 4; break;
		case 4: r[1].steps = 50; break;
		case 5: strcpy(r[1].size, "small"); break;
		case 6: r[1].seed = 7; break;
		}
		expect_repeats(r, 2, msgs[k]);
	}
}
END_TEST

START_TEST(test_repeats_unresolved_values)
{
	/* a point that never ran (oom-predicted: no measurements) and one whose steps came from
	 * epochs and whose seq is the model's: 0 stands for a value the run did not resolve */
	struct rp_record r[3];
	for (int i = 0; i < 3; i++)
		fx_record(&r[i], "same");
	strcpy(r[0].status, "oom-predicted");
	strcpy(r[0].device, "auto");
	r[0].step_ms_p50 = r[0].step_ms_p95 = r[0].samples_per_sec = r[0].tokens_per_sec = NAN;
	r[0].steps = 0, r[0].seq = 0, r[0].prefetch = 0;
	r[1].prefetch = 4;
	r[2].prefetch = 4;
	expect_repeats(r, 3, NULL);

	/* a value 0 matches, but two resolved values must still agree with each other */
	for (int i = 0; i < 3; i++)
		fx_record(&r[i], "same");
	r[0].steps = 0, r[1].steps = 100, r[2].steps = 200;
	expect_repeats(r, 3, "3: id 'same' repeats with steps 200, not 100 as on line 2");

	/* workers 0 is a setting, except in a record whose backend never opened: older sweeps wrote
	 * 0 there for workers the plan left unset (a timed-out point's record) */
	for (int i = 0; i < 3; i++)
		fx_record(&r[i], "same");
	r[0].workers = 2, r[1].workers = 0, r[2].workers = 2;
	strcpy(r[1].status, "timeout");
	strcpy(r[1].device, "auto");
	r[1].device_name[0] = 0;
	expect_repeats(r, 3, NULL);
	for (int i = 0; i < 3; i++)
		fx_record(&r[i], "same");
	r[0].workers = 2, r[1].workers = 0, r[2].workers = 2;
	strcpy(r[1].status, "timeout"); /* it ran: its 0 is the setting it ran with */
	expect_repeats(r, 3, "2: id 'same' repeats with workers 0, not 2 as on line 1");

	/* records of other ids are no repeats */
	for (int i = 0; i < 3; i++)
		fx_record(&r[i], i == 1 ? "other" : "same");
	r[1].batch = 64;
	expect_repeats(r, 3, NULL);
}
END_TEST

START_TEST(test_repeats_among_many_ids)
{
	/* enough ids to grow the index several times; each id twice, the last repeat differing */
	enum { IDS = 1500 };
	char *g = good_line(), *b = with(g, "\"batch\":16", "\"batch\":8");
	size_t cap = 2 * IDS * (strlen(g) + 16);
	char *text = malloc(cap), *at = text;
	for (int i = 0; i < 2 * IDS; i++) {
		char id[32];
		snprintf(id, sizeof id, "\"id\":\"p%d\"", i % IDS);
		char *line = with(i == 2 * IDS - 1 ? b : g, "\"id\":\"abc\"", id);
		at += sprintf(at, "%s\n", line);
		free(line);
	}
	const char *path = fx_path("many.jsonl");
	fx_write_text(path, text);
	struct rp_results res;
	ck_assert_int_eq(rp_results_load(&res, path), KN_EDATA);
	char want[1400];
	snprintf(want, sizeof want, "%s:%d: id 'p%d' repeats with batch 8, not 16 as on line %d", path, 2 * IDS, IDS - 1,
		 IDS);
	ck_assert_str_eq(kn_last_error(), want);
	/* without the differing repeat, every record is read */
	*strrchr(text, '\n') = 0;
	*(strrchr(text, '\n') + 1) = 0;
	fx_write_text(path, text);
	ck_assert_int_eq(rp_results_load(&res, path), KN_OK);
	ck_assert_int_eq(res.n, 2 * IDS - 1);
	rp_results_release(&res);
	free(text);
	free(b);
	free(g);
}
END_TEST

/* Loads `text` from `path`: KN_OK with `n` records, or KN_EDATA with the message `want`. */
static void expect_load(const char *path, const char *text, int n, const char *want)
{
	struct rp_results res;
	fx_write_text(path, text);
	int rc = rp_results_load(&res, path);
	if (want) {
		ck_assert_int_eq(rc, KN_EDATA);
		ck_assert_str_eq(kn_last_error(), want);
		return;
	}
	ck_assert_msg(rc == KN_OK, "%s", kn_last_error());
	ck_assert_int_eq(res.n, n);
	ck_assert_int_eq(res.ngroups, 1);
	rp_results_release(&res);
}

/* A run (id, repeat) recorded twice: the same line is one record (as merge keeps it), two different
 * lines are refused naming both places; records without a repeat are each a run of their id. */
START_TEST(test_run_recorded_twice)
{
	char *g = good_line(), *r1 = with(g, "\"timed_steps\":97", "\"timed_steps\":97,\"repeat\":1");
	char *r2 = with(r1, "\"repeat\":1", "\"repeat\":2");
	char *r1b = with(r1, "\"samples_per_sec\":160", "\"samples_per_sec\":170");
	char *gb = with(g, "\"samples_per_sec\":160", "\"samples_per_sec\":170");
	const char *path = fx_path("twice.jsonl");
	enum { RUNS = 600 };
	char *text = malloc((2 * RUNS + 2) * (strlen(r1b) + 16)), want[2600], *at;
	static const char hint[] = " (one run measured twice: remove one of them; 'amptune merge' combines results files, "
				   "keeping a run recorded twice with the same line once)";

	sprintf(text, "%s\n%s\n%s\n", r1, r2, r1);
	expect_load(path, text, 2, NULL);
	sprintf(text, "%s\n%s\n\n%s\n", r1, r2, r1b);
	snprintf(want, sizeof want, "%s:4: conflicting records of point 'abc' repeat 1: %s:1 and %s:4 differ%s", path, path,
		 path, hint);
	expect_load(path, text, 0, want);
	/* train --json records name no run: repeats of their id, the same line or not */
	sprintf(text, "%s\n%s\n%s\n", g, g, gb);
	expect_load(path, text, 3, NULL);
	sprintf(text, "%s\n%s\n", g, r1);
	expect_load(path, text, 2, NULL);

	/* enough runs of one id to grow the index of runs: each line found again */
	at = text;
	for (int i = 1; i <= RUNS; i++) {
		char rep[32];
		snprintf(rep, sizeof rep, "\"repeat\":%d", i);
		char *line = with(r1, "\"repeat\":1", rep);
		at += sprintf(at, "%s\n%s\n", line, line);
		free(line);
	}
	expect_load(path, text, RUNS, NULL);
	char *late = with(r1b, "\"repeat\":1", "\"repeat\":7");
	sprintf(at, "%s\n", late);
	snprintf(want, sizeof want, "%s:%d: conflicting records of point 'abc' repeat 7: %s:13 and %s:%d differ%s", path,
		 2 * RUNS + 1, path, path, 2 * RUNS + 1, hint);
	expect_load(path, text, 0, want);
	free(late);
	free(text);
	free(gb);
	free(r1b);
	free(r2);
	free(r1);
	free(g);
}
END_TEST

/* Records are UTF-8: the reader refuses other bytes with their offset, the writer repairs them */
START_TEST(test_utf8)
{
	static const struct {
		const char *s;
		long bad;
	} cases[] = {
		{ "plain ascii", -1 },	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", -1 },
		{ "x\xff", 1 },		{ "\xc3", 0 },				     /* truncated */
		{ "a\xc0\xaf", 1 },	{ "\xe0\x80\xaf", 0 },		     /* overlong */
		{ "\xed\xa0\x80", 0 }, /* a UTF-16 surrogate */ { "\xf4\x90\x80\x80", 0 }, /* past U+10FFFF */
		{ "ok\xe2\x82", 2 },	{ "\xc3\x28", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		ck_assert_msg(rp_utf8_invalid(cases[i].s, strlen(cases[i].s)) == cases[i].bad, "case %zu", i);
	char *r = rp_utf8_repair(strdup("a\xff" "b\xc3"));
	ck_assert_str_eq(r, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	free(r);
	char *same = strdup("caf\xc3\xa9");
	ck_assert_ptr_eq(rp_utf8_repair(same), same);
	free(same);
	ck_assert_ptr_null(rp_utf8_repair(NULL));

	struct rp_record rec;
	fx_record(&rec, "u");
	snprintf(rec.message, sizeof rec.message, "cannot open text data '/tmp/\xff.txt'");
	char *line = rp_record_to_line(&rec);
	ck_assert_int_eq(rp_utf8_invalid(line, strlen(line)), -1);
	ck_assert_ptr_nonnull(strstr(line, "/tmp/\xef\xbf\xbd.txt"));
	struct rp_record back;
	ck_assert_int_eq(rp_record_init(&back), 0);
	ck_assert_int_eq(rp_record_parse(&back, line, strlen(line)), KN_OK);
	rp_record_release(&back);
	ck_assert_int_eq(rp_record_init(&back), 0);
	char *raw = strdup(line), *at = strstr(raw, "\xef\xbf\xbd");
	at[0] = (char)0xff, at[1] = 'x', at[2] = 'x';
	ck_assert_int_eq(rp_record_parse(&back, raw, strlen(raw)), KN_EDATA);
	char want[64];
	snprintf(want, sizeof want, "not UTF-8 (byte 0xff at byte %ld)", (long)(at - raw) + 1);
	ck_assert_str_eq(kn_last_error(), want);
	rp_record_release(&back);
	free(raw);
	free(line);
	rp_record_release(&rec);
}
END_TEST

START_TEST(test_directory_and_plan)
{
	struct rp_record r;
	struct rp_results res;
	const char *dir = fx_path("sweep");
	char path[1100];
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/results.jsonl", dir);
	fx_record(&r, "p1");
	fx_write_records(path, &r, 1);
	snprintf(path, sizeof path, "%s/plan.ini", dir);
	fx_write_text(path, "[sweep]\nname = quick & dirty\nbatch_sizes = 4, 8\n\n[prices]\nH100 = 3.25\ncpu = $0.10\n");
	ck_assert_int_eq(rp_results_load(&res, dir), KN_OK);
	ck_assert_str_eq(res.name, "quick & dirty");
	ck_assert_int_eq(res.n_plan_prices, 2);
	ck_assert_str_eq(res.plan_prices[0].device, "H100");
	ck_assert_str_eq(res.plan_prices[0].value, "3.25");
	ck_assert_str_eq(res.plan_prices[1].value, "$0.10");
	rp_results_release(&res);
	fx_write_text(path, "[sweep]\nname = x\nthis line is not ini\n");
	ck_assert_int_eq(rp_results_load(&res, dir), KN_EUSAGE);
	char want[1400];
	snprintf(want, sizeof want, "%s:3: syntax error: expected '[section]' or 'key = value'", path);
	ck_assert_str_eq(kn_last_error(), want);
	/* a plan.ini as sweep writes it: long comment lines quoting the original, a long data path */
	char text[2400], longer[1100];
	memset(longer, 'd', 1000);
	longer[1000] = 0;
	snprintf(text, sizeof text, "; plan 'x' as run from '%s'\n[sweep]\nname = long\ndata = %.480s\n[prices]\ncpu = 0.2\n", longer,
		 longer);
	fx_write_text(path, text);
	ck_assert_msg(rp_results_load(&res, dir) == KN_OK, "%s", kn_last_error());
	ck_assert_str_eq(res.name, "long");
	ck_assert_int_eq(res.n_plan_prices, 1);
	rp_results_release(&res);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reports_record");
	TCase *tc = tcase_create("reader");
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_bad_records);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_times_exist);
	tcase_add_test(tc, test_control_characters);
	tcase_add_test(tc, test_file_errors_name_file_and_line);
	tcase_add_test(tc, test_torn_last_line);
	tcase_add_test(tc, test_repeats_must_agree);
	tcase_add_test(tc, test_repeats_unresolved_values);
	tcase_add_test(tc, test_repeats_among_many_ids);
	tcase_add_test(tc, test_run_recorded_twice);
	tcase_add_test(tc, test_directory_and_plan);
	tcase_add_test(tc, test_utf8);
	suite_add_tcase(s, tc);
	return fx_run(s);
}
