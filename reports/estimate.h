/*
 * reports/estimate.h — memory and FLOPs of a training or inference step,
 * before running it, also for models far too large to run here.
 *
 * Memory is split the way a person would reason about it: weights (the copy
 * the kernels compute with), gradients, optimizer state, fp32 master weights
 * (mixed precision only), activations (everything sized by batch x sequence:
 * what forward keeps for backward, backward's scratch, the KV cache when
 * inferring) and workspace (the GPU runtime). Precision sets the element
 * sizes: fp32/tf32 keep everything in 4 bytes; fp16/bf16 keep weights,
 * gradients and activations in 2 bytes and master weights and optimizer state
 * in 4 (the design's mixed-precision scheme).
 *
 * Families live in a table (estimate.c) with one function each: `gpt` (our
 * GPT, exactly as trainer/gpt.c lays out its buffers, from the presets in
 * trainer/config.c; or a generic GPT-style transformer from --params) and
 * `cnn` (a generic ResNet-shaped CNN from --params, scaled from ResNet-50).
 * A new family or preset is one entry and one function.
 */
#ifndef RP_ESTIMATE_H
#define RP_ESTIMATE_H

#include "kernels/precision.h"

enum rp_est_mode { RP_EST_TRAIN, RP_EST_INFER };
enum rp_est_optim { RP_OPT_ADAMW, RP_OPT_SGD };

#define RP_GPU_RUNTIME_BYTES (512.0 * 1048576.0) /* CUDA context + cuBLAS/cuDNN workspaces */
/* A generic transformer's resolved shape may hold at most this many times the --params asked
 * for (d_model is rounded to a multiple of 64); beyond it the count is refused as too small. */
#define RP_SHAPE_PARAMS_SLACK 1.5

struct rp_est_input {
	char model[16];   /* a family name: "gpt", "cnn" */
	char size[32];    /* a preset of the family; "" with params > 0 for a generic model */
	double params;    /* generic model: parameter count */
	int layers, d_model, heads, vocab; /* generic transformer shape; 0 = derived from params */
	int image;        /* cnn: input side in pixels; 0 = 224 */
	int batch, seq;   /* seq 0 = the preset's context, or 2048 for a generic transformer */
	enum kn_precision precision;
	enum rp_est_mode mode;
	enum rp_est_optim optimizer;
	int on_gpu;       /* count the GPU runtime's workspace */
	int cuda_layout;  /* our presets as the CUDA backend lays them out (fused attention where it applies) */
};

struct rp_estimate {
	double params, matmul_params;
	int layers, d_model, heads, vocab, seq;
	double weights, grads, optimizer, master, activations, workspace, total; /* bytes */
	double flops_per_step;
	int tier;           /* smallest of rp_tier_gib holding total + 10%; -1 beyond the largest */
	int exact;          /* 1 when the layout is our own model's, byte for byte */
	char shape[256];    /* how the model was resolved */
	char assumptions[512];
};

/* KN_OK, or KN_EUSAGE naming the option that is missing or inconsistent. */
int rp_estimate(const struct rp_est_input *in, struct rp_estimate *out);
/* Names of the families, for help and errors: "gpt, cnn". */
const char *rp_estimate_families(void);

#endif
