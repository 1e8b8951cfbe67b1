#include "trainer/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernels/error.h"

/* max_seq, vocab, layers, heads, channels */
const struct tr_size_preset tr_gpt_sizes[] = {
	{ "tiny", { 128, 256, 4, 4, 128 }, 16 },
	{ "small", { 256, 256, 6, 6, 384 }, 8 },
	{ "gpt2-124m", { 1024, 50304, 12, 12, 768 }, 4 },
};
const int tr_gpt_nsizes = sizeof tr_gpt_sizes / sizeof *tr_gpt_sizes;

const struct tr_size_preset *tr_find_size(const char *name)
{
	for (int i = 0; i < tr_gpt_nsizes; i++)
		if (strcmp(tr_gpt_sizes[i].name, name) == 0)
			return &tr_gpt_sizes[i];
	return NULL;
}

/* in_channels, height, width, classes, stages, widths, blocks per stage */
const struct tr_cnn_preset tr_cnn_sizes[] = {
	{ "tiny", { 1, 28, 28, 10, 3, { 16, 32, 64 }, { 1, 1, 1 } }, 128, 0.2 },
	/* 0.2 and 0.1 diverge within a few steps of a short run (warm-up = 10% of the steps) */
	{ "resnet", { 1, 28, 28, 10, 4, { 64, 128, 256, 512 }, { 2, 2, 2, 2 } }, 128, 0.05 },
};
const int tr_cnn_nsizes = sizeof tr_cnn_sizes / sizeof *tr_cnn_sizes;

const struct tr_cnn_preset *tr_find_cnn_preset(const char *name)
{
	for (int i = 0; i < tr_cnn_nsizes; i++)
		if (strcmp(tr_cnn_sizes[i].name, name) == 0)
			return &tr_cnn_sizes[i];
	return NULL;
}

void tr_config_defaults(struct tr_config *c)
{
	memset(c, 0, sizeof *c);
	strcpy(c->model, "gpt");
	strcpy(c->size, "tiny");
	strcpy(c->data, "fortunes");
	strcpy(c->device, "auto");
	c->precision = KN_FP32;
	c->steps = 0;
	c->epochs = 0;
	c->warmup_steps = TR_DEFAULT_WARMUP;
	c->lr_warmup = -1;
	c->lr = 1e-3;
	c->min_lr_frac = 0.1;
	c->weight_decay = 0.1;
	c->grad_clip = 1.0;
	c->beta1 = 0.9;
	c->beta2 = 0.95;
	c->eps = 1e-8;
	c->optimizer = TR_OPT_ADAMW;
	c->momentum = 0.9;
	c->eval_images = -1;
	c->seed = 1337;
	c->log_every = 10;
	c->eval_batches = 16;
	c->loss_scaling = -1;
	c->loss_scale_init = 65536.0;
	dl_options_defaults(&c->loader);
}

void tr_model_defaults(struct tr_config *c, const char *model, const char *size)
{
	tr_config_defaults(c);
	snprintf(c->model, sizeof c->model, "%s", model);
	snprintf(c->size, sizeof c->size, "%s", size);
	if (strcmp(model, "cnn") != 0)
		return;
	const struct tr_cnn_preset *preset = tr_find_cnn_preset(size);
	snprintf(c->data, sizeof c->data, "fashion-mnist");
	c->optimizer = TR_OPT_SGD;
	if (preset)
		c->lr = preset->sgd_lr;
	c->weight_decay = 5e-4;
}

int tr_model_context(const char *model, const char *size)
{
	const struct tr_size_preset *preset = strcmp(model, "cnn") != 0 ? tr_find_size(size) : NULL;
	return preset ? preset->gpt.max_seq : 0;
}

int tr_run_warmup(const struct tr_config *c, long steps)
{
	if (!c->warmup_steps_given && steps > 0 && c->warmup_steps >= steps)
		return (int)(steps - 1);
	return c->warmup_steps;
}

int tr_parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	int decimal = kn_is_decimal(s, strlen(s), 0);
	long v = decimal ? strtol(s, &end, 10) : 0;
	if (!decimal || *end || errno || v < lo || v > hi)
		return kn_error(KN_EUSAGE, "option '%s' expects an integer in [%ld, %ld], got '%s'", opt, lo, hi, s);
	*out = v;
	return KN_OK;
}

int tr_parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	int decimal = kn_is_decimal(s, strlen(s), 1);
	double v = decimal ? strtod(s, &end) : 0;
	if (!decimal || *end || errno || !isfinite(v) || v < lo || v > hi)
		return kn_error(KN_EUSAGE, "option '%s' expects a number in [%g, %g], got '%s'", opt, lo, hi, s);
	*out = v;
	return KN_OK;
}

int tr_parse_seed(const char *opt, const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	int decimal = kn_is_decimal(s, strlen(s), 0) && *s != '-';
	unsigned long long u = decimal ? strtoull(s, &end, 10) : 0;
	/* whole numbers up to 2^53, which a record's JSON number holds exactly */
	if (!decimal || *end || errno || u > (1ull << 53))
		return kn_error(KN_EUSAGE, "option '%s' expects a whole number in [0, 9007199254740992], got '%s'", opt, s);
	*out = (uint64_t)u;
	return KN_OK;
}

int tr_parse_bytes(const char *opt, const char *s, size_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	double mult = 1;
	if (*end) {
		static const char *const suffixes[][3] = { { "K", "KiB", "KB" }, { "M", "MiB", "MB" },
							   { "G", "GiB", "GB" }, { "T", "TiB", "TB" } };
		int found = 0;
		for (int i = 0; i < 4 && !found; i++) {
			for (int j = 0; j < 3; j++) {
				if (strcasecmp(end, suffixes[i][j]) == 0) {
					mult = pow(1024.0, i + 1);
					found = 1;
					break;
				}
			}
		}
		if (!found)
			goto bad;
	}
	if (!kn_is_decimal(s, (size_t)(end - s), 1) || errno || !isfinite(v) || v <= 0 || v * mult > 1e18)
		goto bad;
	*out = (size_t)(v * mult);
	return KN_OK;
bad:
	return kn_error(KN_EUSAGE, "option '%s' expects a positive byte count such as 16G, 512MiB or 1000000, got '%s'",
			opt, s);
}
