/*
 * trainer/config.h — one training point's settings, the size presets, and
 * strict parsers for option values.
 */
#ifndef TR_CONFIG_H
#define TR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "data_loader/options.h"
#include "kernels/precision.h"
#include "trainer/cnn.h"
#include "trainer/gpt.h"

struct tr_size_preset {
	const char *name;
	struct tr_gpt_config gpt;
	int default_batch;
};

extern const struct tr_size_preset tr_gpt_sizes[];
extern const int tr_gpt_nsizes;
const struct tr_size_preset *tr_find_size(const char *name);

/* CNN presets (--model cnn): 28x28x1 inputs, 10 classes */
struct tr_cnn_preset {
	const char *name;
	struct tr_cnn_config cnn;
	int default_batch;
	double sgd_lr;      /* --lr default with SGD: stable from the first steps, without a long warm-up */
};

extern const struct tr_cnn_preset tr_cnn_sizes[];
extern const int tr_cnn_nsizes;
const struct tr_cnn_preset *tr_find_cnn_preset(const char *name);

struct tr_config {
	char model[16];
	char size[32];
	char data[512];
	char device[16];
	enum kn_precision precision;
	int batch;              /* 0 = preset default */
	int seq;                /* 0 = model context */
	long steps;             /* 0 = derive from epochs */
	double epochs;          /* 0 = use steps */
	int warmup_steps;       /* excluded from timing statistics */
	int warmup_steps_given; /* --warmup-steps was on the command line (for messages) */
	int lr_warmup;          /* learning-rate warm-up steps; -1 = 10% of steps */
	double lr, min_lr_frac, weight_decay, grad_clip, beta1, beta2, eps;
	enum tr_optimizer optimizer;
	double momentum;        /* SGD */
	long eval_images;       /* cnn: t10k images to evaluate; -1 = all, 0 = none */
	uint64_t seed;
	int log_every;
	int json;
	int quiet;
	int eval_batches;
	int threads;            /* 0 = OpenMP default */
	size_t device_mem_limit;
	char id[24];            /* set by a sweep; else derived from the config */
	int loss_scaling;       /* -1 auto (fp16 only), 0 off, 1 on */
	double loss_scale_init; /* first loss scale when scaling */
	struct dl_options loader; /* --workers, --prefetch, --shuffle, ... (data_loader/options.h) */
};

/* The defaults of a gpt tiny run (what train runs without options, --steps aside). */
void tr_config_defaults(struct tr_config *c);
/* The defaults of a run of model and size: tr_config_defaults(), and for cnn fashion-mnist
 * trained with SGD at the preset's learning rate and a weight decay of 5e-4. What train runs
 * for what its options leave unset, and what its id compares a run against. */
void tr_model_defaults(struct tr_config *c, const char *model, const char *size);
/* The token context of model and size: the seq a run takes when not given, and what its id
 * hashes then (sweeps too); 0 for a model without one (cnn) or an unknown size. */
int tr_model_context(const char *model, const char *size);
/* The warm-up a run of steps takes: c->warmup_steps, but one it was not given (the default) is
 * lowered to steps - 1 when it would leave no step timed; steps <= 0 (not yet known): as set. */
int tr_run_warmup(const struct tr_config *c, long steps);

/* The most steps a run takes (--steps, and what --epochs gives). */
#define TR_MAX_STEPS 100000000
/* The default warm-up (--warmup-steps), before tr_run_warmup() lowers it for a short run. */
#define TR_DEFAULT_WARMUP 3
/* Strict value parsers: KN_EUSAGE naming the option on anything not a whole,
 * in-range value. */
int tr_parse_long(const char *opt, const char *s, long lo, long hi, long *out);
int tr_parse_double(const char *opt, const char *s, double lo, double hi, double *out);
/* a seed: decimal digits after an optional '+', at most 2^53 */
int tr_parse_seed(const char *opt, const char *s, uint64_t *out);
/* Bytes with an optional suffix: K, M, G, T (powers of 1024; "KiB", "GB" ... too). */
int tr_parse_bytes(const char *opt, const char *s, size_t *out);

#endif
