/*
 * tests/emu/fake/cudnn.h — the cuDNN v7-style convolution API kernels/cuda
 * uses, on the CPU: 4-D NHWC tensors and filters, cross-correlation with
 * padding and stride, forward, backward-data and backward-filter with
 * alpha/beta, fp32 accumulation (TF32-rounded fp32 operands under tensor-op
 * math), queued on the handle's stream.
 *
 * The heuristic lists (cudnnGet*Algorithm_v7) are the emulation's own but
 * shaped like cuDNN's, to exercise the caller's choice: each list puts
 * non-deterministic algorithms and a workspace-hungry one (64 MiB) before a
 * deterministic one that fits; fp32 data under FMA math gets FMA algorithms
 * only; and a 1-channel input has no backward-data algorithm (every entry
 * CUDNN_STATUS_NOT_SUPPORTED), as cuDNN may answer for a network's stem.
 * With AMPTUNE_EMU_DNN_NONDET=1 the backward-filter lists have no supported
 * deterministic algorithm, so the fallback to a non-deterministic one runs.
 * The forward list's implicit-precomputed-GEMM entry under-reports its
 * workspace by 4 KiB in the heuristic (cudnnGet*WorkspaceSize gives the true
 * figure), as cuDNN has been reported to do. Running an algorithm checks the
 * descriptors agree, the workspace covers what the algorithm needs, and the
 * pointers are device memory.
 */
#ifndef EMU_FAKE_CUDNN_H
#define EMU_FAKE_CUDNN_H
#include "cuda_runtime.h"

enum cudnnStatus_t {
	CUDNN_STATUS_SUCCESS = 0,
	CUDNN_STATUS_NOT_INITIALIZED = 1001,
	CUDNN_STATUS_BAD_PARAM = 2000,
	CUDNN_STATUS_NOT_SUPPORTED = 3000,
};
enum cudnnDataType_t { CUDNN_DATA_FLOAT = 0, CUDNN_DATA_HALF = 2, CUDNN_DATA_BFLOAT16 = 9 };
enum cudnnTensorFormat_t { CUDNN_TENSOR_NCHW = 0, CUDNN_TENSOR_NHWC = 1 };
enum cudnnConvolutionMode_t { CUDNN_CONVOLUTION = 0, CUDNN_CROSS_CORRELATION = 1 };
enum cudnnMathType_t {
	CUDNN_DEFAULT_MATH = 0,
	CUDNN_TENSOR_OP_MATH = 1,
	CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2,
	CUDNN_FMA_MATH = 3,
};
enum cudnnDeterminism_t { CUDNN_NON_DETERMINISTIC = 0, CUDNN_DETERMINISTIC = 1 };
enum cudnnConvolutionFwdAlgo_t {
	CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM = 0,
	CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM = 1,
	CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING = 5,
	CUDNN_CONVOLUTION_FWD_ALGO_COUNT = 8,
};
enum cudnnConvolutionBwdDataAlgo_t {
	CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 = 0,
	CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 = 1,
	CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING = 3,
	CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT = 6,
};
enum cudnnConvolutionBwdFilterAlgo_t {
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 = 0,
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 = 1,
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3 = 3,
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING = 6,
	CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT = 7,
};

#define EMU_DNN_PERF(name, algo_t)              \
	typedef struct {                        \
		algo_t algo;                    \
		cudnnStatus_t status;           \
		float time;                     \
		size_t memory;                  \
		cudnnDeterminism_t determinism; \
		cudnnMathType_t mathType;       \
		int reserved[3];                \
	} name
EMU_DNN_PERF(cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t);
EMU_DNN_PERF(cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t);
EMU_DNN_PERF(cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t);

struct emu_dnn_handle;
struct emu_dnn_tensor;
struct emu_dnn_conv;
typedef struct emu_dnn_handle *cudnnHandle_t;
typedef struct emu_dnn_tensor *cudnnTensorDescriptor_t;
typedef struct emu_dnn_tensor *cudnnFilterDescriptor_t;
typedef struct emu_dnn_conv *cudnnConvolutionDescriptor_t;

size_t cudnnGetVersion(void);
const char *cudnnGetErrorString(cudnnStatus_t s);
cudnnStatus_t cudnnCreate(cudnnHandle_t *h);
cudnnStatus_t cudnnDestroy(cudnnHandle_t h);
cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s);
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d);
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d);
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f, cudnnDataType_t t, int n,
					 int c, int h, int w);
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *d);
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d);
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t, cudnnTensorFormat_t f, int k,
					 int c, int h, int w);
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *d);
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d);
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
					      int dil_h, int dil_w, cudnnConvolutionMode_t mode, cudnnDataType_t compute);
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m);
cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t h, cudnnTensorDescriptor_t x,
						     cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t c,
						     cudnnTensorDescriptor_t y, int requested, int *returned,
						     cudnnConvolutionFwdAlgoPerf_t *perf);
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t h, cudnnFilterDescriptor_t w,
							  cudnnTensorDescriptor_t dy, cudnnConvolutionDescriptor_t c,
							  cudnnTensorDescriptor_t dx, int requested, int *returned,
							  cudnnConvolutionBwdDataAlgoPerf_t *perf);
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t h, cudnnTensorDescriptor_t x,
							    cudnnTensorDescriptor_t dy, cudnnConvolutionDescriptor_t c,
							    cudnnFilterDescriptor_t dw, int requested, int *returned,
							    cudnnConvolutionBwdFilterAlgoPerf_t *perf);
cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t h, cudnnTensorDescriptor_t x,
						      cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t c,
						      cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t algo, size_t *bytes);
cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t h, cudnnFilterDescriptor_t w,
							   cudnnTensorDescriptor_t dy, cudnnConvolutionDescriptor_t c,
							   cudnnTensorDescriptor_t dx, cudnnConvolutionBwdDataAlgo_t algo,
							   size_t *bytes);
cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t h, cudnnTensorDescriptor_t x,
							     cudnnTensorDescriptor_t dy, cudnnConvolutionDescriptor_t c,
							     cudnnFilterDescriptor_t dw, cudnnConvolutionBwdFilterAlgo_t algo,
							     size_t *bytes);
cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha, cudnnTensorDescriptor_t xd, const void *x,
				      cudnnFilterDescriptor_t wd, const void *w, cudnnConvolutionDescriptor_t cd,
				      cudnnConvolutionFwdAlgo_t algo, void *ws, size_t ws_bytes, const void *beta,
				      cudnnTensorDescriptor_t yd, void *y);
cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void *alpha, cudnnFilterDescriptor_t wd, const void *w,
					   cudnnTensorDescriptor_t dyd, const void *dy, cudnnConvolutionDescriptor_t cd,
					   cudnnConvolutionBwdDataAlgo_t algo, void *ws, size_t ws_bytes,
					   const void *beta, cudnnTensorDescriptor_t dxd, void *dx);
cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void *alpha, cudnnTensorDescriptor_t xd,
					     const void *x, cudnnTensorDescriptor_t dyd, const void *dy,
					     cudnnConvolutionDescriptor_t cd, cudnnConvolutionBwdFilterAlgo_t algo,
					     void *ws, size_t ws_bytes, const void *beta, cudnnFilterDescriptor_t dwd,
					     void *dw);
#endif
