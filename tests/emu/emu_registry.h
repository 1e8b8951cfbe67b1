/*
 * tests/emu/emu_registry.h — a registry of the live objects (handles,
 * descriptors) of one emulated library (tests/emu/fake), so that a use after
 * destroy, or of something never created, aborts instead of reading freed
 * memory.
 */
#ifndef EMU_REGISTRY_H
#define EMU_REGISTRY_H
#include <stdio.h>
#include <stdlib.h>

#include <set>

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
