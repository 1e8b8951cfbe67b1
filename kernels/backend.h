/*
 * kernels/backend.h — the one interface between models and devices.
 *
 * A backend owns device memory, copies, phase timers and the ops a model
 * needs. Model code (trainer/) is written once against it; kernels/cpu and
 * kernels/cuda implement it. Device buffers are opaque `void *`: their element
 * type is the backend's `act_bytes` (activations, weights used in compute,
 * gradients) or `master_bytes` (master weights, optimizer state, LayerNorm
 * statistics, per-position losses). Token buffers are always int32.
 *
 * Ops return nothing: like a GPU stream, errors are sticky and surface at the
 * next kn_sync(). In backward ops, every weight/bias gradient and the dinp of
 * layernorm_backward and encoder's dwte/dwpe accumulate (+=), so parameter
 * gradients and the residual stream's gradient start from zero each step;
 * the dinp of matmul, gelu and attention backward is overwritten (each has a
 * single producer), which saves zeroing per-layer scratch. The image ops
 * follow the same rule: conv2d_backward_filter's dweight and batchnorm's
 * dweight/dbias accumulate; the dinp of conv2d_backward_data, batchnorm,
 * relu and avgpool backward is overwritten (a residual join adds with
 * `accumulate`).
 *
 * Image layout: activations of image models are NHWC, [N, H, W, C] row-major,
 * so a feature map is an [N*H*W, C] matrix (the shape the GPT ops already
 * use: batchnorm normalises its columns, matmul is a 1x1 convolution).
 * image_to_nhwc converts the loader's NCHW float32 batches on the device.
 * Convolution weights are [OC, K, K, C]: one row per output channel in the
 * order of an im2col row (ky, kx, c).
 *
 * Lifecycle: kn_backend_open() fills a caller-owned struct; kn_backend_release()
 * frees its contents. Every kn_alloc() is matched by kn_free() with the same
 * size; the backend counts bytes in use and the peak, and refuses an
 * allocation past `mem_limit_bytes` with KN_ENOMEM exactly as a smaller card would.
 */
#ifndef KN_BACKEND_H
#define KN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/error.h"
#include "kernels/precision.h"

#ifdef __cplusplus
extern "C" {
#endif

enum kn_phase { KN_PHASE_H2D, KN_PHASE_FORWARD, KN_PHASE_BACKWARD, KN_PHASE_OPTIMIZER, KN_PHASE_COUNT };
extern const char *const kn_phase_names[KN_PHASE_COUNT];

struct kn_backend;

/* One convolution: inp [N,H,W,C] -> out [N,OH,OW,OC] with a KxK kernel,
 * zero padding `pad` on every side, no bias. OH = (H + 2 pad - K) / stride + 1. */
struct kn_conv_shape {
	int N, H, W, C, OC, K, stride, pad;
};
static inline int kn_conv_out_dim(int in, int K, int stride, int pad) { return (in + 2 * pad - K) / stride + 1; }

struct kn_ops {
	/* out[B,T,C] = wte[tokens] + wpe[t] */
	void (*encoder_forward)(void *out, const int *tokens, const void *wte, const void *wpe, int B, int T, int C);
	void (*encoder_backward)(void *dwte, void *dwpe, const void *dout, const int *tokens, int B, int T, int C);
	/* out[N,C] = (inp - mean) * rstd * weight + bias; mean/rstd are master-typed [N] */
	void (*layernorm_forward)(void *out, void *mean, void *rstd, const void *inp, const void *weight,
				  const void *bias, int N, int C);
	void (*layernorm_backward)(void *dinp, void *dweight, void *dbias, const void *dout, const void *inp,
				   const void *weight, const void *mean, const void *rstd, int N, int C);
	/* Optional fusion of the residual add with the LayerNorm that follows it
	 * (NULL: kn_residual_layernorm_forward composes residual_forward and
	 * layernorm_forward): res = a + b, out = layernorm(res); both overwritten. */
	void (*residual_layernorm_forward)(void *res, void *out, void *mean, void *rstd, const void *a, const void *b,
					   const void *weight, const void *bias, int N, int C);
	/* out[N,OC] = inp[N,C] @ weight[OC,C]^T + bias[OC] (bias may be NULL) */
	void (*matmul_forward)(void *out, const void *inp, const void *weight, const void *bias, int N, int C, int OC);
	void (*matmul_backward)(void *dinp, void *dweight, void *dbias, const void *dout, const void *inp,
				const void *weight, int N, int C, int OC);
	/* causal multi-head attention: qkv[B,T,3C] -> out[B,T,C]; att[B,NH,T,T] keeps the softmax */
	void (*attention_forward)(void *out, void *att, const void *qkv, int B, int T, int C, int NH);
	/* dscratch is [B,NH,T,T] act-typed scratch */
	void (*attention_backward)(void *dqkv, void *dscratch, const void *dout, const void *qkv, const void *att,
				   int B, int T, int C, int NH);
	/* Optional fusions of a linear layer with GELU (NULL: kn_matmul_gelu_forward
	 * and kn_matmul_backward_gelu compose the ops above). Forward: pre[N,OC] =
	 * inp @ weight^T + bias, out = gelu(pre), both overwritten. Backward of a
	 * linear layer whose input was gelu(pre): dpre[N,C] = gelu'(pre) *
	 * (dout @ weight), overwritten; dweight and dbias accumulate as in
	 * matmul_backward (inp is that layer's input, gelu(pre)). */
	void (*matmul_gelu_forward)(void *out, void *pre, const void *inp, const void *weight, const void *bias, int N,
				    int C, int OC);
	void (*matmul_backward_gelu)(void *dpre, void *dweight, void *dbias, const void *dout, const void *inp,
				     const void *weight, const void *pre, int N, int C, int OC);
	/* Optional fused causal attention (NULL where the backend has none; then
	 * only for shapes kn_flash_attention_shape_ok accepts). It keeps lse
	 * [B,NH,T] (master-typed: each query row's log-sum-exp of its scaled
	 * scores) instead of the [B,NH,T,T] softmax, and needs no [T,T] scratch.
	 * Backward: dqkv overwritten, from dout, qkv, the forward's out and lse. */
	void (*flash_attention_forward)(void *out, void *lse, const void *qkv, int B, int T, int C, int NH);
	void (*flash_attention_backward)(void *dqkv, const void *dout, const void *qkv, const void *out, const void *lse,
					 int B, int T, int C, int NH);
	/* tanh-approximated GELU, as in GPT-2 */
	void (*gelu_forward)(void *out, const void *inp, size_t n);
	void (*gelu_backward)(void *dinp, const void *inp, const void *dout, size_t n);
	/* out = a + b */
	void (*residual_forward)(void *out, const void *a, const void *b, size_t n);
	/* dst += src */
	void (*accumulate)(void *dst, const void *src, size_t n);
	/* Fused softmax cross-entropy. Forward turns logits[N,V] into probabilities
	 * in place and writes losses[N] (master-typed); backward turns the
	 * probabilities into dlogits = (p - onehot) * dloss in place. */
	void (*crossentropy_forward)(void *losses, void *logits, const int *targets, int N, int V);
	void (*crossentropy_backward)(void *logits, const int *targets, float dloss, int N, int V);
	/* sets n act-typed elements to zero */
	void (*zero)(void *x, size_t n);
	/* sum of n master-typed elements, in double, read back to the host */
	double (*sum_master)(const void *x, size_t n);
	/* sum of squares of n act-typed elements, in double, read back to the host */
	double (*norm_squared)(const void *x, size_t n);
	/* AdamW with decoupled weight decay on n elements. master, m, v are
	 * master-typed; grad and compute are act-typed; compute (may equal master)
	 * receives the updated weights. grad_scale multiplies the gradient first
	 * (clipping, loss-scale removal). t is the 1-based step. */
	void (*adamw)(void *master, void *compute, const void *grad, void *m, void *v, size_t n, float lr,
		      float beta1, float beta2, float eps, float weight_decay, int t, float grad_scale);
	/* copies master-typed src into act-typed dst (no-op where they alias) */
	void (*master_to_compute)(void *dst, const void *src, size_t n);

	/* ---- image models (NHWC, see above) ---- */
	/* out[N,H,W,C] act-typed <- images[N,C,H,W] float32 on the device */
	void (*image_to_nhwc)(void *out, const float *images, int N, int C, int H, int W);
	/* Bytes of scratch the three conv2d ops need for shape s (act-typed; one
	 * workspace of the largest size serves every layer). On CUDA it is cuDNN's,
	 * chosen at run time from the memory left. */
	size_t (*conv2d_workspace_bytes)(const struct kn_conv_shape *s);
	/* out = conv(inp, weight); out overwritten */
	void (*conv2d_forward)(void *out, const void *inp, const void *weight, void *work, const struct kn_conv_shape *s);
	/* dinp[N,H,W,C] = conv^T(dout, weight); overwritten */
	void (*conv2d_backward_data)(void *dinp, const void *dout, const void *weight, void *work,
				     const struct kn_conv_shape *s);
	/* dweight[OC,K,K,C] += dout^T (x) im2col(inp); accumulates */
	void (*conv2d_backward_filter)(void *dweight, const void *dout, const void *inp, void *work,
				       const struct kn_conv_shape *s);
	/* Batch normalisation of the columns of inp[M,C] (M = N*H*W), eps 1e-5,
	 * fused with a residual add and a ReLU: out = act((inp - mean) * rstd *
	 * weight + bias + residual), residual [M,C] or NULL, act = ReLU when relu
	 * != 0 (may then be undone by relu_backward). train != 0: mean and biased
	 * variance from this batch, written to mean/rstd [C] (master-typed), and
	 * running_mean/running_var [C] (master-typed) move by `momentum` toward the
	 * batch mean and unbiased variance (PyTorch's convention). train == 0: the
	 * running statistics normalise, and mean/rstd receive them. out overwritten. */
	void (*batchnorm_forward)(void *out, void *mean, void *rstd, void *running_mean, void *running_var,
				  const void *inp, const void *weight, const void *bias, const void *residual, int relu,
				  int M, int C, int train, float momentum);
	/* Training-mode backward through the batch statistics: dinp overwritten,
	 * dweight and dbias accumulate. relu_out (the forward's output, or NULL)
	 * masks dout first, as relu_backward would. */
	void (*batchnorm_backward)(void *dinp, void *dweight, void *dbias, const void *dout, const void *relu_out,
				   const void *inp, const void *weight, const void *mean, const void *rstd, int M, int C);
	/* out = max(inp, 0); may run in place */
	void (*relu_forward)(void *out, const void *inp, size_t n);
	/* dinp = dout where out > 0, else 0 (out is the forward's output); overwritten, may alias dout */
	void (*relu_backward)(void *dinp, const void *out, const void *dout, size_t n);
	/* global average pool: out[N,C] = mean over HW of inp[N,HW,C]; overwritten */
	void (*avgpool_forward)(void *out, const void *inp, int N, int HW, int C);
	/* dinp[N,HW,C] = dout[N,C] / HW; overwritten */
	void (*avgpool_backward)(void *dinp, const void *dout, int N, int HW, int C);
	/* rows of probs[N,V] whose argmax (first on ties) equals the target, read back to the host */
	long (*count_correct)(const void *probs, const int *targets, int N, int V);
	/* SGD with momentum and L2 weight decay (PyTorch's SGD): g = grad *
	 * grad_scale + weight_decay * w; velocity = momentum * velocity + g;
	 * w -= lr * velocity. master and velocity are master-typed, compute
	 * (may equal master) receives the updated weights. */
	void (*sgd)(void *master, void *compute, const void *grad, void *velocity, size_t n, float lr, float momentum,
		    float weight_decay, float grad_scale);
};

struct kn_backend_vt {
	int (*dev_alloc)(struct kn_backend *be, void **ptr, size_t bytes);
	void (*dev_free)(struct kn_backend *be, void *ptr);
	/* host memory the loader fills; pinned where the device can DMA from it */
	int (*host_alloc)(struct kn_backend *be, void **ptr, size_t bytes);
	void (*host_free)(struct kn_backend *be, void *ptr);
	int (*copy_h2d)(struct kn_backend *be, void *dst, const void *src, size_t bytes);
	int (*copy_d2h)(struct kn_backend *be, void *dst, const void *src, size_t bytes);
	/* element conversions between the host's double and device buffers */
	int (*upload)(struct kn_backend *be, void *dst, const double *src, size_t n, int master);
	int (*download)(struct kn_backend *be, double *dst, const void *src, size_t n, int master);
	int (*sync)(struct kn_backend *be);
	void (*phase_begin)(struct kn_backend *be, enum kn_phase p);
	void (*phase_end)(struct kn_backend *be, enum kn_phase p);
	/* after sync: ms spent per phase since the last read (0 for phases not run) */
	int (*phase_read)(struct kn_backend *be, double ms[KN_PHASE_COUNT]);
	void (*release)(struct kn_backend *be);
	/* optional: the driver's view of device memory in use (NULL where there is none) */
	int (*mem_info)(struct kn_backend *be, size_t *used_bytes, size_t *total_bytes);
	/* optional (see kn_copy_h2d_async): copies on a copy stream, two slots of events */
	int (*copy_h2d_async)(struct kn_backend *be, void *dst, const void *src, size_t bytes, int slot);
	int (*copy_wait)(struct kn_backend *be, int slot);
	int (*copy_done)(struct kn_backend *be, int slot);
};

struct kn_backend {
	const char *name;            /* "cpu", "cpu64" (reference), "cuda" */
	char device_name[160];       /* human name: CPU model and threads, GPU name */
	enum kn_precision precision;
	size_t act_bytes;            /* bytes per activation / compute-weight / gradient element */
	size_t master_bytes;         /* bytes per master weight / optimizer state element */
	int compute_aliases_master;  /* 1 when compute weights are the master weights */
	double peak_flops;           /* dense peak for MFU at this precision; 0 = unknown */
	const struct kn_ops *ops;
	const struct kn_backend_vt *vt;
	size_t mem_limit_bytes;      /* 0 = no limit beyond the device's own */
	size_t mem_in_use_bytes;
	size_t mem_peak_bytes;
	size_t pinned_bytes;         /* host bytes allocated through host_alloc that are pinned */
	size_t mem_peak_driver_bytes; /* largest driver-reported use seen by kn_sample_driver_memory; 0 = none */
	int nondeterministic;        /* 1 once an op ran a non-deterministic algorithm (a library offered no
				      * deterministic one for a shape): the run is not bitwise reproducible */
	void *impl;
};

/* Which devices this build and machine offer. */
int kn_cuda_compiled(void);
/* Number of CUDA devices present (0 when none, or CUDA not compiled in). */
int kn_cuda_device_count(void);
/* Total memory of CUDA device 0 in bytes (0 when none, or CUDA not compiled in). */
size_t kn_cuda_total_memory(void);
/* Library versions for records; empty strings where absent. */
struct kn_cuda_versions {
	char runtime[16], driver[16], cublas[16], cudnn[16];
};
void kn_cuda_versions(struct kn_cuda_versions *v);

/*
 * Opens `device` ("cpu", "cuda", "auto") at `precision`. "auto" picks CUDA
 * when a GPU is present and the CUDA backend can run, else the CPU. Returns
 * KN_OK, or KN_EUNAVAIL with a message saying why the device or precision
 * cannot run here.
 */
int kn_backend_open(struct kn_backend *be, const char *device, enum kn_precision precision, size_t mem_limit_bytes);
/* The fp64 CPU reference backend (tests and gradient checks). */
int kn_backend_open_reference(struct kn_backend *be);
void kn_backend_release(struct kn_backend *be);

/* Accounted device allocations: KN_ENOMEM ("need X, free Y") past the limit. */
int kn_alloc(struct kn_backend *be, void **ptr, size_t bytes);
void kn_free(struct kn_backend *be, void *ptr, size_t bytes);
int kn_host_alloc(struct kn_backend *be, void **ptr, size_t bytes);
void kn_host_free(struct kn_backend *be, void *ptr);
int kn_sync(struct kn_backend *be);
/* Head sizes the fused attention takes (32 and 64). */
int kn_flash_attention_shape_ok(int C, int NH);
/* 1 when be runs attention of this shape fused (flash_attention_* present and the shape taken). */
int kn_flash_attention_used(const struct kn_backend *be, int C, int NH);
/* The residual add + LayerNorm pair through the backend's fused op, or composed (see kn_ops). */
void kn_residual_layernorm_forward(struct kn_backend *be, void *res, void *out, void *mean, void *rstd, const void *a,
				   const void *b, const void *weight, const void *bias, int N, int C);
/* The linear+GELU pair through the backend's fused op, or composed (see kn_ops). */
void kn_matmul_gelu_forward(struct kn_backend *be, void *out, void *pre, const void *inp, const void *weight,
			    const void *bias, int N, int C, int OC);
void kn_matmul_backward_gelu(struct kn_backend *be, void *dpre, void *dweight, void *dbias, const void *dout,
			     const void *inp, const void *weight, const void *pre, int N, int C, int OC);

/*
 * Input copies that overlap compute. kn_copy_h2d_async() starts a copy on the
 * backend's copy stream, tagged with `slot` (0 or 1; a double buffer); the
 * ops run after kn_copy_wait(slot) see it (the compute stream waits for it
 * on the device, the host does not); kn_copy_done(slot) blocks the host until
 * the slot's copies have finished, after which `src` may be reused. src
 * should be kn_host_alloc() memory (pinned on CUDA). Backends without a copy
 * stream copy at once in kn_copy_h2d_async and the waits do nothing. The
 * KN_PHASE_H2D timer measures these copies on the copy stream.
 */
int kn_copy_h2d_async(struct kn_backend *be, void *dst, const void *src, size_t bytes, int slot);
int kn_copy_wait(struct kn_backend *be, int slot);
int kn_copy_done(struct kn_backend *be, int slot);
/* Samples the driver's view of device memory into mem_peak_driver_bytes (no-op without one). */
void kn_sample_driver_memory(struct kn_backend *be);

/* Human-readable byte count ("1.5 GiB") into buf. */
const char *kn_fmt_bytes(char *buf, size_t n, double bytes);

/* implemented per backend */
int kn_cpu_open(struct kn_backend *be, enum kn_precision precision);
int kn_cuda_open(struct kn_backend *be, enum kn_precision precision);

#ifdef __cplusplus
}
#endif

#endif
