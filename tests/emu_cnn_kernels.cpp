/*
 * The CNN's own CUDA kernels (kernels/cuda/cnn_kernels.cuh), the very source
 * the GPU runs, executed on the CPU under tests/emu/cuda_emu.h with the launch
 * shapes kernels/cuda/cuda_cnn.cu uses, in fp32, against the definitions
 * written out in double: NCHW->NHWC, batch normalisation (training statistics
 * over several row chunks and a ragged column block, running statistics,
 * residual and ReLU, eval mode, the backward with and without a ReLU mask),
 * ReLU, average pooling, accuracy with ties, and SGD. Outputs start as NaN so
 * an element left unwritten fails; every result must agree to 2e-5 of its
 * scale (fp32 arithmetic over at most a few thousand terms). The GPU's own
 * numerics are checked by tests/gpu_cnn_ops.
 */
#include "cuda_emu.h"
#include "emu_check.h"

#include "kernels/cuda/cnn_kernels.cuh"

static void test_image_to_nhwc()
{
	int N = 3, C = 2, HW = 35;
	auto img = rnd((size_t)N * C * HW, -1, 1, 1);
	auto out = nans(img.size());
	emu_launch(dim3(ceil_div(img.size(), 256)), dim3(256), 0,
		   [&] { image_to_nhwc_k<float>(out.data(), img.data(), N, C, HW); });
	std::vector<double> want(img.size());
	for (int n = 0; n < N; n++)
		for (int p = 0; p < HW; p++)
			for (int c = 0; c < C; c++)
				want[((size_t)n * HW + p) * C + c] = img[((size_t)n * C + c) * HW + p];
	expect("image_to_nhwc", out.data(), want.data(), want.size());
}

/* M = 600 rows: 3 chunks of 200; C = 40: a full and a ragged 32-column block */
static const long M = 600;
static const int C = 40;

static void test_batchnorm(int relu, int with_residual)
{
	auto x = rnd((size_t)M * C, 2, 4, 7 + relu); /* mean ~3: the two-pass statistics matter */
	auto w = rnd(C, 0.5, 1.5, 8), b = rnd(C, -0.5, 0.5, 9), res = rnd((size_t)M * C, -1, 1, 10);
	auto rmean0 = rnd(C, -0.1, 0.1, 11), rvar0 = rnd(C, 0.9, 1.1, 12);
	auto rmean = rmean0, rvar = rvar0;
	auto mean = nans(C), rstd = nans(C), out = nans((size_t)M * C);
	const float momentum = 0.1f;
	int chunks;
	long rows_per;
	bn_chunks(M, &chunks, &rows_per);
	std::vector<float> part(2 * (size_t)chunks * C, NAN);
	emu_launch(dim3(ceil_div(C, BN_TX), chunks), dim3(BN_TX, BN_TY), 0, [&] {
		bn_moments_k<float>(part.data(), part.data() + (size_t)chunks * C, x.data(), M, C, rows_per);
	});
	emu_launch(dim3(ceil_div(C, 128)), dim3(128), 0, [&] {
		bn_stats_finish_k(mean.data(), rstd.data(), rmean.data(), rvar.data(), part.data(), part.data() + (size_t)chunks * C,
				  M, C, chunks, rows_per, momentum);
	});
	const float *r = with_residual ? res.data() : NULL;
	emu_launch(dim3(ceil_div((size_t)M * C, 256)), dim3(256), 0, [&] {
		bn_apply_k<float>(out.data(), x.data(), mean.data(), rstd.data(), w.data(), b.data(), r, relu, (size_t)M * C, C);
	});
	std::vector<double> m(C), rs(C), rm(C), rv(C), y((size_t)M * C);
	for (int c = 0; c < C; c++) {
		double s = 0, q = 0;
		for (long i = 0; i < M; i++)
			s += x[i * C + c];
		s /= M;
		for (long i = 0; i < M; i++)
			q += (x[i * C + c] - s) * (x[i * C + c] - s);
		m[c] = s;
		rs[c] = 1 / sqrt(q / M + 1e-5);
		rm[c] = (1 - momentum) * rmean0[c] + momentum * s;
		rv[c] = (1 - momentum) * rvar0[c] + momentum * q / (M - 1);
		for (long i = 0; i < M; i++) {
			double v = (x[i * C + c] - s) * rs[c] * w[c] + b[c] + (r ? r[i * C + c] : 0);
			y[i * C + c] = relu && v < 0 ? 0 : v;
		}
	}
	char name[64];
	snprintf(name, sizeof name, "batchnorm forward%s%s: mean", relu ? " relu" : "", with_residual ? " residual" : "");
	expect(name, mean.data(), m.data(), C);
	expect("  rstd", rstd.data(), rs.data(), C);
	expect("  running mean", rmean.data(), rm.data(), C);
	expect("  running variance (unbiased)", rvar.data(), rv.data(), C);
	expect("  output", out.data(), y.data(), y.size());

	/* eval mode: the running statistics normalise */
	auto em = nans(C), er = nans(C);
	emu_launch(dim3(1), dim3(128), 0, [&] { bn_eval_stats_k(em.data(), er.data(), rmean.data(), rvar.data(), C); });
	std::vector<double> erw(C);
	for (int c = 0; c < C; c++)
		erw[c] = 1 / sqrt((double)rvar[c] + 1e-5);
	expect("batchnorm eval statistics: rstd", er.data(), erw.data(), C);

	/* backward through the batch statistics, masked by the ReLU's output when there is one */
	auto dout = rnd((size_t)M * C, -1, 1, 13);
	auto dw0 = rnd(C, -0.5, 0.5, 14), db0 = rnd(C, -0.5, 0.5, 15);
	auto dw = dw0, db = db0, dx = nans((size_t)M * C);
	std::vector<float> bpart(2 * (size_t)chunks * C + 2 * (size_t)C, NAN);
	float *p2 = bpart.data() + (size_t)chunks * C, *k1 = p2 + (size_t)chunks * C, *k2 = k1 + C;
	const float *mask = relu ? out.data() : NULL;
	emu_launch(dim3(ceil_div(C, BN_TX), chunks), dim3(BN_TX, BN_TY), 0, [&] {
		bn_backward_sums_k<float>(bpart.data(), p2, dout.data(), mask, x.data(), mean.data(), rstd.data(), M, C,
					  rows_per);
	});
	emu_launch(dim3(ceil_div(C, 128)), dim3(128), 0,
		   [&] { bn_backward_finish_k<float>(dw.data(), db.data(), k1, k2, bpart.data(), p2, M, C, chunks); });
	emu_launch(dim3(ceil_div((size_t)M * C, 256)), dim3(256), 0, [&] {
		bn_backward_dx_k<float>(dx.data(), dout.data(), mask, x.data(), w.data(), mean.data(), rstd.data(), k1, k2,
					(size_t)M * C, C);
	});
	std::vector<double> gw(C), gb(C), gx((size_t)M * C);
	for (int c = 0; c < C; c++) {
		double s1 = 0, s2 = 0;
		for (long i = 0; i < M; i++) {
			double d = !mask || mask[i * C + c] > 0 ? dout[i * C + c] : 0;
			s1 += d;
			s2 += d * (x[i * C + c] - m[c]) * rs[c];
		}
		gb[c] = db0[c] + s1;
		gw[c] = dw0[c] + s2;
		for (long i = 0; i < M; i++) {
			double d = !mask || mask[i * C + c] > 0 ? dout[i * C + c] : 0;
			double xh = (x[i * C + c] - m[c]) * rs[c];
			gx[i * C + c] = rs[c] * w[c] * (d - s1 / M - xh * s2 / M);
		}
	}
	expect("batchnorm backward: dbias (accumulated)", db.data(), gb.data(), C);
	expect("  dweight (accumulated)", dw.data(), gw.data(), C);
	expect("  dinp", dx.data(), gx.data(), gx.size());
}

static void test_relu_pool_accuracy_sgd()
{
	size_t n = 1000;
	auto x = rnd(n, -1, 1, 20), y = nans(n), d = rnd(n, -1, 1, 21), dx = nans(n);
	emu_launch(dim3(ceil_div(n, 256)), dim3(256), 0, [&] { relu_forward_k<float>(y.data(), x.data(), n); });
	emu_launch(dim3(ceil_div(n, 256)), dim3(256), 0, [&] { relu_backward_k<float>(dx.data(), y.data(), d.data(), n); });
	std::vector<double> wy(n), wd(n);
	for (size_t i = 0; i < n; i++) {
		wy[i] = x[i] > 0 ? x[i] : 0;
		wd[i] = x[i] > 0 ? d[i] : 0;
	}
	expect("relu forward", y.data(), wy.data(), n);
	expect("relu backward", dx.data(), wd.data(), n);

	int N = 3, HW = 49, Cp = 37;
	auto in = rnd((size_t)N * HW * Cp, -1, 1, 22), po = nans((size_t)N * Cp), dpo = rnd((size_t)N * Cp, -1, 1, 23);
	auto dpi = nans(in.size());
	emu_launch(dim3(ceil_div((size_t)N * Cp, 256)), dim3(256), 0,
		   [&] { avgpool_forward_k<float>(po.data(), in.data(), N, HW, Cp); });
	emu_launch(dim3(ceil_div(in.size(), 256)), dim3(256), 0,
		   [&] { avgpool_backward_k<float>(dpi.data(), dpo.data(), N, HW, Cp); });
	std::vector<double> wp((size_t)N * Cp, 0), wdp(in.size());
	for (int b = 0; b < N; b++)
		for (int p = 0; p < HW; p++)
			for (int c = 0; c < Cp; c++) {
				wp[(size_t)b * Cp + c] += in[((size_t)b * HW + p) * Cp + c] / HW;
				wdp[((size_t)b * HW + p) * Cp + c] = dpo[(size_t)b * Cp + c] / HW;
			}
	expect("avgpool forward", po.data(), wp.data(), wp.size());
	expect("avgpool backward", dpi.data(), wdp.data(), wdp.size());

	/* every odd row has two tied maxima; a target on the later one must count as wrong */
	int R = 300, V = 5;
	std::vector<float> probs((size_t)R * V);
	std::vector<int> tg(R);
	long want = 0;
	unsigned long long s = 24;
	for (int r = 0; r < R; r++) {
		for (int v = 0; v < V; v++)
			probs[(size_t)r * V + v] = (float)((urand(&s) + 1) / 4);
		int a = r % V, b2 = (r / V) % V;
		probs[(size_t)r * V + a] = 0.9f;
		if (r % 2 && b2 != a)
			probs[(size_t)r * V + b2] = 0.9f;
		int first = 0;
		for (int v = 1; v < V; v++)
			if (probs[(size_t)r * V + v] > probs[(size_t)r * V + first])
				first = v;
		int later = r % 2 && b2 != a ? (a > b2 ? a : b2) : (first + 1) % V;
		tg[r] = r % 3 == 0 ? first : later;
		want += tg[r] == first;
	}
	unsigned long long count = 0;
	emu_launch(dim3(ceil_div(R, 256)), dim3(256), 0, [&] { count_correct_k<float>(&count, probs.data(), tg.data(), R, V); });
	printf("%-44s %llu of %d, expected %ld%s\n", "count_correct (ties: first wins)", count, R, want,
	       (long)count == want ? "" : "  FAIL");
	emu_failures += (long)count != want;

	/* SGD, three steps: g = grad * scale + wd * w; v = mu v + g; w -= lr v */
	size_t np = 700;
	auto w = rnd(np, -1, 1, 25), g = rnd(np, -1, 1, 26), vel = rnd(np, -0.1, 0.1, 27), out = nans(np);
	std::vector<double> ww(w.begin(), w.end()), wv(vel.begin(), vel.end());
	for (int step = 0; step < 3; step++) {
		emu_launch(dim3(ceil_div(np, 256)), dim3(256), 0,
			   [&] { sgd_k<float>(w.data(), out.data(), g.data(), vel.data(), np, 0.05f, 0.9f, 5e-4f, 0.5f); });
		for (size_t i = 0; i < np; i++) {
			double gi = g[i] * 0.5 + 5e-4 * ww[i];
			wv[i] = 0.9 * wv[i] + gi;
			ww[i] -= 0.05 * wv[i];
		}
	}
	expect("sgd master weights (3 steps)", w.data(), ww.data(), np);
	expect("  compute copy", out.data(), ww.data(), np);
	expect("  velocity", vel.data(), wv.data(), np);
}

int main()
{
	test_image_to_nhwc();
	for (int relu = 0; relu <= 1; relu++)
		for (int r = 0; r <= 1; r++)
			test_batchnorm(relu, r);
	test_relu_pool_accuracy_sgd();
	printf(emu_failures ? "FAIL: %d\n" : "ok\n", emu_failures);
	return emu_failures != 0;
}
