/* `amptune train`: one training point; the record on stdout with --json. */
#include <getopt.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "trainer/commands.h"
#include "trainer/config.h"
#include "trainer/train.h"

void cmd_train_usage(FILE *out)
{
	fprintf(out,
		"usage: amptune train [options]\n"
		"\n"
		"Trains one point and reports step time, throughput, memory and loss.\n"
		"The per-step log goes to stderr; with --json the results record (schema v1,\n"
		"see docs/results-schema.md) is printed as one JSON line on stdout.\n"
		"\n"
		"model and data:\n"
		"  --model gpt|cnn             model family (default gpt)\n"
		"  --size SIZE                 size preset (default tiny); gpt: tiny|small|gpt2-124m\n"
		"        tiny       4 layers, d_model 128, 4 heads, context 128, vocab 256   (0.84M params)\n"
		"        small      6 layers, d_model 384, 6 heads, context 256, vocab 256  (10.8M params)\n"
		"        gpt2-124m 12 layers, d_model 768, 12 heads, context 1024, vocab 50304 (124.5M params)\n"
		"                              cnn: tiny|resnet, 28x28x1 images, 10 classes, NHWC maps:\n"
		"        tiny    stem 3x3 conv 16 @28x28; 3 stages of 1 basic block: 16 @28x28,\n"
		"                32 @14x14, 64 @7x7; avg pool, FC 64->10            (77,754 params)\n"
		"        resnet  ResNet-18 widths: stem 3x3 conv 64 @28x28; 4 stages of 2 basic\n"
		"                blocks: 64 @28x28, 128 @14x14, 256 @7x7, 512 @4x4; avg pool,\n"
		"                FC 512->10                                      (11,172,810 params)\n"
		"                a basic block is relu(bn(conv3x3(relu(bn(conv3x3(x))))) + x), with a\n"
		"                1x1 stride-2 conv + bn shortcut where a stage starts (stride 2)\n"
		"  --data SPEC                 gpt: fortunes|PATH byte-level text, Debian's fortunes, a file or\n"
		"                              a directory (default fortunes; every 10th 16 KiB chunk is\n"
		"                              validation); cnn: fashion-mnist|DIR, IDX files (.gz or raw)\n"
		"                              train-* and t10k-* (default fashion-mnist)\n"
		"device and precision:\n"
		"  --device cpu|cuda|auto      (default auto: CUDA when a GPU this build can drive is present)\n"
		"  --precision fp32|tf32|fp16|bf16  (default fp32; the cpu backend runs fp32 only)\n"
		"  --device-mem-limit BYTES    refuse device allocations beyond BYTES (e.g. 16G), as a\n"
		"                              smaller card would: exit 75 when the point does not fit\n"
		"  --threads N                 CPU threads (default: OMP_NUM_THREADS or all cores)\n"
		"shape and schedule:\n"
		"  --batch N                   sequences (gpt) or images (cnn) per step (default per size:\n"
		"                              gpt 16, 8, 4; cnn 128)\n"
		"  --seq N                     gpt: tokens per sequence (default: the model's context)\n"
		"  --steps N | --epochs X      how long to train (default 100 steps); an epoch visits every\n"
		"                              training window (cnn: image) once\n"
		"  --warmup-steps N            steps excluded from the timing statistics (default 3)\n"
		"  --optimizer adamw|sgd       adamw (default for gpt; the only one gpt has) or SGD with\n"
		"                              momentum (default for cnn)\n"
		"  --lr X                      peak learning rate (default 1e-3 for adamw, 0.2 for sgd)\n"
		"  --momentum X                SGD momentum (default 0.9)\n"
		"  --lr-warmup N               learning-rate warm-up steps, then cosine decay to lr/10\n"
		"                              (default 10%% of the steps)\n"
		"  --weight-decay X            on matrices and conv/FC weights: AdamW's decoupled decay\n"
		"                              (default 0.1), SGD's L2 term (default 5e-4)\n"
		"  --seed N                    weights, sampling and shuffling (default 1337)\n"
		"  --eval-batches N            gpt: validation batches for eval_loss (default 16; 0 = none)\n"
		"  --eval-images N|all         cnn: t10k images for eval_loss and eval_accuracy (default all,\n"
		"                              the whole split; 0 = none)\n"
		"output:\n"
		"  --log-every N               log every N steps (default 10; 0 = no step log)\n"
		"  --quiet                     no human log at all\n"
		"  --json                      print the results record on stdout\n"
		"  --id ID                     record id (a sweep sets it; default: a hash of the config)\n"
		"\n"
		"exit codes: 0 ok, 1 runtime failure, 64 usage, 65 bad data, 69 device or precision\n"
		"unavailable, 75 out of memory, 76 diverged, 130/143 interrupted.\n");
}

static void on_signal(int sig) { tr_stop_signal = sig; }

enum {
	OPT_MODEL = 256, OPT_SIZE, OPT_DATA, OPT_DEVICE, OPT_PRECISION, OPT_BATCH, OPT_SEQ, OPT_STEPS, OPT_EPOCHS,
	OPT_WARMUP, OPT_LR, OPT_LR_WARMUP, OPT_WD, OPT_SEED, OPT_LOG_EVERY, OPT_JSON, OPT_QUIET, OPT_EVAL_BATCHES,
	OPT_THREADS, OPT_MEMLIMIT, OPT_ID, OPT_OPTIMIZER, OPT_MOMENTUM, OPT_EVAL_IMAGES, OPT_HELP,
};

static const struct option long_opts[] = {
	{ "model", required_argument, 0, OPT_MODEL },
	{ "size", required_argument, 0, OPT_SIZE },
	{ "data", required_argument, 0, OPT_DATA },
	{ "device", required_argument, 0, OPT_DEVICE },
	{ "precision", required_argument, 0, OPT_PRECISION },
	{ "batch", required_argument, 0, OPT_BATCH },
	{ "seq", required_argument, 0, OPT_SEQ },
	{ "steps", required_argument, 0, OPT_STEPS },
	{ "epochs", required_argument, 0, OPT_EPOCHS },
	{ "warmup-steps", required_argument, 0, OPT_WARMUP },
	{ "lr", required_argument, 0, OPT_LR },
	{ "lr-warmup", required_argument, 0, OPT_LR_WARMUP },
	{ "weight-decay", required_argument, 0, OPT_WD },
	{ "seed", required_argument, 0, OPT_SEED },
	{ "log-every", required_argument, 0, OPT_LOG_EVERY },
	{ "json", no_argument, 0, OPT_JSON },
	{ "quiet", no_argument, 0, OPT_QUIET },
	{ "eval-batches", required_argument, 0, OPT_EVAL_BATCHES },
	{ "threads", required_argument, 0, OPT_THREADS },
	{ "device-mem-limit", required_argument, 0, OPT_MEMLIMIT },
	{ "id", required_argument, 0, OPT_ID },
	{ "optimizer", required_argument, 0, OPT_OPTIMIZER },
	{ "momentum", required_argument, 0, OPT_MOMENTUM },
	{ "eval-images", required_argument, 0, OPT_EVAL_IMAGES },
	{ "help", no_argument, 0, OPT_HELP },
	{ 0, 0, 0, 0 },
};

static int parse_args(int argc, char **argv, struct tr_config *c)
{
	int opt, have_steps = 0, have_epochs = 0;
	int have_lr = 0, have_wd = 0, have_data = 0, have_optimizer = 0, have_seq = 0, have_eval_batches = 0;
	int have_eval_images = 0, have_momentum = 0;
	long v;
	double d;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
		const char *a = optarg;
		int rc = KN_OK;
		switch (opt) {
		case OPT_MODEL:
			if (strcmp(a, "gpt") != 0 && strcmp(a, "cnn") != 0)
				return kn_error(KN_EUSAGE, "option '--model' expects gpt or cnn, got '%s'", a);
			snprintf(c->model, sizeof c->model, "%s", a);
			break;
		case OPT_SIZE:
			if (strlen(a) >= sizeof c->size)
				return kn_error(KN_EUSAGE, "option '--size' got an over-long value");
			snprintf(c->size, sizeof c->size, "%s", a); /* checked against the model below */
			break;
		case OPT_DATA:
			if (!*a)
				return kn_error(KN_EUSAGE, "option '--data' expects fortunes or a path, got ''");
			snprintf(c->data, sizeof c->data, "%s", a);
			have_data = 1;
			break;
		case OPT_DEVICE:
			if (strcmp(a, "cpu") && strcmp(a, "cuda") && strcmp(a, "auto"))
				return kn_error(KN_EUSAGE, "option '--device' expects cpu, cuda or auto, got '%s'", a);
			snprintf(c->device, sizeof c->device, "%s", a);
			break;
		case OPT_PRECISION:
			if (kn_precision_parse(a, &c->precision))
				return kn_error(KN_EUSAGE, "option '--precision' expects fp32, tf32, fp16 or bf16, got '%s'", a);
			break;
		case OPT_BATCH: rc = tr_parse_long("--batch", a, 1, 65536, &v); c->batch = (int)v; break;
		case OPT_SEQ: rc = tr_parse_long("--seq", a, 1, 1 << 20, &v); c->seq = (int)v; have_seq = 1; break;
		case OPT_STEPS: rc = tr_parse_long("--steps", a, 1, 100000000, &v); c->steps = v; have_steps = 1; break;
		case OPT_EPOCHS: rc = tr_parse_double("--epochs", a, 1e-6, 1e6, &c->epochs); have_epochs = 1; break;
		case OPT_WARMUP: rc = tr_parse_long("--warmup-steps", a, 0, 100000000, &v); c->warmup_steps = (int)v; break;
		case OPT_LR: rc = tr_parse_double("--lr", a, 0, 10, &c->lr); have_lr = 1; break;
		case OPT_LR_WARMUP: rc = tr_parse_long("--lr-warmup", a, 0, 100000000, &v); c->lr_warmup = (int)v; break;
		case OPT_WD: rc = tr_parse_double("--weight-decay", a, 0, 10, &c->weight_decay); have_wd = 1; break;
		case OPT_SEED: rc = tr_parse_double("--seed", a, 0, 9007199254740992.0, &d); c->seed = (uint64_t)d;
			if (rc == KN_OK && d != (double)c->seed)
				rc = kn_error(KN_EUSAGE, "option '--seed' expects a whole number, got '%s'", a);
			break;
		case OPT_LOG_EVERY: rc = tr_parse_long("--log-every", a, 0, 100000000, &v); c->log_every = (int)v; break;
		case OPT_JSON: c->json = 1; break;
		case OPT_QUIET: c->quiet = 1; break;
		case OPT_EVAL_BATCHES:
			rc = tr_parse_long("--eval-batches", a, 0, 1000000, &v);
			c->eval_batches = (int)v;
			have_eval_batches = 1;
			break;
		case OPT_EVAL_IMAGES:
			if (strcmp(a, "all") == 0)
				c->eval_images = -1;
			else
				rc = tr_parse_long("--eval-images", a, 0, 100000000, &c->eval_images);
			have_eval_images = 1;
			break;
		case OPT_OPTIMIZER:
			if (strcmp(a, "adamw") && strcmp(a, "sgd"))
				return kn_error(KN_EUSAGE, "option '--optimizer' expects adamw or sgd, got '%s'", a);
			c->optimizer = strcmp(a, "sgd") == 0 ? TR_OPT_SGD : TR_OPT_ADAMW;
			have_optimizer = 1;
			break;
		case OPT_MOMENTUM:
			rc = tr_parse_double("--momentum", a, 0, 0.9999, &c->momentum);
			have_momentum = 1;
			break;
		case OPT_THREADS: rc = tr_parse_long("--threads", a, 1, 4096, &v); c->threads = (int)v; break;
		case OPT_MEMLIMIT: rc = tr_parse_bytes("--device-mem-limit", a, &c->device_mem_limit); break;
		case OPT_ID:
			if (!*a || strlen(a) >= sizeof c->id)
				return kn_error(KN_EUSAGE, "option '--id' expects 1 to %zu characters", sizeof c->id - 1);
			snprintf(c->id, sizeof c->id, "%s", a);
			break;
		case OPT_HELP: return 1;
		case ':': return kn_error(KN_EUSAGE, "option '%s' needs a value", argv[optind - 1]);
		default: return kn_error(KN_EUSAGE, "unknown option '%s'", argv[optind - 1]);
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return kn_error(KN_EUSAGE, "unexpected argument '%s'", argv[optind]);
	if (have_steps && have_epochs)
		return kn_error(KN_EUSAGE, "options '--steps' and '--epochs' cannot be used together");
	if (!have_steps && !have_epochs)
		c->steps = 100;
	if (strcmp(c->model, "cnn") == 0) {
		if (!tr_find_cnn_preset(c->size))
			return kn_error(KN_EUSAGE, "option '--size' expects tiny or resnet for --model cnn, got '%s'", c->size);
		if (have_seq)
			return kn_error(KN_EUSAGE, "option '--seq' is for --model gpt; cnn images are 28x28");
		if (have_eval_batches)
			return kn_error(KN_EUSAGE, "option '--eval-batches' is for --model gpt; use '--eval-images'");
		if (!have_data)
			snprintf(c->data, sizeof c->data, "fashion-mnist");
		if (!have_optimizer)
			c->optimizer = TR_OPT_SGD;
	} else {
		if (!tr_find_size(c->size))
			return kn_error(KN_EUSAGE, "option '--size' expects tiny, small or gpt2-124m, got '%s'", c->size);
		if (have_eval_images)
			return kn_error(KN_EUSAGE, "option '--eval-images' is for --model cnn; use '--eval-batches'");
		if (c->optimizer == TR_OPT_SGD)
			return kn_error(KN_EUSAGE, "option '--optimizer sgd' is for --model cnn; gpt trains with adamw");
	}
	if (have_momentum && c->optimizer != TR_OPT_SGD)
		return kn_error(KN_EUSAGE, "option '--momentum' is for '--optimizer sgd'");
	if (c->optimizer == TR_OPT_SGD) {
		if (!have_lr)
			c->lr = 0.2;
		if (!have_wd)
			c->weight_decay = 5e-4;
	}
	return KN_OK;
}

int cmd_train(int argc, char **argv)
{
	struct tr_config cfg;
	struct rp_record rec;
	tr_config_defaults(&cfg);
	int rc = parse_args(argc, argv, &cfg);
	if (rc == 1) {
		cmd_train_usage(stdout);
		return 0;
	}
	if (rc)
		return tr_usage_error("train", kn_last_error());
	if (cfg.threads)
		omp_set_num_threads(cfg.threads);
	if (rp_record_init(&rec)) {
		fprintf(stderr, "amptune train: out of memory\n");
		return EXIT_RUNTIME;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = tr_train(&cfg, &rec);
	if (rc)
		fprintf(stderr, "amptune train: %s\n", kn_last_error());
	else if (!cfg.quiet && strcmp(cfg.model, "cnn") == 0)
		fprintf(stderr,
			"summary: %s cnn %s %s batch %d | step %.2f ms p50, %.2f ms p95 | %.0f img/s | "
			"loss %.4f -> %.4f, eval %.4f, accuracy %.2f%% | epoch %.1f s%s | peak %.1f MiB backend, "
			"%.1f MiB rss\n",
			rec.device, rec.size, rec.precision, rec.batch, rec.step_ms_p50, rec.step_ms_p95, rec.samples_per_sec,
			rec.initial_loss, rec.final_loss, rec.eval_loss, 100.0 * rec.eval_accuracy, rec.epoch_s,
			rec.epoch_s_extrapolated ? " (extrapolated)" : "", rec.peak_device_bytes / 1048576.0,
			rec.peak_host_bytes / 1048576.0);
	else if (!cfg.quiet)
		fprintf(stderr,
			"summary: %s %s %s batch %d seq %d | step %.2f ms p50, %.2f ms p95 | %.0f tok/s | "
			"loss %.4f -> %.4f, eval %.4f | epoch %.1f s%s | peak %.1f MiB backend, %.1f MiB rss\n",
			rec.device, rec.size, rec.precision, rec.batch, rec.seq, rec.step_ms_p50, rec.step_ms_p95,
			rec.tokens_per_sec, rec.initial_loss, rec.final_loss, rec.eval_loss, rec.epoch_s,
			rec.epoch_s_extrapolated ? " (extrapolated)" : "", rec.peak_device_bytes / 1048576.0,
			rec.peak_host_bytes / 1048576.0);
	if (cfg.json && rc != KN_EUSAGE) {
		char *line = rp_record_to_line(&rec);
		if (line) {
			printf("%s\n", line);
			fflush(stdout);
			free(line);
		}
	}
	rp_record_release(&rec);
	if (rc == KN_EUSAGE) {
		fprintf(stderr, "see 'amptune help train'\n");
		return EXIT_USAGE;
	}
	return kn_exit_code(rc, tr_stop_signal);
}
