/*
 * tests/emu/emu_bits.h — what the CPU emulations share: bf16 bit patterns to
 * and from float (round to nearest even; NaN stays NaN), and a registry of
 * live library objects (handles, descriptors) so that a use after destroy,
 * or of something never created, aborts instead of reading freed memory.
 */
#ifndef EMU_BITS_H
#define EMU_BITS_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <set>

static inline float emu_bf16_to_float(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static inline uint16_t emu_float_to_bf16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x40);
	u += 0x7fff + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

/* The live objects of one library: `lib` names it in the message of a misuse. */
struct emu_registry {
	const char *lib;
	std::set<const void *> live;
	template <typename P> P *of(P *p, const char *what)
	{
		if (!live.count(p)) {
			fprintf(stderr, "CUDA emulation: %s %s %p was not created or is destroyed\n", lib, what,
				(const void *)p);
			fflush(NULL);
			abort();
		}
		return p;
	}
	template <typename P> void make(P **p)
	{
		*p = new P();
		live.insert(*p);
	}
	template <typename P> void drop(P *p, const char *what)
	{
		live.erase(of(p, what));
		delete p;
	}
};
#endif
