#include "sweeps/results.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "kernels/error.h"
#include "reports/record.h"

int sw_error_around(int status, const char *before, const char *after)
{
	char last[1024];
	snprintf(last, sizeof last, "%s", kn_last_error());
	return kn_error(status, "%s%s%s", before, last, after);
}

/* "'FILE' line N: " + the last error */
static int line_error(const char *file, int lineno)
{
	char at[4200];
	snprintf(at, sizeof at, "'%s' line %d: ", file, lineno);
	return sw_error_around(KN_EDATA, at, "");
}

static struct rp_run entry_run(const void *ctx, int i)
{
	const struct sw_entry *e = &((const struct sw_results *)ctx)->e[i];
	return (struct rp_run){ e->id, e->repeat };
}

void sw_results_init(struct sw_results *r)
{
	memset(r, 0, sizeof *r);
	r->runs.key = entry_run;
}

void sw_results_release(struct sw_results *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->e[i].line);
	free(r->e);
	rp_run_index_release(&r->runs);
	sw_free_paths(r->files, r->nfiles);
	memset(r, 0, sizeof *r);
}

void sw_free_paths(char **paths, int n)
{
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

int sw_push_path(char ***paths, int *n, const char *path)
{
	char **grown = realloc(*paths, (size_t)(*n + 1) * sizeof *grown);
	if (!grown)
		return kn_error(KN_ERR, "out of memory");
	*paths = grown;
	if (!(grown[*n] = strdup(path)))
		return kn_error(KN_ERR, "out of memory");
	(*n)++;
	return KN_OK;
}

/* The name the entries of `path` point to, owned by r. */
static const char *owned_file(struct sw_results *r, const char *path)
{
	for (int i = 0; i < r->nfiles; i++)
		if (strcmp(r->files[i], path) == 0)
			return r->files[i];
	return sw_push_path(&r->files, &r->nfiles, path) ? NULL : r->files[r->nfiles - 1];
}

static int shard_number(const char *name)
{
	char *end;
	if (!isdigit((unsigned char)name[0]))
		return -1;
	long v = strtol(name, &end, 10);
	return strcmp(end, ".jsonl") == 0 && v <= 100000 ? (int)v : -1;
}

static int cmp_shard(const void *a, const void *b)
{
	const char *x = strrchr(*(char *const *)a, '/') + 1, *y = strrchr(*(char *const *)b, '/') + 1;
	return shard_number(x) - shard_number(y);
}

int sw_results_list_dir(const char *dir, char ***paths, int *n)
{
	char path[4096];
	*paths = NULL;
	*n = 0;
	snprintf(path, sizeof path, "%s/results.jsonl", dir);
	if (access(path, F_OK) == 0 && sw_push_path(paths, n, path))
		goto fail;
	snprintf(path, sizeof path, "%s/shards", dir);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? KN_OK : kn_error(KN_ERR, "cannot list '%s': %s", path, strerror(errno));
	int first = *n;
	for (struct dirent *de; (de = readdir(d));) {
		if (shard_number(de->d_name) < 0)
			continue;
		snprintf(path, sizeof path, "%s/shards/%s", dir, de->d_name);
		if (sw_push_path(paths, n, path)) {
			closedir(d);
			goto fail;
		}
	}
	closedir(d);
	if (*n > first)
		qsort(*paths + first, (size_t)(*n - first), sizeof **paths, cmp_shard);
	return KN_OK;
fail:
	sw_free_paths(*paths, *n);
	*paths = NULL;
	*n = 0;
	return KN_ERR;
}

int sw_results_find(const struct sw_results *r, const char *id, int repeat)
{
	return rp_run_find(&r->runs, r, id, repeat);
}

/* The record's key and sweep fields; rp_record_parse() has checked them all. */
int sw_entry_parse(struct sw_entry *e, const char *line, size_t len)
{
	struct rp_record r;
	int rc = rp_record_init(&r) ? kn_error(KN_ERR, "out of memory reading a record") : rp_record_parse(&r, line, len);
	if (rc == KN_OK) {
		const cJSON *point = cJSON_GetObjectItemCaseSensitive(r.extra, "point");
		const cJSON *sweep = cJSON_GetObjectItemCaseSensitive(r.extra, "sweep");
		snprintf(e->id, sizeof e->id, "%s", r.id);
		snprintf(e->status, sizeof e->status, "%s", r.status);
		snprintf(e->sweep, sizeof e->sweep, "%s", sweep ? sweep->valuestring : "");
		e->repeat = rp_record_run(&r).repeat;
		e->no_run = !e->repeat;
		if (!e->repeat)
			e->repeat = 1; /* a record without one is its point's first run (for resuming a sweep) */
		e->point = point ? (int)point->valuedouble : -1;
	}
	rp_record_release(&r);
	return rc;
}

static int add_entry(struct sw_results *r, struct sw_entry *e, const char *line, size_t len)
{
	if (!(e->file = owned_file(r, e->file)))
		return KN_ERR;
	if (r->n == r->cap) {
		int cap = r->cap ? 2 * r->cap : 64;
		struct sw_entry *grown = realloc(r->e, (size_t)cap * sizeof *grown);
		if (!grown)
			return kn_error(KN_ERR, "out of memory reading results");
		r->e = grown;
		r->cap = cap;
	}
	struct sw_entry *dst = &r->e[r->n];
	*dst = *e;
	dst->line = malloc(len + 1);
	if (!dst->line)
		return kn_error(KN_ERR, "out of memory reading results");
	memcpy(dst->line, line, len);
	dst->line[len] = 0;
	if (rp_run_add(&r->runs, r, r->n) < 0) {
		free(dst->line);
		return KN_ERR;
	}
	r->n++;
	return KN_OK;
}

/* The whole file into memory (NUL-terminated); *data NULL when it does not exist. */
static int read_all(int fd, const char *path, char **data, size_t *len)
{
	struct stat st;
	*data = NULL;
	*len = 0;
	if (fstat(fd, &st))
		return kn_error(KN_ERR, "cannot stat '%s': %s", path, strerror(errno));
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return kn_error(KN_ERR, "out of memory reading '%s'", path);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return kn_error(KN_ERR, "cannot read '%s': %s", path, n < 0 ? strerror(errno) : "file shrank");
		}
		got += (size_t)n;
	}
	buf[got] = 0;
	*data = buf;
	*len = got;
	return KN_OK;
}

/* flock that waits through signals; a file system without locks counts as locked. */
static int lock_wait(int fd, int how)
{
	while (flock(fd, how)) {
		if (errno == EINTR)
			continue;
		if (errno == ENOLCK || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)
			return 0;
		return -1;
	}
	return 0;
}

int sw_results_add(struct sw_results *r, const char *line, const char *file, int lineno)
{
	struct sw_entry e = { .file = file, .lineno = lineno };
	if (sw_entry_parse(&e, line, strlen(line)))
		return line_error(file, lineno);
	return add_entry(r, &e, line, strlen(line));
}

int sw_results_read(struct sw_results *r, const char *path, struct sw_read_note *note)
{
	memset(note, 0, sizeof *note);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? KN_OK : kn_error(KN_ERR, "cannot open '%s': %s", path, strerror(errno));
	char *data;
	size_t len;
	int rc = lock_wait(fd, LOCK_SH) ? kn_error(KN_ERR, "cannot lock '%s': %s", path, strerror(errno))
					: read_all(fd, path, &data, &len);
	close(fd);
	if (rc)
		return rc;
	int lineno = 0;
	for (size_t off = 0; off < len && rc == KN_OK;) {
		const char *line = data + off, *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		struct sw_entry e = { .file = path, .lineno = ++lineno };
		off += n + (nl ? 1 : 0);
		if (n == 0 && nl)
			continue; /* blank lines carry nothing */
		if (sw_entry_parse(&e, line, n) == KN_OK) {
			rc = add_entry(r, &e, line, n);
		} else if (!nl) {
			note->torn_line = lineno;
			note->torn_bytes = n;
		} else {
			rc = line_error(path, lineno);
		}
	}
	free(data);
	return rc;
}

void sw_warn_torn(const char *cmd, const char *path, const struct sw_read_note *note, const char *done)
{
	if (note->torn_line)
		fprintf(stderr, "amptune %s: warning: '%s' line %d: torn last line (%zu bytes, a write cut short) %s\n",
			cmd, path, note->torn_line, note->torn_bytes, done);
}

int sw_results_read_all(struct sw_results *r, char *const *paths, int n, const char *cmd)
{
	int rc = KN_OK;
	for (int i = 0; i < n && rc == KN_OK; i++) {
		struct sw_read_note note;
		rc = sw_results_read(r, paths[i], &note);
		sw_warn_torn(cmd, paths[i], &note, "ignored");
	}
	return rc;
}

static int write_full(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* With fd locked: completes or cuts a torn tail. */
static int repair_locked(int fd, const char *path, struct sw_read_note *note)
{
	char *data, last;
	size_t len;
	struct stat st;
	memset(note, 0, sizeof *note);
	/* the common case, a whole last line, costs one byte of reading */
	if (fstat(fd, &st))
		return kn_error(KN_ERR, "cannot stat '%s': %s", path, strerror(errno));
	if (st.st_size == 0 || (pread(fd, &last, 1, st.st_size - 1) == 1 && last == '\n'))
		return KN_OK;
	if (read_all(fd, path, &data, &len))
		return KN_ERR;
	int rc = KN_OK;
	if (len && data[len - 1] != '\n') {
		size_t start = len;
		int lineno = 1;
		while (start && data[start - 1] != '\n')
			start--;
		for (size_t i = 0; i < start; i++)
			lineno += data[i] == '\n';
		struct sw_entry e = { 0 };
		if (sw_entry_parse(&e, data + start, len - start) == KN_OK) {
			/* a whole record that only lacks its newline */
			if (write_full(fd, "\n", 1) || fsync(fd))
				rc = kn_error(KN_ERR, "cannot complete the last line of '%s': %s", path, strerror(errno));
		} else {
			char torn[4096];
			snprintf(torn, sizeof torn, "%s.torn", path);
			int tfd = open(torn, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (tfd < 0 || write_full(tfd, data + start, len - start) || write_full(tfd, "\n", 1) || fsync(tfd))
				rc = kn_error(KN_ERR, "cannot save the torn last line of '%s' to '%s': %s", path, torn,
					      strerror(errno));
			if (tfd >= 0)
				close(tfd);
			if (rc == KN_OK && (ftruncate(fd, (off_t)start) || fsync(fd)))
				rc = kn_error(KN_ERR, "cannot cut the torn last line of '%s': %s", path, strerror(errno));
			note->torn_line = lineno;
			note->torn_bytes = len - start;
		}
	}
	free(data);
	return rc;
}

static int open_locked(const char *path, int flags, int *fd)
{
	*fd = open(path, flags | O_CLOEXEC, 0644);
	if (*fd < 0)
		return kn_error(KN_ERR, "cannot open '%s': %s", path, strerror(errno));
	if (lock_wait(*fd, LOCK_EX)) {
		int e = errno;
		close(*fd);
		return kn_error(KN_ERR, "cannot lock '%s': %s", path, strerror(e));
	}
	return KN_OK;
}

int sw_results_repair(const char *path, struct sw_read_note *note)
{
	int fd;
	memset(note, 0, sizeof *note);
	if (access(path, F_OK) && errno == ENOENT)
		return KN_OK;
	if (open_locked(path, O_RDWR | O_APPEND, &fd))
		return KN_ERR;
	int rc = repair_locked(fd, path, note);
	close(fd);
	return rc;
}

int sw_results_append(const char *path, const char *line, struct sw_read_note *note)
{
	int fd, rc;
	struct stat st;
	size_t n = strlen(line);
	char *buf = malloc(n + 1);
	if (!buf)
		return kn_error(KN_ERR, "out of memory appending to '%s'", path);
	memcpy(buf, line, n);
	buf[n] = '\n';
	if ((rc = open_locked(path, O_RDWR | O_CREAT | O_APPEND, &fd))) {
		free(buf);
		return rc;
	}
	if ((rc = repair_locked(fd, path, note)) == KN_OK) {
		if (fstat(fd, &st))
			rc = kn_error(KN_ERR, "cannot stat '%s': %s", path, strerror(errno));
		else if (write_full(fd, buf, n + 1) || fsync(fd)) {
			rc = kn_error(KN_ERR, "cannot append to '%s': %s", path, strerror(errno));
			if (ftruncate(fd, st.st_size) == 0)
				(void)fsync(fd); /* best effort: the append already failed */
		}
	}
	close(fd);
	free(buf);
	return rc;
}

static int fsync_dir_of(const char *path)
{
	char copy[4096];
	snprintf(copy, sizeof copy, "%s", path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int sw_write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return kn_error(KN_ERR, "cannot create '%s': %s", tmp, strerror(errno));
	int bad = write_full(fd, data, len) || fsync(fd);
	int e = errno;
	if (close(fd))
		bad = 1, e = errno;
	if (!bad && rename(tmp, path))
		bad = 1, e = errno;
	if (bad) {
		unlink(tmp);
		return kn_error(KN_ERR, "cannot write '%s': %s", path, strerror(e));
	}
	if (fsync_dir_of(path))
		return kn_error(KN_ERR, "cannot sync the directory of '%s': %s", path, strerror(errno));
	return KN_OK;
}

int sw_lock_acquire(const char *path, int how, const char *busy_msg, int *fd, int *unsupported)
{
	*unsupported = 0;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd < 0)
		return kn_error(KN_ERR, "cannot open lock file '%s': %s", path, strerror(errno));
	while (flock(*fd, how | LOCK_NB)) {
		int e = errno;
		if (e == EINTR)
			continue;
		if (e == ENOLCK || e == ENOSYS || e == EOPNOTSUPP || e == EINVAL) {
			*unsupported = 1;
			return KN_OK;
		}
		close(*fd);
		*fd = -1;
		if (e == EWOULDBLOCK)
			return kn_error(KN_ERR, "%s (lock '%s' is held)", busy_msg, path);
		return kn_error(KN_ERR, "cannot lock '%s': %s", path, strerror(e));
	}
	return KN_OK;
}

void sw_lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}

int sw_mkdirs(const char *path) { return sw_mkdirs_new(path, NULL, NULL, 0); }

int sw_mkdirs_new(const char *path, size_t *made, int *nmade, int max)
{
	char buf[4096];
	if (nmade)
		*nmade = 0;
	if (!*path)
		return kn_error(KN_ERR, "empty directory name");
	snprintf(buf, sizeof buf, "%s", path);
	for (char *s = buf + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = 0;
			if (mkdir(buf, 0755) == 0) {
				if (nmade && *nmade < max)
					made[(*nmade)++] = (size_t)(s - buf);
			} else if (errno == ENOTDIR) { /* the path runs through a file: the path given is wrong */
				return kn_error(KN_EUSAGE, "cannot create directory '%s': a part of it is a file", buf);
			} else if (errno != EEXIST) {
				return kn_error(KN_ERR, "cannot create directory '%s': %s", buf, strerror(errno));
			}
			*s = c;
			if (!c)
				break;
		}
	}
	struct stat st;
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return kn_error(KN_ERR, "'%s' is not a directory", path);
	return KN_OK;
}
