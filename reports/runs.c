#include "reports/runs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "kernels/error.h"

struct rp_run rp_record_run(const struct rp_record *r)
{
	const cJSON *repeat = cJSON_GetObjectItemCaseSensitive(r->extra, "repeat");
	/* rp_record_parse() has checked it: a whole number >= 1 */
	return (struct rp_run){ r->id, cJSON_IsNumber(repeat) ? (int)repeat->valuedouble : 0 };
}

static size_t run_hash(const char *id, int repeat)
{
	uint64_t h = rp_fnv1a(RP_FNV1A_BASIS ^ (uint64_t)repeat, id, strlen(id));
	return (size_t)(h ^ (h >> 29));
}

/* The slot holding (id, repeat), or the empty slot where it would go. */
static int *slot_of(const struct rp_run_index *ix, const void *ctx, const char *id, int repeat)
{
	size_t mask = (size_t)ix->nslots - 1;
	for (size_t s = run_hash(id, repeat) & mask;; s = (s + 1) & mask) {
		int i = ix->slots[s];
		if (i < 0)
			return &ix->slots[s];
		struct rp_run k = ix->key(ctx, i);
		if (k.repeat == repeat && strcmp(k.id, id) == 0)
			return &ix->slots[s];
	}
}

int rp_run_find(const struct rp_run_index *ix, const void *ctx, const char *id, int repeat)
{
	return ix->nslots && repeat > 0 ? *slot_of(ix, ctx, id, repeat) : -1;
}

/* Items 0..i-1 into a table twice the size; the first of each run keeps its slot. */
static int grow(struct rp_run_index *ix, const void *ctx, int i)
{
	int nslots = ix->nslots ? 2 * ix->nslots : 256;
	int *slots = malloc((size_t)nslots * sizeof *slots);
	if (!slots)
		return kn_error(KN_ERR, "out of memory indexing results");
	for (int k = 0; k < nslots; k++)
		slots[k] = -1;
	free(ix->slots);
	ix->slots = slots;
	ix->nslots = nslots;
	for (int k = 0; k < i; k++) {
		struct rp_run run = ix->key(ctx, k);
		int *s = run.repeat > 0 ? slot_of(ix, ctx, run.id, run.repeat) : NULL;
		if (s && *s < 0)
			*s = k;
	}
	return KN_OK;
}

int rp_run_add(struct rp_run_index *ix, const void *ctx, int i)
{
	struct rp_run run = ix->key(ctx, i);
	if (run.repeat <= 0)
		return i;
	if (2 * (ix->n + 1) > ix->nslots && grow(ix, ctx, i))
		return -1;
	int *s = slot_of(ix, ctx, run.id, run.repeat);
	if (*s < 0) {
		*s = i;
		ix->n++;
	}
	return *s;
}

void rp_run_index_release(struct rp_run_index *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->nslots = ix->n = 0;
}

int rp_run_twice(struct rp_run run, const char *a, size_t alen, const char *at_a, const char *b, size_t blen,
		 const char *at_b, const char *hint)
{
	if (alen == blen && memcmp(a, b, alen) == 0)
		return KN_OK;
	return kn_error(KN_EDATA, "conflicting records of point '%s' repeat %d: %s and %s differ%s", run.id, run.repeat,
			at_a, at_b, hint);
}
