/*
 * The GPT's own CUDA kernels (kernels/cuda/gpt_kernels.cuh), the very source
 * the GPU runs, executed on the CPU under tests/emu/cuda_emu.h with the launch
 * shapes kernels/cuda/cuda_ops.cu uses, in fp32, against the definitions
 * written out in double: embeddings forward and backward (the token gradient
 * from a stably sorted token list, as CUB sorts it on the GPU), LayerNorm
 * forward (alone and fused with the residual add) and backward with its
 * fixed-order column sums, the unfused attention's permutations, the causal
 * softmax and its backward, the fused softmax cross-entropy, GELU, AdamW, the
 * deterministic reductions, and the bias kernel. Shapes are chosen so that rows span several 32-lane passes and
 * column blocks, and reductions span several chunks. Outputs start as NaN so
 * an element left unwritten fails; results must agree to 2e-5 of their scale.
 */
#include "cuda_emu.h"
#include "emu_check.h"

static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }

#include "kernels/cuda/gpt_kernels.cuh"

#include <algorithm>

static void test_encoder()
{
	int B = 2, T = 5, C = 130, V = 7, BT = B * T;
	auto wte = rnd((size_t)V * C, -1, 1, 1), wpe = rnd((size_t)T * C, -1, 1, 2), dout = rnd((size_t)BT * C, -1, 1, 3);
	std::vector<int> tok(BT);
	for (int i = 0; i < BT; i++)
		tok[i] = (i * 3) % 4; /* repeated tokens */
	auto out = nans((size_t)BT * C);
	emu_launch(dim3(ceil_div((size_t)BT * C, 256)), dim3(256), 0,
		   [&] { encoder_forward_k<float>(out.data(), tok.data(), wte.data(), wpe.data(), BT, T, C); });
	std::vector<double> want((size_t)BT * C);
	for (int i = 0; i < BT; i++)
		for (int c = 0; c < C; c++)
			want[(size_t)i * C + c] = (double)wte[(size_t)tok[i] * C + c] + wpe[(size_t)(i % T) * C + c];
	expect("encoder forward", out.data(), want.data(), want.size());
	/* backward accumulates: dwpe[t] += sum over b; dwte[token] += its positions, in order */
	auto dwte = rnd((size_t)V * C, -0.5, 0.5, 4), dwpe = rnd((size_t)T * C, -0.5, 0.5, 5);
	std::vector<double> wte_want(dwte.begin(), dwte.end()), wpe_want(dwpe.begin(), dwpe.end());
	for (int i = 0; i < BT; i++)
		for (int c = 0; c < C; c++) {
			wte_want[(size_t)tok[i] * C + c] += dout[(size_t)i * C + c];
			wpe_want[(size_t)(i % T) * C + c] += dout[(size_t)i * C + c];
		}
	emu_launch(dim3(ceil_div((size_t)T * C, 256)), dim3(256), 0,
		   [&] { wpe_backward_k<float>(dwpe.data(), dout.data(), B, T, C); });
	std::vector<int> pos(BT), stok(BT), spos(BT);
	for (int i = 0; i < BT; i++)
		pos[i] = i;
	std::stable_sort(pos.begin(), pos.end(), [&](int a, int b) { return tok[a] < tok[b]; });
	for (int i = 0; i < BT; i++)
		stok[i] = tok[pos[i]], spos[i] = pos[i];
	emu_launch(dim3(BT, ceil_div(C, 128)), dim3(128), 0,
		   [&] { wte_backward_k<float>(dwte.data(), dout.data(), stok.data(), spos.data(), BT, C); });
	expect("encoder backward: dwte (accumulated)", dwte.data(), wte_want.data(), wte_want.size());
	expect("  dwpe (accumulated)", dwpe.data(), wpe_want.data(), wpe_want.size());
}

/* N = 75 rows (more than the column sums' 64 chunks), C = 136 (several 32-lane passes, two 128-column blocks) */
static const int N = 75, C = 136;

static void ln_reference(const std::vector<float> &x, const std::vector<float> &w, const std::vector<float> &b,
			 std::vector<double> &out, std::vector<double> &mean, std::vector<double> &rstd)
{
	for (int r = 0; r < N; r++) {
		double m = 0, v = 0;
		for (int c = 0; c < C; c++)
			m += x[(size_t)r * C + c];
		m /= C;
		for (int c = 0; c < C; c++)
			v += (x[(size_t)r * C + c] - m) * (x[(size_t)r * C + c] - m);
		double rs = 1 / sqrt(v / C + 1e-5);
		mean[r] = m, rstd[r] = rs;
		for (int c = 0; c < C; c++)
			out[(size_t)r * C + c] = (x[(size_t)r * C + c] - m) * rs * w[c] + b[c];
	}
}

static void test_layernorm()
{
	auto x = rnd((size_t)N * C, -2, 2, 6), w = rnd(C, 0.5, 1.5, 7), b = rnd(C, -0.5, 0.5, 8);
	auto out = nans((size_t)N * C), mean = nans(N), rstd = nans(N);
	emu_launch(dim3(ceil_div(N, 8)), dim3(256), 0,
		   [&] { layernorm_forward_k<float>(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C); });
	std::vector<double> wo((size_t)N * C), wm(N), wr(N);
	ln_reference(x, w, b, wo, wm, wr);
	expect("layernorm forward", out.data(), wo.data(), wo.size());
	expect("  mean", mean.data(), wm.data(), N);
	expect("  rstd", rstd.data(), wr.data(), N);

	/* fused with the residual add: res = a + x' where a + x' = x exactly is not needed; compare with res's LN */
	auto a = rnd((size_t)N * C, -1, 1, 9), res = nans((size_t)N * C), out2 = nans((size_t)N * C);
	auto m2 = nans(N), r2 = nans(N);
	emu_launch(dim3(ceil_div(N, 8)), dim3(256), 0, [&] {
		residual_layernorm_forward_k<float>(res.data(), out2.data(), m2.data(), r2.data(), a.data(), x.data(), w.data(),
						    b.data(), N, C);
	});
	std::vector<float> sum((size_t)N * C);
	std::vector<double> wsum((size_t)N * C);
	for (size_t i = 0; i < sum.size(); i++)
		sum[i] = a[i] + x[i], wsum[i] = sum[i];
	ln_reference(sum, w, b, wo, wm, wr);
	expect("residual + layernorm: residual", res.data(), wsum.data(), wsum.size());
	expect("  output", out2.data(), wo.data(), wo.size());
	expect("  rstd", r2.data(), wr.data(), N);

	/* backward: dinp accumulates; dweight, dbias accumulate through the chunked column sums */
	ln_reference(x, w, b, wo, wm, wr);
	auto dout = rnd((size_t)N * C, -1, 1, 10), dinp = rnd((size_t)N * C, -0.5, 0.5, 11);
	auto dw = rnd(C, -0.5, 0.5, 12), db = rnd(C, -0.5, 0.5, 13);
	std::vector<double> gi(dinp.begin(), dinp.end()), gw(dw.begin(), dw.end()), gb(db.begin(), db.end());
	for (int r = 0; r < N; r++) {
		double dm = 0, dnm = 0;
		for (int c = 0; c < C; c++) {
			double nrm = (x[(size_t)r * C + c] - wm[r]) * wr[r], dn = w[c] * dout[(size_t)r * C + c];
			dm += dn, dnm += dn * nrm;
			gw[c] += nrm * dout[(size_t)r * C + c];
			gb[c] += dout[(size_t)r * C + c];
		}
		dm /= C, dnm /= C;
		for (int c = 0; c < C; c++) {
			double nrm = (x[(size_t)r * C + c] - wm[r]) * wr[r], dn = w[c] * dout[(size_t)r * C + c];
			gi[(size_t)r * C + c] += (dn - dm - nrm * dnm) * wr[r];
		}
	}
	emu_launch(dim3(ceil_div(N, 8)), dim3(256), 0, [&] {
		layernorm_backward_dinp_k<float>(dinp.data(), dout.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C);
	});
	std::vector<float> part((size_t)COLSUM_CHUNKS * C, NAN);
	int rows_per = (N + COLSUM_CHUNKS - 1) / COLSUM_CHUNKS;
	for (int mode = 1; mode >= 0; mode--) {
		emu_launch(dim3(ceil_div(C, 128), COLSUM_CHUNKS), dim3(128), 0, [&] {
			colsum_partial_k<float>(part.data(), dout.data(), x.data(), mean.data(), rstd.data(), N, C, rows_per, mode);
		});
		emu_launch(dim3(ceil_div(C, 128)), dim3(128), 0,
			   [&] { colsum_finish_k<float>(mode ? dw.data() : db.data(), part.data(), COLSUM_CHUNKS, C); });
	}
	expect("layernorm backward: dinp (accumulated)", dinp.data(), gi.data(), gi.size());
	expect("  dweight (accumulated)", dw.data(), gw.data(), C);
	expect("  dbias (accumulated)", db.data(), gb.data(), C);
}

static void test_softmax()
{
	int rows = 2 * 3 * 35, T = 35; /* B * NH = 6 heads of T = 35: rows longer than one 32-lane pass */
	auto att = rnd((size_t)rows * T, -3, 3, 14), P = att;
	emu_launch(dim3(ceil_div(rows, 8)), dim3(256), 0, [&] { softmax_causal_k<float>(P.data(), rows, T); });
	std::vector<double> want((size_t)rows * T, 0);
	for (int r = 0; r < rows; r++) {
		int t = r % T;
		double mx = -INFINITY, s = 0;
		for (int j = 0; j <= t; j++)
			mx = fmax(mx, att[(size_t)r * T + j]);
		for (int j = 0; j <= t; j++)
			s += exp(att[(size_t)r * T + j] - mx);
		for (int j = 0; j <= t; j++)
			want[(size_t)r * T + j] = exp(att[(size_t)r * T + j] - mx) / s;
	}
	expect("causal softmax (upper triangle zero)", P.data(), want.data(), want.size());
	auto dp = rnd((size_t)rows * T, -1, 1, 15);
	std::vector<double> wd((size_t)rows * T, 0);
	for (int r = 0; r < rows; r++) {
		int t = r % T;
		double dot = 0;
		for (int j = 0; j <= t; j++)
			dot += (double)P[(size_t)r * T + j] * dp[(size_t)r * T + j];
		for (int j = 0; j <= t; j++)
			wd[(size_t)r * T + j] = P[(size_t)r * T + j] * (dp[(size_t)r * T + j] - dot);
	}
	emu_launch(dim3(ceil_div(rows, 8)), dim3(256), 0, [&] { softmax_backward_k<float>(dp.data(), P.data(), rows, T); });
	expect("causal softmax backward", dp.data(), wd.data(), wd.size());
}

/* the unfused attention's layout changes: qkv [B,T,3C] -> q, k, v [B,NH,T,hs] and back */
static void test_permute()
{
	int B = 2, T = 5, NH = 3, hs = 4, C = NH * hs;
	size_t n = (size_t)B * NH * T * hs;
	auto qkv = rnd((size_t)B * T * 3 * C, -1, 1, 30);
	auto q = nans(n), k = nans(n), v = nans(n);
	emu_launch(dim3(ceil_div(n, 256)), dim3(256), 0,
		   [&] { permute_k<float>(q.data(), k.data(), v.data(), qkv.data(), B, T, NH, hs); });
	std::vector<double> wq(n), wk(n), wv(n);
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++)
			for (int t = 0; t < T; t++)
				for (int d = 0; d < hs; d++) {
					size_t i = (((size_t)b * NH + h) * T + t) * hs + d, src = ((size_t)b * T + t) * 3 * C + h * hs + d;
					wq[i] = qkv[src], wk[i] = qkv[src + C], wv[i] = qkv[src + 2 * C];
				}
	expect("attention permute: q", q.data(), wq.data(), n);
	expect("  k", k.data(), wk.data(), n);
	expect("  v", v.data(), wv.data(), n);
	/* forward: [B,NH,T,hs] -> k's third of a [B,T,3C] buffer (ld 3C), the rest untouched */
	auto dst = rnd((size_t)B * T * 3 * C, -1, 1, 31);
	std::vector<double> wdst(dst.begin(), dst.end());
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++)
			for (int t = 0; t < T; t++)
				for (int d = 0; d < hs; d++)
					wdst[((size_t)b * T + t) * 3 * C + C + h * hs + d] = k[(((size_t)b * NH + h) * T + t) * hs + d];
	emu_launch(dim3(ceil_div(n, 256)), dim3(256), 0,
		   [&] { unpermute_k<float>(dst.data() + C, k.data(), B, T, NH, hs, 3 * C, 1); });
	expect("attention unpermute (into a third, ld 3C)", dst.data(), wdst.data(), wdst.size());
	/* reverse: gather out [B,T,C] into [B,NH,T,hs] */
	auto y = rnd((size_t)B * T * C, -1, 1, 32), g = nans(n);
	std::vector<double> wg(n);
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++)
			for (int t = 0; t < T; t++)
				for (int d = 0; d < hs; d++)
					wg[(((size_t)b * NH + h) * T + t) * hs + d] = y[((size_t)b * T + t) * C + h * hs + d];
	emu_launch(dim3(ceil_div(n, 256)), dim3(256), 0, [&] { unpermute_k<float>(y.data(), g.data(), B, T, NH, hs, C, 0); });
	expect("attention gather (reverse unpermute)", g.data(), wg.data(), n);
}

static void test_crossentropy()
{
	int R = 10, V = 300; /* more than one pass of a 256-thread row block */
	auto logits = rnd((size_t)R * V, -3, 3, 16), p = logits;
	std::vector<int> tg(R);
	for (int i = 0; i < R; i++)
		tg[i] = (i * 37) % V;
	auto losses = nans(R);
	emu_launch(dim3(R), dim3(256), 0, [&] { crossentropy_forward_k<float>(losses.data(), p.data(), tg.data(), V); });
	std::vector<double> wl(R), wp((size_t)R * V), wg((size_t)R * V);
	const float dloss = 0.37f;
	for (int r = 0; r < R; r++) {
		double mx = -INFINITY, s = 0;
		for (int i = 0; i < V; i++)
			mx = fmax(mx, logits[(size_t)r * V + i]);
		for (int i = 0; i < V; i++)
			s += exp(logits[(size_t)r * V + i] - mx);
		wl[r] = log(s) + mx - logits[(size_t)r * V + tg[r]];
		for (int i = 0; i < V; i++) {
			wp[(size_t)r * V + i] = exp(logits[(size_t)r * V + i] - mx) / s;
			wg[(size_t)r * V + i] = (wp[(size_t)r * V + i] - (i == tg[r])) * dloss;
		}
	}
	expect("softmax cross-entropy: losses", losses.data(), wl.data(), R);
	expect("  probabilities (in place)", p.data(), wp.data(), wp.size());
	emu_launch(dim3(R), dim3(256), 0, [&] { crossentropy_backward_k<float>(p.data(), tg.data(), dloss, V); });
	expect("  backward (in place)", p.data(), wg.data(), wg.size());
}

static void test_elementwise_and_optimizer()
{
	size_t n = 1000;
	auto x = rnd(n, -4, 4, 17), d = rnd(n, -1, 1, 18), y = nans(n), dx = nans(n);
	emu_launch(dim3(ceil_div(n, 256)), dim3(256), 0, [&] { gelu_forward_k<float>(y.data(), x.data(), n); });
	emu_launch(dim3(ceil_div(n, 256)), dim3(256), 0, [&] { gelu_backward_k<float>(dx.data(), x.data(), d.data(), n); });
	std::vector<double> wy(n), wd(n);
	const double k = 0.7978845608028654;
	for (size_t i = 0; i < n; i++) {
		double v = x[i], th = tanh(k * (v + 0.044715 * v * v * v));
		wy[i] = 0.5 * v * (1 + th);
		wd[i] = (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * k * (1 + 3 * 0.044715 * v * v)) * d[i];
	}
	expect("gelu forward", y.data(), wy.data(), n);
	expect("gelu backward", dx.data(), wd.data(), n);

	/* bias into a column-major D with a leading dimension past m */
	int m = 20, cols = 7, ldd = 24;
	auto D = rnd((size_t)ldd * cols, -1, 1, 19), bias = rnd(m, -1, 1, 20);
	std::vector<double> wD(D.begin(), D.end());
	for (int j = 0; j < cols; j++)
		for (int i = 0; i < m; i++)
			wD[i + (size_t)j * ldd] += bias[i];
	emu_launch(dim3(ceil_div((size_t)m * cols, 256)), dim3(256), 0,
		   [&] { add_bias_k<float>(D.data(), bias.data(), m, cols, ldd); });
	expect("bias add (rows past m untouched)", D.data(), wD.data(), wD.size());

	/* AdamW, two steps with bias correction and a gradient scale */
	auto w = rnd(n, -1, 1, 21), g = rnd(n, -1, 1, 22), out = nans(n);
	std::vector<float> mo(n, 0), vo(n, 0);
	std::vector<double> ww(w.begin(), w.end()), wm(n, 0), wv(n, 0);
	float lr = 1e-2f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wdc = 0.1f, gs = 0.5f;
	for (int t = 1; t <= 2; t++) {
		float c1 = (float)(1.0 / (1.0 - pow(b1, t))), c2 = (float)(1.0 / (1.0 - pow(b2, t)));
		emu_launch(dim3(ceil_div(n, 256)), dim3(256), 0, [&] {
			adamw_k<float>(w.data(), out.data(), g.data(), mo.data(), vo.data(), n, lr, b1, b2, eps, wdc, c1, c2, gs);
		});
		for (size_t i = 0; i < n; i++) {
			double gi = g[i] * (double)gs;
			wm[i] = b1 * wm[i] + (1 - b1) * gi;
			wv[i] = b2 * wv[i] + (1 - b2) * gi * gi;
			double mh = wm[i] / (1 - pow(b1, t)), vh = wv[i] / (1 - pow(b2, t));
			ww[i] -= lr * (mh / (sqrt(vh) + eps) + wdc * ww[i]);
		}
	}
	expect("adamw (2 steps): master", w.data(), ww.data(), n);
	expect("  compute copy", out.data(), ww.data(), n);

	/* the deterministic reduction: 512 block partials, then one thread adds them in order */
	size_t big = 200000;
	auto z = rnd(big, -1, 1, 23);
	std::vector<double> part(RED_BLOCKS + 1, NAN);
	double s1 = 0, s2 = 0;
	for (float v : z)
		s1 += v, s2 += (double)v * v;
	for (int squares = 0; squares <= 1; squares++) {
		emu_launch(dim3(RED_BLOCKS), dim3(256), 0, [&] { reduce_partial_k<float>(part.data(), z.data(), big, squares); });
		emu_launch(dim3(1), dim3(1), 0, [&] { reduce_final_k(part.data() + RED_BLOCKS, part.data(), RED_BLOCKS); });
		double want = squares ? s2 : s1;
		expect(squares ? "reduction: sum of squares" : "reduction: sum", part.data() + RED_BLOCKS, &want, 1);
	}
}

int main()
{
	test_encoder();
	test_layernorm();
	test_softmax();
	test_permute();
	test_crossentropy();
	test_elementwise_and_optimizer();
	printf(emu_failures ? "FAIL: %d\n" : "ok\n", emu_failures);
	return emu_failures != 0;
}
