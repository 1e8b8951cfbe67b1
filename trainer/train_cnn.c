/*
 * `train --model cnn`: one CNN point on images, from config to record.
 *
 * Training batches come from the data loader (docs/data-loader.md): worker
 * threads, prefetch, a shuffle per epoch from the seed, random crops (pad 2)
 * and flips with --augment, and the loader's statistics in the record. A
 * directory given as --data is read as fashion-mnist:DIR (train-* and t10k-*
 * IDX files). Evaluation runs the whole validation split (t10k) in order on
 * this thread, in eval mode (BN running statistics), the last batch partial,
 * and records eval_loss (mean over images) and eval_accuracy.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_loader/dataset.h"
#include "data_loader/loader.h"
#include "data_loader/transform.h"
#include "kernels/backend.h"
#include "trainer/cnn.h"
#include "trainer/loss_scale.h"
#include "trainer/metrics.h"
#include "trainer/train.h"

struct cnn_run {
	struct tr_config *cfg;   /* the run's copy (tr_loop_init may lower the default warm-up) */
	struct rp_record *rec;
	const struct tr_cnn_preset *preset;
	struct kn_backend be;
	struct dl_dataset data;
	struct dl_loader train_ld;
	struct tr_cnn model;
	struct tr_loop loop;
	float *images;        /* host batch [B, C, H, W] for evaluation */
	int *labels;
	long steps_per_epoch;
	int B;
};

int tr_cnn_check_images(const struct dl_dataset *d, const struct tr_cnn_config *c)
{
	if (d->kind != DL_KIND_IMAGES)
		return kn_error(KN_EUSAGE, "option '--data' names %s ('%s'); the cnn model trains on images", d->name,
				d->spec);
	if (d->C != c->in_channels || d->H != c->height || d->W != c->width)
		return kn_error(KN_EDATA, "images in '%s' are %dx%dx%d; the cnn presets take %dx%dx%d", d->spec, d->C, d->H,
				d->W, c->in_channels, c->height, c->width);
	if (d->classes > c->classes)
		return kn_error(KN_EDATA, "labels in '%s' go up to %d; the cnn presets have %d classes", d->spec,
				d->classes - 1, c->classes);
	return KN_OK;
}

int tr_cnn_open_data(struct dl_dataset *ds, const char *data, uint64_t seed, const struct tr_cnn_config *c)
{
	char spec[600];
	struct dl_spec parsed;
	int plain = dl_spec_parse(data, &parsed) == KN_OK && parsed.source == DL_SRC_TEXT && strncmp(data, "text:", 5) != 0;
	snprintf(spec, sizeof spec, "%s%s", plain ? "fashion-mnist:" : "", data);
	struct stat st;
	if (plain && stat(data, &st) == 0 && !S_ISDIR(st.st_mode))
		return kn_error(KN_EDATA, "cnn data '%s' is a file: give a directory of IDX files (train-* and t10k-*) "
					  "or idx:IMAGES,LABELS[,VAL_IMAGES,VAL_LABELS]", data);
	/* IDX files are checked against the model as they are read, so an error names the file and offset */
	struct dl_image_expect want = { c->classes, c->height, c->width };
	return dl_dataset_open_for(ds, spec, 0, seed, &want);
}

int tr_cnn_check_eval_images(const char *what, long eval_images, const struct dl_dataset *d, const char *data)
{
	long avail = d->images[DL_VAL] ? (long)d->images[DL_VAL]->n : 0;
	if (eval_images > avail)
		return kn_error(KN_EUSAGE, "%s asks for %ld test images, but data '%s' has %ld%s", what, eval_images, data,
				avail, avail ? " (leave it out to evaluate on all of them)" : ": no test split");
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
	if ((rc = tr_cnn_open_data(&r->data, c->data, c->seed, mc)) || (rc = tr_cnn_check_images(&r->data, mc)))
		return rc;
	/* before any training: an evaluation that cannot be what was asked */
	if ((rc = tr_cnn_check_eval_images("option '--eval-images'", c->eval_images, &r->data, c->data)))
		return rc;
	struct dl_options opt = c->loader;
	opt.interrupt = &tr_stop_signal;
	if ((rc = dl_loader_init(&r->train_ld, &r->be, &r->data, DL_TRAIN, r->B, 0, c->seed, &opt)))
		return rc;
	r->steps_per_epoch = r->train_ld.steps_per_epoch;
	if ((rc = tr_loop_init(&r->loop, r->cfg, r->steps_per_epoch, r->rec)) ||
	    (rc = tr_cnn_init(&r->model, &r->be, mc, r->B, c->optimizer, c->seed)))
		return rc;
	r->images = malloc((size_t)r->B * mc->in_channels * mc->height * mc->width * sizeof *r->images);
	r->labels = malloc((size_t)r->B * sizeof *r->labels);
	if (!r->images || !r->labels)
		return kn_error(KN_ENOMEM, "out of memory for an evaluation batch of %d images", r->B);
	return KN_OK;
}

static int stage_batch(void *model, int slot, const struct dl_batch *b)
{
	return tr_cnn_stage_batch(model, slot, b->images, b->labels, b->B);
}

static int use_batch(void *model, int slot) { return tr_cnn_use_batch(model, slot); }
static int forward(void *model, double *loss, long *correct) { return tr_cnn_forward(model, 1, loss, correct); }
static void backward(void *model, float loss_scale) { tr_cnn_backward(model, loss_scale); }
static double grad_norm(void *model) { return tr_cnn_grad_norm(model); }

static void update(void *model, const struct tr_config *c, float lr, float factor)
{
	float beta1 = (float)(c->optimizer == TR_OPT_SGD ? c->momentum : c->beta1);
	tr_cnn_update(model, lr, beta1, (float)c->beta2, (float)c->eps, (float)c->weight_decay, factor);
}

static void log_step(const struct tr_config *c, void *model, long step, long steps, double loss, long correct, float lr,
		     double norm, double step_ms)
{
	const struct tr_cnn *m = model;
	(void)norm;
	tr_log(c, "step %5ld/%ld | loss %.4f | acc %5.1f%% | lr %.2e | %8.2f ms | %8.0f img/s\n", step + 1, steps, loss,
	       100.0 * correct / m->n, lr, step_ms, m->n / (step_ms / 1e3));
}

static int evaluate(struct cnn_run *r)
{
	const struct tr_config *c = r->cfg;
	const struct dl_image_set *test = r->data.images[DL_VAL];
	long avail = test ? (long)test->n : 0;
	long n = c->eval_images < 0 || c->eval_images > avail ? avail : c->eval_images;
	double loss_sum = 0, t0 = tr_now_ms();
	long correct = 0;
	size_t image_elems = (size_t)r->data.C * r->data.H * r->data.W;
	if (n == 0) {
		cJSON_AddNumberToObject(r->rec->extra, "eval_images", 0); /* asked for none: said, not left out */
		return KN_OK;
	}
	int rc = KN_OK;
	for (long i0 = 0; i0 < n && rc == KN_OK; i0 += r->B) {
		int cnt = n - i0 < r->B ? (int)(n - i0) : r->B;
		double loss;
		long ok;
		if (tr_stop_signal) { /* (the GPT's evaluation stops in its loader's wait) */
			rc = kn_error(KN_EINTR, "interrupted by signal %d while evaluating, after %ld of %ld test images",
				      tr_stop_signal, i0, n);
			break;
		}
		for (int i = 0; i < cnt; i++) /* in order, normalised, no augmentation */
			dl_image_row(&r->data, test, (uint64_t)(i0 + i), 0, c->seed, 0, r->images + i * image_elems,
				     &r->labels[i]);
		if ((rc = tr_cnn_upload_batch(&r->model, r->images, r->labels, cnt)) ||
		    (rc = tr_cnn_forward(&r->model, 0, &loss, &ok)))
			break;
		loss_sum += loss * cnt;
		correct += ok;
	}
	if (rc)
		return rc;
	r->rec->eval_loss = loss_sum / (double)n;
	r->rec->eval_accuracy = (double)correct / (double)n;
	cJSON_AddNumberToObject(r->rec->extra, "eval_images", (double)n);
	cJSON_AddNumberToObject(r->rec->extra, "eval_s", (tr_now_ms() - t0) / 1e3);
	tr_log(c, "eval: loss %.4f, accuracy %.2f%% over %ld test images\n", r->rec->eval_loss,
	       100.0 * r->rec->eval_accuracy, n);
	return KN_OK;
}

static void summarise(struct cnn_run *r)
{
	struct rp_record *rec = r->rec;
	tr_summarise_steps(rec, r->cfg, r->loop.step_ms, r->loop.wait_ms, r->loop.phase_sum_ms, r->loop.steps_done,
			   r->steps_per_epoch, r->B, 0);
	if (r->preset) {
		rec->flops_per_step = tr_cnn_flops_per_image(&r->preset->cnn) * r->B;
		cJSON_AddNumberToObject(rec->extra, "params", (double)tr_cnn_count_params(&r->preset->cnn));
		if (r->be.peak_flops > 0 && isfinite(rec->step_ms_p50))
			rec->mfu = rec->flops_per_step / (rec->step_ms_p50 / 1e3) / r->be.peak_flops;
	}
	cJSON_AddStringToObject(rec->extra, "optimizer", r->cfg->optimizer == TR_OPT_SGD ? "sgd" : "adamw");
	if (r->train_ld.ds)
		dl_loader_stats_json(&r->train_ld, rec->loader, tr_loader_warmup(r->cfg->warmup_steps));
	tr_record_backend(rec, &r->be);
	tr_record_scaler(rec, &r->loop.scaler);
}

int tr_train_cnn(const struct tr_config *cfg_in, struct rp_record *rec)
{
	struct tr_config copy = *cfg_in, *cfg = &copy; /* tr_loop_init may lower the default warm-up */
	struct cnn_run r = { .cfg = cfg, .rec = rec };
	int rc;
	tr_utc_now(rec->started_at, sizeof rec->started_at);
	tr_fill_config(cfg, rec);
	tr_fill_versions(rec);
	rc = setup(&r);
	if (rc == KN_OK) {
		tr_log(cfg, "amptune train: cnn %s on %s (%s), %s, batch %d of %dx%dx%d, %ld steps (%ld per epoch), "
			    "%.3fM params, %s\n",
		       cfg->size, r.be.name, r.be.device_name, kn_precision_name(cfg->precision), r.B, r.data.C, r.data.H,
		       r.data.W, r.loop.steps, r.steps_per_epoch, (double)r.model.num_params / 1e6,
		       cfg->optimizer == TR_OPT_SGD ? "sgd" : "adamw");
		tr_log_blas_note(cfg, &r.be);
		/* no clipping (the cnn trains without it); the norm only tells an fp16 overflow */
		struct tr_stepper cnn = { &r.model, stage_batch, use_batch, forward, backward, grad_norm, update, 0.0, 0,
					  log_step };
		rc = tr_run_steps(cfg, rec, &r.be, &r.train_ld, &r.loop, &cnn);
		tr_feed_drain(&r.be); /* an early stop may leave the next batch's copy in flight */
		dl_loader_stop(&r.train_ld); /* no more prefetching while evaluating */
	}
	if (rc == KN_OK)
		rc = evaluate(&r);
	summarise(&r);
	rc = tr_finish_record(cfg, rec, rc);
	tr_cnn_release(&r.model);
	dl_loader_release(&r.train_ld);
	dl_dataset_release(&r.data);
	kn_backend_release(&r.be);
	free(r.images);
	free(r.labels);
	tr_loop_release(&r.loop);
	return rc;
}
