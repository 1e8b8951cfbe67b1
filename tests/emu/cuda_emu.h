/*
 * tests/emu/cuda_emu.h — a thread-level CPU emulation of the few CUDA features
 * our kernels use, so tests/emu_*.cpp can run those very kernels without a
 * GPU: one pthread per CUDA thread (real concurrency between barriers),
 * barriers for __syncthreads/__syncwarp, shuffles through a per-warp exchange
 * array, and WMMA from emu_wmma.h (lane 0 computes and stores each tile, so a
 * kernel that reads a stored tile without __syncwarp races here as on a GPU;
 * WMMA's alignment and leading-dimension rules abort when broken). A launch
 * starts one thread per CUDA thread of a block and walks them through the
 * grid's blocks in turn, so kernels must not return early from a block before
 * a barrier the others reach (undefined on a GPU too). Dynamic shared memory
 * is poisoned (0xff bytes: NaN) at every block's start; blocks may be 2-D
 * (threadIdx.x fastest); integer atomicAdd is a real atomic. It checks the
 * kernels' logic, indexing and synchronisation, not the hardware's numerics or
 * speed. (tests/emu/fake runs the whole CUDA backend, host code included, on
 * fibers instead.)
 */
#ifndef CUDA_EMU_H
#define CUDA_EMU_H
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <assert.h>
#include <vector>
#include <functional>
#include <type_traits>

#include "kernels/precision.h"

#define __global__
#define __device__
/* blocks run one after another, so one static array per kernel serves every block */
#define __shared__ static
#define __forceinline__ inline
#define __launch_bounds__(x)
#define __align__(x)

struct dim3 {
	unsigned x, y, z;
	dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

struct emu_block {
	pthread_barrier_t block_bar;
	pthread_barrier_t launch_bar; /* between blocks */
	pthread_barrier_t warp_bar[32];
	float xchg[32][32];
	unsigned char *smem;
};

inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
inline thread_local emu_block *emu_cur;

inline thread_local unsigned emu_tid; /* the thread's linear index in its block */

static inline void __syncthreads() { pthread_barrier_wait(&emu_cur->block_bar); }
static inline void __syncwarp() { pthread_barrier_wait(&emu_cur->warp_bar[emu_tid / 32]); }
static inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
static inline int min(int a, int b) { return a < b ? a : b; }
static inline long min(long a, long b) { return a < b ? a : b; }
static inline float __shfl_xor_sync(unsigned, float v, int m)
{
	int w = emu_tid / 32, l = emu_tid % 32;
	__syncwarp();
	emu_cur->xchg[w][l] = v;
	__syncwarp();
	float r = emu_cur->xchg[w][l ^ m];
	__syncwarp();
	return r;
}
#define __expf expf

/* bf16 storage */
struct bf16 {
	uint16_t b;
};
static inline float bf2f(bf16 h) { return kn_bf16_to_f32(h.b); }
static inline bf16 f2bf(float f)
{
	bf16 h;
	h.b = kn_f32_to_bf16(f);
	return h;
}
template <typename T> float tof(T x);
template <> inline float tof<float>(float x) { return x; }
template <> inline float tof<bf16>(bf16 x) { return bf2f(x); }
template <typename T> T fromf(float x);
template <> inline float fromf<float>(float x) { return x; }
template <> inline bf16 fromf<bf16>(float x) { return f2bf(x); }

static inline float emu_tofloat(float x) { return x; }
static inline float emu_tofloat(bf16 x) { return bf2f(x); }
static inline unsigned emu_lane(void) { return emu_tid % 32; }
#include "emu_wmma.h"

#define FA_DYNAMIC_SMEM(name) unsigned char *name = emu_cur->smem

struct emu_targ {
	emu_block *blk;
	unsigned tid;
	dim3 grid;
	size_t smem;
	std::function<void()> *body;
};

/* one CUDA thread through every block of the grid in turn (blocks one after another) */
static inline void *emu_thread(void *p)
{
	emu_targ *a = (emu_targ *)p;
	emu_cur = a->blk;
	emu_tid = a->tid;
	threadIdx = dim3(a->tid % blockDim.x, a->tid / blockDim.x, 0);
	for (unsigned by = 0; by < a->grid.y; by++)
		for (unsigned bx = 0; bx < a->grid.x; bx++) {
			if (a->tid == 0)
				memset(a->blk->smem, 0xff, a->smem); /* NaN until written */
			pthread_barrier_wait(&a->blk->launch_bar);
			blockIdx = dim3(bx, by);
			(*a->body)();
			pthread_barrier_wait(&a->blk->launch_bar); /* the block is done before the next one starts */
		}
	return NULL;
}

/* runs body for every block of grid, blocks one after another, block.x * block.y threads each with `smem` bytes */
static inline void emu_launch(dim3 grid, dim3 block, size_t smem, std::function<void()> body)
{
	unsigned threads = block.x * block.y;
	gridDim = grid;
	blockDim = block;
	emu_block blk;
	pthread_barrier_init(&blk.block_bar, NULL, threads);
	pthread_barrier_init(&blk.launch_bar, NULL, threads);
	for (unsigned w = 0; w < (threads + 31) / 32; w++)
		pthread_barrier_init(&blk.warp_bar[w], NULL, w < threads / 32 ? 32 : threads % 32);
	void *mem = NULL;
	if (posix_memalign(&mem, 128, smem ? smem : 128))
		abort();
	blk.smem = (unsigned char *)mem;
	std::vector<pthread_t> th(threads);
	std::vector<emu_targ> args(threads);
	for (unsigned t = 0; t < threads; t++) {
		args[t] = emu_targ{ &blk, t, grid, smem, &body };
		if (pthread_create(&th[t], NULL, emu_thread, &args[t]))
			abort();
	}
	for (unsigned t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&blk.block_bar);
	pthread_barrier_destroy(&blk.launch_bar);
	for (unsigned w = 0; w < (threads + 31) / 32; w++)
		pthread_barrier_destroy(&blk.warp_bar[w]);
	free(mem);
}

using namespace nvcuda;

#endif
