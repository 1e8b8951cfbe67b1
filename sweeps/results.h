/*
 * sweeps/results.h — results files (one JSON record per line): reading them
 * back, appending to them safely, and the locks that keep two writers apart.
 *
 * Appending: one record is one write() of the line and its newline, then
 * fsync, under flock(LOCK_EX) on the file; readers take LOCK_SH. A point is
 * finished once its line is on disk, so a process killed at any moment leaves
 * either the whole line or a torn last line (no newline). A torn last line
 * that still parses as a record only lacks its newline and is completed; any
 * other torn tail is moved to FILE.torn and cut off, under the lock, before
 * the next append. Readers report a torn tail and ignore it.
 *
 * Ownership: a struct sw_results owns its entries' lines and the names of
 * the files they came from; sw_results_release() frees them.
 */
#ifndef SW_RESULTS_H
#define SW_RESULTS_H

#include <stddef.h>

#include "reports/runs.h"

struct sw_entry {
	char id[24];
	int repeat;        /* 1 when the record has none */
	int no_run;        /* 1 when the record has no `repeat` (train --json): it names no run */
	int point;         /* grid index; -1 when the record has none */
	char status[16];
	char sweep[64];    /* the plan's name; "" when the record has none */
	char *line;        /* the record as read, no newline (owned) */
	const char *file;  /* where it was read (owned by the struct sw_results) */
	int lineno;
};

struct sw_results {
	struct sw_entry *e;
	int n, cap;
	char **files;
	int nfiles;
	struct rp_run_index runs; /* (id, repeat) -> first entry */
};

void sw_results_init(struct sw_results *r);
void sw_results_release(struct sw_results *r);

/* What a read found besides records. */
struct sw_read_note {
	int torn_line;     /* line number of a torn last line that was ignored; 0 if none */
	size_t torn_bytes;
};

/*
 * Appends every record of `path` to r (a missing file has none). Returns
 * KN_OK, KN_EDATA naming the file and line of a line that is not a valid
 * record (a torn last line is not an error: see `note`), or KN_ERR.
 */
int sw_results_read(struct sw_results *r, const char *path, struct sw_read_note *note);
/* sw_results_read() of each path, with a warning on stderr ("amptune CMD:
 * warning: ...") for each torn last line ignored. */
int sw_results_read_all(struct sw_results *r, char *const *paths, int n, const char *cmd);
/* The warning for a torn last line, if `note` has one; `done` says what became of it. */
void sw_warn_torn(const char *cmd, const char *path, const struct sw_read_note *note, const char *done);
/* Adds one record line (validated) as read from file:lineno. KN_OK, KN_EDATA, KN_ERR. */
int sw_results_add(struct sw_results *r, const char *line, const char *file, int lineno);
/* The results files of a sweep directory that exist: DIR/results.jsonl, then
 * DIR/shards/N.jsonl by N. *paths (each path and the array) is the caller's to free. */
int sw_results_list_dir(const char *dir, char ***paths, int *n);
void sw_free_paths(char **paths, int n);
/* Appends a copy of `path` to the array (*paths, *n). KN_OK or KN_ERR. */
int sw_push_path(char ***paths, int *n, const char *path);
/* Parses one line into e (e->line is left alone) with the reports' strict
 * reader (rp_record_parse, which also checks repeat, point and sweep when
 * present), so each line a sweep or merge accepts, reports read, and the other
 * way round; reports also check that the repeats of an id share a
 * configuration (reports/results.c). KN_OK, or KN_EDATA with a message without location. */
int sw_entry_parse(struct sw_entry *e, const char *line, size_t len);
/* Index of the first record of (id, repeat), or -1. */
int sw_results_find(const struct sw_results *r, const char *id, int repeat);

/*
 * Repairs a torn last line of `path` under its lock (see above): `note` says
 * what was cut. KN_OK (also when the file does not exist) or KN_ERR.
 */
int sw_results_repair(const char *path, struct sw_read_note *note);
/* Appends line + "\n" to `path` (created 0644) with one write and fsync, under
 * flock, after sw_results_repair(). KN_OK or KN_ERR; a failed write is cut off. */
int sw_results_append(const char *path, const char *line, struct sw_read_note *note);

/* Writes `len` bytes to `path` atomically: a temporary file, fsync, rename, fsync of the directory. */
int sw_write_atomic(const char *path, const char *data, size_t len);

/*
 * Takes flock(how | LOCK_NB) on `path` (created) and keeps it until
 * sw_lock_release(). KN_OK; KN_ERR when another process holds it (the message
 * says `busy_msg`) or the file cannot be opened. On a file system without
 * locks, *unsupported is set and KN_OK returned without a lock.
 */
int sw_lock_acquire(const char *path, int how, const char *busy_msg, int *fd, int *unsupported);
void sw_lock_release(int fd);

/* Re-records the last error as before + it + after (kn_last_error() cannot be
 * an argument of kn_error(): they share a buffer). Returns `status`. */
int sw_error_around(int status, const char *before, const char *after);

/* mkdir -p; KN_OK or KN_ERR naming the directory. */
int sw_mkdirs(const char *path);
/* The same, noting in made[] (at most max; nmade may be NULL) the length of each prefix of path
 * that names a directory this call created itself, outermost first, also on failure: the
 * directories a caller may remove again. */
int sw_mkdirs_new(const char *path, size_t *made, int *nmade, int max);

#endif
