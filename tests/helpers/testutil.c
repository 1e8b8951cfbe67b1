#include "testutil.h"

#include <check.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reports/record.h"

#include "data_loader/rng.h"
#include "kernels/backend.h"

void tu_fill_uniform(double *x, size_t n, double lo, double hi, uint64_t seed)
{
	struct dl_rng r;
	dl_rng_init(&r, seed);
	for (size_t i = 0; i < n; i++)
		x[i] = lo + (hi - lo) * dl_rng_uniform(&r);
}

double tu_max_err(const double *a, const double *b, size_t n, double atol, double rtol)
{
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		double e = fabs(a[i] - b[i]) / (atol + rtol * fabs(b[i]));
		if (!(e <= worst)) /* NaN counts as the worst */
			worst = isnan(e) ? INFINITY : e;
	}
	return worst;
}

void *tu_dev(struct kn_backend *be, const double *src, size_t n, int master)
{
	void *p;
	size_t es = master ? be->master_bytes : be->act_bytes;
	if (kn_alloc(be, &p, n * es)) {
		fprintf(stderr, "tu_dev: %s\n", kn_last_error());
		abort();
	}
	double *zeros = NULL;
	if (!src)
		src = zeros = calloc(n ? n : 1, sizeof *zeros);
	if (!src || be->vt->upload(be, p, src, n, master))
		abort();
	free(zeros);
	return p;
}

double *tu_host(struct kn_backend *be, const void *dev, size_t n, int master)
{
	double *h = malloc((n ? n : 1) * sizeof *h);
	if (!h || be->vt->download(be, h, dev, n, master))
		abort();
	return h;
}

int tu_cuda_device_count_forked(void)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int n = kn_cuda_device_count();
		_exit(n > 100 ? 100 : n);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

const char *tu_tmpdir(void)
{
	static char path[512];
	if (!path[0]) {
		const char *base = getenv("TEST_TMPDIR");
		if (!base || !*base)
			base = "/tmp";
		mkdir(base, 0755);
		snprintf(path, sizeof path, "%s/t%d", base, (int)getpid());
		mkdir(path, 0755);
	}
	return path;
}

int tu_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

void tu_adamw_reference(double *w, double *m, double *v, const double *g, int n, double lr, double b1, double b2,
			double eps, double wd, int t, double scale)
{
	for (int i = 0; i < n; i++) {
		double gi = g[i] * scale;
		m[i] = b1 * m[i] + (1 - b1) * gi;
		v[i] = b2 * v[i] + (1 - b2) * gi * gi;
		double mh = m[i] / (1 - pow(b1, t)), vh = v[i] / (1 - pow(b2, t));
		w[i] -= lr * (mh / (sqrt(vh) + eps) + wd * w[i]);
	}
}

void tu_assert_same_losses(const struct rp_record *a, const struct rp_record *b, const char *what)
{
	ck_assert_msg(a->n_loss_curve == b->n_loss_curve, "%s: %d then %d losses", what, a->n_loss_curve, b->n_loss_curve);
	for (int i = 0; i < a->n_loss_curve; i++)
		ck_assert_msg(memcmp(&a->loss_curve[i].loss, &b->loss_curve[i].loss, sizeof(double)) == 0,
			      "%s: step %ld loss %.17g then %.17g", what, a->loss_curve[i].step, a->loss_curve[i].loss,
			      b->loss_curve[i].loss);
}
