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

/* Returns KN_OK, or KN_EDATA with a message naming the path. */
int dl_text_open(struct dl_text *t, const char *spec);
void dl_text_release(struct dl_text *t);

#endif
