/* The decision: points and repeats, the cost model, the recommendation rule, the Pareto front, memory tiers. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/report_fixture.h"
#include "kernels/error.h"
#include "reports/cost.h"
#include "reports/points.h"
#include "reports/recommend.h"
#include "reports/results.h"
#include "reports/text.h"
#include "reports/tiers.h"

#define H100 "NVIDIA H100 80GB HBM3"

/* A results set from records (consumed), grouped and priced. */
struct set {
	struct rp_results res;
	struct rp_points pts;
	struct rp_prices prices;
	struct rp_reco reco;
};

static void load(struct set *s, struct rp_record *r, int n, const char *flag_price)
{
	const char *path = fx_path("set.jsonl");
	fx_write_records(path, r, n);
	ck_assert_int_eq(rp_results_load(&s->res, path), KN_OK);
	rp_prices_init(&s->prices);
	if (flag_price)
		ck_assert_int_eq(rp_prices_add_flag(&s->prices, flag_price), KN_OK);
	ck_assert_int_eq(rp_points_build(&s->pts, &s->res), KN_OK);
	rp_points_price(&s->pts, &s->prices);
	ck_assert_int_eq(rp_recommend(&s->pts, RP_LOSS_TOL_DEFAULT, &s->reco), KN_OK);
}

static void unload(struct set *s)
{
	rp_reco_release(&s->reco);
	rp_points_release(&s->pts);
	rp_results_release(&s->res);
}

/* gpu point: device name, precision, batch, samples/s, epoch seconds, final and eval loss */
static void gpu(struct rp_record *r, const char *id, const char *name, const char *prec, int batch, double sps,
		double epoch_s, double loss)
{
	fx_record(r, id);
	fx_device(r, name);
	snprintf(r->precision, sizeof r->precision, "%s", prec);
	r->batch = batch, r->samples_per_sec = sps, r->epoch_s = epoch_s, r->final_loss = r->eval_loss = loss;
}

static double price_of(const char *device_name, const struct rp_prices *p, char *basis)
{
	struct rp_record r;
	struct rp_price out;
	fx_record(&r, "x");
	fx_device(&r, device_name);
	rp_price_of(p, &r, &out);
	rp_record_release(&r);
	if (basis)
		strcpy(basis, out.basis);
	return out.usd_per_hour;
}

START_TEST(test_default_prices)
{
	struct rp_prices p;
	char basis[256];
	rp_prices_init(&p);
	ck_assert_double_eq_tol(price_of("cpu", &p, basis), 0.20, 1e-12);
	ck_assert_str_eq(basis, "default: 4 vCPU x $0.05 per vCPU-hour (on-demand general-purpose cloud VM, memory included)");
	ck_assert_double_eq(price_of(H100, &p, basis), 4.00);
	ck_assert_str_eq(basis, "default: top-tier GPU (H100) at $4.00 per GPU-hour (typical on-demand cloud price)");
	ck_assert_double_eq(price_of("NVIDIA A100-SXM4-80GB", &p, NULL), 2.00);
	ck_assert_double_eq(price_of("Tesla V100-SXM2-16GB", &p, NULL), 2.00);
	ck_assert_double_eq(price_of("NVIDIA A10G", &p, NULL), 0.60); /* "A10" is not a word of "A10G" ... */
	ck_assert_double_eq(price_of("Tesla T4", &p, NULL), 0.60);
	ck_assert_double_eq(price_of("NVIDIA GH200 480GB", &p, NULL), 4.00); /* ... nor "H200" of "GH200" */
	ck_assert_double_eq(price_of("NVIDIA Foo 9000", &p, basis), 2.00);
	ck_assert_str_eq(basis, "default: unrecognised GPU priced as mid tier, $2.00 per GPU-hour; set --price for a real figure");
}
END_TEST

START_TEST(test_price_rules)
{
	struct rp_prices p;
	struct rp_results res;
	char basis[256];
	rp_prices_init(&p);
	memset(&res, 0, sizeof res);
	strcpy(res.plan_path, "runs/x/plan.ini");
	res.n_plan_prices = 2;
	strcpy(res.plan_prices[0].device, "H100");
	strcpy(res.plan_prices[0].value, "3.25");
	strcpy(res.plan_prices[1].device, "cuda");
	strcpy(res.plan_prices[1].value, "$1");
	ck_assert_int_eq(rp_prices_add_plan(&p, &res), KN_OK);
	ck_assert_double_eq(price_of(H100, &p, basis), 3.25); /* the longer, more specific rule */
	ck_assert_str_eq(basis, "plan.ini [prices]: H100 = $3.25 per hour");
	ck_assert_double_eq(price_of("NVIDIA L4", &p, NULL), 1.0);
	ck_assert_double_eq_tol(price_of("cpu", &p, NULL), 0.2, 1e-12);
	ck_assert_int_eq(rp_prices_add_flag(&p, "h100=$2.5"), KN_OK); /* flags beat the plan; case-insensitive */
	ck_assert_double_eq(price_of(H100, &p, basis), 2.5);
	ck_assert_str_eq(basis, "--price: h100 = $2.50 per hour");

	ck_assert_int_eq(rp_prices_add_flag(&p, "NVIDIA H100 80GB HBM3=2.75"), KN_OK); /* a sweep plan's full name */
	ck_assert_double_eq(price_of(H100, &p, NULL), 2.75);
	ck_assert_double_eq(price_of("NVIDIA H100 PCIe", &p, NULL), 2.5);

	ck_assert_int_eq(rp_prices_add_flag(&p, "H100"), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(),
			 "option '--price' expects DEVICE=USD_PER_HOUR such as H100=3.50 or cpu=0.20, got 'H100'");
	ck_assert_int_eq(rp_prices_add_flag(&p, "H100=cheap"), KN_EUSAGE);
	ck_assert_int_eq(rp_prices_add_flag(&p, "H100=-1"), KN_EUSAGE);
	ck_assert_int_eq(rp_prices_add_flag(&p, "=3"), KN_EUSAGE);

	strcpy(res.plan_prices[1].value, "cheap");
	res.plan_prices[1].line = 7;
	ck_assert_int_eq(rp_prices_add_plan(&p, &res), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(),
			 "runs/x/plan.ini:7: [prices] 'cuda' expects dollars per hour (a positive number), got 'cheap'");
}
END_TEST

/* The price of a device from [prices] keys and values given in this order. */
static double plan_price(const char *device_name, const char *const *kv, int n)
{
	struct rp_prices p;
	struct rp_results res;
	rp_prices_init(&p);
	memset(&res, 0, sizeof res);
	strcpy(res.plan_path, "plan.ini");
	res.n_plan_prices = n;
	for (int i = 0; i < n; i++) {
		strcpy(res.plan_prices[i].device, kv[2 * i]);
		strcpy(res.plan_prices[i].value, kv[2 * i + 1]);
	}
	ck_assert_int_eq(rp_prices_add_plan(&p, &res), KN_OK);
	return price_of(device_name, &p, NULL);
}

START_TEST(test_price_rule_order)
{
	/* a word of the device_name beats the device kind, however long or wherever it is */
	const char *kind_first[] = { "cuda", "2.50", "H100", "4.00" }, *kind_last[] = { "H100", "4.00", "cuda", "2.50" };
	ck_assert_double_eq(plan_price(H100, kind_first, 2), 4.0);
	ck_assert_double_eq(plan_price(H100, kind_last, 2), 4.0);
	ck_assert_double_eq(plan_price("NVIDIA A100", kind_last, 2), 2.5);
	const char *short_word[] = { "cuda", "2.50", "L4", "0.70" };
	ck_assert_double_eq(plan_price("NVIDIA L4", short_word, 2), 0.7);
	/* words as long: the earlier in the name, in either order */
	const char *a[] = { "HBM3", "3.00", "H100", "4.00" }, *b[] = { "H100", "4.00", "HBM3", "3.00" };
	ck_assert_double_eq(plan_price(H100, a, 2), 4.0);
	ck_assert_double_eq(plan_price(H100, b, 2), 4.0);
	/* the same word in two cases: byte order ("H100" before "h100") */
	const char *c[] = { "h100", "1.00", "H100", "4.00" }, *d[] = { "H100", "4.00", "h100", "1.00" };
	ck_assert_double_eq(plan_price(H100, c, 2), 4.0);
	ck_assert_double_eq(plan_price(H100, d, 2), 4.0);
	/* a longer word still wins */
	const char *e[] = { "H100", "4.00", "NVIDIA H100", "3.00", "cuda", "1.00" };
	ck_assert_double_eq(plan_price(H100, e, 3), 3.0);
}
END_TEST

START_TEST(test_unknown_price_device)
{
	struct rp_record r[2];
	struct set s;
	fx_record(&r[0], "c");
	gpu(&r[1], "g", H100, "fp32", 32, 8000, 72, 2.44);
	load(&s, r, 2, NULL);
	struct rp_prices p;
	rp_prices_init(&p);
	ck_assert_int_eq(rp_prices_add_flag(&p, "H100=3"), KN_OK);
	ck_assert_int_eq(rp_prices_check_flags(&p, &s.res), KN_OK);
	ck_assert_int_eq(rp_prices_add_flag(&p, "V100=1"), KN_OK);
	ck_assert_int_eq(rp_prices_check_flags(&p, &s.res), KN_EUSAGE);
	char want[4400];
	snprintf(want, sizeof want,
		 "option '--price': no device in '%s' matches 'V100' (devices there: cpu 'Test CPU (4 threads)', cuda "
		 "'NVIDIA H100 80GB HBM3')",
		 s.res.path);
	ck_assert_str_eq(kn_last_error(), want);
	unload(&s);
}
END_TEST

START_TEST(test_costs)
{
	struct rp_record r;
	struct set s;
	fx_record(&r, "c");
	load(&s, &r, 1, NULL);
	const struct rp_point *p = &s.pts.p[0];
	ck_assert_double_eq_tol(p->cost_per_epoch, 0.20, 1e-12);           /* 1 h at 4 x $0.05 */
	ck_assert_double_eq_tol(p->cost_per_m_samples, 1e6 / 160 / 3600 * 0.2, 1e-12);
	ck_assert_double_eq_tol(p->cost_per_m_tokens, 1e6 / 20480.0 / 3600 * 0.2, 1e-12);
	unload(&s);
}
END_TEST

START_TEST(test_repeats_are_medians)
{
	struct rp_record r[5];
	struct set s;
	double sps[] = { 100, 120, 110 };
	for (int i = 0; i < 3; i++) {
		fx_record(&r[i], "rep");
		r[i].samples_per_sec = sps[i];
		r[i].epoch_s = 16 * 3600 / sps[i];
		r[i].epoch_s_extrapolated = i == 1;
	}
	fx_record(&r[3], "rep");
	strcpy(r[3].status, "timeout");
	fx_record(&r[4], "other");
	strcpy(r[4].status, "oom");
	load(&s, r, 5, NULL);
	ck_assert_int_eq(s.pts.n, 2);
	const struct rp_point *p = &s.pts.p[0];
	ck_assert_int_eq(p->n_reps, 4);
	ck_assert_int_eq(p->n_ok, 3);
	ck_assert_str_eq(p->status, "ok");
	ck_assert_double_eq(p->samples_per_sec, 110);
	ck_assert_double_eq(p->sps_min, 100);
	ck_assert_double_eq(p->sps_max, 120);
	ck_assert_double_eq(p->rep->samples_per_sec, 110);
	ck_assert_int_eq(p->epoch_s_extrapolated, 1);
	ck_assert_str_eq(s.pts.p[1].status, "oom");
	ck_assert_int_eq(s.pts.p[1].n_ok, 0);
	ck_assert(isnan(s.pts.p[1].samples_per_sec));
	unload(&s);
}
END_TEST

START_TEST(test_many_repeats)
{
	/* a plan allows 1000 repeats: the median is over all of them (it once stopped at 64) */
	enum { N = 201 };
	struct rp_record *r = calloc(N, sizeof *r);
	struct set s;
	ck_assert_ptr_nonnull(r);
	for (int i = 0; i < N; i++) {
		fx_record(&r[i], "rep");
		r[i].samples_per_sec = 1000 + i; /* the median is the 101st: 1100 */
		r[i].epoch_s = 16 * 3600 / r[i].samples_per_sec;
	}
	load(&s, r, N, NULL);
	ck_assert_int_eq(s.pts.n, 1);
	ck_assert_int_eq(s.pts.p[0].n_ok, N);
	ck_assert_double_eq(s.pts.p[0].samples_per_sec, 1100);
	unload(&s);
	free(r);
}
END_TEST

START_TEST(test_labels)
{
	struct rp_record r;
	char out[160];
	fx_record(&r, "x");
	ck_assert_str_eq(rp_device_label(&r, out, sizeof out), "cpu");
	fx_device(&r, H100);
	ck_assert_str_eq(rp_device_label(&r, out, sizeof out), "H100");
	fx_device(&r, "NVIDIA GeForce RTX 4090");
	ck_assert_str_eq(rp_device_label(&r, out, sizeof out), "RTX 4090");
	fx_device(&r, "Tesla V100-SXM2-16GB");
	ck_assert_str_eq(rp_device_label(&r, out, sizeof out), "V100-SXM2-16GB");
	rp_record_release(&r);
}
END_TEST

/* The scenario of the report: a fast fp16 point whose loss is far behind, a diverged one that would be
 * cheapest, a cheap slow T4 and a fast H100 on the Pareto front, and a CPU point. */
static void scenario(struct set *s)
{
	struct rp_record r[6];
	fx_record(&r[0], "c16");
	r[0].eval_loss = 2.5;
	gpu(&r[1], "g32", H100, "fp32", 32, 8000, 72, 2.44);
	gpu(&r[2], "g64", H100, "fp32", 64, 14000, 41, 2.43);
	gpu(&r[3], "h64", H100, "fp16", 64, 30000, 19, 3.9);
	gpu(&r[4], "h128", H100, "fp16", 128, 55000, 10, NAN);
	strcpy(r[4].status, "diverged");
	gpu(&r[5], "t4", "Tesla T4", "fp32", 32, 5000, 100, 2.45);
	load(s, r, 6, NULL);
}

START_TEST(test_recommendation_rule)
{
	struct set s;
	scenario(&s);
	const struct rp_reco *r = &s.reco;
	ck_assert_int_eq(r->n_ok, 5);
	ck_assert_int_eq(r->n_eligible, 4);
	ck_assert_str_eq(s.pts.p[r->best].cfg->id, "t4");          /* $0.0167: 100 s at $0.60/h */
	ck_assert_str_eq(s.pts.p[r->fastest].cfg->id, "g64");      /* 41 s */
	ck_assert_str_eq(s.pts.p[r->fastest_any].cfg->id, "h64");  /* faster, but 60% above the best loss */
	ck_assert_str_eq(s.pts.p[r->cheapest_any].cfg->id, "t4");
	ck_assert_int_eq(s.pts.p[3].loss_ok, 0);
	ck_assert_int_eq(s.pts.p[4].eligible, 0);                  /* diverged: never picked */
	ck_assert_double_eq(s.pts.p[3].best_loss_same_steps, 2.43);
	ck_assert_int_eq(r->n_pareto, 2);
	ck_assert_str_eq(s.pts.p[r->pareto[0]].cfg->id, "g64");
	ck_assert_str_eq(s.pts.p[r->pareto[1]].cfg->id, "t4");
	ck_assert_str_eq(r->verdict, "The GPU wins: an epoch takes 100.0 s on the T4 against 60.0 min on the CPU (36x "
				     "faster) and costs $0.0167 against $0.200 (12x cheaper).");
	unload(&s);
}
END_TEST

/* Costs 0.01% apart are a tie (the shorter epoch wins) and never "1x cheaper"; 2% apart are not. */
START_TEST(test_cost_near_tie)
{
	struct rp_record r[2];
	struct set s;
	fx_record(&r[0], "cpu"); /* 60 min at 4 vCPU x $0.05: $0.200 */
	gpu(&r[1], "h100", H100, "fp32", 16, 3200, 0.2 * 1.0001 / 4.0 * 3600, 2.6); /* $4/h */
	load(&s, r, 2, NULL);
	ck_assert_str_eq(s.pts.p[s.reco.best].cfg->id, "h100");
	ck_assert_str_eq(s.pts.p[s.reco.cheapest_any].cfg->id, "h100");
	ck_assert_str_eq(s.reco.verdict, "The GPU wins: an epoch takes 3.0 min on the H100 against 60.0 min on the CPU "
					 "(20x faster) and costs about the same ($0.200 against $0.200).");
	ck_assert_ptr_null(strstr(s.reco.verdict, " 1x "));
	unload(&s);
	fx_record(&r[0], "cpu");
	gpu(&r[1], "h100", H100, "fp32", 16, 3200, 0.2 * 1.02 / 4.0 * 3600, 2.6);
	load(&s, r, 2, NULL);
	ck_assert_str_eq(s.pts.p[s.reco.best].cfg->id, "cpu");
	ck_assert_ptr_nonnull(strstr(s.reco.verdict, "but the CPU is 1.02x cheaper ($0.200 against $0.204 per epoch)"));
	unload(&s);
}
END_TEST

START_TEST(test_loss_tolerance_boundary)
{
	struct rp_record r[3];
	struct set s;
	fx_record(&r[0], "best");
	r[0].eval_loss = 2.0;
	fx_record(&r[1], "edge");
	r[1].eval_loss = 2.1; /* exactly 5% above: kept */
	r[1].epoch_s = 1800;
	fx_record(&r[2], "over");
	r[2].eval_loss = 2.1001; /* just beyond: excluded though cheapest */
	r[2].epoch_s = 900;
	load(&s, r, 3, NULL);
	ck_assert_int_eq(s.pts.p[1].loss_ok, 1);
	ck_assert_int_eq(s.pts.p[2].loss_ok, 0);
	ck_assert_str_eq(s.pts.p[s.reco.best].cfg->id, "edge");
	unload(&s);
}
END_TEST

START_TEST(test_loss_compared_at_same_steps)
{
	struct rp_record r[2];
	struct set s;
	fx_record(&r[0], "long");
	r[0].steps = 1000, r[0].eval_loss = 1.5;
	fx_record(&r[1], "short"); /* far above 1.5, but the best of its own step count */
	r[1].steps = 100, r[1].eval_loss = 2.5, r[1].epoch_s = 100;
	load(&s, r, 2, NULL);
	ck_assert_int_eq(s.pts.p[1].loss_ok, 1);
	ck_assert_str_eq(s.pts.p[s.reco.best].cfg->id, "short");
	unload(&s);
}
END_TEST

/* The last minibatch's loss is noise: a faster, cheaper point whose eval loss is better is not excluded
 * for a final loss 7.6% above the best. */
START_TEST(test_loss_compares_eval_loss)
{
	struct rp_record r[2];
	struct set s;
	fx_record(&r[0], "slow");
	r[0].final_loss = 2.5, r[0].eval_loss = 2.6;
	fx_record(&r[1], "fast");
	r[1].final_loss = 2.69, r[1].eval_loss = 2.55, r[1].epoch_s = 1800;
	load(&s, r, 2, NULL);
	ck_assert_int_eq(s.pts.p[1].loss_kind, RP_LOSS_EVAL);
	ck_assert_double_eq(s.pts.p[1].rule_loss, 2.55);
	ck_assert_double_eq(s.pts.p[0].best_loss_same_steps, 2.55);
	ck_assert_int_eq(s.pts.p[0].loss_ok, 1); /* 2.6 is 2% above 2.55 */
	ck_assert_int_eq(s.pts.p[1].loss_ok, 1);
	ck_assert_str_eq(s.pts.p[s.reco.best].cfg->id, "fast");
	ck_assert_ptr_nonnull(strstr(s.reco.rule, "comparing the eval loss where every such point has one, else the mean "
						  "of the last quarter of the training-loss curve"));
	unload(&s);
}
END_TEST

static void curve(struct rp_record *r, const double *loss, int n)
{
	r->n_loss_curve = 0;
	for (int i = 0; i < n; i++)
		rp_record_add_loss(r, 10 * i, loss[i]);
	r->final_loss = loss[n - 1];
}

/* Without an eval loss on every point of the group, the smoothed tail of the training loss decides. */
START_TEST(test_loss_falls_back_to_curve_tail)
{
	static const double spiky[] = { 5.5, 4, 3, 2.6, 2.4, 2.3, 2.2, 2.7 }; /* tail (2.2 + 2.7) / 2 = 2.45 */
	static const double flat[] = { 5.5, 4, 3, 2.6, 2.5, 2.5, 2.5, 2.5 };
	struct rp_record r[2];
	struct set s;
	fx_record(&r[0], "flat");
	curve(&r[0], flat, 8);
	fx_record(&r[1], "spiky"); /* final 2.7 is 8% above 2.5; no eval loss */
	curve(&r[1], spiky, 8);
	r[1].eval_loss = NAN, r[1].epoch_s = 1800;
	ck_assert_double_eq_tol(rp_tail_loss(&r[1]), 2.45, 1e-12);
	load(&s, r, 2, NULL);
	ck_assert_int_eq(s.pts.p[0].loss_kind, RP_LOSS_TAIL);
	ck_assert_double_eq_tol(s.pts.p[1].rule_loss, 2.45, 1e-12);
	ck_assert_int_eq(s.pts.p[0].loss_ok, 1); /* 2.5 is 2% above 2.45 */
	ck_assert_int_eq(s.pts.p[1].loss_ok, 1);
	ck_assert_str_eq(s.pts.p[s.reco.best].cfg->id, "spiky");
	ck_assert_str_eq(rp_loss_kind_name(s.pts.p[1].loss_kind), "training loss (mean of the last quarter)");
	unload(&s);

	/* the quarter rounds up and holds at least one sample; a non-finite loss in it makes the tail unknown */
	struct rp_record t;
	fx_record(&t, "t");
	curve(&t, (const double[]){ 3.0 }, 1);
	ck_assert_double_eq(rp_tail_loss(&t), 3.0);
	curve(&t, (const double[]){ 9, 9, 9, 2.0, 4.0 }, 5);
	ck_assert_double_eq(rp_tail_loss(&t), 3.0);
	curve(&t, (const double[]){ 9, 9, 2.0, NAN }, 4);
	ck_assert(isnan(rp_tail_loss(&t)));
	t.n_loss_curve = 0;
	ck_assert(isnan(rp_tail_loss(&t)));
	rp_record_release(&t);
}
END_TEST

START_TEST(test_ties)
{
	struct rp_record r[4];
	struct set s;
	for (int i = 0; i < 4; i++)
		fx_record(&r[i], (const char *[]){ "a", "b", "c", "d" }[i]);
	r[2].eval_loss = 2.5; /* same cost and time: the lower loss wins */
	r[3].eval_loss = 2.5; /* ... and of equals, the earlier line */
	load(&s, r, 4, NULL);
	ck_assert_str_eq(s.pts.p[s.reco.best].cfg->id, "c");
	ck_assert_int_eq(s.reco.n_pareto, 4); /* identical on both axes: none dominates another */
	unload(&s);
}
END_TEST

START_TEST(test_all_failed_and_one_point)
{
	struct rp_record r[2];
	struct set s;
	fx_record(&r[0], "a");
	strcpy(r[0].status, "oom");
	fx_record(&r[1], "b");
	strcpy(r[1].status, "failed");
	load(&s, r, 2, NULL);
	ck_assert_int_eq(s.reco.best, -1);
	ck_assert_int_eq(s.reco.n_pareto, 0);
	ck_assert_str_eq(s.reco.why_none, "no point finished ok");
	ck_assert_str_eq(s.reco.verdict, "No point qualifies, so there is no verdict.");
	unload(&s);

	fx_record(&r[0], "only");
	load(&s, r, 1, NULL);
	ck_assert_int_eq(s.reco.best, 0);
	ck_assert_int_eq(s.reco.fastest, 0);
	ck_assert_int_eq(s.reco.n_pareto, 1);
	ck_assert_str_eq(s.reco.verdict, "Only CPU points qualify, so there is nothing to compare them with.");
	unload(&s);

	fx_record(&r[0], "noloss"); /* ok, but nothing to check the loss rule against */
	r[0].final_loss = r[0].eval_loss = NAN;
	r[0].n_loss_curve = 0;
	load(&s, r, 1, NULL);
	ck_assert_int_eq(s.reco.best, -1);
	ck_assert_str_eq(s.reco.why_none, "no ok point has a loss, a time per epoch and a price");
	unload(&s);
}
END_TEST

START_TEST(test_split_verdict)
{
	struct rp_record r[2];
	struct set s;
	fx_record(&r[0], "cpu");
	r[0].epoch_s = 600; /* $0.0333 */
	gpu(&r[1], "gpu", H100, "fp32", 16, 4000, 60, 2.5); /* 10x faster, $0.0667: dearer */
	load(&s, r, 2, NULL);
	ck_assert_str_eq(s.reco.verdict, "The GPU is 10x faster (60.0 s against 10.0 min per epoch) but the CPU is 2x "
					 "cheaper ($0.0333 against $0.0667 per epoch): the GPU when time matters, the "
					 "CPU when cost does.");
	ck_assert_str_eq(s.pts.p[s.reco.best].cfg->id, "cpu");
	unload(&s);
}
END_TEST

START_TEST(test_extrapolated_marked)
{
	struct rp_record r;
	struct set s;
	char t[48];
	fx_record(&r, "x");
	r.epoch_s_extrapolated = 1;
	load(&s, &r, 1, NULL);
	ck_assert_str_eq(rp_point_epoch_str(&s.pts.p[0], t, sizeof t), "60.0 min*");
	ck_assert_str_eq(rp_point_cost_str(&s.pts.p[0], t, sizeof t), "$0.200*");
	unload(&s);
}
END_TEST

/* costs: 3 significant figures under $1, decided after rounding, so a cost just under a decade
 * does not gain a digit */
START_TEST(test_usd_format)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0.8, "$0.800" },	   { 0.0269, "$0.0269" },   { 0.9996, "$1.00" },	   { 0.09996, "$0.100" },
		{ 0.0099996, "$0.0100" }, { 0.0123456, "$0.0123" }, { 0.000251, "$0.000251" }, { 1.234, "$1.23" },
		{ 99.996, "$100" },	   { 99.994, "$99.99" },    { 1234.4, "$1234" },	   { 0, "$0" },
		{ 1e-30, "$1.00e-30" },   { NAN, "n/a" },	 { 1e31, "$1.00e+31" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char out[32];
		rp_fmt_usd(out, sizeof out, cases[i].v);
		ck_assert_msg(!strcmp(out, cases[i].want), "%.9g: '%s', expected '%s'", cases[i].v, out, cases[i].want);
	}
	/* step times: 3 significant figures, zeros kept (44.4 / 55.1, never 44.4 / 55.06) */
	static const struct {
		double v;
		const char *want;
	} sig[] = { { 44.4, "44.4" }, { 55.06, "55.1" }, { 6, "6.00" }, { 100, "100" }, { 9.996, "10.0" },
		    { 1234.4, "1234" }, { 0.01234, "0.0123" }, { 0, "0" }, { NAN, "n/a" }, { 1e40, "1.00e+40" },
		    { 1e-30, "1.00e-30" } };
	for (size_t i = 0; i < sizeof sig / sizeof *sig; i++) {
		char out[32];
		rp_fmt_sig3(out, sizeof out, sig[i].v);
		ck_assert_msg(!strcmp(out, sig[i].want), "%.9g: '%s', expected '%s'", sig[i].v, out, sig[i].want);
	}
}
END_TEST

START_TEST(test_tier_fit)
{
	struct rp_record r[6];
	struct set s;
	struct rp_tier_fit *f;
	int n;
	int batch[] = { 8, 16, 32 };
	double noisy[] = { 140e6, 180e6, 270e6 };
	for (int i = 0; i < 3; i++) {
		fx_record(&r[i], (const char *[]){ "a", "b", "c" }[i]);
		r[i].batch = batch[i];
		r[i].peak_device_bytes = 1e8 + 5e6 * batch[i]; /* exactly linear */
		gpu(&r[3 + i], (const char *[]){ "d", "e", "f" }[i], H100, "bf16", batch[i], 1000, 100, 2.5);
		r[3 + i].peak_device_bytes = noisy[i];
	}
	load(&s, r, 6, NULL);
	ck_assert_int_eq(rp_tiers_fit(&s.pts, &f, &n), KN_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(f[0].fitted, 1);
	ck_assert_int_eq(f[0].n_points, 3);
	ck_assert_int_eq(f[0].n_batches, 3);
	ck_assert_double_eq_tol(f[0].a_bytes, 1e8, 1e-3);
	ck_assert_double_eq_tol(f[0].b_bytes_per_sample, 5e6, 1e-6);
	ck_assert_double_eq_tol(f[0].max_err_frac, 0, 1e-12);
	/* floor((tier GiB x 2^30 - 1e8) / 5e6) */
	ck_assert_int_eq(f[0].max_batch[0], 1697);
	ck_assert_int_eq(f[0].max_batch[1], 3415);
	ck_assert_int_eq(f[0].max_batch[4], 17159);
	/* least squares through (8,140) (16,180) (32,270) MB: b = 1626.67/298.67, a = 95; worst at batch 16 */
	ck_assert_double_eq_tol(f[1].b_bytes_per_sample, 1626.6666666667 / 298.6666666667 * 1e6, 1);
	ck_assert_double_eq_tol(f[1].a_bytes, 95e6, 1);
	ck_assert_double_eq_tol(f[1].max_err_frac, (182142857.14 - 180e6) / 180e6, 1e-9);
	free(f);
	unload(&s);

	fx_record(&r[0], "single");
	load(&s, r, 1, NULL);
	ck_assert_int_eq(rp_tiers_fit(&s.pts, &f, &n), KN_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(f[0].fitted, 0);
	ck_assert_int_eq(f[0].max_batch[0], -1);
	ck_assert(isnan(f[0].max_err_frac));
	free(f);
	unload(&s);

	double gib = 1073741824.0;
	ck_assert_int_eq(rp_tier_for(7 * gib, RP_TIER_HEADROOM), 0);   /* 7.7 GiB: the 8 GB tier */
	ck_assert_int_eq(rp_tier_for(7.3 * gib, RP_TIER_HEADROOM), 1); /* 8.03 GiB: 16 GB */
	ck_assert_int_eq(rp_tier_for(75 * gib, RP_TIER_HEADROOM), -1); /* 82.5 GiB: none */
	ck_assert_int_eq(rp_tier_for(NAN, RP_TIER_HEADROOM), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reports_decide");
	TCase *cost = tcase_create("cost"), *rule = tcase_create("recommendation"), *tiers = tcase_create("tiers");
	tcase_add_test(cost, test_default_prices);
	tcase_add_test(cost, test_price_rules);
	tcase_add_test(cost, test_price_rule_order);
	tcase_add_test(cost, test_unknown_price_device);
	tcase_add_test(cost, test_costs);
	tcase_add_test(rule, test_repeats_are_medians);
	tcase_add_test(rule, test_cost_near_tie);
	tcase_add_test(rule, test_many_repeats);
	tcase_add_test(rule, test_labels);
	tcase_add_test(rule, test_recommendation_rule);
	tcase_add_test(rule, test_loss_tolerance_boundary);
	tcase_add_test(rule, test_loss_compared_at_same_steps);
	tcase_add_test(rule, test_loss_compares_eval_loss);
	tcase_add_test(rule, test_loss_falls_back_to_curve_tail);
	tcase_add_test(rule, test_ties);
	tcase_add_test(rule, test_all_failed_and_one_point);
	tcase_add_test(rule, test_split_verdict);
	tcase_add_test(rule, test_extrapolated_marked);
	tcase_add_test(tiers, test_tier_fit);
	tcase_add_test(rule, test_usd_format);
	suite_add_tcase(s, cost);
	suite_add_tcase(s, rule);
	suite_add_tcase(s, tiers);
	return fx_run(s);
}
