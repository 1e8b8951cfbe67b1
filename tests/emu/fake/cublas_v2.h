/*
 * tests/emu/fake/cublas_v2.h — the cuBLAS calls kernels/cuda makes, on the
 * CPU: strided batched GEMM in column-major order, checked as cuBLAS checks
 * its arguments, computed with fp32 accumulation (TF32-rounded operands for
 * CUBLAS_COMPUTE_32F_FAST_TF32), queued on the handle's stream.
 */
#ifndef EMU_FAKE_CUBLAS_V2_H
#define EMU_FAKE_CUBLAS_V2_H
#include "cuda_runtime.h"

enum cublasStatus_t {
	CUBLAS_STATUS_SUCCESS = 0,
	CUBLAS_STATUS_NOT_INITIALIZED = 1,
	CUBLAS_STATUS_ALLOC_FAILED = 3,
	CUBLAS_STATUS_INVALID_VALUE = 7,
	CUBLAS_STATUS_ARCH_MISMATCH = 8,
	CUBLAS_STATUS_EXECUTION_FAILED = 13,
	CUBLAS_STATUS_NOT_SUPPORTED = 15,
};
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum cublasComputeType_t { CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_FAST_TF32 = 77 };
enum cublasMath_t {
	CUBLAS_DEFAULT_MATH = 0,
	CUBLAS_TF32_TENSOR_OP_MATH = 3,
	CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16,
};
enum cublasGemmAlgo_t { CUBLAS_GEMM_DEFAULT = -1 };

struct emu_blas_handle;
typedef struct emu_blas_handle *cublasHandle_t;

const char *cublasGetStatusString(cublasStatus_t s);
cublasStatus_t cublasCreate(cublasHandle_t *h);
cublasStatus_t cublasDestroy(cublasHandle_t h);
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s);
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode);
cublasStatus_t cublasSetWorkspace(cublasHandle_t h, void *ws, size_t bytes);
cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t transa, cublasOperation_t transb, int m,
					  int n, int k, const void *alpha, const void *A, cudaDataType_t Atype, int lda,
					  long long strideA, const void *B, cudaDataType_t Btype, int ldb, long long strideB,
					  const void *beta, void *C, cudaDataType_t Ctype, int ldc, long long strideC,
					  int batch, cublasComputeType_t compute, cublasGemmAlgo_t algo);

/* shared with the cuBLASLt stand-in: element i of a matrix of type t, as float, and its store */
float emu_load(cudaDataType_t t, const void *p, size_t i);
void emu_store(cudaDataType_t t, void *p, size_t i, float v);
size_t emu_type_bytes(cudaDataType_t t);
/* x rounded to TF32 (10 fraction bits, nearest even) */
float emu_tf32(float x);
#endif
