#include "data_loader/loader.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data_loader/transform.h"
#include "kernels/backend.h"

#define STOPPED 1           /* internal: fill_rows saw the stop flag */
#define WAIT_SLICE_MS 20    /* how often a waiting trainer looks at the interrupt flag */
#define MAX_WORKERS 1024
#define MAX_PREFETCH 1024

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void dl_options_defaults(struct dl_options *o)
{
	*o = (struct dl_options){ .workers = 2, .prefetch = 4, .shuffle = 1, .augment = 1, .fail_at_batch = -1 };
}

static double thread_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int interrupted(const struct dl_loader *l) { return l->opt.interrupt && *l->opt.interrupt; }

/* Fills rows [r0, r1) of `batch` into slot s. Runs on a worker, or on the
 * trainer's thread when workers = 0; reads only immutable loader state. */
static int fill_rows(struct dl_loader *l, struct dl_slot *s, long batch, int r0, int r1)
{
	const struct dl_dataset *ds = l->ds;
	size_t image = (size_t)ds->C * ds->H * ds->W;
	for (int r = r0; r < r1; r++) {
		/* a waiting trainer watches the interrupt flag itself; on its own thread it looks here */
		const volatile int *interrupt = l->opt.workers == 0 ? l->opt.interrupt : NULL;
		if (atomic_load(&l->stop) || (interrupt && *interrupt))
			return STOPPED;
		if (batch == l->opt.fail_at_batch)
			return kn_error(KN_EDATA, "loader: injected failure filling row %d of batch %ld", r, batch);
		long epoch;
		uint64_t sample;
		dl_sampler_locate(&l->sampler, batch, r, &epoch, &sample);
		if (l->opt.latency_us > 0 && dl_sample_latency(l->opt.latency_us, &l->stop, interrupt))
			return STOPPED;
		if (l->opt.cost > 0)
			dl_sample_cost(l->opt.cost);
		s->samples[r] = sample;
		if (ds->kind == DL_KIND_TOKENS)
			dl_text_row(&ds->tokens[l->split], sample, l->T, l->opt.augment, l->seed, epoch,
				    s->inputs + (size_t)r * l->T, s->targets + (size_t)r * l->T);
		else
			dl_image_row(ds, ds->images[l->split], sample, l->opt.augment, l->seed, epoch, s->images + r * image,
				     s->labels + r);
	}
	return KN_OK;
}

/* Under mu: records a worker's error once and stops the team. */
static void fail_locked(struct dl_loader *l, int rc, const char *msg)
{
	if (!l->err_status) {
		l->err_status = rc;
		snprintf(l->err_msg, sizeof l->err_msg, "%s", msg);
	}
	atomic_store(&l->stop, 1);
	pthread_cond_broadcast(&l->ready);
	pthread_cond_broadcast(&l->space);
}

static void worker_loop(struct dl_loader *l, int w)
{
	struct dl_worker_stats *ws = &l->stats.worker[w];
	pthread_mutex_lock(&l->mu);
	ws->start_ms = now_ms();
	for (;;) {
		while (!atomic_load(&l->stop) && l->claim_batch >= l->released + l->nslots) {
			double t0 = now_ms();
			pthread_cond_wait(&l->space, &l->mu);
			ws->blocked_ms += now_ms() - t0;
		}
		if (atomic_load(&l->stop))
			break;
		long batch = l->claim_batch;
		int chunk = l->claim_chunk;
		struct dl_slot *s = &l->slots[batch % l->nslots];
		if (chunk == 0) {
			s->batch = batch;
			s->chunks_done = 0;
			s->ready = 0;
			s->start_ms = now_ms();
		}
		if (++l->claim_chunk == l->chunks_per_batch) {
			l->claim_chunk = 0;
			l->claim_batch++;
		}
		int r0 = chunk * l->chunk_rows, r1 = r0 + l->chunk_rows < l->B ? r0 + l->chunk_rows : l->B;
		pthread_mutex_unlock(&l->mu);

		double t0 = now_ms(), c0 = thread_cpu_ms();
		int rc = fill_rows(l, s, batch, r0, r1);
		double t1 = now_ms(), c1 = thread_cpu_ms();

		pthread_mutex_lock(&l->mu);
		ws->busy_ms += t1 - t0;
		ws->busy_cpu_ms += c1 - c0;
		if (rc == STOPPED)
			break;
		if (rc) {
			fail_locked(l, rc, kn_last_error());
			break;
		}
		ws->samples += r1 - r0;
		if (++s->chunks_done == l->chunks_per_batch) {
			s->ready = 1;
			s->ready_ms = t1;
			if (dl_series_set(&l->stats.produce_ms, (size_t)batch, t1 - s->start_ms)) {
				fail_locked(l, KN_ENOMEM, kn_last_error());
				break;
			}
			pthread_cond_broadcast(&l->ready);
		}
	}
	ws->life_ms = now_ms() - ws->start_ms;
	pthread_mutex_unlock(&l->mu);
}

struct worker_arg {
	struct dl_loader *l;
	int w;
};

static void *worker_main(void *arg)
{
	struct worker_arg *a = arg;
	worker_loop(a->l, a->w);
	return NULL;
}

static int check_options(const struct dl_options *o, int B)
{
	if (o->workers < 0 || o->workers > MAX_WORKERS)
		return kn_error(KN_EUSAGE, "loader workers must be in [0, %d], got %d", MAX_WORKERS, o->workers);
	if (o->prefetch < 1 || o->prefetch > MAX_PREFETCH)
		return kn_error(KN_EUSAGE, "loader prefetch must be in [1, %d], got %d", MAX_PREFETCH, o->prefetch);
	if (o->latency_us < 0 || o->cost < 0)
		return kn_error(KN_EUSAGE, "loader knobs must not be negative");
	if (B < 1)
		return kn_error(KN_EUSAGE, "loader batch size must be positive, got %d", B);
	return KN_OK;
}

/* The split's sample count, or KN_EDATA when it cannot make one batch. */
int dl_samples_per_epoch(const struct dl_dataset *ds, enum dl_split split_id, int B, int T, uint64_t *n)
{
	const char *split = split_id == DL_TRAIN ? "training" : "validation";
	if (ds->kind == DL_KIND_IMAGES) {
		*n = ds->images[split_id]->n;
		if (*n < (uint64_t)B)
			return kn_error(KN_EDATA, "%s data '%s': the %s split has %llu images; one batch needs %d (use a "
						  "smaller --batch)",
					ds->name, ds->spec, split, (unsigned long long)*n, B);
		return KN_OK;
	}
	const struct dl_tokens *tk = &ds->tokens[split_id];
	const char *unit = tk->u8 ? "bytes" : "tokens";
	const char *path = tk->u8			       ? ds->text.path
			   : split_id == DL_VAL && ds->shards.val_path[0] ? ds->shards.val_path
									  : ds->shards.path;
	if (T < 1)
		return kn_error(KN_EUSAGE, "loader window must be positive, got %d", T);
	*n = dl_text_windows(tk->n, T);
	if (*n < (uint64_t)B)
		return kn_error(KN_EDATA, "%s data '%s': the %s split has %zu %s, %llu windows of %d+1 %s; one batch of %d "
					  "needs %zu %s (use a smaller --batch or --seq, or more %s)",
				tk->u8 ? "text" : "token", path, split, tk->n, unit, (unsigned long long)*n, T, unit, B,
				(size_t)B * T + 1, unit, tk->u8 ? "text" : "tokens");
	return KN_OK;
}

/* One host block per slot: samples, then images or token arrays, then labels. */
static int alloc_slots(struct dl_loader *l)
{
	const struct dl_dataset *ds = l->ds;
	size_t B = (size_t)l->B, image = (size_t)ds->C * ds->H * ds->W;
	int images = ds->kind == DL_KIND_IMAGES;
	size_t bytes_samples = B * sizeof(uint64_t);
	size_t bytes_floats = images ? B * image * sizeof(float) : 0;
	size_t bytes_ints = images ? B * sizeof(int) : 2 * B * (size_t)l->T * sizeof(int);
	l->slot_bytes = bytes_samples + bytes_floats + bytes_ints;
	if (!(l->slots = calloc((size_t)l->nslots, sizeof *l->slots)))
		return kn_error(KN_ENOMEM, "out of memory for %d loader slots", l->nslots);
	for (int i = 0; i < l->nslots; i++) {
		struct dl_slot *s = &l->slots[i];
		s->batch = -1;
		int rc = kn_host_alloc(l->be, &s->mem, l->slot_bytes);
		if (rc)
			return rc;
		char *p = s->mem;
		s->samples = (uint64_t *)p;
		p += bytes_samples;
		if (images) {
			s->images = (float *)p;
			s->labels = (int *)(p + bytes_floats);
		} else {
			s->inputs = (int *)p;
			s->targets = s->inputs + B * l->T;
		}
	}
	return KN_OK;
}

static int init_sync(struct dl_loader *l)
{
	pthread_condattr_t ca;
	if (pthread_mutex_init(&l->mu, NULL))
		return kn_error(KN_ERR, "cannot create the loader's lock");
	if (pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&l->ready, &ca)) {
		pthread_mutex_destroy(&l->mu);
		return kn_error(KN_ERR, "cannot create the loader's condition variables");
	}
	pthread_condattr_destroy(&ca);
	if (pthread_cond_init(&l->space, NULL)) {
		pthread_cond_destroy(&l->ready);
		pthread_mutex_destroy(&l->mu);
		return kn_error(KN_ERR, "cannot create the loader's condition variables");
	}
	l->sync_ready = 1;
	return KN_OK;
}

int dl_steps_per_epoch(const struct dl_dataset *ds, enum dl_split split, int B, int T, const struct dl_options *opt,
		       long *steps)
{
	struct dl_options defaults;
	uint64_t n = 0;
	if (!opt)
		dl_options_defaults(&defaults), opt = &defaults;
	int rc = dl_samples_per_epoch(ds, split, B, T, &n);
	if (rc == KN_OK)
		*steps = dl_sampler_steps(n, B, opt->drop_last);
	return rc;
}

int dl_loader_init(struct dl_loader *l, struct kn_backend *be, const struct dl_dataset *ds, enum dl_split split,
		   int B, int T, uint64_t seed, const struct dl_options *opt)
{
	int rc;
	memset(l, 0, sizeof *l);
	if (opt)
		l->opt = *opt;
	else
		dl_options_defaults(&l->opt);
	l->ds = ds;
	l->split = split;
	l->be = be;
	l->B = B;
	l->T = ds->kind == DL_KIND_TOKENS ? T : 0;
	l->seed = seed;
	l->stats.last_warning_step = -1;
	if ((rc = check_options(&l->opt, B)) || (rc = dl_samples_per_epoch(ds, split, B, l->T, &l->samples_per_epoch)))
		goto fail;
	if ((rc = dl_sampler_init(&l->sampler, l->samples_per_epoch, B, seed, l->opt.shuffle, l->opt.drop_last)))
		goto fail;
	l->steps_per_epoch = l->sampler.steps_per_epoch;
	int W = l->opt.workers;
	l->nslots = W ? l->opt.prefetch + 1 : 1;
	l->chunk_rows = W ? (B + W - 1) / W : B;
	l->chunks_per_batch = (B + l->chunk_rows - 1) / l->chunk_rows;
	if ((rc = alloc_slots(l)) || (rc = init_sync(l)))
		goto fail;
	if (W) {
		l->stats.n_workers = W;
		if (!(l->stats.worker = calloc((size_t)W, sizeof *l->stats.worker))) {
			rc = kn_error(KN_ENOMEM, "out of memory for loader statistics");
			goto fail;
		}
		l->team = calloc((size_t)W, sizeof *l->team);
		l->team_args = calloc((size_t)W, sizeof *l->team_args);
		if (!l->team || !l->team_args) {
			rc = kn_error(KN_ENOMEM, "out of memory for the loader's workers");
			goto fail;
		}
		/* plain threads, not an OpenMP team: libgomp counts its own threads, and with the loader's
		 * beside the compute team on a machine with as many cores as compute threads it stops the
		 * compute threads spinning between parallel regions; each region then pays a wake-up
		 * (a 2.5x slower step for cnn tiny at batch 8 on 2 cores) */
		for (int w = 0; w < W; w++) {
			l->team_args[w] = (struct worker_arg){ l, w };
			if ((errno = pthread_create(&l->team[w], NULL, worker_main, &l->team_args[w]))) {
				rc = kn_error(KN_ERR, "cannot start loader worker %d of %d: %s", w + 1, W, strerror(errno));
				goto fail;
			}
			l->team_running = w + 1;
		}
		l->team_size = W;
	}
	return KN_OK;
fail:
	dl_loader_release(l);
	return rc;
}

/* Under mu: how many batches from k on are ready, in order. */
static int ready_run(const struct dl_loader *l, long k)
{
	int d = 0;
	while (d < l->nslots) {
		const struct dl_slot *s = &l->slots[(k + d) % l->nslots];
		if (s->batch != k + d || !s->ready)
			break;
		d++;
	}
	return d;
}

static int wait_for(struct dl_loader *l, long k, int *depth)
{
	int rc = KN_OK;
	pthread_mutex_lock(&l->mu);
	if (l->released < k) {
		l->released = k; /* gives back batch k-1 */
		pthread_cond_broadcast(&l->space);
	}
	*depth = ready_run(l, k);
	/* a failed team delivers nothing more, not even a batch a worker finished after the
	 * failure, so every call after the first error returns it */
	while (l->err_status || ready_run(l, k) == 0) {
		if (l->err_status) {
			rc = l->err_status;
			kn_set_error(l->err_msg);
			break;
		}
		if (interrupted(l)) {
			rc = kn_error(KN_EINTR, "interrupted by signal %d while waiting for batch %ld", (int)*l->opt.interrupt, k);
			break;
		}
		if (atomic_load(&l->stop)) {
			rc = kn_error(KN_ERR, "the loader is stopped: no batch %ld", k);
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += WAIT_SLICE_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&l->ready, &l->mu, &ts);
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

static int fill_here(struct dl_loader *l, long k)
{
	struct dl_slot *s = &l->slots[0];
	if (l->err_status) {
		kn_set_error(l->err_msg);
		return l->err_status;
	}
	double t0 = now_ms(), c0 = thread_cpu_ms();
	int rc = fill_rows(l, s, k, 0, l->B);
	double t1 = now_ms(), c1 = thread_cpu_ms();
	if (rc == STOPPED && atomic_load(&l->stop))
		rc = kn_error(KN_ERR, "the loader is stopped while loading batch %ld", k);
	else if (rc == STOPPED)
		rc = kn_error(KN_EINTR, "interrupted by signal %d while loading batch %ld",
			      l->opt.interrupt ? (int)*l->opt.interrupt : 0, k);
	if (rc == KN_OK)
		rc = dl_series_set(&l->stats.produce_ms, (size_t)k, t1 - t0);
	if (rc) {
		l->err_status = rc;
		snprintf(l->err_msg, sizeof l->err_msg, "%s", kn_last_error());
		return rc;
	}
	s->batch = k;
	s->ready = 1;
	l->stats.sync_fill_ms += t1 - t0;
	l->stats.sync_fill_cpu_ms += c1 - c0;
	l->stats.sync_samples += l->B;
	return KN_OK;
}

int dl_loader_next(struct dl_loader *l, struct dl_batch *b)
{
	double t0 = now_ms();
	long k = l->next_step;
	int depth = 0;
	int rc = l->opt.workers ? wait_for(l, k, &depth) : fill_here(l, k);
	if (rc)
		return rc;
	double t1 = now_ms();
	size_t i = (size_t)k;
	struct dl_stats *st = &l->stats;
	/* data wait is the time until the batch was ready; what taking it took after that (the lock, and
	 * on a busy CPU the trainer's thread waiting to run again) is handoff: a batch ready when asked
	 * for costs no data wait at all. With no workers the trainer's thread makes the batch: all of it
	 * is data wait. */
	double ready_at = l->slots[k % l->nslots].ready_ms, wait = t1 - t0, handoff = 0;
	if (l->opt.workers) {
		double from = ready_at > t0 ? (ready_at < t1 ? ready_at : t1) : t0;
		wait = from - t0;
		handoff = t1 - from;
	}
	if (dl_series_set(&st->wait_ms, i, wait) || dl_series_set(&st->depth, i, depth) ||
	    dl_series_set(&st->request_ms, i, t0) || dl_series_set(&st->return_ms, i, t1) ||
	    dl_series_set(&st->handoff_ms, i, handoff))
		return KN_ENOMEM;
	const struct dl_slot *s = &l->slots[k % l->nslots];
	const struct dl_dataset *ds = l->ds;
	*b = (struct dl_batch){ .B = l->B, .T = l->T, .step = k, .samples = s->samples, .wait_ms = wait };
	if (ds->kind == DL_KIND_TOKENS) {
		b->inputs = s->inputs;
		b->targets = s->targets;
	} else {
		b->images = s->images;
		b->labels = s->labels;
		b->C = ds->C;
		b->H = ds->H;
		b->W = ds->W;
	}
	b->epoch = dl_sampler_epoch(&l->sampler, k);
	l->next_step = k + 1;
	return KN_OK;
}

void dl_loader_stop(struct dl_loader *l)
{
	if (!l->sync_ready)
		return;
	pthread_mutex_lock(&l->mu);
	atomic_store(&l->stop, 1);
	pthread_cond_broadcast(&l->space);
	pthread_cond_broadcast(&l->ready);
	pthread_mutex_unlock(&l->mu);
	for (int w = 0; w < l->team_running; w++)
		pthread_join(l->team[w], NULL);
	l->team_running = 0;
}

void dl_loader_release(struct dl_loader *l)
{
	dl_loader_stop(l);
	if (l->sync_ready) {
		pthread_cond_destroy(&l->space);
		pthread_cond_destroy(&l->ready);
		pthread_mutex_destroy(&l->mu);
		l->sync_ready = 0;
	}
	for (int i = 0; l->slots && i < l->nslots; i++)
		if (l->slots[i].mem)
			kn_host_free(l->be, l->slots[i].mem);
	free(l->slots);
	l->slots = NULL;
	free(l->team);
	free(l->team_args);
	l->team = NULL;
	l->team_args = NULL;
	free(l->stats.worker);
	l->stats.worker = NULL;
	l->stats.n_workers = 0;
	dl_series_release(&l->stats.wait_ms);
	dl_series_release(&l->stats.depth);
	dl_series_release(&l->stats.handoff_ms);
	dl_series_release(&l->stats.request_ms);
	dl_series_release(&l->stats.return_ms);
	dl_series_release(&l->stats.produce_ms);
}
