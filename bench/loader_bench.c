/*
 * The loader alone: samples/s a team of workers makes for one dataset, with a
 * trainer that takes batches as fast as they come. Built and run by
 * bench/loader.sh; prints one JSON object per worker count.
 *
 *   loader_bench SPEC BATCH SEQ BATCHES WORKERS...
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "data_loader/loader.h"
#include "kernels/backend.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: loader_bench SPEC BATCH SEQ BATCHES WORKERS...\n");
		return 64;
	}
	int B = atoi(argv[2]), T = atoi(argv[3]);
	long batches = atol(argv[4]);
	struct kn_backend be;
	struct dl_dataset ds;
	if (kn_backend_open(&be, "cpu", KN_FP32, 0) || dl_dataset_open(&ds, argv[1], 50304, 1)) {
		fprintf(stderr, "loader_bench: %s\n", kn_last_error());
		return 1;
	}
	for (int a = 5; a < argc; a++) {
		struct dl_options o;
		struct dl_loader l;
		struct dl_batch b;
		dl_options_defaults(&o);
		o.workers = atoi(argv[a]);
		o.prefetch = 2 * (o.workers > 0 ? o.workers : 1);
		if (dl_loader_init(&l, &be, &ds, DL_TRAIN, B, T, 1, &o)) {
			fprintf(stderr, "loader_bench: %s\n", kn_last_error());
			return 1;
		}
		/* the first batches fill the ring: measure from batch `skip` on */
		long skip = o.prefetch + 1;
		double t0 = 0;
		for (long k = 0; k < batches + skip; k++) {
			if (k == skip)
				t0 = now_s();
			if (dl_loader_next(&l, &b)) {
				fprintf(stderr, "loader_bench: %s\n", kn_last_error());
				return 1;
			}
		}
		double s = now_s() - t0;
		dl_loader_stop(&l);
		printf("{\"workers\": %d, \"samples_per_sec\": %.1f}\n", o.workers, (double)batches * B / s);
		dl_loader_release(&l);
	}
	dl_dataset_release(&ds);
	kn_backend_release(&be);
	return 0;
}
