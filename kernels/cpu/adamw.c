/* AdamW with decoupled weight decay (Loshchilov & Hutter). */
#include "kernels/cpu/real.h"

void KN_CPU_FN(adamw)(void *master_, void *compute_, const void *grad_, void *m_, void *v_, size_t n, float lr,
		      float beta1, float beta2, float eps, float weight_decay, int t, float grad_scale)
{
	real *w = master_, *out = compute_, *m = m_, *v = v_;
	const real *g = grad_;
	real c1 = 1 / (1 - (real)pow(beta1, t)), c2 = 1 / (1 - (real)pow(beta2, t));
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++) {
		real gi = g[i] * (real)grad_scale;
		m[i] = (real)beta1 * m[i] + (1 - (real)beta1) * gi;
		v[i] = (real)beta2 * v[i] + (1 - (real)beta2) * gi * gi;
		real mh = m[i] * c1, vh = v[i] * c2;
		w[i] -= (real)lr * (mh / (KN_SQRT(vh) + (real)eps) + (real)weight_decay * w[i]);
		out[i] = w[i];
	}
}
