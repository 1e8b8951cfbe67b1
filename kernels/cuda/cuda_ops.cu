/*
 * The GPT ops on CUDA, templated over the activation type T (float for
 * fp32/tf32, __nv_bfloat16, __half); arithmetic in fp32, master weights and
 * optimizer state fp32. Linear layers through cuBLASLt with a fused bias
 * epilogue; attention as batched GEMMs (cuBLAS) around a causal softmax
 * kernel. Every reduction runs in a fixed order (no atomics on values), so a
 * run is bitwise reproducible for a fixed seed; the embedding gradient sorts
 * positions by token (stable radix sort) and sums each token's positions in
 * order.
 *
 * Contracts as in kernels/backend.h (which outputs are overwritten and which
 * accumulated).
 */
#include <cub/device/device_radix_sort.cuh>
#include <math.h>
#include <string.h>

#include "kernels/cuda/cuda_common.cuh"
#include "kernels/cuda/gpt_kernels.cuh"

static cudaStream_t S() { return kn_cuda.stream; }
#define SKIP_IF_FAILED() \
	do {             \
		if (kn_cuda.status) \
			return; \
	} while (0)

/* ---------------- embeddings ---------------- */

template <typename T>
static void encoder_forward(void *out, const int *tokens, const void *wte, const void *wpe, int B, int T_, int C)
{
	SKIP_IF_FAILED();
	size_t n = (size_t)B * T_ * C;
	encoder_forward_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)out, tokens, (const T *)wte, (const T *)wpe, B * T_,
							      T_, C);
	LAUNCH_OK();
}

template <typename T>
static void encoder_backward(void *dwte, void *dwpe, const void *dout, const int *tokens, int B, int T_, int C)
{
	SKIP_IF_FAILED();
	int BT = B * T_;
	wpe_backward_k<T><<<ceil_div((size_t)T_ * C, 256), 256, 0, S()>>>((T *)dwpe, (const T *)dout, B, T_, C);
	LAUNCH_OK();
	size_t sort_bytes = 0;
	CUDA_OK(cub::DeviceRadixSort::SortPairs(NULL, sort_bytes, (const int *)NULL, (int *)NULL, (const int *)NULL,
						(int *)NULL, BT));
	SKIP_IF_FAILED();
	size_t ints = 3 * (size_t)BT * sizeof(int);
	char *scr = (char *)kn_cuda_scratch(ints + sort_bytes + 256);
	if (!scr)
		return;
	int *pos = (int *)scr, *stok = pos + BT, *spos = stok + BT;
	void *tmp = scr + ((ints + 255) / 256) * 256;
	iota_k<<<ceil_div(BT, 256), 256, 0, S()>>>(pos, BT);
	LAUNCH_OK();
	/* stable: positions of one token stay in increasing order */
	CUDA_OK(cub::DeviceRadixSort::SortPairs(tmp, sort_bytes, tokens, stok, pos, spos, BT, 0, 32, S()));
	dim3 grid(BT, ceil_div(C, 128));
	wte_backward_k<T><<<grid, 128, 0, S()>>>((T *)dwte, (const T *)dout, stok, spos, BT, C);
	LAUNCH_OK();
}

/* ---------------- LayerNorm ---------------- */

template <typename T>
static void layernorm_forward(void *out, void *mean, void *rstd, const void *inp, const void *w, const void *b, int N,
			      int C)
{
	SKIP_IF_FAILED();
	layernorm_forward_k<T><<<ceil_div(N, 8), 256, 0, S()>>>((T *)out, (float *)mean, (float *)rstd, (const T *)inp,
								  (const T *)w, (const T *)b, N, C);
	LAUNCH_OK();
}

template <typename T>
static void residual_layernorm_forward(void *res, void *out, void *mean, void *rstd, const void *a, const void *b,
				       const void *w, const void *bias, int N, int C)
{
	SKIP_IF_FAILED();
	residual_layernorm_forward_k<T><<<ceil_div(N, 8), 256, 0, S()>>>((T *)res, (T *)out, (float *)mean, (float *)rstd,
									   (const T *)a, (const T *)b, (const T *)w,
									   (const T *)bias, N, C);
	LAUNCH_OK();
}

template <typename T>
static void colsum_accumulate(T *dst, const T *a, const T *x, const float *mean, const float *rstd, int N, int C, int mode,
			      float *part)
{
	int rows_per = (N + COLSUM_CHUNKS - 1) / COLSUM_CHUNKS;
	dim3 grid(ceil_div(C, 128), COLSUM_CHUNKS);
	colsum_partial_k<T><<<grid, 128, 0, S()>>>(part, a, x, mean, rstd, N, C, rows_per, mode);
	LAUNCH_OK();
	colsum_finish_k<T><<<ceil_div(C, 128), 128, 0, S()>>>(dst, part, COLSUM_CHUNKS, C);
	LAUNCH_OK();
}

template <typename T>
static void layernorm_backward(void *dinp, void *dw, void *db, const void *dout, const void *inp, const void *w,
			       const void *mean, const void *rstd, int N, int C)
{
	SKIP_IF_FAILED();
	layernorm_backward_dinp_k<T><<<ceil_div(N, 8), 256, 0, S()>>>((T *)dinp, (const T *)dout, (const T *)inp,
									(const T *)w, (const float *)mean,
									(const float *)rstd, N, C);
	LAUNCH_OK();
	float *part = (float *)kn_cuda_scratch((size_t)COLSUM_CHUNKS * C * sizeof(float));
	if (!part)
		return;
	colsum_accumulate<T>((T *)dw, (const T *)dout, (const T *)inp, (const float *)mean, (const float *)rstd, N, C, 1,
			     part);
	colsum_accumulate<T>((T *)db, (const T *)dout, NULL, NULL, NULL, N, C, 0, part);
}

/* ---------------- linear layers: cuBLASLt ---------------- */

/* largest power of two up to 256 dividing the address */
static uint32_t ptr_align(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	uint32_t al = 256;
	while (al > 1 && a % al)
		al >>= 1;
	return al;
}

/* cuBLASLt's heuristic query costs more host time than a small layer's
 * GEMM takes on the GPU: its answers are kept per problem (a model has a few
 * dozen), keyed by everything the query sees. */
struct lt_key {
	int dt, ct, m, n, k, transa, transb, lda, ldb, ldd, fuse_bias, gelu;
	uint32_t al_a, al_b, al_d, al_aux, al_bias;
};

/* GELU epilogues: none; forward (D = gelu(AB + bias), aux = AB + bias); backward (D = gelu'(aux) * AB) */
enum { LT_PLAIN, LT_GELU_AUX, LT_DGELU };
#define LT_CACHE_SIZE 256
static struct {
	struct lt_key key;
	cublasLtMatmulAlgo_t algo;
	int none; /* a GELU epilogue cuBLASLt has no algorithm for: the caller composes */
} lt_cache[LT_CACHE_SIZE];
static int lt_cache_n;

void kn_cuda_ops_reset(void) { lt_cache_n = 0; }

static int lt_cache_find(const struct lt_key *key)
{
	for (int i = 0; i < lt_cache_n; i++)
		if (memcmp(&lt_cache[i].key, key, sizeof *key) == 0)
			return i;
	return -1;
}

/* results asked for when the first query finds none (see lt_matmul) */
#define LT_RETRY_RESULTS 8

/* Whether the algorithm's split-K partial sums stay fp32: it does not split K, or it reduces in the
 * compute type. */
static int lt_fp32_sums(const cublasLtMatmulAlgo_t *algo)
{
	int32_t splitk = 1;
	uint32_t scheme = CUBLASLT_REDUCTION_SCHEME_NONE;
	size_t got;
	if (cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, sizeof splitk, &got) !=
		    CUBLAS_STATUS_SUCCESS ||
	    cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &scheme, sizeof scheme,
						 &got) != CUBLAS_STATUS_SUCCESS)
		return 0;
	return splitk <= 1 || scheme == CUBLASLT_REDUCTION_SCHEME_NONE || scheme == CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
}

/*
 * D (m x n, col-major, ldd) = alpha op(A) op(B) + beta D [+ bias], shapes in
 * cuBLAS terms. The heuristic assumes 256-byte aligned matrices unless told
 * otherwise, so it is given each pointer's actual alignment (tensors carved
 * out of one allocation can sit at any element offset). Returns 1, having run
 * nothing, when a GELU epilogue has no algorithm for this problem (the caller
 * then runs the plain GEMM and the GELU kernel); otherwise 0.
 */
template <typename T>
static int lt_matmul(void *D, const void *A, const void *B, const void *bias, int m, int n, int k, int transa, int transb,
		      int lda, int ldb, int ldd, float alpha, float beta, int gelu = LT_PLAIN, const void *aux = NULL)
{
	cudaDataType_t dt = cuda_type<T>::value;
	cublasComputeType_t ct = kn_cuda.precision == KN_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
	cublasLtMatmulDesc_t desc = NULL;
	cublasLtMatrixLayout_t la = NULL, lb = NULL, ld = NULL;
	cublasLtMatmulPreference_t pref = NULL;
	cublasOperation_t ta = transa ? CUBLAS_OP_T : CUBLAS_OP_N, tb = transb ? CUBLAS_OP_T : CUBLAS_OP_N;
	uint32_t al_a = ptr_align(A), al_b = ptr_align(B), al_d = ptr_align(D);
	/* the epilogue is given only a 16-byte aligned bias (narrower ones are reported to fail);
	 * any other is added by a separate kernel */
	int fuse_bias = bias && ptr_align(bias) >= 16;
	/* the heuristic reads the bias and aux pointers' alignment too (cublasLt.h), so they key the cache */
	uint32_t al_aux = aux ? ptr_align(aux) : 0, al_bias = fuse_bias ? ptr_align(bias) : 0;
	BLAS_OK(cublasLtMatmulDescCreate(&desc, ct, CUDA_R_32F));
	BLAS_OK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
	BLAS_OK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
	if (fuse_bias || gelu != LT_PLAIN) {
		/* the callers of the GELU modes guarantee a fusable bias (or none) and an aux ld divisible by 8 */
		cublasLtEpilogue_t ep = gelu == LT_GELU_AUX ? (bias ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX)
				      : gelu == LT_DGELU  ? CUBLASLT_EPILOGUE_DGELU
							  : CUBLASLT_EPILOGUE_BIAS;
		BLAS_OK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof ep));
		if (fuse_bias)
			BLAS_OK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
		if (gelu != LT_PLAIN) {
			int64_t aux_ld = ldd;
			BLAS_OK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &aux,
							       sizeof aux));
			BLAS_OK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &aux_ld,
							       sizeof aux_ld));
		}
	}
	BLAS_OK(cublasLtMatrixLayoutCreate(&la, dt, transa ? k : m, transa ? m : k, lda));
	BLAS_OK(cublasLtMatrixLayoutCreate(&lb, dt, transb ? n : k, transb ? k : n, ldb));
	BLAS_OK(cublasLtMatrixLayoutCreate(&ld, dt, m, n, ldd));
	struct lt_key key;
	memset(&key, 0, sizeof key); /* padding too: keys compare with memcmp */
	key.dt = (int)dt, key.ct = (int)ct, key.m = m, key.n = n, key.k = k, key.transa = transa, key.transb = transb;
	key.lda = lda, key.ldb = ldb, key.ldd = ldd, key.fuse_bias = fuse_bias, key.gelu = gelu;
	key.al_a = al_a, key.al_b = al_b, key.al_d = al_d, key.al_aux = al_aux, key.al_bias = al_bias;
	int hit = lt_cache_find(&key), none = hit >= 0 && lt_cache[hit].none;
	const cublasLtMatmulAlgo_t *algo = hit >= 0 ? &lt_cache[hit].algo : NULL;
	if (hit >= 0 || kn_cuda.status)
		goto run;
	BLAS_OK(cublasLtMatmulPreferenceCreate(&pref));
	BLAS_OK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
						     &kn_cuda.lt_workspace_bytes, sizeof kn_cuda.lt_workspace_bytes));
	BLAS_OK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a, sizeof al_a));
	BLAS_OK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b, sizeof al_b));
	BLAS_OK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_d, sizeof al_d));
	BLAS_OK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_d, sizeof al_d));
	if (sizeof(T) == 2) {
		/* split-K partial sums stay fp32: the INPLACE and OUTPUT_TYPE reduction schemes keep
		 * them in the 16-bit output type (cublasLt.h, cublasLtReductionScheme_t) */
		uint32_t schemes = CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
		BLAS_OK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &schemes,
							     sizeof schemes));
	}
	if (!kn_cuda.status) {
		cublasLtMatmulHeuristicResult_t heurs[LT_RETRY_RESULTS], heur;
		int found = 0;
		cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(kn_cuda.lt, desc, la, lb, ld, ld, pref, 1, &heur, &found);
		if (hs == CUBLAS_STATUS_SUCCESS && found > 0 && heur.state != CUBLAS_STATUS_SUCCESS)
			found = 0; /* a returned result is usable only when its own state says so (cublasLt.h) */
		if (sizeof(T) == 2 && !kn_cuda.status && !(hs == CUBLAS_STATUS_SUCCESS && found > 0)) {
			/* cublasLt.h does not say whether the mask lets through algorithms that do not split K
			 * at all (scheme NONE): should it have ruled them out, ask again with every scheme and
			 * take the first result that keeps the partial sums fp32 */
			uint32_t all = CUBLASLT_REDUCTION_SCHEME_MASK;
			int n = 0;
			BLAS_OK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &all,
								     sizeof all));
			if (!kn_cuda.status && cublasLtMatmulAlgoGetHeuristic(kn_cuda.lt, desc, la, lb, ld, ld, pref,
									       LT_RETRY_RESULTS, heurs, &n) == CUBLAS_STATUS_SUCCESS)
				for (int i = 0; i < n && !found; i++)
					if (heurs[i].state == CUBLAS_STATUS_SUCCESS && lt_fp32_sums(&heurs[i].algo))
						heur = heurs[i], found = 1, hs = CUBLAS_STATUS_SUCCESS;
		}
		if (gelu != LT_PLAIN && (hs == CUBLAS_STATUS_NOT_SUPPORTED || (hs == CUBLAS_STATUS_SUCCESS && found == 0)))
			none = 1; /* no fused algorithm: not an error, the caller composes */
		else if (hs != CUBLAS_STATUS_SUCCESS)
			kn_cuda_fail(KN_ERR, "cublasLtMatmulAlgoGetHeuristic", cublasGetStatusString(hs), __FILE__, __LINE__);
		else if (found == 0)
			kn_cuda_fail(KN_ERR, "cublasLtMatmulAlgoGetHeuristic", "no algorithm for this shape", __FILE__,
				     __LINE__);
		if (!kn_cuda.status && lt_cache_n < LT_CACHE_SIZE) {
			lt_cache[lt_cache_n].key = key;
			lt_cache[lt_cache_n].algo = heur.algo;
			lt_cache[lt_cache_n].none = none;
			algo = &lt_cache[lt_cache_n++].algo;
		} else if (!kn_cuda.status) {
			static cublasLtMatmulAlgo_t uncached;
			uncached = heur.algo;
			algo = &uncached;
		}
	}
run:
	if (!kn_cuda.status && !none)
		BLAS_OK(cublasLtMatmul(kn_cuda.lt, desc, &alpha, A, la, B, lb, &beta, D, ld, D, ld, algo,
				       kn_cuda.lt_workspace, kn_cuda.lt_workspace_bytes, S()));
	if (bias && !fuse_bias && !kn_cuda.status && !none) {
		add_bias_k<T><<<ceil_div((size_t)m * n, 256), 256, 0, S()>>>((T *)D, (const T *)bias, m, n, ldd);
		LAUNCH_OK();
	}
	if (pref)
		cublasLtMatmulPreferenceDestroy(pref);
	if (ld)
		cublasLtMatrixLayoutDestroy(ld);
	if (lb)
		cublasLtMatrixLayoutDestroy(lb);
	if (la)
		cublasLtMatrixLayoutDestroy(la);
	if (desc)
		cublasLtMatmulDescDestroy(desc);
	return none;
}

/* row-major out[N,OC] = inp[N,C] W[OC,C]^T + bias: in column-major, out^T = W^T' inp^T */
template <typename T>
static void matmul_forward(void *out, const void *inp, const void *w, const void *bias, int N, int C, int OC)
{
	SKIP_IF_FAILED();
	lt_matmul<T>(out, w, inp, bias, OC, N, C, 1, 0, C, C, OC, 1.0f, 0.0f);
}

/* dW[OC,C] += dout^T inp; dbias[OC] += column sums of dout */
template <typename T> static void weight_grads(void *dw, void *dbias, const void *dout, const void *inp, int N, int C, int OC)
{
	lt_matmul<T>(dw, inp, dout, NULL, C, OC, N, 0, 1, C, OC, C, 1.0f, 1.0f);
	if (dbias) {
		float *part = (float *)kn_cuda_scratch((size_t)COLSUM_CHUNKS * OC * sizeof(float));
		if (part)
			colsum_accumulate<T>((T *)dbias, (const T *)dout, NULL, NULL, NULL, N, OC, 0, part);
	}
}

template <typename T>
static void matmul_backward(void *dinp, void *dw, void *dbias, const void *dout, const void *inp, const void *w, int N,
			    int C, int OC)
{
	SKIP_IF_FAILED();
	/* dinp[N,C] = dout[N,OC] W[OC,C] (overwrite) */
	lt_matmul<T>(dinp, w, dout, NULL, C, N, OC, 0, 0, C, OC, C, 1.0f, 0.0f);
	weight_grads<T>(dw, dbias, dout, inp, N, C, OC);
}

/* GELU kernels (below) for the fallbacks of the fused pair */
template <typename T> static void gelu_forward(void *out, const void *inp, size_t n);
template <typename T> static void gelu_backward(void *dinp, const void *inp, const void *dout, size_t n);

/* Whether the GELU epilogues apply: aux (and the output) leading dimension a
 * multiple of 8, aux 16-byte aligned, the bias (if any) fusable. */
static int gelu_fusable(int ld, const void *aux, const void *bias)
{
	return ld % 8 == 0 && ptr_align(aux) >= 16 && (!bias || ptr_align(bias) >= 16);
}

/* pre = inp W^T + bias, out = gelu(pre): cuBLASLt's GELU_AUX_BIAS epilogue writes both */
template <typename T>
static void matmul_gelu_forward(void *out, void *pre, const void *inp, const void *w, const void *bias, int N, int C,
				int OC)
{
	SKIP_IF_FAILED();
	if (!gelu_fusable(OC, pre, bias) ||
	    lt_matmul<T>(out, w, inp, bias, OC, N, C, 1, 0, C, C, OC, 1.0f, 0.0f, LT_GELU_AUX, pre)) {
		matmul_forward<T>(pre, inp, w, bias, N, C, OC);
		gelu_forward<T>(out, pre, (size_t)N * OC);
	}
}

/* dpre = gelu'(pre) * (dout W) through the DGELU epilogue; dW, dbias as matmul_backward */
template <typename T>
static void matmul_backward_gelu(void *dpre, void *dw, void *dbias, const void *dout, const void *inp, const void *w,
				 const void *pre, int N, int C, int OC)
{
	SKIP_IF_FAILED();
	if (!gelu_fusable(C, pre, NULL) || lt_matmul<T>(dpre, w, dout, NULL, C, N, OC, 0, 0, C, OC, C, 1.0f, 0.0f, LT_DGELU, pre)) {
		lt_matmul<T>(dpre, w, dout, NULL, C, N, OC, 0, 0, C, OC, C, 1.0f, 0.0f);
		gelu_backward<T>(dpre, pre, dpre, (size_t)N * C);
	}
	weight_grads<T>(dw, dbias, dout, inp, N, C, OC);
}

/* ---------------- attention ---------------- */

/* batched col-major GEMM: C_i = alpha op(A_i) op(B_i) + beta C_i */
template <typename T>
static void batched(int transa, int transb, int m, int n, int k, float alpha, const T *A, int lda, long long sa, const T *B,
		    int ldb, long long sb, float beta, T *C, int ldc, long long sc, int batch)
{
	cudaDataType_t dt = cuda_type<T>::value;
	cublasComputeType_t ct = kn_cuda.precision == KN_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
	BLAS_OK(cublasGemmStridedBatchedEx(kn_cuda.blas, transa ? CUBLAS_OP_T : CUBLAS_OP_N,
					   transb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, A, dt, lda, sa, B, dt,
					   ldb, sb, &beta, C, dt, ldc, sc, batch, ct, CUBLAS_GEMM_DEFAULT));
}

template <typename T>
static void attention_forward(void *out, void *att, const void *qkv, int B, int T_, int C, int NH)
{
	SKIP_IF_FAILED();
	int hs = C / NH, BH = B * NH;
	size_t n = (size_t)B * T_ * C;
	T *q = (T *)kn_cuda_scratch(4 * n * sizeof(T));
	if (!q)
		return;
	T *k = q + n, *v = k + n, *y = v + n, *P = (T *)att;
	long long sq = (long long)T_ * hs, sp = (long long)T_ * T_;
	permute_k<T><<<ceil_div(n, 256), 256, 0, S()>>>(q, k, v, (const T *)qkv, B, T_, NH, hs);
	LAUNCH_OK();
	/* S = scale Q K^T, row-major [T,T] per head: column-major S^T = K^T' Q */
	batched<T>(1, 0, T_, T_, hs, 1.0f / sqrtf((float)hs), k, hs, sq, q, hs, sq, 0.0f, P, T_, sp, BH);
	softmax_causal_k<T><<<ceil_div((size_t)BH * T_, 8), 256, 0, S()>>>(P, BH * T_, T_);
	LAUNCH_OK();
	/* Y = P V: column-major Y^T = V^T P^T */
	batched<T>(0, 0, hs, T_, T_, 1.0f, v, hs, sq, P, T_, sp, 0.0f, y, hs, sq, BH);
	unpermute_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)out, y, B, T_, NH, hs, C, 1);
	LAUNCH_OK();
}

template <typename T>
static void attention_backward(void *dqkv, void *dscratch, const void *dout, const void *qkv, const void *att, int B,
			       int T_, int C, int NH)
{
	SKIP_IF_FAILED();
	int hs = C / NH, BH = B * NH;
	size_t n = (size_t)B * T_ * C;
	T *q = (T *)kn_cuda_scratch(7 * n * sizeof(T));
	if (!q)
		return;
	T *k = q + n, *v = k + n, *dy = v + n, *dq = dy + n, *dk = dq + n, *dv = dk + n;
	const T *P = (const T *)att;
	T *dP = (T *)dscratch;
	long long sq = (long long)T_ * hs, sp = (long long)T_ * T_;
	float scale = 1.0f / sqrtf((float)hs);
	permute_k<T><<<ceil_div(n, 256), 256, 0, S()>>>(q, k, v, (const T *)qkv, B, T_, NH, hs);
	LAUNCH_OK();
	unpermute_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)dout, dy, B, T_, NH, hs, C, 0);
	LAUNCH_OK();
	/* dP = dY V^T (same form as the scores) */
	batched<T>(1, 0, T_, T_, hs, 1.0f, v, hs, sq, dy, hs, sq, 0.0f, dP, T_, sp, BH);
	/* dV = P^T dY: column-major dV^T = dY^T P */
	batched<T>(0, 1, hs, T_, T_, 1.0f, dy, hs, sq, P, T_, sp, 0.0f, dv, hs, sq, BH);
	softmax_backward_k<T><<<ceil_div((size_t)BH * T_, 8), 256, 0, S()>>>(dP, P, BH * T_, T_);
	LAUNCH_OK();
	/* dQ = scale dS K: column-major dQ^T = K^T dS^T */
	batched<T>(0, 0, hs, T_, T_, scale, k, hs, sq, dP, T_, sp, 0.0f, dq, hs, sq, BH);
	/* dK = scale dS^T Q: column-major dK^T = Q^T dS */
	batched<T>(0, 1, hs, T_, T_, scale, q, hs, sq, dP, T_, sp, 0.0f, dk, hs, sq, BH);
	T *out = (T *)dqkv;
	unpermute_k<T><<<ceil_div(n, 256), 256, 0, S()>>>(out, dq, B, T_, NH, hs, 3 * C, 1);
	unpermute_k<T><<<ceil_div(n, 256), 256, 0, S()>>>(out + C, dk, B, T_, NH, hs, 3 * C, 1);
	unpermute_k<T><<<ceil_div(n, 256), 256, 0, S()>>>(out + 2 * C, dv, B, T_, NH, hs, 3 * C, 1);
	LAUNCH_OK();
}

/* ---------------- elementwise ---------------- */

template <typename T> static void gelu_forward(void *out, const void *inp, size_t n)
{
	SKIP_IF_FAILED();
	gelu_forward_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)out, (const T *)inp, n);
	LAUNCH_OK();
}

template <typename T> static void gelu_backward(void *dinp, const void *inp, const void *dout, size_t n)
{
	SKIP_IF_FAILED();
	gelu_backward_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)dinp, (const T *)inp, (const T *)dout, n);
	LAUNCH_OK();
}

template <typename T> static void residual_forward(void *out, const void *a, const void *b, size_t n)
{
	SKIP_IF_FAILED();
	add_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)out, (const T *)a, (const T *)b, n);
	LAUNCH_OK();
}

template <typename T> static void accumulate(void *dst, const void *src, size_t n)
{
	SKIP_IF_FAILED();
	add_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)dst, (const T *)dst, (const T *)src, n);
	LAUNCH_OK();
}

template <typename T> static void zero(void *x, size_t n)
{
	SKIP_IF_FAILED();
	CUDA_OK(cudaMemsetAsync(x, 0, n * sizeof(T), S()));
}

/* ---------------- fused softmax cross-entropy: one block per row ---------------- */

template <typename T> static void crossentropy_forward(void *losses, void *logits, const int *targets, int N, int V)
{
	SKIP_IF_FAILED();
	crossentropy_forward_k<T><<<N, 256, 0, S()>>>((float *)losses, (T *)logits, targets, V);
	LAUNCH_OK();
}

template <typename T> static void crossentropy_backward(void *logits, const int *targets, float dloss, int N, int V)
{
	SKIP_IF_FAILED();
	crossentropy_backward_k<T><<<N, 256, 0, S()>>>((T *)logits, targets, dloss, V);
	LAUNCH_OK();
}

/* ---------------- deterministic reductions to the host ---------------- */

template <typename T> static double reduce_to_host(const void *x, size_t n, int squares)
{
	if (kn_cuda.status)
		return NAN;
	reduce_partial_k<T><<<RED_BLOCKS, 256, 0, S()>>>(kn_cuda.red_partials, (const T *)x, n, squares);
	reduce_final_k<<<1, 1, 0, S()>>>(kn_cuda.red_partials + RED_BLOCKS, kn_cuda.red_partials, RED_BLOCKS);
	LAUNCH_OK();
	CUDA_OK(cudaMemcpyAsync(kn_cuda.red_result, kn_cuda.red_partials + RED_BLOCKS, sizeof(double),
				cudaMemcpyDeviceToHost, S()));
	CUDA_OK(cudaStreamSynchronize(S()));
	return kn_cuda.status ? NAN : *kn_cuda.red_result;
}

static double sum_master(const void *x, size_t n) { return reduce_to_host<float>(x, n, 0); }
template <typename T> static double norm_squared(const void *x, size_t n) { return reduce_to_host<T>(x, n, 1); }

/* ---------------- optimizer ---------------- */

template <typename T>
static void adamw(void *master, void *compute, const void *grad, void *m, void *v, size_t n, float lr, float b1, float b2,
		  float eps, float wd, int t, float gs)
{
	SKIP_IF_FAILED();
	float c1 = (float)(1.0 / (1.0 - pow(b1, t))), c2 = (float)(1.0 / (1.0 - pow(b2, t)));
	adamw_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((float *)master, (T *)compute, (const T *)grad, (float *)m, (float *)v,
						      n, lr, b1, b2, eps, wd, c1, c2, gs);
	LAUNCH_OK();
}

template <typename T> static void master_to_compute(void *dst, const void *src, size_t n)
{
	SKIP_IF_FAILED();
	if (dst == src)
		return;
	cast_k<T><<<ceil_div(n, 256), 256, 0, S()>>>((T *)dst, (const float *)src, n);
	LAUNCH_OK();
}

/* ---------------- tables ---------------- */

template <typename T> static struct kn_ops make_ops()
{
	struct kn_ops o = {};
	o.encoder_forward = encoder_forward<T>;
	o.encoder_backward = encoder_backward<T>;
	o.layernorm_forward = layernorm_forward<T>;
	o.layernorm_backward = layernorm_backward<T>;
	o.residual_layernorm_forward = residual_layernorm_forward<T>;
	o.matmul_forward = matmul_forward<T>;
	o.matmul_backward = matmul_backward<T>;
	o.attention_forward = attention_forward<T>;
	o.attention_backward = attention_backward<T>;
	o.matmul_gelu_forward = matmul_gelu_forward<T>;
	o.matmul_backward_gelu = matmul_backward_gelu<T>;
	o.gelu_forward = gelu_forward<T>;
	o.gelu_backward = gelu_backward<T>;
	o.residual_forward = residual_forward<T>;
	o.accumulate = accumulate<T>;
	o.crossentropy_forward = crossentropy_forward<T>;
	o.crossentropy_backward = crossentropy_backward<T>;
	o.zero = zero<T>;
	o.sum_master = sum_master;
	o.norm_squared = norm_squared<T>;
	o.adamw = adamw<T>;
	o.master_to_compute = master_to_compute<T>;
	kn_cuda_add_cnn_ops<T>(&o);
	kn_cuda_add_flash_ops<T>(&o);
	return o;
}

const struct kn_ops kn_cuda_ops_f32 = make_ops<float>();
const struct kn_ops kn_cuda_ops_bf16 = make_ops<__nv_bfloat16>();
const struct kn_ops kn_cuda_ops_f16 = make_ops<__half>();
