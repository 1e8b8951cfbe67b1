#include "data_loader/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_loader/synthetic.h"
#include "kernels/error.h"

#define SPEC_HELP "see 'amptune help train' for the --data forms"

static const char *after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* Splits a comma-separated list into out->arg; KN_EUSAGE unless there are
 * min..max non-empty paths (an even number when `even`). */
static int split_args(const char *spec, const char *list, struct dl_spec *out, int min, int max, int even)
{
	const char *p = list;
	out->n_args = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (out->n_args == 4 || len == 0 || len >= sizeof out->arg[0])
			return kn_error(KN_EUSAGE, "option '--data' got '%s': an empty, overlong or extra path (%s)", spec,
					SPEC_HELP);
		memcpy(out->arg[out->n_args], p, len);
		out->arg[out->n_args++][len] = 0;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (out->n_args < min || out->n_args > max || (even && out->n_args % 2))
		return kn_error(KN_EUSAGE, "option '--data' got '%s' with %d path(s) (%s)", spec, out->n_args, SPEC_HELP);
	return KN_OK;
}

static int parse_size(const char *spec, const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!kn_is_decimal(s, strlen(s), 0) || *end || errno || v < lo || v > hi)
		return kn_error(KN_EUSAGE, "option '--data' got '%s': the size must be a whole number in [%ld, %ld]", spec,
				lo, hi);
	*out = v;
	return KN_OK;
}

int dl_spec_parse(const char *spec, struct dl_spec *out)
{
	const char *rest;
	memset(out, 0, sizeof *out);
	if (!*spec)
		return kn_error(KN_EUSAGE, "option '--data' got '' (%s)", SPEC_HELP);
	if (strlen(spec) >= sizeof out->arg[0])
		return kn_error(KN_EUSAGE, "option '--data' is longer than %zu characters", sizeof out->arg[0] - 1);
	if ((rest = after(spec, "shards:"))) {
		out->source = DL_SRC_SHARDS;
		return split_args(spec, rest, out, 1, 2, 0);
	}
	if ((rest = after(spec, "idx:"))) {
		out->source = DL_SRC_IDX;
		return split_args(spec, rest, out, 2, 4, 1);
	}
	if (strcmp(spec, "fashion-mnist") == 0 || (rest = after(spec, "fashion-mnist:"))) {
		out->source = DL_SRC_FASHION_MNIST;
		if (rest) {
			if (!*rest)
				return kn_error(KN_EUSAGE, "option '--data' got '%s': no directory after ':'", spec);
			snprintf(out->arg[0], sizeof out->arg[0], "%s", rest);
			out->n_args = 1;
		}
		return KN_OK;
	}
	if (strcmp(spec, "synthetic-text") == 0 || (rest = after(spec, "synthetic-text:"))) {
		out->source = DL_SRC_SYNTH_TEXT;
		return rest ? parse_size(spec, rest, 64, 1L << 30, &out->size) : KN_OK;
	}
	if (strcmp(spec, "synthetic-images") == 0 || (rest = after(spec, "synthetic-images:"))) {
		out->source = DL_SRC_SYNTH_IMAGES;
		return rest ? parse_size(spec, rest, 10, 10000000, &out->size) : KN_OK;
	}
	out->source = strcmp(spec, "fortunes") == 0 ? DL_SRC_FORTUNES : DL_SRC_TEXT; /* text:fortunes is a path */
	rest = after(spec, "text:");
	snprintf(out->arg[0], sizeof out->arg[0], "%s", rest ? rest : spec);
	out->n_args = 1;
	if (!out->arg[0][0])
		return kn_error(KN_EUSAGE, "option '--data' got '%s': no path after ':'", spec);
	return KN_OK;
}

static void view_text(struct dl_dataset *ds, const struct dl_text *t)
{
	ds->kind = DL_KIND_TOKENS;
	ds->vocab = 256;
	ds->tokens[DL_TRAIN] = (struct dl_tokens){ .u8 = t->train, .n = t->n_train };
	ds->tokens[DL_VAL] = (struct dl_tokens){ .u8 = t->val, .n = t->n_val };
}

static void view_images(struct dl_dataset *ds, const struct dl_idx *x)
{
	ds->kind = DL_KIND_IMAGES;
	ds->C = x->C;
	ds->H = x->H;
	ds->W = x->W;
	ds->classes = x->classes;
	ds->mean = x->mean;
	ds->std = x->std;
	ds->images[DL_TRAIN] = &x->train;
	ds->images[DL_VAL] = &x->val;
}

int dl_dataset_open(struct dl_dataset *ds, const char *spec, int vocab, uint64_t seed)
{
	return dl_dataset_open_for(ds, spec, vocab, seed, NULL);
}

int dl_dataset_open_for(struct dl_dataset *ds, const char *spec, int vocab, uint64_t seed,
			const struct dl_image_expect *img)
{
	struct dl_spec sp;
	int rc;
	memset(ds, 0, sizeof *ds);
	snprintf(ds->spec, sizeof ds->spec, "%s", spec);
	if ((rc = dl_spec_parse(spec, &sp)))
		return rc;
	switch (sp.source) {
	case DL_SRC_TEXT:
	case DL_SRC_FORTUNES:
		ds->name = "text";
		if ((rc = sp.source == DL_SRC_FORTUNES ? dl_fortunes_open(&ds->text) : dl_text_open(&ds->text, sp.arg[0])) ==
		    KN_OK)
			view_text(ds, &ds->text);
		break;
	case DL_SRC_SYNTH_TEXT:
		ds->name = "synthetic-text";
		if ((rc = dl_synthetic_text(&ds->text, sp.size ? (size_t)sp.size : DL_SYNTH_TEXT_BYTES, seed)) == KN_OK)
			view_text(ds, &ds->text);
		break;
	case DL_SRC_SHARDS:
		ds->name = "shards";
		if ((rc = dl_shards_open(&ds->shards, sp.arg[0], sp.n_args > 1 ? sp.arg[1] : NULL, vocab)))
			break;
		ds->kind = DL_KIND_TOKENS;
		ds->vocab = vocab;
		ds->tokens[DL_TRAIN] = (struct dl_tokens){ .u16 = ds->shards.train, .n = ds->shards.n_train };
		ds->tokens[DL_VAL] = (struct dl_tokens){ .u16 = ds->shards.val, .n = ds->shards.n_val };
		break;
	case DL_SRC_IDX:
		ds->name = "idx";
		rc = dl_idx_open(&ds->idx, sp.arg[0], sp.arg[1], sp.n_args > 2 ? sp.arg[2] : NULL,
				 sp.n_args > 2 ? sp.arg[3] : NULL, img ? img->classes : 0, img ? img->H : 0, img ? img->W : 0);
		break;
	case DL_SRC_FASHION_MNIST:
		ds->name = "fashion-mnist";
		rc = dl_fashion_mnist_open(&ds->idx, sp.n_args ? sp.arg[0] : NULL);
		break;
	case DL_SRC_SYNTH_IMAGES:
		ds->name = "synthetic-images";
		rc = dl_synthetic_images(&ds->idx, sp.size ? (size_t)sp.size : DL_SYNTH_IMAGES, seed);
		break;
	}
	if (rc == KN_OK && (sp.source == DL_SRC_IDX || sp.source == DL_SRC_FASHION_MNIST ||
			    sp.source == DL_SRC_SYNTH_IMAGES))
		view_images(ds, &ds->idx);
	return rc;
}

void dl_dataset_release(struct dl_dataset *ds)
{
	dl_text_release(&ds->text);
	dl_shards_release(&ds->shards);
	dl_idx_release(&ds->idx);
	memset(ds->tokens, 0, sizeof ds->tokens);
	memset(ds->images, 0, sizeof ds->images);
}
