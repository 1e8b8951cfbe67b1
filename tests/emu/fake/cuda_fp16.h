/* tests/emu/fake/cuda_fp16.h — __half under the CPU stand-in (emu_core.h) */
#include "emu_core.h"
