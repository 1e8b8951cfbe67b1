#include "gpu_suite.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/backend.h"
#include "reports/record.h"
#include "trainer/train.h"
#include "testutil.h"

/* An NVIDIA GPU as the kernel shows it, whatever this build can do with it: 1 and its path in `where`. */
static int nvidia_gpu_visible(char *where, size_t n)
{
	DIR *d = opendir("/proc/driver/nvidia/gpus");
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.') {
				snprintf(where, n, "/proc/driver/nvidia/gpus/%s", e->d_name);
				closedir(d);
				return 1;
			}
		closedir(d);
	}
	for (int i = 0; i < 16; i++) {
		char dev[32];
		snprintf(dev, sizeof dev, "/dev/nvidia%d", i);
		if (access(dev, F_OK) == 0) {
			snprintf(where, n, "%s", dev);
			return 1;
		}
	}
	return 0;
}

/* defined by the CPU emulation of CUDA alone (tests/emu/fake/emu_runtime.cpp) */
int emu_cuda_is_emulation(void) __attribute__((weak));

int tu_cuda_emulated(void) { return emu_cuda_is_emulation && emu_cuda_is_emulation(); }

long tu_gpu_steps(long n, long emu_steps) { return tu_cuda_emulated() ? emu_steps : n; }

/* a GPU is there but cannot be tested: a failure, never a skip */
static int unusable(const char *name, const char *gpu, const char *why)
{
	printf("%s: FAILED: an NVIDIA GPU is present (%s) but %s\n", name, gpu, why);
	return 1;
}

void tu_train_ok(const struct tr_config *c, struct rp_record *r)
{
	rp_record_init(r);
	int rc = tr_train(c, r);
	ck_assert_msg(rc == KN_OK, "%s %s: %s (status %s: %s)", c->device, kn_precision_name(c->precision),
		      kn_last_error(), r->status, r->message);
	ck_assert_str_eq(r->status, "ok");
	ck_assert_int_eq(r->n_loss_curve, c->steps);
	ck_assert_msg(isfinite(r->final_loss) && isfinite(r->eval_loss), "final loss %g, eval loss %g", r->final_loss,
		      r->eval_loss);
}

double tu_loss_curve_gap(const struct rp_record *a, const struct rp_record *b, long *at)
{
	double worst = 0;
	*at = 0;
	ck_assert_int_eq(a->n_loss_curve, b->n_loss_curve);
	for (int i = 0; i < a->n_loss_curve; i++) {
		ck_assert_int_eq(a->loss_curve[i].step, b->loss_curve[i].step);
		double d = fabs(a->loss_curve[i].loss - b->loss_curve[i].loss);
		if (!(d <= worst)) { /* NaN counts as the worst */
			worst = isnan(d) ? INFINITY : d;
			*at = a->loss_curve[i].step;
		}
	}
	return worst;
}

void tu_train_oom(const struct tr_config *c)
{
	struct rp_record r;
	rp_record_init(&r);
	int rc = tr_train(c, &r);
	ck_assert_msg(rc == KN_ENOMEM, "limit %zu bytes: rc %d (%s)", c->device_mem_limit, rc, kn_last_error());
	ck_assert_str_eq(r.status, "oom");
	ck_assert_msg(strstr(r.message, "out of memory") != NULL, "message: '%s'", r.message);
	rp_record_release(&r);
}

static int run_suite(const char *name, Suite *(*make)(void));

int tu_gpu_suite_main(const char *name, Suite *(*make)(void))
{
	char gpu[300] = "";
	if (tu_cuda_emulated()) {
		/* the CUDA backend's source on the CPU stand-in for CUDA: no GPU involved */
		printf("%s: on the CPU emulation of CUDA (tests/emu/fake), not on a GPU\n", name);
		setenv("AMPTUNE_CUDA_UNVALIDATED", "1", 1);
		return run_suite(name, make);
	}
	int visible = nvidia_gpu_visible(gpu, sizeof gpu);
	const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
	if (!kn_cuda_compiled()) {
		if (visible)
			return unusable(name, gpu, "this build has no CUDA backend (no nvcc at configure time, or "
						   "-DAMPTUNE_CUDA=OFF)");
		printf("%s: no GPU present (and CUDA not compiled in): skipped\n", name);
		return 77;
	}
	int n = tu_cuda_device_count_forked();
	if (n < 0) {
		printf("%s: FAILED: the child process counting CUDA devices did not exit normally\n", name);
		return 1;
	}
	if (n == 0) {
		if (cvd) {
			printf("%s: CUDA_VISIBLE_DEVICES='%s' leaves no CUDA device: skipped\n", name, cvd);
			return 77;
		}
		if (visible)
			return unusable(name, gpu, "CUDA counts no device (a driver older than this build's CUDA runtime?)");
		printf("%s: no CUDA device present: skipped\n", name);
		return 77;
	}
	setenv("AMPTUNE_CUDA_UNVALIDATED", "1", 1);
	return run_suite(name, make);
}

static int run_suite(const char *name, Suite *(*make)(void))
{
	SRunner *sr = srunner_create(make());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr), run = srunner_ntests_run(sr);
	srunner_free(sr);
	if (run == 0) {
		printf("%s: FAILED: no test ran\n", name);
		return 1;
	}
	return failed ? 1 : 0;
}
