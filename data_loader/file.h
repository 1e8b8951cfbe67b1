/*
 * data_loader/file.h — whole data files into memory, plain or gzip.
 *
 * dl_read_file() reads through zlib, which passes plain files through
 * unchanged, so every dataset format accepts its files gzip-compressed or not.
 * A corrupt or truncated gzip stream is KN_EDATA with the path and the
 * compressed byte offset. Offsets that format validators report are offsets
 * into the (decompressed) bytes of the buffer; dl_offset_note() says which.
 *
 * Lifecycle: a zeroed struct dl_buf is empty; dl_read_file() appends to it;
 * dl_buf_release() frees it.
 */
#ifndef DL_FILE_H
#define DL_FILE_H

#include <stddef.h>
#include <stdint.h>

struct dl_buf {
	uint8_t *p;
	size_t n, cap;
	int gzip;   /* 1 when the last file read was gzip-compressed */
};

/* Appends the (decompressed) contents of `path`; `what` names the kind of
 * file in messages ("token shard", "IDX images"). KN_EDATA or KN_ENOMEM. */
int dl_read_file(struct dl_buf *b, const char *path, const char *what);
void dl_buf_release(struct dl_buf *b);
/* "" for a plain file, " (decompressed)" after a gzip file: append to offsets. */
const char *dl_offset_note(const struct dl_buf *b);

uint32_t dl_be32(const uint8_t *p);
uint32_t dl_le32(const uint8_t *p);

/* The paths matching a glob pattern, sorted; a pattern without wildcards is
 * returned as is. No match is KN_EDATA naming `what` and the pattern.
 * Free with dl_glob_free(). */
int dl_glob(const char *pattern, const char *what, char ***paths, size_t *n);
void dl_glob_free(char **paths, size_t n);

#endif
