/*
 * tests/emu/emu_check.h — what the emulated-kernel tests share: launch
 * arithmetic, seeded random inputs, NaN-filled outputs and the comparison
 * against a double reference (|got - want| <= 2e-5 max(1, max |want|), NaN
 * fails; failures counted in emu_failures).
 */
#ifndef EMU_CHECK_H
#define EMU_CHECK_H

#include <math.h>
#include <stdio.h>
#include <vector>

static inline unsigned ceil_div(size_t a, size_t b) { return (unsigned)((a + b - 1) / b); }

static int emu_failures;

static inline double urand(unsigned long long *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((*s >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}

static inline std::vector<float> rnd(size_t n, double lo, double hi, unsigned long long seed)
{
	std::vector<float> v(n);
	for (auto &x : v)
		x = (float)(lo + (hi - lo) * (urand(&seed) + 1) / 2);
	return v;
}

static inline std::vector<float> nans(size_t n) { return std::vector<float>(n, NAN); }

template <typename G> static void expect(const char *what, const G *got, const double *want, size_t n)
{
	double scale = 1, err = 0;
	for (size_t i = 0; i < n; i++)
		scale = fmax(scale, fabs(want[i]));
	for (size_t i = 0; i < n; i++) {
		double e = fabs((double)got[i] - want[i]);
		if (!(e <= err))
			err = e != e ? INFINITY : e;
	}
	int ok = err <= 2e-5 * scale;
	printf("%-44s max error %.3g of scale %.3g%s\n", what, err, scale, ok ? "" : "  FAIL");
	emu_failures += !ok;
}

#endif
