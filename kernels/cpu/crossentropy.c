/* Fused softmax + cross-entropy, in place over the logits. */
#include "kernels/cpu/real.h"

void KN_CPU_FN(crossentropy_forward)(void *losses_, void *logits_, const int *targets, int N, int V)
{
	real *losses = losses_, *logits = logits_;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		real *row = logits + (size_t)n * V;
		real mx = row[0];
		for (int i = 1; i < V; i++)
			mx = row[i] > mx ? row[i] : mx;
		for (int i = 0; i < V; i++)
			row[i] = KN_EXP_FAST(row[i] - mx);
		double sum = 0;
		for (int i = 0; i < V; i++)
			sum += row[i];
		real inv = (real)(1.0 / sum);
		for (int i = 0; i < V; i++)
			row[i] *= inv;
		losses[n] = -KN_LOG(row[targets[n]]);
	}
}

void KN_CPU_FN(crossentropy_backward)(void *logits_, const int *targets, float dloss, int N, int V)
{
	real *p = logits_;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		real *row = p + (size_t)n * V;
		for (int i = 0; i < V; i++)
			row[i] = (row[i] - (i == targets[n])) * (real)dloss;
	}
}

long KN_CPU_FN(count_correct)(const void *probs_, const int *targets, int N, int V)
{
	const real *p = probs_;
	long correct = 0;
#pragma omp parallel for schedule(static) reduction(+ : correct)
	for (int n = 0; n < N; n++) {
		const real *row = p + (size_t)n * V;
		int best = 0;
		for (int i = 1; i < V; i++)
			if (row[i] > row[best])
				best = i;
		correct += best == targets[n];
	}
	return correct;
}
