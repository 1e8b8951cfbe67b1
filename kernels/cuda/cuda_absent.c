/* Linked instead of kernels/cuda when the build has no CUDA compiler. */
#include <string.h>

#include "kernels/backend.h"

int kn_cuda_compiled(void) { return 0; }

int kn_cuda_device_count(void) { return 0; }

size_t kn_cuda_total_memory(void) { return 0; }

void kn_cuda_versions(struct kn_cuda_versions *v) { memset(v, 0, sizeof *v); }

int kn_cuda_open(struct kn_backend *be, enum kn_precision precision)
{
	return kn_error(KN_EUNAVAIL, "device 'cuda' is not available: this amptune was built without CUDA "
				     "(no nvcc at configure time, or -DAMPTUNE_CUDA=OFF)");
}
