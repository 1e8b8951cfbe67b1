/* Escaping: every string from a plan or results file reaches HTML, SVG, Markdown and CSV escaped. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers/report_fixture.h"
#include "kernels/error.h"
#include "reports/report.h"
#include "reports/text.h"

#define SCRIPT "<script>alert(1)</script>"
#define IMG "\"><img src=x onerror=alert(1)>"

static const char *escaped(void (*esc)(struct rp_buf *, const char *), const char *s)
{
	static char out[512];
	struct rp_buf b;
	rp_buf_init(&b);
	esc(&b, s);
	snprintf(out, sizeof out, "%s", rp_buf_str(&b));
	rp_buf_release(&b);
	return out;
}

START_TEST(test_escapes)
{
	ck_assert_str_eq(escaped(rp_buf_html, "<script>alert(\"x\")</script> & 'q'"),
			 "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;");
	/* control characters and broken UTF-8 cannot reach an XML document; good UTF-8 passes */
	ck_assert_str_eq(escaped(rp_buf_html, "a\x01z\xff\xc3(\xe9t\xc3\xa9 \xf0\x9f\x9a\x80"),
			 "a\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbdt\xc3\xa9 \xf0\x9f\x9a\x80");
	ck_assert_str_eq(escaped(rp_buf_html, "\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* a surrogate */
	ck_assert_str_eq(escaped(rp_buf_md, "a|b*c_d<e>[f](g)\n`h`"), "a\\|b\\*c\\_d&lt;e&gt;\\[f\\](g) \\`h\\`");
	ck_assert_str_eq(escaped(rp_buf_csv, "plain"), "plain");
	ck_assert_str_eq(escaped(rp_buf_csv, "a,b"), "\"a,b\"");
	ck_assert_str_eq(escaped(rp_buf_csv, "say \"hi\"\nnow"), "\"say \"\"hi\"\"\nnow\"");
	ck_assert_str_eq(escaped(rp_buf_csv, "=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
	ck_assert_str_eq(escaped(rp_buf_csv, "-1"), "\"'-1\"");
}
END_TEST

/* Every non-overlapping occurrence of needle. */
static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + strlen(needle), needle))
		n++;
	return n;
}

START_TEST(test_hostile_results)
{
	const char *dir = fx_path("hostile");
	char path[1100];
	struct rp_record r[3];
	mkdir(dir, 0755);
	fx_record(&r[0], "<i>a&\"'</i>");
	snprintf(r[0].dataset, sizeof r[0].dataset, "%s", IMG);
	fx_record(&r[1], "gpu");
	fx_device(&r[1], "NVIDIA " SCRIPT);
	snprintf(r[1].size, sizeof r[1].size, "</svg><b>x");
	r[1].epoch_s = 60;
	fx_record(&r[2], "boom");
	strcpy(r[2].status, "diverged");
	snprintf(r[2].message, sizeof r[2].message, "loss nan " SCRIPT " | *bold* _x_ , \"q\"");
	snprintf(path, sizeof path, "%s/results.jsonl", dir);
	fx_write_records(path, r, 3);
	snprintf(path, sizeof path, "%s/plan.ini", dir);
	fx_write_text(path, "[sweep]\nname = <b>sweep</b> & co\n");
	fx_report(dir);

	snprintf(path, sizeof path, "%s/report.html", dir);
	char *html = fx_read(path);
	ck_assert_ptr_nonnull(html);
	ck_assert_ptr_null(strstr(html, "<script"));
	ck_assert_ptr_null(strstr(html, "<img"));
	ck_assert_ptr_null(strstr(html, "<b>x"));
	ck_assert_ptr_null(strstr(html, "<i>a"));
	ck_assert_ptr_null(strstr(html, "<b>sweep"));
	ck_assert_int_gt(count(html, "&lt;script&gt;alert(1)&lt;/script&gt;"), 3); /* table, charts, prices */
	ck_assert_int_gt(count(html, "&lt;/svg&gt;&lt;b&gt;x"), 0);
	ck_assert_int_gt(count(html, "&lt;i&gt;a&amp;&quot;&#39;&lt;/i&gt;"), 0);
	ck_assert_int_eq(count(html, "<title>amptune report: &lt;b&gt;sweep&lt;/b&gt; &amp; co</title>"), 1);
	/* self-contained: nothing fetched, no scripts; the only URLs are XML namespaces */
	ck_assert_int_eq(count(html, "http"), count(html, "xmlns=\"http://www.w3.org/"));
	ck_assert_int_eq(count(html, "url("), count(html, "url(#hatch-"));
	ck_assert_ptr_null(strstr(html, "@import"));
	ck_assert_ptr_null(strstr(html, "<link"));
	if (system("command -v xmllint >/dev/null 2>&1") == 0) {
		char cmd[1300];
		snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
		ck_assert_int_eq(system(cmd), 0); /* well-formed: the escaping held */
	}
	free(html);

	snprintf(path, sizeof path, "%s/report.md", dir);
	char *md = fx_read(path);
	ck_assert_ptr_nonnull(md);
	ck_assert_ptr_null(strstr(md, "<script"));
	ck_assert_ptr_nonnull(strstr(md, "loss nan &lt;script&gt;alert(1)&lt;/script&gt; \\| \\*bold\\* \\_x\\_ , \"q\""));
	ck_assert_ptr_nonnull(strstr(md, "# amptune report: &lt;b&gt;sweep&lt;/b&gt; &amp; co\n"));
	free(md);

	snprintf(path, sizeof path, "%s/results.csv", dir);
	char *csv = fx_read(path);
	ck_assert_ptr_nonnull(csv);
	ck_assert_ptr_nonnull(strstr(csv, "\"loss nan " SCRIPT " | *bold* _x_ , \"\"q\"\"\""));
	ck_assert_ptr_nonnull(strstr(csv, "\"\"\"><img src=x onerror=alert(1)>\""));
	ck_assert_int_eq(count(csv, "\n"), 4); /* the header and three records: no field holds a newline */
	free(csv);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reports_html");
	TCase *tc = tcase_create("escaping");
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_hostile_results);
	suite_add_tcase(s, tc);
	return fx_run(s);
}
