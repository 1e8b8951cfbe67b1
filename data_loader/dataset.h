/*
 * data_loader/dataset.h — what `--data` names, opened and validated.
 *
 * A spec is one of
 *   fortunes                         Debian's fortunes, byte-level text
 *   PATH | text:PATH                 byte-level text: a file or a directory
 *   shards:GLOB[,VAL_GLOB]           llm.c token shards
 *   fashion-mnist[:DIR]              Debian's dataset-fashion-mnist (train / t10k)
 *   idx:IMAGES,LABELS[,VAL_IMAGES,VAL_LABELS]   IDX image and label files
 *   synthetic-text[:BYTES]           text made from the seed (default 1 MiB)
 *   synthetic-images[:N]             1x28x28 images made from the seed (default 60000)
 * Files of every format may be gzip-compressed. A malformed spec is KN_EUSAGE;
 * bad data (missing file, bad magic, truncation, ...) is KN_EDATA naming the
 * path and byte offset.
 *
 * An open dataset is either a token stream (text bytes or shard tokens; the
 * loader cuts it into windows) or a set of labelled images, with a training
 * and a validation split. The data stays in memory, read-only, so loader
 * workers read it without locks.
 *
 * Lifecycle: dl_dataset_open() fills a caller-owned struct;
 * dl_dataset_release() frees what it holds.
 */
#ifndef DL_DATASET_H
#define DL_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "data_loader/idx.h"
#include "data_loader/shards.h"
#include "data_loader/text.h"

enum dl_kind { DL_KIND_TOKENS, DL_KIND_IMAGES };
enum dl_split { DL_TRAIN, DL_VAL };

enum dl_source { DL_SRC_TEXT, DL_SRC_FORTUNES, DL_SRC_SHARDS, DL_SRC_IDX, DL_SRC_FASHION_MNIST, DL_SRC_SYNTH_TEXT, DL_SRC_SYNTH_IMAGES };

/* A parsed spec: which source and its (up to four) arguments. */
struct dl_spec {
	enum dl_source source;
	char arg[4][512];
	int n_args;
	long size;          /* synthetic: bytes or images; 0 = default */
};

/* One split of a token stream: exactly one of u8 / u16 is set. */
struct dl_tokens {
	const uint8_t *u8;
	const uint16_t *u16;
	size_t n;
};

struct dl_dataset {
	char spec[512];
	const char *name;     /* the source's name: "text", "shards", "fashion-mnist", ... */
	enum dl_kind kind;
	int vocab;            /* tokens: every token is below it */
	/* images: */
	int C, H, W, classes;
	double mean, std;     /* normalisation: (pixel / 255 - mean) / std */
	struct dl_tokens tokens[2];              /* by enum dl_split */
	const struct dl_image_set *images[2];    /* by enum dl_split */
	/* storage; one of these is in use */
	struct dl_text text;
	struct dl_shards shards;
	struct dl_idx idx;
};

/* KN_EUSAGE with a message naming the spec when it is malformed. */
int dl_spec_parse(const char *spec, struct dl_spec *out);
/* vocab: the model's vocabulary (token shards are checked against it);
 * seed: for synthetic data. */
int dl_dataset_open(struct dl_dataset *ds, const char *spec, int vocab, uint64_t seed);

/* What a model takes from IDX images: labels below `classes`, images of H x W (0: any). */
struct dl_image_expect {
	int classes, H, W;
};
/* dl_dataset_open, with IDX files checked against `img` (NULL: anything) as they are read, so
 * that an error names the file and the byte offset. */
int dl_dataset_open_for(struct dl_dataset *ds, const char *spec, int vocab, uint64_t seed,
			const struct dl_image_expect *img);
void dl_dataset_release(struct dl_dataset *ds);

#endif
