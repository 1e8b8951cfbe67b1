/*
 * `train --model cnn`: one CNN point on images, from config to record.
 *
 * Data comes from the stop-gap reader in trainer/cnn_data.c; each epoch
 * visits the training images in an order shuffled from (seed, epoch), and an
 * epoch is n / B steps (the n % B images left over are dropped for that
 * epoch). Evaluation runs the t10k split in order, in eval mode (BN running
 * statistics), and records eval_loss (mean over images) and eval_accuracy.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_loader/rng.h"
#include "kernels/backend.h"
#include "trainer/cnn.h"
#include "trainer/cnn_data.h"
#include "trainer/metrics.h"
#include "trainer/train.h"

struct cnn_run {
	const struct tr_config *cfg;
	struct rp_record *rec;
	const struct tr_cnn_preset *preset;
	struct kn_backend be;
	struct tr_images train, test;
	struct tr_cnn model;
	uint32_t *perm;       /* training order of the current epoch */
	long perm_epoch;
	float *images;        /* host batch [B, C, H, W] */
	int *labels;
	double *step_ms, *wait_ms;
	double phase_sum_ms[KN_PHASE_COUNT];
	long steps, steps_done, steps_per_epoch;
	int B;
};

static int check_images(const struct tr_images *d, const struct tr_cnn_config *c)
{
	if (d->C != c->in_channels || d->H != c->height || d->W != c->width)
		return kn_error(KN_EDATA, "images in '%s' are %dx%dx%d; the cnn presets take %dx%dx%d", d->path, d->C, d->H,
				d->W, c->in_channels, c->height, c->width);
	if (d->classes > c->classes)
		return kn_error(KN_EDATA, "labels in '%s' go up to %d; the cnn presets have %d classes", d->path,
				d->classes - 1, c->classes);
	return KN_OK;
}

static int setup(struct cnn_run *r)
{
	const struct tr_config *c = r->cfg;
	int rc;
	r->preset = tr_find_cnn_preset(c->size);
	if (!r->preset)
		return kn_error(KN_EUSAGE, "unknown cnn size '%s' (expected tiny or resnet)", c->size);
	const struct tr_cnn_config *mc = &r->preset->cnn;
	r->B = c->batch ? c->batch : r->preset->default_batch;
	r->rec->batch = r->B;
	r->rec->seq = mc->height;
	if ((rc = kn_backend_open(&r->be, c->device, c->precision, c->device_mem_limit)))
		return rc;
	snprintf(r->rec->device, sizeof r->rec->device, "%s", r->be.name);
	snprintf(r->rec->device_name, sizeof r->rec->device_name, "%s", r->be.device_name);
	if (strcmp(c->data, "synthetic") == 0)
		return kn_error(KN_EUSAGE, "data 'synthetic' for images comes with the data loader; this build reads "
					   "fashion-mnist or a directory of IDX files");
	if ((rc = tr_images_open(&r->train, c->data, "train")) || (rc = check_images(&r->train, mc)))
		return rc;
	if (c->eval_images && ((rc = tr_images_open(&r->test, c->data, "t10k")) || (rc = check_images(&r->test, mc))))
		return rc;
	r->steps_per_epoch = r->train.n / r->B;
	if (r->steps_per_epoch < 1)
		return kn_error(KN_EDATA, "'%s' holds %d training images, fewer than one batch of %d", r->train.path,
				r->train.n, r->B);
	r->steps = c->steps ? c->steps : (long)ceil(c->epochs * (double)r->steps_per_epoch);
	if (r->steps < 1)
		r->steps = 1;
	if (c->warmup_steps >= r->steps)
		return kn_error(KN_EUSAGE, "option '--warmup-steps' (%d) must be below the number of steps (%ld)",
				c->warmup_steps, r->steps);
	r->rec->steps = r->steps;
	if ((rc = tr_cnn_init(&r->model, &r->be, mc, r->B, c->optimizer, c->seed)))
		return rc;
	r->perm = malloc((size_t)r->train.n * sizeof *r->perm);
	r->images = malloc((size_t)r->B * mc->in_channels * mc->height * mc->width * sizeof *r->images);
	r->labels = malloc((size_t)r->B * sizeof *r->labels);
	r->step_ms = calloc((size_t)r->steps, sizeof *r->step_ms);
	r->wait_ms = calloc((size_t)r->steps, sizeof *r->wait_ms);
	if (!r->perm || !r->images || !r->labels || !r->step_ms || !r->wait_ms)
		return kn_error(KN_ENOMEM, "out of memory for batches and %ld step timings", r->steps);
	r->perm_epoch = -1;
	return KN_OK;
}

static void next_train_batch(struct cnn_run *r, long step)
{
	long epoch = step / r->steps_per_epoch, k = step % r->steps_per_epoch;
	if (epoch != r->perm_epoch) {
		struct dl_rng g;
		dl_rng_init(&g, dl_hash64(r->cfg->seed, 0x5ca1ab1e, (uint64_t)epoch));
		for (int i = 0; i < r->train.n; i++)
			r->perm[i] = (uint32_t)i;
		for (int i = r->train.n - 1; i > 0; i--) {
			uint32_t j = (uint32_t)dl_rng_below(&g, (uint64_t)i + 1), t = r->perm[i];
			r->perm[i] = r->perm[j];
			r->perm[j] = t;
		}
		r->perm_epoch = epoch;
	}
	tr_images_batch(&r->train, r->perm + k * r->B, r->B, r->images, r->labels);
}

static int train_steps(struct cnn_run *r)
{
	const struct tr_config *c = r->cfg;
	struct kn_backend *be = &r->be;
	long lr_warmup = c->lr_warmup >= 0 ? c->lr_warmup : r->steps / 10;
	int rc;
	for (long step = 0; step < r->steps; step++) {
		if (tr_stop_signal)
			return kn_error(KN_EINTR, "interrupted by signal %d after %ld of %ld steps", tr_stop_signal, step,
					r->steps);
		double t0 = tr_now_ms(), loss;
		long correct;
		next_train_batch(r, step);
		r->wait_ms[step] = tr_now_ms() - t0;
		be->vt->phase_begin(be, KN_PHASE_H2D);
		if ((rc = tr_cnn_upload_batch(&r->model, r->images, r->labels, r->B)))
			return rc;
		be->vt->phase_end(be, KN_PHASE_H2D);
		be->vt->phase_begin(be, KN_PHASE_FORWARD);
		if ((rc = tr_cnn_forward(&r->model, 1, &loss, &correct)))
			return rc;
		be->vt->phase_end(be, KN_PHASE_FORWARD);
		if ((rc = tr_record_step_loss(r->rec, step, r->steps, loss))) {
			r->steps_done = step;
			return rc;
		}
		be->vt->phase_begin(be, KN_PHASE_BACKWARD);
		tr_cnn_backward(&r->model, 1.0f);
		be->vt->phase_end(be, KN_PHASE_BACKWARD);
		be->vt->phase_begin(be, KN_PHASE_OPTIMIZER);
		float lr = (float)tr_lr_at(c, step, r->steps, lr_warmup);
		float beta1 = (float)(c->optimizer == TR_OPT_SGD ? c->momentum : c->beta1);
		tr_cnn_update(&r->model, lr, beta1, (float)c->beta2, (float)c->eps, (float)c->weight_decay, 1.0f);
		be->vt->phase_end(be, KN_PHASE_OPTIMIZER);
		if ((rc = kn_sync(be)))
			return rc;
		tr_finish_step(be, c, step, t0, r->step_ms, r->phase_sum_ms);
		r->steps_done = step + 1;
		if (c->log_every && (step % c->log_every == 0 || step == r->steps - 1))
			tr_log(c, "step %5ld/%ld | loss %.4f | acc %5.1f%% | lr %.2e | %8.2f ms | %8.0f img/s\n", step + 1,
			       r->steps, loss, 100.0 * correct / r->B, lr, r->step_ms[step],
			       r->B / (r->step_ms[step] / 1e3));
	}
	return KN_OK;
}

static int evaluate(struct cnn_run *r)
{
	const struct tr_config *c = r->cfg;
	long n = c->eval_images < 0 || c->eval_images > r->test.n ? r->test.n : c->eval_images;
	double loss_sum = 0, t0 = tr_now_ms();
	long correct = 0;
	if (n == 0)
		return KN_OK;
	uint32_t *idx = malloc((size_t)r->B * sizeof *idx);
	if (!idx)
		return kn_error(KN_ENOMEM, "out of memory for evaluation");
	int rc = KN_OK;
	for (long i0 = 0; i0 < n && rc == KN_OK; i0 += r->B) {
		int cnt = n - i0 < r->B ? (int)(n - i0) : r->B;
		double loss;
		long ok;
		for (int i = 0; i < cnt; i++)
			idx[i] = (uint32_t)(i0 + i);
		tr_images_batch(&r->test, idx, cnt, r->images, r->labels);
		if ((rc = tr_cnn_upload_batch(&r->model, r->images, r->labels, cnt)) ||
		    (rc = tr_cnn_forward(&r->model, 0, &loss, &ok)))
			break;
		loss_sum += loss * cnt;
		correct += ok;
	}
	free(idx);
	if (rc)
		return rc;
	r->rec->eval_loss = loss_sum / (double)n;
	r->rec->eval_accuracy = (double)correct / (double)n;
	cJSON_AddNumberToObject(r->rec->extra, "eval_images", (double)n);
	cJSON_AddNumberToObject(r->rec->extra, "eval_s", (tr_now_ms() - t0) / 1e3);
	tr_log(c, "eval: loss %.4f, accuracy %.2f%% over %ld t10k images\n", r->rec->eval_loss,
	       100.0 * r->rec->eval_accuracy, n);
	return KN_OK;
}

static void summarise(struct cnn_run *r)
{
	struct rp_record *rec = r->rec;
	tr_summarise_steps(rec, r->cfg, r->step_ms, r->wait_ms, r->phase_sum_ms, r->steps_done, r->steps_per_epoch, r->B,
			   0);
	if (r->preset) {
		rec->flops_per_step = tr_cnn_flops_per_image(&r->preset->cnn) * r->B;
		cJSON_AddNumberToObject(rec->extra, "params", (double)tr_cnn_count_params(&r->preset->cnn));
		if (r->be.peak_flops > 0 && isfinite(rec->step_ms_p50))
			rec->mfu = rec->flops_per_step / (rec->step_ms_p50 / 1e3) / r->be.peak_flops;
	}
	cJSON_AddStringToObject(rec->extra, "optimizer", r->cfg->optimizer == TR_OPT_SGD ? "sgd" : "adamw");
	cJSON_AddNumberToObject(rec->loader, "batches", (double)r->steps_done);
	tr_record_memory(rec, &r->be);
}

int tr_train_cnn(const struct tr_config *cfg, struct rp_record *rec)
{
	struct cnn_run r = { .cfg = cfg, .rec = rec };
	int rc;
	tr_utc_now(rec->started_at, sizeof rec->started_at);
	tr_fill_config(cfg, rec);
	tr_fill_versions(rec);
	rc = setup(&r);
	if (rc == KN_OK) {
		tr_log(cfg, "amptune train: cnn %s on %s (%s), %s, batch %d of %dx%dx%d, %ld steps (%ld per epoch), "
			    "%.3fM params, %s\n",
		       cfg->size, r.be.name, r.be.device_name, kn_precision_name(cfg->precision), r.B, r.train.C, r.train.H,
		       r.train.W, r.steps, r.steps_per_epoch, (double)r.model.num_params / 1e6,
		       cfg->optimizer == TR_OPT_SGD ? "sgd" : "adamw");
		rc = train_steps(&r);
	}
	if (rc == KN_OK)
		rc = evaluate(&r);
	summarise(&r);
	tr_finish_record(cfg, rec, rc);
	tr_cnn_release(&r.model);
	tr_images_release(&r.train);
	tr_images_release(&r.test);
	kn_backend_release(&r.be);
	free(r.perm);
	free(r.images);
	free(r.labels);
	free(r.step_ms);
	free(r.wait_ms);
	return rc;
}
