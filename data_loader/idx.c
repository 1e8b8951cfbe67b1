#include "data_loader/idx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_loader/file.h"
#include "kernels/error.h"

/* Checks the 4-byte magic and the dimension sizes that follow it. */
static int check_header(const struct dl_buf *b, const char *what, const char *path, uint32_t magic, int ndims,
			uint32_t *dims)
{
	const char *note = dl_offset_note(b);
	if (b->n < 4)
		return kn_error(KN_EDATA, "%s '%s' is truncated: it ends at byte offset %zu%s, inside the 4-byte magic",
				what, path, b->n, note);
	uint32_t got = dl_be32(b->p);
	if ((got & 0xffffff00u) != (magic & 0xffffff00u))
		return kn_error(KN_EDATA, "%s '%s' has bad magic 0x%08x at byte offset 0%s (expected 0x%08x, the IDX "
					  "format)",
				what, path, got, note, magic);
	if (b->p[3] != ndims)
		return kn_error(KN_EDATA, "%s '%s' has wrong dimensions: %d at byte offset 3%s, expected %d", what, path,
				b->p[3], note, ndims);
	size_t header = 4 + 4 * (size_t)ndims;
	if (b->n < header)
		return kn_error(KN_EDATA, "%s '%s' is truncated: it ends at byte offset %zu%s, inside the %zu-byte header",
				what, path, b->n, note, header);
	for (int i = 0; i < ndims; i++)
		dims[i] = dl_be32(b->p + 4 + 4 * i);
	return KN_OK;
}

static int check_length(const struct dl_buf *b, const char *what, const char *path, size_t header, size_t data,
			const char *items)
{
	const char *note = dl_offset_note(b);
	if (b->n < header + data)
		return kn_error(KN_EDATA, "%s '%s' is truncated: its header declares %s, %zu bytes from byte offset %zu, "
					  "but it ends at byte offset %zu%s",
				what, path, items, data, header, b->n, note);
	if (b->n > header + data)
		return kn_error(KN_EDATA, "%s '%s' has %zu bytes past its %s, from byte offset %zu%s", what, path,
				b->n - header - data, items, header + data, note);
	return KN_OK;
}

static int read_images(struct dl_image_set *set, int *H, int *W, const char *path)
{
	struct dl_buf b = { 0 };
	uint32_t dims[3] = { 0 };
	char items[96];
	const char *what = "IDX images";
	int rc = dl_read_file(&b, path, what);
	if (rc == KN_OK)
		rc = check_header(&b, what, path, DL_IDX_IMAGES_MAGIC, 3, dims);
	if (rc)
		goto out;
	if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0 || dims[1] > DL_IDX_MAX_SIDE || dims[2] > DL_IDX_MAX_SIDE) {
		rc = kn_error(KN_EDATA, "%s '%s' has wrong dimensions: %u images of %ux%u at byte offset 4%s (need at "
					"least one image, sides 1 to %d)",
			      what, path, dims[0], dims[1], dims[2], dl_offset_note(&b), DL_IDX_MAX_SIDE);
		goto out;
	}
	if ((*H && (uint32_t)*H != dims[1]) || (*W && (uint32_t)*W != dims[2])) {
		rc = kn_error(KN_EDATA, "%s '%s' has wrong dimensions: %ux%u images at byte offset 8%s, expected %dx%d",
			      what, path, dims[1], dims[2], dl_offset_note(&b), *H, *W);
		goto out;
	}
	size_t data = (size_t)dims[0] * dims[1] * dims[2];
	snprintf(items, sizeof items, "%u images of %ux%u", dims[0], dims[1], dims[2]);
	if ((rc = check_length(&b, what, path, 16, data, items)))
		goto out;
	if (!(set->pixels = malloc(data))) {
		rc = kn_error(KN_ENOMEM, "out of memory for %s '%s'", what, path);
		goto out;
	}
	memcpy(set->pixels, b.p + 16, data);
	set->n = dims[0];
	*H = (int)dims[1];
	*W = (int)dims[2];
out:
	dl_buf_release(&b);
	return rc;
}

/* classes: 0 = any byte; updates *max_label. */
static int read_labels(struct dl_image_set *set, const char *path, const char *images_path, int classes,
		       int *max_label)
{
	struct dl_buf b = { 0 };
	uint32_t count = 0;
	char items[64];
	const char *what = "IDX labels";
	int rc = dl_read_file(&b, path, what);
	if (rc == KN_OK)
		rc = check_header(&b, what, path, DL_IDX_LABELS_MAGIC, 1, &count);
	if (rc)
		goto out;
	if (count != set->n) {
		rc = kn_error(KN_EDATA, "%s '%s' holds %u labels (byte offset 4%s) but IDX images '%s' holds %zu images",
			      what, path, count, dl_offset_note(&b), images_path, set->n);
		goto out;
	}
	snprintf(items, sizeof items, "%u labels", count);
	if ((rc = check_length(&b, what, path, 8, count, items)))
		goto out;
	for (size_t i = 0; i < count; i++) {
		int v = b.p[8 + i];
		if (classes && v >= classes) {
			rc = kn_error(KN_EDATA, "%s '%s': label %d at byte offset %zu%s is not a class below %d", what, path,
				      v, 8 + i, dl_offset_note(&b), classes);
			goto out;
		}
		if (v > *max_label)
			*max_label = v;
	}
	if (!(set->labels = malloc(count ? count : 1))) {
		rc = kn_error(KN_ENOMEM, "out of memory for %s '%s'", what, path);
		goto out;
	}
	memcpy(set->labels, b.p + 8, count);
out:
	dl_buf_release(&b);
	return rc;
}

/* Moves every 10th image of the training set to validation. */
static int split_tenth(struct dl_idx *x)
{
	size_t n = x->train.n, px = (size_t)x->C * x->H * x->W, nv = n / 10;
	if (nv == 0)
		return kn_error(KN_EDATA, "IDX images '%s' holds %zu images: too few to give every 10th to validation",
				x->path, n);
	struct dl_image_set tr = { malloc((n - nv) * px), malloc(n - nv), n - nv };
	struct dl_image_set va = { malloc(nv * px), malloc(nv), nv };
	if (!tr.pixels || !tr.labels || !va.pixels || !va.labels) {
		free(tr.pixels), free(tr.labels), free(va.pixels), free(va.labels);
		return kn_error(KN_ENOMEM, "out of memory splitting '%s'", x->path);
	}
	for (size_t i = 0, t = 0, v = 0; i < n; i++) {
		struct dl_image_set *dst = i % 10 == 9 && v < nv ? &va : &tr;
		size_t j = dst == &va ? v++ : t++;
		memcpy(dst->pixels + j * px, x->train.pixels + i * px, px);
		dst->labels[j] = x->train.labels[i];
	}
	free(x->train.pixels);
	free(x->train.labels);
	x->train = tr;
	x->val = va;
	return KN_OK;
}

int dl_idx_open(struct dl_idx *x, const char *images, const char *labels, const char *val_images,
		const char *val_labels, int classes, int H, int W)
{
	int rc, max_label = 0, vh, vw;
	memset(x, 0, sizeof *x);
	snprintf(x->path, sizeof x->path, "%s", images);
	x->C = 1;
	if ((rc = read_images(&x->train, &H, &W, images)) ||
	    (rc = read_labels(&x->train, labels, images, classes, &max_label)))
		goto fail;
	x->H = H;
	x->W = W;
	if (val_images) {
		vh = H, vw = W;
		if ((rc = read_images(&x->val, &vh, &vw, val_images)) ||
		    (rc = read_labels(&x->val, val_labels, val_images, classes, &max_label)))
			goto fail;
	} else if ((rc = split_tenth(x))) {
		goto fail;
	}
	x->classes = classes ? classes : max_label + 1;
	dl_idx_pixel_stats(x);
	return KN_OK;
fail:
	dl_idx_release(x);
	return rc;
}

int dl_fashion_mnist_open(struct dl_idx *x, const char *dir)
{
	static const char *const names[4] = { "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
					      "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };
	char paths[4][600];
	int packaged = !dir || !strcmp(dir, DL_FASHION_MNIST_DIR);
	struct stat st;
	if (!dir)
		dir = DL_FASHION_MNIST_DIR;
	if (!packaged && stat(dir, &st) != 0)
		return kn_error(KN_EDATA, "image directory '%s' does not exist", dir);
	for (int i = 0; i < 4; i++) {
		/* Debian ships the .gz files; accept uncompressed copies too */
		snprintf(paths[i], sizeof paths[i], "%s/%s.gz", dir, names[i]);
		if (access(paths[i], F_OK) != 0) {
			snprintf(paths[i], sizeof paths[i], "%s/%s", dir, names[i]);
			if (access(paths[i], F_OK) != 0 && packaged)
				return kn_error(KN_EDATA, "fashion-mnist is missing: '%s/%s.gz' does not exist (install "
							  "Debian's 'dataset-fashion-mnist' package, or run 'make deps')",
						dir, names[i]);
			if (access(paths[i], F_OK) != 0)
				return kn_error(KN_EDATA, "image directory '%s' has no '%s.gz' nor '%s' (it needs the four IDX "
							  "files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
							  "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each plain or .gz)",
						dir, names[i], names[i]);
		}
	}
	return dl_idx_open(x, paths[0], paths[1], paths[2], paths[3], 10, 28, 28);
}

void dl_idx_pixel_stats(struct dl_idx *x)
{
	size_t hist[256] = { 0 }, n = x->train.n * (size_t)x->C * x->H * x->W;
	for (size_t i = 0; i < n; i++)
		hist[x->train.pixels[i]]++;
	double s = 0, ss = 0;
	for (int v = 0; v < 256; v++) {
		s += (double)hist[v] * (v / 255.0);
		ss += (double)hist[v] * (v / 255.0) * (v / 255.0);
	}
	x->mean = n ? s / (double)n : 0;
	double var = n ? ss / (double)n - x->mean * x->mean : 0;
	x->std = var > 1e-12 ? sqrt(var) : 1.0;
}

void dl_idx_release(struct dl_idx *x)
{
	free(x->train.pixels);
	free(x->train.labels);
	free(x->val.pixels);
	free(x->val.labels);
	memset(&x->train, 0, sizeof x->train);
	memset(&x->val, 0, sizeof x->val);
}
