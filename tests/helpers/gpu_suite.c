#include "gpu_suite.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

int tu_gpu_suite_main(const char *name, Suite *(*make)(void))
{
	if (tu_cuda_device_count_forked() == 0) {
		printf("%s: no CUDA device present (or CUDA not compiled in): skipped\n", name);
		return 77;
	}
	setenv("AMPTUNE_CUDA_UNVALIDATED", "1", 1);
	return tu_run_suite(make());
}
