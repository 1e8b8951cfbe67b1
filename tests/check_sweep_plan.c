/* Plan files: every bad input gives its exact message with file:line (exit 64);
 * good plans, overrides and the effective-plan copy read back equal. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/error.h"
#include "sweeps/plan.h"
#include "testutil.h"

/* lines 1-9 */
#define BASE                                                                                                   \
	"[sweep]\n"                                                                                            \
	"name = t\n"                                                                                           \
	"model = gpt\n"                                                                                        \
	"size = tiny\n"                                                                                        \
	"data = fortunes\n"                                                                                    \
	"steps = 10\n"                                                                                         \
	"devices = cpu\n"                                                                                      \
	"precisions = fp32\n"                                                                                  \
	"batch_sizes = 4\n"

static int parse(struct sw_plan *p, const char *text, char *const *set, int nset)
{
	sw_plan_init(p);
	return sw_plan_parse(p, "p.ini", text, strlen(text), set, nset);
}

struct bad_case {
	const char *text;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ BASE "[extra]\nx = 1\n", "p.ini:10: unknown section [extra] (expected [sweep] or [prices])" },
	{ BASE "[extra]\n", "p.ini:10: unknown section [extra] (expected [sweep] or [prices])" },
	{ BASE "batchsize = 4\n", "p.ini:10: unknown key 'batchsize' in [sweep]" },
	{ BASE "steps = 5\n", "p.ini:10: key 'steps' is set twice (first on line 6)" },
	{ BASE "steps_x\n", "p.ini:10: syntax error: expected '[section]' or 'key = value'" },
	{ BASE "[prices\n", "p.ini:10: syntax error: expected '[section]' or 'key = value'" },
	{ "steps = 1\n" BASE, "p.ini:1: key 'steps' is outside a section" },
	{ "", "p.ini: no [sweep] section" },
	{ "[prices]\ncpu = 1\n", "p.ini: no [sweep] section" },
	{ "[sweep]\nname = t\nsize = tiny\ndata = fortunes\nsteps = 10\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
	  "p.ini:1: [sweep] is missing 'model'" },
	{ "; c\n[sweep]\nname = t\nmodel = gpt\nsize = tiny\ndata = fortunes\nsteps = 10\nprecisions = fp32\nbatch_sizes = 4\n",
	  "p.ini:2: [sweep] is missing 'devices'" },
	{ "[sweep]\nname = t\nmodel = gpt\nsize = tiny\ndata = fortunes\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
	  "p.ini:1: [sweep] is missing 'steps' or 'epochs'" },
	{ BASE "epochs = 1\n", "p.ini:10: 'steps' and 'epochs' cannot both be set (steps on line 6)" },
	{ BASE "batch_sizes =\n", "p.ini:10: key 'batch_sizes' is set twice (first on line 9)" },
	{ "[sweep]\nname = t\nmodel = gpt\nsize = tiny\ndata = fortunes\nsteps = 10\ndevices = cpu\nprecisions = fp32\n"
	  "batch_sizes =\n",
	  "p.ini:9: 'batch_sizes' is empty" },
	{ "[sweep]\nname = t\nmodel = gpt\nsize = tiny\ndata = fortunes\nsteps = 10\ndevices = cpu\nprecisions =   \n"
	  "batch_sizes = 4\n",
	  "p.ini:8: 'precisions' is empty" },
	{ BASE "seq = 16,,32\n", "p.ini:10: 'seq' has an empty value" },
	{ BASE "seq = 16, 32,\n", "p.ini:10: 'seq' has an empty value" },
	{ BASE "seq = 16, 32, 16\n", "p.ini:10: 'seq' lists '16' twice" },
	{ BASE "seq = 16, x\n", "p.ini:10: 'seq' expects integers in [1, 1048576], got 'x'" },
	{ BASE "seq = 64, 256\n", "p.ini:10: 'seq' value 256 exceeds the context of gpt 'tiny' (128)" },
	{ BASE "workers = -1\n", "p.ini:10: 'workers' expects integers in [0, 256], got '-1'" },
	{ BASE "prefetch = 0\n", "p.ini:10: 'prefetch' expects integers in [1, 256], got '0'" },
	{ BASE "workers = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,"
	       "34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65\n",
	  "p.ini:10: 'workers' has more than 64 values" },
	{ BASE "repeats = 0\n", "p.ini:10: 'repeats' expects an integer in [1, 1000], got '0'" },
	{ BASE "warmup_steps = 2.5\n", "p.ini:10: 'warmup_steps' expects an integer in [0, 100000000], got '2.5'" },
	{ BASE "seed = 1.5\n", "p.ini:10: 'seed' expects a whole number in [0, 9007199254740992], got '1.5'" },
	{ BASE "seed = 9007199254740993\n",
	  "p.ini:10: 'seed' expects a whole number in [0, 9007199254740992], got '9007199254740993'" },
	{ BASE "seed = 1e3\n", "p.ini:10: 'seed' expects a whole number in [0, 9007199254740992], got '1e3'" },
	{ BASE "seed = 0x10\n", "p.ini:10: 'seed' expects a whole number in [0, 9007199254740992], got '0x10'" },
	{ BASE "seed = -1\n", "p.ini:10: 'seed' expects a whole number in [0, 9007199254740992], got '-1'" },
	{ BASE "epochs = 0x1p-2\n", "p.ini:10: 'epochs' expects a number in [1e-06, 1e+06], got '0x1p-2'" },
	{ BASE "repeats = 0x3\n", "p.ini:10: 'repeats' expects an integer in [1, 1000], got '0x3'" },
	{ BASE "device_mem_limit = 0x10G\n",
	  "p.ini:10: 'device_mem_limit' expects a positive byte count such as 16G, 512MiB or 1000000, got '0x10G'" },
	{ BASE "threads : 2\n", "p.ini:10: expected 'key = value', got ':' after 'threads '" },
	{ BASE "time_limit_s = 0\n", "p.ini:10: 'time_limit_s' expects a number in [0.001, 1e+07], got '0'" },
	{ BASE "lr = fast\n", "p.ini:10: 'lr' expects a number in [0, 10], got 'fast'" },
	{ BASE "device_mem_limit = 12Q\n",
	  "p.ini:10: 'device_mem_limit' expects a positive byte count such as 16G, 512MiB or 1000000, got '12Q'" },
	{ BASE "name =\n", "p.ini:10: key 'name' is set twice (first on line 2)" },
	{ "[sweep]\nname =\n", "p.ini:2: 'name' is empty" },
	{ "[sweep]\nname = a b\n", "p.ini:2: 'name' expects 1 to 63 letters, digits, '.', '_' or '-', got 'a b'" },
	{ "[sweep]\nname = t\nmodel = bert\n", "p.ini:3: 'model' expects gpt or cnn, got 'bert'" },
	{ "[sweep]\nname = t\nmodel = gpt\nsize = huge\ndata = fortunes\nsteps = 10\ndevices = cpu\nprecisions = fp32\n"
	  "batch_sizes = 4\n",
	  "p.ini:4: 'size' expects tiny, small or gpt2-124m for model 'gpt', got 'huge'" },
	{ "[sweep]\nname = t\nmodel = gpt\nsize = tiny\ndata = fortunes\nsteps = 10\ndevices = cpu, tpu\n",
	  "p.ini:7: 'devices' expects values from auto, cpu or cuda, got 'tpu'" },
	{ "[sweep]\nprecisions = fp32, fp8\n", "p.ini:2: 'precisions' expects values from fp32, tf32, fp16 or bf16, got 'fp8'" },
	{ BASE "warmup_steps = 10\n", "p.ini:10: 'warmup_steps' (10) must be below 'steps' (10)" },
	{ "[sweep]\nname = t\nmodel = cnn\nsize = resnet\ndata = fashion-mnist\nsteps = 10\ndevices = cpu\n"
	  "precisions = fp32\nbatch_sizes = 4\nseq = 32\n",
	  "p.ini:10: 'seq' does not apply to model 'cnn'" },
	{ "[sweep]\nname = t\nmodel = cnn\nsize = resnet\ndata = fashion-mnist\nsteps = 10\neval_batches = 2\n"
	  "devices = cpu\nprecisions = fp32\nbatch_sizes = 4\n",
	  "p.ini:7: 'eval_batches' does not apply to model 'cnn'" },
	{ BASE "batch_sizes_2 = 4\n  8\n", "p.ini:10: unknown key 'batch_sizes_2' in [sweep]" },
	{ "[sweep]\nseq = 16, 32\n  64\n", "p.ini:3: indented line continues key 'seq'; write each key on one line" },
	{ BASE "[prices] cpu = 1\n", "p.ini:10: syntax error: expected '[section]' or 'key = value'" },
	{ BASE "= 4\n", "p.ini:10: syntax error: expected '[section]' or 'key = value'" },
	{ BASE "steps_x\nbatchsize = 4\n", "p.ini:10: syntax error: expected '[section]' or 'key = value'" },
	{ BASE "[prices]\ncpu = cheap\n",
	  "p.ini:11: price for 'cpu' expects dollars per hour in (0, 1e+06], got 'cheap'" },
	{ BASE "[prices]\ncpu = -1\n", "p.ini:11: price for 'cpu' expects dollars per hour in (0, 1e+06], got '-1'" },
	{ BASE "[prices]\ncpu = 0\n", "p.ini:11: price for 'cpu' expects dollars per hour in (0, 1e+06], got '0'" },
	{ BASE "[prices]\ncpu = 1\ncpu = 2\n", "p.ini:12: price for 'cpu' is set twice (first on line 11)" },
	{ BASE "[ sweeps ]\n", "p.ini:10: unknown section [sweeps] (expected [sweep] or [prices])" },
	{ "[sweep]\nname = t\x00\n", "p.ini:2: contains a NUL byte" },
};

START_TEST(test_bad_input)
{
	const struct bad_case *c = &bad_cases[_i];
	struct sw_plan p;
	/* texts with a NUL byte need their real length */
	size_t len = strlen(c->text);
	if (strstr(c->msg, "NUL"))
		len += 2;
	sw_plan_init(&p);
	int rc = sw_plan_parse(&p, "p.ini", c->text, len, NULL, 0);
	ck_assert_int_eq(rc, KN_EUSAGE);
	ck_assert_int_eq(kn_exit_code(rc, 0), 64);
	ck_assert_str_eq(kn_last_error(), c->msg);
	sw_plan_release(&p);
}
END_TEST

START_TEST(test_indented_keys_and_crlf)
{
	/* keys indented under their section, Windows line ends, comments after a header */
	const char *text = "[sweep] ; the grid\r\n  name = t\r\n\tmodel = gpt\r\n  size = tiny\r\n  data = fortunes\r\n"
			   "  steps = 10\r\n  devices = cpu\r\n  precisions = fp32\r\n  batch_sizes = 4, 8 ; two\r\n"
			   "[ prices ]\r\n  cpu = 0.5\r\n";
	struct sw_plan p;
	ck_assert_msg(parse(&p, text, NULL, 0) == KN_OK, "%s", kn_last_error());
	ck_assert_str_eq(p.name, "t");
	ck_assert_str_eq(p.data, "fortunes");
	ck_assert_int_eq(sw_plan_axis(&p, SW_BATCH_SIZES)->n, 2);
	ck_assert_int_eq(sw_plan_axis(&p, SW_BATCH_SIZES)->num[1], 8);
	ck_assert_int_eq(p.nprices, 1);
	ck_assert_int_eq(p.line[SW_BATCH_SIZES], 9);
	sw_plan_release(&p);
}
END_TEST

START_TEST(test_long_line)
{
	/* long lines are read: a long comment, a 500-character data path; a longer one is named */
	char text[4096], comment[600], data[600];
	memset(comment, 'c', 400);
	comment[400] = 0;
	memset(data, 'x', 500);
	data[500] = 0;
	struct sw_plan p;
	snprintf(text, sizeof text,
		 "; %s\n[sweep]\nname = t\nmodel = gpt\nsize = tiny\ndata = %s ; %s\nsteps = 10\ndevices = cpu\n"
		 "precisions = fp32\nbatch_sizes = 4\n",
		 comment, data, comment);
	ck_assert_int_eq(parse(&p, text, NULL, 0), KN_OK);
	ck_assert_str_eq(p.data, data);
	sw_plan_release(&p);
	memset(data, 'x', 520);
	data[520] = 0;
	snprintf(text, sizeof text, "[sweep]\nname = t\ndata = %s\n", data);
	ck_assert_int_eq(parse(&p, text, NULL, 0), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), "p.ini:3: 'data' is longer than 511 characters");
	sw_plan_release(&p);
	/* a value beyond any field is refused, not cut short */
	char list[1500];
	size_t n = 0;
	for (int i = 0; n < 1300; i++)
		n += (size_t)snprintf(list + n, sizeof list - n, "%s8", i ? ",      " : "");
	snprintf(text, sizeof text, "[sweep]\nbatch_sizes = %s\n", list);
	ck_assert_int_eq(parse(&p, text, NULL, 0), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), "p.ini:2: 'batch_sizes' is longer than 1023 characters");
	sw_plan_release(&p);
}
END_TEST

struct set_case {
	const char *set;
	const char *msg;
};

static const struct set_case bad_sets[] = {
	{ "bogus=1", "--set 'bogus=1': unknown key 'bogus'" },
	{ "steps", "--set 'steps': expected key=value" },
	{ "batch_sizes=", "--set 'batch_sizes=': 'batch_sizes' is empty" },
	{ "batch_sizes=4,x", "--set 'batch_sizes=4,x': 'batch_sizes' expects integers in [1, 65536], got 'x'" },
	{ "warmup_steps=20", "--set 'warmup_steps=20': 'warmup_steps' (20) must be below 'steps' (10)" },
	{ "prices.cpu=x", "--set 'prices.cpu=x': price for 'cpu' expects dollars per hour in (0, 1e+06], got 'x'" },
	{ "sweep.size=huge", "--set 'sweep.size=huge': 'size' expects tiny, small or gpt2-124m for model 'gpt', got 'huge'" },
	/* values DIR/plan.ini could not hold: the copy would describe another sweep */
	{ "data=txt ;v2", "--set 'data=txt ;v2': the value holds ';' after white space, which starts a comment in a "
			  "plan file (and so in the copy DIR/plan.ini)" },
	{ "data=a\t;b", "--set 'data=a\t;b': the value holds ';' after white space, which starts a comment in a "
			"plan file (and so in the copy DIR/plan.ini)" },
	{ "data=nl\nseed = 5", "--set 'data=nl\\nseed = 5': the value holds a line break, which a plan file (and so "
			       "the copy DIR/plan.ini) cannot hold" },
	{ "data=a\rb", "--set 'data=a\\rb': the value holds a line break, which a plan file (and so the copy "
		       "DIR/plan.ini) cannot hold" },
	{ "prices.a:b=1", "--set 'prices.a:b=1': the [prices] key holds ':', which a plan file (and so the copy "
			  "DIR/plan.ini) cannot hold" },
	{ "prices.[gpu=1", "--set 'prices.[gpu=1': the [prices] key starts with '[', ';' or '#', which a plan file "
			   "(and so the copy DIR/plan.ini) cannot hold" },
};

START_TEST(test_bad_set)
{
	struct sw_plan p;
	char *set[1] = { (char *)bad_sets[_i].set };
	ck_assert_int_eq(parse(&p, BASE, set, 1), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), bad_sets[_i].msg);
}
END_TEST

START_TEST(test_missing_file)
{
	struct sw_plan p;
	sw_plan_init(&p);
	ck_assert_int_eq(sw_plan_load(&p, "/nonexistent/plan.ini", NULL, 0), KN_EUSAGE);
	ck_assert_str_eq(kn_last_error(), "cannot read plan '/nonexistent/plan.ini': No such file or directory");
}
END_TEST

START_TEST(test_bom_and_largest_seed)
{
	struct sw_plan p;
	/* a UTF-8 byte-order mark before the first section is skipped; 2^53 is the largest seed */
	ck_assert_int_eq(parse(&p, "\xef\xbb\xbf" BASE "seed = 9007199254740992\n", NULL, 0), KN_OK);
	ck_assert_str_eq(p.name, "t");
	ck_assert_uint_eq(p.seed, 9007199254740992ull);
	sw_plan_release(&p);
	ck_assert_int_eq(parse(&p, BASE "seed = +42\n", NULL, 0), KN_OK); /* a sign, as integers take */
	ck_assert_uint_eq(p.seed, 42);
	sw_plan_release(&p);
}
END_TEST

START_TEST(test_good_plan)
{
	struct sw_plan p;
	const char *text = "# comment\n"
			   "[sweep]\n"
			   "name = quick-1.0_x\n"
			   "model = gpt\n"
			   "size = tiny\n"
			   "data = fortunes\n"
			   "epochs = 0.5\n"
			   "devices = auto ,cpu\n"
			   "precisions = bf16, fp32 ; inline comment\n"
			   "batch_sizes = 08, 16\n"
			   "workers = 0, 2\n"
			   "device_mem_limit = 16G\n"
			   "[prices]\n"
			   "NVIDIA H100 80GB HBM3 = 2.5\n"
			   "cpu = 0.1\n";
	ck_assert_int_eq(parse(&p, text, NULL, 0), KN_OK);
	ck_assert_str_eq(p.name, "quick-1.0_x");
	ck_assert_double_eq(p.epochs, 0.5);
	ck_assert_int_eq(p.steps, 0);
	ck_assert_int_eq(p.seed, 1337);
	ck_assert_int_eq(p.repeats, 1);
	ck_assert_uint_eq(p.device_mem_limit, 16ull << 30);
	const struct sw_axis *d = sw_plan_axis(&p, SW_DEVICES), *pr = sw_plan_axis(&p, SW_PRECISIONS);
	const struct sw_axis *b = sw_plan_axis(&p, SW_BATCH_SIZES), *w = sw_plan_axis(&p, SW_WORKERS);
	ck_assert_int_eq(d->n, 2);
	ck_assert_str_eq(d->v[0], "auto");
	ck_assert_str_eq(d->v[1], "cpu");
	ck_assert_int_eq(pr->n, 2);
	ck_assert_str_eq(pr->v[0], "bf16");
	ck_assert_int_eq(b->n, 2);
	ck_assert_str_eq(b->v[0], "8");
	ck_assert_int_eq(b->num[1], 16);
	ck_assert_int_eq(w->num[0], 0);
	ck_assert_int_eq(sw_plan_axis(&p, SW_SEQ)->n, 0);
	ck_assert_int_eq(p.line[SW_NAME], 3);
	ck_assert_int_eq(p.line[SW_SEQ], 0);
	ck_assert_int_eq(p.sweep_line, 2);
	ck_assert_int_eq(p.nprices, 2);
	ck_assert_double_eq(sw_plan_price(&p, "cuda", "NVIDIA H100 80GB HBM3"), 2.5);
	ck_assert_double_eq(sw_plan_price(&p, "cpu", "AMD EPYC (2 threads)"), 0.1);
	ck_assert(sw_plan_price(&p, "cuda", "other") != sw_plan_price(&p, "cuda", "other")); /* NAN */
	sw_plan_release(&p);
}
END_TEST

/* The sweep prices a device as the report does: a word of its device_name (case-insensitively,
 * the longest) before its kind, whatever the order of [prices]. */
START_TEST(test_plan_price_order)
{
	static const char *const prices[] = { "[prices]\ncuda = 2.5\nH100 = 4\ncpu = 0.1\nthreads = 0.3\n",
					      "[prices]\nthreads = 0.3\nh100 = 4\ncuda = 2.5\ncpu = 0.1\n" };
	for (int i = 0; i < 2; i++) {
		struct sw_plan p;
		char text[1024];
		snprintf(text, sizeof text, "%s%s", BASE, prices[i]);
		ck_assert_int_eq(parse(&p, text, NULL, 0), KN_OK);
		ck_assert_double_eq(sw_plan_price(&p, "cuda", "NVIDIA H100 80GB HBM3"), 4);
		ck_assert_double_eq(sw_plan_price(&p, "cuda", "NVIDIA A100"), 2.5);
		ck_assert_double_eq(sw_plan_price(&p, "cpu", "AMD EPYC (2 threads)"), 0.3);
		ck_assert_double_eq(sw_plan_price(&p, "cpu", ""), 0.1); /* a predicted record: no name yet */
		sw_plan_release(&p);
	}
}
END_TEST

START_TEST(test_overrides)
{
	struct sw_plan p;
	char *set[] = { "steps=20", "sweep.repeats=3", "batch_sizes = 2, 4", "prices.cpu=0.5", "epochs=2", "seed=7" };
	ck_assert_int_eq(parse(&p, BASE "[prices]\ncpu = 1\n", set, 6), KN_OK);
	/* epochs came after steps: it wins and steps is unset */
	ck_assert_int_eq(p.line[SW_STEPS], 0);
	ck_assert_double_eq(p.epochs, 2);
	ck_assert_int_eq(p.line[SW_EPOCHS], -5);
	ck_assert_int_eq(p.repeats, 3);
	ck_assert_int_eq(sw_plan_axis(&p, SW_BATCH_SIZES)->n, 2);
	ck_assert_int_eq(p.nprices, 1);
	ck_assert_double_eq(p.prices[0].per_hour, 0.5);
	ck_assert_int_eq(p.seed, 7);
	char v[64];
	sw_plan_value(&p, SW_SEED, v, sizeof v);
	ck_assert_str_eq(v, "7");
	sw_plan_value(&p, SW_EPOCHS, v, sizeof v);
	ck_assert_str_eq(v, "2");
}
END_TEST

/* The copy in DIR/plan.ini reads back to the same plan. */
START_TEST(test_write_round_trip)
{
	struct sw_plan a, b;
	char *set[] = { "lr=3e-4", "device_mem_limit=1M" };
	const char *text = BASE "seq = 32, 64\nworkers = 1\ntime_limit_s = 2.5\n[prices]\ncpu = 0.125\n";
	ck_assert_int_eq(parse(&a, text, set, 2), KN_OK);
	a.text = strdup(text); /* as sw_plan_load() keeps it */
	a.text_len = strlen(text);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(sw_plan_write(&a, f, "plans/p.ini", set, 2), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(out, "from 'plans/p.ini' with --set 'lr=3e-4' --set 'device_mem_limit=1M'"));
	ck_assert_ptr_nonnull(strstr(out, "\nlr = 0.0003\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nseq = 32, 64\n"));
	sw_plan_init(&b);
	ck_assert_int_eq(sw_plan_parse(&b, "copy.ini", out, len, NULL, 0), KN_OK);
	for (int k = 0; k < SW_NKEYS; k++) {
		char va[600], vb[600];
		ck_assert_int_eq(sw_plan_is_set(&a, k), sw_plan_is_set(&b, k));
		sw_plan_value(&a, k, va, sizeof va);
		sw_plan_value(&b, k, vb, sizeof vb);
		ck_assert_str_eq(va, vb);
		if (k >= SW_FIRST_AXIS) {
			ck_assert_int_eq(sw_plan_axis(&a, k)->n, sw_plan_axis(&b, k)->n);
			for (int i = 0; i < sw_plan_axis(&a, k)->n; i++)
				ck_assert_str_eq(sw_plan_axis(&a, k)->v[i], sw_plan_axis(&b, k)->v[i]);
		}
	}
	ck_assert_int_eq(b.nprices, 1);
	ck_assert_double_eq(b.prices[0].per_hour, 0.125);
	/* a copy of the copy passes the original on once, unchanged */
	b.text = out;
	b.text_len = len;
	char *out2 = NULL;
	size_t len2 = 0;
	f = open_memstream(&out2, &len2);
	ck_assert_int_eq(sw_plan_write(&b, f, "runs/x/plan.ini", NULL, 0), 0);
	fclose(f);
	const char *orig = strstr(out, "\n; original 'plans/p.ini':\n;| [sweep]\n");
	ck_assert_ptr_nonnull(orig);
	ck_assert_str_eq(strstr(out2, "\n; original '"), orig);
	ck_assert_ptr_null(strstr(strstr(out2, "\n; original '") + 2, "; original '"));
	free(out2);
	free(out);
	sw_plan_release(&a);
}
END_TEST

/* The copy of `text` (with `set` applied) that sw_plan_write() makes, as if read from `from`. */
static char *copy_of(const char *text, const char *from, char *const *set, int nset, size_t *len)
{
	struct sw_plan p;
	char *out = NULL;
	ck_assert_int_eq(parse(&p, text, set, nset), KN_OK);
	p.text = strdup(text);
	p.text_len = strlen(text);
	FILE *f = open_memstream(&out, len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(sw_plan_write(&p, f, from, set, nset), 0);
	fclose(f);
	sw_plan_release(&p);
	return out;
}

static int count(const char *text, const char *what)
{
	int n = 0;
	for (const char *s = text; (s = strstr(s, what)); s++)
		n++;
	return n;
}

/* A plan's own comment that reads like the copy's "; original '...'" line stays a comment: the
 * copy, and a copy of that, read back to the plan (it once passed the rest of the plan on raw). */
START_TEST(test_copy_of_commented_plan)
{
	struct sw_plan b;
	size_t len, len2;
	const char *text = BASE "; original 'baseline' plan used batch 8\nseed = 5\n";
	char *copy = copy_of(text, "orig.ini", NULL, 0, &len);
	ck_assert_int_eq(count(copy, "\n; original '"), 1);
	ck_assert_ptr_nonnull(strstr(copy, "\n; original 'orig.ini':\n;| [sweep]\n"));
	ck_assert_ptr_nonnull(strstr(copy, "\n;| ; original 'baseline' plan used batch 8\n;| seed = 5\n"));
	ck_assert_int_eq(parse(&b, copy, NULL, 0), KN_OK);
	ck_assert_int_eq(b.seed, 5);
	char *copy2 = copy_of(copy, "r/plan.ini", NULL, 0, &len2);
	ck_assert_int_eq(parse(&b, copy2, NULL, 0), KN_OK);
	ck_assert_str_eq(strstr(copy2, "\n; original '"), strstr(copy, "\n; original '"));
	free(copy2);
	/* a copy edited by hand: a line like the original block's header among the settings is not it */
	char edited[4096];
	const char *keys = strstr(copy, "[sweep]\n") + 8;
	snprintf(edited, sizeof edited, "%.*s; original 'x':\n%s", (int)(keys - copy), copy, keys);
	copy2 = copy_of(edited, "r/plan.ini", NULL, 0, &len2);
	ck_assert_int_eq(parse(&b, copy2, NULL, 0), KN_OK);
	ck_assert_str_eq(strstr(copy2, "\n; original 'orig.ini'"), strstr(copy, "\n; original '"));
	free(copy2);
	/* a plan that only looks like a copy at its end is an original: all of it becomes comments */
	char tail[4096];
	snprintf(tail, sizeof tail, "%s; original 'x':\n;| name = other\n", text);
	copy2 = copy_of(tail, "t.ini", NULL, 0, &len2);
	ck_assert_int_eq(parse(&b, copy2, NULL, 0), KN_OK);
	ck_assert_ptr_nonnull(strstr(copy2, "\n; original 't.ini':\n;| [sweep]\n"));
	ck_assert_ptr_nonnull(strstr(copy2, "\n;| ; original 'x':\n;| ;| name = other\n"));
	free(copy2);
	free(copy);
}
END_TEST

/* A copy as earlier versions wrote it (the same form) reads back, and passes its original on. */
START_TEST(test_old_copy)
{
	struct sw_plan b;
	size_t len;
	const char *old = "; plan 't' as run by amptune sweep, from 'p.ini' with --set 'steps=20'\n"
			  "; (the effective settings; the original file follows as comments)\n"
			  "[sweep]\nname = t\nmodel = gpt\nsize = tiny\ndata = fortunes\nsteps = 20\n"
			  "devices = cpu\nprecisions = fp32\nbatch_sizes = 4\n\n[prices]\ncpu = 0.5\n"
			  "\n; original 'p.ini':\n;| [sweep]\n;| name = t\n;| steps = 10\n;| \n;| [prices]\n;| cpu = 0.5\n";
	ck_assert_int_eq(parse(&b, old, NULL, 0), KN_OK);
	ck_assert_int_eq(b.steps, 20);
	ck_assert_double_eq(b.prices[0].per_hour, 0.5);
	char *copy = copy_of(old, "r/plan.ini", NULL, 0, &len);
	ck_assert_str_eq(strstr(copy, "\n; original '"), strstr(old, "\n; original '"));
	ck_assert_int_eq(parse(&b, copy, NULL, 0), KN_OK);
	free(copy);
}
END_TEST

/* Values that need care in the copy: one starting with ';', a file name with a line break. */
START_TEST(test_copy_odd_values)
{
	struct sw_plan b;
	size_t len;
	char *set[] = { "data=;dir", "prices.NVIDIA H100 80GB HBM3=2.5" };
	char *copy = copy_of(BASE, "plans/a\nname = x.ini", set, 2, &len);
	ck_assert_ptr_nonnull(strstr(copy, "\ndata =;dir\n"));
	ck_assert_ptr_nonnull(strstr(copy, "from 'plans/a\\nname = x.ini' with --set 'data=;dir'"));
	ck_assert_ptr_nonnull(strstr(copy, "\n; original 'plans/a\\nname = x.ini':\n"));
	ck_assert_int_eq(parse(&b, copy, NULL, 0), KN_OK);
	ck_assert_str_eq(b.data, ";dir");
	ck_assert_str_eq(b.name, "t");
	ck_assert_int_eq(b.nprices, 1);
	ck_assert_str_eq(b.prices[0].device, "NVIDIA H100 80GB HBM3");
	free(copy);
}
END_TEST

START_TEST(test_load_file)
{
	char path[600];
	snprintf(path, sizeof path, "%s/plan.ini", tu_tmpdir());
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(BASE "bogus = 1\n", f);
	fclose(f);
	struct sw_plan p;
	sw_plan_init(&p);
	ck_assert_int_eq(sw_plan_load(&p, path, NULL, 0), KN_EUSAGE);
	char want[700];
	snprintf(want, sizeof want, "%s:10: unknown key 'bogus' in [sweep]", path);
	ck_assert_str_eq(kn_last_error(), want);
	ck_assert_uint_eq(p.text_len, strlen(BASE "bogus = 1\n"));
	sw_plan_release(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sweep_plan");
	TCase *tc = tcase_create("plan");
	tcase_add_loop_test(tc, test_bad_input, 0, sizeof bad_cases / sizeof *bad_cases);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_indented_keys_and_crlf);
	tcase_add_loop_test(tc, test_bad_set, 0, sizeof bad_sets / sizeof *bad_sets);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_good_plan);
	tcase_add_test(tc, test_plan_price_order);
	tcase_add_test(tc, test_bom_and_largest_seed);
	tcase_add_test(tc, test_overrides);
	tcase_add_test(tc, test_write_round_trip);
	tcase_add_test(tc, test_copy_of_commented_plan);
	tcase_add_test(tc, test_copy_odd_values);
	tcase_add_test(tc, test_old_copy);
	tcase_add_test(tc, test_load_file);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
