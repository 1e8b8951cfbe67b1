/* tests/emu/fake/mma.h — nvcuda::wmma under the CPU stand-in (emu_core.h) */
#ifndef EMU_FAKE_MMA_H
#define EMU_FAKE_MMA_H
#include "emu_core.h"
#include "../emu_wmma.h"
#endif
