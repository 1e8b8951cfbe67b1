/* `amptune estimate`: memory and FLOPs of a model before running it. */
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/error.h"
#include "reports/estimate.h"
#include "reports/text.h"
#include "reports/tiers.h"
#include "trainer/commands.h"
#include "trainer/config.h"

#define MAX_BATCHES 16

void cmd_estimate_usage(FILE *out)
{
	fprintf(out,
		"usage: amptune estimate --model gpt|cnn (--size NAME | --params N) [options]\n"
		"\n"
		"Predicts the memory of one training (or inference) step and its FLOPs, also for models\n"
		"far too large to run here, and names the smallest GPU memory tier (8/16/24/40/80 GB)\n"
		"that holds it with 10%% headroom. Memory is split into weights, gradients, optimizer\n"
		"state, master weights, activations (incl. backward scratch or the KV cache) and\n"
		"workspace (the GPU runtime).\n"
		"\n"
		"model:\n"
		"  --model gpt|cnn       family (default gpt)\n"
		"  --size NAME           our presets, laid out byte for byte as 'train' does: gpt\n"
		"                        tiny|small|gpt2-124m, cnn tiny|resnet\n"
		"  --params N            a generic model of N parameters (1.3e9, 7B, 124M, 50M)\n"
		"  --layers N --d-model N --heads N --vocab N   a generic transformer's shape (derived\n"
		"                        from --params when left out; vocab 50304)\n"
		"  --image N             cnn: input side in pixels (default 224)\n"
		"step:\n"
		"  --batch N[,N...]      batch sizes (default 1)\n"
		"  --seq N               sequence length (default: the preset's context, or 2048)\n"
		"  --precision fp32|tf32|fp16|bf16   (default fp32; fp16/bf16 keep fp32 master weights\n"
		"                        and optimizer state)\n"
		"  --mode train|infer    (default train)\n"
		"  --optimizer adamw|sgd (default: train's, adamw for gpt, sgd for cnn; adamw keeps 2\n"
		"                        states per parameter, sgd with momentum 1)\n"
		"  --device cuda|cpu     cuda (default) adds %.0f MiB for the CUDA context and library\n"
		"                        workspaces; cpu matches the allocator's count in 'train'\n"
		"  --json                one JSON object instead of the table\n"
		"\n"
		"examples:\n"
		"  amptune estimate --model cnn --params 50M --batch 64\n"
		"  amptune estimate --params 1.3B --precision fp16 --mode infer --batch 1\n"
		"  amptune estimate --params 7B --precision fp16 --mode infer --batch 1,2\n"
		"\n"
		"exit codes: 0 ok, 64 usage, 69 a precision --device cpu cannot train (fp32 only).\n",
		RP_GPU_RUNTIME_BYTES / 1048576.0);
}

/* 1.3e9, 7B, 124M, 50k */
static int parse_count(const char *opt, const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	double mult = 1;
	if (!kn_is_decimal(s, (size_t)(end - s), 1))
		end = (char *)s; /* hex, blanks, inf: refused below */
	if (*end && !end[1]) {
		switch (toupper((unsigned char)*end)) {
		case 'K': mult = 1e3; break;
		case 'M': mult = 1e6; break;
		case 'B':
		case 'G': mult = 1e9; break;
		case 'T': mult = 1e12; break;
		default: mult = 0;
		}
		end++;
	}
	if (end == s || *end || !(mult > 0) || !isfinite(v) || v * mult < 1 || v * mult > 1e15)
		return kn_error(KN_EUSAGE, "option '%s' expects a count such as 1.3e9, 7B, 124M or 50k, got '%s'", opt, s);
	*out = v * mult;
	return KN_OK;
}

static int parse_batches(const char *s, int *batches, int *n)
{
	*n = 0;
	/* split by hand: strtok would skip empty values */
	for (const char *tok = s;; tok++) {
		const char *end = strchr(tok, ',');
		size_t len = end ? (size_t)(end - tok) : strlen(tok);
		char buf[32];
		long v;
		if (len == 0)
			return kn_error(KN_EUSAGE, "option '--batch' has an empty value in '%s'", s);
		if (*n == MAX_BATCHES)
			return kn_error(KN_EUSAGE, "option '--batch' takes at most %d sizes", MAX_BATCHES);
		if (len >= sizeof buf)
			return kn_error(KN_EUSAGE, "option '--batch' expects an integer in [1, 16777216], got '%.*s'", (int)len,
					tok);
		snprintf(buf, sizeof buf, "%.*s", (int)len, tok);
		if (tr_parse_long("--batch", buf, 1, 1 << 24, &v))
			return KN_EUSAGE;
		batches[(*n)++] = (int)v;
		if (!end)
			return KN_OK;
		tok = end;
	}
}

static int parse_args(int argc, char **argv, struct rp_est_input *in, int *batches, int *nb, int *json)
{
	static const struct option opts[] = {
		{ "model", required_argument, 0, 'm' }, { "size", required_argument, 0, 's' },
		{ "params", required_argument, 0, 'P' }, { "layers", required_argument, 0, 'L' },
		{ "d-model", required_argument, 0, 'C' }, { "heads", required_argument, 0, 'H' },
		{ "vocab", required_argument, 0, 'V' }, { "image", required_argument, 0, 'I' },
		{ "batch", required_argument, 0, 'b' }, { "seq", required_argument, 0, 'T' },
		{ "precision", required_argument, 0, 'p' }, { "mode", required_argument, 0, 'M' },
		{ "optimizer", required_argument, 0, 'o' }, { "device", required_argument, 0, 'd' },
		{ "json", no_argument, 0, 'j' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	int opt, have_optimizer = 0;
	long v;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		const char *a = optarg;
		int rc = KN_OK;
		switch (opt) {
		case 'm':
			if (strlen(a) >= sizeof in->model)
				return kn_error(KN_EUSAGE, "option '--model' expects %s, got '%s'", rp_estimate_families(), a);
			snprintf(in->model, sizeof in->model, "%s", a);
			break;
		case 's':
			if (strlen(a) >= sizeof in->size || !*a)
				return kn_error(KN_EUSAGE, "option '--size' expects a preset name, got '%s'", a);
			snprintf(in->size, sizeof in->size, "%s", a);
			break;
		case 'P': rc = parse_count("--params", a, &in->params); break;
		case 'L': rc = tr_parse_long("--layers", a, 1, 10000, &v); in->layers = (int)v; break;
		case 'C': rc = tr_parse_long("--d-model", a, 1, 1 << 20, &v); in->d_model = (int)v; break;
		case 'H': rc = tr_parse_long("--heads", a, 1, 1 << 16, &v); in->heads = (int)v; break;
		case 'V': rc = tr_parse_long("--vocab", a, 1, 1 << 24, &v); in->vocab = (int)v; break;
		case 'I': rc = tr_parse_long("--image", a, 1, 1 << 16, &v); in->image = (int)v; break;
		case 'b': rc = parse_batches(a, batches, nb); break;
		case 'T': rc = tr_parse_long("--seq", a, 1, 1 << 22, &v); in->seq = (int)v; break;
		case 'p':
			if (kn_precision_parse(a, &in->precision))
				return kn_error(KN_EUSAGE, "option '--precision' expects fp32, tf32, fp16 or bf16, got '%s'", a);
			break;
		case 'M':
			if (strcmp(a, "train") && strcmp(a, "infer"))
				return kn_error(KN_EUSAGE, "option '--mode' expects train or infer, got '%s'", a);
			in->mode = strcmp(a, "train") ? RP_EST_INFER : RP_EST_TRAIN;
			break;
		case 'o':
			if (strcmp(a, "adamw") && strcmp(a, "sgd"))
				return kn_error(KN_EUSAGE, "option '--optimizer' expects adamw or sgd, got '%s'", a);
			in->optimizer = strcmp(a, "adamw") ? RP_OPT_SGD : RP_OPT_ADAMW;
			have_optimizer = 1;
			break;
		case 'd':
			if (strcmp(a, "cuda") && strcmp(a, "cpu"))
				return kn_error(KN_EUSAGE, "option '--device' expects cuda or cpu, got '%s'", a);
			in->on_gpu = in->cuda_layout = strcmp(a, "cuda") == 0;
			break;
		case 'j': *json = 1; break;
		case 'h': return 1;
		case ':': return kn_error(KN_EUSAGE, "option '%s' needs a value", argv[optind - 1]);
		default: return kn_error(KN_EUSAGE, "unknown option '%s'", argv[optind - 1]);
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return kn_error(KN_EUSAGE, "unexpected argument '%s'", argv[optind]);
	if (!have_optimizer) /* what `amptune train` uses for the model by default */
		in->optimizer = strcmp(in->model, "cnn") == 0 ? RP_OPT_SGD : RP_OPT_ADAMW;
	if (in->size[0] && in->params > 0)
		return kn_error(KN_EUSAGE, "options '--size' and '--params' cannot be used together");
	if (!in->size[0] && !(in->params > 0))
		return kn_error(KN_EUSAGE, "say which model: --size NAME (a preset) or --params N");
	if (in->size[0] && (in->layers || in->d_model || in->heads || in->vocab))
		return kn_error(KN_EUSAGE, "a preset fixes the shape: '--layers', '--d-model', '--heads' and '--vocab' go with --params");
	if (in->seq && strcmp(in->model, "gpt"))
		return kn_error(KN_EUSAGE, "option '--seq' is for --model gpt; a cnn's input is square images (--image N)");
	if (!strcmp(in->model, "cnn") && (in->layers || in->d_model || in->heads || in->vocab))
		return kn_error(KN_EUSAGE, "options '--layers', '--d-model', '--heads' and '--vocab' shape a transformer "
					   "(--model gpt); a generic cnn is its --params and --image");
	if (in->image && strcmp(in->model, "cnn"))
		return kn_error(KN_EUSAGE, "option '--image' is for --model cnn; a gpt's input is a sequence (--seq N)");
	if (!in->on_gpu && in->precision != KN_FP32) /* as `amptune train --device cpu` refuses it */
		return kn_error(KN_EUNAVAIL, "precision '%s' is not available on the cpu backend, which trains in fp32 only "
					     "(use --device cuda for tf32, fp16 or bf16)",
				kn_precision_name(in->precision));
	return KN_OK;
}

static void row(struct rp_buf *b, const char *name, const struct rp_estimate *e, int n, size_t off, int is_flops)
{
	rp_buf_printf(b, "  %-22s", name);
	for (int i = 0; i < n; i++) {
		double v = *(const double *)((const char *)&e[i] + off);
		char t[32];
		if (is_flops)
			rp_fmt_flops(t, sizeof t, v);
		else if (v == 0)
			snprintf(t, sizeof t, "-");
		else
			rp_fmt_bytes(t, sizeof t, v);
		rp_buf_printf(b, " %14s", t);
	}
	rp_buf_puts(b, "\n");
}

static void print_table(struct rp_buf *b, const struct rp_est_input *in, const struct rp_estimate *e, const int *batches,
			int n)
{
	char count[32];
	rp_buf_printf(b, "amptune estimate: %s\n", e[0].shape);
	rp_fmt_count(count, sizeof count, e[0].params);
	rp_buf_printf(b, "%s parameters; %s, %s%s, %s", count, in->mode == RP_EST_TRAIN ? "training" : "inference",
		      kn_precision_name(in->precision),
		      in->mode == RP_EST_TRAIN ? (in->optimizer == RP_OPT_ADAMW ? ", AdamW" : ", SGD with momentum") : "",
		      in->on_gpu ? "on a GPU" : "on the CPU");
	if (e[0].seq)
		rp_buf_printf(b, ", sequence length %d", e[0].seq);
	rp_buf_puts(b, "\n");
	if (e[0].assumptions[0])
		rp_buf_printf(b, "assumptions: %s\n", e[0].assumptions);
	if (e[0].exact && in->mode == RP_EST_TRAIN)
		rp_buf_puts(b, "layout: exactly the buffers 'amptune train' allocates for this model\n");
	rp_buf_printf(b, "\n  %-22s", "");
	for (int i = 0; i < n; i++) {
		char t[32];
		snprintf(t, sizeof t, "batch %d", batches[i]);
		rp_buf_printf(b, " %14s", t);
	}
	rp_buf_puts(b, "\n");
	row(b, "weights", e, n, offsetof(struct rp_estimate, weights), 0);
	row(b, "gradients", e, n, offsetof(struct rp_estimate, grads), 0);
	row(b, "optimizer state", e, n, offsetof(struct rp_estimate, optimizer), 0);
	row(b, "master weights", e, n, offsetof(struct rp_estimate, master), 0);
	row(b, "activations", e, n, offsetof(struct rp_estimate, activations), 0);
	row(b, "workspace", e, n, offsetof(struct rp_estimate, workspace), 0);
	row(b, "total", e, n, offsetof(struct rp_estimate, total), 0);
	row(b, "FLOPs per step", e, n, offsetof(struct rp_estimate, flops_per_step), 1);
	rp_buf_printf(b, "  %-22s", "smallest tier (+10%)");
	for (int i = 0; i < n; i++) {
		char t[32];
		if (e[i].tier >= 0)
			snprintf(t, sizeof t, "%d GB", rp_tier_gib[e[i].tier]);
		else
			snprintf(t, sizeof t, "> 80 GB");
		rp_buf_printf(b, " %14s", t);
	}
	rp_buf_puts(b, "\n");
}

static void print_json(struct rp_buf *b, const struct rp_est_input *in, const struct rp_estimate *e, const int *batches,
		       int n)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "batches");
	cJSON_AddStringToObject(o, "model", in->model);
	cJSON_AddStringToObject(o, "size", in->size);
	cJSON_AddStringToObject(o, "shape", e[0].shape);
	cJSON_AddNumberToObject(o, "params", e[0].params);
	cJSON_AddNumberToObject(o, "layers", e[0].layers);
	cJSON_AddNumberToObject(o, "d_model", e[0].d_model);
	cJSON_AddNumberToObject(o, "seq", e[0].seq);
	cJSON_AddStringToObject(o, "precision", kn_precision_name(in->precision));
	cJSON_AddStringToObject(o, "mode", in->mode == RP_EST_TRAIN ? "train" : "infer");
	cJSON_AddStringToObject(o, "optimizer", in->optimizer == RP_OPT_ADAMW ? "adamw" : "sgd");
	cJSON_AddStringToObject(o, "device", in->on_gpu ? "cuda" : "cpu");
	cJSON_AddBoolToObject(o, "exact", e[0].exact && in->mode == RP_EST_TRAIN);
	for (int i = 0; i < n; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddNumberToObject(x, "batch", batches[i]);
		cJSON_AddNumberToObject(x, "weights_bytes", e[i].weights);
		cJSON_AddNumberToObject(x, "grads_bytes", e[i].grads);
		cJSON_AddNumberToObject(x, "optimizer_bytes", e[i].optimizer);
		cJSON_AddNumberToObject(x, "master_bytes", e[i].master);
		cJSON_AddNumberToObject(x, "activations_bytes", e[i].activations);
		cJSON_AddNumberToObject(x, "workspace_bytes", e[i].workspace);
		cJSON_AddNumberToObject(x, "total_bytes", e[i].total);
		cJSON_AddNumberToObject(x, "flops_per_step", e[i].flops_per_step);
		if (e[i].tier >= 0)
			cJSON_AddNumberToObject(x, "tier_gb", rp_tier_gib[e[i].tier]);
		else
			cJSON_AddNullToObject(x, "tier_gb");
		cJSON_AddItemToArray(arr, x);
	}
	char *s = cJSON_PrintUnformatted(o);
	if (s)
		rp_buf_printf(b, "%s\n", s);
	else
		b->oom = 1;
	free(s);
	cJSON_Delete(o);
}

int cmd_estimate(int argc, char **argv)
{
	struct rp_est_input in = { .model = "gpt", .precision = KN_FP32, .on_gpu = 1, .cuda_layout = 1 };
	int batches[MAX_BATCHES] = { 1 }, nb = 1, json = 0;
	int rc = parse_args(argc, argv, &in, batches, &nb, &json);
	if (rc == 1) {
		cmd_estimate_usage(stdout);
		return 0;
	}
	if (rc == KN_EUNAVAIL) {
		fprintf(stderr, "amptune estimate: %s\n", kn_last_error());
		return EXIT_UNAVAILABLE;
	}
	if (rc)
		return tr_usage_error("estimate", kn_last_error());
	struct rp_estimate e[MAX_BATCHES];
	for (int i = 0; i < nb; i++) {
		in.batch = batches[i];
		if ((rc = rp_estimate(&in, &e[i])))
			return tr_usage_error("estimate", kn_last_error());
	}
	struct rp_buf b;
	rp_buf_init(&b);
	if (json)
		print_json(&b, &in, e, batches, nb);
	else
		print_table(&b, &in, e, batches, nb);
	int code = 0;
	if (b.oom) {
		fprintf(stderr, "amptune estimate: out of memory\n");
		code = EXIT_RUNTIME;
	} else {
		fputs(rp_buf_str(&b), stdout);
	}
	rp_buf_release(&b);
	return code;
}
