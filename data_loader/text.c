#include "data_loader/text.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernels/error.h"

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static int buf_append_file(struct buf *b, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return kn_error(KN_EDATA, "cannot open text data '%s': %s", path, strerror(errno));
	for (;;) {
		if (b->cap - b->n < 65536) {
			size_t cap = b->cap ? b->cap * 2 : 1 << 20;
			uint8_t *p = realloc(b->p, cap);
			if (!p) {
				fclose(f);
				return kn_error(KN_ENOMEM, "out of memory reading '%s'", path);
			}
			b->p = p;
			b->cap = cap;
		}
		size_t got = fread(b->p + b->n, 1, b->cap - b->n, f);
		b->n += got;
		if (got == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad)
		return kn_error(KN_EDATA, "cannot read text data '%s' at byte offset %zu", path, b->n);
	return KN_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int skip_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] == '.' || (n > 4 && strcmp(name + n - 4, ".dat") == 0);
}

static int read_dir(struct buf *b, const char *dir, int *n_files)
{
	DIR *d = opendir(dir);
	if (!d)
		return kn_error(KN_EDATA, "cannot open text data directory '%s': %s", dir, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = KN_OK;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (skip_name(e->d_name))
			continue;
		char path[1024];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof *names);
			if (!nn) {
				rc = kn_error(KN_ENOMEM, "out of memory listing '%s'", dir);
				goto out;
			}
			names = nn;
		}
		if (!(names[n] = strdup(path))) {
			rc = kn_error(KN_ENOMEM, "out of memory listing '%s'", dir);
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n && rc == KN_OK; i++)
		rc = buf_append_file(b, names[i]);
	*n_files = (int)n;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

int dl_text_open(struct dl_text *t, const char *spec)
{
	struct buf b = { 0 };
	struct stat st;
	int rc;
	memset(t, 0, sizeof *t);
	snprintf(t->source, sizeof t->source, "%s", spec);
	snprintf(t->path, sizeof t->path, "%s", strcmp(spec, "fortunes") == 0 ? DL_FORTUNES_DIR : spec);
	if (stat(t->path, &st)) {
		if (strcmp(spec, "fortunes") == 0)
			return kn_error(KN_EDATA, "text data 'fortunes' is missing: '%s' does not exist "
						  "(install Debian's 'fortunes' package, or run 'make deps')",
					t->path);
		return kn_error(KN_EDATA, "cannot open text data '%s': %s", t->path, strerror(errno));
	}
	if (S_ISDIR(st.st_mode)) {
		rc = read_dir(&b, t->path, &t->n_files);
	} else {
		rc = buf_append_file(&b, t->path);
		t->n_files = 1;
	}
	if (rc)
		goto fail;
	if (b.n < 20) {
		rc = kn_error(KN_EDATA, "text data '%s' holds %zu bytes in %d file(s): too little to split into "
					"training and validation text",
			      t->path, b.n, t->n_files);
		goto fail;
	}
	/* Chunks of 16 KiB, or n/20 for inputs under 320 KiB so that validation
	 * still gets two chunks; every 10th chunk is validation. */
	size_t chunk = b.n >= 20 * (size_t)DL_TEXT_CHUNK ? DL_TEXT_CHUNK : b.n / 20;
	t->train = malloc(b.n);
	t->val = malloc(b.n / 5 + chunk + 1);
	if (!t->train || !t->val) {
		rc = kn_error(KN_ENOMEM, "out of memory splitting '%s'", t->path);
		goto fail;
	}
	for (size_t off = 0, c = 0; off < b.n; off += chunk, c++) {
		size_t len = b.n - off < chunk ? b.n - off : chunk;
		if (c % 10 == 9) {
			memcpy(t->val + t->n_val, b.p + off, len);
			t->n_val += len;
		} else {
			memcpy(t->train + t->n_train, b.p + off, len);
			t->n_train += len;
		}
	}
	free(b.p);
	return KN_OK;
fail:
	free(b.p);
	dl_text_release(t);
	return rc;
}

void dl_text_release(struct dl_text *t)
{
	free(t->train);
	free(t->val);
	t->train = t->val = NULL;
	t->n_train = t->n_val = 0;
}
