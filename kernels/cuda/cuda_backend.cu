/*
 * kernels/cuda — the CUDA backend's entry points (extern "C"; the rest of the
 * project never includes CUDA headers): device probing and versions, memory
 * through cudaMalloc with the backend's accounting, pinned host memory, copies
 * (input batches on a copy stream that overlaps compute, the rest on the
 * compute stream), phase timers from CUDA events, and the op tables of
 * cuda_ops.cu for fp32/tf32 (float), bf16 and fp16 activations with fp32
 * master weights and optimizer state.
 *
 * Validation gate: these kernels have not yet run on a GPU in this project's
 * history. Until tests/gpu_gpt_ops and tests/gpu_gpt_train have passed on one,
 * kn_cuda_open() refuses (exit 69 with that reason) unless
 * AMPTUNE_CUDA_UNVALIDATED=1 is set, which the GPU test suites do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_common.cuh"

struct kn_cuda_ctx kn_cuda;

extern "C" int kn_cuda_compiled(void) { return 1; }

extern "C" int kn_cuda_device_count(void)
{
	int n = 0;
	if (cudaGetDeviceCount(&n) != cudaSuccess) {
		cudaGetLastError(); /* clear the "no device" error */
		return 0;
	}
	return n;
}

extern "C" size_t kn_cuda_total_memory(void)
{
	cudaDeviceProp prop;
	if (kn_cuda_device_count() == 0 || cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
		cudaGetLastError();
		return 0;
	}
	return prop.totalGlobalMem;
}

static void fmt_cuda_version(char *buf, size_t n, int v)
{
	if (v <= 0)
		buf[0] = 0;
	else
		snprintf(buf, n, "%d.%d", v / 1000, (v % 1000) / 10);
}

extern "C" void kn_cuda_versions(struct kn_cuda_versions *v)
{
	int rt = 0, drv = 0;
	memset(v, 0, sizeof *v);
	if (cudaRuntimeGetVersion(&rt) == cudaSuccess)
		fmt_cuda_version(v->runtime, sizeof v->runtime, rt);
	if (cudaDriverGetVersion(&drv) == cudaSuccess)
		fmt_cuda_version(v->driver, sizeof v->driver, drv);
	unsigned lt = (unsigned)cublasLtGetVersion() % 1000000u;
	snprintf(v->cublas, sizeof v->cublas, "%u.%u.%u", lt / 10000, (lt / 100) % 100, lt % 100);
	kn_cuda_cudnn_version(v->cudnn, sizeof v->cudnn);
}

int kn_cuda_fail(int status, const char *what, const char *detail, const char *file, int line)
{
	if (kn_cuda.status == KN_OK) {
		kn_cuda.status = status;
		kn_error(status, "cuda: %s failed: %s (%s:%d)", what, detail, file, line);
	}
	return 1;
}

/* ---- memory ---- */

static int cu_dev_alloc(struct kn_backend *be, void **ptr, size_t bytes)
{
	cudaError_t e = cudaMalloc(ptr, bytes ? bytes : 256);
	if (e == cudaSuccess)
		return KN_OK;
	cudaGetLastError();
	*ptr = NULL;
	size_t free_b = 0, total_b = 0;
	if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess)
		cudaGetLastError(); /* only the message needs it: no error left for the next launch check */
	char need[32], fr[32];
	return kn_error(KN_ENOMEM, "out of memory on 'cuda': need %s, free %s (%s)",
			kn_fmt_bytes(need, sizeof need, (double)bytes), kn_fmt_bytes(fr, sizeof fr, (double)free_b),
			cudaGetErrorString(e));
}

static void cu_dev_free(struct kn_backend *be, void *ptr) { cudaFree(ptr); }

static int cu_host_alloc(struct kn_backend *be, void **ptr, size_t bytes)
{
	cudaError_t e = cudaMallocHost(ptr, bytes ? bytes : 64);
	if (e != cudaSuccess) {
		cudaGetLastError();
		*ptr = NULL;
		return kn_error(KN_ENOMEM, "out of pinned host memory: %zu bytes (%s)", bytes, cudaGetErrorString(e));
	}
	be->pinned_bytes += bytes;
	return KN_OK;
}

static void cu_host_free(struct kn_backend *be, void *ptr) { cudaFreeHost(ptr); }

void *kn_cuda_scratch(size_t bytes)
{
	if (kn_cuda.status)
		return NULL;
	if (bytes <= kn_cuda.scratch_bytes)
		return kn_cuda.scratch;
	struct kn_backend *be = kn_cuda.be;
	CUDA_OK(cudaStreamSynchronize(kn_cuda.stream));
	kn_free(be, kn_cuda.scratch, kn_cuda.scratch_bytes);
	kn_cuda.scratch = NULL;
	kn_cuda.scratch_bytes = 0;
	int rc = kn_alloc(be, &kn_cuda.scratch, bytes);
	if (rc) {
		kn_cuda.status = rc; /* the message is already recorded */
		return NULL;
	}
	kn_cuda.scratch_bytes = bytes;
	return kn_cuda.scratch;
}

/* ---- copies ---- */

static int cu_copy_h2d(struct kn_backend *be, void *dst, const void *src, size_t bytes)
{
	CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, kn_cuda.stream));
	return kn_cuda.status;
}

static int cu_copy_h2d_async(struct kn_backend *be, void *dst, const void *src, size_t bytes, int slot)
{
	/* after what the compute stream has queued, so a slot is never overwritten while an op still
	 * reads it, whatever the caller synchronised (the training loop's own order already ensures it:
	 * then the wait is free) */
	CUDA_OK(cudaEventRecord(kn_cuda.compute_mark, kn_cuda.stream));
	CUDA_OK(cudaStreamWaitEvent(kn_cuda.copy_stream, kn_cuda.compute_mark, 0));
	CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, kn_cuda.copy_stream));
	CUDA_OK(cudaEventRecord(kn_cuda.copy_ev[slot & 1], kn_cuda.copy_stream));
	return kn_cuda.status;
}

static int cu_copy_wait(struct kn_backend *be, int slot)
{
	CUDA_OK(cudaStreamWaitEvent(kn_cuda.stream, kn_cuda.copy_ev[slot & 1], 0));
	return kn_cuda.status;
}

static int cu_copy_done(struct kn_backend *be, int slot)
{
	CUDA_OK(cudaEventSynchronize(kn_cuda.copy_ev[slot & 1]));
	return kn_cuda.status;
}

static int cu_copy_d2h(struct kn_backend *be, void *dst, const void *src, size_t bytes)
{
	CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, kn_cuda.stream));
	CUDA_OK(cudaStreamSynchronize(kn_cuda.stream));
	return kn_cuda.status;
}

static size_t elem_bytes(struct kn_backend *be, int master) { return master ? be->master_bytes : be->act_bytes; }

static void host_encode(struct kn_backend *be, void *dst, const double *src, size_t n, int master)
{
	size_t es = elem_bytes(be, master);
	for (size_t i = 0; i < n; i++) {
		float f = (float)src[i];
		if (es == 4)
			((float *)dst)[i] = f;
		else if (be->precision == KN_BF16)
			((uint16_t *)dst)[i] = kn_f32_to_bf16(f);
		else
			((uint16_t *)dst)[i] = kn_f32_to_f16(f);
	}
}

static void host_decode(struct kn_backend *be, double *dst, const void *src, size_t n, int master)
{
	size_t es = elem_bytes(be, master);
	for (size_t i = 0; i < n; i++) {
		if (es == 4)
			dst[i] = ((const float *)src)[i];
		else if (be->precision == KN_BF16)
			dst[i] = kn_bf16_to_f32(((const uint16_t *)src)[i]);
		else
			dst[i] = kn_f16_to_f32(((const uint16_t *)src)[i]);
	}
}

static int cu_upload(struct kn_backend *be, void *dst, const double *src, size_t n, int master)
{
	size_t bytes = n * elem_bytes(be, master);
	void *tmp = malloc(bytes ? bytes : 1);
	if (!tmp)
		return kn_error(KN_ENOMEM, "out of host memory staging %zu bytes", bytes);
	host_encode(be, tmp, src, n, master);
	CUDA_OK(cudaMemcpyAsync(dst, tmp, bytes, cudaMemcpyHostToDevice, kn_cuda.stream));
	CUDA_OK(cudaStreamSynchronize(kn_cuda.stream));
	free(tmp);
	return kn_cuda.status;
}

static int cu_download(struct kn_backend *be, double *dst, const void *src, size_t n, int master)
{
	size_t bytes = n * elem_bytes(be, master);
	void *tmp = malloc(bytes ? bytes : 1);
	if (!tmp)
		return kn_error(KN_ENOMEM, "out of host memory staging %zu bytes", bytes);
	CUDA_OK(cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToHost, kn_cuda.stream));
	CUDA_OK(cudaStreamSynchronize(kn_cuda.stream));
	if (!kn_cuda.status)
		host_decode(be, dst, tmp, n, master);
	free(tmp);
	return kn_cuda.status;
}

static int cu_sync(struct kn_backend *be)
{
	CUDA_OK(cudaStreamSynchronize(kn_cuda.stream));
	if (kn_cuda.status && !kn_last_error()[0]) /* the failure's own message stays when there is one */
		kn_error(kn_cuda.status, "cuda: earlier failure");
	return kn_cuda.status;
}

/* ---- phase timers: events on the compute stream; host-to-device on the copy stream ---- */

static cudaStream_t phase_stream(enum kn_phase p) { return p == KN_PHASE_H2D ? kn_cuda.copy_stream : kn_cuda.stream; }

static void cu_phase_begin(struct kn_backend *be, enum kn_phase p)
{
	CUDA_OK(cudaEventRecord(kn_cuda.ev[p][0], phase_stream(p)));
}

static void cu_phase_end(struct kn_backend *be, enum kn_phase p)
{
	CUDA_OK(cudaEventRecord(kn_cuda.ev[p][1], phase_stream(p)));
	kn_cuda.ev_used[p] = 1;
}

static int cu_phase_read(struct kn_backend *be, double ms[KN_PHASE_COUNT])
{
	for (int p = 0; p < KN_PHASE_COUNT; p++) {
		float t = 0;
		ms[p] = 0;
		if (kn_cuda.ev_used[p]) {
			CUDA_OK(cudaEventSynchronize(kn_cuda.ev[p][1]));
			CUDA_OK(cudaEventElapsedTime(&t, kn_cuda.ev[p][0], kn_cuda.ev[p][1]));
			ms[p] = t;
			kn_cuda.ev_used[p] = 0;
		}
	}
	return kn_cuda.status;
}

static void cu_release(struct kn_backend *be)
{
	if (kn_cuda.be != be)
		return;
	cudaStreamSynchronize(kn_cuda.stream);
	kn_cuda_cnn_release();
	/* the handles first: cuBLAS's workspace is lt_workspace */
	if (kn_cuda.lt)
		cublasLtDestroy(kn_cuda.lt);
	if (kn_cuda.blas)
		cublasDestroy(kn_cuda.blas);
	kn_free(be, kn_cuda.scratch, kn_cuda.scratch_bytes);
	kn_free(be, kn_cuda.lt_workspace, kn_cuda.lt_workspace_bytes);
	cudaFree(kn_cuda.red_partials);
	cudaFreeHost(kn_cuda.red_result);
	for (int p = 0; p < KN_PHASE_COUNT; p++) {
		cudaEventDestroy(kn_cuda.ev[p][0]);
		cudaEventDestroy(kn_cuda.ev[p][1]);
	}
	for (int i = 0; i < 2; i++)
		if (kn_cuda.copy_ev[i])
			cudaEventDestroy(kn_cuda.copy_ev[i]);
	if (kn_cuda.compute_mark)
		cudaEventDestroy(kn_cuda.compute_mark);
	if (kn_cuda.copy_stream) {
		cudaStreamSynchronize(kn_cuda.copy_stream);
		cudaStreamDestroy(kn_cuda.copy_stream);
	}
	if (kn_cuda.stream)
		cudaStreamDestroy(kn_cuda.stream);
	memset(&kn_cuda, 0, sizeof kn_cuda);
	cudaGetLastError(); /* a failed teardown call must not surface at the next open's first launch check */
}

/* the driver's view: everything in use on the device, this process's context included */
static int cu_mem_info(struct kn_backend *be, size_t *used, size_t *total)
{
	size_t free_b = 0, total_b = 0;
	if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
		cudaGetLastError();
		return KN_ERR;
	}
	*used = total_b - free_b;
	*total = total_b;
	return KN_OK;
}

static const struct kn_backend_vt cuda_vt = {
	cu_dev_alloc, cu_dev_free, cu_host_alloc, cu_host_free, cu_copy_h2d, cu_copy_d2h, cu_upload,
	cu_download, cu_sync, cu_phase_begin, cu_phase_end, cu_phase_read, cu_release, cu_mem_info,
	cu_copy_h2d_async, cu_copy_wait, cu_copy_done,
};

/* Dense (not sparse) peak FLOP/s for MFU, from NVIDIA's datasheets, by the
 * name the driver reports and precision; 0 (MFU not reported) for GPUs not
 * listed. The PCIe and NVL boards run lower clocks/power than the SXM ones. */
static const struct {
	const char *name; /* matched as a substring; more specific names first */
	double half, tf32, fp32;
} peaks[] = {
	{ "H100 PCIe", 756.0e12, 378.0e12, 51.2e12 },
	{ "H100 NVL", 835.5e12, 417.5e12, 60.0e12 },
	{ "H200 NVL", 835.5e12, 417.5e12, 60.0e12 },
	{ "H100", 989.4e12, 494.7e12, 66.9e12 }, /* SXM5: "H100 80GB HBM3" */
	{ "H200", 989.4e12, 494.7e12, 66.9e12 }, /* SXM */
};

static double peak_flops(const char *name, enum kn_precision p)
{
	for (size_t i = 0; i < sizeof peaks / sizeof *peaks; i++)
		if (strstr(name, peaks[i].name))
			return p == KN_BF16 || p == KN_FP16 ? peaks[i].half : p == KN_TF32 ? peaks[i].tf32 : peaks[i].fp32;
	return 0;
}

extern "C" int kn_cuda_open(struct kn_backend *be, enum kn_precision precision)
{
	if (kn_cuda_device_count() == 0)
		return kn_error(KN_EUNAVAIL, "device 'cuda' is not available: no CUDA device is present");
	if (kn_cuda.be)
		return kn_error(KN_EUNAVAIL, "device 'cuda' is already open in this process");
	cudaDeviceProp prop;
	cudaError_t e = cudaGetDeviceProperties(&prop, 0);
	if (e != cudaSuccess) {
		cudaGetLastError();
		return kn_error(KN_EUNAVAIL, "device 'cuda' is not available: cudaGetDeviceProperties: %s",
				cudaGetErrorString(e));
	}
	const char *gate = getenv("AMPTUNE_CUDA_UNVALIDATED");
	if (!gate || strcmp(gate, "1") != 0)
		return kn_error(KN_EUNAVAIL, "device 'cuda' (%s): the CUDA training kernels in this build have not been "
					     "validated on a GPU yet; run the GPU test suites (tests/gpu_*), or set "
					     "AMPTUNE_CUDA_UNVALIDATED=1 to use them anyway",
				prop.name);
	if (precision == KN_FP64)
		return kn_error(KN_EUNAVAIL, "precision 'fp64' is not available on the cuda backend");
	memset(&kn_cuda, 0, sizeof kn_cuda);
	cudaGetLastError(); /* LAUNCH_OK reads the runtime's last error: start from none */
	kn_cuda_ops_reset();
	kn_cuda.be = be;
	kn_cuda.precision = precision;
	kn_cuda.sm_count = prop.multiProcessorCount;
	CUDA_OK(cudaSetDevice(0));
	CUDA_OK(cudaStreamCreateWithFlags(&kn_cuda.stream, cudaStreamNonBlocking));
	CUDA_OK(cudaStreamCreateWithFlags(&kn_cuda.copy_stream, cudaStreamNonBlocking));
	for (int i = 0; i < 2; i++)
		CUDA_OK(cudaEventCreateWithFlags(&kn_cuda.copy_ev[i], cudaEventDisableTiming));
	CUDA_OK(cudaEventCreateWithFlags(&kn_cuda.compute_mark, cudaEventDisableTiming));
	BLAS_OK(cublasLtCreate(&kn_cuda.lt));
	BLAS_OK(cublasCreate(&kn_cuda.blas));
	BLAS_OK(cublasSetStream(kn_cuda.blas, kn_cuda.stream));
	/* bf16/fp16 GEMMs reduce their split-K partials in fp32 too, not in the output type */
	BLAS_OK(cublasSetMathMode(kn_cuda.blas,
				  (cublasMath_t)((precision == KN_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH) |
						 CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
	for (int p = 0; p < KN_PHASE_COUNT; p++) {
		CUDA_OK(cudaEventCreate(&kn_cuda.ev[p][0]));
		CUDA_OK(cudaEventCreate(&kn_cuda.ev[p][1]));
	}
	CUDA_OK(cudaMalloc(&kn_cuda.red_partials, 1024 * sizeof(double)));
	CUDA_OK(cudaMallocHost(&kn_cuda.red_result, sizeof(double)));
	be->name = "cuda";
	be->precision = precision;
	snprintf(be->device_name, sizeof be->device_name, "%.150s", prop.name);
	be->master_bytes = 4;
	be->act_bytes = precision == KN_BF16 || precision == KN_FP16 ? 2 : 4;
	be->compute_aliases_master = be->act_bytes == 4;
	be->ops = precision == KN_BF16 ? &kn_cuda_ops_bf16 : precision == KN_FP16 ? &kn_cuda_ops_f16 : &kn_cuda_ops_f32;
	be->vt = &cuda_vt;
	be->peak_flops = peak_flops(prop.name, precision);
	be->impl = &kn_cuda;
	if (kn_cuda.status == KN_OK) {
		/* cuBLAS (attention's batched GEMMs) shares it, in stream order, instead of
		 * a pool of its own that the memory accounting would not see; set after
		 * cublasSetStream, which resets a handle's workspace */
		kn_cuda.lt_workspace_bytes = 32u << 20;
		int rc = kn_alloc(be, &kn_cuda.lt_workspace, kn_cuda.lt_workspace_bytes);
		if (rc)
			kn_cuda.status = rc;
		else
			BLAS_OK(cublasSetWorkspace(kn_cuda.blas, kn_cuda.lt_workspace, kn_cuda.lt_workspace_bytes));
	}
	if (kn_cuda.status) {
		int rc = kn_cuda.status;
		cu_release(be);
		return rc;
	}
	return KN_OK;
}
