/* The main() of a GPU suite (tests/gpu_*.c). */
#ifndef GPU_SUITE_H
#define GPU_SUITE_H

struct Suite;

/*
 * Exits 77 (ctest: skipped), with a line naming the suite, only when no GPU
 * is there to test: CUDA counts no device (counted in a child process: see
 * tu_cuda_device_count_forked) and the kernel shows no NVIDIA GPU either
 * (/proc/driver/nvidia/gpus, /dev/nvidiaN), or CUDA_VISIBLE_DEVICES hides
 * them. A GPU the kernel shows but this build or its CUDA runtime cannot use
 * (CUDA not compiled in; a driver too old for the runtime) fails with exit 1
 * and says which, as does a device count that could not be taken. Otherwise
 * lets the CUDA backend open before its validation gate has passed
 * (AMPTUNE_CUDA_UNVALIDATED=1: these suites are that validation) and runs the
 * suite make() builds, each test in its own forked process whatever CK_FORK
 * says: the CUDA backend is one per process and its errors are sticky, so a
 * test that fails must not leave its backend, device memory or error to the
 * next. Returns the exit code: 0, or 1 on any failure.
 */
int tu_gpu_suite_main(const char *name, struct Suite *(*make)(void));

/* 1 when the CUDA backend is the CPU emulation of tests/emu/fake (the
 * emu_gpu_* binaries), whose training steps take a second each: the suites
 * then train fewer steps. */
int tu_cuda_emulated(void);
/* n steps on a GPU, emu_steps under the emulation */
long tu_gpu_steps(long n, long emu_steps);

/* tr_train(c, r) on a fresh record r, as `amptune train` runs it, asserting
 * it succeeded: status "ok", c->steps losses, finite final and eval losses. */
struct tr_config;
struct rp_record;
void tu_train_ok(const struct tr_config *c, struct rp_record *r);
/* The largest |loss gap| between two loss curves of the same steps (asserted), NaN counting
 * as infinite; *at receives its step. */
double tu_loss_curve_gap(const struct rp_record *a, const struct rp_record *b, long *at);
/* tr_train(c) asserting it ran out of memory under c->device_mem_limit: KN_ENOMEM, status
 * "oom", an "out of memory" message. */
void tu_train_oom(const struct tr_config *c);

#endif
