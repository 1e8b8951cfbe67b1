/*
 * The CNN ops on CUDA, templated over the activation type T like cuda_ops.cu.
 *
 * Convolutions go through cuDNN on NHWC tensors (the layout tensor cores
 * want) with [OC, K, K, C] filters, which is cuDNN's NHWC filter layout, so
 * no transposes are needed. Each distinct shape gets a plan the first time it
 * is seen: descriptors plus one algorithm per direction, chosen from cuDNN's
 * heuristics as the first that is deterministic, supported, in the requested
 * math mode and within the workspace budget; plans are kept for the run.
 * Where cuDNN offers no deterministic algorithm for a direction, the first
 * non-deterministic one that qualifies is taken rather than failing the run,
 * and running it sets the backend's `nondeterministic` flag (the record's
 * `deterministic: false`).
 * A shape without a backward-data algorithm (cuDNN may offer none for the
 * 1-channel stem, whose input gradient is never asked for) fails only if
 * backward-data is called on it.
 * The budget is fixed when the model sizes its workspace (the largest
 * conv2d_workspace_bytes over its layers, at most CONV_WS_MAX, and at most half
 * of what is left under --device-mem-limit or on the device), so the chosen
 * algorithms always fit the one workspace the model allocates, and a tight
 * limit selects lighter algorithms instead of failing.
 *
 * Math modes: fp32 runs with CUDNN_FMA_MATH (no TF32 anywhere), tf32 lets
 * cuDNN use TF32 tensor cores, bf16/fp16 data use tensor cores with fp32
 * accumulation (cuDNN's "pseudo" half/bfloat16 configurations).
 *
 * Batch normalisation, ReLU, pooling, the NCHW->NHWC conversion, accuracy
 * and SGD are our own kernels. Batch-norm statistics reduce in a fixed order
 * (chunks of rows, two-pass mean and squared deviations per chunk, chunks
 * merged in order by Chan's formula in double), so a run is bitwise
 * reproducible like the GPT ops.
 *
 * cuDNN is created lazily, at the first CNN op, so GPT runs never load it.
 * This file uses cuDNN's v7-style convolution API (still supported in
 * cuDNN 9, where it is marked legacy); the graph API is the route to fusing
 * BN+ReLU into the convolution's epilogue.
 */
#include <math.h>
#include <string.h>

#include "kernels/cuda/cuda_common.cuh"

#if AMPTUNE_HAVE_CUDNN
#include <cudnn.h>

#define DNN_OK(call)                                                                                   \
	do {                                                                                           \
		cudnnStatus_t s_ = (call);                                                             \
		if (s_ != CUDNN_STATUS_SUCCESS)                                                        \
			kn_cuda_fail(KN_ERR, #call, cudnnGetErrorString(s_), __FILE__, __LINE__);      \
	} while (0)
#define SKIP_IF_FAILED()            \
	do {                        \
		if (kn_cuda.status) \
			return;     \
	} while (0)

static cudaStream_t S() { return kn_cuda.stream; }

#include "kernels/cuda/cnn_kernels.cuh"

/* ---------------- cuDNN handle and convolution plans ---------------- */

#define CONV_WS_MAX ((size_t)256 << 20)
#define MAX_PLANS 128

struct conv_plan {
	struct kn_conv_shape s;
	cudnnDataType_t dt;
	cudnnTensorDescriptor_t x, y;
	cudnnFilterDescriptor_t w;
	cudnnConvolutionDescriptor_t conv[3]; /* fwd, bwd data, bwd filter: each with its algorithm's math type */
	cudnnConvolutionFwdAlgo_t fwd;
	cudnnConvolutionBwdDataAlgo_t bwd_data;
	cudnnConvolutionBwdFilterAlgo_t bwd_filter;
	size_t ws[3];
	int nondet[3];     /* the direction's algorithm is non-deterministic (no deterministic one qualified) */
	size_t budget;     /* the workspace its algorithms had to fit */
	int no_bwd_data;   /* no backward-data algorithm qualified: fine for a layer that never runs it (the stem) */
};

static struct {
	cudnnHandle_t h;
	struct conv_plan plans[MAX_PLANS];
	int nplans;
	size_t budget;  /* workspace every later plan must fit; fixed by the first conv2d_workspace_bytes */
	int budget_set;
	size_t largest_ws; /* the largest workspace a plan needs: what the model allocated */
} dnn;

static cudnnHandle_t handle(void)
{
	if (dnn.h || kn_cuda.status)
		return dnn.h;
	DNN_OK(cudnnCreate(&dnn.h));
	if (dnn.h)
		DNN_OK(cudnnSetStream(dnn.h, S()));
	return kn_cuda.status ? NULL : dnn.h;
}

static void plan_destroy(struct conv_plan *p)
{
	if (p->x)
		cudnnDestroyTensorDescriptor(p->x);
	if (p->y)
		cudnnDestroyTensorDescriptor(p->y);
	if (p->w)
		cudnnDestroyFilterDescriptor(p->w);
	for (int i = 0; i < 3; i++)
		if (p->conv[i])
			cudnnDestroyConvolutionDescriptor(p->conv[i]);
	memset(p, 0, sizeof *p);
}

void kn_cuda_cnn_release(void)
{
	for (int i = 0; i < dnn.nplans; i++)
		plan_destroy(&dnn.plans[i]);
	if (dnn.h)
		cudnnDestroy(dnn.h);
	memset(&dnn, 0, sizeof dnn);
}

template <typename T> struct dnn_type;
template <> struct dnn_type<float> { static constexpr cudnnDataType_t value = CUDNN_DATA_FLOAT; };
template <> struct dnn_type<__nv_bfloat16> { static constexpr cudnnDataType_t value = CUDNN_DATA_BFLOAT16; };
template <> struct dnn_type<__half> { static constexpr cudnnDataType_t value = CUDNN_DATA_HALF; };

static cudnnMathType_t wanted_math(void)
{
	return kn_cuda.precision == KN_FP32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
}

/* fp32 accepts only FMA math (TF32 would change its numbers); the others take what cuDNN proposes,
 * except ALLOW_CONVERSION, which may round fp32 (tf32) data down to fp16 to reach tensor cores */
static int math_ok(cudnnMathType_t m)
{
	if (kn_cuda.precision == KN_FP32)
		return m == CUDNN_FMA_MATH;
	return m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

/* Workspace the model may give the convolutions: half of what is left under
 * the limit (or on the device), at most CONV_WS_MAX. */
static size_t workspace_budget(void)
{
	struct kn_backend *be = kn_cuda.be;
	size_t left;
	if (be->mem_limit_bytes) {
		left = be->mem_limit_bytes > be->mem_in_use_bytes ? be->mem_limit_bytes - be->mem_in_use_bytes : 0;
	} else {
		size_t free_b = 0, total_b = 0;
		if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
			cudaGetLastError();
			free_b = 0;
		}
		left = free_b;
	}
	left /= 2;
	return left < CONV_WS_MAX ? left : CONV_WS_MAX;
}

static int same_shape(const struct kn_conv_shape *a, const struct kn_conv_shape *b)
{
	return a->N == b->N && a->H == b->H && a->W == b->W && a->C == b->C && a->OC == b->OC && a->K == b->K &&
	       a->stride == b->stride && a->pad == b->pad;
}

/* From heuristic results best first: the first algorithm that is supported,
 * deterministic, in an allowed math mode and within budget; its math type is
 * set on conv. Its workspace is the larger of the heuristic's figure and what
 * ws_query(algo, &bytes) (cudnnGet*WorkspaceSize) answers once that math type
 * is set (the two have been reported to differ). When no deterministic one
 * qualifies, the first non-deterministic one that does, with *nondet set.
 * Returns 0 when none qualifies. */
template <typename Perf, typename Algo, typename Query>
static int pick(const Perf *perf, int n, size_t budget, cudnnConvolutionDescriptor_t conv, Algo *algo, size_t *ws,
		int *nondet, Query ws_query)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n && !kn_cuda.status; i++)
			if (perf[i].status == CUDNN_STATUS_SUCCESS &&
			    (perf[i].determinism == CUDNN_DETERMINISTIC) == (pass == 0) &&
			    perf[i].memory <= budget && math_ok(perf[i].mathType)) {
				DNN_OK(cudnnSetConvolutionMathType(conv, perf[i].mathType));
				size_t need = perf[i].memory, asked = 0;
				if (!kn_cuda.status && ws_query(perf[i].algo, &asked) == CUDNN_STATUS_SUCCESS &&
				    asked > need)
					need = asked;
				if (kn_cuda.status || need > budget)
					continue;
				*algo = perf[i].algo;
				*ws = need;
				*nondet = pass == 1;
				return 1;
			}
	return 0;
}

static size_t plan_ws(const struct conv_plan *p)
{
	size_t w = p->ws[0] > p->ws[1] ? p->ws[0] : p->ws[1];
	return w > p->ws[2] ? w : p->ws[2];
}

/* Fails the backend: no algorithm of direction `dir` (0 forward, 1 backward-data, 2 backward-filter)
 * qualified for plan p; out of memory when a larger workspace might have allowed one. */
static void no_algorithm(const struct conv_plan *p, int dir)
{
	static const char *name[3] = { "forward", "backward-data", "backward-filter" };
	const struct kn_conv_shape *s = &p->s;
	char detail[200];
	snprintf(detail, sizeof detail,
		 "no %s algorithm for N=%d %dx%dx%d -> %d channels, %dx%d stride %d pad %d "
		 "within a %zu-byte workspace",
		 name[dir], s->N, s->H, s->W, s->C, s->OC, s->K, s->K, s->stride, s->pad, p->budget);
	kn_cuda_fail(p->budget < CONV_WS_MAX ? KN_ENOMEM : KN_EUNAVAIL, "cuDNN algorithm choice", detail, __FILE__,
		     __LINE__);
}

/* The plan for shape s, made on first use with algorithms that fit `budget`. Forward and
 * backward-filter must have one; a missing backward-data algorithm fails only a call of it. */
template <typename T> static struct conv_plan *plan_for(const struct kn_conv_shape *s, size_t budget)
{
	cudnnDataType_t dt = dnn_type<T>::value;
	for (int i = 0; i < dnn.nplans; i++)
		if (dnn.plans[i].dt == dt && same_shape(&dnn.plans[i].s, s))
			return &dnn.plans[i];
	cudnnHandle_t h = handle();
	if (!h)
		return NULL;
	if (dnn.nplans == MAX_PLANS) {
		kn_cuda_fail(KN_ERR, "convolution plan cache", "more than 128 distinct convolution shapes", __FILE__,
			     __LINE__);
		return NULL;
	}
	struct conv_plan *p = &dnn.plans[dnn.nplans];
	memset(p, 0, sizeof *p);
	p->s = *s;
	p->dt = dt;
	int OH = kn_conv_out_dim(s->H, s->K, s->stride, s->pad), OW = kn_conv_out_dim(s->W, s->K, s->stride, s->pad);
	DNN_OK(cudnnCreateTensorDescriptor(&p->x));
	DNN_OK(cudnnCreateTensorDescriptor(&p->y));
	DNN_OK(cudnnCreateFilterDescriptor(&p->w));
	for (int i = 0; i < 3; i++) {
		DNN_OK(cudnnCreateConvolutionDescriptor(&p->conv[i]));
		if (kn_cuda.status)
			break;
		DNN_OK(cudnnSetConvolution2dDescriptor(p->conv[i], s->pad, s->pad, s->stride, s->stride, 1, 1,
						       CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
		DNN_OK(cudnnSetConvolutionMathType(p->conv[i], wanted_math()));
	}
	if (kn_cuda.status) {
		plan_destroy(p);
		return NULL;
	}
	DNN_OK(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NHWC, dt, s->N, s->C, s->H, s->W));
	DNN_OK(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NHWC, dt, s->N, s->OC, OH, OW));
	DNN_OK(cudnnSetFilter4dDescriptor(p->w, dt, CUDNN_TENSOR_NHWC, s->OC, s->C, s->K, s->K));
	int found[3] = { 0, 0, 0 }, n = 0;
	if (!kn_cuda.status) {
		cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
		DNN_OK(cudnnGetConvolutionForwardAlgorithm_v7(h, p->x, p->w, p->conv[0], p->y,
							      CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
		found[0] = pick(perf, n, budget, p->conv[0], &p->fwd, &p->ws[0], &p->nondet[0], [&](cudnnConvolutionFwdAlgo_t a, size_t *b) {
			return cudnnGetConvolutionForwardWorkspaceSize(h, p->x, p->w, p->conv[0], p->y, a, b);
		});
	}
	if (!kn_cuda.status) {
		cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
		DNN_OK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p->w, p->y, p->conv[1], p->x,
								   CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
		found[1] = pick(perf, n, budget, p->conv[1], &p->bwd_data, &p->ws[1], &p->nondet[1],
				[&](cudnnConvolutionBwdDataAlgo_t a, size_t *b) {
					return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p->w, p->y, p->conv[1], p->x, a, b);
				});
	}
	if (!kn_cuda.status) {
		cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
		DNN_OK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p->x, p->y, p->conv[2], p->w,
								     CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
		found[2] = pick(perf, n, budget, p->conv[2], &p->bwd_filter, &p->ws[2], &p->nondet[2],
				[&](cudnnConvolutionBwdFilterAlgo_t a, size_t *b) {
					return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p->x, p->y, p->conv[2], p->w, a, b);
				});
	}
	p->budget = budget;
	p->no_bwd_data = !found[1];
	if (!kn_cuda.status && !(found[0] && found[2]))
		no_algorithm(p, !found[0] ? 0 : 2);
	if (kn_cuda.status) {
		plan_destroy(p);
		return NULL;
	}
	dnn.nplans++;
	if (plan_ws(p) > dnn.largest_ws)
		dnn.largest_ws = plan_ws(p);
	return p;
}

/* The model calls this for every layer before allocating one workspace of the
 * largest answer: the budget is fixed at the first call, and every plan made
 * later (a partial last batch, say) must fit the largest answer given. */
template <typename T> static size_t conv2d_workspace_bytes(const struct kn_conv_shape *s)
{
	if (kn_cuda.status)
		return 0;
	if (!dnn.budget_set) {
		dnn.budget = workspace_budget();
		dnn.budget_set = 1;
	}
	const struct conv_plan *p = plan_for<T>(s, dnn.budget);
	return p ? plan_ws(p) : 0;
}

/* plans made by the ops themselves fit the workspace the model sized from conv2d_workspace_bytes */
static size_t op_budget(void) { return dnn.largest_ws; }

/* The plan for s when direction dir (0 forward, 1 backward-data, 2 backward-filter) may run
 * on it, else NULL with the backend failed; running a non-deterministic algorithm marks the
 * run so (the backend's nondeterministic flag). */
template <typename T> static struct conv_plan *plan_to_run(const struct kn_conv_shape *s, int dir)
{
	struct conv_plan *p = plan_for<T>(s, op_budget());
	if (p && dir == 1 && p->no_bwd_data) {
		no_algorithm(p, 1);
		return NULL;
	}
	if (p && p->nondet[dir])
		kn_cuda.be->nondeterministic = 1;
	return p;
}

static const float ONE = 1.0f, ZERO = 0.0f;

template <typename T>
static void conv2d_forward(void *out, const void *inp, const void *weight, void *work, const struct kn_conv_shape *s)
{
	SKIP_IF_FAILED();
	struct conv_plan *p = plan_to_run<T>(s, 0);
	if (p)
		DNN_OK(cudnnConvolutionForward(dnn.h, &ONE, p->x, inp, p->w, weight, p->conv[0], p->fwd, work, p->ws[0],
					       &ZERO, p->y, out));
}

template <typename T>
static void conv2d_backward_data(void *dinp, const void *dout, const void *weight, void *work,
				 const struct kn_conv_shape *s)
{
	SKIP_IF_FAILED();
	struct conv_plan *p = plan_to_run<T>(s, 1);
	if (p)
		DNN_OK(cudnnConvolutionBackwardData(dnn.h, &ONE, p->w, weight, p->y, dout, p->conv[1], p->bwd_data, work,
						    p->ws[1], &ZERO, p->x, dinp));
}

/* accumulates: beta = 1 */
template <typename T>
static void conv2d_backward_filter(void *dweight, const void *dout, const void *inp, void *work,
				   const struct kn_conv_shape *s)
{
	SKIP_IF_FAILED();
	struct conv_plan *p = plan_to_run<T>(s, 2);
	if (p)
		DNN_OK(cudnnConvolutionBackwardFilter(dnn.h, &ONE, p->x, inp, p->y, dout, p->conv[2], p->bwd_filter, work,
						      p->ws[2], &ONE, p->w, dweight));
}

/* ---------------- layout ---------------- */

template <typename T> static void image_to_nhwc(void *out, const float *images, int N, int C, int H, int W)
{
	SKIP_IF_FAILED();
	size_t n = (size_t)N * C * H * W;
	image_to_nhwc_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)out, images, N, C, H * W);
	LAUNCH_OK();
}

/* ---------------- batch normalisation ---------------- */

template <typename T>
static void batchnorm_forward(void *out, void *mean, void *rstd, void *running_mean, void *running_var, const void *inp,
			      const void *weight, const void *bias, const void *residual, int relu, int M, int C, int train,
			      float momentum)
{
	SKIP_IF_FAILED();
	if (train) {
		int chunks;
		long rows_per;
		bn_chunks(M, &chunks, &rows_per);
		float *part = (float *)kn_cuda_scratch(2 * (size_t)chunks * C * sizeof(float));
		if (!part)
			return;
		dim3 grid(ceil_div(C, BN_TX), chunks), block(BN_TX, BN_TY);
		bn_moments_k<T><<<grid, block, 0, S()>>>(part, part + (size_t)chunks * C, (const T *)inp, M, C, rows_per);
		LAUNCH_OK();
		bn_stats_finish_k<<<ceil_div(C, 128), 128, 0, S()>>>((float *)mean, (float *)rstd, (float *)running_mean,
								      (float *)running_var, part, part + (size_t)chunks * C,
								      M, C, chunks, rows_per, momentum);
	} else {
		bn_eval_stats_k<<<ceil_div(C, 128), 128, 0, S()>>>((float *)mean, (float *)rstd, (const float *)running_mean,
								    (const float *)running_var, C);
	}
	LAUNCH_OK();
	size_t n = (size_t)M * C;
	bn_apply_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)out, (const T *)inp, (const float *)mean, (const float *)rstd,
							 (const T *)weight, (const T *)bias, (const T *)residual, relu, n, C);
	LAUNCH_OK();
}

template <typename T>
static void batchnorm_backward(void *dinp, void *dweight, void *dbias, const void *dout, const void *relu_out,
			       const void *inp, const void *weight, const void *mean, const void *rstd, int M, int C)
{
	SKIP_IF_FAILED();
	int chunks;
	long rows_per;
	bn_chunks(M, &chunks, &rows_per);
	float *part = (float *)kn_cuda_scratch((2 * (size_t)chunks * C + 2 * (size_t)C) * sizeof(float));
	if (!part)
		return;
	float *part2 = part + (size_t)chunks * C, *k1 = part2 + (size_t)chunks * C, *k2 = k1 + C;
	dim3 grid(ceil_div(C, BN_TX), chunks), block(BN_TX, BN_TY);
	bn_backward_sums_k<T><<<grid, block, 0, S()>>>(part, part2, (const T *)dout, (const T *)relu_out, (const T *)inp,
						       (const float *)mean, (const float *)rstd, M, C, rows_per);
	LAUNCH_OK();
	bn_backward_finish_k<T><<<ceil_div(C, 128), 128, 0, S()>>>((T *)dweight, (T *)dbias, k1, k2, part, part2, M, C,
								   chunks);
	LAUNCH_OK();
	size_t n = (size_t)M * C;
	bn_backward_dx_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)dinp, (const T *)dout, (const T *)relu_out,
							       (const T *)inp, (const T *)weight, (const float *)mean,
							       (const float *)rstd, k1, k2, n, C);
	LAUNCH_OK();
}

/* ---------------- ReLU and pooling ---------------- */

template <typename T> static void relu_forward(void *out, const void *inp, size_t n)
{
	SKIP_IF_FAILED();
	relu_forward_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)out, (const T *)inp, n);
	LAUNCH_OK();
}

template <typename T> static void relu_backward(void *dinp, const void *out, const void *dout, size_t n)
{
	SKIP_IF_FAILED();
	relu_backward_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)dinp, (const T *)out, (const T *)dout, n);
	LAUNCH_OK();
}

template <typename T> static void avgpool_forward(void *out, const void *inp, int N, int HW, int C)
{
	SKIP_IF_FAILED();
	avgpool_forward_k<T><<<ceil_div((size_t)N * C, 256), 256, 0, S()>>>((T *)out, (const T *)inp, N, HW, C);
	LAUNCH_OK();
}

template <typename T> static void avgpool_backward(void *dinp, const void *dout, int N, int HW, int C)
{
	SKIP_IF_FAILED();
	avgpool_backward_k<T><<<ceil_div((size_t)N * HW * C, 256), 256, 0, S()>>>((T *)dinp, (const T *)dout, N, HW, C);
	LAUNCH_OK();
}

/* ---------------- accuracy ---------------- */

template <typename T> static long count_correct(const void *probs, const int *targets, int N, int V)
{
	if (kn_cuda.status)
		return -1;
	/* the reduction buffers: a counter in the device partials, read back through the pinned result */
	unsigned long long *count = (unsigned long long *)kn_cuda.red_partials;
	CUDA_OK(cudaMemsetAsync(count, 0, sizeof *count, S()));
	count_correct_k<T><<<ceil_div(N, 256), 256, 0, S()>>>(count, (const T *)probs, targets, N, V);
	LAUNCH_OK();
	CUDA_OK(cudaMemcpyAsync(kn_cuda.red_result, count, sizeof *count, cudaMemcpyDeviceToHost, S()));
	CUDA_OK(cudaStreamSynchronize(S()));
	if (kn_cuda.status)
		return -1;
	unsigned long long c;
	memcpy(&c, kn_cuda.red_result, sizeof c);
	return (long)c;
}

/* ---------------- SGD ---------------- */

template <typename T>
static void sgd(void *master, void *compute, const void *grad, void *velocity, size_t n, float lr, float momentum,
		float weight_decay, float grad_scale)
{
	SKIP_IF_FAILED();
	sgd_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((float *)master, (T *)compute, (const T *)grad, (float *)velocity, n, lr,
						    momentum, weight_decay, grad_scale);
	LAUNCH_OK();
}

/* ---------------- table ---------------- */

template <typename T> void kn_cuda_add_cnn_ops(struct kn_ops *o)
{
	o->image_to_nhwc = image_to_nhwc<T>;
	o->conv2d_workspace_bytes = conv2d_workspace_bytes<T>;
	o->conv2d_forward = conv2d_forward<T>;
	o->conv2d_backward_data = conv2d_backward_data<T>;
	o->conv2d_backward_filter = conv2d_backward_filter<T>;
	o->batchnorm_forward = batchnorm_forward<T>;
	o->batchnorm_backward = batchnorm_backward<T>;
	o->relu_forward = relu_forward<T>;
	o->relu_backward = relu_backward<T>;
	o->avgpool_forward = avgpool_forward<T>;
	o->avgpool_backward = avgpool_backward<T>;
	o->count_correct = count_correct<T>;
	o->sgd = sgd<T>;
}

void kn_cuda_cudnn_version(char *buf, size_t n)
{
	size_t v = cudnnGetVersion(); /* 9.x: major * 10000 + minor * 100 + patch */
	snprintf(buf, n, "%zu.%zu.%zu", v / 10000, (v / 100) % 100, v % 100);
}

#else /* built without cuDNN: the CNN ops stay NULL and the model says so */

void kn_cuda_cnn_release(void) {}
template <typename T> void kn_cuda_add_cnn_ops(struct kn_ops *o) { (void)o; }
void kn_cuda_cudnn_version(char *buf, size_t n)
{
	if (n)
		buf[0] = 0;
}

#endif

template void kn_cuda_add_cnn_ops<float>(struct kn_ops *);
template void kn_cuda_add_cnn_ops<__nv_bfloat16>(struct kn_ops *);
template void kn_cuda_add_cnn_ops<__half>(struct kn_ops *);
