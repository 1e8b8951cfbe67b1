/*
 * kernels/cuda/cuda_common.cuh — state and helpers shared by the CUDA files.
 *
 * One CUDA backend per process (device 0): the context below is global
 * because kn_ops functions take no backend argument. Errors are sticky: the
 * first failing CUDA/cuBLAS call records a status and message, later ops
 * become no-ops, and kn_sync() returns the status, as on a CPU it would
 * return at once.
 */
#ifndef KN_CUDA_COMMON_CUH
#define KN_CUDA_COMMON_CUH

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels/backend.h"

struct kn_cuda_ctx {
	struct kn_backend *be;
	cudaStream_t stream;
	cudaStream_t copy_stream;   /* host-to-device input copies, overlapping compute */
	cudaEvent_t copy_ev[2];     /* the last copy of each input slot */
	cudaEvent_t compute_mark;   /* the compute stream's work so far, which a copy waits for */
	cublasLtHandle_t lt;
	cublasHandle_t blas;
	void *lt_workspace; /* also cuBLAS's workspace */
	size_t lt_workspace_bytes;
	/* growable scratch for attention's permuted q/k/v and their gradients */
	void *scratch;
	size_t scratch_bytes;
	/* reduction partials and the device result read back to the host */
	double *red_partials;
	double *red_result;
	cudaEvent_t ev[KN_PHASE_COUNT][2];
	int ev_used[KN_PHASE_COUNT];
	int status;
	enum kn_precision precision;
	int sm_count;
};

extern struct kn_cuda_ctx kn_cuda;

/* records the first failure; returns nonzero when the context is in error */
int kn_cuda_fail(int status, const char *what, const char *detail, const char *file, int line);
#define CUDA_OK(call)                                                                                   \
	do {                                                                                            \
		cudaError_t e_ = (call);                                                                \
		if (e_ != cudaSuccess)                                                                  \
			kn_cuda_fail(e_ == cudaErrorMemoryAllocation ? KN_ENOMEM : KN_ERR, #call,        \
				     cudaGetErrorString(e_), __FILE__, __LINE__);                         \
	} while (0)
#define BLAS_OK(call)                                                                                   \
	do {                                                                                            \
		cublasStatus_t s_ = (call);                                                             \
		if (s_ != CUBLAS_STATUS_SUCCESS)                                                        \
			kn_cuda_fail(KN_ERR, #call, cublasGetStatusString(s_), __FILE__, __LINE__);      \
	} while (0)
#define LAUNCH_OK() CUDA_OK(cudaGetLastError())

/* scratch of at least `bytes` (grown through the backend's accounting); NULL on failure */
void *kn_cuda_scratch(size_t bytes);

/* element types */
template <typename T> __device__ __forceinline__ float tof(T x);
template <> __device__ __forceinline__ float tof<float>(float x) { return x; }
template <> __device__ __forceinline__ float tof<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }
template <> __device__ __forceinline__ float tof<__half>(__half x) { return __half2float(x); }
template <typename T> __device__ __forceinline__ T fromf(float x);
template <> __device__ __forceinline__ float fromf<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 fromf<__nv_bfloat16>(float x) { return __float2bfloat16(x); }
template <> __device__ __forceinline__ __half fromf<__half>(float x) { return __float2half(x); }

template <typename T> struct cuda_type;
template <> struct cuda_type<float> { static constexpr cudaDataType_t value = CUDA_R_32F; };
template <> struct cuda_type<__nv_bfloat16> { static constexpr cudaDataType_t value = CUDA_R_16BF; };
template <> struct cuda_type<__half> { static constexpr cudaDataType_t value = CUDA_R_16F; };

static inline unsigned ceil_div(size_t a, size_t b) { return (unsigned)((a + b - 1) / b); }

/* forgets cached cuBLASLt algorithm choices (cuda_ops.cu; at each open) */
void kn_cuda_ops_reset(void);

/* the CNN ops (cuda_cnn.cu): fills o's image-model entries; no-op without cuDNN */
template <typename T> void kn_cuda_add_cnn_ops(struct kn_ops *o);
/* the fused attention (cuda_attention.cu): bf16/fp16 tables only */
template <typename T> void kn_cuda_add_flash_ops(struct kn_ops *o);
/* fp32/tf32: none; an explicit specialization must be declared before its first use */
template <> void kn_cuda_add_flash_ops<float>(struct kn_ops *o);
/* destroys cuDNN's handle and the convolution plans (at release) */
void kn_cuda_cnn_release(void);
/* "9.19.0", or "" without cuDNN */
void kn_cuda_cudnn_version(char *buf, size_t n);

/* the op tables, one per activation type (cuda_ops.cu) */
extern const struct kn_ops kn_cuda_ops_f32;
extern const struct kn_ops kn_cuda_ops_bf16;
extern const struct kn_ops kn_cuda_ops_f16;

#endif
