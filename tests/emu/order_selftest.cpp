/*
 * tests/emu/order_selftest.cpp — the emulation's order check (emu/fake/emu_core.h,
 * AMPTUNE_EMU_ORDER_CHECK=1) on kernels written to race, so that the check is known to
 * catch what it is there for: `order_selftest clean` must pass, and each of `write`
 * (every block writes one location), `read` (a block reads what its neighbour writes in
 * the same launch) and `threads` (threads of a block race between barriers) must abort
 * naming the launch.
 */
#include <stdio.h>
#include <string.h>

#include "cuda_runtime.h"

__global__ void scale_k(float *out, const float *in, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		out[i] = 2.0f * in[i];
}

/* every block's first thread writes its block index to out[0] */
__global__ void write_race_k(float *out)
{
	if (threadIdx.x == 0)
		out[0] = (float)blockIdx.x;
}

/* each block writes its slot, then reads its right neighbour's, written in the same launch */
__global__ void read_race_k(float *out)
{
	if (threadIdx.x == 0) {
		out[blockIdx.x] = 1.0f + (float)blockIdx.x;
		if (blockIdx.x + 1 < gridDim.x)
			out[gridDim.x + blockIdx.x] = out[blockIdx.x + 1];
	}
}

/* each thread adds its index into one shared word with no barrier in between, then thread 0
 * stores it: the last writer wins, which depends on the threads' order */
__global__ void threads_race_k(float *out)
{
	__shared__ float s;
	if (threadIdx.x == 0)
		s = 0.0f;
	__syncthreads();
	s = (float)threadIdx.x;
	__syncthreads();
	if (threadIdx.x == 0)
		out[blockIdx.x] = s;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "clean";
	const int n = 1000;
	float *a = NULL, *b = NULL;
	if (cudaMalloc(&a, n * sizeof(float)) != cudaSuccess || cudaMalloc(&b, n * sizeof(float)) != cudaSuccess) {
		fprintf(stderr, "cudaMalloc failed\n");
		return 1;
	}
	static float host[1000];
	for (int i = 0; i < n; i++)
		host[i] = (float)i;
	cudaMemcpyAsync(a, host, n * sizeof(float), cudaMemcpyHostToDevice);
	if (!strcmp(what, "clean"))
		scale_k<<<(n + 127) / 128, 128>>>(b, a, n);
	else if (!strcmp(what, "write"))
		write_race_k<<<8, 32>>>(b);
	else if (!strcmp(what, "read"))
		read_race_k<<<8, 32>>>(b);
	else if (!strcmp(what, "threads"))
		threads_race_k<<<4, 64>>>(b);
	else {
		fprintf(stderr, "usage: order_selftest clean|write|read|threads\n");
		return 64;
	}
	cudaDeviceSynchronize();
	cudaMemcpyAsync(host, b, n * sizeof(float), cudaMemcpyDeviceToHost);
	cudaDeviceSynchronize();
	if (!strcmp(what, "clean"))
		for (int i = 0; i < n; i++)
			if (host[i] != 2.0f * (float)i) {
				fprintf(stderr, "clean: element %d is %g, expected %g\n", i, host[i], 2.0f * (float)i);
				return 1;
			}
	printf("%s: no order dependence found\n", what);
	return 0;
}
