/*
 * kernels/cuda — the CUDA backend's entry points (extern "C"; the rest of the
 * project never includes CUDA headers).
 *
 * This build probes devices and reports library versions for real; the
 * training kernels (GEMMs through cuBLASLt, fused LayerNorm/attention/AdamW)
 * land with the CUDA backend issue. Until then kn_cuda_open() refuses with
 * KN_EUNAVAIL, so `--device cuda` exits 69 with a reason and `--device auto`
 * falls back to the CPU.
 */
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include "kernels/backend.h"

extern "C" int kn_cuda_compiled(void) { return 1; }

extern "C" int kn_cuda_device_count(void)
{
	int n = 0;
	cudaError_t err = cudaGetDeviceCount(&n);
	if (err != cudaSuccess) {
		cudaGetLastError(); /* clear the sticky "no device" error */
		return 0;
	}
	return n;
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
}

extern "C" int kn_cuda_open(struct kn_backend *be, enum kn_precision precision)
{
	int n = kn_cuda_device_count();
	if (n == 0)
		return kn_error(KN_EUNAVAIL, "device 'cuda' is not available: no CUDA device is present");
	cudaDeviceProp prop;
	cudaError_t err = cudaGetDeviceProperties(&prop, 0);
	if (err != cudaSuccess)
		return kn_error(KN_EUNAVAIL, "device 'cuda' is not available: cudaGetDeviceProperties: %s",
				cudaGetErrorString(err));
	return kn_error(KN_EUNAVAIL, "device 'cuda' (%s) found, but this build's CUDA backend has no training kernels yet "
				     "(precision '%s' requested)",
			prop.name, kn_precision_name(precision));
}
