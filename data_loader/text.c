#include "data_loader/text.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_loader/file.h"
#include "kernels/error.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int skip_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] == '.' || (n > 4 && strcmp(name + n - 4, ".dat") == 0);
}

static int read_dir(struct dl_buf *b, const char *dir, int *n_files)
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
		rc = dl_read_file(b, names[i], "text data");
	*n_files = (int)n;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

int dl_fortunes_open(struct dl_text *t) { return dl_text_open_as(t, "fortunes", DL_FORTUNES_DIR); }

int dl_text_open(struct dl_text *t, const char *path) { return dl_text_open_as(t, path, path); }

int dl_text_open_as(struct dl_text *t, const char *source, const char *path)
{
	struct dl_buf b = { 0 };
	struct stat st;
	int rc;
	memset(t, 0, sizeof *t);
	snprintf(t->source, sizeof t->source, "%s", source);
	snprintf(t->path, sizeof t->path, "%s", path);
	int fortunes = strcmp(source, "fortunes") == 0 && strcmp(path, DL_FORTUNES_DIR) == 0;
	if (stat(t->path, &st)) {
		if (fortunes)
			return kn_error(KN_EDATA, "text data 'fortunes' is missing: '%s' does not exist "
						  "(install Debian's 'fortunes' package, or run 'make deps')",
					t->path);
		return kn_error(KN_EDATA, "cannot open text data '%s': %s", t->path, strerror(errno));
	}
	if (S_ISDIR(st.st_mode)) {
		rc = read_dir(&b, t->path, &t->n_files);
	} else {
		rc = dl_read_file(&b, t->path, "text data");
		t->n_files = 1;
	}
	if (rc == KN_OK)
		rc = dl_text_from_bytes(t, b.p, b.n);
	dl_buf_release(&b);
	if (rc)
		dl_text_release(t);
	return rc;
}

int dl_split_chunks(const void *src, size_t n, size_t elem, void **train, size_t *n_train, void **val, size_t *n_val)
{
	/* Chunks of DL_TEXT_CHUNK elements, or n/20 for inputs under 20 chunks so
	 * that validation still gets two chunks; every 10th chunk is validation. */
	size_t chunk = n >= 20 * (size_t)DL_TEXT_CHUNK ? DL_TEXT_CHUNK : n / 20;
	const uint8_t *s = src;
	uint8_t *tr = malloc(n * elem), *va = malloc((n / 5 + chunk + 1) * elem);
	*n_train = *n_val = 0;
	if (!tr || !va) {
		free(tr);
		free(va);
		*train = *val = NULL;
		return kn_error(KN_ENOMEM, "out of memory splitting %zu elements into training and validation", n);
	}
	for (size_t off = 0, c = 0; off < n; off += chunk, c++) {
		size_t len = n - off < chunk ? n - off : chunk;
		if (c % 10 == 9) {
			memcpy(va + *n_val * elem, s + off * elem, len * elem);
			*n_val += len;
		} else {
			memcpy(tr + *n_train * elem, s + off * elem, len * elem);
			*n_train += len;
		}
	}
	*train = tr;
	*val = va;
	return KN_OK;
}

int dl_text_from_bytes(struct dl_text *t, const uint8_t *bytes, size_t n)
{
	if (n < 20)
		return kn_error(KN_EDATA, "text data '%s' holds %zu bytes in %d file(s): too little to split into "
					  "training and validation text",
				t->path, n, t->n_files);
	void *tr, *va;
	int rc = dl_split_chunks(bytes, n, 1, &tr, &t->n_train, &va, &t->n_val);
	if (rc)
		return kn_error(rc, "out of memory splitting text data '%s'", t->path);
	t->train = tr;
	t->val = va;
	return KN_OK;
}

void dl_text_release(struct dl_text *t)
{
	free(t->train);
	free(t->val);
	t->train = t->val = NULL;
	t->n_train = t->n_val = 0;
}
