/*
 * tests/emu/emu_wmma.h — nvcuda::wmma for the CPU emulations (cuda_emu.h and
 * fake/mma.h): 16x16x16 fragments holding the whole tile in every lane (each
 * lane loads and multiplies it all; lane 0 stores it, so a kernel that reads
 * a stored tile without __syncwarp reads it unwritten). WMMA's pointer
 * alignment (32 bytes) and leading-dimension rule (a multiple of 16 bytes)
 * abort when broken. Expects emu_tofloat() for the element types and
 * emu_lane().
 */
#ifndef EMU_WMMA_H
#define EMU_WMMA_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <type_traits>

namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
template <typename Use, int M, int N, int K, typename T, typename Layout = void> struct fragment {
	float v[16][16];
};
static inline void chk(const void *p, unsigned ldm, size_t es)
{
	if ((uintptr_t)p % 32) {
		fprintf(stderr, "WMMA pointer %p not 256-bit aligned\n", p);
		abort();
	}
	if ((ldm * es) % 16) {
		fprintf(stderr, "WMMA ldm %u not a multiple of 16 bytes\n", ldm);
		abort();
	}
}
template <typename Use, typename T, typename L>
void load_matrix_sync(fragment<Use, 16, 16, 16, T, L> &f, const T *p, unsigned ldm)
{
	chk(p, ldm, sizeof(T));
	if (emu_lane() != 0)
		return;
	bool col = std::is_same<L, col_major>::value;
	for (int r = 0; r < 16; r++)
		for (int c = 0; c < 16; c++)
			f.v[r][c] = emu_tofloat(col ? p[(size_t)c * ldm + r] : p[(size_t)r * ldm + c]);
}
template <typename F> void fill_fragment(F &f, float x)
{
	for (int r = 0; r < 16; r++)
		for (int c = 0; c < 16; c++)
			f.v[r][c] = x;
}
template <typename FA, typename FB, typename FC> void mma_sync(FC &d, const FA &a, const FB &b, const FC &c)
{
	if (emu_lane() != 0)
		return;
	float t[16][16];
	for (int r = 0; r < 16; r++)
		for (int n = 0; n < 16; n++) {
			float s = c.v[r][n];
			for (int k = 0; k < 16; k++)
				s += a.v[r][k] * b.v[k][n];
			t[r][n] = s;
		}
	memcpy(d.v, t, sizeof t);
}
template <typename F> void store_matrix_sync(float *p, const F &f, unsigned ldm, layout_t lay)
{
	chk(p, ldm, sizeof(float));
	/* lane 0 stores the whole tile (no barrier: the kernel must __syncwarp before others read it) */
	if (emu_lane() == 0)
		for (int r = 0; r < 16; r++)
			for (int c = 0; c < 16; c++)
				p[lay == mem_row_major ? (size_t)r * ldm + c : (size_t)c * ldm + r] = f.v[r][c];
}
} // namespace wmma
} // namespace nvcuda

#endif
