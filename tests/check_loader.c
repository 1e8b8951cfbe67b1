/* The loader: sampler coverage and remainder policy, bitwise determinism for
 * any workers x prefetch, transforms, errors and shutdown without hangs or
 * leaked threads, and statistics that diagnose starvation. */
#include <check.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data_loader/loader.h"
#include "data_loader/transform.h"
#include "kernels/backend.h"
#include "loader_fixtures.h"
#include "testutil.h"

static struct kn_backend be;
static struct dl_dataset images, text;

static void setup(void)
{
	ck_assert_int_eq(kn_backend_open(&be, "cpu", KN_FP32, 0), KN_OK);
	/* 103 images and 7-row batches: 103 = 14 * 7 + 5 leaves a remainder */
	ck_assert_int_eq(dl_dataset_open(&images, "synthetic-images:103", 256, 5), KN_OK);
	ck_assert_int_eq(dl_dataset_open(&text, "synthetic-text:4000", 256, 5), KN_OK);
}

static void teardown(void)
{
	dl_dataset_release(&images);
	dl_dataset_release(&text);
	kn_backend_release(&be);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1e3), (long)(fmod(ms, 1e3) * 1e6) };
	nanosleep(&ts, NULL);
}

static struct dl_options opts(int workers, int prefetch)
{
	struct dl_options o;
	dl_options_defaults(&o);
	o.workers = workers;
	o.prefetch = prefetch;
	return o;
}

/* --- sampler ------------------------------------------------------------- */

START_TEST(test_permutation_is_bijection)
{
	static const uint64_t sizes[] = { 1, 2, 3, 5, 16, 17, 100, 255, 256, 257, 1000, 4099, 60000 };
	for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
		uint64_t n = sizes[z];
		struct dl_sampler s;
		ck_assert_int_eq(dl_sampler_init(&s, n, 1, 42, 1, 0), KN_OK);
		unsigned char *seen = calloc(n, 1);
		long fixed = 0;
		for (long e = 0; e < 3; e++) {
			memset(seen, 0, n);
			for (uint64_t i = 0; i < n; i++) {
				uint64_t j = dl_sampler_perm(&s, e, i);
				ck_assert_msg(j < n && !seen[j], "n=%llu epoch %ld: %llu repeats", (unsigned long long)n, e,
					      (unsigned long long)j);
				seen[j] = 1;
				fixed += j == i;
			}
		}
		if (n >= 100) /* a shuffle, not the identity: few fixed points (about 1 per epoch expected) */
			ck_assert_int_lt(fixed, 12);
		free(seen);
	}
	struct dl_sampler s;
	ck_assert_int_eq(dl_sampler_init(&s, 100, 1, 42, 0, 0), KN_OK);
	for (uint64_t i = 0; i < 100; i++)
		ck_assert_uint_eq(dl_sampler_perm(&s, 3, i), i);
	ck_assert_int_eq(dl_sampler_init(&s, 6, 7, 42, 1, 0), KN_EDATA);
	/* epochs and seeds give different orders */
	struct dl_sampler t;
	dl_sampler_init(&s, 1000, 1, 42, 1, 0);
	dl_sampler_init(&t, 1000, 1, 43, 1, 0);
	int same_epoch = 0, same_seed = 0;
	for (uint64_t i = 0; i < 1000; i++) {
		same_epoch += dl_sampler_perm(&s, 0, i) == dl_sampler_perm(&s, 1, i);
		same_seed += dl_sampler_perm(&s, 0, i) == dl_sampler_perm(&t, 0, i);
	}
	ck_assert_int_lt(same_epoch, 10);
	ck_assert_int_lt(same_seed, 10);
}
END_TEST

/* Remainder policies: wrap covers every sample exactly once per N stream
 * positions; drop-last uses floor(N/B) batches and skips N mod B per epoch. */
START_TEST(test_epoch_coverage_and_remainder)
{
	const uint64_t N = 103;
	const int B = 7;
	struct dl_sampler s;
	int count[103];
	ck_assert_int_eq(dl_sampler_init(&s, N, B, 9, 1, 0), KN_OK);
	ck_assert_int_eq(s.steps_per_epoch, 15); /* ceil(103 / 7) */
	/* 3 epochs = 309 stream positions = 44 batches + 1 row */
	for (long e = 0; e < 3; e++) {
		memset(count, 0, sizeof count);
		for (uint64_t p = e * N; p < (e + 1) * N; p++) {
			long epoch;
			uint64_t sample;
			dl_sampler_locate(&s, (long)(p / B), (int)(p % B), &epoch, &sample);
			ck_assert_int_eq(epoch, e);
			count[sample]++;
		}
		for (uint64_t i = 0; i < N; i++)
			ck_assert_msg(count[i] == 1, "wrap: epoch %ld has sample %llu %d times", e, (unsigned long long)i,
				      count[i]);
	}
	/* batch 14 spans epochs 0 and 1: rows 0-4 end epoch 0, rows 5-6 start epoch 1 */
	long epoch;
	uint64_t sample;
	dl_sampler_locate(&s, 14, 4, &epoch, &sample);
	ck_assert_int_eq(epoch, 0);
	dl_sampler_locate(&s, 14, 5, &epoch, &sample);
	ck_assert_int_eq(epoch, 1);
	ck_assert_uint_eq(sample, dl_sampler_perm(&s, 1, 0));
	ck_assert_int_eq(dl_sampler_epoch(&s, 14), 0);
	ck_assert_int_eq(dl_sampler_epoch(&s, 15), 1);

	ck_assert_int_eq(dl_sampler_init(&s, N, B, 9, 1, 1), KN_OK);
	ck_assert_int_eq(s.steps_per_epoch, 14);
	int dropped_differ = 0;
	uint64_t prev_dropped = UINT64_MAX;
	for (long e = 0; e < 3; e++) {
		memset(count, 0, sizeof count);
		for (long k = e * 14; k < (e + 1) * 14; k++) {
			for (int r = 0; r < B; r++) {
				dl_sampler_locate(&s, k, r, &epoch, &sample);
				ck_assert_int_eq(epoch, e);
				count[sample]++;
			}
		}
		int missing = 0;
		uint64_t first_missing = 0;
		for (uint64_t i = 0; i < N; i++) {
			ck_assert_int_le(count[i], 1);
			if (!count[i] && !missing++)
				first_missing = i;
		}
		ck_assert_int_eq(missing, 5); /* 103 mod 7 */
		/* exactly the last 5 positions of the epoch's permutation */
		for (uint64_t p = 98; p < N; p++)
			ck_assert_int_eq(count[dl_sampler_perm(&s, e, p)], 0);
		dropped_differ += e > 0 && first_missing != prev_dropped;
		prev_dropped = first_missing;
	}
	ck_assert_int_gt(dropped_differ, 0);
}
END_TEST

/* --- the loader ------------------------------------------------------------ */

#define DET_STEPS 32 /* more than two epochs of 15 */

/* Copies DET_STEPS batches into out (bytes per batch = `per`). */
static void collect(const struct dl_dataset *ds, int B, int T, struct dl_options o, unsigned char *out, size_t per)
{
	struct dl_loader l;
	struct dl_batch b;
	ck_assert_int_eq(dl_loader_init(&l, &be, ds, DL_TRAIN, B, T, 77, &o), KN_OK);
	for (long k = 0; k < DET_STEPS; k++) {
		ck_assert_int_eq(dl_loader_next(&l, &b), KN_OK);
		ck_assert_int_eq(b.step, k);
		ck_assert_int_eq(b.B, B);
		unsigned char *p = out + (size_t)k * per;
		memcpy(p, b.samples, B * sizeof *b.samples);
		p += B * sizeof *b.samples;
		if (ds->kind == DL_KIND_IMAGES) {
			ck_assert_int_eq(b.C * b.H * b.W, 784);
			memcpy(p, b.images, (size_t)B * 784 * sizeof(float));
			memcpy(p + (size_t)B * 784 * sizeof(float), b.labels, B * sizeof(int));
		} else {
			memcpy(p, b.inputs, (size_t)B * T * sizeof(int));
			memcpy(p + (size_t)B * T * sizeof(int), b.targets, (size_t)B * T * sizeof(int));
		}
	}
	dl_loader_release(&l);
}

static void check_determinism(const struct dl_dataset *ds, int B, int T, int drop_last)
{
	size_t per = B * sizeof(uint64_t) + (ds->kind == DL_KIND_IMAGES ? (size_t)B * (784 * sizeof(float) + sizeof(int))
									 : 2 * (size_t)B * T * sizeof(int));
	unsigned char *ref = malloc(per * DET_STEPS), *got = malloc(per * DET_STEPS);
	struct dl_options o = opts(0, 1);
	o.drop_last = drop_last;
	collect(ds, B, T, o, ref, per);
	static const int workers[] = { 0, 1, 2, 4 }, prefetch[] = { 1, 4 };
	for (int w = 0; w < 4; w++) {
		for (int p = 0; p < 2; p++) {
			o = opts(workers[w], prefetch[p]);
			o.drop_last = drop_last;
			collect(ds, B, T, o, got, per);
			for (long k = 0; k < DET_STEPS; k++)
				ck_assert_msg(memcmp(ref + k * per, got + k * per, per) == 0,
					      "%s: batch %ld differs with workers %d prefetch %d",
					      ds->kind == DL_KIND_IMAGES ? "images" : "text", k, workers[w], prefetch[p]);
		}
	}
	free(ref);
	free(got);
}

START_TEST(test_determinism_images) { check_determinism(&images, 7, 0, 0); }
END_TEST

START_TEST(test_determinism_text) { check_determinism(&text, 5, 16, 1); }
END_TEST

/* Every training image of an epoch, through the real loader with workers. */
START_TEST(test_loader_epoch_exactly_once)
{
	struct dl_options o = opts(3, 2);
	struct dl_loader l;
	struct dl_batch b;
	ck_assert_int_eq(dl_loader_init(&l, &be, &images, DL_TRAIN, 7, 0, 1, &o), KN_OK);
	ck_assert_int_eq(l.steps_per_epoch, 15);
	int count[103] = { 0 };
	for (long k = 0; k < 15; k++) {
		ck_assert_int_eq(dl_loader_next(&l, &b), KN_OK);
		ck_assert_int_eq(b.epoch, 0);
		for (int r = 0; r < 7; r++)
			if (k * 7 + r < 103)
				count[b.samples[r]]++;
	}
	for (int i = 0; i < 103; i++)
		ck_assert_int_eq(count[i], 1);
	dl_loader_release(&l);
}
END_TEST

/* Rows hold the transformed sample they say they hold. */
START_TEST(test_rows_match_samples)
{
	struct dl_options o = opts(2, 2);
	o.augment = 0;
	struct dl_loader l;
	struct dl_batch b;
	const struct dl_image_set *set = images.images[DL_TRAIN];
	ck_assert_int_eq(dl_loader_init(&l, &be, &images, DL_TRAIN, 7, 0, 1, &o), KN_OK);
	for (int k = 0; k < 3; k++) {
		ck_assert_int_eq(dl_loader_next(&l, &b), KN_OK);
		for (int r = 0; r < 7; r++) {
			uint64_t s = b.samples[r];
			ck_assert_int_eq(b.labels[r], set->labels[s]);
			for (int p = 0; p < 784; p += 37) {
				double want = (set->pixels[s * 784 + p] / 255.0 - images.mean) / images.std;
				ck_assert_double_eq_tol(b.images[r * 784 + p], want, 1e-5);
			}
		}
	}
	dl_loader_release(&l);

	/* text: targets are inputs shifted by one, a window of seq+1 of the stream */
	o.augment = 1;
	const struct dl_tokens *tk = &text.tokens[DL_TRAIN];
	ck_assert_int_eq(dl_loader_init(&l, &be, &text, DL_TRAIN, 4, 16, 1, &o), KN_OK);
	ck_assert_int_eq(dl_loader_next(&l, &b), KN_OK);
	for (int r = 0; r < 4; r++) {
		const int *in = b.inputs + r * 16, *tg = b.targets + r * 16;
		for (int t = 0; t + 1 < 16; t++)
			ck_assert_int_eq(tg[t], in[t + 1]);
		size_t start = b.samples[r] * 16, found = 0;
		for (size_t s = start; s < start + 16 && s + 17 <= tk->n && !found; s++) {
			int same = 1;
			for (int t = 0; t < 16 && same; t++)
				same = in[t] == tk->u8[s + t] && tg[t] == tk->u8[s + t + 1];
			found = same ? s + 1 : 0;
		}
		ck_assert_msg(found, "row %d is not a window starting in [%zu, %zu)", r, start, start + 16);
	}
	dl_loader_release(&l);
}
END_TEST

/* Augmentation is a crop of the image padded by 2 and maybe a flip; all 50
 * variants occur, and flips about half the time. */
START_TEST(test_augmentation)
{
	const struct dl_image_set *set = images.images[DL_TRAIN];
	float out[784];
	int label, hits[5][5][2] = { { { 0 } } };
	for (uint64_t s = 0; s < 100; s++) {
		for (long e = 0; e < 10; e++) {
			dl_image_row(&images, set, s, 1, 3, e, out, &label);
			int matched = 0;
			for (int dy = 0; dy < 5 && !matched; dy++)
				for (int dx = 0; dx < 5 && !matched; dx++)
					for (int f = 0; f < 2 && !matched; f++) {
						int ok = 1;
						for (int y = 0; y < 28 && ok; y++)
							for (int x = 0; x < 28 && ok; x++) {
								int sy = y + dy - 2, sx = (f ? 27 - x : x) + dx - 2;
								int v = sy >= 0 && sy < 28 && sx >= 0 && sx < 28
										? set->pixels[s * 784 + sy * 28 + sx] : 0;
								double want = (v / 255.0 - images.mean) / images.std;
								ok = fabs(out[y * 28 + x] - want) < 1e-5;
							}
						if (ok) {
							hits[dy][dx][f]++;
							matched = 1;
						}
					}
			ck_assert_msg(matched, "sample %llu epoch %ld is no padded crop or flip", (unsigned long long)s, e);
		}
	}
	int flips = 0;
	for (int dy = 0; dy < 5; dy++)
		for (int dx = 0; dx < 5; dx++) {
			ck_assert_int_gt(hits[dy][dx][0] + hits[dy][dx][1], 0);
			flips += hits[dy][dx][1];
		}
	ck_assert_int_gt(flips, 400);
	ck_assert_int_lt(flips, 600);
}
END_TEST

/* --- errors and shutdown ------------------------------------------------- */

START_TEST(test_worker_error_surfaces)
{
	int before = fx_thread_count();
	for (int w = 0; w <= 4; w += 2) {
		struct dl_options o = opts(w, 3);
		o.fail_at_batch = 5;
		struct dl_loader l;
		struct dl_batch b;
		ck_assert_int_eq(dl_loader_init(&l, &be, &images, DL_TRAIN, 7, 0, 1, &o), KN_OK);
		int rc = KN_OK;
		long k = 0;
		double t0 = now_ms();
		while (k < 100 && (rc = dl_loader_next(&l, &b)) == KN_OK)
			k++;
		ck_assert_int_eq(rc, KN_EDATA);
		ck_assert_int_le(k, 5);
		ck_assert_msg(strstr(kn_last_error(), "injected failure") && strstr(kn_last_error(), "batch 5"), "%s",
			      kn_last_error());
		/* and again: the loader stays failed */
		ck_assert_int_eq(dl_loader_next(&l, &b), KN_EDATA);
		dl_loader_release(&l);
		ck_assert_double_lt(now_ms() - t0, 5000);
		ck_assert_int_eq(fx_wait_threads(before, 2000), before);
	}
}
END_TEST

START_TEST(test_early_shutdown_no_threads_left)
{
	int before = fx_thread_count();
	for (int round = 0; round < 3; round++) {
		struct dl_options o = opts(4, 4);
		o.latency_us = 2000; /* workers are mid-sample when asked to stop */
		struct dl_loader l;
		struct dl_batch b;
		ck_assert_int_eq(dl_loader_init(&l, &be, &images, DL_TRAIN, 7, 0, 1, &o), KN_OK);
		ck_assert_int_eq(dl_loader_next(&l, &b), KN_OK);
		ck_assert_int_eq(dl_loader_next(&l, &b), KN_OK);
		ck_assert_int_gt(fx_thread_count(), before);
		double t0 = now_ms();
		dl_loader_release(&l); /* mid-epoch, workers busy and blocked */
		ck_assert_double_lt(now_ms() - t0, 1000);
		ck_assert_int_eq(fx_wait_threads(before, 2000), before);
	}
	/* a sample that would take 5 s does not hold up the release */
	struct dl_options slow = opts(2, 2);
	slow.latency_us = 5000000;
	struct dl_loader sl;
	ck_assert_int_eq(dl_loader_init(&sl, &be, &images, DL_TRAIN, 7, 0, 1, &slow), KN_OK);
	sleep_ms(30);
	double t0 = now_ms();
	dl_loader_release(&sl);
	ck_assert_double_lt(now_ms() - t0, 2500); /* half the sample's 5 s: room for a loaded machine */
	ck_assert_int_eq(fx_wait_threads(before, 2000), before);

	/* stop, then stats still readable, then next is an error, not a hang */
	struct dl_options o = opts(2, 2);
	struct dl_loader l;
	struct dl_batch b;
	ck_assert_int_eq(dl_loader_init(&l, &be, &images, DL_TRAIN, 7, 0, 1, &o), KN_OK);
	ck_assert_int_eq(dl_loader_next(&l, &b), KN_OK);
	dl_loader_stop(&l);
	cJSON *j = cJSON_CreateObject();
	ck_assert_int_eq(dl_loader_stats_json(&l, j, 0), KN_OK);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "batches")->valueint, 1);
	cJSON_Delete(j);
	if (dl_loader_next(&l, &b) == KN_OK) /* a batch already made may still be handed out */
		while (dl_loader_next(&l, &b) == KN_OK)
			;
	ck_assert_msg(strstr(kn_last_error(), "stopped"), "%s", kn_last_error());
	dl_loader_release(&l);
	dl_loader_release(&l); /* twice is harmless */
	ck_assert_int_eq(fx_wait_threads(before, 2000), before);
}
END_TEST

static volatile int stop_flag;

static void *raise_later(void *arg)
{
	sleep_ms(*(double *)arg);
	stop_flag = 2; /* SIGINT's number, as the signal handler would store */
	return NULL;
}

START_TEST(test_interrupt_while_waiting)
{
	int before = fx_thread_count();
	for (int w = 0; w <= 2; w += 2) {
		struct dl_options o = opts(w, 2);
		o.latency_us = 300000; /* 2.1 s per batch: the trainer is always waiting */
		o.interrupt = &stop_flag;
		stop_flag = 0;
		struct dl_loader l;
		struct dl_batch b;
		ck_assert_int_eq(dl_loader_init(&l, &be, &images, DL_TRAIN, 7, 0, 1, &o), KN_OK);
		pthread_t t;
		double delay = 100, t0 = now_ms();
		pthread_create(&t, NULL, raise_later, &delay);
		int rc = dl_loader_next(&l, &b);
		double waited = now_ms() - t0;
		pthread_join(t, NULL);
		ck_assert_int_eq(rc, KN_EINTR);
		ck_assert_int_eq(kn_exit_code(rc, 2), 130);
		ck_assert_msg(strstr(kn_last_error(), "interrupted"), "%s", kn_last_error());
		ck_assert_double_lt(waited, 1000); /* well before the batch could be ready */
		dl_loader_release(&l);
		ck_assert_int_eq(fx_wait_threads(before, 2000), before);
	}
}
END_TEST

/* --- statistics ---------------------------------------------------------- */

struct sim {
	double wait_frac;
	long empty, warnings;
	cJSON *stats;
	char warning[600];
};

/* A trainer whose step computes for compute_ms (sleeping: no CPU taken from
 * the workers), against a loader whose samples take latency_us each. */
static void simulate(int workers, long latency_us, double compute_ms, int steps, int warmup, struct sim *out)
{
	struct dl_options o = opts(workers, 4);
	o.latency_us = latency_us;
	struct dl_loader l;
	struct dl_batch b;
	memset(out, 0, sizeof *out);
	ck_assert_int_eq(dl_loader_init(&l, &be, &images, DL_TRAIN, 8, 0, 1, &o), KN_OK);
	double wait = 0, total = 0;
	for (int k = 0; k < steps; k++) {
		double t0 = now_ms();
		ck_assert_int_eq(dl_loader_next(&l, &b), KN_OK);
		double t1 = now_ms();
		char msg[600];
		if (dl_loader_starvation(&l, warmup, msg, sizeof msg) && !out->warning[0])
			snprintf(out->warning, sizeof out->warning, "%s", msg);
		sleep_ms(compute_ms);
		ck_assert_double_le(b.wait_ms, t1 - t0 + 1e-9); /* the loader's data wait lies within the call */
		if (k >= warmup) {
			wait += b.wait_ms;
			total += now_ms() - t0;
		}
	}
	dl_loader_stop(&l);
	out->wait_frac = wait / total;
	out->stats = cJSON_CreateObject();
	ck_assert_int_eq(dl_loader_stats_json(&l, out->stats, warmup), KN_OK);
	out->empty = (long)cJSON_GetObjectItem(out->stats, "empty_steps")->valuedouble;
	out->warnings = (long)cJSON_GetObjectItem(out->stats, "starvation_warnings")->valuedouble;
	dl_loader_release(&l);
}

static double num(cJSON *o, const char *key)
{
	cJSON *v = cJSON_GetObjectItem(o, key);
	ck_assert_msg(v && cJSON_IsNumber(v), "loader stats lack '%s'", key);
	return v->valuedouble;
}

/* 8 samples x 1 ms latency = 8 ms to make a batch on one worker, against a
 * 2 ms step: loading is the bottleneck until enough workers share it. */
START_TEST(test_latency_starvation_ratios)
{
	struct sim w0, w1, w8;
	simulate(0, 1000, 2.0, 30, 3, &w0);
	simulate(1, 1000, 2.0, 30, 3, &w1);
	simulate(8, 1000, 2.0, 30, 3, &w8);
	ck_assert_msg(w0.wait_frac > 0.5, "workers 0: data-wait %.3f", w0.wait_frac);
	ck_assert_msg(w1.wait_frac > 0.5, "workers 1: data-wait %.3f", w1.wait_frac);
	ck_assert_msg(w1.wait_frac >= 3 * w8.wait_frac, "workers 1: %.3f, workers 8: %.3f", w1.wait_frac,
		      w8.wait_frac);
	/* the queue: always empty on the trainer's thread, mostly empty with 1 worker, mostly not with 8 */
	ck_assert_int_eq(w0.empty, 27);
	ck_assert_int_ge(w1.empty, 20);
	ck_assert_int_le(w8.empty, 10);
	ck_assert_int_lt(w8.empty * 2, w1.empty);
	/* warnings name the knob */
	ck_assert_int_ge(w0.warnings, 1);
	ck_assert_msg(strstr(w0.warning, "trainer's thread") && strstr(w0.warning, "--workers"), "%s", w0.warning);
	ck_assert_int_ge(w1.warnings, 1);
	ck_assert_msg(strstr(w1.warning, "1 loader worker is busy") && strstr(w1.warning, "raise --workers"), "%s",
		      w1.warning);
	/* rates: one worker makes ~1000 samples/s (1 ms each); the trainer wants 8 per 2 ms */
	double per_worker = num(w1.stats, "producer_samples_per_sec_per_worker");
	ck_assert_msg(per_worker > 500 && per_worker <= 1000, "%.0f samples/s per worker", per_worker);
	double consumer = num(w1.stats, "consumer_samples_per_sec");
	ck_assert_msg(consumer > 1000 && consumer <= 4000, "consumer %.0f samples/s", consumer);
	ck_assert_double_ge(num(w1.stats, "workers_needed"), 2);
	ck_assert_double_gt(num(w1.stats, "busy_frac"), 0.8);
	ck_assert_double_lt(num(w1.stats, "busy_cpu_frac"), 0.05); /* sleeping, not computing */
	ck_assert_msg(strstr(w1.warning, "waiting on reads"), "%s", w1.warning);
	ck_assert_double_gt(num(w8.stats, "blocked_frac") + num(w8.stats, "idle_frac"), num(w8.stats, "busy_frac") / 4);
	ck_assert_double_gt(num(w1.stats, "wait_ms_p50"), 3 * num(w8.stats, "wait_ms_p50"));
	ck_assert_double_gt(num(w1.stats, "wait_ms_p50"), 2.0); /* 8 ms batches against 2 ms steps */
	cJSON_Delete(w0.stats);
	cJSON_Delete(w1.stats);
	cJSON_Delete(w8.stats);
}
END_TEST

/* The statistics are consistent with each other and with what happened. */
START_TEST(test_stats_consistent)
{
	struct sim s;
	simulate(3, 200, 1.0, 25, 4, &s);
	cJSON *o = s.stats;
	ck_assert_double_eq(num(o, "batches"), 25);
	ck_assert_double_eq(num(o, "timed_steps"), 21);
	ck_assert_double_eq(num(o, "workers"), 3);
	ck_assert_double_eq(num(o, "team_size"), 3);
	ck_assert_double_eq(num(o, "prefetch"), 4);
	ck_assert_double_eq(num(o, "samples_per_epoch"), 103);
	ck_assert_double_eq(num(o, "steps_per_epoch"), 13);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "remainder")->valuestring, "wrap");
	ck_assert_double_le(num(o, "wait_ms_p50"), num(o, "wait_ms_p95"));
	ck_assert_double_le(num(o, "wait_ms_p95"), num(o, "wait_ms_max"));
	ck_assert_double_le(num(o, "batch_ms_p50"), num(o, "batch_ms_p95"));
	ck_assert_double_ge(num(o, "batch_ms_p50"), 8 * 0.2 / 3); /* 8 samples x 0.2 ms over 3 workers at best */
	cJSON *hist = cJSON_GetObjectItem(o, "queue_depth_hist");
	ck_assert_int_eq(cJSON_GetArraySize(hist), 6); /* depth 0 .. prefetch + 1 */
	double n = 0;
	for (int d = 0; d < 6; d++)
		n += cJSON_GetArrayItem(hist, d)->valuedouble;
	ck_assert_double_eq(n, 21);
	ck_assert_double_eq(num(o, "empty_steps"), cJSON_GetArrayItem(hist, 0)->valuedouble);
	double samples = 0;
	for (int w = 0; w < 3; w++) {
		double busy = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "worker_busy_frac"), w)->valuedouble;
		double blocked = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "worker_blocked_frac"), w)->valuedouble;
		double idle = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "worker_idle_frac"), w)->valuedouble;
		ck_assert(busy > 0 && busy <= 1 && blocked >= 0 && idle >= 0);
		ck_assert_double_eq_tol(busy + blocked + idle, 1.0, 1e-9);
		samples += cJSON_GetArrayItem(cJSON_GetObjectItem(o, "worker_samples"), w)->valuedouble;
	}
	/* the 25 batches taken and at most nslots more made ahead */
	ck_assert_double_ge(samples, 25 * 8);
	ck_assert_double_le(samples, (25 + 5) * 8);
	cJSON *wu = cJSON_GetObjectItem(o, "warmup");
	ck_assert_double_eq(num(wu, "steps"), 4);
	ck_assert_double_ge(num(o, "wait_ms_total"), num(wu, "wait_ms_total"));
	cJSON_Delete(o);
}
END_TEST

/* A batch the workers had ready when asked for costs no data wait, whatever taking it took (on a
 * busy CPU the trainer's thread may wait to run again): that is the stats' handoff. */
START_TEST(test_ready_batches_cost_no_wait)
{
	struct sim s;
	simulate(2, 50, 15.0, 14, 4, &s); /* 8 x 0.05 ms per batch against a 15 ms step: always ready */
	ck_assert_int_eq(s.empty, 0);
	ck_assert_double_eq(s.wait_frac, 0);
	ck_assert_double_eq(num(s.stats, "wait_ms_p95"), 0);
	ck_assert_double_ge(num(s.stats, "handoff_ms_mean"), 0);
	ck_assert_double_ge(num(s.stats, "handoff_ms_p95"), 0);
	ck_assert_int_eq(s.warnings, 0);
	cJSON_Delete(s.stats);
	/* on the trainer's thread (no workers) making the batch is all data wait, and no handoff */
	simulate(0, 1000, 1.0, 8, 2, &s);
	ck_assert_msg(s.wait_frac > 0.5, "workers 0: data-wait %.3f", s.wait_frac);
	ck_assert_double_eq(num(s.stats, "handoff_ms_mean"), 0);
	cJSON_Delete(s.stats);
}
END_TEST

/* --data-cost is CPU work: the workers' busy time is mostly CPU time. */
START_TEST(test_cost_is_cpu)
{
	struct dl_options o = opts(1, 2);
	o.cost = 300; /* about 0.3 ms per sample */
	struct dl_loader l;
	struct dl_batch b;
	ck_assert_int_eq(dl_loader_init(&l, &be, &images, DL_TRAIN, 8, 0, 1, &o), KN_OK);
	for (int k = 0; k < 6; k++)
		ck_assert_int_eq(dl_loader_next(&l, &b), KN_OK);
	dl_loader_stop(&l);
	cJSON *j = cJSON_CreateObject();
	ck_assert_int_eq(dl_loader_stats_json(&l, j, 0), KN_OK);
	ck_assert_double_gt(num(j, "busy_cpu_frac"), 0.2); /* 1.0 on an idle core */
	cJSON_Delete(j);
	dl_loader_release(&l);
}
END_TEST

START_TEST(test_bad_options)
{
	struct dl_loader l;
	struct dl_options o = opts(2, 0);
	ck_assert_int_eq(dl_loader_init(&l, &be, &images, DL_TRAIN, 7, 0, 1, &o), KN_EUSAGE);
	o = opts(-1, 2);
	ck_assert_int_eq(dl_loader_init(&l, &be, &images, DL_TRAIN, 7, 0, 1, &o), KN_EUSAGE);
	o = opts(2, 2);
	ck_assert_int_eq(dl_loader_init(&l, &be, &images, DL_VAL, 100, 0, 1, &o), KN_EDATA);
	ck_assert_msg(strstr(kn_last_error(), "validation split has 18 images; one batch needs 100"), "%s",
		      kn_last_error());
	ck_assert_int_eq(dl_loader_init(&l, &be, &text, DL_VAL, 8, 64, 1, &o), KN_EDATA);
	ck_assert_msg(strstr(kn_last_error(), "text data 'synthetic-text': the validation split has 400 bytes, 6 windows "
					     "of 64+1 bytes; one batch of 8 needs 513 bytes"),
		      "%s", kn_last_error());
	dl_loader_release(&l);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc = tcase_create("loader");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_permutation_is_bijection);
	tcase_add_test(tc, test_epoch_coverage_and_remainder);
	tcase_add_test(tc, test_determinism_images);
	tcase_add_test(tc, test_determinism_text);
	tcase_add_test(tc, test_loader_epoch_exactly_once);
	tcase_add_test(tc, test_rows_match_samples);
	tcase_add_test(tc, test_augmentation);
	tcase_add_test(tc, test_worker_error_surfaces);
	tcase_add_test(tc, test_early_shutdown_no_threads_left);
	tcase_add_test(tc, test_interrupt_while_waiting);
	tcase_add_test(tc, test_latency_starvation_ratios);
	tcase_add_test(tc, test_stats_consistent);
	tcase_add_test(tc, test_cost_is_cpu);
	tcase_add_test(tc, test_ready_batches_cost_no_wait);
	tcase_add_test(tc, test_bad_options);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return tu_run_suite(suite()); }
