/*
 * data_loader/idx.h — labelled images in the IDX format of MNIST and
 * Fashion-MNIST, plain or gzip-compressed.
 *
 * Images: magic 0x00000803 (unsigned bytes, 3 dimensions), big-endian count,
 * rows, columns, then count*rows*columns pixels. Labels: magic 0x00000801,
 * count, then count bytes. Both files are validated whole on open: magic,
 * element type, number of dimensions, sizes, exact length, matching counts and
 * label range; an error names the file and the byte offset (of the
 * decompressed data for .gz files).
 *
 * "fashion-mnist" is Debian's dataset-fashion-mnist: the train-* files are the
 * training split and t10k-* the validation split, 28x28, 10 classes. Any other
 * pair without validation files gives every 10th image to validation.
 *
 * Lifecycle: dl_idx_open() and dl_fashion_mnist_open() fill a caller-owned
 * struct; dl_idx_release() frees what it holds.
 */
#ifndef DL_IDX_H
#define DL_IDX_H

#include <stddef.h>
#include <stdint.h>

#define DL_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#define DL_IDX_IMAGES_MAGIC 0x00000803u
#define DL_IDX_LABELS_MAGIC 0x00000801u
#define DL_IDX_MAX_SIDE 4096

struct dl_image_set {
	uint8_t *pixels;   /* [n, C, H, W], owned */
	uint8_t *labels;   /* [n], owned */
	size_t n;
};

struct dl_idx {
	char path[512];    /* the training images file */
	int C, H, W;
	int classes;       /* labels are in [0, classes) */
	double mean, std;  /* of the training pixels scaled to [0, 1] */
	struct dl_image_set train, val;
};

/* val_images and val_labels may both be NULL. classes = 0 takes the largest
 * label + 1; H, W = 0 accept any size. */
int dl_idx_open(struct dl_idx *x, const char *images, const char *labels, const char *val_images,
		const char *val_labels, int classes, int H, int W);
/* dir = NULL reads DL_FASHION_MNIST_DIR. */
int dl_fashion_mnist_open(struct dl_idx *x, const char *dir);
/* Sets mean and std from the training pixels (std 1 for constant images). */
void dl_idx_pixel_stats(struct dl_idx *x);
void dl_idx_release(struct dl_idx *x);

#endif
