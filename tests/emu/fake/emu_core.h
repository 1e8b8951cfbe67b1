/*
 * tests/emu/fake/emu_core.h — the core of a CPU stand-in for the CUDA
 * runtime, under which the kernels/cuda .cu files (host code and kernels, unchanged
 * but for their <<<...>>> launches, which the build rewrites into
 * emu_kernel(...)(kernel)(args)) compile as plain C++ and run, so that the
 * GPU test suites run in CI against the CUDA backend's own host logic.
 *
 * What it models, and checks:
 * - Kernels: every CUDA thread of a block is a fiber on the calling thread;
 *   __syncthreads and __syncwarp are barriers (a barrier that not every live
 *   thread of the block or warp reaches aborts as a deadlock), warp shuffles
 *   go through a per-warp exchange, blocks run one after another. A kernel
 *   whose first launch reached no barrier runs later launches' threads as
 *   plain calls (and aborts should one of them reach a barrier). Launches
 *   are checked as a GPU checks them (block size, grid.y, dynamic shared
 *   memory against the kernel's opt-in), and every pointer argument must be
 *   NULL or point into device memory.
 * - Streams run lazily: an operation runs only when something waits for it
 *   (a stream or event synchronisation, a stream waiting on an event, a
 *   blocking copy, a free), which is one schedule CUDA allows. Code that
 *   forgets a wait reads data not yet written, and a pinned buffer the host
 *   refills before its copy has run is read refilled, as on a GPU under load.
 * - Shared memory is poisoned (NaN) for each block: dynamic at its start,
 *   static when the block's first thread reaches the declaration.
 * - Device memory is poisoned (0xff bytes: NaN in every float type) when
 *   allocated, and each allocation ends (rounded up to 256 bytes) at an
 *   inaccessible guard page, so an access past its end faults and names it;
 *   the device has AMPTUNE_EMU_MEM_MIB of it (default 4096).
 * - Races, under AMPTUNE_EMU_ORDER_CHECK=1 (emu_order_check below): every
 *   launch runs twice in two orders of its blocks and threads, and must
 *   leave the same bytes.
 * What it does not model: the hardware's speed, its rounding inside fused
 * operations, and races between threads of a block (fibers interleave only
 * at barriers) other than those the order check finds.
 */
#ifndef EMU_CORE_H
#define EMU_CORE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/precision.h"

#include "../emu_registry.h"

#define __global__
#define __device__
#define __host__
/* blocks run one after another, so one static array per kernel serves every block */
#define __shared__ static
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(x) __attribute__((aligned(x)))

struct dim3 {
	unsigned x, y, z;
	dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct uint3 {
	unsigned x, y, z;
};

/* the running CUDA thread's coordinates, and its linear index in its block */
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;
extern unsigned emu_cur_tid;

void __syncthreads(void);
void __syncwarp(unsigned mask = 0xffffffffu);
float __shfl_xor_sync(unsigned mask, float v, int lane_mask);
unsigned emu_lane(void);
/* poisons (0xff: NaN) a static __shared__ array the first time a thread of the current block
 * reaches its declaration (tests/emu/rewrite_launches.sh adds the calls) */
void emu_shared_first_touch(void *p, size_t bytes);
/* the block's dynamic shared memory (poisoned with 0xff at each block's start) */
unsigned char *emu_dynamic_smem(void);
#define FA_DYNAMIC_SMEM(name) unsigned char *name = emu_dynamic_smem()

static inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v)
{
	unsigned long long old = *p; /* fibers interleave only at barriers: this is atomic */
	*p = old + v;
	return old;
}
static inline int min(int a, int b) { return a < b ? a : b; }
static inline long min(long a, long b) { return a < b ? a : b; }
static inline unsigned long min(unsigned long a, unsigned long b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
#define __expf expf
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }

/* ---- errors ---- */
enum cudaError_t {
	cudaSuccess = 0,
	cudaErrorInvalidValue = 1,
	cudaErrorMemoryAllocation = 2,
	cudaErrorInvalidConfiguration = 9,
	cudaErrorInvalidDevicePointer = 17,
	cudaErrorNoDevice = 100,
	cudaErrorInvalidResourceHandle = 400,
	cudaErrorNotReady = 600,
};
typedef enum cudaError_t cudaError;

/* aborts the test binary: a misuse that a GPU would punish with a crash, a hang or garbage */
[[noreturn]] void emu_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* the runtime's last error, as launches and calls set it */
void emu_set_error(cudaError_t e);

/* ---- memory ---- */
/* 1 when [p, p + bytes) lies within one device allocation */
int emu_is_device(const void *p, size_t bytes);
/* 1 when p lies within pinned host memory from cudaMallocHost */
int emu_is_pinned(const void *p);

/* ---- streams ---- */
struct emu_stream;
typedef struct emu_stream *cudaStream_t;
/* queues op on stream s (NULL: the legacy default stream, which first waits for all others) */
void emu_enqueue(cudaStream_t s, std::function<void()> op);
/* runs everything queued on every stream */
void emu_flush_all(void);
/* the whole API is serialised by one lock (loader threads may call it too) */
void emu_lock(void);
void emu_unlock(void);
struct emu_guard {
	emu_guard() { emu_lock(); }
	~emu_guard() { emu_unlock(); }
};

/* ---- launches ---- */
/* Runs body for every CUDA thread of every block of the grid, on the calling OS thread: each
 * thread a fiber, or, for a kernel whose first launch reached no barrier, direct_block, which
 * runs every thread of the current block as a plain call. Odd blocks run their threads in
 * reverse order (direct_block's argument), so a kernel that depends on the order of its threads
 * between barriers gives wrong results. */
void emu_run_grid(const void *kernel, dim3 grid, dim3 block, size_t smem, const std::function<void()> &body,
		  const std::function<void(int)> &direct_block);
/* 1 under AMPTUNE_EMU_ORDER_CHECK=1: every launch runs twice, from the same device memory, in
 * two orders (the last block first and odd blocks' threads reversed; then the first block first
 * and even blocks' threads reversed), and the device allocations its pointer arguments point
 * into must come out bitwise the same, or it aborts naming the launch: a kernel whose blocks
 * race on a location (two writing it, or one reading what another writes), or whose threads race
 * between barriers, gives different bytes. Memory reached only through pointers stored in
 * device memory is not compared (no kernel here takes such tables). */
int emu_order_check(void);
/* runs run() twice as emu_order_check() describes, with args the launch's pointer arguments */
void emu_run_both_orders(const char *kernel, const char *file, int line, const std::vector<const void *> &args,
			 const std::function<void()> &run);
/* checks a launch configuration as the GPU would; returns the error (also set as the last error) */
cudaError_t emu_check_launch(const void *kernel, dim3 grid, dim3 block, size_t smem);

template <typename P> static inline void emu_check_arg(const P &a, int i)
{
	if constexpr (std::is_pointer<P>::value) {
		if (a && !emu_is_device((const void *)a, 1))
			emu_fatal("kernel argument %d (%p) is not device memory", i, (const void *)a);
	}
}

template <typename P> static inline void emu_collect_ptr(const P &a, std::vector<const void *> &out)
{
	if constexpr (std::is_pointer<P>::value)
		out.push_back((const void *)a);
}

struct emu_cfg {
	dim3 grid, block;
	size_t smem;
	cudaStream_t stream;
};

/* where a launch is written: the kernel's name as the source spells it, file and line */
struct emu_site {
	const char *kernel, *file;
	int line;
};

template <typename... P> struct emu_bound {
	emu_cfg cfg;
	void (*k)(P...);
	emu_site site;
	template <typename... A> void operator()(A &&...args) const
	{
		static_assert(sizeof...(A) == sizeof...(P), "kernel argument count");
		emu_guard g;
		std::tuple<P...> params((P)args...);
		int i = 0;
		std::apply([&](const P &...p) { (emu_check_arg(p, i++), ...); }, params);
		if (emu_check_launch((const void *)k, cfg.grid, cfg.block, cfg.smem) != cudaSuccess)
			return;
		emu_cfg c = cfg;
		emu_site at = site;
		void (*kern)(P...) = k;
		emu_enqueue(c.stream, [c, at, kern, params] {
			auto one = [&] { std::apply(kern, params); };
			auto block = [&](int reverse) {
				unsigned t = 0, n = c.block.x * c.block.y * c.block.z;
				for (unsigned z = 0; z < c.block.z; z++)
					for (unsigned y = 0; y < c.block.y; y++)
						for (unsigned x = 0; x < c.block.x; x++, t++) {
							if (reverse) /* the last thread first: see emu_run_grid */
								threadIdx = uint3{ c.block.x - 1 - x, c.block.y - 1 - y,
										   c.block.z - 1 - z },
								emu_cur_tid = n - 1 - t;
							else
								threadIdx = uint3{ x, y, z }, emu_cur_tid = t;
							std::apply(kern, params);
						}
			};
			auto run = [&] { emu_run_grid((const void *)kern, c.grid, c.block, c.smem, one, block); };
			if (!emu_order_check())
				return run();
			std::vector<const void *> ptrs;
			std::apply([&](const P &...p) { (emu_collect_ptr(p, ptrs), ...); }, params);
			emu_run_both_orders(at.kernel, at.file, at.line, ptrs, run);
		});
	}
};

struct emu_launcher {
	emu_cfg cfg;
	template <typename... P>
	emu_bound<P...> operator()(void (*k)(P...), const char *name = "a kernel", const char *file = "?",
				   int line = 0) const
	{
		return emu_bound<P...>{ cfg, k, emu_site{ name, file, line } };
	}
};

static inline emu_launcher emu_kernel(dim3 grid, dim3 block, size_t smem = 0, cudaStream_t s = NULL)
{
	return emu_launcher{ emu_cfg{ grid, block, smem, s } };
}

/* ---- 16-bit float types: bit patterns, converted by the project's own host conversions ---- */
struct __half {
	uint16_t x;
};
struct __nv_bfloat16 {
	uint16_t x;
};
static inline float __half2float(__half h) { return kn_f16_to_f32(h.x); }
static inline __half __float2half(float f) { return __half{ kn_f32_to_f16(f) }; }
static inline float __bfloat162float(__nv_bfloat16 h) { return kn_bf16_to_f32(h.x); }
static inline __nv_bfloat16 __float2bfloat16(float f) { return __nv_bfloat16{ kn_f32_to_bf16(f) }; }
static inline float emu_tofloat(float x) { return x; }
static inline float emu_tofloat(__half x) { return __half2float(x); }
static inline float emu_tofloat(__nv_bfloat16 x) { return __bfloat162float(x); }

#endif
