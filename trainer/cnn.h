/*
 * trainer/cnn.h — a small residual CNN (ResNet "basic blocks") written once
 * against kn_ops.
 *
 * stem:   3x3 conv (in -> widths[0], stride 1) + BN + ReLU
 * stages: blocks[s] basic blocks of widths[s] channels; the first block of
 *         every stage after the first halves the resolution (stride 2) and
 *         its shortcut is a 1x1 stride-2 conv + BN; the others are identity.
 *         A basic block is relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x)).
 * head:   global average pool, fully connected layer to `classes` logits,
 *         softmax cross-entropy.
 * Convolutions have no bias (BN follows each one). Activations are NHWC.
 *
 * Memory (all through kn_alloc): parameters are one buffer in forward order
 * (per conv: weight [OC,K,K,C], BN weight, BN bias; then the FC weight
 * [classes, C] and bias); BN running means and variances are a separate
 * master-typed buffer (not trained). Per conv the model keeps its output and
 * its BN(+ReLU) output for backward; four activation-gradient buffers of the
 * largest map size rotate through backward; one conv workspace serves every
 * layer. Optimizer state: AdamW moments, or one SGD velocity.
 *
 * Lifecycle: tr_cnn_init() builds the model on `be` (which must outlive it),
 * sized for batches of up to B images; tr_cnn_release() frees everything.
 */
#ifndef TR_CNN_H
#define TR_CNN_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"

#define TR_CNN_MAX_STAGES 4
/* stem + 3 convs per block, at most 8 blocks per stage */
#define TR_CNN_MAX_UNITS (1 + TR_CNN_MAX_STAGES * 8 * 3)

enum tr_optimizer { TR_OPT_ADAMW, TR_OPT_SGD };

struct tr_cnn_config {
	int in_channels, height, width, classes;
	int stages;                        /* 1 .. TR_CNN_MAX_STAGES */
	int widths[TR_CNN_MAX_STAGES];     /* channels per stage */
	int blocks[TR_CNN_MAX_STAGES];     /* basic blocks per stage, 1 .. 8 */
};

/* One conv + BN (+ residual add) (+ ReLU): the steps forward and backward walk. */
struct tr_cnn_unit {
	struct kn_conv_shape shape;  /* N is set per call */
	int OH, OW;
	int relu;                    /* ReLU after BN (and after the residual add) */
	int residual;                /* unit whose output is added before the ReLU; -1 none */
	int input;                   /* unit whose output is this conv's input; -1 the images */
	size_t w_off, bnw_off, bnb_off;  /* into params/grads (elements) */
	size_t stat_off;             /* running mean at stat_off, running variance at stat_off + OC */
	void *conv, *out;            /* act-typed [B, OH, OW, OC] */
	void *mean, *rstd;           /* master-typed [OC] */
};

/* A basic block: units c1 and c2, projection shortcut sc (-1: identity), input unit in. */
struct tr_cnn_block {
	int c1, c2, sc, in;
};

struct tr_cnn {
	struct tr_cnn_config cfg;
	struct kn_backend *be;
	enum tr_optimizer optimizer;
	int B;                                   /* largest batch */
	int nunits, nblocks;
	struct tr_cnn_unit units[TR_CNN_MAX_UNITS];
	struct tr_cnn_block blocks[TR_CNN_MAX_STAGES * 8];
	size_t num_params, fcw_off, fcb_off, num_stats;
	void *master, *params, *grads, *m, *v;   /* v is NULL for SGD (m is its velocity) */
	void *stats;                             /* master-typed running means and variances */
	void *inputs_block;                      /* device: two input slots, each images then labels */
	int slot_n[2];                           /* images staged in each slot */
	void *images_f32;                        /* device float [B, C, H, W]: the slot in use */
	void *images;                            /* act-typed NHWC [B, H, W, C] */
	int *labels;                             /* device [B]: the slot in use */
	void *pooled, *logits, *dpooled;         /* [B, C_last], [B, classes], [B, C_last] */
	void *losses;                            /* master-typed [B] */
	void *dbuf[4];                           /* activation gradients, max map size each */
	void *work;
	size_t work_bytes, max_map, act_elems, master_elems;
	void *act_block, *master_block;
	int n;                                   /* images in the last forward */
	int opt_step;
};

/* Returns KN_OK, KN_EUSAGE for an inconsistent config, or KN_ENOMEM. */
/* What tr_cnn_init would allocate for batches of B, without allocating: the
 * estimator's exact answer for our own presets. Parameter state (weights,
 * gradients, master, optimizer) follows from params and the element sizes. */
struct tr_cnn_memory {
	size_t params;
	size_t stats_bytes;       /* batch-norm running statistics */
	size_t activation_bytes;  /* kept activations, their gradients' scratch, the input batch */
	size_t workspace_bytes;   /* convolution workspace */
};
/* The most elements one unit holds at once per image (its convolution's input and output maps, and
 * the residual map it adds): what inference holds at a time, a layer after another. 0 when the
 * config is invalid. */
size_t tr_cnn_largest_unit_maps(const struct tr_cnn_config *cfg);
int tr_cnn_memory(const struct tr_cnn_config *cfg, int B, enum tr_optimizer optimizer, size_t act_bytes,
		  size_t master_bytes, struct tr_cnn_memory *mem);
int tr_cnn_init(struct tr_cnn *m, struct kn_backend *be, const struct tr_cnn_config *cfg, int B,
		enum tr_optimizer optimizer, uint64_t seed);
void tr_cnn_release(struct tr_cnn *m);

/* Input slots, a double buffer as for the GPT (see tr_gpt_stage_batch): stage
 * starts copying n <= B host images (float [n, C, H, W], the loader's layout)
 * and labels (int [n], each in [0, classes): checked here) into slot 0 or 1;
 * use makes the next forward read that slot (converting it to NHWC). */
int tr_cnn_stage_batch(struct tr_cnn *m, int slot, const float *images, const int *labels, int n);
int tr_cnn_use_batch(struct tr_cnn *m, int slot);
/* stage into slot 0 and use it */
int tr_cnn_upload_batch(struct tr_cnn *m, const float *images, const int *labels, int n);
/* Forward over the uploaded n images: train != 0 uses batch statistics and
 * moves the BN running statistics; train == 0 uses the running statistics.
 * Returns the mean loss via *loss and the number of correct argmax
 * predictions via *correct (either may be NULL); synchronises. */
int tr_cnn_forward(struct tr_cnn *m, int train, double *loss, long *correct);
/* Zeroes parameter gradients, then backpropagates the last (training) forward's
 * mean loss multiplied by loss_scale. */
void tr_cnn_backward(struct tr_cnn *m, float loss_scale);
/* Global L2 norm of the gradients (synchronises). */
double tr_cnn_grad_norm(struct tr_cnn *m);
/* One optimizer step. AdamW uses beta1/beta2/eps; SGD uses beta1 as momentum.
 * Weight decay applies to conv and FC weights only (not BN or the FC bias). */
void tr_cnn_update(struct tr_cnn *m, float lr, float beta1, float beta2, float eps, float weight_decay,
		   float grad_scale);

size_t tr_cnn_count_params(const struct tr_cnn_config *cfg);
/* FLOPs of one training step per image: forward, backward-data (not for the
 * stem, whose input needs no gradient) and backward-filter of every conv and
 * of the FC layer, 2 per multiply-add. */
double tr_cnn_flops_per_image(const struct tr_cnn_config *cfg);

#endif
