#include "data_loader/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data_loader/loader.h"
#include "kernels/error.h"

#define DL_STARVE_HEADROOM 1.25

int dl_series_set(struct dl_series *s, size_t i, double x)
{
	if (i >= s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		while (cap <= i)
			cap *= 2;
		double *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return kn_error(KN_ENOMEM, "out of memory for loader statistics");
		s->v = v;
		s->cap = cap;
	}
	while (s->n <= i)
		s->v[s->n++] = NAN;
	s->v[i] = x;
	return KN_OK;
}

void dl_series_release(struct dl_series *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double dl_quantile(const double *v, size_t n, double q)
{
	double *c = malloc((n ? n : 1) * sizeof *c);
	size_t m = 0;
	if (!c)
		return NAN;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]))
			c[m++] = v[i];
	double out = NAN;
	if (m) {
		qsort(c, m, sizeof *c, cmp_double);
		double pos = q * (double)(m - 1);
		size_t lo = (size_t)pos;
		out = lo + 1 < m ? c[lo] + (pos - (double)lo) * (c[lo + 1] - c[lo]) : c[lo];
	}
	free(c);
	return out;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* What the workers did so far, summed. */
struct team_totals {
	double busy_ms, busy_cpu_ms, blocked_ms, life_ms;
	long samples;
	int threads;                /* workers (or 1: the trainer's thread) */
	double per_worker_per_sec;  /* samples per second of busy time, per worker */
};

static void lock(struct dl_loader *l)
{
	if (l->sync_ready)
		pthread_mutex_lock(&l->mu);
}

static void unlock(struct dl_loader *l)
{
	if (l->sync_ready)
		pthread_mutex_unlock(&l->mu);
}

/* Under the lock when workers run. */
static double worker_life_ms(const struct dl_worker_stats *w, double now)
{
	if (w->life_ms > 0)
		return w->life_ms;
	return w->start_ms > 0 ? now - w->start_ms : 0;
}

static void team_totals(struct dl_loader *l, struct team_totals *t)
{
	const struct dl_stats *st = &l->stats;
	double now = now_ms();
	memset(t, 0, sizeof *t);
	if (st->n_workers == 0) {
		t->busy_ms = t->life_ms = st->sync_fill_ms;
		t->busy_cpu_ms = st->sync_fill_cpu_ms;
		t->samples = st->sync_samples;
		t->threads = 1;
	} else {
		lock(l);
		for (int i = 0; i < st->n_workers; i++) {
			t->busy_ms += st->worker[i].busy_ms;
			t->busy_cpu_ms += st->worker[i].busy_cpu_ms;
			t->blocked_ms += st->worker[i].blocked_ms;
			t->life_ms += worker_life_ms(&st->worker[i], now);
			t->samples += st->worker[i].samples;
		}
		t->threads = l->team_size ? l->team_size : st->n_workers;
		unlock(l);
	}
	t->per_worker_per_sec = t->busy_ms > 0 ? (double)t->samples / (t->busy_ms / 1e3) : NAN;
}

/* Samples per second the trainer takes when it is not waiting, over dequeues [from, to). */
static double consumer_rate(const struct dl_loader *l, size_t from, size_t to)
{
	const struct dl_stats *st = &l->stats;
	double compute_ms = 0;
	size_t cycles = 0;
	for (size_t k = from; k + 1 < to && k + 1 < st->request_ms.n; k++, cycles++)
		compute_ms += st->request_ms.v[k + 1] - st->return_ms.v[k];
	return cycles && compute_ms > 0 ? (double)l->B * (double)cycles / (compute_ms / 1e3) : NAN;
}

static double sum(const double *v, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]))
			s += v[i];
	return s;
}

static double max_of(const double *v, size_t n)
{
	double m = n ? 0 : NAN;
	for (size_t i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

static long count_zero(const double *v, size_t n)
{
	long c = 0;
	for (size_t i = 0; i < n; i++)
		c += v[i] == 0;
	return c;
}

static cJSON *worker_array(const struct dl_loader *l, int what, double now)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; a && i < l->stats.n_workers; i++) {
		const struct dl_worker_stats *w = &l->stats.worker[i];
		double life = worker_life_ms(w, now), v;
		if (what == 3)
			v = (double)w->samples;
		else if (life <= 0)
			v = NAN;
		else if (what == 0)
			v = w->busy_ms / life;
		else if (what == 1)
			v = w->blocked_ms / life;
		else
			v = fmax(0.0, 1.0 - (w->busy_ms + w->blocked_ms) / life);
		cJSON *num = cJSON_CreateNumber(v);
		if (!num || !cJSON_AddItemToArray(a, num)) {
			cJSON_Delete(num);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

int dl_loader_stats_json(struct dl_loader *l, cJSON *o, long warmup)
{
	const struct dl_stats *st = &l->stats;
	size_t n = st->wait_ms.n, w = warmup < 0 ? 0 : (size_t)warmup < n ? (size_t)warmup : n, timed = n - w;
	const double *wait = st->wait_ms.v + w, *depth = st->depth.v + w;
	struct team_totals tt;
	team_totals(l, &tt);
	double consumer = consumer_rate(l, w, n);
	double capacity = tt.per_worker_per_sec * tt.threads;
	int ok = 1;
#define NUM(obj, key, val) ok &= cJSON_AddNumberToObject(obj, key, (double)(val)) != NULL
#define BOOL(obj, key, val) ok &= cJSON_AddBoolToObject(obj, key, val) != NULL
	NUM(o, "workers", l->opt.workers);
	NUM(o, "prefetch", l->opt.prefetch);
	BOOL(o, "shuffle", l->opt.shuffle);
	BOOL(o, "drop_last", l->opt.drop_last);
	BOOL(o, "augment", l->opt.augment);
	NUM(o, "data_latency_us", l->opt.latency_us);
	NUM(o, "data_cost", l->opt.cost);
	ok &= cJSON_AddStringToObject(o, "remainder", l->opt.drop_last ? "drop" : "wrap") != NULL;
	ok &= cJSON_AddStringToObject(o, "dataset_kind", l->ds->kind == DL_KIND_TOKENS ? "tokens" : "images") != NULL;
	NUM(o, "samples_per_epoch", l->samples_per_epoch);
	NUM(o, "steps_per_epoch", l->steps_per_epoch);
	NUM(o, "batches", n);
	NUM(o, "wait_ms_total", sum(st->wait_ms.v, n));
	NUM(o, "timed_steps", timed);
	NUM(o, "wait_ms_p50", dl_quantile(wait, timed, 0.50));
	NUM(o, "wait_ms_p95", dl_quantile(wait, timed, 0.95));
	NUM(o, "wait_ms_mean", timed ? sum(wait, timed) / (double)timed : NAN);
	NUM(o, "wait_ms_max", max_of(wait, timed));
	{
		size_t hn = st->handoff_ms.n < n ? st->handoff_ms.n : n;
		const double *handoff = st->handoff_ms.v + (w < hn ? w : hn);
		size_t ht = hn > w ? hn - w : 0;
		NUM(o, "handoff_ms_mean", ht ? sum(handoff, ht) / (double)ht : NAN);
		NUM(o, "handoff_ms_p95", dl_quantile(handoff, ht, 0.95));
	}
	NUM(o, "queue_depth_p50", dl_quantile(depth, timed, 0.50));
	NUM(o, "queue_depth_mean", timed ? sum(depth, timed) / (double)timed : NAN);
	NUM(o, "empty_steps", count_zero(depth, timed));
	NUM(o, "empty_frac", timed ? (double)count_zero(depth, timed) / (double)timed : NAN);
	cJSON *hist = cJSON_AddArrayToObject(o, "queue_depth_hist");
	ok &= hist != NULL;
	for (int d = 0; hist && d <= l->nslots; d++) {
		long c = 0;
		for (size_t i = 0; i < timed; i++)
			c += depth[i] == d;
		cJSON *num = cJSON_CreateNumber((double)c);
		ok &= num && cJSON_AddItemToArray(hist, num);
	}
	lock(l); /* workers append to produce_ms */
	size_t produced_to = st->produce_ms.n < n ? st->produce_ms.n : n;
	size_t pw = w < produced_to ? w : produced_to;
	double batch_p50 = dl_quantile(st->produce_ms.v + pw, produced_to - pw, 0.50);
	double batch_p95 = dl_quantile(st->produce_ms.v + pw, produced_to - pw, 0.95);
	unlock(l);
	NUM(o, "batch_ms_p50", batch_p50);
	NUM(o, "batch_ms_p95", batch_p95);
	NUM(o, "producer_samples_per_sec", capacity);
	NUM(o, "producer_samples_per_sec_per_worker", tt.per_worker_per_sec);
	NUM(o, "consumer_samples_per_sec", consumer);
	NUM(o, "workers_needed", isfinite(consumer) && tt.per_worker_per_sec > 0
					  ? fmax(1.0, ceil(consumer / tt.per_worker_per_sec)) : NAN);
	NUM(o, "team_size", l->opt.workers ? tt.threads : 0);
	NUM(o, "busy_frac", tt.life_ms > 0 ? tt.busy_ms / tt.life_ms : NAN);
	NUM(o, "blocked_frac", tt.life_ms > 0 ? tt.blocked_ms / tt.life_ms : NAN);
	NUM(o, "busy_cpu_frac", tt.busy_ms > 0 ? fmin(1.0, tt.busy_cpu_ms / tt.busy_ms) : NAN);
	NUM(o, "idle_frac", tt.life_ms > 0 ? fmax(0.0, 1.0 - (tt.busy_ms + tt.blocked_ms) / tt.life_ms) : NAN);
	lock(l);
	double now = now_ms();
	static const char *const arrays[] = { "worker_busy_frac", "worker_blocked_frac", "worker_idle_frac",
					      "worker_samples" };
	for (int a = 0; a < 4; a++) {
		cJSON *arr = worker_array(l, a, now);
		ok &= arr && cJSON_AddItemToObject(o, arrays[a], arr);
	}
	unlock(l);
	cJSON *wu = cJSON_AddObjectToObject(o, "warmup");
	ok &= wu != NULL;
	if (wu) {
		NUM(wu, "steps", w);
		NUM(wu, "wait_ms_total", sum(st->wait_ms.v, w));
		NUM(wu, "wait_ms_max", max_of(st->wait_ms.v, w));
		NUM(wu, "empty_steps", count_zero(st->depth.v, w));
	}
	NUM(o, "starvation_warnings", st->warnings);
#undef NUM
#undef BOOL
	return ok ? KN_OK : kn_error(KN_ENOMEM, "out of memory writing loader statistics");
}

static void diagnose(struct dl_loader *l, double consumer, char *msg, size_t n)
{
	struct team_totals tt;
	team_totals(l, &tt);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	/* workers to keep up with the trainer, with a quarter of headroom for jitter */
	int need = isfinite(consumer) && tt.per_worker_per_sec > 0
			   ? (int)ceil(DL_STARVE_HEADROOM * consumer / tt.per_worker_per_sec) : 1;
	double busy = tt.life_ms > 0 ? tt.busy_ms / tt.life_ms : 0;
	if (l->opt.workers == 0) {
		snprintf(msg, n, "batches are loaded on the trainer's thread (%.0f samples/s; the trainer takes %.0f/s "
				 "when not waiting): start loader workers to overlap loading with compute, e.g. --workers %d",
			 tt.per_worker_per_sec, consumer, need > 1 ? need : 1);
	} else if (busy >= 0.8) {
		int len = snprintf(msg, n, "%d loader worker%s busy %.0f%% of the time at %.0f samples/s each and "
					   "the trainer takes %.0f/s: raise --workers to about %d",
				   tt.threads, tt.threads == 1 ? " is" : "s are", 100 * busy, tt.per_worker_per_sec, consumer, need > tt.threads ? need : tt.threads + 1);
		/* sleeping or reading workers can outnumber the cores; computing ones cannot */
		double cpu = tt.busy_ms > 0 ? tt.busy_cpu_ms / tt.busy_ms : 1;
		if (need > cores && len > 0 && (size_t)len < n)
			snprintf(msg + len, n - (size_t)len,
				 cpu >= 0.5 ? "; but making a sample is %.0f%% CPU and there are only %ld cores: make "
					      "samples cheaper (decoding, --data-cost)"
					    : " (they spend %.0f%% of it on CPU, the rest waiting on reads, so more "
					      "workers than the %ld cores is fine)",
				 100 * cpu, cores);
	} else {
		snprintf(msg, n, "the queue runs dry while %d loader worker(s) are busy only %.0f%% of the time: they "
				 "get too little CPU (lower --threads) or batches come in bursts (raise --prefetch, now %d)",
			 tt.threads, 100 * busy, l->opt.prefetch);
	}
}

int dl_loader_starvation(struct dl_loader *l, long warmup, char *msg, size_t n)
{
	struct dl_stats *st = &l->stats;
	long k = l->next_step, first = k - 1 - DL_STARVE_WINDOW;
	if (first < warmup || (k - 1 - warmup) % DL_STARVE_WINDOW != 0 || (size_t)k > st->request_ms.n)
		return 0;
	double span = st->request_ms.v[k - 1] - st->request_ms.v[first];
	double wait = sum(st->wait_ms.v + first, DL_STARVE_WINDOW);
	if (span <= 0 || wait / span <= DL_STARVE_FRAC)
		return 0;
	if (st->warnings > 0 && k - st->last_warning_step < DL_STARVE_REPEAT)
		return 0;
	char cause[400];
	diagnose(l, consumer_rate(l, (size_t)first, (size_t)k), cause, sizeof cause);
	/* the trainer waits for batch j (from 0) in its step j (from 1): the batch after the one it computes
	 * on, and in its first step for batches 0 and 1 */
	snprintf(msg, n, "data-wait is %.0f%% of step time over steps %ld-%ld (queue empty at %ld of %d): %s",
		 100 * wait / span, first > 0 ? first : 1, k - 2, count_zero(st->depth.v + first, DL_STARVE_WINDOW),
		 DL_STARVE_WINDOW, cause);
	st->warnings++;
	st->last_warning_step = k;
	return 1;
}
