/* SGD with momentum and L2 weight decay, as torch.optim.SGD (dampening 0). */
#include "kernels/cpu/real.h"

void KN_CPU_FN(sgd)(void *master_, void *compute_, const void *grad_, void *velocity_, size_t n, float lr,
		    float momentum, float weight_decay, float grad_scale)
{
	real *w = master_, *out = compute_, *vel = velocity_;
	const real *g = grad_;
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++) {
		real gi = g[i] * (real)grad_scale + (real)weight_decay * w[i];
		vel[i] = (real)momentum * vel[i] + gi;
		w[i] -= (real)lr * vel[i];
		out[i] = w[i];
	}
}
