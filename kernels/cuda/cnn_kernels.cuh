/*
 * kernels/cuda/cnn_kernels.cuh — the CNN's own CUDA kernels (see cuda_cnn.cu),
 * apart from their launches so that tests/emu_cnn_kernels.cpp can run these
 * very kernels on the CPU under an emulation of the CUDA execution model.
 * Expects before inclusion: tof/fromf for T, __syncthreads, atomicAdd and min.
 */
#ifndef KN_CNN_KERNELS_CUH
#define KN_CNN_KERNELS_CUH

/* out[n, p, c] <- images[n, c, p] (p = y*W + x) */
template <typename T> __global__ void image_to_nhwc_k(T *out, const float *img, int N, int C, int HW)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (size_t)N * C * HW)
		return;
	int c = (int)(i % C);
	size_t p = (i / C) % HW, n = i / ((size_t)C * HW);
	out[i] = fromf<T>(img[(n * C + c) * HW + p]);
}

/*
 * Column statistics of x[M, C] in a fixed order. Rows are cut into `chunks`
 * chunks of rows_per rows (a function of M alone); block (bx, chunk) covers 32
 * columns with 32 x 8 threads, thread (tx, ty) taking rows ty, ty+8, ... of
 * the chunk, and the 8 partial sums are added in ty order.
 *   MOMENTS:  part1 = chunk mean, part2 = chunk sum of squared deviations
 *             (two passes over the chunk, which stays in L2)
 *   BACKWARD: part1 = sum d, part2 = sum d * xhat, d = dout masked by relu_out
 */
#define BN_TX 32
#define BN_TY 8
#define BN_MAX_CHUNKS 512
#define BN_EPS 1e-5f

static void bn_chunks(long M, int *chunks, long *rows_per)
{
	long c = (M + 255) / 256; /* ~256 rows per chunk */
	if (c > BN_MAX_CHUNKS)
		c = BN_MAX_CHUNKS;
	if (c < 1)
		c = 1;
	*rows_per = (M + c - 1) / c;
	*chunks = (int)((M + *rows_per - 1) / *rows_per);
}

__device__ float bn_block_sum(float v, float (*sh)[BN_TX])
{
	sh[threadIdx.y][threadIdx.x] = v;
	__syncthreads();
	float s = 0;
	for (int y = 0; y < BN_TY; y++) /* fixed order */
		s += sh[y][threadIdx.x];
	__syncthreads();
	return s;
}

template <typename T>
__global__ void bn_moments_k(float *part1, float *part2, const T *x, long M, int C, long rows_per)
{
	__shared__ float sh[BN_TY][BN_TX];
	int c = blockIdx.x * BN_TX + threadIdx.x;
	long r0 = (long)blockIdx.y * rows_per, r1 = min(M, r0 + rows_per);
	float s = 0;
	if (c < C)
		for (long r = r0 + threadIdx.y; r < r1; r += BN_TY)
			s += tof(x[r * C + c]);
	float mean = bn_block_sum(s, sh) / (float)(r1 - r0);
	float q = 0;
	if (c < C)
		for (long r = r0 + threadIdx.y; r < r1; r += BN_TY) {
			float d = tof(x[r * C + c]) - mean;
			q += d * d;
		}
	q = bn_block_sum(q, sh);
	if (c < C && threadIdx.y == 0) {
		part1[(size_t)blockIdx.y * C + c] = mean;
		part2[(size_t)blockIdx.y * C + c] = q;
	}
}

/* per channel: merge the chunks in order (Chan et al.), statistics and running statistics */
__global__ void bn_stats_finish_k(float *mean, float *rstd, float *rmean, float *rvar, const float *part1,
				  const float *part2, long M, int C, int chunks, long rows_per, float momentum)
{
	int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= C)
		return;
	double m = 0, m2 = 0, n = 0;
	for (int k = 0; k < chunks; k++) {
		double nb = (double)(min(M, (k + 1) * rows_per) - (long)k * rows_per), tot = n + nb;
		double delta = part1[(size_t)k * C + c] - m;
		m += delta * nb / tot;
		m2 += part2[(size_t)k * C + c] + delta * delta * n * nb / tot;
		n = tot;
	}
	mean[c] = (float)m;
	rstd[c] = (float)(1.0 / sqrt(m2 / (double)M + (double)BN_EPS));
	double unbiased = M > 1 ? m2 / (double)(M - 1) : m2;
	rmean[c] = (float)((1.0 - momentum) * rmean[c] + momentum * m);
	rvar[c] = (float)((1.0 - momentum) * rvar[c] + momentum * unbiased);
}

__global__ void bn_eval_stats_k(float *mean, float *rstd, const float *rmean, const float *rvar, int C)
{
	int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c < C) {
		mean[c] = rmean[c];
		rstd[c] = (float)(1.0 / sqrt((double)rvar[c] + (double)BN_EPS));
	}
}

template <typename T>
__global__ void bn_apply_k(T *out, const T *x, const float *mean, const float *rstd, const T *w, const T *b,
			   const T *res, int relu, size_t n, int C)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n)
		return;
	int c = (int)(i % C);
	float y = (tof(x[i]) - mean[c]) * rstd[c] * tof(w[c]) + tof(b[c]) + (res ? tof(res[i]) : 0.0f);
	out[i] = fromf<T>(relu && y < 0 ? 0.0f : y);
}

template <typename T>
__device__ __forceinline__ float bn_masked(const T *dout, const T *mask, size_t i)
{
	return !mask || tof(mask[i]) > 0.0f ? tof(dout[i]) : 0.0f;
}

template <typename T>
__global__ void bn_backward_sums_k(float *part1, float *part2, const T *dout, const T *mask, const T *x,
				   const float *mean, const float *rstd, long M, int C, long rows_per)
{
	__shared__ float sh[BN_TY][BN_TX];
	int c = blockIdx.x * BN_TX + threadIdx.x;
	long r0 = (long)blockIdx.y * rows_per, r1 = min(M, r0 + rows_per);
	float s1 = 0, s2 = 0;
	if (c < C) {
		float m = mean[c], r = rstd[c];
		for (long row = r0 + threadIdx.y; row < r1; row += BN_TY) {
			size_t i = (size_t)row * C + c;
			float d = bn_masked(dout, mask, i);
			s1 += d;
			s2 += d * ((tof(x[i]) - m) * r);
		}
	}
	s1 = bn_block_sum(s1, sh);
	s2 = bn_block_sum(s2, sh);
	if (c < C && threadIdx.y == 0) {
		part1[(size_t)blockIdx.y * C + c] = s1;
		part2[(size_t)blockIdx.y * C + c] = s2;
	}
}

/* per channel: chunk sums in order; dbias += s1, dweight += s2; k = (s1/M, s2/M) */
template <typename T>
__global__ void bn_backward_finish_k(T *dw, T *db, float *k1, float *k2, const float *part1, const float *part2, long M,
				     int C, int chunks)
{
	int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= C)
		return;
	double s1 = 0, s2 = 0;
	for (int k = 0; k < chunks; k++) {
		s1 += part1[(size_t)k * C + c];
		s2 += part2[(size_t)k * C + c];
	}
	db[c] = fromf<T>(tof(db[c]) + (float)s1);
	dw[c] = fromf<T>(tof(dw[c]) + (float)s2);
	k1[c] = (float)(s1 / (double)M);
	k2[c] = (float)(s2 / (double)M);
}

template <typename T>
__global__ void bn_backward_dx_k(T *dinp, const T *dout, const T *mask, const T *x, const T *w, const float *mean,
				 const float *rstd, const float *k1, const float *k2, size_t n, int C)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n)
		return;
	int c = (int)(i % C);
	float xhat = (tof(x[i]) - mean[c]) * rstd[c];
	float d = bn_masked(dout, mask, i);
	dinp[i] = fromf<T>(rstd[c] * tof(w[c]) * (d - k1[c] - xhat * k2[c]));
}

template <typename T> __global__ void relu_forward_k(T *out, const T *inp, size_t n)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		out[i] = fromf<T>(fmaxf(tof(inp[i]), 0.0f));
}

template <typename T> __global__ void relu_backward_k(T *dinp, const T *out, const T *dout, size_t n)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		dinp[i] = fromf<T>(tof(out[i]) > 0.0f ? tof(dout[i]) : 0.0f);
}

/* one thread per (n, c), summing the HW positions in order */
template <typename T> __global__ void avgpool_forward_k(T *out, const T *inp, int N, int HW, int C)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (size_t)N * C)
		return;
	size_t n = i / C;
	int c = (int)(i % C);
	const T *x = inp + n * HW * C + c;
	float s = 0;
	for (int p = 0; p < HW; p++)
		s += tof(x[(size_t)p * C]);
	out[i] = fromf<T>(s / (float)HW);
}

template <typename T> __global__ void avgpool_backward_k(T *dinp, const T *dout, int N, int HW, int C)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (size_t)N * HW * C)
		return;
	size_t n = i / ((size_t)HW * C);
	int c = (int)(i % C);
	dinp[i] = fromf<T>(tof(dout[n * C + c]) / (float)HW);
}

/* one thread per row; integer atomics, so the count is exact */
template <typename T> __global__ void count_correct_k(unsigned long long *count, const T *p, const int *targets, int N, int V)
{
	int n = blockIdx.x * blockDim.x + threadIdx.x;
	if (n >= N)
		return;
	const T *row = p + (size_t)n * V;
	int best = 0;
	float bv = tof(row[0]);
	for (int i = 1; i < V; i++)
		if (tof(row[i]) > bv) /* first on ties, as on the CPU */
			bv = tof(row[i]), best = i;
	if (best == targets[n])
		atomicAdd(count, 1ull);
}

template <typename T>
__global__ void sgd_k(float *w, T *out, const T *g, float *vel, size_t n, float lr, float momentum, float wd, float gs)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n)
		return;
	float gi = tof(g[i]) * gs + wd * w[i];
	float v = momentum * vel[i] + gi;
	vel[i] = v;
	float wi = w[i] - lr * v;
	w[i] = wi;
	out[i] = fromf<T>(wi);
}

#endif
