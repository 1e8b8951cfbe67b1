/*
 * bench/conv_winograd.c — the CPU backend's 3x3 stride-1 convolutions on the cnn presets' map
 * sizes (tiny: 28x28x16, 14x14x32, 7x7x64; resnet: 28x28x64 to 4x4x512), by im2col + GEMM and by
 * Winograd F(4x4, 3x3) (kernels/cpu/winograd.c), through the backend's own ops: forward, data
 * gradient and filter gradient, median of RUNS after one warm-up, with the thread count of
 * OMP_NUM_THREADS. What conv.c's choice (Winograd from 16 channels) rests on.
 *
 *   cmake --build build --target conv_winograd
 *   env -u OPENBLAS_CORETYPE OMP_NUM_THREADS=2 build/bench/conv_winograd [BATCH [RUNS]]
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "data_loader/rng.h"
#include "kernels/backend.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/winograd.h"
#include "trainer/metrics.h"

static float *random_floats(size_t n, uint64_t seed)
{
	float *p = malloc(n * sizeof *p);
	if (!p) {
		fprintf(stderr, "conv_winograd: out of memory\n");
		exit(1);
	}
	struct dl_rng r;
	dl_rng_init(&r, seed);
	for (size_t i = 0; i < n; i++)
		p[i] = (float)dl_rng_uniform(&r) - 0.5f;
	return p;
}

/* median ms of `runs` calls of pass (0 forward, 1 data gradient, 2 filter gradient) */
static double time_pass(const struct kn_ops *op, int pass, int runs, const struct kn_conv_shape *s, float *x, float *w,
			float *d, float *out, float *dx, float *dw, void *work)
{
	double t[64];
	for (int r = -1; r < runs; r++) {
		double t0 = tr_now_ms();
		if (pass == 0)
			op->conv2d_forward(out, x, w, work, s);
		else if (pass == 1)
			op->conv2d_backward_data(dx, d, w, work, s);
		else
			op->conv2d_backward_filter(dw, d, x, work, s);
		if (r >= 0)
			t[r] = tr_now_ms() - t0;
	}
	return tr_percentile(t, runs, 0.5);
}

int main(int argc, char **argv)
{
	int batch = argc > 1 ? atoi(argv[1]) : 128, runs = argc > 2 ? atoi(argv[2]) : 5;
	if (batch < 1 || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: conv_winograd [BATCH (>= 1) [RUNS (1..64)]]\n");
		return 64;
	}
	struct kn_backend be;
	if (kn_backend_open(&be, "cpu", KN_FP32, 0) != KN_OK) {
		fprintf(stderr, "conv_winograd: %s\n", kn_last_error());
		return 1;
	}
	const struct kn_blas_info *bi = kn_blas_setup();
	printf("3x3 stride-1 convolutions, batch %d, %d threads, median of %d; GEMMs: %s, %s kernels (chosen by %s)\n\n",
	       batch, omp_get_max_threads(), runs, bi->library, bi->kernels, bi->source);
	printf("| map | channels | pass | im2col ms | Winograd ms | speedup |\n|---|---|---|---:|---:|---:|\n");
	static const int maps[][2] = { { 28, 16 }, { 14, 32 }, { 7, 64 }, { 28, 64 }, { 14, 128 }, { 7, 256 }, { 4, 512 } };
	static const char *pass_name[] = { "forward", "data gradient", "filter gradient" };
	for (size_t k = 0; k < sizeof maps / sizeof *maps; k++) {
		struct kn_conv_shape s = { batch, maps[k][0], maps[k][0], maps[k][1], maps[k][1], 3, 1, 1 };
		size_t ni = (size_t)batch * s.H * s.W * s.C, nw = (size_t)s.OC * 9 * s.C;
		float *x = random_floats(ni, 1), *w = random_floats(nw, 2), *d = random_floats(ni, 3);
		float *out = random_floats(ni, 4), *dx = random_floats(ni, 5), *dw = random_floats(nw, 6);
		double ms[2][3];
		for (int path = 0; path < 2; path++) { /* im2col, Winograd */
			kn_cpu32_winograd_min_channels = path ? 1 : 1 << 30;
			void *work = malloc(be.ops->conv2d_workspace_bytes(&s));
			if (!work) {
				fprintf(stderr, "conv_winograd: out of memory\n");
				return 1;
			}
			for (int pass = 0; pass < 3; pass++)
				ms[path][pass] = time_pass(be.ops, pass, runs, &s, x, w, d, out, dx, dw, work);
			free(work);
		}
		for (int pass = 0; pass < 3; pass++)
			printf("| %dx%d | %d | %s | %.1f | %.1f | %.2fx |\n", s.H, s.W, s.C, pass_name[pass], ms[0][pass],
			       ms[1][pass], ms[0][pass] / ms[1][pass]);
		free(x), free(w), free(d), free(out), free(dx), free(dw);
	}
	kn_backend_release(&be);
	return 0;
}
