/*
 * data_loader/shards.h — token shards in llm.c's format.
 *
 * A shard is a 1024-byte header of 256 little-endian int32 (magic 20240520,
 * version 1, token count, the rest unused) followed by exactly that many
 * little-endian uint16 tokens. A pattern names one file or a glob of shards,
 * read in sorted order and concatenated. Every token is checked against the
 * model's vocabulary on open. Validation comes from a second pattern, or when
 * there is none from every 10th chunk of the stream (the byte text rule, see
 * text.h).
 *
 * Lifecycle: dl_shards_open() fills a caller-owned struct; dl_shards_release()
 * frees what it holds.
 */
#ifndef DL_SHARDS_H
#define DL_SHARDS_H

#include <stddef.h>
#include <stdint.h>

#define DL_SHARD_MAGIC 20240520
#define DL_SHARD_VERSION 1
#define DL_SHARD_HEADER_BYTES 1024

struct dl_shards {
	char path[512];     /* the training pattern */
	char val_path[512]; /* the validation pattern; "" when validation is carved from training */
	int n_files;        /* training and validation shards read */
	uint16_t *train;    /* owned */
	uint16_t *val;      /* owned */
	size_t n_train, n_val;
};

/* val_pattern may be NULL. KN_EDATA names the shard and the byte offset of
 * what is wrong (header field, end of file, or the offending token). */
int dl_shards_open(struct dl_shards *s, const char *pattern, const char *val_pattern, int vocab);
void dl_shards_release(struct dl_shards *s);

#endif
