#include "reports/estimate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/error.h"
#include "reports/tiers.h"
#include "trainer/cnn.h"
#include "trainer/config.h"
#include "trainer/gpt.h"

struct family {
	const char *name;
	int (*estimate)(const struct rp_est_input *in, struct rp_estimate *out);
};

/* Bytes of the elements that scale with the parameter count. */
static void parameter_state(const struct rp_est_input *in, struct rp_estimate *e)
{
	int mixed = in->precision == KN_FP16 || in->precision == KN_BF16;
	double act = mixed ? 2 : 4, np = e->params;
	e->weights = np * act;
	if (in->mode == RP_EST_INFER)
		return;
	e->grads = np * act;
	e->master = mixed ? np * 4 : 0;
	e->optimizer = np * 4 * (in->optimizer == RP_OPT_ADAMW ? 2 : 1);
}

static double act_bytes(const struct rp_est_input *in)
{
	return in->precision == KN_FP16 || in->precision == KN_BF16 ? 2 : 4;
}

/* ---- transformers ----------------------------------------------------- */

/* Layers of the GPT-3 family nearest a parameter count (Brown et al. 2020, table 2.1; 33B and 65B as LLaMA). */
static int layers_for(double params)
{
	static const double p[] = { 125e6, 350e6, 760e6, 1.3e9, 2.7e9, 6.7e9, 13e9, 33e9, 65e9, 175e9 };
	static const int l[] = { 12, 24, 24, 24, 32, 32, 40, 60, 80, 96 };
	int best = 0;
	for (int i = 1; i < (int)(sizeof p / sizeof *p); i++)
		if (fabs(log(params / p[i])) < fabs(log(params / p[best])))
			best = i;
	return l[best];
}

/* Our presets on the CUDA backend in bf16/fp16: fused attention keeps one fp32
 * log-sum-exp per row instead of each layer's softmax, and needs no [T,T] scratch. */
static int fused_attention(const struct rp_est_input *in, const struct rp_estimate *e)
{
	return in->size[0] && in->cuda_layout && (in->precision == KN_BF16 || in->precision == KN_FP16) &&
	       kn_flash_attention_shape_ok(e->d_model, e->heads);
}

/* The transformer's activation bytes for B x T, laid out as trainer/gpt.c does. */
static double transformer_activations(const struct rp_est_input *in, const struct rp_estimate *e)
{
	double B = in->batch, T = e->seq, C = e->d_model, L = e->layers, NH = e->heads, V = e->vocab;
	double BT = B * T, att = B * NH * T * T, ab = act_bytes(in);
	double tokens = 4 * BT * 4; /* inputs and targets, int32, in two input slots */
	if (in->mode == RP_EST_INFER) {
		/* one layer's activations live at a time, the KV cache for every layer, logits for every position */
		double kv = 2 * L * BT * C;
		return (BT * C * 2 + 16 * BT * C + att + BT * V + kv) * ab + BT * 4;
	}
	int fused = fused_attention(in, e);
	double lse = fused ? L * B * NH * T * 4 : 0;
	if (fused)
		att = 0;
	double kept = BT * C + L * (16 * BT * C + att) + BT * C + BT * V + BT * C; /* encoded, layers, lnf, logits, proj */
	double stats = (4 * L * BT + 3 * BT) * 4;                                    /* LayerNorm mean/rstd, losses */
	double scratch = 10 * BT * C + att;                                          /* one layer's activation grads */
	return (kept + scratch) * ab + stats + lse + tokens;
}

static int est_gpt(const struct rp_est_input *in, struct rp_estimate *e)
{
	if (in->size[0]) {
		const struct tr_size_preset *p = tr_find_size(in->size);
		if (!p)
			return kn_error(KN_EUSAGE, "option '--size' expects tiny, small or gpt2-124m for --model gpt, got '%s'",
					in->size);
		e->layers = p->gpt.layers, e->d_model = p->gpt.channels, e->heads = p->gpt.heads, e->vocab = p->gpt.vocab;
		e->seq = in->seq ? in->seq : p->gpt.max_seq;
		if (e->seq > p->gpt.max_seq)
			return kn_error(KN_EUSAGE, "option '--seq' is %d, beyond the '%s' model's context of %d", e->seq,
					in->size, p->gpt.max_seq);
		e->params = (double)tr_gpt_count_params(&p->gpt);
		e->flops_per_step = tr_gpt_flops_per_token(&p->gpt, e->seq) * in->batch * e->seq;
		/* on CUDA the backend's scratch and library workspaces also go through the allocator */
		e->exact = in->mode == RP_EST_TRAIN && !in->cuda_layout;
		snprintf(e->shape, sizeof e->shape, "GPT '%s' preset: %d layers, d_model %d, %d heads, vocab %d, context %d",
			 in->size, e->layers, e->d_model, e->heads, e->vocab, p->gpt.max_seq);
		if (in->mode == RP_EST_TRAIN)
			snprintf(e->assumptions, sizeof e->assumptions, "amptune's own layout%s%s",
				 fused_attention(in, e) ? " on CUDA: fused attention keeps a log-sum-exp per row, not the softmax"
					 : ": every layer's softmax kept for backward",
				 in->cuda_layout ? "; the CUDA backend's scratch (attention, reductions) and cuBLASLt workspace "
						   "not counted byte for byte"
						 : "");
	} else {
		if (!(in->params > 0))
			return kn_error(KN_EUSAGE, "--model gpt needs --size tiny|small|gpt2-124m or --params N");
		e->vocab = in->vocab ? in->vocab : 50304;
		e->seq = in->seq ? in->seq : 2048;
		e->params = in->params;
		e->layers = in->layers;
		e->d_model = in->d_model;
		if (!e->layers && e->d_model) /* 12 L C^2 + (V + T) C = P */
			e->layers = (int)fmax(1, round((in->params - (e->vocab + e->seq) * (double)e->d_model) /
						       (12.0 * e->d_model * e->d_model)));
		if (!e->layers)
			e->layers = layers_for(in->params);
		if (!e->d_model) {
			double k = e->vocab + e->seq, L = e->layers;
			double c = (-k + sqrt(k * k + 48 * L * in->params)) / (24 * L);
			e->d_model = (int)fmax(64, round(c / 64) * 64);
		}
		/* heads of 64 as in GPT-2 and the GPT-3 family up to 1.3B (d_model 2048), of 128 above (GPT-3
		 * 6.7B and up, LLaMA); the attention matrices this layout keeps scale with the head count */
		if (in->heads && e->d_model % in->heads)
			return kn_error(KN_EUSAGE, "option '--heads' is %d, which does not divide d_model %d", in->heads,
					e->d_model);
		e->heads = in->heads ? in->heads
				     : e->d_model > 2048 && e->d_model % 128 == 0 ? e->d_model / 128
				     : e->d_model % 64 == 0			     ? e->d_model / 64
										     : 1; /* a d_model given off the grid: one head */
		double shape_params = 12.0 * e->layers * e->d_model * (double)e->d_model + (e->vocab + e->seq) * (double)e->d_model;
		/* the embeddings and d_model's floor of 64 set a minimum: never estimate a shape far bigger than asked */
		if (shape_params > RP_SHAPE_PARAMS_SLACK * in->params)
			return kn_error(KN_EUSAGE,
					"option '--params' is %.4g, too few for a GPT-style transformer: the shape it resolves "
					"to (%d layers, d_model %d, vocab %d, context %d) has %.3gM parameters; ask for at "
					"least that many, or set a smaller shape with --layers, --d-model, --vocab and --seq",
					in->params, e->layers, e->d_model, e->vocab, e->seq, shape_params / 1e6);
		snprintf(e->shape, sizeof e->shape,
			 "generic GPT-style transformer: %d layers, d_model %d, %d head%s, vocab %d (a shape of %.3g%s parameters)",
			 e->layers, e->d_model, e->heads, e->heads == 1 ? "" : "s", e->vocab, shape_params / (shape_params < 1e9 ? 1e6 : 1e9),
			 shape_params < 1e9 ? "M" : "B");
		double C = e->d_model, L = e->layers;
		double matmul = 12 * L * C * C + e->vocab * C;
		e->flops_per_step = (6 * matmul + 12 * L * C * e->seq) * in->batch * e->seq;
		snprintf(e->assumptions, sizeof e->assumptions, "shape %s; %s",
			 in->layers && in->d_model ? "as given"
						   : "from the GPT-3 family's layers for this size, d_model solved from the parameter count",
			 in->mode == RP_EST_TRAIN ? "every layer's activations kept for backward, attention matrices included "
						    "(no recomputation, no flash attention)"
						  : "one forward over the whole sequence with a KV cache; one layer's "
						    "activations live at a time, attention matrix included");
	}
	e->matmul_params = 12.0 * e->layers * e->d_model * (double)e->d_model + e->vocab * (double)e->d_model;
	if (in->mode == RP_EST_INFER)
		e->flops_per_step /= 3; /* forward only: 2N + 4LCT per token of the 6N + 12LCT */
	parameter_state(in, e);
	e->activations = transformer_activations(in, e);
	return KN_OK;
}

/* ---- CNNs -------------------------------------------------------------- */

/* ResNet-50 at 224x224 (He et al. 2016): 25.6M parameters, 4.1 GMACs per
 * image forward; about 27M activation values per image kept for backward
 * (the outputs of every convolution, batch norm and ReLU) and 0.8M in its
 * largest layer (the stem's 112x112x64). */
#define REF_PARAMS 25.6e6
#define REF_MACS 4.1e9
#define REF_KEPT 27e6
#define REF_LARGEST 802816.0

/* our own presets: exactly what trainer/cnn.c allocates */
static int est_cnn_preset(const struct rp_est_input *in, struct rp_estimate *e)
{
	const struct tr_cnn_preset *p = tr_find_cnn_preset(in->size);
	if (!p)
		return kn_error(KN_EUSAGE, "option '--size' expects tiny or resnet for --model cnn, got '%s'", in->size);
	if (in->image && in->image != p->cnn.height)
		return kn_error(KN_EUSAGE, "the cnn '%s' preset takes %dx%d images, not %d", in->size, p->cnn.height,
				p->cnn.width, in->image);
	int mixed = in->precision == KN_FP16 || in->precision == KN_BF16;
	struct tr_cnn_memory mem;
	int rc = tr_cnn_memory(&p->cnn, in->batch, in->optimizer == RP_OPT_SGD ? TR_OPT_SGD : TR_OPT_ADAMW, mixed ? 2 : 4, 4,
			       &mem);
	if (rc)
		return rc;
	e->params = e->matmul_params = (double)mem.params;
	e->seq = 0;
	parameter_state(in, e);
	double B = in->batch;
	if (in->mode == RP_EST_INFER) {
		/* a layer at a time: the largest convolution's input and output maps, and the input batch */
		e->activations = (double)tr_cnn_largest_unit_maps(&p->cnn) * B * (mixed ? 2 : 4) +
				 B * p->cnn.in_channels * p->cnn.height * p->cnn.width * 4.0;
		e->flops_per_step = tr_cnn_flops_per_image(&p->cnn) / 3 * B;
	} else {
		e->activations = (double)(mem.activation_bytes + mem.stats_bytes);
		e->flops_per_step = tr_cnn_flops_per_image(&p->cnn) * B;
		e->exact = 1;
	}
	/* cuDNN's workspace is chosen at run time from the memory left, down to algorithms that need
	 * none: not counted, so a point over budget is over it whatever cuDNN picks */
	e->workspace = in->cuda_layout ? 0 : (double)mem.workspace_bytes;
	e->exact &= !in->cuda_layout;
	snprintf(e->shape, sizeof e->shape, "CNN '%s' preset: %dx%dx%d images, %d classes, %.3gM parameters", in->size,
		 p->cnn.in_channels, p->cnn.height, p->cnn.width, p->cnn.classes, mem.params / 1e6);
	const char *ws = in->cuda_layout ? "cuDNN's convolution workspace not counted (chosen at run time: up to half "
					   "the memory left, at most 256 MiB, none if need be)"
					 : "convolution workspace as the CPU kernels size it";
	if (in->mode == RP_EST_INFER)
		snprintf(e->assumptions, sizeof e->assumptions,
			 "inference a unit at a time: the largest unit's convolution input and output maps and the residual "
			 "map it adds, and the input images, per image; %s",
			 ws);
	else
		snprintf(e->assumptions, sizeof e->assumptions,
			 "the layout of trainer/cnn.c: every unit's convolution and batch-norm outputs kept for backward, "
			 "four gradient buffers of the largest map, %s",
			 ws);
	return KN_OK;
}

static int est_cnn(const struct rp_est_input *in, struct rp_estimate *e)
{
	if (in->size[0])
		return est_cnn_preset(in, e);
	if (!(in->params > 0))
		return kn_error(KN_EUSAGE, "--model cnn needs --params N");
	if (in->params < 1e5) /* a ResNet-50 scaled down that far is no network */
		return kn_error(KN_EUSAGE, "option '--params' is %.6g, too few for the generic cnn, which scales ResNet-50 "
					   "(25.6M parameters) and means nothing below 100k: for a small cnn use a preset "
					   "(--size tiny, 77.8k parameters)",
				in->params);
	int side = in->image ? in->image : 224;
	double scale = in->params / REF_PARAMS, area = (double)side * side / (224.0 * 224.0), B = in->batch;
	e->params = e->matmul_params = in->params;
	e->seq = 0;
	snprintf(e->shape, sizeof e->shape, "generic ResNet-shaped CNN of %.3gM parameters on %dx%d images", in->params / 1e6,
		 side, side);
	snprintf(e->assumptions, sizeof e->assumptions,
		 "scaled from ResNet-50 at 224x224 (25.6M parameters, 4.1 GMACs, ~27M activation values kept per image): "
		 "FLOPs and kept activations grow with parameters (deeper network) and with image area");
	parameter_state(in, e);
	double ab = act_bytes(in);
	if (in->mode == RP_EST_INFER)
		e->activations = 2 * REF_LARGEST * area * B * ab; /* a layer's input and output at a time */
	else
		e->activations = REF_KEPT * scale * area * B * ab * 1.1 + B * side * side * 3 * 4; /* + backward scratch, input */
	e->flops_per_step = 2 * REF_MACS * scale * area * B * (in->mode == RP_EST_INFER ? 1 : 3);
	return KN_OK;
}

static const struct family families[] = {
	{ "gpt", est_gpt },
	{ "cnn", est_cnn },
};

const char *rp_estimate_families(void) { return "gpt, cnn"; }

int rp_estimate(const struct rp_est_input *in, struct rp_estimate *e)
{
	memset(e, 0, sizeof *e);
	if (in->batch < 1)
		return kn_error(KN_EUSAGE, "option '--batch' must be at least 1");
	const struct family *f = NULL;
	for (size_t i = 0; i < sizeof families / sizeof *families; i++)
		if (strcmp(families[i].name, in->model) == 0)
			f = &families[i];
	if (!f)
		return kn_error(KN_EUSAGE, "option '--model' expects %s, got '%s'", rp_estimate_families(), in->model);
	int rc = f->estimate(in, e);
	if (rc)
		return rc;
	e->workspace += in->on_gpu ? RP_GPU_RUNTIME_BYTES : 0;
	e->total = e->weights + e->grads + e->optimizer + e->master + e->activations + e->workspace;
	e->tier = rp_tier_for(e->total, RP_TIER_HEADROOM);
	return KN_OK;
}
