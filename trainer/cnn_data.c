#include "trainer/cnn_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "kernels/error.h"

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u

/* gzopen reads plain files too; prefer the .gz name where both could exist */
static gzFile open_idx(const char *dir, const char *split, const char *kind, char *path, size_t n)
{
	snprintf(path, n, "%s/%s-%s.gz", dir, split, kind);
	gzFile f = gzopen(path, "rb");
	if (f)
		return f;
	snprintf(path, n, "%s/%s-%s", dir, split, kind);
	return gzopen(path, "rb");
}

static int read_exact(gzFile f, const char *path, void *buf, size_t bytes, size_t offset)
{
	uint8_t *p = buf;
	while (bytes) {
		unsigned chunk = bytes > (1u << 30) ? (1u << 30) : (unsigned)bytes;
		int got = gzread(f, p, chunk);
		if (got <= 0) {
			int zerr;
			const char *msg = gzerror(f, &zerr);
			return kn_error(KN_EDATA, "idx file '%s': %s at byte offset %zu", path,
					zerr != Z_OK && zerr != Z_BUF_ERROR ? msg : "truncated", offset);
		}
		p += got;
		offset += (size_t)got;
		bytes -= (size_t)got;
	}
	return KN_OK;
}

/* Reads the header (magic, dims) and the payload of one IDX file. */
static int read_idx(const char *dir, const char *split, const char *kind, uint32_t magic, int ndims, uint32_t *dims,
		    uint8_t **data, char *path, size_t pathlen)
{
	gzFile f = open_idx(dir, split, kind, path, pathlen);
	uint8_t hdr[16];
	int rc;
	*data = NULL;
	if (!f)
		return kn_error(KN_EDATA, "idx data: cannot open '%s' (or '%s.gz')", path, path);
	if ((rc = read_exact(f, path, hdr, 4 + 4 * (size_t)ndims, 0)))
		goto out;
	uint32_t got = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (got != magic) {
		rc = kn_error(KN_EDATA, "idx file '%s': magic 0x%08x at byte offset 0, expected 0x%08x (unsigned bytes, %d dims)",
			      path, got, magic, ndims);
		goto out;
	}
	size_t total = 1;
	for (int i = 0; i < ndims; i++) {
		const uint8_t *b = hdr + 4 + 4 * i;
		dims[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		if (dims[i] == 0 || dims[i] > (1u << 24)) {
			rc = kn_error(KN_EDATA, "idx file '%s': dimension %d is %u at byte offset %d", path, i, dims[i],
				      4 + 4 * i);
			goto out;
		}
		total *= dims[i];
	}
	if (total > ((size_t)1 << 34)) {
		rc = kn_error(KN_EDATA, "idx file '%s': %zu bytes of data is more than this reader holds", path, total);
		goto out;
	}
	*data = malloc(total);
	if (!*data) {
		rc = kn_error(KN_ENOMEM, "out of memory reading idx file '%s' (%zu bytes)", path, total);
		goto out;
	}
	rc = read_exact(f, path, *data, total, 4 + 4 * (size_t)ndims);
out:
	gzclose(f);
	if (rc) {
		free(*data);
		*data = NULL;
	}
	return rc;
}

int tr_images_open(struct tr_images *d, const char *data, const char *split)
{
	const char *dir = strcmp(data, "fashion-mnist") == 0 ? TR_FASHION_MNIST_DIR : data;
	char lpath[600];
	uint32_t idims[3] = { 0 }, ldims[1] = { 0 };
	int rc;
	memset(d, 0, sizeof *d);
	if ((rc = read_idx(dir, split, "images-idx3-ubyte", IDX_IMAGES_MAGIC, 3, idims, &d->pixels, d->path,
			   sizeof d->path)) ||
	    (rc = read_idx(dir, split, "labels-idx1-ubyte", IDX_LABELS_MAGIC, 1, ldims, &d->labels, lpath, sizeof lpath)))
		goto fail;
	if (ldims[0] != idims[0]) {
		rc = kn_error(KN_EDATA, "idx data: '%s' holds %u labels for the %u images of '%s'", lpath, ldims[0],
			      idims[0], d->path);
		goto fail;
	}
	d->n = (int)idims[0];
	d->C = 1;
	d->H = (int)idims[1];
	d->W = (int)idims[2];
	for (int i = 0; i < d->n; i++) {
		if (d->labels[i] > 99) {
			rc = kn_error(KN_EDATA, "idx file '%s': label %u at byte offset %d is not a class index", lpath,
				      d->labels[i], 8 + i);
			goto fail;
		}
		if (d->labels[i] + 1 > d->classes)
			d->classes = d->labels[i] + 1;
	}
	return KN_OK;
fail:
	tr_images_release(d);
	return rc;
}

void tr_images_release(struct tr_images *d)
{
	free(d->pixels);
	free(d->labels);
	d->pixels = d->labels = NULL;
}

void tr_images_batch(const struct tr_images *d, const uint32_t *idx, int count, float *images, int *labels)
{
	size_t hw = (size_t)d->H * d->W;
	const float scale = 1.0f / (255.0f * TR_FASHION_MNIST_STD), shift = TR_FASHION_MNIST_MEAN / TR_FASHION_MNIST_STD;
	for (int i = 0; i < count; i++) {
		const uint8_t *src = d->pixels + (size_t)idx[i] * hw;
		float *dst = images + (size_t)i * hw;
		for (size_t p = 0; p < hw; p++)
			dst[p] = src[p] * scale - shift;
		labels[i] = d->labels[idx[i]];
	}
}
