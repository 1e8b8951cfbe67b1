/* Datasets: every --data form opens with the right contents, and every bad
 * input is KN_EDATA (exit 65) with a message naming the file and offset. */
#include <check.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_loader/dataset.h"
#include "kernels/error.h"
#include "loader_fixtures.h"
#include "testutil.h"

#define VOCAB 256

/* The last error is KN_EDATA -> exit 65 and names every given fragment. */
#define ck_data_error(rc, ...)                                                                           \
	do {                                                                                             \
		int rc_ = (rc);                                                                          \
		const char *frags_[] = { __VA_ARGS__ };                                                   \
		ck_assert_msg(rc_ == KN_EDATA, "status %d (%s), expected KN_EDATA", rc_, kn_last_error()); \
		ck_assert_int_eq(kn_exit_code(rc_, 0), 65);                                              \
		for (size_t i_ = 0; i_ < sizeof frags_ / sizeof *frags_; i_++)                           \
			ck_assert_msg(strstr(kn_last_error(), frags_[i_]), "message '%s' lacks '%s'",        \
				      kn_last_error(), frags_[i_]);                                          \
	} while (0)

static const char *dir(const char *sub)
{
	static char path[4][600];
	static int next;
	char *p = path[next++ % 4];
	snprintf(p, sizeof path[0], "%s/%s", tu_tmpdir(), sub);
	mkdir(p, 0755);
	return p;
}

static char spec_buf[2048];
static const char *spec(const char *fmt, const char *a, const char *b)
{
	snprintf(spec_buf, sizeof spec_buf, fmt, a, b);
	return spec_buf;
}

/* --- spec parsing ------------------------------------------------------ */

START_TEST(test_spec_forms)
{
	struct dl_spec s;
	ck_assert_int_eq(dl_spec_parse("fortunes", &s), KN_OK);
	ck_assert_int_eq(s.source, DL_SRC_FORTUNES);
	ck_assert_str_eq(s.arg[0], "fortunes");
	ck_assert_int_eq(dl_spec_parse("text:fortunes", &s), KN_OK); /* a file called fortunes */
	ck_assert_int_eq(s.source, DL_SRC_TEXT);
	ck_assert_str_eq(s.arg[0], "fortunes");
	ck_assert_int_eq(dl_spec_parse("text:/a,b", &s), KN_OK);
	ck_assert_int_eq(s.source, DL_SRC_TEXT);
	ck_assert_str_eq(s.arg[0], "/a,b");
	ck_assert_int_eq(dl_spec_parse("shards:/d/train_*.bin,/d/val_*.bin", &s), KN_OK);
	ck_assert_int_eq(s.source, DL_SRC_SHARDS);
	ck_assert_int_eq(s.n_args, 2);
	ck_assert_str_eq(s.arg[1], "/d/val_*.bin");
	ck_assert_int_eq(dl_spec_parse("idx:a,b,c,d", &s), KN_OK);
	ck_assert_int_eq(s.source, DL_SRC_IDX);
	ck_assert_int_eq(s.n_args, 4);
	ck_assert_int_eq(dl_spec_parse("fashion-mnist", &s), KN_OK);
	ck_assert_int_eq(s.n_args, 0);
	ck_assert_int_eq(dl_spec_parse("fashion-mnist:/x", &s), KN_OK);
	ck_assert_str_eq(s.arg[0], "/x");
	ck_assert_int_eq(dl_spec_parse("synthetic-images:500", &s), KN_OK);
	ck_assert_int_eq(s.source, DL_SRC_SYNTH_IMAGES);
	ck_assert_int_eq(s.size, 500);
	ck_assert_int_eq(dl_spec_parse("synthetic-text", &s), KN_OK);
	ck_assert_int_eq(s.size, 0);

	const char *bad[] = { "", "idx:a", "idx:a,b,c", "idx:a,,b", "shards:a,b,c", "shards:", "synthetic-images:x",
			      "synthetic-images:5", "synthetic-text:12", "fashion-mnist:", "text:" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = dl_spec_parse(bad[i], &s);
		ck_assert_msg(rc == KN_EUSAGE, "'%s' gave %d", bad[i], rc);
		ck_assert_msg(strstr(kn_last_error(), "--data"), "'%s': %s", bad[i], kn_last_error());
	}
}
END_TEST

/* --- byte text --------------------------------------------------------- */

START_TEST(test_text_file_gz_and_fortunes)
{
	char text[4000];
	for (size_t i = 0; i < sizeof text; i++)
		text[i] = (char)('a' + i % 26);
	const char *plain = fx_write(dir("text"), "a.txt", text, sizeof text, 0);
	const char *gz = fx_write(dir("text"), "b.txt.gz", text, sizeof text, 1);
	struct dl_dataset a, b;
	ck_assert_int_eq(dl_dataset_open(&a, plain, VOCAB, 1), KN_OK);
	ck_assert_int_eq(dl_dataset_open(&b, gz, VOCAB, 1), KN_OK);
	ck_assert_int_eq(a.kind, DL_KIND_TOKENS);
	/* 4000 bytes in chunks of 200: chunks 9 and 19 are validation */
	ck_assert_uint_eq(a.tokens[DL_TRAIN].n, 3600);
	ck_assert_uint_eq(a.tokens[DL_VAL].n, 400);
	ck_assert_uint_eq(b.tokens[DL_TRAIN].n, 3600);
	ck_assert_int_eq(memcmp(a.tokens[DL_TRAIN].u8, b.tokens[DL_TRAIN].u8, 3600), 0);
	ck_assert_int_eq(a.tokens[DL_VAL].u8[0], text[1800]);
	dl_dataset_release(&a);
	dl_dataset_release(&b);

	struct dl_dataset f;
	ck_assert_int_eq(dl_dataset_open(&f, "fortunes", VOCAB, 1), KN_OK);
	ck_assert_str_eq(f.name, "text");
	ck_assert(f.tokens[DL_TRAIN].n > 1000000 && f.tokens[DL_VAL].n > 100000);
	double frac = (double)f.tokens[DL_VAL].n / (double)(f.tokens[DL_TRAIN].n + f.tokens[DL_VAL].n);
	ck_assert_double_eq_tol(frac, 0.1, 0.01);
	dl_dataset_release(&f);
}
END_TEST

START_TEST(test_text_errors)
{
	ck_data_error(dl_dataset_open(&(struct dl_dataset){ 0 }, "/nonexistent/t.txt", VOCAB, 1),
		      "cannot open text data '/nonexistent/t.txt'", "No such file");
	const char *small = fx_write(dir("text"), "small.txt", "tiny", 4, 0);
	ck_data_error(dl_dataset_open(&(struct dl_dataset){ 0 }, small, VOCAB, 1), small, "holds 4 bytes");
	char junk[64] = { 0x1f, (char)0x8b, 8, 0, 0, 0, 0, 0, 0, 3 }; /* a gzip header, then garbage */
	memset(junk + 10, 0x55, sizeof junk - 10);
	const char *bad = fx_write(dir("text"), "bad.txt.gz", junk, sizeof junk, 0);
	ck_data_error(dl_dataset_open(&(struct dl_dataset){ 0 }, bad, VOCAB, 1), bad, "compressed byte offset");
}
END_TEST

/* --- token shards ------------------------------------------------------ */

START_TEST(test_shards_single_glob_and_val)
{
	const char *d = dir("shards");
	size_t n;
	uint8_t *s0 = fx_shard(3000, 0, 250, &n);
	fx_write(d, "tr_000.bin", s0, n, 0);
	free(s0);
	uint8_t *s1 = fx_shard(1000, 3000, 250, &n);
	fx_write(d, "tr_001.bin", s1, n, 0);
	free(s1);
	uint8_t *v = fx_shard(500, 7, 250, &n);
	fx_write(d, "va_000.bin", v, n, 1); /* gzip works for shards too */
	free(v);

	struct dl_dataset ds;
	char one[700];
	snprintf(one, sizeof one, "shards:%s/tr_000.bin", d);
	ck_assert_int_eq(dl_dataset_open(&ds, one, VOCAB, 1), KN_OK);
	ck_assert_int_eq(ds.kind, DL_KIND_TOKENS);
	ck_assert_ptr_nonnull(ds.tokens[DL_TRAIN].u16);
	ck_assert_uint_eq(ds.tokens[DL_TRAIN].n + ds.tokens[DL_VAL].n, 3000);
	ck_assert_uint_eq(ds.tokens[DL_VAL].n, 300); /* chunks of 150, every 10th */
	ck_assert_int_eq(ds.tokens[DL_TRAIN].u16[1], 1);
	dl_dataset_release(&ds);

	ck_assert_int_eq(dl_dataset_open(&ds, spec("shards:%s/tr_*.bin,%s/va_*.bin", d, d), VOCAB, 1), KN_OK);
	ck_assert_uint_eq(ds.tokens[DL_TRAIN].n, 4000);
	ck_assert_uint_eq(ds.tokens[DL_VAL].n, 500);
	for (size_t i = 0; i < 4000; i++)
		ck_assert_int_eq(ds.tokens[DL_TRAIN].u16[i], i % 250); /* both shards, in name order */
	ck_assert_int_eq(ds.tokens[DL_VAL].u16[0], 7);
	ck_assert_int_eq(ds.shards.n_files, 3);
	dl_dataset_release(&ds);
}
END_TEST

START_TEST(test_shard_errors)
{
	const char *d = dir("badshards");
	size_t n;
	uint8_t *s = fx_shard(100, 0, 256, &n);
	char sp[700];
#define SHARD_CASE(name, bytes, len, ...)                                                              \
	do {                                                                                         \
		const char *p = fx_write(d, name, bytes, len, 0);                                    \
		snprintf(sp, sizeof sp, "shards:%s", p);                                              \
		ck_data_error(dl_dataset_open(&(struct dl_dataset){ 0 }, sp, VOCAB, 1), p, __VA_ARGS__); \
	} while (0)
	SHARD_CASE("short.bin", s, 1000, "truncated", "byte offset 1000", "1024-byte header");
	SHARD_CASE("cut.bin", s, n - 3, "truncated", "declares 100 tokens", "byte offset 1221");
	s[0] ^= 1;
	SHARD_CASE("magic.bin", s, n, "bad magic", "byte offset 0", "20240520");
	s[0] ^= 1;
	s[4] = 2;
	SHARD_CASE("version.bin", s, n, "version 2 at byte offset 4");
	s[4] = 1;
	s[1024 + 2 * 37 + 1] = 1; /* token 37 becomes 37 + 256 */
	SHARD_CASE("vocab.bin", s, n, "token 293 at byte offset 1098", "vocabulary of 256");
	s[1024 + 2 * 37 + 1] = 0;
	uint8_t *longer = calloc(1, n + 5);
	memcpy(longer, s, n);
	SHARD_CASE("trailing.bin", longer, n + 5, "5 bytes past its 100 tokens", "byte offset 1224");
	free(longer);
	free(s);
	snprintf(sp, sizeof sp, "shards:%s/missing.bin", d);
	ck_data_error(dl_dataset_open(&(struct dl_dataset){ 0 }, sp, VOCAB, 1), "missing.bin", "No such file");
	snprintf(sp, sizeof sp, "shards:%s/none_*.bin", d);
	ck_data_error(dl_dataset_open(&(struct dl_dataset){ 0 }, sp, VOCAB, 1), "no token shard files match",
		      "none_*.bin");
}
END_TEST

/* --- IDX images ----------------------------------------------------------- */

/* Writes train/t10k files in the fashion-mnist layout into dir (gz or not). */
static void write_fmnist(const char *d, uint32_t n_train, uint32_t n_val, uint32_t side, int gz)
{
	static const char *const split[2] = { "train", "t10k" };
	for (int i = 0; i < 4; i++) {
		uint32_t count = i < 2 ? n_train : n_val;
		int labels = i % 2;
		size_t n;
		uint8_t *b = labels ? fx_idx_labels(count, 10, &n) : fx_idx_images(count, side, side, &n);
		char name[128];
		snprintf(name, sizeof name, "%s-%s%s", split[i / 2], labels ? "labels-idx1-ubyte" : "images-idx3-ubyte",
			 gz ? ".gz" : "");
		fx_write(d, name, b, n, gz);
		free(b);
	}
}

START_TEST(test_idx_raw_gz_and_split)
{
	const char *d = dir("fm_gz"), *r = dir("fm_raw");
	write_fmnist(d, 50, 20, 28, 1);
	write_fmnist(r, 50, 20, 28, 0);
	struct dl_dataset a, b;
	char sp[700];
	snprintf(sp, sizeof sp, "fashion-mnist:%s", d);
	ck_assert_int_eq(dl_dataset_open(&a, sp, VOCAB, 1), KN_OK);
	snprintf(sp, sizeof sp, "fashion-mnist:%s", r);
	ck_assert_int_eq(dl_dataset_open(&b, sp, VOCAB, 1), KN_OK);
	ck_assert_int_eq(a.kind, DL_KIND_IMAGES);
	ck_assert_int_eq(a.C, 1);
	ck_assert_int_eq(a.H, 28);
	ck_assert_int_eq(a.classes, 10);
	ck_assert_uint_eq(a.images[DL_TRAIN]->n, 50);
	ck_assert_uint_eq(a.images[DL_VAL]->n, 20);
	ck_assert_int_eq(memcmp(a.images[DL_TRAIN]->pixels, b.images[DL_TRAIN]->pixels, 50 * 784), 0);
	ck_assert_int_eq(a.images[DL_TRAIN]->pixels[3 * 784 + 5 * 28 + 9], fx_pixel(3, 5, 9));
	ck_assert_int_eq(a.images[DL_TRAIN]->labels[13], 3);
	/* mean and std of the training pixels, exactly */
	double s = 0, ss = 0;
	for (size_t i = 0; i < 50 * 784; i++) {
		double v = a.images[DL_TRAIN]->pixels[i] / 255.0;
		s += v;
		ss += v * v;
	}
	ck_assert_double_eq_tol(a.mean, s / (50 * 784), 1e-12);
	ck_assert_double_eq_tol(a.std, sqrt(ss / (50 * 784) - a.mean * a.mean), 1e-9);
	dl_dataset_release(&a);
	dl_dataset_release(&b);

	/* idx:IMAGES,LABELS without validation: every 10th image goes to validation */
	snprintf(sp, sizeof sp, "idx:%s/train-images-idx3-ubyte,%s/train-labels-idx1-ubyte", r, r);
	ck_assert_int_eq(dl_dataset_open(&a, sp, VOCAB, 1), KN_OK);
	ck_assert_uint_eq(a.images[DL_TRAIN]->n, 45);
	ck_assert_uint_eq(a.images[DL_VAL]->n, 5);
	ck_assert_int_eq(a.images[DL_VAL]->pixels[0], fx_pixel(9, 0, 0));
	ck_assert_int_eq(a.images[DL_VAL]->labels[1], 19 % 10);
	ck_assert_int_eq(a.images[DL_TRAIN]->labels[9], 0); /* image 10 */
	ck_assert_int_eq(a.classes, 10);
	dl_dataset_release(&a);
}
END_TEST

/* Writes a labels file whose count or contents are changed, and opens the pair. */
static int open_pair(const char *d, const char *img, const char *lab)
{
	char sp[1400];
	snprintf(sp, sizeof sp, "idx:%s/%s,%s/%s", d, img, d, lab);
	struct dl_dataset ds;
	int rc = dl_dataset_open(&ds, sp, VOCAB, 1);
	if (rc == KN_OK)
		dl_dataset_release(&ds);
	return rc;
}

START_TEST(test_idx_errors)
{
	const char *d = dir("badidx");
	size_t ni, nl;
	uint8_t *img = fx_idx_images(20, 8, 8, &ni), *lab = fx_idx_labels(20, 10, &nl);
	fx_write(d, "ok-images", img, ni, 0);
	fx_write(d, "ok-labels", lab, nl, 0);
	ck_assert_int_eq(open_pair(d, "ok-images", "ok-labels"), KN_OK);

	ck_data_error(open_pair(d, "missing-images", "ok-labels"), "missing-images", "No such file");
	img[1] = 1;
	fx_write(d, "magic", img, ni, 0);
	ck_data_error(open_pair(d, "magic", "ok-labels"), "/magic'", "bad magic 0x00010803 at byte offset 0");
	img[1] = 0;
	ck_data_error(open_pair(d, "ok-labels", "ok-labels"), "/ok-labels'", "wrong dimensions: 1 at byte offset 3",
		      "expected 3");
	fx_write(d, "cut-images", img, ni - 10, 0);
	ck_data_error(open_pair(d, "cut-images", "ok-labels"), "/cut-images'", "truncated",
		      "20 images of 8x8", "ends at byte offset 1286");
	fx_write(d, "cut-header", img, 10, 0);
	ck_data_error(open_pair(d, "cut-header", "ok-labels"), "truncated", "byte offset 10", "16-byte header");
	uint8_t *few = fx_idx_labels(19, 10, &nl);
	fx_write(d, "few-labels", few, nl, 0);
	free(few);
	ck_data_error(open_pair(d, "ok-images", "few-labels"), "/few-labels'", "holds 19 labels (byte offset 4",
		      "/ok-images' holds 20 images");
	uint8_t zero_side[16];
	memcpy(zero_side, img, 16);
	zero_side[15] = 0; /* 8x0 */
	fx_write(d, "flat", zero_side, 16, 0);
	ck_data_error(open_pair(d, "flat", "ok-labels"), "/flat'", "wrong dimensions", "byte offset 4");
	/* gzip: corrupt stream, and a stream cut short */
	const char *gz = fx_write(d, "ok-images.gz", img, ni, 1);
	FILE *f = fopen(gz, "rb");
	uint8_t raw[4096];
	size_t nraw = fread(raw, 1, sizeof raw, f);
	fclose(f);
	fx_write(d, "cut.gz", raw, nraw / 2, 0);
	ck_data_error(open_pair(d, "cut.gz", "ok-labels"), "/cut.gz'", "compressed byte offset");
	for (size_t i = 12; i < nraw - 8; i++)
		raw[i] ^= 0xa5;
	fx_write(d, "corrupt.gz", raw, nraw, 0);
	ck_data_error(open_pair(d, "corrupt.gz", "ok-labels"), "/corrupt.gz'", "compressed byte offset");
	/* offsets in gzip files count decompressed bytes, and say so */
	fx_write(d, "cut-images.gz", img, ni - 10, 1);
	ck_data_error(open_pair(d, "cut-images.gz", "ok-labels"), "ends at byte offset 1286 (decompressed)");
	free(img);
	free(lab);

	/* fashion-mnist: 28x28 and labels below 10 are required; missing files named */
	const char *fm = dir("fm_bad");
	write_fmnist(fm, 20, 10, 32, 1);
	char sp[700];
	snprintf(sp, sizeof sp, "fashion-mnist:%s", fm);
	ck_data_error(dl_dataset_open(&(struct dl_dataset){ 0 }, sp, VOCAB, 1), "train-images-idx3-ubyte.gz'",
		      "wrong dimensions: 32x32 images at byte offset 8 (decompressed), expected 28x28");
	write_fmnist(fm, 20, 10, 28, 1);
	uint8_t *l11 = fx_idx_labels(20, 12, &nl); /* labels up to 11 */
	fx_write(fm, "train-labels-idx1-ubyte.gz", l11, nl, 1);
	free(l11);
	ck_data_error(dl_dataset_open(&(struct dl_dataset){ 0 }, sp, VOCAB, 1), "train-labels-idx1-ubyte.gz'",
		      "label 10 at byte offset 18 (decompressed) is not a class below 10");
	snprintf(sp, sizeof sp, "fashion-mnist:%s", dir("fm_empty"));
	ck_data_error(dl_dataset_open(&(struct dl_dataset){ 0 }, sp, VOCAB, 1), "image directory '",
		      "fm_empty' has no 'train-images-idx3-ubyte.gz' nor 'train-images-idx3-ubyte'");
}
END_TEST

/* The real Debian files, installed by 'make deps' here and in CI. */
START_TEST(test_fashion_mnist_installed)
{
	struct dl_dataset ds;
	int rc = dl_dataset_open(&ds, "fashion-mnist", VOCAB, 1);
	ck_assert_msg(rc == KN_OK, "%s", kn_last_error());
	ck_assert_uint_eq(ds.images[DL_TRAIN]->n, 60000);
	ck_assert_uint_eq(ds.images[DL_VAL]->n, 10000);
	ck_assert_int_eq(ds.H, 28);
	ck_assert_int_eq(ds.W, 28);
	ck_assert_int_eq(ds.classes, 10);
	/* the published normalisation constants of Fashion-MNIST's training set */
	ck_assert_double_eq_tol(ds.mean, 0.2860, 0.0005);
	ck_assert_double_eq_tol(ds.std, 0.3530, 0.0005);
	long per_class[10] = { 0 };
	for (size_t i = 0; i < 60000; i++)
		per_class[ds.images[DL_TRAIN]->labels[i]]++;
	for (int c = 0; c < 10; c++)
		ck_assert_int_eq(per_class[c], 6000);
	dl_dataset_release(&ds);
}
END_TEST

/* --- synthetic ------------------------------------------------------------ */

START_TEST(test_synthetic_deterministic)
{
	struct dl_dataset a, b, c;
	ck_assert_int_eq(dl_dataset_open(&a, "synthetic-images:600", VOCAB, 7), KN_OK);
	ck_assert_int_eq(dl_dataset_open(&b, "synthetic-images:600", VOCAB, 7), KN_OK);
	ck_assert_int_eq(dl_dataset_open(&c, "synthetic-images:600", VOCAB, 8), KN_OK);
	ck_assert_uint_eq(a.images[DL_TRAIN]->n, 600);
	ck_assert_uint_eq(a.images[DL_VAL]->n, 100);
	ck_assert_int_eq(memcmp(a.images[DL_TRAIN]->pixels, b.images[DL_TRAIN]->pixels, 600 * 784), 0);
	ck_assert_int_eq(memcmp(a.images[DL_VAL]->labels, b.images[DL_VAL]->labels, 100), 0);
	ck_assert_int_ne(memcmp(a.images[DL_TRAIN]->pixels, c.images[DL_TRAIN]->pixels, 600 * 784), 0);
	int seen[10] = { 0 };
	for (int i = 0; i < 600; i++)
		seen[a.images[DL_TRAIN]->labels[i]]++;
	for (int k = 0; k < 10; k++)
		ck_assert_int_gt(seen[k], 30);
	dl_dataset_release(&a);
	dl_dataset_release(&b);
	dl_dataset_release(&c);

	ck_assert_int_eq(dl_dataset_open(&a, "synthetic-text:20000", VOCAB, 7), KN_OK);
	ck_assert_int_eq(dl_dataset_open(&b, "synthetic-text:20000", VOCAB, 7), KN_OK);
	ck_assert_uint_eq(a.tokens[DL_TRAIN].n + a.tokens[DL_VAL].n, 20000);
	ck_assert_int_eq(memcmp(a.tokens[DL_TRAIN].u8, b.tokens[DL_TRAIN].u8, a.tokens[DL_TRAIN].n), 0);
	for (size_t i = 0; i < a.tokens[DL_TRAIN].n; i++) {
		int ch = a.tokens[DL_TRAIN].u8[i];
		ck_assert(ch == ' ' || ch == '.' || ch == '\n' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'));
	}
	dl_dataset_release(&a);
	dl_dataset_release(&b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("loader_data");
	TCase *tc = tcase_create("datasets");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_spec_forms);
	tcase_add_test(tc, test_text_file_gz_and_fortunes);
	tcase_add_test(tc, test_text_errors);
	tcase_add_test(tc, test_shards_single_glob_and_val);
	tcase_add_test(tc, test_shard_errors);
	tcase_add_test(tc, test_idx_raw_gz_and_split);
	tcase_add_test(tc, test_idx_errors);
	tcase_add_test(tc, test_fashion_mnist_installed);
	tcase_add_test(tc, test_synthetic_deterministic);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return tu_run_suite(suite()); }
