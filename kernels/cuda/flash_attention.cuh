/*
 * kernels/cuda/flash_attention.cuh — the fused attention's device code (see
 * cuda_attention.cu for the algorithm), apart from its launches so that
 * tests/emu_flash_attention.cpp can run these very kernels on the CPU under an
 * emulation of the CUDA execution model. Expects before inclusion: tof/fromf
 * for T, nvcuda::wmma, __syncthreads/__syncwarp/__shfl_xor_sync/__expf, and
 * optionally FA_DYNAMIC_SMEM.
 */
#ifndef KN_FLASH_ATTENTION_CUH
#define KN_FLASH_ATTENTION_CUH

/* the kernel's dynamic shared memory */
#ifndef FA_DYNAMIC_SMEM
#define FA_DYNAMIC_SMEM(name) extern __shared__ __align__(128) unsigned char name[]
#endif

#define FA_TILE 64
#define FA_WARPS 4
#define FA_ROWS 16 /* rows per warp */

/* shared memory carve-up, all offsets multiples of 32 bytes (WMMA's pointer alignment) */
template <typename T, int HS> struct fa_smem {
	static constexpr int tile = FA_TILE * HS;                     /* elements of a [64, HS] tile */
	static constexpr size_t tile_bytes = (size_t)tile * sizeof(T);
	static constexpr size_t warp_f32 = (size_t)FA_ROWS * FA_TILE; /* floats of a warp's [16, 64] */
	static constexpr size_t bytes = 4 * tile_bytes + 2 * FA_WARPS * warp_f32 * sizeof(float) +
					FA_WARPS * warp_f32 * sizeof(T) + 2 * FA_TILE * sizeof(float);
};

/* the carved buffers: four [64, HS] tiles, two fp32 [warps][16][64] areas, a
 * [warps][16][64] area of T, two fp32 [64] vectors */
template <typename T> struct fa_bufs {
	T *tile[4];
	float *f0, *f1;
	T *p;
	float *v0, *v1;
};

template <typename T, int HS> __device__ fa_bufs<T> fa_carve(unsigned char *smem)
{
	typedef fa_smem<T, HS> L;
	fa_bufs<T> b;
	for (int i = 0; i < 4; i++)
		b.tile[i] = (T *)smem + (size_t)i * L::tile;
	b.f0 = (float *)(smem + 4 * L::tile_bytes);
	b.f1 = b.f0 + FA_WARPS * L::warp_f32;
	b.p = (T *)(b.f1 + FA_WARPS * L::warp_f32);
	b.v0 = (float *)(b.p + FA_WARPS * L::warp_f32);
	b.v1 = b.v0 + FA_TILE;
	return b;
}

template <typename T> using frag_a = wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major>;
template <typename T> using frag_bt = wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major>;
template <typename T> using frag_b = wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major>;
using frag_acc = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

/* out[16, 64] (fp32, ld 64) = A[16, HS] B[64, HS]^T: A rows at a (ld HS), B rows at b (ld HS) */
template <typename T, int HS> __device__ void mm_abt(float *out, const T *a, const T *b)
{
	for (int n = 0; n < FA_TILE / 16; n++) {
		frag_acc c;
		wmma::fill_fragment(c, 0.0f);
		for (int k = 0; k < HS / 16; k++) {
			frag_a<T> fa;
			frag_bt<T> fb;
			wmma::load_matrix_sync(fa, a + k * 16, HS);
			wmma::load_matrix_sync(fb, b + (size_t)n * 16 * HS + k * 16, HS);
			wmma::mma_sync(c, fa, fb, c);
		}
		wmma::store_matrix_sync(out + n * 16, c, FA_TILE, wmma::mem_row_major);
	}
}

/* acc[HS/16] += P[16, 64] (ld 64) B[64, HS] (ld HS) */
template <typename T, int HS> __device__ void mm_pb(frag_acc *acc, const T *p, const T *b)
{
	for (int n = 0; n < HS / 16; n++)
		for (int k = 0; k < FA_TILE / 16; k++) {
			frag_a<T> fa;
			frag_b<T> fb;
			wmma::load_matrix_sync(fa, p + k * 16, FA_TILE);
			wmma::load_matrix_sync(fb, b + (size_t)k * 16 * HS + n * 16, HS);
			wmma::mma_sync(acc[n], fa, fb, acc[n]);
		}
}

/* rows [t0, t0 + 64) of one head's q, k or v (which = 0, 1, 2) from qkv [B, T, 3C]; zero past T */
template <typename T, int HS>
__device__ void load_tile(T *dst, const T *qkv, int b, int h, int which, int t0, int T_, int C)
{
	for (int e = threadIdx.x; e < FA_TILE * HS; e += blockDim.x) {
		int r = e / HS, d = e % HS, t = t0 + r;
		dst[e] = t < T_ ? qkv[((size_t)b * T_ + t) * 3 * C + (size_t)which * C + (size_t)h * HS + d] : fromf<T>(0.0f);
	}
}

/* rows [t0, t0 + 64) of head h of x [B, T, C]; zero past T */
template <typename T, int HS> __device__ void load_rows(T *dst, const T *x, int b, int h, int t0, int T_, int C)
{
	for (int e = threadIdx.x; e < FA_TILE * HS; e += blockDim.x) {
		int r = e / HS, d = e % HS, t = t0 + r;
		dst[e] = t < T_ ? x[((size_t)b * T_ + t) * C + (size_t)h * HS + d] : fromf<T>(0.0f);
	}
}

/* a warp's [16, HS] fp32 result (ld HS in buf) times `scale` into rows t0.. of column block col of dst [B, T, ld] */
template <typename T, int HS>
__device__ void store_rows(T *dst, const float *buf, float scale, int b, int t0, int T_, size_t ld, size_t col)
{
	int lane = threadIdx.x % 32;
	for (int e = lane; e < FA_ROWS * HS; e += 32) {
		int r = e / HS, d = e % HS, t = t0 + r;
		if (t < T_)
			dst[((size_t)b * T_ + t) * ld + col + d] = fromf<T>(buf[e] * scale);
	}
}

/* a warp's [16, HS] accumulators, through its fp32 staging area buf, times `scale` into dst (see store_rows) */
template <typename T, int HS>
__device__ void store_frags(T *dst, float *buf, const frag_acc *acc, float scale, int b, int t0, int T_, size_t ld,
			    size_t col)
{
	for (int n = 0; n < HS / 16; n++)
		wmma::store_matrix_sync(buf + n * 16, acc[n], HS, wmma::mem_row_major);
	__syncwarp();
	store_rows<T, HS>(dst, buf, scale, b, t0, T_, ld, col);
}

/* rows [t0, t0 + 64) of (b, h)'s log-sum-exp and D = rowsum(dO * O): past T, lse = inf (P = 0) and D = 0 */
__device__ inline void load_row_stats(float *lse_s, float *D_s, const float *lse, const float *D, int bh, int t0, int T_)
{
	for (int c = threadIdx.x; c < FA_TILE; c += blockDim.x) {
		int t = t0 + c;
		lse_s[c] = t < T_ ? lse[(size_t)bh * T_ + t] : INFINITY;
		D_s[c] = t < T_ ? D[(size_t)bh * T_ + t] : 0.0f;
	}
}

template <typename T, int HS>
__global__ void __launch_bounds__(FA_WARPS * 32)
	flash_forward_k(T *out, float *lse, const T *qkv, int B, int T_, int C, int NH, float scale)
{
	FA_DYNAMIC_SMEM(smem);
	typedef fa_smem<T, HS> L;
	fa_bufs<T> sb = fa_carve<T, HS>(smem);
	T *Qs = sb.tile[0], *Ks = sb.tile[1], *Vs = sb.tile[2], *P = sb.p;
	float *S = sb.f0, *O = sb.f1, *m_s = sb.v0, *l_s = sb.v1; /* S is reused for P V; O is [warps][16][HS] */
	int i = blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH;
	int w = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2, half = lane % 2;
	float *Sw = S + w * L::warp_f32, *Ow = O + w * L::warp_f32;
	T *Pw = P + w * L::warp_f32;
	int q = i * FA_TILE + w * FA_ROWS + r; /* this lane's query row */
	load_tile<T, HS>(Qs, qkv, b, h, 0, i * FA_TILE, T_, C);
	for (int e = lane; e < FA_ROWS * HS; e += 32)
		Ow[e] = 0.0f;
	if (half == 0) {
		m_s[w * FA_ROWS + r] = -INFINITY;
		l_s[w * FA_ROWS + r] = 0.0f;
	}
	for (int j = 0; j <= i; j++) {
		__syncthreads(); /* the previous tile's K and V are no longer read */
		load_tile<T, HS>(Ks, qkv, b, h, 1, j * FA_TILE, T_, C);
		load_tile<T, HS>(Vs, qkv, b, h, 2, j * FA_TILE, T_, C);
		__syncthreads();
		mm_abt<T, HS>(Sw, Qs + (size_t)w * FA_ROWS * HS, Ks);
		__syncwarp();
		/* online softmax: two lanes per row, 32 columns each */
		float mx = -INFINITY;
		for (int c = half * 32; c < half * 32 + 32; c++) {
			int k = j * FA_TILE + c;
			if (k <= q && k < T_)
				mx = fmaxf(mx, Sw[r * FA_TILE + c] * scale);
		}
		mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
		float m_old = m_s[w * FA_ROWS + r], m_new = fmaxf(m_old, mx);
		float sum = 0;
		for (int c = half * 32; c < half * 32 + 32; c++) {
			int k = j * FA_TILE + c;
			T p = fromf<T>(k <= q && k < T_ ? __expf(Sw[r * FA_TILE + c] * scale - m_new) : 0.0f);
			Pw[r * FA_TILE + c] = p;
			sum += tof(p); /* the rounded probabilities, as P V sees them */
		}
		sum += __shfl_xor_sync(0xffffffffu, sum, 1);
		float alpha = m_old == -INFINITY ? 0.0f : __expf(m_old - m_new);
		__syncwarp();
		if (half == 0) {
			m_s[w * FA_ROWS + r] = m_new;
			l_s[w * FA_ROWS + r] = l_s[w * FA_ROWS + r] * alpha + sum;
		}
		/* P V into the score buffer (now free), then O = O alpha + P V */
		frag_acc acc[HS / 16];
		for (int n = 0; n < HS / 16; n++)
			wmma::fill_fragment(acc[n], 0.0f);
		mm_pb<T, HS>(acc, Pw, Vs);
		for (int n = 0; n < HS / 16; n++)
			wmma::store_matrix_sync(Sw + n * 16, acc[n], HS, wmma::mem_row_major);
		__syncwarp();
		for (int d = half * (HS / 2); d < (half + 1) * (HS / 2); d++)
			Ow[r * HS + d] = Ow[r * HS + d] * alpha + Sw[r * HS + d];
		__syncwarp();
	}
	float l = l_s[w * FA_ROWS + r];
	for (int d = half * (HS / 2); d < (half + 1) * (HS / 2); d++)
		Ow[r * HS + d] = l > 0 ? Ow[r * HS + d] / l : 0.0f;
	if (half == 0 && q < T_)
		lse[(size_t)bh * T_ + q] = m_s[w * FA_ROWS + r] + logf(l);
	__syncwarp();
	store_rows<T, HS>(out, Ow, 1.0f, b, i * FA_TILE + w * FA_ROWS, T_, (size_t)C, (size_t)h * HS);
}

/* D[b, h, t] = sum_d dout * out over head h's columns; one warp per (b, t, h) */
template <typename T, int HS> __global__ void flash_delta_k(float *D, const T *dout, const T *out, int B, int T_, int C, int NH)
{
	size_t row = (size_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
	int lane = threadIdx.x % 32;
	if (row >= (size_t)B * T_ * NH)
		return;
	int h = (int)(row % NH);
	size_t bt = row / NH;
	const T *a = dout + bt * C + (size_t)h * HS, *o = out + bt * C + (size_t)h * HS;
	float s = 0;
	for (int d = lane; d < HS; d += 32)
		s += tof(a[d]) * tof(o[d]);
	for (int k = 16; k > 0; k >>= 1)
		s += __shfl_xor_sync(0xffffffffu, s, k);
	if (lane == 0) {
		int b = (int)(bt / T_), t = (int)(bt % T_);
		D[((size_t)b * NH + h) * T_ + t] = s;
	}
}

/* dK, dV for key tile blockIdx.x of (b, h) = blockIdx.y: warp w owns keys w*16 .. +16 */
template <typename T, int HS>
__global__ void __launch_bounds__(FA_WARPS * 32) flash_dkdv_k(T *dqkv, const T *dout, const T *qkv, const float *lse,
							      const float *D, int B, int T_, int C, int NH, float scale)
{
	FA_DYNAMIC_SMEM(smem);
	typedef fa_smem<T, HS> L;
	fa_bufs<T> sb = fa_carve<T, HS>(smem);
	T *Ks = sb.tile[0], *Vs = sb.tile[1], *Qs = sb.tile[2], *dOs = sb.tile[3], *P = sb.p;
	float *S = sb.f0, *dP = sb.f1, *lse_s = sb.v0, *D_s = sb.v1;
	int j = blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH, ntiles = (T_ + FA_TILE - 1) / FA_TILE;
	int w = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2, half = lane % 2;
	float *Sw = S + w * L::warp_f32, *dPw = dP + w * L::warp_f32;
	T *Pw = P + w * L::warp_f32;
	int k = j * FA_TILE + w * FA_ROWS + r; /* this lane's key row */
	load_tile<T, HS>(Ks, qkv, b, h, 1, j * FA_TILE, T_, C);
	load_tile<T, HS>(Vs, qkv, b, h, 2, j * FA_TILE, T_, C);
	frag_acc dK[HS / 16], dV[HS / 16];
	for (int n = 0; n < HS / 16; n++) {
		wmma::fill_fragment(dK[n], 0.0f);
		wmma::fill_fragment(dV[n], 0.0f);
	}
	for (int i = j; i < ntiles; i++) {
		__syncthreads();
		load_tile<T, HS>(Qs, qkv, b, h, 0, i * FA_TILE, T_, C);
		load_rows<T, HS>(dOs, dout, b, h, i * FA_TILE, T_, C);
		load_row_stats(lse_s, D_s, lse, D, bh, i * FA_TILE, T_);
		__syncthreads();
		/* S^T = K_w Q^T: [16 keys, 64 queries] */
		mm_abt<T, HS>(Sw, Ks + (size_t)w * FA_ROWS * HS, Qs);
		/* dP^T = V_w dO^T */
		mm_abt<T, HS>(dPw, Vs + (size_t)w * FA_ROWS * HS, dOs);
		__syncwarp();
		for (int c = half * 32; c < half * 32 + 32; c++) {
			int q = i * FA_TILE + c;
			float p = k <= q && q < T_ && k < T_ ? __expf(Sw[r * FA_TILE + c] * scale - lse_s[c]) : 0.0f;
			Pw[r * FA_TILE + c] = fromf<T>(p);
			Sw[r * FA_TILE + c] = p;
		}
		__syncwarp();
		mm_pb<T, HS>(dV, Pw, dOs); /* dV_w += P^T dO */
		__syncwarp();
		for (int c = half * 32; c < half * 32 + 32; c++)
			Pw[r * FA_TILE + c] = fromf<T>(Sw[r * FA_TILE + c] * (dPw[r * FA_TILE + c] - D_s[c]));
		__syncwarp();
		mm_pb<T, HS>(dK, Pw, Qs); /* dK_w += dS^T Q */
	}
	int k0 = j * FA_TILE + w * FA_ROWS;
	store_frags<T, HS>(dqkv, Sw, dK, scale, b, k0, T_, (size_t)3 * C, (size_t)C + (size_t)h * HS);
	__syncwarp();
	store_frags<T, HS>(dqkv, Sw, dV, 1.0f, b, k0, T_, (size_t)3 * C, (size_t)2 * C + (size_t)h * HS);
}

/* dQ for query tile blockIdx.x of (b, h) = blockIdx.y: warp w owns queries w*16 .. +16 */
template <typename T, int HS>
__global__ void __launch_bounds__(FA_WARPS * 32) flash_dq_k(T *dqkv, const T *dout, const T *qkv, const float *lse,
							    const float *D, int B, int T_, int C, int NH, float scale)
{
	FA_DYNAMIC_SMEM(smem);
	typedef fa_smem<T, HS> L;
	fa_bufs<T> sb = fa_carve<T, HS>(smem);
	T *Qs = sb.tile[0], *dOs = sb.tile[1], *Ks = sb.tile[2], *Vs = sb.tile[3], *P = sb.p;
	float *S = sb.f0, *dP = sb.f1, *lse_s = sb.v0, *D_s = sb.v1;
	int i = blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH;
	int w = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2, half = lane % 2;
	float *Sw = S + w * L::warp_f32, *dPw = dP + w * L::warp_f32;
	T *Pw = P + w * L::warp_f32;
	int q = i * FA_TILE + w * FA_ROWS + r; /* this lane's query row */
	load_tile<T, HS>(Qs, qkv, b, h, 0, i * FA_TILE, T_, C);
	load_rows<T, HS>(dOs, dout, b, h, i * FA_TILE, T_, C);
	load_row_stats(lse_s, D_s, lse, D, bh, i * FA_TILE, T_);
	frag_acc dQ[HS / 16];
	for (int n = 0; n < HS / 16; n++)
		wmma::fill_fragment(dQ[n], 0.0f);
	for (int j = 0; j <= i; j++) {
		__syncthreads();
		load_tile<T, HS>(Ks, qkv, b, h, 1, j * FA_TILE, T_, C);
		load_tile<T, HS>(Vs, qkv, b, h, 2, j * FA_TILE, T_, C);
		__syncthreads();
		mm_abt<T, HS>(Sw, Qs + (size_t)w * FA_ROWS * HS, Ks);   /* S = Q_w K^T */
		mm_abt<T, HS>(dPw, dOs + (size_t)w * FA_ROWS * HS, Vs); /* dP = dO_w V^T */
		__syncwarp();
		float lq = lse_s[w * FA_ROWS + r], dq = D_s[w * FA_ROWS + r];
		for (int c = half * 32; c < half * 32 + 32; c++) {
			int k = j * FA_TILE + c;
			float p = k <= q && q < T_ && k < T_ ? __expf(Sw[r * FA_TILE + c] * scale - lq) : 0.0f;
			Pw[r * FA_TILE + c] = fromf<T>(p * (dPw[r * FA_TILE + c] - dq));
		}
		__syncwarp();
		mm_pb<T, HS>(dQ, Pw, Ks); /* dQ_w += dS K */
	}
	store_frags<T, HS>(dqkv, Sw, dQ, scale, b, i * FA_TILE + w * FA_ROWS, T_, (size_t)3 * C, (size_t)h * HS);
}

#endif
