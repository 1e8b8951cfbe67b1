#include "data_loader/loader.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data_loader/rng.h"
#include "kernels/backend.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int dl_loader_init(struct dl_loader *l, struct kn_backend *be, const struct dl_text *text, enum dl_split split,
		   int B, int T, uint64_t seed, int shuffle)
{
	memset(l, 0, sizeof *l);
	l->bytes = split == DL_TRAIN ? text->train : text->val;
	l->n_bytes = split == DL_TRAIN ? text->n_train : text->n_val;
	l->B = B;
	l->T = T;
	l->seed = seed;
	l->shuffle = shuffle;
	l->be = be;
	l->perm_epoch = -1;
	l->windows = l->n_bytes > 1 ? (l->n_bytes - 1) / (size_t)T : 0;
	l->steps_per_epoch = (long)(l->windows / (size_t)B);
	if (l->steps_per_epoch < 1)
		return kn_error(KN_EDATA, "text data '%s': the %s split has %zu bytes, %zu windows of %d+1 bytes; "
					  "one batch of %d needs %zu bytes (use a smaller --batch or --seq, or more text)",
				text->path, split == DL_TRAIN ? "training" : "validation", l->n_bytes, l->windows, T,
				B, (size_t)B * T + 1);
	if (l->windows > UINT32_MAX)
		return kn_error(KN_EDATA, "text data '%s' has more than 2^32 windows", text->path);
	l->perm = malloc(l->windows * sizeof *l->perm);
	if (!l->perm)
		return kn_error(KN_ENOMEM, "out of memory for the sampler of '%s'", text->path);
	int rc = kn_host_alloc(be, (void **)&l->host, 2 * (size_t)B * T * sizeof(int));
	if (rc) {
		free(l->perm);
		l->perm = NULL;
	}
	return rc;
}

static void make_perm(struct dl_loader *l, long epoch)
{
	for (size_t i = 0; i < l->windows; i++)
		l->perm[i] = (uint32_t)i;
	if (l->shuffle) {
		struct dl_rng r;
		dl_rng_init(&r, dl_hash64(l->seed, 0x5ca1ab1e, (uint64_t)epoch));
		for (size_t i = l->windows - 1; i > 0; i--) {
			size_t j = dl_rng_below(&r, i + 1);
			uint32_t tmp = l->perm[i];
			l->perm[i] = l->perm[j];
			l->perm[j] = tmp;
		}
	}
	l->perm_epoch = epoch;
}

int dl_loader_next(struct dl_loader *l, struct dl_batch *b)
{
	double t0 = now_ms();
	long step = l->next_step++;
	long epoch = step / l->steps_per_epoch, k = step % l->steps_per_epoch;
	int B = l->B, T = l->T;
	if (epoch != l->perm_epoch)
		make_perm(l, epoch);
	b->inputs = l->host;
	b->targets = l->host + (size_t)B * T;
	b->B = B;
	b->T = T;
	b->step = step;
	b->epoch = epoch;
	size_t max_start = l->n_bytes - (size_t)T - 1;
	for (int r = 0; r < B; r++) {
		size_t w = l->perm[(size_t)k * B + r];
		size_t start = w * (size_t)T;
		if (l->shuffle)
			start += dl_hash64(l->seed, (uint64_t)epoch, w) % (uint64_t)T;
		if (start > max_start)
			start = max_start;
		const uint8_t *src = l->bytes + start;
		for (int t = 0; t < T; t++) {
			b->inputs[r * T + t] = src[t];
			b->targets[r * T + t] = src[t + 1];
		}
	}
	l->stats.batches++;
	l->stats.wait_ms_total += now_ms() - t0;
	return KN_OK;
}

void dl_loader_release(struct dl_loader *l)
{
	free(l->perm);
	l->perm = NULL;
	if (l->host)
		kn_host_free(l->be, l->host);
	l->host = NULL;
}
