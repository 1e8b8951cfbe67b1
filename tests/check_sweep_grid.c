/* Grid expansion: the documented order, ids that stay the same across plan
 * edits and versions, shards that partition the grid, train's argv. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/error.h"
#include "reports/record.h"
#include "sweeps/grid.h"
#include "testutil.h"

#define HEAD "[sweep]\nname = g\nmodel = gpt\nsize = tiny\ndata = fortunes\n"
#define GRID                                                                                                   \
	HEAD "steps = 10\nrepeats = 2\ndevices = cpu, cuda\nprecisions = fp32, bf16\nbatch_sizes = 4, 8\nseq = 32\n" \
	     "workers = 0, 2\n"

static void expand(struct sw_plan *p, struct sw_grid *g, const char *text, char *const *set, int nset)
{
	sw_plan_init(p);
	ck_assert_msg(sw_plan_parse(p, "g.ini", text, strlen(text), set, nset) == KN_OK, "%s", kn_last_error());
	ck_assert_int_eq(sw_grid_expand(g, p), KN_OK);
}

/* The id of the first point of a plan. */
static void first_id(char out[13], const char *text)
{
	struct sw_plan p;
	struct sw_grid g;
	expand(&p, &g, text, NULL, 0);
	memcpy(out, g.points[0].id, 13);
	sw_grid_release(&g);
}

START_TEST(test_order)
{
	struct sw_plan p;
	struct sw_grid g;
	expand(&p, &g, GRID, NULL, 0);
	ck_assert_int_eq(g.nconfigs, 16);
	ck_assert_int_eq(g.n, 32);
	/* repeats outermost; then devices, precisions, batch_sizes, seq, workers, prefetch, the last fastest */
	static const struct {
		const char *device, *precision;
		long batch, workers;
	} want[16] = {
		{ "cpu", "fp32", 4, 0 },  { "cpu", "fp32", 4, 2 },  { "cpu", "fp32", 8, 0 },  { "cpu", "fp32", 8, 2 },
		{ "cpu", "bf16", 4, 0 },  { "cpu", "bf16", 4, 2 },  { "cpu", "bf16", 8, 0 },  { "cpu", "bf16", 8, 2 },
		{ "cuda", "fp32", 4, 0 }, { "cuda", "fp32", 4, 2 }, { "cuda", "fp32", 8, 0 }, { "cuda", "fp32", 8, 2 },
		{ "cuda", "bf16", 4, 0 }, { "cuda", "bf16", 4, 2 }, { "cuda", "bf16", 8, 0 }, { "cuda", "bf16", 8, 2 },
	};
	for (int i = 0; i < g.n; i++) {
		const struct sw_point *pt = &g.points[i];
		ck_assert_int_eq(pt->order, i);
		ck_assert_int_eq(pt->index, i % 16);
		ck_assert_int_eq(pt->repeat, i / 16 + 1);
		ck_assert_str_eq(pt->device, want[i % 16].device);
		ck_assert_str_eq(pt->precision, want[i % 16].precision);
		ck_assert_int_eq(pt->batch, want[i % 16].batch);
		ck_assert_int_eq(pt->workers, want[i % 16].workers);
		ck_assert_int_eq(pt->seq, 32);
		ck_assert_int_eq(pt->prefetch, -1);
		/* repeats share their configuration's id; configurations differ */
		ck_assert_str_eq(pt->id, g.points[i % 16].id);
		for (int j = 0; j < i % 16; j++)
			ck_assert_str_ne(pt->id, g.points[j].id);
	}
	sw_grid_release(&g);
}
END_TEST

/* Ids are a contract (resume, merge and compare match on them): pinned values. */
START_TEST(test_ids_pinned)
{
	struct sw_plan p;
	struct sw_grid g;
	char id[13];
	expand(&p, &g, GRID, NULL, 0);
	ck_assert_str_eq(g.points[0].id, "68f4e0a44b05");
	ck_assert_str_eq(g.points[1].id, "a6204d43467b");
	ck_assert_str_eq(g.points[15].id, "d7f64e118288");
	/* the documented text behind them */
	const char *text = "gpt|tiny|fortunes|cpu|fp32|4|32|0|-1|1337|10";
	rp_hash_id(id, text, strlen(text));
	ck_assert_str_eq(g.points[0].id, id);
	sw_grid_release(&g);
}
END_TEST

START_TEST(test_ids_stable)
{
	char a[13], b[13];
	/* an explicit setting equal to what train would run: the same as rp_config_id() */
	first_id(a, HEAD "steps = 10\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\nseq = 32\nworkers = 2\n"
			 "prefetch = 4\n");
	rp_config_id(b, "gpt", "tiny", "fortunes", "cpu", "fp32", 4, 32, 2, 4, 1337, 10, "");
	ck_assert_str_eq(a, b);
	/* the plan's name, repeats, time limit and prices are not part of a point */
	first_id(a, HEAD "steps = 10\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n");
	first_id(b, "[sweep]\nname = other\nmodel = gpt\nsize = tiny\ndata = fortunes\nsteps = 10\nrepeats = 3\n"
		    "time_limit_s = 5\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n[prices]\ncpu = 1\n");
	ck_assert_str_eq(a, b);
	/* nor is the point's place in the grid */
	first_id(b, HEAD "steps = 10\ndevices = cuda, cpu\nprecisions = bf16, fp32\nbatch_sizes = 8, 4\n");
	struct sw_plan p;
	struct sw_grid g;
	expand(&p, &g, HEAD "steps = 10\ndevices = cuda, cpu\nprecisions = bf16, fp32\nbatch_sizes = 8, 4\n", NULL, 0);
	ck_assert_str_eq(g.points[7].id, a);
	sw_grid_release(&g);
	/* an unset seq is the model's context and an unset seed is train's default */
	first_id(b, HEAD "steps = 10\nseed = 1337\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\nseq = 128\n");
	ck_assert_str_eq(a, b);
}
END_TEST

START_TEST(test_ids_change)
{
	char base[13], other[13];
	first_id(base, HEAD "steps = 10\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n");
	static const char *const changes[] = {
		HEAD "steps = 11\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
		HEAD "epochs = 1\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
		HEAD "steps = 10\nlr = 0.002\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
		HEAD "steps = 10\nwarmup_steps = 3\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
		HEAD "steps = 10\ndevice_mem_limit = 1G\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
		HEAD "steps = 10\neval_batches = 1\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
		HEAD "steps = 10\nthreads = 1\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
		HEAD "steps = 10\ndata_latency_us = 5\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
		HEAD "steps = 10\ndata_cost = 5\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
		HEAD "steps = 10\nseed = 1\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
		HEAD "steps = 10\ndevices = auto\nprecisions = fp32\nbatch_sizes = 4\n",
		HEAD "steps = 10\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\nworkers = 0\n",
		HEAD "steps = 10\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\nprefetch = 2\n",
		"[sweep]\nname = g\nmodel = gpt\nsize = small\ndata = fortunes\nsteps = 10\ndevices = cpu\n"
		"precisions = fp32\nbatch_sizes = 4\n",
		"[sweep]\nname = g\nmodel = gpt\nsize = tiny\ndata = other.txt\nsteps = 10\ndevices = cpu\n"
		"precisions = fp32\nbatch_sizes = 4\n",
	};
	for (size_t i = 0; i < sizeof changes / sizeof *changes; i++) {
		first_id(other, changes[i]);
		ck_assert_msg(strcmp(base, other) != 0, "change %zu kept the id", i);
	}
}
END_TEST

START_TEST(test_shards)
{
	struct sw_plan p;
	struct sw_grid g;
	expand(&p, &g, GRID, NULL, 0);
	for (int n = 1; n <= 7; n++) {
		int count[7] = { 0 };
		for (int i = 0; i < g.n; i++) {
			int in = 0;
			for (int s = 0; s < n; s++)
				if (sw_point_in_shard(&g.points[i], s, n))
					in++, count[s]++;
			ck_assert_int_eq(in, 1);
		}
		for (int s = 0; s < n; s++) /* balanced: sizes differ by at most one */
			ck_assert(count[s] == g.n / n || count[s] == g.n / n + 1);
	}
	sw_grid_release(&g);
}
END_TEST

START_TEST(test_parse_shard)
{
	int i, n;
	ck_assert_int_eq(sw_parse_shard("option '--shard'", "2/3", &i, &n), KN_OK);
	ck_assert_int_eq(i, 2);
	ck_assert_int_eq(n, 3);
	static const char *const bad[] = { "3/3", "-1/3", "1/0", "1", "1/3x", " 1/3", "1/ 3", "a/b", "" };
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		char want[200];
		ck_assert_int_eq(sw_parse_shard("option '--shard'", bad[k], &i, &n), KN_EUSAGE);
		snprintf(want, sizeof want, "option '--shard' expects I/N with 0 <= I < N <= 100000, got '%s'", bad[k]);
		ck_assert_str_eq(kn_last_error(), want);
	}
}
END_TEST

static void assert_argv(char *const *argv, const char *const *want)
{
	int i = 0;
	for (; want[i]; i++) {
		ck_assert_ptr_nonnull(argv[i]);
		ck_assert_str_eq(argv[i], want[i]);
	}
	ck_assert_ptr_null(argv[i]);
}

START_TEST(test_argv)
{
	struct sw_plan p;
	struct sw_grid g;
	struct sw_argv a;
	char *set[] = { "device_mem_limit=1K" };
	expand(&p, &g, GRID "lr = 3e-4\nwarmup_steps = 1\n", set, 1);
	ck_assert_int_eq(sw_point_argv(&p, &g.points[13], &a), KN_OK);
	const char *const want[] = { "amptune", "train", "--model", "gpt", "--size", "tiny", "--data", "fortunes",
					    "--steps", "10", "--warmup-steps", "1", "--device-mem-limit", "1024",
					    "--lr", "0.0003", "--device", "cuda", "--precision", "bf16", "--batch", "4",
					    "--seq", "32", "--workers", "2", "--json", "--id", g.points[13].id, NULL };
	assert_argv(a.argv, want);
	sw_grid_release(&g);
	/* only what the plan sets: no --seq, --workers, --prefetch, --seed here */
	expand(&p, &g, HEAD "epochs = 0.25\ndevices = auto\nprecisions = fp32\nbatch_sizes = 4\n", NULL, 0);
	ck_assert_int_eq(sw_point_argv(&p, &g.points[0], &a), KN_OK);
	const char *const want2[] = { "amptune", "train", "--model", "gpt", "--size", "tiny", "--data", "fortunes",
					     "--epochs", "0.25", "--device", "auto", "--precision", "fp32", "--batch", "4",
					     "--json", "--id", g.points[0].id, NULL };
	assert_argv(a.argv, want2);
	ck_assert_int_eq(sw_point_seq(&p, &g.points[0]), 128);
	sw_grid_release(&g);
}
END_TEST

START_TEST(test_too_many_points)
{
	struct sw_plan p;
	struct sw_grid g;
	const char *text = HEAD "steps = 10\nrepeats = 1000\ndevices = auto, cpu, cuda\nprecisions = fp32, tf32, fp16, bf16\n"
			       "batch_sizes = 1,2,3,4,5,6,7,8,9,10\nworkers = 0,1,2,3,4,5,6,7,8,9\n";
	sw_plan_init(&p);
	ck_assert_int_eq(sw_plan_parse(&p, "g.ini", text, strlen(text), NULL, 0), KN_OK);
	ck_assert_int_eq(sw_grid_expand(&g, &p), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), "g.ini: plan 'g' expands to 1200000 runs (1200 points x 1000 repeats), more than 1000000");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sweep_grid");
	TCase *tc = tcase_create("grid");
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_ids_pinned);
	tcase_add_test(tc, test_ids_stable);
	tcase_add_test(tc, test_ids_change);
	tcase_add_test(tc, test_shards);
	tcase_add_test(tc, test_parse_shard);
	tcase_add_test(tc, test_argv);
	tcase_add_test(tc, test_too_many_points);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
