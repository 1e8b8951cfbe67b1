/*
 * tests/emu/fake/emu_dnn.cpp — cuDNN's convolutions on the CPU (cudnn.h says
 * what is modelled and checked).
 */
#include <cblas.h>

#include <vector>

#include "cublas_v2.h" /* emu_load, emu_store, emu_tf32 */
#include "cudnn.h"

struct emu_dnn_handle {
	cudaStream_t stream;
};
struct emu_dnn_tensor {
	int set, filter;
	cudnnDataType_t t;
	cudnnTensorFormat_t f;
	int n, c, h, w; /* a filter: k, c, h, w */
};
struct emu_dnn_conv {
	int set, pad_h, pad_w, u, v, dil_h, dil_w;
	cudnnConvolutionMode_t mode;
	cudnnDataType_t compute;
	cudnnMathType_t math;
};
static emu_registry dnn = { "cuDNN", {} };

template <typename P> static P *obj(P *p, const char *what) { return dnn.of(p, what); }
template <typename P> static cudnnStatus_t create(P **p)
{
	emu_guard g;
	dnn.make(p);
	return CUDNN_STATUS_SUCCESS;
}
template <typename P> static cudnnStatus_t destroy(P *p, const char *what)
{
	emu_guard g;
	dnn.drop(p, what);
	return CUDNN_STATUS_SUCCESS;
}

size_t cudnnGetVersion(void) { return 91900; }

const char *cudnnGetErrorString(cudnnStatus_t s)
{
	switch (s) {
	case CUDNN_STATUS_SUCCESS:
		return "CUDNN_STATUS_SUCCESS";
	case CUDNN_STATUS_NOT_INITIALIZED:
		return "CUDNN_STATUS_NOT_INITIALIZED";
	case CUDNN_STATUS_BAD_PARAM:
		return "CUDNN_STATUS_BAD_PARAM";
	case CUDNN_STATUS_NOT_SUPPORTED:
		return "CUDNN_STATUS_NOT_SUPPORTED";
	}
	return "unknown cuDNN status";
}

cudnnStatus_t cudnnCreate(cudnnHandle_t *h) { return create(h); }
cudnnStatus_t cudnnDestroy(cudnnHandle_t h) { return destroy(h, "handle"); }
cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s)
{
	emu_guard g;
	obj(h, "handle")->stream = s;
	return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d) { return create(d); }
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) { return destroy(d, "tensor descriptor"); }
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *d) { return create(d); }
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) { return destroy(d, "filter descriptor"); }
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *d)
{
	cudnnStatus_t s = create(d);
	(*d)->math = CUDNN_DEFAULT_MATH;
	return s;
}
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d)
{
	return destroy(d, "convolution descriptor");
}

static cudnnStatus_t set4d(emu_dnn_tensor *d, int filter, cudnnTensorFormat_t f, cudnnDataType_t t, int n, int c, int h,
			   int w)
{
	if (n < 1 || c < 1 || h < 1 || w < 1)
		return CUDNN_STATUS_BAD_PARAM;
	*d = emu_dnn_tensor{ 1, filter, t, f, n, c, h, w };
	return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f, cudnnDataType_t t, int n,
					 int c, int h, int w)
{
	emu_guard g;
	return set4d(obj(d, "tensor descriptor"), 0, f, t, n, c, h, w);
}

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t, cudnnTensorFormat_t f, int k,
					 int c, int h, int w)
{
	emu_guard g;
	return set4d(obj(d, "filter descriptor"), 1, f, t, k, c, h, w);
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
					      int dil_h, int dil_w, cudnnConvolutionMode_t mode, cudnnDataType_t compute)
{
	emu_guard g;
	obj(d, "convolution descriptor");
	if (pad_h < 0 || pad_w < 0 || u < 1 || v < 1 || dil_h < 1 || dil_w < 1)
		return CUDNN_STATUS_BAD_PARAM;
	cudnnMathType_t m = d->math;
	*d = emu_dnn_conv{ 1, pad_h, pad_w, u, v, dil_h, dil_w, mode, compute, m };
	return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m)
{
	emu_guard g;
	obj(d, "convolution descriptor")->math = m;
	return CUDNN_STATUS_SUCCESS;
}

/* ---------------- problems ---------------- */

struct conv_problem {
	cudnnDataType_t t;
	int N, C, H, W, OC, K, stride, pad, OH, OW;
};

/* the problem the descriptors describe, or a status saying why there is none */
static cudnnStatus_t problem(const emu_dnn_tensor *x, const emu_dnn_tensor *w, const emu_dnn_conv *c,
			     const emu_dnn_tensor *y, conv_problem *p)
{
	obj(x, "tensor descriptor"), obj(w, "filter descriptor"), obj(c, "convolution descriptor"),
		obj(y, "tensor descriptor");
	if (!x->set || !w->set || !c->set || !y->set || x->filter || !w->filter || y->filter)
		return CUDNN_STATUS_BAD_PARAM;
	if (x->t != w->t || x->t != y->t || c->compute != CUDNN_DATA_FLOAT)
		return CUDNN_STATUS_BAD_PARAM;
	if (x->f != CUDNN_TENSOR_NHWC || w->f != CUDNN_TENSOR_NHWC || y->f != CUDNN_TENSOR_NHWC)
		return CUDNN_STATUS_NOT_SUPPORTED; /* the emulation does NHWC only, the layout the project uses */
	if (c->mode != CUDNN_CROSS_CORRELATION || c->dil_h != 1 || c->dil_w != 1 || c->pad_h != c->pad_w ||
	    c->u != c->v || w->h != w->w)
		return CUDNN_STATUS_NOT_SUPPORTED;
	int OH = (x->h + 2 * c->pad_h - w->h) / c->u + 1, OW = (x->w + 2 * c->pad_w - w->w) / c->v + 1;
	if (w->c != x->c || w->n != y->c || y->n != x->n || y->h != OH || y->w != OW)
		return CUDNN_STATUS_BAD_PARAM;
	*p = conv_problem{ x->t, x->n, x->c, x->h, x->w, w->n, w->h, c->u, c->pad_h, OH, OW };
	return CUDNN_STATUS_SUCCESS;
}

/* ---------------- the algorithm lists ---------------- */

enum dir { FWD, BWD_DATA, BWD_FILTER };
struct algo_entry {
	int algo;
	cudnnDeterminism_t det;
	size_t ws; /* what it needs (cudnnGet*WorkspaceSize) */
	cudnnMathType_t math;
	cudnnStatus_t status;
	size_t ws_heuristic; /* what the heuristic says it needs */
};

static const size_t HUNGRY = (size_t)64 << 20;

static std::vector<algo_entry> algo_list(dir d, const conv_problem &p, cudnnMathType_t desc_math)
{
	cudnnMathType_t m = p.t == CUDNN_DATA_FLOAT && desc_math == CUDNN_FMA_MATH ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
	size_t filter_bytes = (size_t)p.OC * p.K * p.K * p.C * 4;
	std::vector<algo_entry> l;
	auto add = [&](int a, cudnnDeterminism_t det, size_t ws, cudnnMathType_t mt) {
		l.push_back(algo_entry{ a, det, ws, mt, CUDNN_STATUS_SUCCESS, ws });
	};
	if (d == FWD) {
		if (p.t == CUDNN_DATA_FLOAT && m == CUDNN_TENSOR_OP_MATH)
			add(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_DETERMINISTIC, 0,
			    CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
		add(CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING, CUDNN_DETERMINISTIC, HUNGRY, m);
		add(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_DETERMINISTIC,
		    (size_t)p.OH * p.OW * p.K * p.K * sizeof(int) + 4096, m);
		l.back().ws_heuristic -= 4096; /* the heuristic under-reports it (cudnn.h) */
		add(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_DETERMINISTIC, 0, m);
	} else if (d == BWD_DATA) {
		add(CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, CUDNN_NON_DETERMINISTIC, 0, m);
		add(CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING, CUDNN_DETERMINISTIC, HUNGRY, m);
		add(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_DETERMINISTIC, filter_bytes, m);
		if (p.C == 1)
			for (auto &e : l)
				e.status = CUDNN_STATUS_NOT_SUPPORTED;
	} else {
		add(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, CUDNN_NON_DETERMINISTIC, 0, m);
		add(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, CUDNN_NON_DETERMINISTIC, filter_bytes, m);
		add(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING, CUDNN_DETERMINISTIC, HUNGRY, m);
		add(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_DETERMINISTIC, filter_bytes + (size_t)p.N * 4, m);
		const char *nondet = getenv("AMPTUNE_EMU_DNN_NONDET");
		if (nondet && !strcmp(nondet, "1")) /* a cuDNN with no deterministic backward-filter algorithm */
			for (auto &e : l)
				if (e.det == CUDNN_DETERMINISTIC)
					e.status = CUDNN_STATUS_NOT_SUPPORTED;
	}
	return l;
}

/* What every convolution call starts with: a live handle and descriptors that describe one
 * problem (x, w, y as in the forward direction); then f(problem) is the answer. */
template <typename F>
static cudnnStatus_t on_problem(cudnnHandle_t h, const emu_dnn_tensor *x, const emu_dnn_tensor *w, const emu_dnn_conv *c,
				const emu_dnn_tensor *y, F f)
{
	emu_guard g;
	obj(h, "handle");
	conv_problem p;
	cudnnStatus_t s = problem(x, w, c, y, &p);
	return s ? s : f(p);
}

/* the entry of the list for algorithm `algo` of direction d under the descriptor's math type
 * (a tensor-op one also under ALLOW_CONVERSION); false when there is none */
static bool find_algo(dir d, const conv_problem &p, const emu_dnn_conv *c, int algo, algo_entry *found)
{
	bool any = false;
	for (auto &x : algo_list(d, p, c->math))
		if (x.algo == algo && x.status == CUDNN_STATUS_SUCCESS &&
		    (x.math == c->math || (c->math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION && x.math == CUDNN_TENSOR_OP_MATH)))
			*found = x, any = true;
	return any;
}

template <typename Perf>
static cudnnStatus_t list(dir d, const conv_problem &p, cudnnMathType_t desc_math, int requested, int *returned,
			  Perf *perf)
{
	std::vector<algo_entry> l = algo_list(d, p, desc_math);
	*returned = 0;
	if (requested < 1)
		return CUDNN_STATUS_BAD_PARAM;
	for (size_t i = 0; i < l.size() && (int)i < requested; i++) {
		memset(&perf[i], 0, sizeof perf[i]);
		perf[i].algo = (decltype(perf[i].algo))l[i].algo;
		perf[i].status = l[i].status;
		perf[i].time = l[i].status == CUDNN_STATUS_SUCCESS ? 0.1f * (float)(i + 1) : -1.0f;
		perf[i].memory = l[i].ws_heuristic;
		perf[i].determinism = l[i].det;
		perf[i].mathType = l[i].math;
		++*returned;
	}
	return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t h, cudnnTensorDescriptor_t x,
						     cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t c,
						     cudnnTensorDescriptor_t y, int requested, int *returned,
						     cudnnConvolutionFwdAlgoPerf_t *perf)
{
	return on_problem(h, x, w, c, y, [&](const conv_problem &p) {
		return list(FWD, p, c->math, requested, returned, perf);
	});
}

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t h, cudnnFilterDescriptor_t w,
							  cudnnTensorDescriptor_t dy, cudnnConvolutionDescriptor_t c,
							  cudnnTensorDescriptor_t dx, int requested, int *returned,
							  cudnnConvolutionBwdDataAlgoPerf_t *perf)
{
	return on_problem(h, dx, w, c, dy, [&](const conv_problem &p) {
		return list(BWD_DATA, p, c->math, requested, returned, perf);
	});
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t h, cudnnTensorDescriptor_t x,
							    cudnnTensorDescriptor_t dy, cudnnConvolutionDescriptor_t c,
							    cudnnFilterDescriptor_t dw, int requested, int *returned,
							    cudnnConvolutionBwdFilterAlgoPerf_t *perf)
{
	return on_problem(h, x, dw, c, dy, [&](const conv_problem &p) {
		return list(BWD_FILTER, p, c->math, requested, returned, perf);
	});
}

/* what algorithm `algo` of direction d needs under the descriptor's math type */
static cudnnStatus_t ws_size(dir d, const conv_problem &p, const emu_dnn_conv *c, int algo, size_t *bytes)
{
	algo_entry e;
	if (!find_algo(d, p, c, algo, &e))
		return CUDNN_STATUS_NOT_SUPPORTED;
	*bytes = e.ws;
	return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t h, cudnnTensorDescriptor_t x,
						      cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t c,
						      cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t algo, size_t *bytes)
{
	return on_problem(h, x, w, c, y, [&](const conv_problem &p) { return ws_size(FWD, p, c, algo, bytes); });
}

cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t h, cudnnFilterDescriptor_t w,
							   cudnnTensorDescriptor_t dy, cudnnConvolutionDescriptor_t c,
							   cudnnTensorDescriptor_t dx, cudnnConvolutionBwdDataAlgo_t algo,
							   size_t *bytes)
{
	return on_problem(h, dx, w, c, dy, [&](const conv_problem &p) { return ws_size(BWD_DATA, p, c, algo, bytes); });
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t h, cudnnTensorDescriptor_t x,
							     cudnnTensorDescriptor_t dy, cudnnConvolutionDescriptor_t c,
							     cudnnFilterDescriptor_t dw, cudnnConvolutionBwdFilterAlgo_t algo,
							     size_t *bytes)
{
	return on_problem(h, x, dw, c, dy, [&](const conv_problem &p) {
		return ws_size(BWD_FILTER, p, c, algo, bytes);
	});
}

/* ---------------- running ---------------- */

/* checks algorithm, math type, workspace and pointers before a run; a status on failure */
static cudnnStatus_t admit(dir d, const conv_problem &p, const emu_dnn_conv *c, int algo, void *ws, size_t ws_bytes,
			   const void *in0, const void *in1, const void *out)
{
	algo_entry e;
	if (!find_algo(d, p, c, algo, &e))
		return CUDNN_STATUS_NOT_SUPPORTED; /* not an algorithm for this problem in this math mode */
	if (ws_bytes < e.ws || (e.ws && !emu_is_device(ws, e.ws)))
		return CUDNN_STATUS_BAD_PARAM;
	size_t es = p.t == CUDNN_DATA_FLOAT ? 4 : 2;
	size_t xb = (size_t)p.N * p.H * p.W * p.C * es, wb = (size_t)p.OC * p.K * p.K * p.C * es,
	       yb = (size_t)p.N * p.OH * p.OW * p.OC * es;
	size_t sizes[3][3] = { { xb, wb, yb }, { wb, yb, xb }, { xb, yb, wb } };
	const void *ptrs[3] = { in0, in1, out };
	for (int i = 0; i < 3; i++)
		if (!emu_is_device(ptrs[i], sizes[d][i]))
			emu_fatal("cuDNN convolution (direction %d) operand %d (%p, %zu bytes): not device memory", d, i,
				  ptrs[i], sizes[d][i]);
	for (int i = 0; i < 2; i++) /* the output overlapping an input is undefined on a GPU */
		if ((uintptr_t)out < (uintptr_t)ptrs[i] + sizes[d][i] && (uintptr_t)ptrs[i] < (uintptr_t)out + sizes[d][2])
			emu_fatal("cuDNN convolution (direction %d): the output %p overlaps operand %d %p", d, out, i, ptrs[i]);
	return CUDNN_STATUS_SUCCESS;
}

static cudaDataType_t ctype(cudnnDataType_t t)
{
	return t == CUDNN_DATA_FLOAT ? CUDA_R_32F : t == CUDNN_DATA_HALF ? CUDA_R_16F : CUDA_R_16BF;
}

/* The convolution in one direction on float copies of the operands (TF32-rounded under tensor-op
 * math), through im2col and OpenBLAS, image by image: fp32 accumulation, in OpenBLAS's order. */
static void run_conv(dir d, conv_problem p, int tf32, float alpha, float beta, const void *a0, const void *a1, void *out)
{
	cudaDataType_t t = ctype(p.t);
	int OHW = p.OH * p.OW, KKC = p.K * p.K * p.C;
	size_t nx = (size_t)p.N * p.H * p.W * p.C, nw = (size_t)p.OC * KKC, ny = (size_t)p.N * OHW * p.OC;
	std::vector<float> x(d == BWD_DATA ? 0 : nx), w(d == BWD_FILTER ? 0 : nw), y(d == FWD ? 0 : ny);
	auto load = [&](std::vector<float> &v, const void *src) {
		for (size_t i = 0; i < v.size(); i++) {
			float f = emu_load(t, src, i);
			v[i] = tf32 ? emu_tf32(f) : f;
		}
	};
	if (d == FWD)
		load(x, a0), load(w, a1);
	else if (d == BWD_DATA)
		load(w, a0), load(y, a1);
	else
		load(x, a0), load(y, a1);
	std::vector<float> acc(d == FWD ? ny : d == BWD_DATA ? nx : nw, 0.0f), col((size_t)OHW * KKC);
	/* col[o][(kh K + kw) C + c] = x[n][ih][iw][c] (0 where padding): rows are output pixels */
	auto each_tap = [&](int n, auto f) {
		for (int oh = 0; oh < p.OH; oh++)
			for (int ow = 0; ow < p.OW; ow++)
				for (int kh = 0; kh < p.K; kh++)
					for (int kw = 0; kw < p.K; kw++) {
						int ih = oh * p.stride - p.pad + kh, iw = ow * p.stride - p.pad + kw;
						size_t ci = ((size_t)(oh * p.OW + ow) * p.K * p.K + kh * p.K + kw) * p.C;
						if (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W)
							f(ci, (((size_t)n * p.H + ih) * p.W + iw) * p.C);
						else if (d != BWD_DATA)
							memset(&col[ci], 0, p.C * sizeof(float));
					}
	};
	for (int n = 0; n < p.N; n++) {
		size_t yo = (size_t)n * OHW * p.OC;
		if (d != BWD_DATA)
			each_tap(n, [&](size_t ci, size_t xi) { memcpy(&col[ci], &x[xi], p.C * sizeof(float)); });
		if (d == FWD) /* y_n (OHW x OC) = col W^T */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OHW, p.OC, KKC, 1.0f, col.data(), KKC, w.data(),
				    KKC, 0.0f, &acc[yo], p.OC);
		else if (d == BWD_FILTER) /* dW (OC x KKC) += dy_n^T col */
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p.OC, KKC, OHW, 1.0f, &y[yo], p.OC, col.data(),
				    KKC, 1.0f, acc.data(), KKC);
		else { /* dcol = dy_n W, scattered back onto dx */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OHW, KKC, p.OC, 1.0f, &y[yo], p.OC, w.data(),
				    KKC, 0.0f, col.data(), KKC);
			each_tap(n, [&](size_t ci, size_t xi) {
				for (int c = 0; c < p.C; c++)
					acc[xi + c] += col[ci + c];
			});
		}
	}
	for (size_t i = 0; i < acc.size(); i++) {
		float r = alpha * acc[i];
		if (beta != 0.0f)
			r += beta * emu_load(t, out, i);
		emu_store(t, out, i, r);
	}
}

static cudnnStatus_t submit(cudnnHandle_t h, dir d, const conv_problem &p, const emu_dnn_conv *c, int algo, void *ws,
			    size_t ws_bytes, const void *alpha, const void *beta, const void *a0, const void *a1, void *out)
{
	cudnnStatus_t s = admit(d, p, c, algo, ws, ws_bytes, a0, a1, out);
	if (s)
		return s;
	/* fp32 data under any math but FMA may run on TF32 tensor cores (DEFAULT allows it since Ampere) */
	int tf32 = p.t == CUDNN_DATA_FLOAT && c->math != CUDNN_FMA_MATH;
	float al = *(const float *)alpha, be = *(const float *)beta;
	emu_enqueue(obj(h, "handle")->stream, [=] { run_conv(d, p, tf32, al, be, a0, a1, out); });
	return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha, cudnnTensorDescriptor_t xd, const void *x,
				      cudnnFilterDescriptor_t wd, const void *w, cudnnConvolutionDescriptor_t cd,
				      cudnnConvolutionFwdAlgo_t algo, void *ws, size_t ws_bytes, const void *beta,
				      cudnnTensorDescriptor_t yd, void *y)
{
	return on_problem(h, xd, wd, cd, yd, [&](const conv_problem &p) {
		return submit(h, FWD, p, cd, algo, ws, ws_bytes, alpha, beta, x, w, y);
	});
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void *alpha, cudnnFilterDescriptor_t wd, const void *w,
					   cudnnTensorDescriptor_t dyd, const void *dy, cudnnConvolutionDescriptor_t cd,
					   cudnnConvolutionBwdDataAlgo_t algo, void *ws, size_t ws_bytes,
					   const void *beta, cudnnTensorDescriptor_t dxd, void *dx)
{
	return on_problem(h, dxd, wd, cd, dyd, [&](const conv_problem &p) {
		return submit(h, BWD_DATA, p, cd, algo, ws, ws_bytes, alpha, beta, w, dy, dx);
	});
}

cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void *alpha, cudnnTensorDescriptor_t xd,
					     const void *x, cudnnTensorDescriptor_t dyd, const void *dy,
					     cudnnConvolutionDescriptor_t cd, cudnnConvolutionBwdFilterAlgo_t algo,
					     void *ws, size_t ws_bytes, const void *beta, cudnnFilterDescriptor_t dwd,
					     void *dw)
{
	return on_problem(h, xd, dwd, cd, dyd, [&](const conv_problem &p) {
		return submit(h, BWD_FILTER, p, cd, algo, ws, ws_bytes, alpha, beta, x, dy, dw);
	});
}
