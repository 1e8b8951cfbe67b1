/* amptune: the command table and the top-level --help / --version. */
#include <stdio.h>
#include <string.h>

#include "amptune_version.h"
#include "kernels/backend.h"
#include "kernels/cpu/blas.h"
#include "trainer/commands.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static void help_usage(FILE *out) { fprintf(out, "usage: amptune help [COMMAND]\n"); }
static void version_usage(FILE *out) { fprintf(out, "usage: amptune version\n"); }

static const struct tr_command commands[] = {
	{ "train", cmd_train, cmd_train_usage, "train one point and report time, throughput, memory and loss" },
	{ "sweep", cmd_sweep, cmd_sweep_usage, "run a plan's grid of points, each as its own process, and record each" },
	{ "merge", cmd_merge, cmd_merge_usage, "combine the shards' (or runs') results into one results.jsonl" },
	{ "report", cmd_report, cmd_report_usage, "write report.md/.html/.csv for a sweep and print the recommendation" },
	{ "compare", cmd_compare, cmd_compare_usage, "compare two sweeps point by point: speedups, memory, loss" },
	{ "diagnose", cmd_diagnose, cmd_diagnose_usage, "tell whether points were starved of data, and the fix" },
	{ "estimate", cmd_estimate, cmd_estimate_usage, "predict memory and FLOPs of a model before running it" },
	{ "help", cmd_help, help_usage, "show help for amptune or one command" },
	{ "version", cmd_version, version_usage, "print the version, git commit, whether CUDA is compiled in, and the BLAS" },
};
static const int ncommands = sizeof commands / sizeof *commands;

static const struct tr_command *find_command(const char *name)
{
	for (int i = 0; i < ncommands; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int tr_usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "amptune %s: %s\nsee 'amptune help %s'\n", cmd, msg, cmd);
	return 64;
}

char *tr_trim_dir(char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = 0;
	return dir;
}

static void main_usage(FILE *out)
{
	fprintf(out, "usage: amptune <command> [options]\n       amptune --help | --version\n\n"
		     "amptune trains a small GPT or CNN at a grid of batch sizes, precisions, devices and\n"
		     "loader settings, and reports time per epoch, throughput, peak memory, loss and data\n"
		     "wait for each, to pick the best cost-performance setting.\n\ncommands:\n");
	for (int i = 0; i < ncommands; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nexit codes (every command):\n"
		     "  0 success             1 runtime failure      64 usage or plan error\n"
		     "  65 bad data or results file                   69 device or precision unavailable\n"
		     "  75 out of memory      76 training diverged   130/143 interrupted (SIGINT/SIGTERM)\n"
		     "\nsee 'amptune help <command>' for a command's options.\n");
}

static int cmd_version(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		version_usage(stdout);
		return 0;
	}
	if (argc > 1) {
		char msg[300];
		snprintf(msg, sizeof msg, "unexpected argument '%.250s'", argv[1]);
		return tr_usage_error("version", msg);
	}
	printf("amptune %s (commit %s, CUDA %s", AMPTUNE_VERSION, AMPTUNE_GIT_COMMIT,
	       AMPTUNE_HAVE_CUDA ? "compiled in for " AMPTUNE_CUDA_ARCHS : "not compiled in");
	if (AMPTUNE_HAVE_CUDA)
		printf(", %d device(s) present", kn_cuda_device_count());
	printf(")\n");
	const struct kn_blas_info *blas = kn_blas_setup();
	printf("cpu BLAS: %s", blas->library);
	if (blas->kernels[0])
		printf(", %s kernels", blas->kernels);
	if (!strcmp(blas->source, "amptune"))
		printf(" (chosen for this CPU; the library picked %s; OPENBLAS_CORETYPE overrides)", blas->library_kernels);
	else if (!strcmp(blas->source, "OPENBLAS_CORETYPE")) {
		int below = kn_blas_below(blas->kernels, blas->cpu_best);
		printf(" (set by OPENBLAS_CORETYPE%s%s%s)", below ? "; this CPU runs " : "", below ? blas->cpu_best : "",
		       below ? " kernels" : "");
	}
	printf("\n");
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		help_usage(stdout);
		return 0;
	}
	if (argc < 2) {
		main_usage(stdout);
		return 0;
	}
	const struct tr_command *c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "amptune help: unknown command '%s'\nsee 'amptune --help'\n", argv[1]);
		return 64;
	}
	c->usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	kn_blas_setup(); /* before any thread or GEMM (kernels/cpu/blas.h) */
	if (argc < 2) {
		main_usage(stderr);
		return 64;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(1, argv);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	const struct tr_command *c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "amptune: unknown command '%s'\nsee 'amptune --help'\n", argv[1]);
		return 64;
	}
	return c->run(argc - 1, argv + 1);
}
