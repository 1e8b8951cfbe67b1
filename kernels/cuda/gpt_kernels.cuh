/*
 * kernels/cuda/gpt_kernels.cuh — the GPT's own CUDA kernels (see cuda_ops.cu),
 * apart from their launches so that tests/emu_gpt_kernels.cpp can run these
 * very kernels on the CPU under an emulation of the CUDA execution model.
 * Expects before inclusion: tof/fromf for T, __syncthreads, __shfl_xor_sync,
 * __expf, rsqrtf and min.
 */
#ifndef KN_GPT_KERNELS_CUH
#define KN_GPT_KERNELS_CUH

#define WARP 32

__device__ __forceinline__ float warp_sum(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

__device__ __forceinline__ float warp_max(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

template <typename T>
__global__ void encoder_forward_k(T *out, const int *tokens, const T *wte, const T *wpe, int BT, int T_, int C)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (size_t)BT * C)
		return;
	int bt = (int)(i / C), c = (int)(i % C), t = bt % T_;
	out[i] = fromf<T>(tof(wte[(size_t)tokens[bt] * C + c]) + tof(wpe[(size_t)t * C + c]));
}

/* dwpe[t,c] += sum over b, in b order */
template <typename T> __global__ void wpe_backward_k(T *dwpe, const T *dout, int B, int T_, int C)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (size_t)T_ * C)
		return;
	float s = tof(dwpe[i]);
	for (int b = 0; b < B; b++)
		s += tof(dout[(size_t)b * T_ * C + i]);
	dwpe[i] = fromf<T>(s);
}

/* one block column per run of equal tokens in the sorted order; thread = channel */
template <typename T>
__global__ void wte_backward_k(T *dwte, const T *dout, const int *sorted_tok, const int *sorted_pos, int BT, int C)
{
	int i = blockIdx.x;
	int c = blockIdx.y * blockDim.x + threadIdx.x;
	if (c >= C || (i > 0 && sorted_tok[i - 1] == sorted_tok[i]))
		return; /* only the first position of each token's run does the work */
	int tok = sorted_tok[i];
	float s = 0;
	for (int j = i; j < BT && sorted_tok[j] == tok; j++)
		s += tof(dout[(size_t)sorted_pos[j] * C + c]);
	size_t w = (size_t)tok * C + c;
	dwte[w] = fromf<T>(tof(dwte[w]) + s);
}

__global__ void iota_k(int *p, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		p[i] = i;
}

/* one warp per row */
template <typename T>
__global__ void layernorm_forward_k(T *out, float *mean, float *rstd, const T *inp, const T *w, const T *b, int N, int C)
{
	int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP, lane = threadIdx.x % WARP;
	if (row >= N)
		return;
	const T *x = inp + (size_t)row * C;
	float s = 0;
	for (int i = lane; i < C; i += WARP)
		s += tof(x[i]);
	float m = warp_sum(s) / C;
	float v = 0;
	for (int i = lane; i < C; i += WARP) {
		float d = tof(x[i]) - m;
		v += d * d;
	}
	float r = rsqrtf(warp_sum(v) / C + 1e-5f);
	T *o = out + (size_t)row * C;
	for (int i = lane; i < C; i += WARP)
		o[i] = fromf<T>((tof(x[i]) - m) * r * tof(w[i]) + tof(b[i]));
	if (lane == 0) {
		mean[row] = m;
		rstd[row] = r;
	}
}

/* res = a + b and out = layernorm(res), one warp per row: res is written once
 * and re-read from cache for the statistics and the normalised output */
template <typename T>
__global__ void residual_layernorm_forward_k(T *res, T *out, float *mean, float *rstd, const T *a, const T *b, const T *w,
					     const T *bias, int N, int C)
{
	int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP, lane = threadIdx.x % WARP;
	if (row >= N)
		return;
	size_t o = (size_t)row * C;
	float s = 0;
	for (int i = lane; i < C; i += WARP) {
		T r = fromf<T>(tof(a[o + i]) + tof(b[o + i]));
		res[o + i] = r;
		s += tof(r); /* the statistics of the stored (rounded) residual, as the unfused pair computes them */
	}
	float m = warp_sum(s) / C;
	float v = 0;
	for (int i = lane; i < C; i += WARP) {
		float d = tof(res[o + i]) - m;
		v += d * d;
	}
	float r = rsqrtf(warp_sum(v) / C + 1e-5f);
	for (int i = lane; i < C; i += WARP)
		out[o + i] = fromf<T>((tof(res[o + i]) - m) * r * tof(w[i]) + tof(bias[i]));
	if (lane == 0) {
		mean[row] = m;
		rstd[row] = r;
	}
}

template <typename T>
__global__ void layernorm_backward_dinp_k(T *dinp, const T *dout, const T *inp, const T *w, const float *mean,
					  const float *rstd, int N, int C)
{
	int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP, lane = threadIdx.x % WARP;
	if (row >= N)
		return;
	const T *x = inp + (size_t)row * C, *d = dout + (size_t)row * C;
	float m = mean[row], r = rstd[row], dm = 0, dnm = 0;
	for (int i = lane; i < C; i += WARP) {
		float norm = (tof(x[i]) - m) * r, dn = tof(w[i]) * tof(d[i]);
		dm += dn;
		dnm += dn * norm;
	}
	dm = warp_sum(dm) / C;
	dnm = warp_sum(dnm) / C;
	T *di = dinp + (size_t)row * C;
	for (int i = lane; i < C; i += WARP) {
		float norm = (tof(x[i]) - m) * r, dn = tof(w[i]) * tof(d[i]);
		di[i] = fromf<T>(tof(di[i]) + (dn - dm - norm * dnm) * r);
	}
}

/*
 * Column sums in a fixed order: blockIdx.y takes rows [y*rows_per, ...),
 * each thread one column, partial sums to a [chunks, C] float buffer; then
 * colsum_finish adds the chunks in order into dst. Mode 0 sums a; mode 1 sums
 * (x - mean) * rstd * a (LayerNorm weight gradient).
 */
#define COLSUM_CHUNKS 64
template <typename T>
__global__ void colsum_partial_k(float *part, const T *a, const T *x, const float *mean, const float *rstd, int N, int C,
				 int rows_per, int mode)
{
	int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= C)
		return;
	int r0 = blockIdx.y * rows_per, r1 = min(N, r0 + rows_per);
	float s = 0;
	for (int r = r0; r < r1; r++) {
		float v = tof(a[(size_t)r * C + c]);
		if (mode)
			v *= (tof(x[(size_t)r * C + c]) - mean[r]) * rstd[r];
		s += v;
	}
	part[(size_t)blockIdx.y * C + c] = s;
}

template <typename T> __global__ void colsum_finish_k(T *dst, const float *part, int chunks, int C)
{
	int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= C)
		return;
	float s = tof(dst[c]);
	for (int k = 0; k < chunks; k++)
		s += part[(size_t)k * C + c];
	dst[c] = fromf<T>(s);
}

/* D[i + j*ldd] += bias[i]: the bias for a D that the epilogue cannot take */
template <typename T> __global__ void add_bias_k(T *D, const T *bias, int m, int n, int ldd)
{
	size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (e >= (size_t)m * n)
		return;
	int i = (int)(e % m), j = (int)(e / m);
	size_t o = i + (size_t)j * ldd;
	D[o] = fromf<T>(tof(D[o]) + tof(bias[i]));
}

/* qkv[B,T,3C] -> q,k,v [B,NH,T,hs] */
template <typename T>
__global__ void permute_k(T *q, T *k, T *v, const T *qkv, int B, int T_, int NH, int hs)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	size_t n = (size_t)B * NH * T_ * hs;
	if (i >= n)
		return;
	int d = i % hs, t = (i / hs) % T_, h = (i / ((size_t)hs * T_)) % NH, b = (int)(i / ((size_t)hs * T_ * NH));
	int C = NH * hs;
	size_t src = ((size_t)b * T_ + t) * 3 * C + (size_t)h * hs + d;
	q[i] = qkv[src];
	k[i] = qkv[src + C];
	v[i] = qkv[src + 2 * C];
}

/* [B,NH,T,hs] -> out[B,T,C] (or into the q/k/v third of dqkv with stride 3C) */
template <typename T>
__global__ void unpermute_k(T *out, const T *in, int B, int T_, int NH, int hs, int ld, int forward)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	size_t n = (size_t)B * NH * T_ * hs;
	if (i >= n)
		return;
	int d = i % hs, t = (i / hs) % T_, h = (i / ((size_t)hs * T_)) % NH, b = (int)(i / ((size_t)hs * T_ * NH));
	size_t o = ((size_t)b * T_ + t) * ld + (size_t)h * hs + d;
	if (forward)
		out[o] = in[i];
	else /* the reverse: gather out[B,T,C] into [B,NH,T,hs] */
		((T *)in)[i] = out[o];
}

/* causal softmax of each row of att[B*NH, T, T] in place; one warp per row */
template <typename T> __global__ void softmax_causal_k(T *att, int rows, int T_)
{
	int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP, lane = threadIdx.x % WARP;
	if (row >= rows)
		return;
	int t = row % T_;
	T *p = att + (size_t)row * T_;
	float mx = -INFINITY;
	for (int j = lane; j <= t; j += WARP)
		mx = fmaxf(mx, tof(p[j]));
	mx = warp_max(mx);
	float s = 0;
	for (int j = lane; j <= t; j += WARP)
		s += __expf(tof(p[j]) - mx);
	float inv = 1.0f / warp_sum(s);
	for (int j = lane; j < T_; j += WARP)
		p[j] = fromf<T>(j <= t ? __expf(tof(p[j]) - mx) * inv : 0.0f);
}

/* dS = P * (dP - rowsum(P * dP)) in place over dP; one warp per row */
template <typename T> __global__ void softmax_backward_k(T *dp, const T *att, int rows, int T_)
{
	int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP, lane = threadIdx.x % WARP;
	if (row >= rows)
		return;
	int t = row % T_;
	const T *p = att + (size_t)row * T_;
	T *d = dp + (size_t)row * T_;
	float dot = 0;
	for (int j = lane; j <= t; j += WARP)
		dot += tof(p[j]) * tof(d[j]);
	dot = warp_sum(dot);
	for (int j = lane; j < T_; j += WARP)
		d[j] = fromf<T>(j <= t ? tof(p[j]) * (tof(d[j]) - dot) : 0.0f);
}

#define GELU_K 0.7978845608028654f
template <typename T> __global__ void gelu_forward_k(T *out, const T *inp, size_t n)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) {
		float x = tof(inp[i]);
		out[i] = fromf<T>(0.5f * x * (1.0f + tanhf(GELU_K * (x + 0.044715f * x * x * x))));
	}
}

template <typename T> __global__ void gelu_backward_k(T *dinp, const T *inp, const T *dout, size_t n)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) {
		float x = tof(inp[i]);
		float th = tanhf(GELU_K * (x + 0.044715f * x * x * x));
		float du = GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
		dinp[i] = fromf<T>((0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du) * tof(dout[i]));
	}
}

template <typename T> __global__ void add_k(T *out, const T *a, const T *b, size_t n)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		out[i] = fromf<T>(tof(a[i]) + tof(b[i]));
}

__device__ float block_reduce(float v, int is_max)
{
	__shared__ float sh[32];
	int lane = threadIdx.x % WARP, w = threadIdx.x / WARP;
	v = is_max ? warp_max(v) : warp_sum(v);
	__syncthreads();
	if (lane == 0)
		sh[w] = v;
	__syncthreads();
	int nw = blockDim.x / WARP;
	v = lane < nw ? sh[lane] : (is_max ? -INFINITY : 0.0f);
	return is_max ? warp_max(v) : warp_sum(v);
}

template <typename T> __global__ void crossentropy_forward_k(float *losses, T *logits, const int *targets, int V)
{
	T *row = logits + (size_t)blockIdx.x * V;
	float mx = -INFINITY;
	for (int i = threadIdx.x; i < V; i += blockDim.x)
		mx = fmaxf(mx, tof(row[i]));
	mx = block_reduce(mx, 1);
	float s = 0;
	for (int i = threadIdx.x; i < V; i += blockDim.x)
		s += __expf(tof(row[i]) - mx);
	s = block_reduce(s, 0);
	int tg = targets[blockIdx.x];
	float target_logit = tof(row[tg]);
	__syncthreads(); /* everyone has read row[tg] before it is overwritten */
	for (int i = threadIdx.x; i < V; i += blockDim.x)
		row[i] = fromf<T>(__expf(tof(row[i]) - mx) / s);
	if (threadIdx.x == 0)
		losses[blockIdx.x] = logf(s) + mx - target_logit;
}

template <typename T> __global__ void crossentropy_backward_k(T *p, const int *targets, float dloss, int V)
{
	T *row = p + (size_t)blockIdx.x * V;
	int tg = targets[blockIdx.x];
	for (int i = threadIdx.x; i < V; i += blockDim.x)
		row[i] = fromf<T>((tof(row[i]) - (i == tg ? 1.0f : 0.0f)) * dloss);
}

#define RED_BLOCKS 512
template <typename T> __global__ void reduce_partial_k(double *part, const T *x, size_t n, int squares)
{
	__shared__ double sh[256];
	double s = 0;
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		double v = tof(x[i]);
		s += squares ? v * v : v;
	}
	sh[threadIdx.x] = s;
	__syncthreads();
	for (unsigned o = blockDim.x / 2; o > 0; o >>= 1) {
		if (threadIdx.x < o)
			sh[threadIdx.x] += sh[threadIdx.x + o];
		__syncthreads();
	}
	if (threadIdx.x == 0)
		part[blockIdx.x] = sh[0];
}

__global__ void reduce_final_k(double *out, const double *part, int n)
{
	if (threadIdx.x == 0 && blockIdx.x == 0) {
		double s = 0;
		for (int i = 0; i < n; i++)
			s += part[i];
		*out = s;
	}
}

template <typename T>
__global__ void adamw_k(float *w, T *out, const T *g, float *m, float *v, size_t n, float lr, float b1, float b2, float eps,
			float wd, float c1, float c2, float gs)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n)
		return;
	float gi = tof(g[i]) * gs;
	float mi = b1 * m[i] + (1.0f - b1) * gi, vi = b2 * v[i] + (1.0f - b2) * gi * gi;
	m[i] = mi;
	v[i] = vi;
	float wi = w[i] - lr * ((mi * c1) / (sqrtf(vi * c2) + eps) + wd * w[i]);
	w[i] = wi;
	out[i] = fromf<T>(wi);
}

template <typename T> __global__ void cast_k(T *dst, const float *src, size_t n)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		dst[i] = fromf<T>(src[i]);
}

#endif
