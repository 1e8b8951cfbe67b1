/* `amptune report`, `compare` and `diagnose`: the CLI over reports/. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernels/error.h"
#include "reports/compare.h"
#include "reports/diagnose.h"
#include "reports/report.h"
#include "reports/runs.h"
#include "trainer/commands.h"
#include "trainer/config.h"

void cmd_report_usage(FILE *out)
{
	fprintf(out,
		"usage: amptune report DIR [--price DEVICE=USD]... [--loss-tol FRAC] [--quiet]\n"
		"\n"
		"Turns a sweep directory into a decision. Reads DIR/results.jsonl (and DIR/plan.ini's\n"
		"[sweep] name and [prices]) and writes DIR/report.md, DIR/report.html (self-contained:\n"
		"inline SVG charts and CSS, nothing fetched) and DIR/results.csv (one row per record),\n"
		"each through a temporary file and a rename. Prints the recommendation.\n"
		"\n"
		"Recommendation: the lowest cost per epoch among points ok in every run whose loss is\n"
		"within FRAC (default 0.05, relative) of the best loss reached at the same step count\n"
		"(the same epochs, for runs given epochs): the eval loss when every such point has one,\n"
		"else the mean of the training loss's last quarter; beside it the fastest such point,\n"
		"the time/cost Pareto front and a CPU-vs-GPU verdict.\n"
		"Epoch times extrapolated from a run shorter than an epoch are marked *.\n"
		"\n"
		"  --price DEVICE=USD  dollars per hour for a device: 'cpu', 'cuda', or a word of the GPU's\n"
		"                      name ('H100'); repeatable (the later price of one device wins); beats\n"
		"                      the plan's [prices], the records' own price_per_hour and the defaults\n"
		"  --loss-tol FRAC     loss tolerance of the recommendation rule (default 0.05)\n"
		"  --quiet             print nothing on success\n"
		"\n"
		"Default prices (when neither --price, [prices] nor the records price the device): CPU $%.2f per\n"
		"vCPU-hour for the threads the run used; GPUs by name: entry (T4, A10, L4, ...) $0.60/h,\n"
		"mid (V100, A100, L40S, ...) $2.00/h, top (H100, H200, B200, ...) $4.00/h; an unknown GPU\n"
		"is priced as mid and says so. See docs/reports.md for the assumptions.\n"
		"\n"
		"exit codes: 0 ok, 1 cannot write, 64 usage (bad option, no such DIR, bad price),\n"
		"65 bad results file (the file and line are named).\n",
		RP_CPU_USD_PER_VCPU_HOUR);
}

void cmd_compare_usage(FILE *out)
{
	fprintf(out,
		"usage: amptune compare A B [--html FILE] [--fail-if-slower PCT]\n"
		"\n"
		"Compares two sweeps (directories or results files) point by point: points match by\n"
		"configuration (model, size, dataset, precision, batch, seq, workers, prefetch, seed,\n"
		"steps), ignoring the device and host. For each: samples/s of both and B/A, a verdict,\n"
		"the change in peak memory and in final loss; then the geometric-mean speedup and the\n"
		"points present on one side only. With repeats, a difference inside the measured\n"
		"spread (the samples/s ranges overlap) is \"no change\". Markdown on stdout.\n"
		"\n"
		"  --html FILE          also write the comparison as a self-contained HTML page\n"
		"  --fail-if-slower PCT exit 1 when a matched point's samples/s dropped by more than PCT\n"
		"                       percent (a \"no change\" inside the spread does not count), or a\n"
		"                       point ok in A is not ok in B or missing from B\n"
		"\n"
		"exit codes: 0 ok, 1 slower than allowed (or cannot write FILE), 64 usage, 65 bad results.\n");
}

void cmd_diagnose_usage(FILE *out)
{
	fprintf(out,
		"usage: amptune diagnose DIR|FILE|-\n"
		"\n"
		"Was each point starved of data, why, and what fixes it. Reads a sweep directory, a\n"
		"results file, or one 'amptune train --json' record (a file, or '-' for stdin). Per ok\n"
		"point: the data-wait fraction and its verdict (>= 20%% highly input-bound, 5-20%%\n"
		"moderately, < 5%% not), demand (samples/s the compute alone could take) against supply\n"
		"(samples/s the loader makes), the worker count that would meet demand with 20%%\n"
		"headroom from the per-worker rate, whether loader workers and compute threads\n"
		"oversubscribe the CPUs, prefetch advice from the spread of batch latency, for CPU points\n"
		"whether the BLAS ran kernels below the best the CPU runs (OPENBLAS_CORETYPE), and a short\n"
		"explanation. Markdown on stdout.\n"
		"\n"
		"exit codes: 0 ok, 64 usage, 65 bad results file.\n");
}

static int data_error(const char *cmd, int rc)
{
	fprintf(stderr, "amptune %s: %s\n", cmd, kn_last_error());
	if (rc == KN_EUSAGE)
		fprintf(stderr, "see 'amptune help %s'\n", cmd);
	return kn_exit_code(rc, 0);
}

static void warn_torn(const char *cmd, const struct rp_results *res)
{
	if (res->torn_line)
		fprintf(stderr, "amptune %s: warning: %s:%ld: torn last line (a write cut short) ignored\n", cmd, res->path,
			res->torn_line);
}

static int print_buf(const struct rp_buf *b)
{
	if (b->oom) {
		fprintf(stderr, "amptune: out of memory\n");
		return EXIT_RUNTIME;
	}
	fputs(rp_buf_str(b), stdout);
	return 0;
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = { { "price", required_argument, 0, 'p' },
					      { "loss-tol", required_argument, 0, 'l' },
					      { "quiet", no_argument, 0, 'q' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	struct rp_prices *flags = malloc(sizeof *flags);
	double tol = RP_LOSS_TOL_DEFAULT;
	int opt, quiet = 0, rc;
	if (!flags) {
		fprintf(stderr, "amptune report: out of memory\n");
		return EXIT_RUNTIME;
	}
	rp_prices_init(flags);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		rc = KN_OK;
		switch (opt) {
		case 'p': rc = rp_prices_add_flag(flags, optarg); break;
		case 'l': rc = tr_parse_double("--loss-tol", optarg, 0, 10, &tol); break;
		case 'q': quiet = 1; break;
		case 'h': free(flags); cmd_report_usage(stdout); return 0;
		case ':': rc = kn_error(KN_EUSAGE, "option '%s' needs a value", argv[optind - 1]); break;
		default: rc = kn_error(KN_EUSAGE, "unknown option '%s'", argv[optind - 1]); break;
		}
		if (rc) {
			free(flags);
			return tr_usage_error("report", kn_last_error());
		}
	}
	if (argc - optind != 1) {
		free(flags);
		return tr_usage_error("report", argc - optind ? "expects one sweep directory" : "missing the sweep directory");
	}
	const char *dir = tr_trim_dir(argv[optind]);
	struct stat st;
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		free(flags);
		char msg[600];
		snprintf(msg, sizeof msg, "expects a sweep directory (it writes the report there); '%.500s' is a file", dir);
		return tr_usage_error("report", msg);
	}
	struct rp_results *res = malloc(sizeof *res);
	struct rp_report rep;
	memset(&rep, 0, sizeof rep);
	if (!res) {
		free(flags);
		fprintf(stderr, "amptune report: out of memory\n");
		return EXIT_RUNTIME;
	}
	if ((rc = rp_results_load(res, dir))) {
		free(flags);
		free(res);
		return data_error("report", rc);
	}
	warn_torn("report", res);
	rc = rp_report_build(&rep, res, flags, tol);
	if (rc == KN_OK)
		rc = rp_report_write(&rep, dir);
	int code = 0;
	if (rc) {
		code = data_error("report", rc);
	} else if (!quiet) {
		struct rp_buf b;
		rp_buf_init(&b);
		rp_report_summary(&rep, &b);
		rp_buf_printf(&b, "wrote %s/report.md, %s/report.html and %s/results.csv\n", dir, dir, dir);
		code = print_buf(&b);
		rp_buf_release(&b);
	}
	rp_report_release(&rep);
	rp_results_release(res);
	free(res);
	free(flags);
	return code;
}

struct side {
	struct rp_results res;
	struct rp_points pts;
};

static int load_side(const char *cmd, struct side *s, const char *path)
{
	int rc = rp_results_load(&s->res, path);
	if (rc)
		return data_error(cmd, rc);
	warn_torn(cmd, &s->res);
	if ((rc = rp_points_build(&s->pts, &s->res))) {
		rp_results_release(&s->res);
		return data_error(cmd, rc);
	}
	return 0;
}

static void release_side(struct side *s)
{
	rp_points_release(&s->pts);
	rp_results_release(&s->res);
}

int cmd_compare(int argc, char **argv)
{
	static const struct option opts[] = { { "html", required_argument, 0, 'o' },
					      { "fail-if-slower", required_argument, 0, 'f' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	const char *html = NULL;
	double pct = NAN;
	int opt, rc;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		rc = KN_OK;
		switch (opt) {
		case 'o':
			html = optarg;
			if (!*html)
				rc = kn_error(KN_EUSAGE, "option '--html' expects a file name");
			break;
		case 'f': rc = tr_parse_double("--fail-if-slower", optarg, 0, 100, &pct); break;
		case 'h': cmd_compare_usage(stdout); return 0;
		case ':': rc = kn_error(KN_EUSAGE, "option '%s' needs a value", argv[optind - 1]); break;
		default: rc = kn_error(KN_EUSAGE, "unknown option '%s'", argv[optind - 1]); break;
		}
		if (rc)
			return tr_usage_error("compare", kn_last_error());
	}
	if (argc - optind != 2)
		return tr_usage_error("compare", "expects two sweep directories or results files, A and B");
	struct side *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
	if (!a || !b) {
		free(a);
		free(b);
		fprintf(stderr, "amptune compare: out of memory\n");
		return EXIT_RUNTIME;
	}
	int code = load_side("compare", a, argv[optind]);
	if (code) {
		free(a);
		free(b);
		return code;
	}
	if ((code = load_side("compare", b, argv[optind + 1]))) {
		release_side(a);
		free(a);
		free(b);
		return code;
	}
	struct rp_compare c;
	struct rp_buf out, why;
	rp_buf_init(&out);
	rp_buf_init(&why);
	if ((rc = rp_compare(&c, &a->pts, &b->pts))) {
		code = data_error("compare", rc);
		goto done;
	}
	rp_compare_markdown(&c, a->res.path, b->res.path, &out);
	if (html) {
		struct rp_buf h;
		rp_buf_init(&h);
		rp_compare_html(&c, a->res.path, b->res.path, &h);
		rc = rp_write_file_atomic(html, &h);
		rp_buf_release(&h);
		if (rc) {
			code = data_error("compare", rc);
			rp_compare_release(&c);
			goto done;
		}
	}
	code = print_buf(&out);
	if (code == 0 && isfinite(pct)) {
		int missing, n = rp_compare_regressions(&c, pct, &why, &missing), matched = n - missing;
		if (n) {
			fprintf(stderr, "amptune compare: ");
			if (matched)
				fprintf(stderr, "%d matched point%s slower than allowed or not (always) ok in B%s", matched,
					matched == 1 ? " is" : "s are", missing ? ", and " : "");
			if (missing)
				fprintf(stderr, "%d point%s ok in A %s missing from B", missing, missing == 1 ? "" : "s",
					missing == 1 ? "is" : "are");
			fprintf(stderr, " (--fail-if-slower %g):\n%s", pct, rp_buf_str(&why));
			code = EXIT_RUNTIME;
		}
	}
	rp_compare_release(&c);
done:
	rp_buf_release(&out);
	rp_buf_release(&why);
	release_side(a);
	release_side(b);
	free(a);
	free(b);
	return code;
}

int cmd_diagnose(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cmd_diagnose_usage(stdout);
			return 0;
		}
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1]) {
			char msg[300];
			snprintf(msg, sizeof msg, "unknown option '%.250s'", argv[i]);
			return tr_usage_error("diagnose", msg);
		}
	if (argc != 2)
		return tr_usage_error("diagnose", "expects one sweep directory, results file or '-'");
	struct side *s = calloc(1, sizeof *s);
	if (!s) {
		fprintf(stderr, "amptune diagnose: out of memory\n");
		return EXIT_RUNTIME;
	}
	int code = load_side("diagnose", s, argv[1]);
	if (code) {
		free(s);
		return code;
	}
	struct rp_buf b;
	rp_buf_init(&b);
	rp_buf_puts(&b, "# amptune diagnose: ");
	rp_buf_md(&b, s->res.name);
	rp_buf_puts(&b, "\n");
	for (int i = 0; i < s->pts.n; i++) {
		const struct rp_point *p = &s->pts.p[i];
		struct rp_diagnosis d;
		char l[512];
		rp_buf_puts(&b, "\n## ");
		rp_buf_md(&b, rp_point_label(&s->pts, p, l, sizeof l));
		rp_buf_puts(&b, " (id ");
		rp_buf_md(&b, p->cfg->id);
		if (p->n_reps > 1) { /* the diagnosis reads one repeat: say which (its own number when it has one) */
			int k = 0, own = rp_record_run(p->rep).repeat;
			while (k < p->n_reps - 1 && p->reps[k] != p->rep)
				k++;
			char which[96];
			if (own > 0 && own != k + 1) /* its repeats are not 1..n here: another device ran the others */
				snprintf(which, sizeof which, "repeat %d, one of %d runs on this device", own, p->n_reps);
			else
				snprintf(which, sizeof which, "repeat %d of %d", k + 1, p->n_reps);
			rp_buf_printf(&b, ", %s%s, line %ld)\n\n", which, p->n_ok ? ": the ok one nearest the median samples/s" : "",
				      s->res.lines[p->rep - s->res.recs]);
		} else {
			rp_buf_printf(&b, ", line %ld)\n\n", p->line);
		}
		if (rp_diagnose(p->rep, &d)) {
			rp_buf_md(&b, kn_last_error());
			rp_buf_puts(&b, ". ");
			rp_buf_md(&b, p->cfg->message);
			rp_buf_puts(&b, "\n");
			continue;
		}
		rp_diagnosis_markdown(p->rep, &d, &b);
	}
	code = print_buf(&b);
	rp_buf_release(&b);
	release_side(s);
	free(s);
	return code;
}
