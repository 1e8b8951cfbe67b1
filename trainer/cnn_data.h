/*
 * trainer/cnn_data.h — a minimal IDX image reader so `train --model cnn` runs
 * on Fashion-MNIST end to end.
 *
 * Stop-gap: to be replaced by the data loader's IDX dataset (multi-worker,
 * augmentation, synthetic images), which delivers the same struct dl_batch
 * images [B, C, H, W] and labels [B]. This reader loads a whole split into
 * memory (uint8 pixels) and normalises a batch on the calling thread.
 *
 * Data: "fashion-mnist" (Debian's dataset-fashion-mnist) or a directory
 * holding <split>-images-idx3-ubyte and <split>-labels-idx1-ubyte, each
 * optionally gzip-compressed (.gz); splits are "train" and "t10k".
 *
 * Lifecycle: tr_images_open() fills a caller-owned struct; tr_images_release()
 * frees what it holds.
 */
#ifndef TR_CNN_DATA_H
#define TR_CNN_DATA_H

#include <stddef.h>
#include <stdint.h>

#define TR_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
/* Fashion-MNIST training-set pixel mean and standard deviation (of x / 255) */
#define TR_FASHION_MNIST_MEAN 0.2860f
#define TR_FASHION_MNIST_STD 0.3530f

struct tr_images {
	char path[600];     /* the images file read */
	int n, C, H, W;     /* C is 1 for IDX */
	uint8_t *pixels;    /* [n, H, W], owned */
	uint8_t *labels;    /* [n], owned */
	int classes;        /* 1 + the largest label */
};

/* Returns KN_OK, KN_EDATA naming the file and byte offset of what is wrong,
 * or KN_ENOMEM. */
int tr_images_open(struct tr_images *d, const char *data, const char *split);
void tr_images_release(struct tr_images *d);
/* Normalised images [count, 1, H, W] and labels of the images at idx[0..count). */
void tr_images_batch(const struct tr_images *d, const uint32_t *idx, int count, float *images, int *labels);

#endif
