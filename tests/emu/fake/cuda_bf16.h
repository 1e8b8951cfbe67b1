/* tests/emu/fake/cuda_bf16.h — __nv_bfloat16 under the CPU stand-in (emu_core.h) */
#include "emu_core.h"
