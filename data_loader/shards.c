#include "data_loader/shards.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_loader/file.h"
#include "data_loader/text.h"
#include "kernels/error.h"

struct tokvec {
	uint16_t *p;
	size_t n, cap;
};

/* Validates one shard held in `b` and appends its tokens to `out`. */
static int take_shard(struct tokvec *out, const struct dl_buf *b, const char *path, int vocab)
{
	const char *note = dl_offset_note(b);
	if (b->n < DL_SHARD_HEADER_BYTES)
		return kn_error(KN_EDATA, "token shard '%s' is truncated: it ends at byte offset %zu%s, inside the "
					  "%d-byte header",
				path, b->n, note, DL_SHARD_HEADER_BYTES);
	uint32_t magic = dl_le32(b->p), version = dl_le32(b->p + 4), count = dl_le32(b->p + 8);
	if (magic != DL_SHARD_MAGIC)
		return kn_error(KN_EDATA, "token shard '%s' has bad magic %u at byte offset 0%s (expected %d, the llm.c "
					  "shard format)",
				path, magic, note, DL_SHARD_MAGIC);
	if (version != DL_SHARD_VERSION)
		return kn_error(KN_EDATA, "token shard '%s' has version %u at byte offset 4%s (expected %d: uint16 tokens)",
				path, version, note, DL_SHARD_VERSION);
	size_t want = DL_SHARD_HEADER_BYTES + 2 * (size_t)count;
	if (b->n < want)
		return kn_error(KN_EDATA, "token shard '%s' is truncated: its header (byte offset 8) declares %u tokens, "
					  "%zu bytes in all, but it ends at byte offset %zu%s",
				path, count, want, b->n, note);
	if (b->n > want)
		return kn_error(KN_EDATA, "token shard '%s' has %zu bytes past its %u tokens, from byte offset %zu%s",
				path, b->n - want, count, want, note);
	if (out->cap - out->n < count) {
		size_t cap = out->cap ? out->cap : 1 << 16;
		while (cap - out->n < count)
			cap *= 2;
		uint16_t *p = realloc(out->p, cap * sizeof *p);
		if (!p)
			return kn_error(KN_ENOMEM, "out of memory reading token shard '%s'", path);
		out->p = p;
		out->cap = cap;
	}
	const uint8_t *t = b->p + DL_SHARD_HEADER_BYTES;
	for (size_t i = 0; i < count; i++) {
		uint16_t tok = (uint16_t)(t[2 * i] | t[2 * i + 1] << 8);
		if (tok >= vocab)
			return kn_error(KN_EDATA, "token shard '%s': token %u at byte offset %zu%s is not below the model's "
						  "vocabulary of %d",
					path, tok, DL_SHARD_HEADER_BYTES + 2 * i, note, vocab);
		out->p[out->n + i] = tok;
	}
	out->n += count;
	return KN_OK;
}

static int read_pattern(struct tokvec *out, const char *pattern, int vocab, int *n_files)
{
	char **paths;
	size_t n;
	int rc = dl_glob(pattern, "token shard", &paths, &n);
	for (size_t i = 0; rc == KN_OK && i < n; i++) {
		struct dl_buf b = { 0 };
		rc = dl_read_file(&b, paths[i], "token shard");
		if (rc == KN_OK)
			rc = take_shard(out, &b, paths[i], vocab);
		dl_buf_release(&b);
		++*n_files;
	}
	dl_glob_free(paths, n);
	return rc;
}

int dl_shards_open(struct dl_shards *s, const char *pattern, const char *val_pattern, int vocab)
{
	struct tokvec tr = { 0 }, va = { 0 };
	int rc;
	memset(s, 0, sizeof *s);
	snprintf(s->path, sizeof s->path, "%s", pattern);
	snprintf(s->val_path, sizeof s->val_path, "%s", val_pattern ? val_pattern : "");
	if ((rc = read_pattern(&tr, pattern, vocab, &s->n_files)))
		goto out;
	if (val_pattern) {
		if ((rc = read_pattern(&va, val_pattern, vocab, &s->n_files)))
			goto out;
		s->train = tr.p;
		s->n_train = tr.n;
		s->val = va.p;
		s->n_val = va.n;
		return KN_OK;
	}
	if (tr.n < 20) {
		rc = kn_error(KN_EDATA, "token shards '%s' hold %zu tokens: too few to split into training and validation",
			      pattern, tr.n);
		goto out;
	}
	void *t, *v;
	if ((rc = dl_split_chunks(tr.p, tr.n, sizeof *tr.p, &t, &s->n_train, &v, &s->n_val)))
		goto out;
	s->train = t;
	s->val = v;
out:
	free(tr.p);
	if (rc) {
		free(va.p);
		dl_shards_release(s);
	}
	return rc;
}

void dl_shards_release(struct dl_shards *s)
{
	free(s->train);
	free(s->val);
	s->train = s->val = NULL;
	s->n_train = s->n_val = 0;
}
