/*
 * report.html in a real browser: headless Chromium renders the page and each chart; the page must
 * load whole (every chart and the footer in the DOM Chromium built), and every chart area must be
 * drawn: not blank, and with the series colours present (data, not only axes). Skips (77) when
 * Chromium is not installed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "helpers/report_fixture.h"
#include "kernels/error.h"
#include "reports/report.h"
#include "reports/svg.h"

static const char *const charts[] = { "chart-throughput", "chart-memory", "chart-loss", "chart-breakdown", "chart-cost" };
#define NCHARTS 5
#define BOX_W 800
#define BOX_H 620

static char browser[64];
static char dir[1024];

struct image {
	int w, h;
	unsigned char *rgb; /* w x h x 3 */
};

static unsigned be32(const unsigned char *p) { return (unsigned)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* 8-bit RGB or RGBA, non-interlaced: what Chromium writes. */
static int png_read(const char *path, struct image *img)
{
	size_t n = 0;
	char *f = NULL;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	fseek(fp, 0, SEEK_END);
	n = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	f = malloc(n);
	if (!f || fread(f, 1, n, fp) != n) {
		fclose(fp);
		free(f);
		return -1;
	}
	fclose(fp);
	const unsigned char *p = (const unsigned char *)f + 8;
	unsigned char *idat = malloc(n), *raw = NULL;
	size_t nidat = 0;
	int channels = 0, rc = -1;
	while (p + 12 <= (const unsigned char *)f + n) {
		unsigned len = be32(p);
		if (!memcmp(p + 4, "IHDR", 4)) {
			img->w = (int)be32(p + 8), img->h = (int)be32(p + 12);
			channels = p[17] == 6 ? 4 : p[17] == 2 ? 3 : 0;
			if (p[16] != 8 || p[20] != 0)
				channels = 0;
		} else if (!memcmp(p + 4, "IDAT", 4)) {
			memcpy(idat + nidat, p + 8, len);
			nidat += len;
		}
		p += 12 + len;
	}
	uLongf rawlen = (uLongf)img->h * (1 + (uLongf)img->w * channels);
	if (!channels || !(raw = malloc(rawlen)) || uncompress(raw, &rawlen, idat, nidat) != Z_OK)
		goto out;
	size_t stride = (size_t)img->w * channels;
	img->rgb = malloc((size_t)img->w * img->h * 3);
	unsigned char *prev = calloc(stride, 1), *cur = malloc(stride);
	for (int y = 0; y < img->h; y++) {
		const unsigned char *row = raw + (size_t)y * (stride + 1);
		for (size_t x = 0; x < stride; x++) {
			int a = x >= (size_t)channels ? cur[x - channels] : 0, b = prev[x],
			    c = x >= (size_t)channels ? prev[x - channels] : 0, v = row[1 + x];
			switch (row[0]) {
			case 1: v += a; break;
			case 2: v += b; break;
			case 3: v += (a + b) / 2; break;
			case 4: v += paeth(a, b, c); break;
			default: break;
			}
			cur[x] = (unsigned char)v;
		}
		for (int x = 0; x < img->w; x++)
			memcpy(img->rgb + ((size_t)y * img->w + x) * 3, cur + (size_t)x * channels, 3);
		unsigned char *t = prev;
		prev = cur;
		cur = t;
	}
	free(prev);
	free(cur);
	rc = 0;
out:
	free(raw);
	free(idat);
	free(f);
	return rc;
}

/* In the box at (0, y0): pixels that are not the white background, and pixels of palette colours. */
static void census(const struct image *img, int y0, int *ink, int *colour)
{
	*ink = *colour = 0;
	for (int y = y0; y < y0 + BOX_H && y < img->h; y++)
		for (int x = 0; x < BOX_W && x < img->w; x++) {
			const unsigned char *px = img->rgb + ((size_t)y * img->w + x) * 3;
			if (px[0] < 245 || px[1] < 245 || px[2] < 245)
				(*ink)++;
			for (int k = 0; k < 5; k++) {
				unsigned c = (unsigned)strtoul(rp_palette[k] + 1, NULL, 16);
				if (abs(px[0] - (int)(c >> 16)) < 12 && abs(px[1] - (int)(c >> 8 & 255)) < 12 &&
				    abs(px[2] - (int)(c & 255)) < 12) {
					(*colour)++;
					break;
				}
			}
		}
}

static int run(const char *args)
{
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "timeout 120 %s --headless --no-sandbox --disable-gpu --hide-scrollbars "
				  "--user-data-dir='%s/profile' %s 2>'%s/chromium.log'",
		 browser, dir, args, dir);
	return system(cmd);
}

/* CPU and H100 points, a fast fp16 point with a poor loss, a diverged one: every chart has data. */
START_TEST(test_write_report)
{
	struct rp_record r[6];
	const char *gpus[] = { "cpu", "cpu", "NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3",
			       "NVIDIA H100 80GB HBM3" };
	int batch[] = { 16, 32, 32, 64, 64, 128 };
	double sps[] = { 160, 250, 8000, 14000, 30000, 55000 };
	for (int i = 0; i < 6; i++) {
		char id[8];
		snprintf(id, sizeof id, "p%d", i);
		fx_record(&r[i], id);
		fx_device(&r[i], gpus[i]);
		r[i].batch = batch[i];
		r[i].samples_per_sec = sps[i];
		r[i].epoch_s = 576000 / sps[i];
		r[i].peak_device_bytes = 5e7 + 3e7 * batch[i] * (i >= 2 ? 4 : 1);
		r[i].final_loss = r[i].eval_loss = 2.5 - 0.01 * i;
		r[i].epoch_s_extrapolated = i == 1;
		r[i].n_loss_curve = 0; /* each its own curve; the diverged one climbs */
		for (int k = 0; k <= 10; k++)
			rp_record_add_loss(&r[i], k * 10, i == 5 && k > 3 ? 2.5 + k : 2.5 + 3.0 / (1 + k * (0.2 + 0.1 * i)));
		cJSON *ph = cJSON_AddObjectToObject(r[i].extra, "phase_ms");
		cJSON_AddNumberToObject(ph, "data_wait", 2 + i);
		cJSON_AddNumberToObject(ph, "forward", 30);
		cJSON_AddNumberToObject(ph, "backward", 55);
		cJSON_AddNumberToObject(ph, "optimizer", 10);
	}
	strcpy(r[4].precision, "fp16");
	r[4].final_loss = r[4].eval_loss = 3.9;
	strcpy(r[5].precision, "fp16");
	strcpy(r[5].status, "diverged");
	char path[1200];
	snprintf(path, sizeof path, "%s/results.jsonl", dir);
	fx_write_records(path, r, 6);
	fx_report(dir);
}
END_TEST

/* A page holding each chart in a fixed box, stacked, with the report's own CSS. */
static void write_chart_page(const char *html, const char *path)
{
	const char *style = strstr(html, "<style>"), *style_end = strstr(html, "</style>");
	ck_assert(style && style_end);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"/>%.*s</style></head>"
		   "<body style=\"margin:0;background:#fff\">",
		(int)(style_end - style), style);
	for (int i = 0; i < NCHARTS; i++) {
		char needle[64];
		snprintf(needle, sizeof needle, "id=\"%s\"", charts[i]);
		const char *id = strstr(html, needle);
		ck_assert_ptr_nonnull(id);
		const char *start = id;
		while (start > html && strncmp(start, "<svg", 4))
			start--;
		const char *end = strstr(id, "</svg>");
		ck_assert_ptr_nonnull(end);
		fprintf(f, "<div style=\"width:%dpx;height:%dpx;overflow:hidden;background:#fff\">%.*s</div>", BOX_W, BOX_H,
			(int)(end + 6 - start), start);
	}
	fputs("</body></html>", f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_page_loads_whole)
{
	char args[3000], path[1200];
	snprintf(args, sizeof args, "--dump-dom 'file://%s/report.html' >'%s/dom.html'", dir, dir);
	ck_assert_int_eq(run(args), 0);
	snprintf(path, sizeof path, "%s/dom.html", dir);
	char *dom = fx_read(path);
	ck_assert_ptr_nonnull(dom);
	for (int i = 0; i < NCHARTS; i++) {
		char needle[64];
		snprintf(needle, sizeof needle, "id=\"%s\"", charts[i]);
		ck_assert_msg(strstr(dom, needle) != NULL, "the browser's DOM lacks %s", charts[i]);
	}
	ck_assert_ptr_nonnull(strstr(dom, "Written by amptune"));
	ck_assert_ptr_nonnull(strstr(dom, "</html>"));
	free(dom);
	snprintf(args, sizeof args, "--window-size=1280,3000 --screenshot='%s/page.png' 'file://%s/report.html'", dir, dir);
	ck_assert_int_eq(run(args), 0);
	snprintf(path, sizeof path, "%s/chromium.log", dir);
	char *log = fx_read(path);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, "net::ERR") == NULL, "the page tried to fetch something: %s", log);
	free(log);
	struct image img = { 0 };
	snprintf(path, sizeof path, "%s/page.png", dir);
	ck_assert_int_eq(png_read(path, &img), 0);
	ck_assert_int_eq(img.w, 1280);
	ck_assert_int_eq(img.h, 3000);
	free(img.rgb);
}
END_TEST

START_TEST(test_each_chart_is_drawn)
{
	char path[1200], page[1200], args[3000];
	snprintf(path, sizeof path, "%s/report.html", dir);
	char *html = fx_read(path);
	ck_assert_ptr_nonnull(html);
	snprintf(page, sizeof page, "%s/charts.html", dir);
	write_chart_page(html, page);
	free(html);
	snprintf(args, sizeof args, "--window-size=%d,%d --screenshot='%s/charts.png' 'file://%s'", BOX_W, BOX_H * NCHARTS,
		 dir, page);
	ck_assert_int_eq(run(args), 0);
	struct image img = { 0 };
	snprintf(path, sizeof path, "%s/charts.png", dir);
	ck_assert_int_eq(png_read(path, &img), 0);
	ck_assert_int_eq(img.w, BOX_W);
	for (int i = 0; i < NCHARTS; i++) {
		int ink, colour;
		census(&img, i * BOX_H, &ink, &colour);
		ck_assert_msg(ink > BOX_W * BOX_H / 50, "%s is blank: %d non-white pixels", charts[i], ink);
		ck_assert_msg(colour > 300, "%s has no data drawn: %d pixels of series colours", charts[i], colour);
	}
	free(img.rgb);
}
END_TEST

int main(void)
{
	const char *candidates[] = { "chromium", "chromium-browser", "google-chrome" };
	for (size_t i = 0; i < 3 && !browser[0]; i++) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", candidates[i]);
		if (system(cmd) == 0)
			snprintf(browser, sizeof browser, "%s", candidates[i]);
	}
	if (!browser[0]) {
		fprintf(stderr, "check_report_browser: no chromium installed: skipped\n");
		return 77;
	}
	snprintf(dir, sizeof dir, "%s", fx_path("browser"));
	mkdir(dir, 0755);
	Suite *s = suite_create("report_browser");
	TCase *tc = tcase_create("chromium");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_write_report); /* first: the others read what it wrote */
	tcase_add_test(tc, test_page_loads_whole);
	tcase_add_test(tc, test_each_chart_is_drawn);
	suite_add_tcase(s, tc);
	return fx_run(s);
}
