/*
 * data_loader/text.h — byte-level text: one file, a directory of files, or
 * "fortunes" (Debian's fortunes package).
 *
 * The bytes of all files (sorted by name; in a directory, regular files only,
 * skipping symbolic links, dot-files and fortune's *.dat indexes) are read into
 * memory and split deterministically: the text is cut into chunks of
 * DL_TEXT_CHUNK bytes (smaller for small inputs, see text.c) and every 10th
 * chunk goes to validation, so both splits sample the whole corpus.
 *
 * Lifecycle: dl_text_open() fills a caller-owned struct; dl_text_release()
 * frees what it holds.
 */
#ifndef DL_TEXT_H
#define DL_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define DL_FORTUNES_DIR "/usr/share/games/fortunes"
#define DL_TEXT_CHUNK 16384

struct dl_text {
	char source[512];  /* what the user named: "fortunes" or a path */
	char path[512];    /* the file or directory read */
	int n_files;
	uint8_t *train;    /* owned */
	uint8_t *val;      /* owned */
	size_t n_train, n_val;
};

/* Returns KN_OK, or KN_EDATA with a message naming the path. Files may be
 * gzip-compressed (see file.h). dl_text_open reads `path` as it is (a file
 * called "fortunes" included); dl_fortunes_open reads Debian's fortunes, whose
 * absence names the package; dl_text_open_as names the source apart. */
int dl_text_open(struct dl_text *t, const char *path);
int dl_fortunes_open(struct dl_text *t);
int dl_text_open_as(struct dl_text *t, const char *source, const char *path);
/* Splits `bytes` (not kept) into t->train and t->val; t->path and t->n_files
 * must already name the source for messages. KN_EDATA under 20 bytes. */
int dl_text_from_bytes(struct dl_text *t, const uint8_t *bytes, size_t n);
/* The split above for any element size: n elements of `elem` bytes into two
 * new malloc'd arrays (caller frees). KN_ENOMEM only; callers check n >= 20. */
int dl_split_chunks(const void *src, size_t n, size_t elem, void **train, size_t *n_train, void **val, size_t *n_val);
void dl_text_release(struct dl_text *t);

#endif
