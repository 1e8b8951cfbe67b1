/*
 * trainer/gpt.h — a GPT-2-style transformer written once against kn_ops.
 *
 * Token + position embeddings, pre-LayerNorm blocks (causal multi-head
 * attention, tanh-GELU MLP), residuals, a final LayerNorm and an LM head tied
 * to the token embedding, trained with softmax cross-entropy.
 *
 * Memory (all through kn_alloc, so peak and --device-mem-limit apply):
 * parameters are 16 tensors in one buffer in GPT-2 order (wte, wpe, ln1w,
 * ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw,
 * fcprojb, lnfw, lnfb), each covering all layers. Master weights and AdamW
 * moments are master-typed; compute weights and gradients are act-typed (the
 * compute buffer aliases the master on backends where the types agree).
 * Activations are kept per layer for backward; activation gradients are kept
 * for one layer at a time, and the residual stream's gradient is one buffer
 * that every block adds into.
 *
 * Lifecycle: tr_gpt_init() builds the parameters on `be` (which must outlive
 * the model) and sizes activations for batches of B x T; tr_gpt_release()
 * frees everything it allocated.
 */
#ifndef TR_GPT_H
#define TR_GPT_H

#include <stddef.h>
#include <stdint.h>

struct kn_backend;

struct tr_gpt_config {
	int max_seq;  /* context length (rows of wpe) */
	int vocab;
	int layers;
	int heads;
	int channels;
};

enum { TR_GPT_NPARAMS = 16 };
extern const char *const tr_gpt_param_names[TR_GPT_NPARAMS];

struct tr_gpt_acts {
	void *encoded, *ln1, *qkv, *atty, *att, *residual2, *ln2, *fch, *fch_gelu, *residual3, *lnf, *logits;
	void *proj;                         /* attention / MLP projection output, one layer, reused */
	void *ln1_mean, *ln1_rstd, *ln2_mean, *ln2_rstd, *lnf_mean, *lnf_rstd, *losses; /* master-typed */
};

struct tr_gpt_grads {
	void *dres;      /* residual stream [B,T,C] */
	void *dln, *dqkv, *datty, *dfch, *datt; /* one layer's worth */
};

struct tr_gpt {
	struct tr_gpt_config cfg;
	struct kn_backend *be;
	size_t param_sizes[TR_GPT_NPARAMS];
	size_t num_params;
	void *master, *params, *grads, *m, *v;   /* params == master where the backend aliases */
	void *param_ptr[TR_GPT_NPARAMS];          /* into params */
	void *grad_ptr[TR_GPT_NPARAMS];           /* into grads */
	int B, T;                                 /* activation shape */
	struct tr_gpt_acts acts;
	struct tr_gpt_grads g;
	void *act_block, *master_block, *grad_block;
	size_t act_elems, master_elems, grad_elems;
	int *tokens, *targets;                    /* device [B*T]: the input slot in use */
	int *inputs_block;                        /* device: two input slots of tokens and targets */
	int adam_step;
	int flash;                                /* attention fused: acts.att holds lse [L,B,NH,T], master-typed */
};

/* Returns KN_OK, KN_EUSAGE for an inconsistent config, or KN_ENOMEM. */
int tr_gpt_init(struct tr_gpt *m, struct kn_backend *be, const struct tr_gpt_config *cfg, int B, int T, uint64_t seed);
void tr_gpt_release(struct tr_gpt *m);

/* Input slots (a double buffer, so one batch's copy overlaps the step before):
 * stage starts copying a host batch (int32 [B*T] each, kn_host_alloc memory
 * for the copy to be asynchronous) into slot 0 or 1 (kn_copy_h2d_async);
 * use makes the next ops read that slot. */
int tr_gpt_stage_batch(struct tr_gpt *m, int slot, const int *inputs, const int *targets);
int tr_gpt_use_batch(struct tr_gpt *m, int slot);
/* stage into slot 0 and use it */
int tr_gpt_upload_batch(struct tr_gpt *m, const int *inputs, const int *targets);
/* Forward over the uploaded batch of B x T (T <= the sized T); returns the mean
 * loss via *loss (synchronises). */
int tr_gpt_forward(struct tr_gpt *m, int T, double *loss);
/* Zeroes parameter gradients, then backpropagates the last forward's mean loss
 * multiplied by loss_scale. */
void tr_gpt_backward(struct tr_gpt *m, float loss_scale);
/* Global L2 norm of the gradients (synchronises). */
double tr_gpt_grad_norm(struct tr_gpt *m);
/* One AdamW step; weight decay applies to matrices and embeddings only. */
void tr_gpt_update(struct tr_gpt *m, float lr, float beta1, float beta2, float eps, float weight_decay,
		   float grad_scale);

size_t tr_gpt_count_params(const struct tr_gpt_config *cfg);
/* Training FLOPs per token for context T: 6 x matmul parameters + 12 x L x C x T (attention). */
double tr_gpt_flops_per_token(const struct tr_gpt_config *cfg, int T);

#endif
