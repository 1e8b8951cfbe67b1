/*
 * The CPU backend: host memory, memcpy copies, wall-clock phase timers, and
 * the fp32 (or fp64 reference) op table. OpenMP threads follow
 * OMP_NUM_THREADS; OpenBLAS shares the same OpenMP runtime.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/backend.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/ops.h"

struct cpu_impl {
	double phase_start[KN_PHASE_COUNT];
	double phase_ms[KN_PHASE_COUNT];
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cpu_dev_alloc(struct kn_backend *be, void **ptr, size_t bytes)
{
	if (posix_memalign(ptr, 64, bytes ? bytes : 64)) {
		*ptr = NULL;
		return kn_error(KN_ENOMEM, "out of memory on '%s': host allocation of %zu bytes failed", be->name, bytes);
	}
	return KN_OK;
}

static void cpu_dev_free(struct kn_backend *be, void *ptr) { free(ptr); }

static int cpu_copy(struct kn_backend *be, void *dst, const void *src, size_t bytes)
{
	memcpy(dst, src, bytes);
	return KN_OK;
}

static int cpu_upload(struct kn_backend *be, void *dst, const double *src, size_t n, int master)
{
	size_t es = master ? be->master_bytes : be->act_bytes;
	for (size_t i = 0; i < n; i++) {
		if (es == 8)
			((double *)dst)[i] = src[i];
		else
			((float *)dst)[i] = (float)src[i];
	}
	return KN_OK;
}

static int cpu_download(struct kn_backend *be, double *dst, const void *src, size_t n, int master)
{
	size_t es = master ? be->master_bytes : be->act_bytes;
	for (size_t i = 0; i < n; i++)
		dst[i] = es == 8 ? ((const double *)src)[i] : ((const float *)src)[i];
	return KN_OK;
}

static int cpu_sync(struct kn_backend *be) { return KN_OK; }

static void cpu_phase_begin(struct kn_backend *be, enum kn_phase p)
{
	((struct cpu_impl *)be->impl)->phase_start[p] = now_ms();
}

static void cpu_phase_end(struct kn_backend *be, enum kn_phase p)
{
	struct cpu_impl *im = be->impl;
	im->phase_ms[p] += now_ms() - im->phase_start[p];
}

static int cpu_phase_read(struct kn_backend *be, double ms[KN_PHASE_COUNT])
{
	struct cpu_impl *im = be->impl;
	memcpy(ms, im->phase_ms, sizeof im->phase_ms);
	memset(im->phase_ms, 0, sizeof im->phase_ms);
	return KN_OK;
}

static void cpu_release(struct kn_backend *be) { free(be->impl); }

static const struct kn_backend_vt cpu_vt = {
	.dev_alloc = cpu_dev_alloc,
	.dev_free = cpu_dev_free,
	.host_alloc = cpu_dev_alloc,
	.host_free = cpu_dev_free,
	.copy_h2d = cpu_copy,
	.copy_d2h = cpu_copy,
	.upload = cpu_upload,
	.download = cpu_download,
	.sync = cpu_sync,
	.phase_begin = cpu_phase_begin,
	.phase_end = cpu_phase_end,
	.phase_read = cpu_phase_read,
	.release = cpu_release,
};

static void cpu_model_name(char *buf, size_t n)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	snprintf(buf, n, "cpu");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "model name", 10) == 0) {
			char *v = strchr(line, ':');
			if (v) {
				v += 1 + (v[1] == ' ');
				v[strcspn(v, "\n")] = 0;
				snprintf(buf, n, "%s", v);
			}
			break;
		}
	}
	fclose(f);
}

int kn_cpu_open(struct kn_backend *be, enum kn_precision precision)
{
	if (precision != KN_FP32 && precision != KN_FP64)
		return kn_error(KN_EUNAVAIL, "precision '%s' is not available on the cpu backend, which trains in fp32 only "
					     "(use --device cuda for tf32, fp16 or bf16)",
				kn_precision_name(precision));
	be->impl = calloc(1, sizeof(struct cpu_impl));
	if (!be->impl)
		return kn_error(KN_ENOMEM, "out of memory opening the cpu backend");
	kn_blas_setup();
	be->name = precision == KN_FP64 ? "cpu64" : "cpu";
	be->precision = precision;
	be->act_bytes = be->master_bytes = precision == KN_FP64 ? 8 : 4;
	be->compute_aliases_master = 1;
	be->ops = precision == KN_FP64 ? &kn_cpu64_ops : &kn_cpu32_ops;
	be->vt = &cpu_vt;
	char model[120];
	cpu_model_name(model, sizeof model);
	snprintf(be->device_name, sizeof be->device_name, "%s (%d threads)", model, omp_get_max_threads());
	return KN_OK;
}
