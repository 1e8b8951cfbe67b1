/*
 * Fused causal attention for bf16/fp16 (FlashAttention-2's algorithm, on
 * tensor cores through WMMA): the [T, T] scores never reach memory. The
 * forward keeps one log-sum-exp per query row instead of the softmax, and the
 * backward recomputes the probabilities from it.
 *
 * Tiles are 64 queries x 64 keys; a block of 4 warps takes one (batch, head,
 * 64-row tile), a warp 16 rows of it. Scores and the output accumulate in
 * fp32; probabilities and their gradients are rounded to the activation type
 * before they enter the second GEMM, as in FlashAttention.
 *   forward: for each key tile up to the diagonal, S = scale Q K^T, an online
 *     softmax (running max m and sum l per row), O = O alpha + P V; at the end
 *     O / l and lse = m + log l.
 *   backward: D = rowsum(dO * O); then one kernel per key tile accumulates
 *     dK, dV over the query tiles at or after it, and one per query tile
 *     accumulates dQ over the key tiles up to it. Each gradient element is
 *     summed by one warp in a fixed order: no atomics, so it is deterministic.
 * Head sizes 32 and 64 (the presets'); other shapes use the unfused ops.
 */
#include <mma.h>

#include "kernels/cuda/cuda_common.cuh"

using namespace nvcuda;


#include "kernels/cuda/flash_attention.cuh"

/* Allows kernel k `bytes` of dynamic shared memory (past the default 48 KiB),
 * once per kernel: the setting stays with the device's context. */
template <typename Kern> static int smem_opt_in(Kern k, size_t bytes, int *done)
{
	if (!*done) {
		CUDA_OK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
		*done = kn_cuda.status == KN_OK;
	}
	return kn_cuda.status;
}

template <typename T, int HS> static void forward_hs(void *out, void *lse, const void *qkv, int B, int T_, int C, int NH)
{
	static int opted;
	size_t smem = fa_smem<T, HS>::bytes;
	if (smem_opt_in(flash_forward_k<T, HS>, smem, &opted))
		return;
	dim3 grid(ceil_div(T_, FA_TILE), B * NH);
	flash_forward_k<T, HS><<<grid, FA_WARPS * 32, smem, kn_cuda.stream>>>((T *)out, (float *)lse, (const T *)qkv, B, T_,
									      C, NH, 1.0f / sqrtf((float)HS));
	LAUNCH_OK();
}

template <typename T, int HS>
static void backward_hs(void *dqkv, const void *dout, const void *qkv, const void *out, const void *lse, int B, int T_,
			int C, int NH)
{
	static int opted[2];
	size_t rows = (size_t)B * T_ * NH, smem = fa_smem<T, HS>::bytes;
	float *D = (float *)kn_cuda_scratch(rows * sizeof(float));
	if (!D || smem_opt_in(flash_dkdv_k<T, HS>, smem, &opted[0]) || smem_opt_in(flash_dq_k<T, HS>, smem, &opted[1]))
		return;
	float scale = 1.0f / sqrtf((float)HS);
	flash_delta_k<T, HS><<<ceil_div(rows, 8), 256, 0, kn_cuda.stream>>>(D, (const T *)dout, (const T *)out, B, T_, C, NH);
	LAUNCH_OK();
	dim3 grid(ceil_div(T_, FA_TILE), B * NH);
	flash_dkdv_k<T, HS><<<grid, FA_WARPS * 32, smem, kn_cuda.stream>>>((T *)dqkv, (const T *)dout, (const T *)qkv,
									   (const float *)lse, D, B, T_, C, NH, scale);
	LAUNCH_OK();
	flash_dq_k<T, HS><<<grid, FA_WARPS * 32, smem, kn_cuda.stream>>>((T *)dqkv, (const T *)dout, (const T *)qkv,
									 (const float *)lse, D, B, T_, C, NH, scale);
	LAUNCH_OK();
}

template <typename T> static void flash_attention_forward(void *out, void *lse, const void *qkv, int B, int T_, int C, int NH)
{
	if (kn_cuda.status)
		return;
	if (C / NH == 32)
		forward_hs<T, 32>(out, lse, qkv, B, T_, C, NH);
	else
		forward_hs<T, 64>(out, lse, qkv, B, T_, C, NH);
}

template <typename T>
static void flash_attention_backward(void *dqkv, const void *dout, const void *qkv, const void *out, const void *lse, int B,
				     int T_, int C, int NH)
{
	if (kn_cuda.status)
		return;
	if (C / NH == 32)
		backward_hs<T, 32>(dqkv, dout, qkv, out, lse, B, T_, C, NH);
	else
		backward_hs<T, 64>(dqkv, dout, qkv, out, lse, B, T_, C, NH);
}

template <typename T> void kn_cuda_add_flash_ops(struct kn_ops *o)
{
	o->flash_attention_forward = flash_attention_forward<T>;
	o->flash_attention_backward = flash_attention_backward<T>;
}

template <> void kn_cuda_add_flash_ops<float>(struct kn_ops *o) { (void)o; } /* fp32/tf32: the unfused path */
template void kn_cuda_add_flash_ops<__nv_bfloat16>(struct kn_ops *);
template void kn_cuda_add_flash_ops<__half>(struct kn_ops *);
