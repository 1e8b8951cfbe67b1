/* `amptune train`: one training point; the record on stdout with --json. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_loader/dataset.h"
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
		"  --data SPEC                 what to train on; files may be .gz:\n"
		"        fortunes                 Debian's fortunes: byte-level text\n"
		"        PATH | text:PATH         byte-level text: a file or a directory of files\n"
		"        shards:GLOB[,VAL_GLOB]   llm.c token shards (uint16); tokens must be below the\n"
		"                                 model's vocab\n"
		"        fashion-mnist[:DIR]      Debian's dataset-fashion-mnist: train / t10k (images)\n"
		"        idx:IMAGES,LABELS[,VAL_IMAGES,VAL_LABELS]  IDX image and label files (images)\n"
		"        synthetic-text[:BYTES]   text made from --seed (default 1 MiB)\n"
		"        synthetic-images[:N]     N 1x28x28 images made from --seed (default 60000)\n"
		"                              Text and shards without a validation set: every 10th chunk\n"
		"                              of 16 Ki tokens is validation; IDX pairs: every 10th image.\n"
		"                              gpt takes text and shards (default fortunes); cnn takes\n"
		"                              images (default fashion-mnist)\n"
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
		"  --warmup-steps N            steps excluded from the timing statistics (default 3,\n"
		"                              lowered to steps - 1 for a shorter run)\n"
		"  --optimizer adamw|sgd       adamw (default for gpt; the only one gpt has) or SGD with\n"
		"                              momentum (default for cnn)\n"
		"  --lr X                      peak learning rate (default 1e-3 for adamw; sgd: 0.2 for cnn tiny,\n"
		"                              0.05 for cnn resnet)\n"
		"  --momentum X                SGD momentum (default 0.9)\n"
		"  --lr-warmup N               learning-rate warm-up steps, then cosine decay to lr/10\n"
		"                              (default 10%% of the steps)\n"
		"  --weight-decay X            on matrices and conv/FC weights: AdamW's decoupled decay\n"
		"                              (default 0.1), SGD's L2 term (default 5e-4)\n"
		"  --seed N                    weights, sampling and shuffling (default 1337)\n"
		"  --eval-batches N            gpt: validation batches for eval_loss (default 16; 0 = none)\n"
		"  --eval-images N|all         cnn: test images (t10k) for eval_loss and eval_accuracy (default all,\n"
		"                              the whole split; 0 = none)\n"
		"data loader (docs/data-loader.md):\n"
		"  --workers N                 loader threads filling batches ahead of the trainer\n"
		"                              (default 2; 0 = load on the trainer's thread)\n"
		"  --prefetch N                batches the workers may have ready ahead (default 4)\n"
		"  --shuffle | --no-shuffle    permute samples every epoch, from --seed (default on)\n"
		"  --drop-last                 drop each epoch's last samples that do not fill a batch\n"
		"                              (default: they start a batch completed by the next epoch)\n"
		"  --augment | --no-augment    random text windows; random crops (pad 2) and flips of\n"
		"                              training images (default on)\n"
		"  --data-latency-us N         sleep N us per sample, like a slow store (default 0)\n"
		"  --data-cost N               N units (~1 us each) of CPU work per sample, like decoding\n"
		"                              (default 0)\n"
		"                              After warm-up the log warns when the trainer waits for data\n"
		"                              more than 20%% of a step, with the likely cause.\n"
		"output:\n"
		"  --log-every N               log every N steps (default 10; 0 = no step log)\n"
		"  --quiet                     no human log at all\n"
		"  --json                      print the results record on stdout\n"
		"  --loss-scaling auto|on|off  dynamic loss scaling (default auto: on for fp16 only): skip the\n"
		"                              step and halve the scale on inf/NaN gradients, double it after\n"
		"                              1000 good steps; skips are the record's loss_scale_skips\n"
		"  --loss-scale-init X         the first loss scale (default 65536; 1 .. 2^24); only with\n"
		"                              loss scaling\n"
		"  --id ID                     record id (a sweep sets it; default: a hash of the config)\n"
		"\n"
		"exit codes: 0 ok, 1 runtime failure, 64 usage, 65 bad data, 69 device or precision\n"
		"unavailable, 75 out of memory, 76 diverged, 130/143 interrupted.\n");
}

static void on_signal(int sig) { tr_stop_signal = sig; }

/* One line on stderr; what was not measured (no evaluation, say) is left out. */
static void print_summary(const struct rp_record *r)
{
	char shape[64], rate[32], eval[64] = "", acc[32] = "", peak[32], rss[32];
	int cnn = strcmp(r->model, "cnn") == 0;
	if (cnn) {
		snprintf(shape, sizeof shape, "cnn %s %s batch %d", r->size, r->precision, r->batch);
		snprintf(rate, sizeof rate, "%.0f img/s", r->samples_per_sec);
	} else {
		snprintf(shape, sizeof shape, "%s %s batch %d seq %d", r->size, r->precision, r->batch, r->seq);
		snprintf(rate, sizeof rate, "%.0f tok/s", r->tokens_per_sec);
	}
	if (isfinite(r->eval_accuracy))
		snprintf(acc, sizeof acc, ", accuracy %.2f%%", 100.0 * r->eval_accuracy);
	if (isfinite(r->eval_loss))
		snprintf(eval, sizeof eval, ", eval %.4f%s", r->eval_loss, acc);
	fprintf(stderr,
		"summary: %s %s | step %.2f ms p50, %.2f ms p95 | %s | loss %.4f -> %.4f%s | epoch %.*f s%s | "
		"peak %s backend, %s rss\n",
		r->device, shape, r->step_ms_p50, r->step_ms_p95, rate, r->initial_loss, r->final_loss, eval,
		r->epoch_s < 1 ? 3 : 1, r->epoch_s, /* an epoch of a few images takes well under 0.1 s */
		r->epoch_s_extrapolated ? " (extrapolated)" : " (measured)",
		kn_fmt_bytes(peak, sizeof peak, r->peak_device_bytes), kn_fmt_bytes(rss, sizeof rss, r->peak_host_bytes));
}

enum {
	OPT_MODEL = 256, OPT_SIZE, OPT_DATA, OPT_DEVICE, OPT_PRECISION, OPT_BATCH, OPT_SEQ, OPT_STEPS, OPT_EPOCHS,
	OPT_WARMUP, OPT_LR, OPT_LR_WARMUP, OPT_WD, OPT_SEED, OPT_LOG_EVERY, OPT_JSON, OPT_QUIET, OPT_EVAL_BATCHES,
	OPT_THREADS, OPT_MEMLIMIT, OPT_ID, OPT_HELP, OPT_LOSS_SCALING, OPT_LOSS_SCALE_INIT, OPT_WORKERS, OPT_PREFETCH, OPT_SHUFFLE, OPT_NO_SHUFFLE,
	OPT_DROP_LAST, OPT_AUGMENT, OPT_NO_AUGMENT, OPT_LATENCY, OPT_COST, OPT_OPTIMIZER, OPT_MOMENTUM, OPT_EVAL_IMAGES,
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
	{ "loss-scaling", required_argument, 0, OPT_LOSS_SCALING },
	{ "loss-scale-init", required_argument, 0, OPT_LOSS_SCALE_INIT },
	{ "optimizer", required_argument, 0, OPT_OPTIMIZER },
	{ "momentum", required_argument, 0, OPT_MOMENTUM },
	{ "eval-images", required_argument, 0, OPT_EVAL_IMAGES },
	{ "help", no_argument, 0, OPT_HELP },
	{ "workers", required_argument, 0, OPT_WORKERS },
	{ "prefetch", required_argument, 0, OPT_PREFETCH },
	{ "shuffle", no_argument, 0, OPT_SHUFFLE },
	{ "no-shuffle", no_argument, 0, OPT_NO_SHUFFLE },
	{ "drop-last", no_argument, 0, OPT_DROP_LAST },
	{ "augment", no_argument, 0, OPT_AUGMENT },
	{ "no-augment", no_argument, 0, OPT_NO_AUGMENT },
	{ "data-latency-us", required_argument, 0, OPT_LATENCY },
	{ "data-cost", required_argument, 0, OPT_COST },
	{ 0, 0, 0, 0 },
};

static int parse_args(int argc, char **argv, struct tr_config *c)
{
	int opt, have_steps = 0, have_epochs = 0;
	int have_lr = 0, have_wd = 0, have_data = 0, have_optimizer = 0, have_seq = 0, have_eval_batches = 0;
	int have_eval_images = 0, have_momentum = 0, have_scale_init = 0;
	long v;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
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
		case OPT_DATA: {
			struct dl_spec spec;
			if ((rc = dl_spec_parse(a, &spec)))
				return rc;
			snprintf(c->data, sizeof c->data, "%s", a);
			have_data = 1;
			break;
		}
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
		case OPT_STEPS: rc = tr_parse_long("--steps", a, 1, TR_MAX_STEPS, &v); c->steps = v; have_steps = 1; break;
		case OPT_EPOCHS: rc = tr_parse_double("--epochs", a, 1e-6, 1e6, &c->epochs); have_epochs = 1; break;
		case OPT_WARMUP:
			rc = tr_parse_long("--warmup-steps", a, 0, 100000000, &v);
			c->warmup_steps = (int)v;
			c->warmup_steps_given = 1;
			break;
		case OPT_LR: rc = tr_parse_double("--lr", a, 0, 10, &c->lr); have_lr = 1; break;
		case OPT_LR_WARMUP: rc = tr_parse_long("--lr-warmup", a, 0, 100000000, &v); c->lr_warmup = (int)v; break;
		case OPT_WD: rc = tr_parse_double("--weight-decay", a, 0, 10, &c->weight_decay); have_wd = 1; break;
		case OPT_SEED: rc = tr_parse_seed("--seed", a, &c->seed); break;
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
		case OPT_LOSS_SCALING:
			if (strcmp(a, "auto") == 0)
				c->loss_scaling = -1;
			else if (strcmp(a, "on") == 0)
				c->loss_scaling = 1;
			else if (strcmp(a, "off") == 0)
				c->loss_scaling = 0;
			else
				return kn_error(KN_EUSAGE, "option '--loss-scaling' expects auto, on or off, got '%s'", a);
			break;
		case OPT_LOSS_SCALE_INIT:
			rc = tr_parse_double("--loss-scale-init", a, 1, 16777216, &c->loss_scale_init);
			have_scale_init = 1;
			break;
		case OPT_ID:
			if (!*a || strlen(a) >= sizeof c->id)
				return kn_error(KN_EUSAGE, "option '--id' expects 1 to %zu characters", sizeof c->id - 1);
			snprintf(c->id, sizeof c->id, "%s", a);
			break;
		case OPT_WORKERS: rc = tr_parse_long("--workers", a, 0, 256, &v); c->loader.workers = (int)v; break;
		case OPT_PREFETCH: rc = tr_parse_long("--prefetch", a, 1, 256, &v); c->loader.prefetch = (int)v; break;
		case OPT_SHUFFLE: c->loader.shuffle = 1; break;
		case OPT_NO_SHUFFLE: c->loader.shuffle = 0; break;
		case OPT_DROP_LAST: c->loader.drop_last = 1; break;
		case OPT_AUGMENT: c->loader.augment = 1; break;
		case OPT_NO_AUGMENT: c->loader.augment = 0; break;
		case OPT_LATENCY: rc = tr_parse_long("--data-latency-us", a, 0, 10000000, &c->loader.latency_us); break;
		case OPT_COST: rc = tr_parse_long("--data-cost", a, 0, 10000000, &c->loader.cost); break;
		case OPT_HELP:
		case 'h': return 1;
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
	} else {
		if (!tr_find_size(c->size))
			return kn_error(KN_EUSAGE, "option '--size' expects tiny, small or gpt2-124m, got '%s'", c->size);
		if (have_eval_images)
			return kn_error(KN_EUSAGE, "option '--eval-images' is for --model cnn; use '--eval-batches'");
		if (c->optimizer == TR_OPT_SGD)
			return kn_error(KN_EUSAGE, "option '--optimizer sgd' is for --model cnn; gpt trains with adamw");
	}
	/* the model's defaults for what is not given: the id compares a run against the same */
	struct tr_config d;
	tr_model_defaults(&d, c->model, c->size);
	if (!have_data)
		snprintf(c->data, sizeof c->data, "%s", d.data);
	if (!have_optimizer)
		c->optimizer = d.optimizer;
	if (c->optimizer == d.optimizer && !have_lr)
		c->lr = d.lr;
	if (c->optimizer == d.optimizer && !have_wd)
		c->weight_decay = d.weight_decay;
	if (have_scale_init && (c->loss_scaling == 0 || (c->loss_scaling < 0 && c->precision != KN_FP16)))
		return kn_error(KN_EUSAGE, "option '--loss-scale-init' needs loss scaling, which is off here (it runs for fp16 "
					   "by default, or with --loss-scaling on)");
	if (have_momentum && c->optimizer != TR_OPT_SGD)
		return kn_error(KN_EUSAGE, "option '--momentum' is for '--optimizer sgd'");
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
	else if (!cfg.quiet)
		print_summary(&rec);
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
