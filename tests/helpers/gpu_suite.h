/* The main() of a GPU suite (tests/gpu_*.c). */
#ifndef GPU_SUITE_H
#define GPU_SUITE_H

struct Suite;

/* Exits 77 (ctest: skipped) with a line naming the suite when no CUDA device
 * is present or CUDA is not compiled in (counted in a child process: see
 * tu_cuda_device_count_forked); else lets the CUDA backend open before its
 * validation gate has passed (AMPTUNE_CUDA_UNVALIDATED=1: these suites are
 * that validation) and runs the suite make() builds. Returns the exit code. */
int tu_gpu_suite_main(const char *name, struct Suite *(*make)(void));

#endif
