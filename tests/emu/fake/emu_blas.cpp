/*
 * tests/emu/fake/emu_blas.cpp — cuBLAS and cuBLASLt on the CPU (cublas_v2.h,
 * cublasLt.h say what is modelled and checked).
 */
#include <cblas.h>

#include <set>
#include <vector>

#include "cublasLt.h"

size_t emu_type_bytes(cudaDataType_t t) { return t == CUDA_R_32F ? 4 : 2; }

float emu_load(cudaDataType_t t, const void *p, size_t i)
{
	if (t == CUDA_R_32F)
		return ((const float *)p)[i];
	if (t == CUDA_R_16BF)
		return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
	return __half2float(((const __half *)p)[i]);
}

void emu_store(cudaDataType_t t, void *p, size_t i, float v)
{
	if (t == CUDA_R_32F)
		((float *)p)[i] = v;
	else if (t == CUDA_R_16BF)
		((__nv_bfloat16 *)p)[i] = __float2bfloat16(v);
	else
		((__half *)p)[i] = __float2half(v);
}

float emu_tf32(float x)
{
	uint32_t u;
	memcpy(&u, &x, 4);
	if ((u & 0x7f800000u) == 0x7f800000u)
		return x;
	u += 0xfff + ((u >> 13) & 1);
	u &= ~0x1fffu;
	memcpy(&x, &u, 4);
	return x;
}

const char *cublasGetStatusString(cublasStatus_t s)
{
	switch (s) {
	case CUBLAS_STATUS_SUCCESS:
		return "CUBLAS_STATUS_SUCCESS";
	case CUBLAS_STATUS_NOT_INITIALIZED:
		return "CUBLAS_STATUS_NOT_INITIALIZED";
	case CUBLAS_STATUS_ALLOC_FAILED:
		return "CUBLAS_STATUS_ALLOC_FAILED";
	case CUBLAS_STATUS_INVALID_VALUE:
		return "CUBLAS_STATUS_INVALID_VALUE";
	case CUBLAS_STATUS_ARCH_MISMATCH:
		return "CUBLAS_STATUS_ARCH_MISMATCH";
	case CUBLAS_STATUS_EXECUTION_FAILED:
		return "CUBLAS_STATUS_EXECUTION_FAILED";
	case CUBLAS_STATUS_NOT_SUPPORTED:
		return "CUBLAS_STATUS_NOT_SUPPORTED";
	}
	return "unknown cuBLAS status";
}

/* One column-major GEMM: D = alpha op(A) op(B) + beta C [+ bias] with an epilogue, fp32 accumulation in k order. */
struct gemm {
	cudaDataType_t t;
	int m, n, k, transa, transb, tf32;
	const void *A, *B, *C;
	void *D;
	long long lda, ldb, ldc, ldd;
	float alpha, beta;
	int epilogue; /* 0 none, 1 bias, 2 gelu aux (+bias when bias), 3 dgelu */
	const void *bias;
	void *aux;
	long long aux_ld;
};

static float gelu(float x)
{
	const float s = 0.7978845608028654f; /* sqrt(2 / pi) */
	return 0.5f * x * (1.0f + tanhf(s * (x + 0.044715f * x * x * x)));
}

static float gelu_grad(float x)
{
	const float s = 0.7978845608028654f;
	float u = s * (x + 0.044715f * x * x * x), th = tanhf(u);
	return 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * s * (1.0f + 3.0f * 0.044715f * x * x);
}

/* The products by OpenBLAS on float copies of the operands (TF32-rounded for TF32 compute): fp32
 * accumulation as on the GPU, in an order of OpenBLAS's choosing; then scaling, C and the epilogue. */
static void run_gemm(const gemm &g)
{
	std::vector<float> a((size_t)g.m * g.k), b((size_t)g.n * g.k), r((size_t)g.m * g.n);
	for (int i = 0; i < g.m; i++)
		for (int p = 0; p < g.k; p++) {
			float v = emu_load(g.t, g.A, g.transa ? p + (size_t)i * g.lda : i + (size_t)p * g.lda);
			a[(size_t)i * g.k + p] = g.tf32 ? emu_tf32(v) : v;
		}
	for (int j = 0; j < g.n; j++)
		for (int p = 0; p < g.k; p++) {
			float v = emu_load(g.t, g.B, g.transb ? j + (size_t)p * g.ldb : p + (size_t)j * g.ldb);
			b[(size_t)j * g.k + p] = g.tf32 ? emu_tf32(v) : v;
		}
	/* r (row-major m x n) = a (m x k) b^T */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.m, g.n, g.k, 1.0f, a.data(), g.k, b.data(), g.k, 0.0f,
		    r.data(), g.n);
	for (int j = 0; j < g.n; j++)
		for (int i = 0; i < g.m; i++) {
			float v = g.alpha * r[(size_t)i * g.n + j];
			if (g.beta != 0.0f)
				v += g.beta * emu_load(g.t, g.C, i + (size_t)j * g.ldc);
			if (g.bias && (g.epilogue == 1 || g.epilogue == 2))
				v += emu_load(g.t, g.bias, i);
			if (g.epilogue == 2) {
				emu_store(g.t, g.aux, i + (size_t)j * g.aux_ld, v);
				v = gelu(v);
			} else if (g.epilogue == 3) {
				v *= gelu_grad(emu_load(g.t, g.aux, i + (size_t)j * g.aux_ld));
			}
			emu_store(g.t, g.D, i + (size_t)j * g.ldd, v);
		}
}

/* A column-major matrix of rows x cols with leading dimension ld, of type t, at p. */
struct mat {
	cudaDataType_t t;
	const void *p;
	long long rows, cols, ld;
	size_t bytes() const { return ((size_t)(cols - 1) * ld + rows) * emu_type_bytes(t); }
};

/* m lies in device memory (a NULL or malformed one is left to the caller's status) */
static void matrix_ok(const char *what, const mat &m)
{
	if (!m.p || m.ld < m.rows || m.rows < 1 || m.cols < 1)
		return;
	if (!emu_is_device(m.p, m.bytes()))
		emu_fatal("%s (%p, %lld x %lld, ld %lld): not within one device allocation", what, m.p, m.rows, m.cols,
			  m.ld);
}

/* The output of a GEMM must not overlap an input: undefined on the GPU, where tiles of the output
 * are written while others still read the input (the emulation computes on copies, so it checks). */
static void no_alias(const char *out, const mat &o, const char *in, const mat &i)
{
	uintptr_t o0 = (uintptr_t)o.p, o1 = o0 + o.bytes(), i0 = (uintptr_t)i.p, i1 = i0 + i.bytes();
	if (o0 < i1 && i0 < o1)
		emu_fatal("%s (%p) overlaps its input %s (%p): undefined on a GPU", out, o.p, in, i.p);
}

/* ---------------- cuBLAS ---------------- */

struct emu_blas_handle {
	cudaStream_t stream;
	cublasMath_t math;
};
static emu_registry blas = { "cuBLAS", {} };
static emu_blas_handle *blas_of(cublasHandle_t h) { return blas.of(h, "handle"); }

cublasStatus_t cublasCreate(cublasHandle_t *h)
{
	emu_guard g;
	blas.make(h);
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t h)
{
	emu_guard g;
	blas.drop(h, "handle");
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s)
{
	emu_guard g;
	blas_of(h)->stream = s; /* (on a GPU this also resets a user workspace to cuBLAS's own) */
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode)
{
	emu_guard g;
	blas_of(h)->math = mode;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace(cublasHandle_t h, void *ws, size_t bytes)
{
	emu_guard g;
	blas_of(h); /* the emulated GEMMs need no workspace: the call is checked, and that is all */
	if (bytes && !emu_is_device(ws, bytes))
		emu_fatal("cublasSetWorkspace(%p, %zu): not device memory", ws, bytes);
	return (uintptr_t)ws % 256 ? CUBLAS_STATUS_INVALID_VALUE : CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t transa, cublasOperation_t transb, int m,
					  int n, int k, const void *alpha, const void *A, cudaDataType_t Atype, int lda,
					  long long strideA, const void *B, cudaDataType_t Btype, int ldb, long long strideB,
					  const void *beta, void *C, cudaDataType_t Ctype, int ldc, long long strideC,
					  int batch, cublasComputeType_t compute, cublasGemmAlgo_t algo)
{
	emu_guard g;
	emu_blas_handle *b = blas_of(h);
	if (Atype != Btype || Atype != Ctype || m < 1 || n < 1 || k < 1 || batch < 1 ||
	    lda < (transa ? k : m) || ldb < (transb ? n : k) || ldc < m)
		return CUBLAS_STATUS_INVALID_VALUE;
	size_t es = emu_type_bytes(Atype);
	for (int i = 0; i < batch; i++) {
		mat a = { Atype, (const char *)A + (size_t)i * strideA * es, transa ? k : m, transa ? m : k, lda },
		    b = { Btype, (const char *)B + (size_t)i * strideB * es, transb ? n : k, transb ? k : n, ldb },
		    c = { Ctype, (const char *)C + (size_t)i * strideC * es, m, n, ldc };
		matrix_ok("batched GEMM A", a);
		matrix_ok("batched GEMM B", b);
		matrix_ok("batched GEMM C", c);
		no_alias("batched GEMM C", c, "A", a);
		no_alias("batched GEMM C", c, "B", b);
	}
	gemm base = {};
	base.t = Atype, base.m = m, base.n = n, base.k = k, base.transa = transa == CUBLAS_OP_T,
	base.transb = transb == CUBLAS_OP_T;
	base.tf32 = Atype == CUDA_R_32F && (compute == CUBLAS_COMPUTE_32F_FAST_TF32 ||
					    (b->math & CUBLAS_TF32_TENSOR_OP_MATH) == CUBLAS_TF32_TENSOR_OP_MATH);
	base.lda = lda, base.ldb = ldb, base.ldc = ldc, base.ldd = ldc;
	base.alpha = *(const float *)alpha, base.beta = *(const float *)beta;
	emu_enqueue(b->stream, [base, A, B, C, strideA, strideB, strideC, batch, es] {
		for (int i = 0; i < batch; i++) {
			gemm g1 = base;
			g1.A = (const char *)A + (size_t)i * strideA * es;
			g1.B = (const char *)B + (size_t)i * strideB * es;
			g1.C = g1.D = (char *)C + (size_t)i * strideC * es;
			run_gemm(g1);
		}
	});
	return CUBLAS_STATUS_SUCCESS;
}

/* ---------------- cuBLASLt ---------------- */

struct emu_lt_handle {
	int unused;
};
struct emu_lt_desc {
	cublasComputeType_t compute;
	int transa, transb;
	cublasLtEpilogue_t epilogue;
	const void *bias;
	void *aux;
	int64_t aux_ld;
};
struct emu_lt_layout {
	cudaDataType_t t;
	uint64_t rows, cols;
	int64_t ld;
};
struct emu_lt_pref {
	uint64_t max_ws;
	uint32_t al[4]; /* A B C D */
	uint32_t schemes;
};
static emu_registry lt = { "cuBLASLt", {} };

template <typename P> static cublasStatus_t lt_new(P **p)
{
	emu_guard g;
	lt.make(p);
	return CUBLAS_STATUS_SUCCESS;
}

template <typename P> static cublasStatus_t lt_delete(P *p, const char *what)
{
	emu_guard g;
	lt.drop(p, what);
	return CUBLAS_STATUS_SUCCESS;
}

size_t cublasLtGetVersion(void) { return 130000; }
cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) { return lt_new(h); }
cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) { return lt_delete(h, "handle"); }

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t compute, cudaDataType_t scale)
{
	if (scale != CUDA_R_32F)
		return CUBLAS_STATUS_NOT_SUPPORTED;
	cublasStatus_t s = lt_new(d);
	(*d)->compute = compute;
	(*d)->epilogue = CUBLASLT_EPILOGUE_DEFAULT;
	return s;
}
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) { return lt_delete(d, "matmul descriptor"); }

template <typename V> static cublasStatus_t get_attr(V *dst, const void *buf, size_t bytes)
{
	if (bytes != sizeof(V))
		return CUBLAS_STATUS_INVALID_VALUE;
	memcpy(dst, buf, sizeof(V));
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, const void *buf,
					      size_t bytes)
{
	emu_guard g;
	lt.of(d, "matmul descriptor");
	cublasOperation_t op;
	cublasStatus_t s;
	switch (a) {
	case CUBLASLT_MATMUL_DESC_TRANSA:
	case CUBLASLT_MATMUL_DESC_TRANSB:
		if ((s = get_attr(&op, buf, bytes)) == CUBLAS_STATUS_SUCCESS)
			(a == CUBLASLT_MATMUL_DESC_TRANSA ? d->transa : d->transb) = op == CUBLAS_OP_T;
		return s;
	case CUBLASLT_MATMUL_DESC_EPILOGUE:
		return get_attr(&d->epilogue, buf, bytes);
	case CUBLASLT_MATMUL_DESC_BIAS_POINTER:
		return get_attr(&d->bias, buf, bytes);
	case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER:
		return get_attr(&d->aux, buf, bytes);
	case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD:
		return get_attr(&d->aux_ld, buf, bytes);
	}
	return CUBLAS_STATUS_INVALID_VALUE;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType_t t, uint64_t rows, uint64_t cols,
					  int64_t ld)
{
	if (ld < (int64_t)rows || rows == 0 || cols == 0)
		return CUBLAS_STATUS_INVALID_VALUE;
	cublasStatus_t s = lt_new(l);
	(*l)->t = t, (*l)->rows = rows, (*l)->cols = cols, (*l)->ld = ld;
	return s;
}
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) { return lt_delete(l, "matrix layout"); }

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p)
{
	cublasStatus_t s = lt_new(p);
	(*p)->schemes = CUBLASLT_REDUCTION_SCHEME_MASK;
	for (int i = 0; i < 4; i++)
		(*p)->al[i] = 256; /* cuBLASLt assumes 256-byte aligned matrices unless told */
	return s;
}
cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) { return lt_delete(p, "preference"); }

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p, cublasLtMatmulPreferenceAttributes_t a,
						    const void *buf, size_t bytes)
{
	emu_guard g;
	lt.of(p, "preference");
	switch (a) {
	case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES:
		return get_attr(&p->max_ws, buf, bytes);
	case CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK:
		return get_attr(&p->schemes, buf, bytes);
	case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES:
	case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES:
	case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES:
	case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES:
		return get_attr(&p->al[a - CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES], buf, bytes);
	}
	return CUBLAS_STATUS_INVALID_VALUE;
}

static int env_on(const char *name)
{
	const char *v = getenv(name);
	return v && strcmp(v, "1") == 0;
}
static int emu_lt_splitk_mode(void) { return env_on("AMPTUNE_EMU_LT_SPLITK"); }

/* what an algorithm carries: a mark, its split-K and scheme, the alignments it was chosen for, the problem */
enum { ALGO_MARK, ALGO_SPLITK, ALGO_SCHEME, ALGO_AL_AB, ALGO_AL_CD, ALGO_WS, ALGO_PROBLEM, ALGO_AL_EPI };
static const uint64_t MARK = 0x656d752d616c676full;

static uint64_t problem_id(const emu_lt_desc *d, const emu_lt_layout *a, const emu_lt_layout *b, const emu_lt_layout *c)
{
	return c->rows | c->cols << 20 | (uint64_t)(d->transa ? a->rows : a->cols) << 40 | (uint64_t)d->epilogue << 58;
}

/* the largest power of two up to 256 dividing the address */
static uint32_t align_of(const void *p)
{
	uint32_t al = 256;
	while (al > 1 && (uintptr_t)p % al)
		al >>= 1;
	return al;
}

/* the epilogues that add the bias */
static int adds_bias(cublasLtEpilogue_t e)
{
	return e == CUBLASLT_EPILOGUE_BIAS || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
}

static int epilogue_kind(cublasLtEpilogue_t e)
{
	return e == CUBLASLT_EPILOGUE_BIAS ? 1 : e == CUBLASLT_EPILOGUE_GELU_AUX || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS ? 2
	       : e == CUBLASLT_EPILOGUE_DGELU ? 3 : 0;
}

/* the problem's shapes agree; CUBLAS_STATUS_SUCCESS, or what cuBLASLt answers */
static cublasStatus_t check_problem(const emu_lt_desc *d, const emu_lt_layout *a, const emu_lt_layout *b,
				    const emu_lt_layout *c, const emu_lt_layout *dl)
{
	uint64_t m = dl->rows, n = dl->cols, k = d->transa ? a->rows : a->cols;
	if ((d->transa ? a->cols : a->rows) != m || (d->transb ? b->cols : b->rows) != k ||
	    (d->transb ? b->rows : b->cols) != n || c->rows != m || c->cols != n || c->ld != dl->ld ||
	    a->t != b->t || a->t != c->t || a->t != dl->t)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (d->compute == CUBLAS_COMPUTE_32F_FAST_TF32 && a->t != CUDA_R_32F)
		return CUBLAS_STATUS_NOT_SUPPORTED;
	int ek = epilogue_kind(d->epilogue);
	if (d->epilogue != CUBLASLT_EPILOGUE_DEFAULT && !ek)
		return CUBLAS_STATUS_NOT_SUPPORTED;
	if (adds_bias(d->epilogue) && !d->bias)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (ek >= 2 && (!d->aux || d->aux_ld < (int64_t)m || d->aux_ld % 8))
		return CUBLAS_STATUS_NOT_SUPPORTED; /* the aux leading dimension must be a multiple of 8 */
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t a,
					      cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
					      cublasLtMatrixLayout_t dl, cublasLtMatmulPreference_t p, int requested,
					      cublasLtMatmulHeuristicResult_t *results, int *returned)
{
	emu_guard g;
	lt.of(h, "handle"), lt.of(d, "matmul descriptor"), lt.of(a, "layout"), lt.of(b, "layout"), lt.of(c, "layout"),
		lt.of(dl, "layout"), lt.of(p, "preference");
	*returned = 0;
	if (requested < 1)
		return CUBLAS_STATUS_INVALID_VALUE;
	cublasStatus_t s = check_problem(d, a, b, c, dl);
	if (s != CUBLAS_STATUS_SUCCESS)
		return s;
	size_t es = emu_type_bytes(a->t);
	for (int i = 0; i < 4; i++)
		if (p->al[i] < es || p->al[i] % es)
			return CUBLAS_STATUS_NOT_SUPPORTED; /* no algorithm reads elements misaligned to their size */
	if (epilogue_kind(d->epilogue) >= 2 && env_on("AMPTUNE_EMU_LT_NO_GELU"))
		return CUBLAS_STATUS_NOT_SUPPORTED; /* a GPU without a fused GELU algorithm for this problem */
	/* What is offered: one algorithm that does not split K. With AMPTUNE_EMU_LT_SPLITK=1, cublasLt.h's
	 * other reading of the reduction-scheme mask: a mask short of every scheme rules out algorithms
	 * that do not split K (and none that does fits here), and with every scheme allowed a split-K
	 * algorithm reducing in the output type comes first. */
	static const uint64_t plain[2] = { 1, CUBLASLT_REDUCTION_SCHEME_NONE },
			      split[2] = { 4, CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE };
	const uint64_t *offer[2] = { plain, NULL };
	int n_offer = 1;
	if (emu_lt_splitk_mode()) {
		if (p->schemes != CUBLASLT_REDUCTION_SCHEME_MASK)
			n_offer = 0;
		else
			offer[0] = split, offer[1] = plain, n_offer = 2;
	}
	for (int r = 0; r < n_offer && r < requested; r++) {
		memset(&results[r], 0, sizeof results[r]);
		uint64_t *x = results[r].algo.data;
		x[ALGO_MARK] = MARK;
		x[ALGO_SPLITK] = offer[r][0];
		x[ALGO_SCHEME] = offer[r][1];
		x[ALGO_AL_AB] = (uint64_t)p->al[0] | (uint64_t)p->al[1] << 32;
		x[ALGO_AL_CD] = (uint64_t)p->al[2] | (uint64_t)p->al[3] << 32;
		x[ALGO_WS] = p->max_ws < (1u << 20) ? p->max_ws : (1u << 20);
		x[ALGO_PROBLEM] = problem_id(d, a, b, c);
		/* the heuristic reads the bias and aux pointers' alignment too (cublasLt.h) */
		x[ALGO_AL_EPI] = (uint64_t)(d->bias ? align_of(d->bias) : 0) | (uint64_t)(d->aux ? align_of(d->aux) : 0) << 32;
		results[r].workspaceSize = x[ALGO_WS];
		results[r].state = CUBLAS_STATUS_SUCCESS;
		results[r].wavesCount = 1;
		++*returned;
	}
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoConfigGetAttribute(const cublasLtMatmulAlgo_t *algo,
						    cublasLtMatmulAlgoConfigAttributes_t a, void *buf, size_t bytes,
						    size_t *written)
{
	if (algo->data[ALGO_MARK] != MARK)
		emu_fatal("cublasLtMatmulAlgoConfigGetAttribute: not an algorithm from the heuristic");
	uint32_t v = (uint32_t)(a == CUBLASLT_ALGO_CONFIG_SPLITK_NUM ? algo->data[ALGO_SPLITK] : algo->data[ALGO_SCHEME]);
	if (a != CUBLASLT_ALGO_CONFIG_SPLITK_NUM && a != CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME)
		return CUBLAS_STATUS_INVALID_VALUE;
	*written = sizeof v;
	if (bytes < sizeof v)
		return CUBLAS_STATUS_INVALID_VALUE;
	memcpy(buf, &v, sizeof v);
	return CUBLAS_STATUS_SUCCESS;
}

/* the matrix a layout describes, at p */
static mat of(const emu_lt_layout *l, const void *p)
{
	return mat{ l->t, p, (long long)l->rows, (long long)l->cols, l->ld };
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t d, const void *alpha, const void *A,
			      cublasLtMatrixLayout_t la, const void *B, cublasLtMatrixLayout_t lb, const void *beta,
			      const void *C, cublasLtMatrixLayout_t lc, void *D, cublasLtMatrixLayout_t ld,
			      const cublasLtMatmulAlgo_t *algo, void *ws, size_t ws_bytes, cudaStream_t s)
{
	emu_guard g;
	lt.of(h, "handle"), lt.of(d, "matmul descriptor"), lt.of(la, "layout"), lt.of(lb, "layout"), lt.of(lc, "layout"),
		lt.of(ld, "layout");
	cublasStatus_t st = check_problem(d, la, lb, lc, ld);
	if (st != CUBLAS_STATUS_SUCCESS)
		return st;
	if (!algo)
		emu_fatal("cublasLtMatmul without an algorithm: the emulation has no default heuristic");
	const uint64_t *x = algo->data;
	if (x[ALGO_MARK] != MARK)
		emu_fatal("cublasLtMatmul: the algorithm did not come from cublasLtMatmulAlgoGetHeuristic");
	if (x[ALGO_PROBLEM] != problem_id(d, la, lb, lc))
		emu_fatal("cublasLtMatmul: the algorithm was chosen for another problem (shape or epilogue)");
	const void *ptr[4] = { A, B, C, D };
	for (int i = 0; i < 4; i++) {
		uint32_t promised = (uint32_t)(x[i < 2 ? ALGO_AL_AB : ALGO_AL_CD] >> (i % 2 ? 32 : 0));
		if (align_of(ptr[i]) < promised)
			return CUBLAS_STATUS_INVALID_VALUE; /* the pointer breaks the alignment the algorithm assumed */
	}
	if (x[ALGO_WS] > ws_bytes || (x[ALGO_WS] && (!emu_is_device(ws, x[ALGO_WS]) || (uintptr_t)ws % 256)))
		return CUBLAS_STATUS_INVALID_VALUE; /* the workspace must hold the algorithm's, 256-byte aligned */
	if ((d->bias && align_of(d->bias) < (uint32_t)x[ALGO_AL_EPI]) ||
	    (d->aux && align_of(d->aux) < (uint32_t)(x[ALGO_AL_EPI] >> 32)))
		return CUBLAS_STATUS_INVALID_VALUE; /* a bias or aux less aligned than the algorithm was chosen for */
	if (emu_lt_splitk_mode() && la->t != CUDA_R_32F && x[ALGO_SPLITK] > 1 &&
	    x[ALGO_SCHEME] != CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE)
		emu_fatal("a 16-bit matmul ran a split-K algorithm that reduces its partial sums in the output type "
			  "(AMPTUNE_EMU_LT_SPLITK=1 checks that the caller never picks one)");
	gemm g1 = {};
	g1.t = la->t, g1.m = (int)ld->rows, g1.n = (int)ld->cols, g1.k = (int)(d->transa ? la->rows : la->cols);
	g1.transa = d->transa, g1.transb = d->transb;
	g1.tf32 = d->compute == CUBLAS_COMPUTE_32F_FAST_TF32;
	g1.A = A, g1.B = B, g1.C = C, g1.D = D;
	g1.lda = la->ld, g1.ldb = lb->ld, g1.ldc = lc->ld, g1.ldd = ld->ld;
	g1.alpha = *(const float *)alpha, g1.beta = *(const float *)beta;
	g1.epilogue = epilogue_kind(d->epilogue);
	g1.bias = adds_bias(d->epilogue) ? d->bias : NULL;
	g1.aux = d->aux, g1.aux_ld = d->aux_ld;
	mat ma = of(la, A), mb = of(lb, B), md = of(ld, D);
	matrix_ok("matmul A", ma);
	matrix_ok("matmul B", mb);
	matrix_ok("matmul D", md);
	if (g1.beta != 0.0f)
		matrix_ok("matmul C", of(lc, C));
	if (g1.bias)
		matrix_ok("matmul bias", mat{ la->t, g1.bias, g1.m, 1, g1.m });
	if (g1.epilogue >= 2)
		matrix_ok("matmul aux", mat{ la->t, g1.aux, g1.m, g1.n, g1.aux_ld });
	no_alias("matmul D", md, "A", ma);
	no_alias("matmul D", md, "B", mb);
	emu_enqueue(s, [g1] { run_gemm(g1); });
	return CUBLAS_STATUS_SUCCESS;
}
