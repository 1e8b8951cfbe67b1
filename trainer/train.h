/*
 * trainer/train.h — one training point from config to results record.
 *
 * tr_train() opens the backend and data, builds the model, runs the steps,
 * evaluates, and fills `rec` whatever happens: on failure the record carries
 * the status ("oom", "unsupported", "diverged", "failed") and message, so a
 * caller can always print it. Returns the kn_status of the run.
 */
#ifndef TR_TRAIN_H
#define TR_TRAIN_H

#include <stdint.h>

#include "kernels/backend.h"
#include "reports/record.h"
#include "trainer/config.h"
#include "trainer/loss_scale.h"

int tr_train(const struct tr_config *cfg, struct rp_record *rec);
/* The --model cnn point (trainer/train_cnn.c); tr_train() dispatches to it. */
int tr_train_cnn(const struct tr_config *cfg, struct rp_record *rec);
/* Opens what --data names for the cnn: a plain path is a directory of IDX
 * files (fashion-mnist:DIR); other specs as the loader reads them; IDX files
 * are checked against c's image size and classes as they are read. */
struct dl_dataset;
struct tr_cnn_config;
int tr_cnn_open_data(struct dl_dataset *ds, const char *data, uint64_t seed, const struct tr_cnn_config *c);
/* KN_EUSAGE unless d holds images, KN_EDATA unless their shape and labels fit c. */
int tr_cnn_check_images(const struct dl_dataset *d, const struct tr_cnn_config *c);
/* KN_EUSAGE when `eval_images` (-1: all) asks for more test images than data d (spec `data`) holds;
 * `what` names the setting ("option '--eval-images'", "'eval_images'"). */
int tr_cnn_check_eval_images(const char *what, long eval_images, const struct dl_dataset *d, const char *data);
/* Set asynchronously (SIGINT/SIGTERM): the loop stops after the current step. */
extern volatile int tr_stop_signal;

/* Shared by the model paths. */
struct kn_backend;
/* Warm-up then cosine decay to lr * min_lr_frac. */
double tr_lr_at(const struct tr_config *c, long step, long total, long warmup);
/* Human log line to stderr unless --quiet. */
void tr_log(const struct tr_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* On the cpu backend, a log line when OpenBLAS runs kernels below the CPU's best (kernels/cpu/blas.h). */
void tr_log_blas_note(const struct tr_config *c, const struct kn_backend *be);
void tr_fill_versions(struct rp_record *rec);
void tr_fill_config(const struct tr_config *c, struct rp_record *rec);
/* Step-time percentiles, throughput, data wait, phase times and time per
 * epoch from per-step timings (tokens_per_step 0: tokens_per_sec stays null). */
void tr_summarise_steps(struct rp_record *rec, const struct tr_config *c, const double *step_ms, const double *wait_ms,
			const double phase_sum_ms[], long steps_done, long steps_per_epoch, double samples_per_step,
			double tokens_per_step);
/* The backend's part of the record once it opened: peak device memory (allocator and driver),
 * pinned bytes and `deterministic` (extra field); and the host's peak RSS. */
void tr_record_backend(struct rp_record *rec, const struct kn_backend *be);
/* Puts a step's loss in the record (initial, final, sampled curve); returns
 * KN_EDIVERGED when it is not finite or above 3x the first step's. */
int tr_record_step_loss(struct rp_record *rec, long step, long steps, double loss);
/* After kn_sync: the step's wall time since t0_ms into step_ms[step], and its
 * phase times added to phase_sum_ms[KN_PHASE_COUNT] once past the warm-up. */
void tr_finish_step(struct kn_backend *be, const struct tr_config *c, long step, double t0_ms, double *step_ms,
		    double *phase_sum_ms);
/* The double-buffered input of a training loop (see tr_gpt_stage_batch):
 * while step k computes, batch k+1 is taken from the loader and its copy to
 * the device runs on the copy stream. `stage` starts the copy of a loader
 * batch into input slot 0 or 1 of `model`. */
struct dl_loader;
struct dl_batch;
struct tr_feed {
	struct kn_backend *be;
	struct dl_loader *ld;
	int (*stage)(void *model, int slot, const struct dl_batch *b);
	void *model;
};
/* Before step `step`: stages batch `step` if it is the first, then batch
 * step+1 (after batch step's copy has left the loader's slot, which the next
 * dl_loader_next gives back); the loader's data wait goes to *wait_ms (the time until
 * the batch was ready, not the handoff of one that was: dl_batch.wait_ms);
 * *slot receives the slot that holds batch `step`. The last step stages a
 * batch nobody computes on, so that every step's time includes taking the next
 * batch, as in the steady state a run measures (a last step without it looked
 * faster, and when it was the only timed step, data waits went unseen). */
int tr_feed_step(struct tr_feed *f, long step, double *wait_ms, int *slot);
/* The loader batches whose waits the timed steps include: step k waits for batch
 * k+1 (step 0 for batches 0 and 1 too), so the loader's warm-up is one batch
 * longer than the trainer's, unless there is none. */
long tr_loader_warmup(long warmup_steps);
/* After the step loop, however it ended: waits for input copies still reading loader slots. */
void tr_feed_drain(struct kn_backend *be);
/* The dynamic loss scaler a config asks for (--loss-scaling; auto: fp16 only). */
void tr_scaler_for(struct tr_loss_scaler *s, const struct tr_config *c);
/* After backward, from the norm of the scaled gradients: returns 1 when the step
 * is to be applied with *factor (unscaling, and clipping to clip > 0), 0 when it
 * overflowed and is skipped (logged; the scale backs off). */
int tr_scaler_step(const struct tr_config *c, struct tr_loss_scaler *s, long step, double scaled_norm, double clip,
		   float *factor);
/* loss_scale_skips, and loss_scale_final when scaling ran */
void tr_record_scaler(struct rp_record *rec, const struct tr_loss_scaler *s);
/* The run's steps: --steps, or --epochs of steps_per_epoch (at least 1). KN_EUSAGE when a
 * --warmup-steps the user gave would leave none timed; the default warm-up is lowered instead
 * (to steps - 1, with a log note), in *c. */
int tr_steps_for(struct tr_config *c, long steps_per_epoch, long *steps);

/* The step loop both trainers run, and what it measures. */
struct tr_loop {
	struct tr_loss_scaler scaler;
	double *step_ms, *wait_ms;           /* one per step */
	double phase_sum_ms[KN_PHASE_COUNT]; /* summed over the steps past the warm-up */
	long steps, steps_done;
};
/* The steps `epochs` take at steps_per_epoch: ceil(epochs * steps_per_epoch), not yet bounded (the
 * caller compares it with TR_MAX_STEPS) nor raised to 1. train and sweep both resolve epochs so. */
double tr_epoch_steps(double epochs, long steps_per_epoch);
/* The steps (tr_steps_for, also into rec->steps), the loss scaler and the timing arrays. */
int tr_loop_init(struct tr_loop *l, struct tr_config *c, long steps_per_epoch, struct rp_record *rec);
void tr_loop_release(struct tr_loop *l);
/* A model as the loop drives it; every hook gets `model` back. */
struct tr_stepper {
	void *model;
	int (*stage)(void *model, int slot, const struct dl_batch *b); /* as struct tr_feed's */
	int (*use_batch)(void *model, int slot);
	/* training forward: the batch's mean loss and its correct predictions (0 where not counted) */
	int (*forward)(void *model, double *loss, long *correct);
	void (*backward)(void *model, float loss_scale);
	double (*grad_norm)(void *model);
	void (*update)(void *model, const struct tr_config *c, float lr, float factor);
	double clip;     /* the gradient norm is clipped to this; 0 = no clipping */
	int norm_always; /* the norm is taken without loss scaling too (clipping, the log line) */
	/* the log line of a step; norm is unscaled, 0 when not taken */
	void (*log_step)(const struct tr_config *c, void *model, long step, long steps, double loss, long correct,
			 float lr, double norm, double step_ms);
};
/* Runs l->steps steps: feed, forward, loss record (KN_EDIVERGED), backward, loss
 * scaling and update, sync, timing, log. l->steps_done counts the finished ones. */
int tr_run_steps(const struct tr_config *c, struct rp_record *rec, struct kn_backend *be, struct dl_loader *ld,
		 struct tr_loop *l, const struct tr_stepper *m);
/* id (unless set), status, message and finish time; returns rc, or KN_EINTR when a stop signal
 * arrived and rc is another failure (a system call the signal cut short). */
int tr_finish_record(const struct tr_config *cfg, struct rp_record *rec, int rc);

#endif
