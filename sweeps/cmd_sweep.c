/* `amptune sweep`: a plan's grid of points, each in its own process, recorded one by one. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <unistd.h>

#include "data_loader/dataset.h"
#include "data_loader/loader.h"
#include "kernels/backend.h"
#include "reports/estimate.h"
#include "sweeps/grid.h"
#include "sweeps/models.h"
#include "sweeps/outcome.h"
#include "sweeps/plan.h"
#include "sweeps/progress.h"
#include "sweeps/results.h"
#include "sweeps/runner.h"
#include "trainer/commands.h"
#include "trainer/config.h"
#include "trainer/metrics.h"
#include "trainer/train.h"

void cmd_sweep_usage(FILE *out)
{
	fprintf(out,
		"usage: amptune sweep PLAN.ini --out DIR [options]\n"
		"       amptune sweep PLAN.ini --list | --dry-run [--out DIR] [options]\n"
		"\n"
		"Runs every point of the plan's grid as its own `amptune train` process and\n"
		"appends one results record per finished point to DIR/results.jsonl (with\n"
		"--shard, DIR/shards/I.jsonl). Each point's full log is DIR/points/ID.log\n"
		"(repeat N > 1: DIR/points/ID.rN.log), every attempt appended, and the\n"
		"effective plan is copied to DIR/plan.ini. Re-running the same command\n"
		"resumes: points already recorded in DIR are skipped. The plan format, grid\n"
		"order, ids and guarantees are in docs/sweeps.md.\n"
		"\n"
		"plan file (INI):\n"
		"  [sweep]   name, model (gpt|cnn), size, data, steps or epochs     required\n"
		"            devices (auto|cpu|cuda), precisions (fp32|tf32|fp16|bf16),\n"
		"            batch_sizes                                          required axes\n"
		"            seq, workers, prefetch                               optional axes\n"
		"            warmup_steps, seed, repeats, time_limit_s, device_mem_limit, lr,\n"
		"            eval_batches (gpt), eval_images (cnn), threads,\n"
		"            data_latency_us, data_cost                           optional\n"
		"  [prices]  DEVICE = dollars per hour (a device kind or a recorded device_name)\n"
		"  Axes take comma-separated values. Runs are ordered by repeat, then devices,\n"
		"  precisions, batch_sizes, seq, workers, prefetch (the last varying fastest).\n"
		"\n"
		"options:\n"
		"  --out DIR                 where results, logs and the plan copy go\n"
		"  --set KEY=VALUE           override a plan key (repeatable): a [sweep] key, or\n"
		"                            prices.DEVICE for a [prices] entry\n"
		"  --device-mem-limit BYTES  refuse device allocations beyond BYTES in every point\n"
		"                            (e.g. 16G), as a smaller card would; same as the plan key\n"
		"                            device_mem_limit\n"
		"  --list                    print the points (id and settings) and exit\n"
		"  --dry-run                 validate the plan, data and devices; run nothing\n"
		"  --shard I/N               run only shard I (0-based) of N: the points whose place in\n"
		"                            the run order is I modulo N; results go to DIR/shards/I.jsonl.\n"
		"                            Shards running at once in DIR must share N: a shard refuses to\n"
		"                            start (exit 1) while shards of another count run there.\n"
		"                            Without it, SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN and\n"
		"                            SLURM_ARRAY_TASK_COUNT are used when set. Then: amptune merge DIR\n"
		"  --force                   run even when DIR holds another plan's results\n"
		"  --no-progress             plain log lines instead of a progress bar on a terminal\n"
		"  --no-predict              run points the memory estimator says cannot fit; by default a\n"
		"                            point whose estimate (amptune estimate) exceeds the device's\n"
		"                            memory or device_mem_limit is recorded 'oom-predicted', not run;\n"
		"                            points already recorded so in DIR run again (their records are\n"
		"                            moved to RESULTS.predicted)\n"
		"  --quiet                   no progress, no summary; errors and warnings only\n"
		"\n"
		"Each point's status: ok, oom, oom-predicted (not run: the estimate exceeds the\n"
		"memory budget; see --no-predict), diverged, unsupported, timeout (ran past\n"
		"time_limit_s and was stopped) or failed (its stderr's tail is in the record).\n"
		"The sweep carries on whatever a point does. A cuda point on a machine without a\n"
		"GPU (or an amptune built without CUDA) is not run and not recorded, so resuming\n"
		"where a GPU is runs it.\n"
		"At the end, a summary table and the sweep's own overhead.\n"
		"\n"
		"exit codes: 0 the sweep ran (whatever its points' statuses), 1 runtime failure (a\n"
		"result could not be written, another sweep holds DIR), 64 usage or plan error, 65 bad\n"
		"data or results file, 69 points were left unrun because their device is not here\n"
		"(--dry-run: no point can run on this machine), 130/143 interrupted by SIGINT/SIGTERM,\n"
		"sent to the sweep or to a running point (that point is stopped, not recorded).\n");
}

static volatile sig_atomic_t stop_signal;
static void on_stop(int sig) { stop_signal = sig; }

struct sweep {
	const char *plan_path, *out;
	char **set;
	int nset, list, dry_run, force, quiet, no_progress, no_predict;
	int shard, nshards; /* nshards 0: not sharded */
	char memlimit[64];
	struct sw_plan plan;
	struct sw_grid grid;
	const struct sw_point **sel; /* this shard's points, in run order */
	int nsel;
	struct sw_results rec;
	char results_path[4096];
	int locks[3]; /* DIR/.lock; a shard's DIR/shards/of-N.lock and DIR/shards/I.lock */
	double t0_ms;
	struct dl_dataset ds; /* the plan's data, open during --dry-run's listing (a run releases it at once) */
	int ds_open;
};

enum { OPT_OUT = 256, OPT_SET, OPT_LIST, OPT_DRY_RUN, OPT_MEMLIMIT, OPT_SHARD, OPT_FORCE, OPT_QUIET, OPT_NO_PROGRESS, OPT_NO_PREDICT,
       OPT_HELP };

static const struct option long_opts[] = {
	{ "out", required_argument, 0, OPT_OUT },
	{ "set", required_argument, 0, OPT_SET },
	{ "list", no_argument, 0, OPT_LIST },
	{ "dry-run", no_argument, 0, OPT_DRY_RUN },
	{ "device-mem-limit", required_argument, 0, OPT_MEMLIMIT },
	{ "shard", required_argument, 0, OPT_SHARD },
	{ "force", no_argument, 0, OPT_FORCE },
	{ "quiet", no_argument, 0, OPT_QUIET },
	{ "no-progress", no_argument, 0, OPT_NO_PROGRESS },
	{ "no-predict", no_argument, 0, OPT_NO_PREDICT },
	{ "help", no_argument, 0, OPT_HELP },
	{ 0, 0, 0, 0 },
};

static int shard_from_env(struct sweep *s)
{
	const char *id = getenv("SLURM_ARRAY_TASK_ID"), *count = getenv("SLURM_ARRAY_TASK_COUNT");
	const char *min = getenv("SLURM_ARRAY_TASK_MIN"), *max = getenv("SLURM_ARRAY_TASK_MAX");
	long i, n, lo = 0, hi = -1;
	char spec[64];
	if (!id && !count)
		return KN_OK;
	if (!id || !count)
		return kn_error(KN_EUSAGE, "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT must be set together");
	if (tr_parse_long("SLURM_ARRAY_TASK_ID", id, 0, 10000000, &i) ||
	    tr_parse_long("SLURM_ARRAY_TASK_COUNT", count, 1, 100000, &n) ||
	    (min && tr_parse_long("SLURM_ARRAY_TASK_MIN", min, 0, 10000000, &lo)) ||
	    (max && tr_parse_long("SLURM_ARRAY_TASK_MAX", max, 0, 10000000, &hi))) {
		/* they are environment variables, not options */
		char msg[600];
		const char *m = kn_last_error();
		snprintf(msg, sizeof msg, "%s", strncmp(m, "option ", 7) == 0 ? m + 7 : m);
		return kn_error(KN_EUSAGE, "environment variable %s", msg);
	}
	/* --array=3,7 or 0-9:2 has gaps: task ids do not number the shards */
	if (min && max && hi - lo + 1 != n)
		return kn_error(KN_EUSAGE, "the job array %ld-%ld has %ld tasks, not a range of consecutive ids; "
				"give each task --shard I/N", lo, hi, n);
	/* a re-submitted part of an array (--array=3) would otherwise become shard 0 of 1, the whole grid */
	if (lo > 1)
		return kn_error(KN_EUSAGE, "the job array starts at task %ld, so its task ids do not number the shards "
				"(a re-submitted part of an array?); give each task --shard I/N", lo);
	snprintf(spec, sizeof spec, "%ld/%ld", i - lo, n);
	return sw_parse_shard("SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN over SLURM_ARRAY_TASK_COUNT", spec,
			      &s->shard, &s->nshards);
}

static int parse_args(struct sweep *s, int argc, char **argv)
{
	int opt, have_shard = 0;
	size_t bytes;
	opterr = 0;
	optind = 1;
	if (!(s->set = calloc((size_t)argc + 1, sizeof *s->set)))
		return kn_error(KN_ERR, "out of memory");
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_OUT:
			if (!*optarg)
				return kn_error(KN_EUSAGE, "option '--out' expects a directory, got ''");
			s->out = tr_trim_dir(optarg);
			break;
		case OPT_SET: s->set[s->nset++] = optarg; break;
		case OPT_LIST: s->list = 1; break;
		case OPT_DRY_RUN: s->dry_run = 1; break;
		case OPT_MEMLIMIT:
			if (tr_parse_bytes("--device-mem-limit", optarg, &bytes))
				return KN_EUSAGE;
			snprintf(s->memlimit, sizeof s->memlimit, "device_mem_limit=%zu", bytes);
			break;
		case OPT_SHARD:
			if (sw_parse_shard("option '--shard'", optarg, &s->shard, &s->nshards))
				return KN_EUSAGE;
			have_shard = 1;
			break;
		case OPT_FORCE: s->force = 1; break;
		case OPT_QUIET: s->quiet = 1; break;
		case OPT_NO_PROGRESS: s->no_progress = 1; break;
		case OPT_NO_PREDICT: s->no_predict = 1; break;
		case OPT_HELP:
		case 'h': return 1;
		case ':': return kn_error(KN_EUSAGE, "option '%s' needs a value", argv[optind - 1]);
		default: return kn_error(KN_EUSAGE, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return kn_error(KN_EUSAGE, "expected a plan file");
	if (optind + 1 < argc)
		return kn_error(KN_EUSAGE, "expected one plan file, got '%s' too", argv[optind + 1]);
	s->plan_path = argv[optind];
	if (s->memlimit[0])
		s->set[s->nset++] = s->memlimit; /* after the --sets: the option wins */
	if (s->list && s->dry_run)
		return kn_error(KN_EUSAGE, "options '--list' and '--dry-run' cannot be used together");
	if (!s->list && !s->dry_run && !s->out)
		return kn_error(KN_EUSAGE, "option '--out DIR' is required to run a sweep");
	return have_shard ? KN_OK : shard_from_env(s);
}

static int select_points(struct sweep *s)
{
	if (!(s->sel = calloc((size_t)s->grid.n + 1, sizeof *s->sel)))
		return kn_error(KN_ERR, "out of memory");
	for (int i = 0; i < s->grid.n; i++)
		if (!s->nshards || sw_point_in_shard(&s->grid.points[i], s->shard, s->nshards))
			s->sel[s->nsel++] = &s->grid.points[i];
	return KN_OK;
}

/* Reads every results file in DIR; `repair` is the one this run writes. */
static int read_recorded(struct sweep *s, const char *repair)
{
	char **paths;
	int n, rc;
	struct sw_read_note note;
	if (repair) {
		if ((rc = sw_results_repair(repair, &note)))
			return rc;
		char saved[4200];
		snprintf(saved, sizeof saved, "ignored; saved to '%s.torn'", repair);
		sw_warn_torn("sweep", repair, &note, saved);
	}
	if ((rc = sw_results_list_dir(s->out, &paths, &n)))
		return rc;
	rc = sw_results_read_all(&s->rec, paths, n, "sweep");
	sw_free_paths(paths, n);
	return rc;
}

/* Refuses a DIR whose plan.ini is another plan's, unless --force. A plan.ini that does not read
 * as a plan is a plan error (64, naming its line), as for merge and report. */
static int check_plan_file(struct sweep *s)
{
	char path[4200];
	struct sw_plan old;
	int rc = KN_OK;
	snprintf(path, sizeof path, "%s/plan.ini", s->out);
	sw_plan_init(&old);
	if (access(path, F_OK) == 0 && (rc = sw_plan_load(&old, path, NULL, 0)) && !s->force)
		rc = sw_error_around(rc, "", " (use --force to replace it)");
	else if (rc)
		rc = KN_OK;
	else if (old.name[0] && strcmp(old.name, s->plan.name) != 0 && !s->force)
		rc = kn_error(KN_EUSAGE, "'%s' holds results of plan '%s', not '%s'; use another --out, or --force",
			      s->out, old.name, s->plan.name);
	sw_plan_release(&old);
	return rc;
}

/* Refuses records of another plan in DIR, unless --force. */
static int check_record_names(struct sweep *s)
{
	for (int i = 0; !s->force && i < s->rec.n; i++)
		if (s->rec.e[i].sweep[0] && strcmp(s->rec.e[i].sweep, s->plan.name) != 0)
			return kn_error(KN_EUSAGE, "'%s' line %d is a result of plan '%s', not '%s'; use another --out, or --force",
					s->rec.e[i].file, s->rec.e[i].lineno, s->rec.e[i].sweep, s->plan.name);
	return KN_OK;
}

static int write_plan_copy(struct sweep *s)
{
	char path[4200], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return kn_error(KN_ERR, "out of memory");
	int bad = sw_plan_write(&s->plan, f, s->plan_path, s->set, s->nset);
	if (fclose(f) || bad) {
		free(text);
		return kn_error(KN_ERR, "out of memory writing the plan copy");
	}
	snprintf(path, sizeof path, "%s/plan.ini", s->out);
	int rc = sw_write_atomic(path, text, len);
	free(text);
	return rc;
}

/* M of a file named of-M.lock (the lock of shards of count M), else -1. */
static int count_lock_number(const char *name)
{
	char *end;
	if (strncmp(name, "of-", 3) != 0 || !isdigit((unsigned char)name[3]))
		return -1;
	long v = strtol(name + 3, &end, 10);
	return strcmp(end, ".lock") == 0 && v > 0 && v <= 100000 ? (int)v : -1;
}

/*
 * Refuses to run while shards of another count M hold DIR/shards/of-M.lock: their points overlap
 * this shard's, and neither would see the other's records before running them. Each is tried
 * with a non-blocking exclusive lock, released at once. This shard already holds its own
 * of-N.lock shared, so of two shards of different counts starting at the same moment, at least
 * the one that checks last sees the other's lock: one runs and the other refuses, or both
 * refuse (then the message may name a count whose lock was only being checked). Either way no
 * point runs twice.
 */
static int check_other_counts(const struct sweep *s)
{
	char path[4200], busy[4400];
	snprintf(path, sizeof path, "%s/shards", s->out);
	DIR *d = opendir(path);
	if (!d)
		return kn_error(KN_ERR, "cannot list '%s': %s", path, strerror(errno));
	int rc = KN_OK;
	for (struct dirent *de; rc == KN_OK && (de = readdir(d));) {
		int m = count_lock_number(de->d_name), fd, unsupported;
		if (m < 0 || m == s->nshards)
			continue;
		snprintf(path, sizeof path, "%s/shards/%s", s->out, de->d_name);
		snprintf(busy, sizeof busy, "shards of %d are running in '%s' and this is shard %d of %d: run every shard "
			 "of one sweep with the same count, or wait until those finish", m, s->out, s->shard, s->nshards);
		rc = sw_lock_acquire(path, LOCK_EX, busy, &fd, &unsupported);
		sw_lock_release(fd);
	}
	closedir(d);
	return rc;
}

/*
 * An unsharded sweep holds DIR/.lock exclusively. A shard holds it shared, then
 * DIR/shards/of-N.lock shared (N its count: the shards of one sweep run together), checks that
 * no shard of another count runs, and last holds DIR/shards/I.lock exclusively, so that shard
 * 1/3 beside a running 1/4 is told about the counts, not about shard 1.
 */
static int take_locks(struct sweep *s)
{
	char path[4200], busy[4400];
	int unsupported[3] = { 0, 0, 0 }, rc;
	snprintf(path, sizeof path, "%s/.lock", s->out);
	snprintf(busy, sizeof busy, "another sweep or a merge is running in '%s'", s->out);
	if ((rc = sw_lock_acquire(path, s->nshards ? LOCK_SH : LOCK_EX, busy, &s->locks[0], &unsupported[0])))
		return rc;
	if (s->nshards) {
		snprintf(path, sizeof path, "%s/shards/of-%d.lock", s->out, s->nshards);
		/* held exclusively only by a shard of another count checking it */
		snprintf(busy, sizeof busy, "shards of another count are starting in '%s' and this is shard %d of %d: "
			 "run every shard of one sweep with the same count, or wait until those finish", s->out, s->shard,
			 s->nshards);
		if ((rc = sw_lock_acquire(path, LOCK_SH, busy, &s->locks[1], &unsupported[1])) ||
		    (!unsupported[1] && (rc = check_other_counts(s))))
			return rc;
		snprintf(path, sizeof path, "%s/shards/%d.lock", s->out, s->shard);
		snprintf(busy, sizeof busy, "shard %d/%d is already running in '%s'", s->shard, s->nshards, s->out);
		if ((rc = sw_lock_acquire(path, LOCK_EX, busy, &s->locks[2], &unsupported[2])))
			return rc;
	}
	if (unsupported[0] || unsupported[1] || unsupported[2])
		fprintf(stderr, "amptune sweep: warning: the file system of '%s' has no file locks; run one sweep "
				"per directory (or shard, all of one count) at a time\n", s->out);
	return KN_OK;
}

/* The results file this run appends to: its shard's, or DIR/results.jsonl. */
static void set_results_path(struct sweep *s)
{
	if (s->nshards)
		snprintf(s->results_path, sizeof s->results_path, "%s/shards/%d.jsonl", s->out, s->shard);
	else
		snprintf(s->results_path, sizeof s->results_path, "%s/results.jsonl", s->out);
}

/* 1 when `path` already holds `line` as a whole line (a move cut short and run again). */
static int holds_line(const char *path, const char *line)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = strlen(line), lcap = 0;
	int found = 0;
	ssize_t got;
	char *l = NULL;
	while (!found && (got = getline(&l, &lcap, f)) > 0)
		found = (size_t)got >= n && strncmp(l, line, n) == 0 && (l[n] == '\n' || l[n] == 0);
	free(l);
	fclose(f);
	return found;
}

/* With --no-predict, the points of this run recorded 'oom-predicted' are run for real: their
 * records move from this run's results file to FILE.predicted (appended and synced before the
 * file is rewritten, so a crash in between loses nothing). A point recorded so in a file this
 * run does not own (another shard's, or a merged results.jsonl of a sharded sweep) is refused. */
static int unrecord_predicted(struct sweep *s)
{
	char moved_path[4300], *text = NULL;
	size_t len = 0;
	int points = 0, moved = 0, rc = KN_OK;
	char *drop = calloc((size_t)s->rec.n + 1, 1);
	if (!drop)
		return kn_error(KN_ERR, "out of memory");
	/* drop[first record of a point] marks the points to rerun; then every record of theirs goes */
	for (int i = 0; i < s->nsel; i++) {
		int e = sw_results_find(&s->rec, s->sel[i]->id, s->sel[i]->repeat);
		if (e >= 0 && strcmp(s->rec.e[e].status, "oom-predicted") == 0 && !drop[e]) {
			drop[e] = 1;
			points++;
		}
	}
	for (int i = 0; i < s->rec.n && rc == KN_OK; i++) {
		const struct sw_entry *e = &s->rec.e[i];
		if (!drop[sw_results_find(&s->rec, e->id, e->repeat)])
			continue;
		if (strcmp(e->file, s->results_path) != 0)
			rc = kn_error(KN_EUSAGE, "'%s' line %d records point '%s' as %s, and --no-predict can run it again "
						 "only when its records are in this run's own results file '%s'; use another --out",
				      e->file, e->lineno, e->id, e->status, s->results_path);
		drop[i] = 1;
		moved++;
	}
	if (rc || !moved) {
		free(drop);
		return rc;
	}
	snprintf(moved_path, sizeof moved_path, "%s.predicted", s->results_path);
	FILE *f = open_memstream(&text, &len);
	if (!f)
		rc = kn_error(KN_ERR, "out of memory");
	for (int i = 0; f && i < s->rec.n; i++) {
		struct sw_read_note note;
		if (strcmp(s->rec.e[i].file, s->results_path) != 0)
			continue;
		if (!drop[i])
			fprintf(f, "%s\n", s->rec.e[i].line);
		else if (rc == KN_OK && !holds_line(moved_path, s->rec.e[i].line))
			rc = sw_results_append(moved_path, s->rec.e[i].line, &note);
	}
	if (f && fclose(f) && rc == KN_OK)
		rc = kn_error(KN_ERR, "out of memory");
	if (rc == KN_OK)
		rc = sw_write_atomic(s->results_path, text, len);
	free(text);
	free(drop);
	if (rc)
		return rc;
	fprintf(stderr, "amptune sweep: --no-predict: %d point%s recorded oom-predicted will run; %d record%s moved to '%s'\n",
		points, points == 1 ? "" : "s", moved, moved == 1 ? "" : "s", moved_path);
	sw_results_release(&s->rec);
	sw_results_init(&s->rec);
	return read_recorded(s, NULL);
}

static int prepare_dir(struct sweep *s)
{
	char path[4200];
	int rc;
	struct stat st;
	if (stat(s->out, &st) == 0 && !S_ISDIR(st.st_mode))
		return kn_error(KN_EUSAGE, "option '--out' names '%s', which is a file, not a sweep directory", s->out);
	snprintf(path, sizeof path, "%s/%s", s->out, s->nshards ? "shards" : "points");
	if ((rc = sw_mkdirs(path)))
		return rc;
	snprintf(path, sizeof path, "%s/points", s->out);
	if ((rc = sw_mkdirs(path)) || (rc = take_locks(s)))
		return rc;
	set_results_path(s);
	/* the plan's name before anything in DIR changes; a torn line is cut before reading */
	if ((rc = check_plan_file(s)) || (rc = read_recorded(s, s->results_path)) || (rc = check_record_names(s)) ||
	    (s->no_predict && (rc = unrecord_predicted(s))))
		return rc;
	return write_plan_copy(s);
}

/* Why a point's device is not on this machine (a cuda point where no GPU is, or amptune was built
 * without CUDA), or NULL. Such a point is not run and not recorded: the machine, not the point,
 * lacks something, and the sweep resumed where a GPU is runs it. */
static const char *device_absent(const struct sw_point *pt)
{
	if (strcmp(pt->device, "cuda") != 0)
		return NULL;
	if (!kn_cuda_compiled())
		return "its device 'cuda' is not here: this amptune was built without CUDA";
	if (kn_cuda_device_count() <= 0)
		return "its device 'cuda' is not here: no CUDA GPU on this machine";
	return NULL;
}

/* 1 with a message when the estimator says the point cannot fit its device:
 * device_mem_limit, or the GPU's memory. Points the device cannot run at all
 * (a CPU precision other than fp32, cuda with no GPU) and models the estimator has no preset
 * for are left to run, so they get their real status. */
static int predicted_oom(const struct sweep *s, const struct sw_point *pt, char *msg, size_t n)
{
	const struct sw_plan *p = &s->plan;
	int cuda = strcmp(pt->device, "cuda") == 0;
	int gpu = (cuda || strcmp(pt->device, "auto") == 0) && kn_cuda_device_count() > 0;
	double budget = (double)p->device_mem_limit;
	if (s->no_predict || (cuda && !gpu) || (!gpu && strcmp(pt->precision, "fp32") != 0))
		return 0;
	if (!budget && gpu)
		budget = (double)kn_cuda_total_memory();
	if (!budget)
		return 0;
	struct rp_est_input in;
	struct rp_estimate e;
	memset(&in, 0, sizeof in);
	snprintf(in.model, sizeof in.model, "%s", p->model);
	snprintf(in.size, sizeof in.size, "%s", p->size);
	in.batch = (int)pt->batch;
	in.seq = (int)sw_point_seq(p, pt);
	in.mode = RP_EST_TRAIN;
	in.optimizer = strcmp(p->model, "cnn") == 0 ? RP_OPT_SGD : RP_OPT_ADAMW;
	/* device_mem_limit caps the allocator's bytes (kn_alloc), not the GPU runtime's */
	in.on_gpu = gpu && !p->device_mem_limit;
	in.cuda_layout = gpu;
	if (kn_precision_parse(pt->precision, &in.precision) || rp_estimate(&in, &e) != KN_OK)
		return 0;
	if (e.total <= budget)
		return 0;
	char need[32], have[32];
	snprintf(msg, n, "predicted out of memory: the estimate (amptune estimate) is %s, over the %s of %s; not run "
		 "(--no-predict runs it)", kn_fmt_bytes(need, sizeof need, e.total), kn_fmt_bytes(have, sizeof have, budget),
		 p->device_mem_limit ? "device_mem_limit" : "the GPU");
	return 1;
}

static int record_line(struct sweep *s, char *line, struct sw_progress *pg)
{
	struct sw_read_note note;
	int rc;
	if (!line)
		return kn_error(KN_ERR, "out of memory making a record");
	if ((rc = sw_results_append(s->results_path, line, &note)) == KN_OK)
		rc = sw_results_add(&s->rec, line, s->results_path, 0);
	free(line);
	if (note.torn_line) {
		sw_progress_end(pg);
		sw_warn_torn("sweep", s->results_path, &note, "cut before appending");
	}
	return rc;
}

static int run_point(struct sweep *s, const struct sw_point *pt, struct sw_progress *pg, double *points_s)
{
	char predicted[512];
	if (predicted_oom(s, pt, predicted, sizeof predicted)) {
		sw_progress_start(pg, pt, (int)s->plan.repeats);
		int rc = record_line(s, sw_predicted_record(&s->plan, pt, predicted), pg);
		if (rc == KN_OK)
			sw_progress_finish(pg, pt, "oom-predicted", 0);
		return rc;
	}
	struct sw_argv args;
	struct sw_outcome o;
	char log_path[4200], header[256], now[32];
	int rc;
	if ((rc = sw_point_argv(&s->plan, pt, &args)))
		return rc;
	/* one log per run: repeats of a point may run at once (shards), and a log the two appended to
	 * would interleave their lines, and each one's stderr_tail would take the other's */
	if (pt->repeat > 1)
		snprintf(log_path, sizeof log_path, "%s/points/%s.r%d.log", s->out, pt->id, pt->repeat);
	else
		snprintf(log_path, sizeof log_path, "%s/points/%s.log", s->out, pt->id);
	tr_utc_now(now, sizeof now);
	snprintf(header, sizeof header, "== amptune sweep '%s': point %d id %s repeat %d/%ld, started %s ==",
		 s->plan.name, pt->index, pt->id, pt->repeat, s->plan.repeats, now);
	struct sw_child_opts opts = {
		.exe = "/proc/self/exe", .argv = args.argv, .log_path = log_path, .log_header = header,
		.time_limit_s = s->plan.time_limit_s, .stop = &stop_signal, .tick = sw_progress_tick, .tick_ctx = pg,
	};
	sw_progress_start(pg, pt, (int)s->plan.repeats);
	rc = sw_run_child(&opts, &o);
	*points_s += o.wall_s;
	/* a point stopped by SIGINT or SIGTERM that reached it alone (not the sweep, not our time
	 * limit) has no result either: the sweep stops as if it had been signalled itself */
	int sig = o.exited ? (o.exit_code == 130 ? SIGINT : o.exit_code == 143 ? SIGTERM : 0)
			   : (o.term_signal == SIGINT || o.term_signal == SIGTERM ? o.term_signal : 0);
	if (rc == KN_OK && sig && !o.timed_out && !stop_signal) {
		sw_progress_end(pg);
		fprintf(stderr, "amptune sweep: point %s was stopped by %s\n", pt->id, sig == SIGINT ? "SIGINT" : "SIGTERM");
		stop_signal = sig;
		rc = KN_EINTR;
	}
	if (rc == KN_OK)
		rc = record_line(s, sw_point_record(&s->plan, pt, &o), pg);
	if (rc == KN_OK)
		sw_progress_finish(pg, pt, s->rec.e[s->rec.n - 1].status, o.wall_s);
	sw_outcome_release(&o);
	return rc;
}

static int run_all(struct sweep *s)
{
	struct sw_progress pg;
	int done = 0, rc = KN_OK;
	double points_s = 0;
	for (int i = 0; i < s->nsel; i++)
		done += sw_results_find(&s->rec, s->sel[i]->id, s->sel[i]->repeat) >= 0;
	enum sw_progress_mode mode = s->quiet ? SW_PROGRESS_QUIET
				     : isatty(STDERR_FILENO) && !s->no_progress ? SW_PROGRESS_BAR : SW_PROGRESS_LINES;
	sw_progress_init(&pg, mode, s->nsel, done);
	if (done && mode != SW_PROGRESS_QUIET)
		fprintf(stderr, "amptune sweep: resuming '%s': %d of %d points already recorded in '%s'\n",
			s->plan.name, done, s->nsel, s->out);
	struct sigaction sa = { .sa_handler = on_stop }; /* no SA_RESTART: a signal ends a wait at once */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigemptyset(&sa.sa_mask);
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* an inherited SIG_IGN would let the kernel reap the points before we read their exit */
	sigaction(SIGCHLD, &dfl, NULL);
	int absent = 0;
	const char *absent_why = NULL;
	for (int i = 0; i < s->nsel && rc == KN_OK && !stop_signal; i++) {
		if (sw_results_find(&s->rec, s->sel[i]->id, s->sel[i]->repeat) >= 0)
			continue;
		const char *why = device_absent(s->sel[i]);
		if (why) {
			absent++, absent_why = why;
			sw_progress_skip(&pg, s->sel[i], why);
			continue;
		}
		rc = run_point(s, s->sel[i], &pg, &points_s);
	}
	sw_progress_end(&pg);
	if (rc == KN_EINTR || (rc == KN_OK && stop_signal)) {
		fprintf(stderr, "amptune sweep: interrupted by %s: the running point was stopped and not recorded; "
				"run the same command again to resume\n", stop_signal == SIGTERM ? "SIGTERM" : "SIGINT");
		return kn_error(KN_EINTR, "interrupted");
	}
	if (rc)
		return rc;
	double wall_s = (tr_now_ms() - s->t0_ms) / 1e3;
	if (!s->quiet) {
		sw_summary_print(stdout, &s->plan, s->sel, s->nsel, &s->rec);
		printf("results: %s\n", s->results_path);
		if (done == s->nsel)
			printf("nothing to run: every point was already recorded\n");
		else if (done + absent == s->nsel)
			printf("nothing run: every point left needs a device that is not here\n");
		else
			printf("sweep overhead: %.2f s of %.2f s wall (%.1f%%) outside the points' own processes\n",
			       wall_s - points_s, wall_s, wall_s > 0 ? 100.0 * (wall_s - points_s) / wall_s : 0.0);
		if (s->nshards && !absent)
			printf("shard %d/%d done; when every shard is: amptune merge %s\n", s->shard, s->nshards, s->out);
	}
	if (absent) /* exit 69: a job script sees that the shard is not done */
		return kn_error(KN_EUNAVAIL, "%d point%s not run and not recorded (%s); resume the sweep where %s to run %s",
				absent, absent == 1 ? "" : "s", absent_why,
				kn_cuda_compiled() ? "a GPU is" : "amptune has CUDA", absent == 1 ? "it" : "them");
	return KN_OK;
}

/* The steps the point trains: the plan's, or those its 'epochs' give at its batch and seq (as train
 * resolves them); KN_EDATA, naming the data, when the data holds less than one batch. */
static int point_steps(const struct sweep *s, const struct sw_point *pt, long *steps)
{
	long per_epoch;
	int rc = dl_steps_per_epoch(&s->ds, DL_TRAIN, (int)pt->batch, (int)sw_point_seq(&s->plan, pt), NULL, &per_epoch);
	if (rc)
		return rc;
	double want = s->plan.epochs ? tr_epoch_steps(s->plan.epochs, per_epoch) : (double)s->plan.steps;
	*steps = want < 1 ? 1 : (long)want; /* plan epochs <= 1e6: a long holds it */
	return KN_OK;
}

/* What running the point here would do, for --dry-run. */
static const char *dry_note(struct sweep *s, const struct sw_point *pt, char *buf, size_t n, int *runnable)
{
	int e = s->out ? sw_results_find(&s->rec, pt->id, pt->repeat) : -1;
	int rerun = e >= 0 && s->no_predict && strcmp(s->rec.e[e].status, "oom-predicted") == 0;
	if (rerun && strcmp(s->rec.e[e].file, s->results_path) != 0) {
		snprintf(buf, n, "recorded: oom-predicted in '%s', which --no-predict cannot rerun from here",
			 s->rec.e[e].file);
		return buf;
	}
	if (e >= 0 && !rerun) {
		snprintf(buf, n, "recorded: %s", s->rec.e[e].status);
		return buf;
	}
	long steps;
	const char *absent = device_absent(pt);
	if (absent) {
		snprintf(buf, n, "not run here: %s", absent);
		return buf;
	}
	if (s->ds_open && point_steps(s, pt, &steps)) {
		snprintf(buf, n, "fails here: %s", kn_last_error());
		return buf;
	}
	enum kn_precision prec;
	struct kn_backend be;
	kn_precision_parse(pt->precision, &prec);
	int rc = kn_backend_open(&be, pt->device, prec, 0);
	char oom[400];
	if (rc == KN_OK && predicted_oom(s, pt, oom, sizeof oom)) {
		kn_backend_release(&be); /* the run would record it oom-predicted without running it */
		snprintf(buf, n, "%s", oom);
	} else if (rc == KN_OK) {
		snprintf(buf, n, "run on %s", be.name);
		kn_backend_release(&be);
		(*runnable)++;
	} else {
		snprintf(buf, n, "%s: %s", rc == KN_EUNAVAIL ? "unsupported here" : "fails here", kn_last_error());
	}
	return buf;
}

/* "FILE:LINE: " or "--set 'k=v': " for a key the plan sets */
static const char *key_at(const struct sweep *s, enum sw_key k, char *buf, size_t n)
{
	int line = s->plan.line[k];
	if (line > 0)
		snprintf(buf, n, "%s:%d: ", s->plan.file, line);
	else if (line < 0)
		snprintf(buf, n, "--set '%s': ", s->set[-1 - line]);
	else
		buf[0] = 0;
	return buf;
}

/* With 'epochs', the steps of each point depend on its batch and seq, so they are known only once
 * the data is open: none may pass TR_MAX_STEPS, and a given warm-up must be below all, as train
 * requires. */
static int check_epoch_steps(const struct sweep *s)
{
	long steps;
	char at[600];
	if (!s->plan.line[SW_EPOCHS])
		return KN_OK;
	for (int i = 0; i < s->nsel; i++) {
		const struct sw_point *pt = s->sel[i];
		if (point_steps(s, pt, &steps))
			continue; /* a batch larger than the data fails that point alone */
		if (steps > TR_MAX_STEPS)
			return kn_error(KN_EUSAGE, "%s'epochs' %g gives %ld steps at batch %ld (point %s), more than %ld",
					key_at(s, SW_EPOCHS, at, sizeof at), s->plan.epochs, steps, pt->batch, pt->id,
					(long)TR_MAX_STEPS);
		if (!s->plan.line[SW_WARMUP_STEPS] || s->plan.warmup_steps < steps)
			continue;
		return kn_error(KN_EUSAGE,
				"%s'warmup_steps' (%ld) must be below the steps each point trains: 'epochs' %g gives %ld "
				"step%s at batch %ld (point %s); lower it or train longer",
				key_at(s, SW_WARMUP_STEPS, at, sizeof at), s->plan.warmup_steps, s->plan.epochs, steps,
				steps == 1 ? "" : "s", pt->batch, pt->id);
	}
	return KN_OK;
}

/* The plan's data opened as its model would open it, before any point runs (a point would fail with
 * it, and its record would keep the point from running again once the plan is fixed), and a given
 * warm-up checked against its size. With keep, it stays open for --dry-run's per-point checks;
 * otherwise it is released at once: the sweep must not hold a copy of the data while every point
 * loads its own. */
/* The usage error just made, as a plan error at the plan's line `line` (the error as it was when 0) */
static int at_plan_line(const struct sweep *s, int line)
{
	char msg[768];
	if (line <= 0)
		return KN_EUSAGE;
	snprintf(msg, sizeof msg, "%s", kn_last_error());
	return kn_error(KN_EUSAGE, "%s:%d: %s", s->plan.file, line, msg);
}

static int check_plan_data(struct sweep *s, int keep)
{
	const struct sw_model *m = sw_find_model(s->plan.model);
	int rc;
	if (!m->check_data)
		return KN_OK;
	if ((rc = m->check_data(s->plan.data, &s->ds))) /* the wrong kind of data is a plan error: say where */
		return rc == KN_EUSAGE ? at_plan_line(s, s->plan.line[SW_DATA]) : rc;
	s->ds_open = 1;
	rc = check_epoch_steps(s);
	/* an evaluation no point could make (as train refuses it): a plan error, said before any run */
	if (rc == KN_OK && s->plan.line[SW_EVAL_IMAGES] > 0 && s->ds.kind == DL_KIND_IMAGES &&
	    tr_cnn_check_eval_images("'eval_images'", s->plan.eval_images, &s->ds, s->plan.data))
		rc = at_plan_line(s, s->plan.line[SW_EVAL_IMAGES]);
	if (!keep) {
		dl_dataset_release(&s->ds);
		s->ds_open = 0;
	}
	return rc;
}

static int dry_run(struct sweep *s)
{
	char note[512];
	int rc, runnable = 0, to_run = 0;
	if ((rc = check_plan_data(s, 1)))
		return rc;
	if (s->out) {
		set_results_path(s);
		if ((rc = check_plan_file(s)) || (rc = read_recorded(s, NULL)) || (rc = check_record_names(s)))
			return rc;
	}
	sw_list_header(stdout, 1);
	for (int i = 0; i < s->nsel; i++) {
		sw_list_row(stdout, &s->plan, s->sel[i], dry_note(s, s->sel[i], note, sizeof note, &runnable));
		to_run += strncmp(note, "recorded", 8) != 0;
	}
	printf("plan '%s' is valid: %d point%s%s, %d to run, %d can run here\n", s->plan.name, s->nsel,
	       s->nsel == 1 ? "" : "s", s->nshards ? " in this shard" : "", to_run, runnable);
	if (to_run && !runnable)
		return kn_error(KN_EUNAVAIL, "no point of plan '%s' can run on this machine", s->plan.name);
	return KN_OK;
}

int cmd_sweep(int argc, char **argv)
{
	struct sweep s = { .locks = { -1, -1, -1 }, .t0_ms = tr_now_ms() };
	sw_plan_init(&s.plan);
	sw_results_init(&s.rec);
	int rc = parse_args(&s, argc, argv);
	if (rc == 1) {
		cmd_sweep_usage(stdout);
		rc = KN_OK;
		goto out;
	}
	if (rc == KN_EUSAGE) {
		free(s.set);
		return tr_usage_error("sweep", kn_last_error());
	}
	if (rc == KN_OK)
		rc = sw_plan_load(&s.plan, s.plan_path, s.set, s.nset);
	if (rc == KN_OK)
		rc = sw_grid_expand(&s.grid, &s.plan);
	if (rc == KN_OK)
		rc = select_points(&s);
	if (rc == KN_OK && s.list) {
		sw_list_header(stdout, 0);
		for (int i = 0; i < s.nsel; i++)
			sw_list_row(stdout, &s.plan, s.sel[i], NULL);
	} else if (rc == KN_OK && s.dry_run) {
		rc = dry_run(&s);
	} else if (rc == KN_OK) {
		if ((rc = check_plan_data(&s, 0)) == KN_OK && (rc = prepare_dir(&s)) == KN_OK)
			rc = run_all(&s);
	}
	if (rc && rc != KN_EINTR)
		fprintf(stderr, "amptune sweep: %s\n", kn_last_error());
out:
	sw_lock_release(s.locks[0]);
	sw_lock_release(s.locks[1]);
	sw_lock_release(s.locks[2]);
	sw_results_release(&s.rec);
	free(s.sel);
	sw_grid_release(&s.grid);
	sw_plan_release(&s.plan);
	if (s.ds_open)
		dl_dataset_release(&s.ds);
	free(s.set);
	return kn_exit_code(rc, stop_signal);
}
