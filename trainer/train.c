#include "trainer/train.h"

#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amptune_version.h"
#include "data_loader/dataset.h"
#include "data_loader/loader.h"
#include "kernels/backend.h"
#include "kernels/cpu/blas.h"
#include "trainer/gpt.h"
#include "trainer/loss_scale.h"
#include "trainer/metrics.h"

volatile int tr_stop_signal;

#define LOSS_CURVE_POINTS 200
#define DIVERGE_FACTOR 3.0 /* a loss above 3x the first step's counts as diverged */

struct run {
	struct tr_config *cfg;   /* the run's copy (tr_loop_init may lower the default warm-up) */
	struct rp_record *rec;
	struct kn_backend be;
	struct dl_dataset data;
	struct dl_loader train_ld, val_ld;
	struct tr_gpt model;
	struct tr_loop loop;
	long steps_per_epoch;
	int B, T;
};

double tr_lr_at(const struct tr_config *c, long step, long total, long warmup)
{
	if (step < warmup)
		return c->lr * (double)(step + 1) / (double)warmup;
	double min_lr = c->lr * c->min_lr_frac;
	double progress = total > warmup ? (double)(step - warmup) / (double)(total - warmup) : 1.0;
	return min_lr + 0.5 * (c->lr - min_lr) * (1.0 + cos(M_PI * progress));
}

void tr_log(const struct tr_config *c, const char *fmt, ...)
{
	if (c->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

int tr_record_step_loss(struct rp_record *rec, long step, long steps, double loss)
{
	long curve_every = steps > LOSS_CURVE_POINTS ? (steps + LOSS_CURVE_POINTS - 1) / LOSS_CURVE_POINTS : 1;
	if (step == 0)
		rec->initial_loss = loss;
	rec->final_loss = loss;
	if (step % curve_every == 0 || step == steps - 1)
		rp_record_add_loss(rec, step, loss);
	if (!isfinite(loss) || loss > DIVERGE_FACTOR * rec->initial_loss)
		return kn_error(KN_EDIVERGED, "training diverged at step %ld of %ld: loss %g (initial %g)", step + 1, steps,
				loss, rec->initial_loss); /* counted from 1, as the log counts */
	return KN_OK;
}

void tr_finish_step(struct kn_backend *be, const struct tr_config *c, long step, double t0_ms, double *step_ms,
		    double *phase_sum_ms)
{
	double ph[KN_PHASE_COUNT];
	step_ms[step] = tr_now_ms() - t0_ms;
	be->vt->phase_read(be, ph);
	kn_sample_driver_memory(be);
	if (step >= c->warmup_steps)
		for (int p = 0; p < KN_PHASE_COUNT; p++)
			phase_sum_ms[p] += ph[p];
}

void tr_fill_versions(struct rp_record *rec)
{
	cJSON *v = rec->versions;
	char buf[64];
	cJSON_AddStringToObject(v, "amptune", AMPTUNE_VERSION);
	cJSON_AddStringToObject(v, "git_commit", AMPTUNE_GIT_COMMIT);
	cJSON_AddBoolToObject(v, "cuda_compiled", kn_cuda_compiled());
	snprintf(buf, sizeof buf, "gcc %d.%d.%d", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
	cJSON_AddStringToObject(v, "compiler", buf);
	snprintf(buf, sizeof buf, "%d", _OPENMP);
	cJSON_AddStringToObject(v, "openmp", buf);
	cJSON_AddNumberToObject(v, "threads", omp_get_max_threads());
	cJSON_AddNumberToObject(v, "host_cpus", omp_get_num_procs());
	const struct kn_blas_info *blas = kn_blas_setup();
	cJSON_AddStringToObject(v, "blas", blas->library);
	cJSON_AddStringToObject(v, "blas_kernels", blas->kernels);
	cJSON_AddStringToObject(v, "blas_kernels_by", blas->source);
	cJSON_AddStringToObject(v, "blas_cpu_best", blas->cpu_best);
	if (kn_cuda_compiled()) {
		struct kn_cuda_versions cv;
		kn_cuda_versions(&cv);
		cJSON_AddStringToObject(v, "cuda_runtime", cv.runtime);
		cJSON_AddStringToObject(v, "cuda_driver", cv.driver);
		cJSON_AddStringToObject(v, "cublas", cv.cublas);
		cJSON_AddStringToObject(v, "cudnn", cv.cudnn);
	}
}

void tr_log_blas_note(const struct tr_config *c, const struct kn_backend *be)
{
	const struct kn_blas_info *b = kn_blas_setup();
	if (strncmp(be->name, "cpu", 3) || !kn_blas_below(b->kernels, b->cpu_best))
		return;
	tr_log(c, "amptune train: note: OpenBLAS runs its %s kernels%s; this CPU runs %s kernels, which are faster%s\n",
	       b->kernels, strcmp(b->source, "OPENBLAS_CORETYPE") ? "" : " (set by OPENBLAS_CORETYPE)", b->cpu_best,
	       strcmp(b->source, "OPENBLAS_CORETYPE") ? "" : ": unset OPENBLAS_CORETYPE to measure the CPU at its best");
}

double tr_epoch_steps(double epochs, long steps_per_epoch) { return ceil(epochs * (double)steps_per_epoch); }

int tr_steps_for(struct tr_config *c, long steps_per_epoch, long *steps)
{
	double want = c->steps ? (double)c->steps : tr_epoch_steps(c->epochs, steps_per_epoch);
	if (want > TR_MAX_STEPS) /* as --steps is bounded: a typo in --epochs is not an out-of-memory */
		return kn_error(KN_EUSAGE, "option '--epochs' %g gives %.0f steps of %ld per epoch, more than %ld", c->epochs,
				want, steps_per_epoch, (long)TR_MAX_STEPS);
	*steps = want < 1 ? 1 : (long)want;
	if (c->warmup_steps >= *steps && c->warmup_steps_given)
		return kn_error(KN_EUSAGE, "option '--warmup-steps' (%d) must be below the number of steps (%ld)",
				c->warmup_steps, *steps);
	int warmup = tr_run_warmup(c, *steps);
	if (warmup != c->warmup_steps) { /* the default is lowered for a short run, not refused */
		tr_log(c, "amptune train: note: %ld step%s: warm-up lowered from its default of %d to %d step%s\n", *steps,
		       *steps == 1 ? "" : "s", c->warmup_steps, warmup, warmup == 1 ? "" : "s");
		c->warmup_steps = warmup;
	}
	return KN_OK;
}

static int setup(struct run *r)
{
	const struct tr_config *c = r->cfg;
	const struct tr_size_preset *preset = tr_find_size(c->size);
	int rc;
	if (!preset)
		return kn_error(KN_EUSAGE, "unknown size '%s' (expected tiny, small or gpt2-124m)", c->size);
	r->B = c->batch ? c->batch : preset->default_batch;
	r->T = c->seq ? c->seq : preset->gpt.max_seq;
	r->rec->batch = r->B;
	r->rec->seq = r->T;
	if (r->T > preset->gpt.max_seq)
		return kn_error(KN_EUSAGE, "option '--seq' is %d, beyond the '%s' model's context of %d", r->T, c->size,
				preset->gpt.max_seq);
	if ((rc = kn_backend_open(&r->be, c->device, c->precision, c->device_mem_limit)))
		return rc;
	snprintf(r->rec->device, sizeof r->rec->device, "%s", r->be.name);
	snprintf(r->rec->device_name, sizeof r->rec->device_name, "%s", r->be.device_name);
	if ((rc = dl_dataset_open(&r->data, c->data, preset->gpt.vocab, c->seed)))
		return rc;
	if (r->data.kind != DL_KIND_TOKENS)
		return kn_error(KN_EUSAGE, "option '--data' names %s images ('%s'); the gpt model trains on text or tokens",
				r->data.name, c->data);
	struct dl_options train_opt = c->loader, val_opt;
	train_opt.interrupt = &tr_stop_signal;
	/* evaluation is not timed: in order, no augmentation, on this thread */
	dl_options_defaults(&val_opt);
	val_opt.workers = 0;
	val_opt.shuffle = val_opt.augment = 0;
	val_opt.drop_last = 1;
	val_opt.interrupt = &tr_stop_signal;
	if ((rc = dl_loader_init(&r->train_ld, &r->be, &r->data, DL_TRAIN, r->B, r->T, c->seed, &train_opt)))
		return rc;
	if (c->eval_batches && (rc = dl_loader_init(&r->val_ld, &r->be, &r->data, DL_VAL, r->B, r->T, c->seed, &val_opt)))
		return rc;
	r->steps_per_epoch = r->train_ld.steps_per_epoch;
	if ((rc = tr_loop_init(&r->loop, r->cfg, r->steps_per_epoch, r->rec)))
		return rc;
	return tr_gpt_init(&r->model, &r->be, &preset->gpt, r->B, r->T, c->seed);
}

static int stage_batch(void *model, int slot, const struct dl_batch *b)
{
	return tr_gpt_stage_batch(model, slot, b->inputs, b->targets);
}

static int use_batch(void *model, int slot) { return tr_gpt_use_batch(model, slot); }

static int forward(void *model, double *loss, long *correct)
{
	struct tr_gpt *m = model;
	*correct = 0;
	return tr_gpt_forward(m, m->T, loss);
}

static void backward(void *model, float loss_scale) { tr_gpt_backward(model, loss_scale); }
static double grad_norm(void *model) { return tr_gpt_grad_norm(model); }

static void update(void *model, const struct tr_config *c, float lr, float factor)
{
	tr_gpt_update(model, lr, (float)c->beta1, (float)c->beta2, (float)c->eps, (float)c->weight_decay, factor);
}

static void log_step(const struct tr_config *c, void *model, long step, long steps, double loss, long correct, float lr,
		     double norm, double step_ms)
{
	const struct tr_gpt *m = model;
	(void)correct;
	tr_log(c, "step %5ld/%ld | loss %.4f | lr %.2e | norm %6.3f | %8.2f ms | %9.0f tok/s\n", step + 1, steps, loss, lr,
	       norm, step_ms, (double)m->B * m->T / (step_ms / 1e3));
}

static int evaluate(struct run *r)
{
	const struct tr_config *c = r->cfg;
	long n = c->eval_batches;
	if (n <= 0)
		return KN_OK;
	if (n > r->val_ld.steps_per_epoch) {
		tr_log(c, "amptune train: note: the validation split holds %ld batch%s of %d x %d; eval_loss covers %s, not the "
			  "%ld asked for\n",
		       r->val_ld.steps_per_epoch, r->val_ld.steps_per_epoch == 1 ? "" : "es", r->B, r->T,
		       r->val_ld.steps_per_epoch == 1 ? "it" : "them all", n);
		n = r->val_ld.steps_per_epoch;
	}
	double sum = 0;
	for (long i = 0; i < n; i++) {
		struct dl_batch batch;
		double loss;
		int rc;
		if ((rc = dl_loader_next(&r->val_ld, &batch)) || (rc = tr_gpt_upload_batch(&r->model, batch.inputs, batch.targets)) ||
		    (rc = tr_gpt_forward(&r->model, r->T, &loss)))
			return rc;
		sum += loss;
	}
	r->rec->eval_loss = sum / (double)n;
	cJSON_AddNumberToObject(r->rec->extra, "eval_batches", (double)n);
	tr_log(c, "eval: loss %.4f over %ld validation batches\n", r->rec->eval_loss, n);
	return KN_OK;
}

static int feed_stage(struct tr_feed *f, int slot, double *wait_ms)
{
	struct dl_batch batch;
	int rc = dl_loader_next(f->ld, &batch);
	if (rc)
		return rc;
	*wait_ms += batch.wait_ms; /* waiting for data, not for the CPU to take a ready batch */
	f->be->vt->phase_begin(f->be, KN_PHASE_H2D);
	rc = f->stage(f->model, slot, &batch);
	f->be->vt->phase_end(f->be, KN_PHASE_H2D);
	return rc;
}

int tr_feed_step(struct tr_feed *f, long step, double *wait_ms, int *slot)
{
	int rc = KN_OK;
	*wait_ms = 0;
	*slot = (int)(step & 1);
	if (step == 0 && (rc = feed_stage(f, 0, wait_ms)))
		return rc;
	if ((rc = kn_copy_done(f->be, *slot)) == KN_OK)
		rc = feed_stage(f, !*slot, wait_ms);
	return rc;
}

long tr_loader_warmup(long warmup_steps) { return warmup_steps > 0 ? warmup_steps + 1 : 0; }

int tr_loop_init(struct tr_loop *l, struct tr_config *c, long steps_per_epoch, struct rp_record *rec)
{
	int rc;
	memset(l, 0, sizeof *l);
	if ((rc = tr_steps_for(c, steps_per_epoch, &l->steps)))
		return rc;
	rec->steps = l->steps;
	if (!c->steps && c->epochs > 0) /* what the points of an epochs sweep share, whatever their steps */
		cJSON_AddNumberToObject(rec->extra, "epochs", c->epochs);
	tr_scaler_for(&l->scaler, c);
	l->step_ms = calloc((size_t)l->steps, sizeof *l->step_ms);
	l->wait_ms = calloc((size_t)l->steps, sizeof *l->wait_ms);
	if (!l->step_ms || !l->wait_ms)
		return kn_error(KN_ENOMEM, "out of memory for %ld step timings", l->steps);
	return KN_OK;
}

void tr_loop_release(struct tr_loop *l)
{
	free(l->step_ms);
	free(l->wait_ms);
	l->step_ms = l->wait_ms = NULL;
}

int tr_run_steps(const struct tr_config *c, struct rp_record *rec, struct kn_backend *be, struct dl_loader *ld,
		 struct tr_loop *l, const struct tr_stepper *m)
{
	long lr_warmup = c->lr_warmup >= 0 ? c->lr_warmup : l->steps / 10;
	struct tr_feed feed = { be, ld, m->stage, m->model };
	int rc;
	for (long step = 0; step < l->steps; step++) {
		if (tr_stop_signal)
			return kn_error(KN_EINTR, "interrupted by signal %d after %ld of %ld steps", tr_stop_signal, step,
					l->steps);
		double t0 = tr_now_ms(), loss;
		long correct = 0;
		int slot;
		if ((rc = tr_feed_step(&feed, step, &l->wait_ms[step], &slot)))
			return rc;
		char starving[600];
		if (dl_loader_starvation(ld, tr_loader_warmup(c->warmup_steps), starving, sizeof starving))
			tr_log(c, "warning: %s\n", starving);
		be->vt->phase_begin(be, KN_PHASE_FORWARD); /* the batch's layout conversion, if any, counts here */
		if ((rc = m->use_batch(m->model, slot)) || (rc = m->forward(m->model, &loss, &correct)))
			return rc;
		be->vt->phase_end(be, KN_PHASE_FORWARD);
		if ((rc = tr_record_step_loss(rec, step, l->steps, loss)))
			return rc;
		be->vt->phase_begin(be, KN_PHASE_BACKWARD);
		m->backward(m->model, l->scaler.scale);
		be->vt->phase_end(be, KN_PHASE_BACKWARD);
		be->vt->phase_begin(be, KN_PHASE_OPTIMIZER);
		/* the norm of the scaled gradients: inf/NaN means the fp16 loss scale overflowed */
		double scaled_norm = m->norm_always || l->scaler.enabled ? m->grad_norm(m->model) : 0.0;
		float lr = (float)tr_lr_at(c, step, l->steps, lr_warmup), factor;
		if (tr_scaler_step(c, &l->scaler, step, scaled_norm, m->clip, &factor))
			m->update(m->model, c, lr, factor);
		be->vt->phase_end(be, KN_PHASE_OPTIMIZER);
		if ((rc = kn_sync(be)))
			return rc;
		tr_finish_step(be, c, step, t0, l->step_ms, l->phase_sum_ms);
		l->steps_done = step + 1;
		if (c->log_every && (step % c->log_every == 0 || step == l->steps - 1))
			m->log_step(c, m->model, step, l->steps, loss, correct, lr, scaled_norm / l->scaler.scale,
				    l->step_ms[step]);
	}
	return KN_OK;
}

void tr_scaler_for(struct tr_loss_scaler *s, const struct tr_config *c)
{
	tr_loss_scaler_init_at(s, c->loss_scaling == 1 || (c->loss_scaling < 0 && c->precision == KN_FP16),
			       (float)c->loss_scale_init);
}

int tr_scaler_step(const struct tr_config *c, struct tr_loss_scaler *s, long step, double scaled_norm, double clip,
		   float *factor)
{
	float scale_used = s->scale;
	*factor = tr_loss_scaler_grad_factor(s, scaled_norm, clip);
	if (tr_loss_scaler_update(s, scaled_norm))
		return 1;
	tr_log(c, "step %ld: gradients overflowed at loss scale %g: step skipped, scale now %g\n", step + 1,
	       (double)scale_used, (double)s->scale);
	return 0;
}

void tr_record_scaler(struct rp_record *rec, const struct tr_loss_scaler *s)
{
	rec->loss_scale_skips = s->skips;
	if (s->enabled)
		cJSON_AddNumberToObject(rec->extra, "loss_scale_final", s->scale);
}

void tr_feed_drain(struct kn_backend *be)
{
	kn_copy_done(be, 0);
	kn_copy_done(be, 1);
}

void tr_summarise_steps(struct rp_record *rec, const struct tr_config *c, const double *step_ms, const double *wait_ms,
			const double phase_sum_ms[], long steps_done, long steps_per_epoch,
			double samples_per_step, double tokens_per_step)
{
	long timed = steps_done - c->warmup_steps;
	if (timed > 0) {
		const double *ms = step_ms + c->warmup_steps;
		rec->step_ms_p50 = tr_percentile(ms, (size_t)timed, 0.50);
		rec->step_ms_p95 = tr_percentile(ms, (size_t)timed, 0.95);
		rec->samples_per_sec = samples_per_step / (rec->step_ms_p50 / 1e3);
		rec->tokens_per_sec = tokens_per_step > 0 ? tokens_per_step / (rec->step_ms_p50 / 1e3) : NAN;
		double wait = 0, total = 0;
		for (long i = c->warmup_steps; i < steps_done; i++) {
			wait += wait_ms[i];
			total += step_ms[i];
		}
		rec->data_wait_frac = total > 0 ? wait / total : NAN;
		cJSON *ph = cJSON_AddObjectToObject(rec->extra, "phase_ms");
		for (int p = 0; p < KN_PHASE_COUNT; p++)
			cJSON_AddNumberToObject(ph, kn_phase_names[p], phase_sum_ms[p] / (double)timed);
		cJSON_AddNumberToObject(ph, "data_wait", wait / (double)timed);
		cJSON_AddNumberToObject(rec->extra, "timed_steps", (double)timed);
	}
	if (steps_per_epoch > 0 && isfinite(rec->step_ms_p50)) {
		cJSON_AddNumberToObject(rec->extra, "steps_per_epoch", (double)steps_per_epoch);
		if (steps_done >= steps_per_epoch) {
			double s = 0;
			for (long i = 0; i < steps_per_epoch; i++)
				s += step_ms[i];
			rec->epoch_s = s / 1e3;
			rec->epoch_s_extrapolated = 0;
		} else {
			rec->epoch_s = rec->step_ms_p50 * (double)steps_per_epoch / 1e3;
			rec->epoch_s_extrapolated = 1;
		}
	}
	cJSON_AddNumberToObject(rec->extra, "warmup_steps", c->warmup_steps);
	cJSON_AddNumberToObject(rec->extra, "steps_done", (double)steps_done);
	cJSON_AddNumberToObject(rec->extra, "lr", c->lr);
	rec->loss_scale_skips = 0;
}

static void summarise(struct run *r)
{
	struct rp_record *rec = r->rec;
	const struct tr_config *c = r->cfg;
	double tokens = (double)r->B * r->T;
	tr_summarise_steps(rec, c, r->loop.step_ms, r->loop.wait_ms, r->loop.phase_sum_ms, r->loop.steps_done,
			   r->steps_per_epoch, r->B, tokens);
	const struct tr_size_preset *preset = tr_find_size(c->size);
	if (preset) {
		rec->flops_per_step = tr_gpt_flops_per_token(&preset->gpt, r->T) * tokens;
		cJSON_AddNumberToObject(rec->extra, "params", (double)tr_gpt_count_params(&preset->gpt));
		if (r->be.peak_flops > 0 && isfinite(rec->step_ms_p50))
			rec->mfu = rec->flops_per_step / (rec->step_ms_p50 / 1e3) / r->be.peak_flops;
	}
	if (r->train_ld.ds)
		dl_loader_stats_json(&r->train_ld, rec->loader, tr_loader_warmup(c->warmup_steps));
	tr_record_backend(rec, &r->be);
	tr_record_scaler(rec, &r->loop.scaler);
}

void tr_record_backend(struct rp_record *rec, const struct kn_backend *be)
{
	if (be->vt) { /* a backend that never opened measured nothing: null, not 0 */
		rec->peak_device_bytes = (double)be->mem_peak_bytes;
		rec->pinned_bytes = (double)be->pinned_bytes;
		if (be->mem_peak_driver_bytes)
			rec->peak_device_bytes_driver = (double)be->mem_peak_driver_bytes;
		cJSON_AddBoolToObject(rec->extra, "deterministic", !be->nondeterministic);
	}
	rec->peak_host_bytes = tr_peak_rss_bytes();
}

void tr_fill_config(const struct tr_config *c, struct rp_record *rec)
{
	snprintf(rec->model, sizeof rec->model, "%s", c->model);
	snprintf(rec->size, sizeof rec->size, "%s", c->size);
	snprintf(rec->dataset, sizeof rec->dataset, "%s", c->data);
	snprintf(rec->device, sizeof rec->device, "%s", c->device);
	snprintf(rec->precision, sizeof rec->precision, "%s", kn_precision_name(c->precision));
	rec->batch = c->batch;
	rec->seq = c->seq;
	rec->workers = c->loader.workers;
	rec->prefetch = c->loader.prefetch;
	rec->seed = c->seed;
	rec->steps = c->steps;
}

/* "|name=value" for each setting that changes what a run measures and differs from the default
 * of its model (tr_model_defaults(), what train runs when the option is not given), so two runs
 * share a default id only when they share the configuration, and a run with every setting at
 * its default hashes none: the id of the sweep point with the same fields. The warm-up is the
 * one the run of steps takes against the default one, lowered alike for a short run. */
static void id_extras(const struct tr_config *c, long steps, char *buf, size_t n)
{
	struct tr_config d;
	size_t len = 0;
	tr_model_defaults(&d, c->model, c->size);
	buf[0] = 0;
#define EXTRA_VALUE(name, fmt, have, want)                                                  \
	do {                                                                                \
		if ((have) != (want) && len < n)                                            \
			len += (size_t)snprintf(buf + len, n - len, "|" name "=" fmt, (have)); \
	} while (0)
#define EXTRA(name, fmt, field) EXTRA_VALUE(name, fmt, c->field, d.field)
	EXTRA("epochs", "%.17g", epochs);
	EXTRA_VALUE("warmup_steps", "%d", tr_run_warmup(c, steps), tr_run_warmup(&d, steps));
	EXTRA("lr_warmup", "%d", lr_warmup);
	EXTRA("lr", "%.17g", lr);
	EXTRA("min_lr_frac", "%.17g", min_lr_frac);
	EXTRA("weight_decay", "%.17g", weight_decay);
	EXTRA("grad_clip", "%.17g", grad_clip);
	EXTRA("beta1", "%.17g", beta1);
	EXTRA("beta2", "%.17g", beta2);
	EXTRA("eps", "%.17g", eps);
	EXTRA("optimizer", "%d", optimizer);
	EXTRA("momentum", "%.17g", momentum);
	EXTRA("eval_images", "%ld", eval_images);
	EXTRA("eval_batches", "%d", eval_batches);
	EXTRA("threads", "%d", threads);
	EXTRA("device_mem_limit", "%zu", device_mem_limit);
	EXTRA("loss_scaling", "%d", loss_scaling);
	EXTRA("loss_scale_init", "%.17g", loss_scale_init);
	EXTRA("shuffle", "%d", loader.shuffle);
	EXTRA("drop_last", "%d", loader.drop_last);
	EXTRA("augment", "%d", loader.augment);
	EXTRA("data_latency_us", "%ld", loader.latency_us);
	EXTRA("data_cost", "%ld", loader.cost);
#undef EXTRA
#undef EXTRA_VALUE
}

int tr_finish_record(const struct tr_config *cfg, struct rp_record *rec, int rc)
{
	char extra[1024];
	/* a failure while a stop signal was pending is the signal's doing: a blocking open or read it
	 * cut short (EINTR) is not bad data */
	if (rc != KN_OK && rc != KN_EINTR && rc != KN_EUSAGE && tr_stop_signal) {
		char why[900];
		snprintf(why, sizeof why, "%s", kn_last_error());
		rc = kn_error(KN_EINTR, "interrupted by signal %d (%s)", tr_stop_signal, why);
	}
	id_extras(cfg, rec->steps, extra, sizeof extra);
	/* the seq given, else the model's context, as a sweep's ids hash it: not the cnn's image side */
	int seq = cfg->seq ? cfg->seq : tr_model_context(cfg->model, cfg->size);
	if (cfg->id[0])
		snprintf(rec->id, sizeof rec->id, "%s", cfg->id);
	else
		rp_config_id(rec->id, rec->model, rec->size, rec->dataset, rec->device, rec->precision, rec->batch, seq,
			     rec->workers, rec->prefetch, rec->seed, rec->steps, extra);
	snprintf(rec->status, sizeof rec->status, "%s", kn_status_name(rc));
	snprintf(rec->message, sizeof rec->message, "%s", rc ? kn_last_error() : "");
	tr_utc_now(rec->finished_at, sizeof rec->finished_at);
	return rc;
}

int tr_train(const struct tr_config *cfg_in, struct rp_record *rec)
{
	if (strcmp(cfg_in->model, "cnn") == 0)
		return tr_train_cnn(cfg_in, rec);
	struct tr_config copy = *cfg_in, *cfg = &copy;
	struct run r = { .cfg = cfg, .rec = rec };
	int rc;
	tr_utc_now(rec->started_at, sizeof rec->started_at);
	tr_fill_config(cfg, rec);
	tr_fill_versions(rec);
	rc = setup(&r);
	if (rc == KN_OK) {
		tr_log(cfg, "amptune train: %s %s on %s (%s), %s, batch %d x seq %d, %ld steps (%ld per epoch), %.2fM params\n",
		      cfg->model, cfg->size, r.be.name, r.be.device_name, kn_precision_name(cfg->precision), r.B, r.T,
		      r.loop.steps, r.steps_per_epoch, (double)r.model.num_params / 1e6);
		tr_log_blas_note(cfg, &r.be);
		struct tr_stepper gpt = { &r.model, stage_batch, use_batch, forward, backward, grad_norm, update,
					  cfg->grad_clip, 1, log_step };
		rc = tr_run_steps(cfg, rec, &r.be, &r.train_ld, &r.loop, &gpt);
		tr_feed_drain(&r.be); /* an early stop may leave the next batch's copy in flight */
		dl_loader_stop(&r.train_ld); /* no more prefetching while evaluating */
	}
	if (rc == KN_OK)
		rc = evaluate(&r);
	summarise(&r);
	rc = tr_finish_record(cfg, rec, rc);
	tr_gpt_release(&r.model);
	dl_loader_release(&r.train_ld);
	dl_loader_release(&r.val_ld);
	dl_dataset_release(&r.data);
	kn_backend_release(&r.be);
	tr_loop_release(&r.loop);
	return rc;
}
