/*
 * The fused causal attention's CUDA kernels (kernels/cuda/flash_attention.cuh),
 * the very source the GPU runs, executed on the CPU under tests/emu/cuda_emu.h,
 * against causal attention in double from the same bf16 inputs: forward output,
 * log-sum-exp and the gradient of q, k and v. Shapes cover both head sizes,
 * T = 1, inside one 64-row tile, exactly one tile, and several tiles with a
 * ragged end, so the causal tile loops, the rows past T and every barrier run.
 * Outputs start as NaN, so an element left unwritten fails.
 *
 * Tolerances (bf16 inputs, P and dS rounded to bf16 before their GEMMs as in
 * FlashAttention, fp32 accumulation): output 2% of its largest magnitude +
 * 1e-3, log-sum-exp 1e-2 absolute, gradients 3% of their largest magnitude +
 * 1e-3. The emulation checks logic, indexing and synchronisation; the GPU's
 * own numerics are checked by tests/gpu_gpt_ops.
 */
#include "cuda_emu.h"

#include "kernels/cuda/flash_attention.cuh"

static unsigned ceil_div(size_t a, size_t b) { return (unsigned)((a + b - 1) / b); }

static double rnd(unsigned long long *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((*s >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}

template <int HS> static int run(int B, int T, int NH, double amp)
{
	int C = NH * HS;
	size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
	std::vector<bf16> qkv(nq), dout(no), out(no), dqkv(nq);
	std::vector<float> lse((size_t)B * NH * T, NAN), D((size_t)B * NH * T, NAN);
	unsigned long long s = 12345 + HS + T;
	for (auto &x : qkv)
		x = f2bf((float)(amp * rnd(&s)));
	for (auto &x : dout)
		x = f2bf((float)rnd(&s));
	for (auto &x : out)
		x = f2bf(NAN);
	for (auto &x : dqkv)
		x = f2bf(NAN);
	float scale = 1.0f / sqrtf((float)HS);
	size_t smem = fa_smem<bf16, HS>::bytes;
	dim3 grid(ceil_div(T, FA_TILE), B * NH);
	emu_launch(grid, FA_WARPS * 32, smem,
		   [&] { flash_forward_k<bf16, HS>(out.data(), lse.data(), qkv.data(), B, T, C, NH, scale); });
	emu_launch(dim3(ceil_div((size_t)B * T * NH, 8)), 256, 0,
		   [&] { flash_delta_k<bf16, HS>(D.data(), dout.data(), out.data(), B, T, C, NH); });
	emu_launch(grid, FA_WARPS * 32, smem, [&] {
		flash_dkdv_k<bf16, HS>(dqkv.data(), dout.data(), qkv.data(), lse.data(), D.data(), B, T, C, NH, scale);
	});
	emu_launch(grid, FA_WARPS * 32, smem, [&] {
		flash_dq_k<bf16, HS>(dqkv.data(), dout.data(), qkv.data(), lse.data(), D.data(), B, T, C, NH, scale);
	});
	/* reference in double from the same bf16 inputs */
	double eo = 0, el = 0, eg = 0, mo = 0, mg = 0;
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			auto Q = [&](int t, int d) { return (double)bf2f(qkv[((size_t)b * T + t) * 3 * C + h * HS + d]); };
			auto K = [&](int t, int d) { return (double)bf2f(qkv[((size_t)b * T + t) * 3 * C + C + h * HS + d]); };
			auto V = [&](int t, int d) { return (double)bf2f(qkv[((size_t)b * T + t) * 3 * C + 2 * C + h * HS + d]); };
			auto dO = [&](int t, int d) { return (double)bf2f(dout[((size_t)b * T + t) * C + h * HS + d]); };
			std::vector<double> P((size_t)T * T, 0), dP((size_t)T * T, 0), dq((size_t)T * HS, 0), dk((size_t)T * HS, 0),
				dv((size_t)T * HS, 0);
			for (int t = 0; t < T; t++) {
				double mx = -1e300;
				for (int j = 0; j <= t; j++) {
					double sc = 0;
					for (int d = 0; d < HS; d++)
						sc += Q(t, d) * K(j, d);
					P[(size_t)t * T + j] = sc * scale;
					mx = fmax(mx, sc * scale);
				}
				double sum = 0;
				for (int j = 0; j <= t; j++)
					sum += exp(P[(size_t)t * T + j] - mx);
				double L = mx + log(sum);
				el = fmax(el, fabs(L - lse[((size_t)b * NH + h) * T + t]));
				for (int j = 0; j <= t; j++)
					P[(size_t)t * T + j] = exp(P[(size_t)t * T + j] - L);
				for (int d = 0; d < HS; d++) {
					double o = 0;
					for (int j = 0; j <= t; j++)
						o += P[(size_t)t * T + j] * V(j, d);
					double got = bf2f(out[((size_t)b * T + t) * C + h * HS + d]);
					eo = fmax(eo, fabs(o - got));
					mo = fmax(mo, fabs(o));
					if (got != got)
						eo = INFINITY;
				}
			}
			for (int t = 0; t < T; t++) {
				double dot = 0;
				for (int j = 0; j <= t; j++) {
					double v = 0;
					for (int d = 0; d < HS; d++)
						v += dO(t, d) * V(j, d);
					dP[(size_t)t * T + j] = v;
					dot += v * P[(size_t)t * T + j];
				}
				for (int j = 0; j <= t; j++)
					dP[(size_t)t * T + j] = P[(size_t)t * T + j] * (dP[(size_t)t * T + j] - dot);
			}
			for (int t = 0; t < T; t++)
				for (int j = 0; j <= t; j++)
					for (int d = 0; d < HS; d++) {
						double ds = dP[(size_t)t * T + j] * scale;
						dq[(size_t)t * HS + d] += ds * K(j, d);
						dk[(size_t)j * HS + d] += ds * Q(t, d);
						dv[(size_t)j * HS + d] += P[(size_t)t * T + j] * dO(t, d);
					}
			for (int t = 0; t < T; t++)
				for (int d = 0; d < HS; d++)
					for (int w = 0; w < 3; w++) {
						double ref = (w == 0 ? dq : w == 1 ? dk : dv)[(size_t)t * HS + d];
						double got = bf2f(dqkv[((size_t)b * T + t) * 3 * C + w * C + h * HS + d]);
						if (got != got)
							eg = INFINITY;
						eg = fmax(eg, fabs(ref - got));
						mg = fmax(mg, fabs(ref));
					}
		}
	printf("HS=%d B=%d T=%d NH=%d amp=%g: out err %.3g (max %.3g), lse err %.3g, dqkv err %.3g (max %.3g)\n", HS, B, T,
	       NH, amp, eo, mo, el, eg, mg);
	return eo < 0.02 * mo + 1e-3 && el < 1e-2 && eg < 0.03 * mg + 1e-3 ? 0 : 1;
}

int main()
{
	int bad = 0;
	bad |= run<64>(2, 70, 2, 1.0);
	bad |= run<32>(1, 130, 2, 1.0);
	bad |= run<64>(1, 64, 1, 3.0);
	bad |= run<32>(2, 1, 3, 1.0);
	bad |= run<64>(1, 200, 1, 2.0);
	printf(bad ? "FAIL\n" : "ok\n");
	return bad;
}
