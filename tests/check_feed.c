/*
 * The training loop's double-buffered feed (tr_feed_step): step k computes on
 * the slot that holds batch k, batch k+1 is staged into the other slot during
 * step k, the copy of batch k is waited for (copy_done) before the loader is
 * asked for batch k+1 (which gives batch k's host slot back), the last step
 * too takes its next batch (so that its time includes the wait, as every
 * other step's does), and a loader error comes back from the step that
 * needed the batch. The backend's copy hooks are replaced by recorders, as a
 * CUDA backend's copy stream would see the calls.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "data_loader/dataset.h"
#include "data_loader/loader.h"
#include "kernels/backend.h"
#include "testutil.h"
#include "trainer/train.h"

#define MAXLOG 256
static char events[MAXLOG][32];
static int nevents;
static long staged_batch[2] = { -1, -1 };

static void note(const char *fmt, long a, long b)
{
	ck_assert_int_lt(nevents, MAXLOG);
	snprintf(events[nevents++], sizeof events[0], fmt, a, b);
}

static int rec_copy_done(struct kn_backend *be, int slot)
{
	(void)be;
	note("done %ld", slot, 0);
	return KN_OK;
}

static int stage(void *model, int slot, const struct dl_batch *b)
{
	(void)model;
	staged_batch[slot] = b->step;
	note("stage %ld slot %ld", b->step, slot);
	return KN_OK;
}

static int find(const char *e)
{
	for (int i = 0; i < nevents; i++)
		if (strcmp(events[i], e) == 0)
			return i;
	return -1;
}

START_TEST(test_feed_order)
{
	struct kn_backend be;
	struct dl_dataset ds;
	struct dl_loader ld;
	struct dl_options o;
	ck_assert_int_eq(kn_backend_open(&be, "cpu", KN_FP32, 0), KN_OK);
	struct kn_backend_vt vt = *be.vt;
	vt.copy_done = rec_copy_done;
	be.vt = &vt;
	ck_assert_int_eq(dl_dataset_open(&ds, "synthetic-text:4000", 256, 5), KN_OK);
	dl_options_defaults(&o);
	o.workers = 2;
	ck_assert_int_eq(dl_loader_init(&ld, &be, &ds, DL_TRAIN, 4, 8, 1, &o), KN_OK);
	struct tr_feed f = { &be, &ld, stage, NULL };
	nevents = 0;
	const long steps = 5;
	for (long k = 0; k < steps; k++) {
		double wait = -1;
		int slot = -1;
		ck_assert_int_eq(tr_feed_step(&f, k, &wait, &slot), KN_OK);
		ck_assert_int_eq(slot, (int)(k % 2));
		ck_assert_int_eq(staged_batch[slot], k); /* the slot computed on holds batch k */
		ck_assert(wait >= 0);
		ck_assert_int_eq(staged_batch[!slot], k + 1); /* and the next batch is on its way, after the last too */
	}
	/* batch k+1 is staged only after batch k's copy is done */
	for (long k = 0; k < steps; k++) {
		char done[32], next[32];
		snprintf(done, sizeof done, "done %ld", k % 2);
		snprintf(next, sizeof next, "stage %ld slot %ld", k + 1, (k + 1) % 2);
		int d = -1, n = find(next);
		for (int i = 0; i < n; i++)
			if (strcmp(events[i], done) == 0)
				d = i;
		ck_assert_msg(n > 0 && d >= 0 && d < n, "batch %ld staged before batch %ld's copy was done", k + 1, k);
	}
	char past[32];
	snprintf(past, sizeof past, "stage %ld slot %ld", steps + 1, (steps + 1) % 2);
	ck_assert_int_eq(find(past), -1); /* but no further */
	ck_assert_int_eq(nevents, (int)(steps + 1 + steps));
	ck_assert_int_eq(ld.next_step, steps + 1);
	ck_assert_int_eq(tr_loader_warmup(0), 0);
	ck_assert_int_eq(tr_loader_warmup(3), 4);
	dl_loader_release(&ld);
	dl_dataset_release(&ds);
	kn_backend_release(&be);
}
END_TEST

static int failing_stage(void *model, int slot, const struct dl_batch *b)
{
	(void)model, (void)slot;
	return b->step == 2 ? kn_error(KN_EDATA, "bad batch %ld", b->step) : KN_OK;
}

START_TEST(test_feed_errors_reach_the_step)
{
	struct kn_backend be;
	struct dl_dataset ds;
	struct dl_loader ld;
	struct dl_options o;
	ck_assert_int_eq(kn_backend_open(&be, "cpu", KN_FP32, 0), KN_OK);
	ck_assert_int_eq(dl_dataset_open(&ds, "synthetic-text:4000", 256, 5), KN_OK);
	dl_options_defaults(&o);
	o.workers = 0;
	ck_assert_int_eq(dl_loader_init(&ld, &be, &ds, DL_TRAIN, 4, 8, 1, &o), KN_OK);
	struct tr_feed f = { &be, &ld, failing_stage, NULL };
	double wait;
	int slot;
	ck_assert_int_eq(tr_feed_step(&f, 0, &wait, &slot), KN_OK);
	/* batch 2 is staged during step 1, so step 1 reports it */
	ck_assert_int_eq(tr_feed_step(&f, 1, &wait, &slot), KN_EDATA);
	ck_assert_str_eq(kn_last_error(), "bad batch 2");
	dl_loader_release(&ld);
	dl_dataset_release(&ds);
	kn_backend_release(&be);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("feed");
	TCase *tc = tcase_create("feed");
	tcase_add_test(tc, test_feed_order);
	tcase_add_test(tc, test_feed_errors_reach_the_step);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return tu_run_suite(suite()); }
