#include "data_loader/file.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "kernels/error.h"

static int buf_reserve(struct dl_buf *b, size_t more)
{
	if (b->cap - b->n >= more)
		return 0;
	size_t cap = b->cap ? b->cap : 1 << 16;
	while (cap - b->n < more)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* zlib's messages start with the path ("x.gz: unexpected end of file"); ours already name it */
static const char *gz_message(const char *msg, const char *path)
{
	size_t n = strlen(path);
	return strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ' ? msg + n + 2 : msg;
}

int dl_read_file(struct dl_buf *b, const char *path, const char *what)
{
	/* a device would be read until memory runs out (/dev/zero) or forever; a FIFO is fine */
	struct stat st;
	if (stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode)))
		return kn_error(KN_EDATA, "cannot read %s '%s': it is a %s, not a file", what, path,
				S_ISSOCK(st.st_mode) ? "socket" : "device");
	errno = 0;
	gzFile f = gzopen(path, "rb");
	if (!f)
		return kn_error(KN_EDATA, "cannot open %s '%s': %s", what, path, errno ? strerror(errno) : "out of memory");
	gzbuffer(f, 1 << 17);
	size_t start = b->n;
	int rc = KN_OK;
	for (;;) {
		if (buf_reserve(b, 1 << 20)) {
			rc = kn_error(KN_ENOMEM, "out of memory reading %s '%s'", what, path);
			break;
		}
		size_t want = b->cap - b->n < INT_MAX ? b->cap - b->n : INT_MAX;
		int got = gzread(f, b->p + b->n, (unsigned)want);
		if (got <= 0) {
			int zerr;
			const char *msg = gzerror(f, &zerr);
			if (got < 0 || (zerr != Z_OK && zerr != Z_STREAM_END))
				rc = kn_error(KN_EDATA, "cannot read %s '%s': %s (compressed byte offset %ld, %zu bytes read)",
					      what, path, zerr == Z_ERRNO ? strerror(errno) : gz_message(msg, path), (long)gzoffset(f),
					      b->n - start);
			break;
		}
		b->n += (size_t)got;
	}
	b->gzip = !gzdirect(f);
	long off = (long)gzoffset(f);
	int zrc = gzclose_r(f);
	if (rc == KN_OK && zrc != Z_OK)
		rc = kn_error(KN_EDATA, "cannot read %s '%s': %s (compressed byte offset %ld, %zu bytes read)", what, path,
			      zrc == Z_BUF_ERROR ? "truncated gzip stream" : "gzip error", off, b->n - start);
	return rc;
}

void dl_buf_release(struct dl_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

const char *dl_offset_note(const struct dl_buf *b) { return b->gzip ? " (decompressed)" : ""; }

uint32_t dl_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

uint32_t dl_le32(const uint8_t *p) { return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]; }

int dl_glob(const char *pattern, const char *what, char ***paths, size_t *n)
{
	*paths = NULL;
	*n = 0;
	if (!strpbrk(pattern, "*?[")) {
		char **one = malloc(sizeof *one);
		if (!one || !(one[0] = strdup(pattern))) {
			free(one);
			return kn_error(KN_ENOMEM, "out of memory");
		}
		*paths = one;
		*n = 1;
		return KN_OK;
	}
	glob_t g;
	int grc = glob(pattern, 0, NULL, &g);
	if (grc == GLOB_NOMATCH) {
		globfree(&g);
		return kn_error(KN_EDATA, "no %s files match '%s'", what, pattern);
	}
	if (grc) {
		globfree(&g);
		return kn_error(grc == GLOB_NOSPACE ? KN_ENOMEM : KN_EDATA, "cannot expand %s pattern '%s'", what, pattern);
	}
	char **out = calloc(g.gl_pathc, sizeof *out);
	if (!out) {
		globfree(&g);
		return kn_error(KN_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		if (!(out[i] = strdup(g.gl_pathv[i]))) {
			dl_glob_free(out, i);
			globfree(&g);
			return kn_error(KN_ENOMEM, "out of memory");
		}
	}
	*paths = out;
	*n = g.gl_pathc; /* glob(3) sorts unless GLOB_NOSORT */
	globfree(&g);
	return KN_OK;
}

void dl_glob_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
