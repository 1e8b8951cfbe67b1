#include "trainer/cnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_loader/rng.h"
#include "kernels/backend.h"
#include "kernels/cpu/ops.h"

#define BN_MOMENTUM 0.1f
#define AT(p, off, es) ((void *)((char *)(p) + (size_t)(off) * (es)))

/* Adds one conv + BN unit reading unit `input`'s map of H x W x C. */
static int add_unit(struct tr_cnn *m, int input, int H, int W, int C, int OC, int K, int stride, int relu,
		    int residual)
{
	if (m->nunits >= TR_CNN_MAX_UNITS)
		return -1;
	struct tr_cnn_unit *u = &m->units[m->nunits];
	memset(u, 0, sizeof *u);
	u->shape = (struct kn_conv_shape){ 0, H, W, C, OC, K, stride, K / 2 };
	u->OH = kn_conv_out_dim(H, K, stride, K / 2);
	u->OW = kn_conv_out_dim(W, K, stride, K / 2);
	u->relu = relu;
	u->residual = residual;
	u->input = input;
	u->w_off = m->num_params;
	u->bnw_off = u->w_off + (size_t)OC * K * K * C;
	u->bnb_off = u->bnw_off + OC;
	m->num_params = u->bnb_off + OC;
	u->stat_off = m->num_stats;
	m->num_stats += 2 * (size_t)OC;
	return m->nunits++;
}

/* Fills units, blocks and parameter offsets from m->cfg; allocates nothing. */
static int plan(struct tr_cnn *m)
{
	const struct tr_cnn_config *c = &m->cfg;
	if (c->in_channels < 1 || c->height < 1 || c->width < 1 || c->classes < 2 || c->stages < 1 ||
	    c->stages > TR_CNN_MAX_STAGES)
		return kn_error(KN_EUSAGE, "cnn config: need at least 1 input channel, a 1x1 image, 2 classes and "
					   "1 to %d stages",
				TR_CNN_MAX_STAGES);
	for (int s = 0; s < c->stages; s++)
		if (c->widths[s] < 1 || c->widths[s] > 4096 || c->blocks[s] < 1 || c->blocks[s] > 8)
			return kn_error(KN_EUSAGE, "cnn config: stage %d needs 1 to 4096 channels and 1 to 8 blocks", s);
	m->nunits = m->nblocks = 0;
	m->num_params = m->num_stats = 0;
	int H = c->height, W = c->width, C = c->widths[0];
	int prev = add_unit(m, -1, H, W, c->in_channels, C, 3, 1, 1, -1);
	for (int s = 0; s < c->stages; s++) {
		for (int b = 0; b < c->blocks[s]; b++) {
			int OC = c->widths[s], stride = (s > 0 && b == 0) ? 2 : 1;
			struct tr_cnn_block *blk = &m->blocks[m->nblocks++];
			blk->in = prev;
			blk->c1 = add_unit(m, prev, H, W, C, OC, 3, stride, 1, -1);
			int OH = m->units[blk->c1].OH, OW = m->units[blk->c1].OW;
			blk->sc = (stride != 1 || OC != C) ? add_unit(m, prev, H, W, C, OC, 1, stride, 0, -1) : -1;
			blk->c2 = add_unit(m, blk->c1, OH, OW, OC, OC, 3, 1, 1, blk->sc >= 0 ? blk->sc : prev);
			prev = blk->c2;
			H = OH;
			W = OW;
			C = OC;
		}
	}
	m->fcw_off = m->num_params;
	m->fcb_off = m->fcw_off + (size_t)c->classes * C;
	m->num_params = m->fcb_off + c->classes;
	return KN_OK;
}

static int last_channels(const struct tr_cnn_config *c) { return c->widths[c->stages - 1]; }

/* A planned (not allocated) model for cfg, or NULL; the caller frees it. */
static struct tr_cnn *planned(const struct tr_cnn_config *cfg)
{
	struct tr_cnn *m = calloc(1, sizeof *m);
	if (m) {
		m->cfg = *cfg;
		if (plan(m) != KN_OK) {
			free(m);
			m = NULL;
		}
	}
	return m;
}

size_t tr_cnn_count_params(const struct tr_cnn_config *cfg)
{
	struct tr_cnn *m = planned(cfg);
	size_t n = m ? m->num_params : 0;
	free(m);
	return n;
}

double tr_cnn_flops_per_image(const struct tr_cnn_config *cfg)
{
	struct tr_cnn *m = planned(cfg);
	double flops = 0;
	if (!m)
		return 0;
	for (int i = 0; i < m->nunits; i++) {
		const struct tr_cnn_unit *u = &m->units[i];
		double macs = (double)u->OH * u->OW * u->shape.OC * u->shape.K * u->shape.K * u->shape.C;
		flops += 2 * macs * (u->input < 0 ? 2 : 3);
	}
	flops += 2.0 * 3 * last_channels(cfg) * cfg->classes;
	free(m);
	return flops;
}

size_t tr_cnn_largest_unit_maps(const struct tr_cnn_config *cfg)
{
	struct tr_cnn *m = planned(cfg);
	size_t most = 0;
	if (!m)
		return 0;
	for (int i = 0; i < m->nunits; i++) {
		const struct tr_cnn_unit *u = &m->units[i];
		size_t in = (size_t)u->shape.H * u->shape.W * u->shape.C, out = (size_t)u->OH * u->OW * u->shape.OC;
		size_t live = in + out + (u->residual >= 0 ? out : 0); /* a residual add reads one more map */
		if (live > most)
			most = live;
	}
	free(m);
	return most;
}

static int decays(const struct tr_cnn *m, size_t off, size_t *len)
{
	for (int i = 0; i < m->nunits; i++) {
		const struct tr_cnn_unit *u = &m->units[i];
		if (off == u->w_off) {
			*len = u->bnw_off - u->w_off;
			return 1;
		}
		if (off == u->bnw_off) {
			*len = 2 * (size_t)u->shape.OC;
			return 0;
		}
	}
	if (off == m->fcw_off) {
		*len = m->fcb_off - m->fcw_off;
		return 1;
	}
	*len = m->num_params - off;
	return 0;
}

/* Kaiming-normal conv weights (fan-out, as torchvision's ResNet), BN weight 1
 * and bias 0, PyTorch's uniform(+-1/sqrt(fan_in)) FC; drawn in double on the
 * host. Running means start at 0, running variances at 1. */
static int init_params(struct tr_cnn *m, uint64_t seed)
{
	size_t n = m->num_params > m->num_stats ? m->num_params : m->num_stats;
	double *host = malloc(n * sizeof *host);
	if (!host)
		return kn_error(KN_ENOMEM, "out of memory initialising %zu parameters", m->num_params);
	for (size_t i = 0; i < m->num_params; i++)
		host[i] = 0;
	for (int i = 0; i < m->nunits; i++) {
		const struct tr_cnn_unit *u = &m->units[i];
		struct dl_rng r;
		dl_rng_init(&r, dl_hash64(seed, 0xc0ffee, (uint64_t)i));
		double std = sqrt(2.0 / ((double)u->shape.OC * u->shape.K * u->shape.K));
		for (size_t k = u->w_off; k < u->bnw_off; k++)
			host[k] = std * dl_rng_normal(&r);
		for (size_t k = u->bnw_off; k < u->bnb_off; k++)
			host[k] = 1.0;
	}
	struct dl_rng r;
	dl_rng_init(&r, dl_hash64(seed, 0xc0ffee, (uint64_t)m->nunits));
	double bound = 1.0 / sqrt((double)last_channels(&m->cfg));
	for (size_t k = m->fcw_off; k < m->num_params; k++)
		host[k] = bound * (2.0 * dl_rng_uniform(&r) - 1.0);
	int rc = m->be->vt->upload(m->be, m->master, host, m->num_params, 1);
	for (int i = 0; i < m->nunits && rc == KN_OK; i++) {
		const struct tr_cnn_unit *u = &m->units[i];
		for (int c = 0; c < u->shape.OC; c++) {
			host[u->stat_off + c] = 0.0;
			host[u->stat_off + u->shape.OC + c] = 1.0;
		}
	}
	if (rc == KN_OK)
		rc = m->be->vt->upload(m->be, m->stats, host, m->num_stats, 1);
	free(host);
	if (rc)
		return rc;
	m->be->ops->master_to_compute(m->params, m->master, m->num_params);
	return kn_sync(m->be);
}

static void *take(char *base, size_t *cursor, size_t n, size_t es)
{
	void *p = base ? base + *cursor * es : NULL;
	*cursor += n;
	return p;
}

/* Sizes (bases NULL) or assigns the activation and statistics buffers. */
static void layout(struct tr_cnn *m, char *act, char *mst, size_t *act_elems, size_t *mst_elems)
{
	size_t ae = m->be->act_bytes, me = m->be->master_bytes, a = 0, s = 0, B = m->B;
	size_t Cl = last_channels(&m->cfg);
	m->max_map = B * m->cfg.height * m->cfg.width * m->cfg.in_channels;
	m->images = take(act, &a, m->max_map, ae);
	for (int i = 0; i < m->nunits; i++) {
		struct tr_cnn_unit *u = &m->units[i];
		size_t map = B * u->OH * u->OW * u->shape.OC;
		u->conv = take(act, &a, map, ae);
		u->out = take(act, &a, map, ae);
		u->mean = take(mst, &s, u->shape.OC, me);
		u->rstd = take(mst, &s, u->shape.OC, me);
		if (map > m->max_map)
			m->max_map = map;
	}
	m->pooled = take(act, &a, B * Cl, ae);
	m->dpooled = take(act, &a, B * Cl, ae);
	m->logits = take(act, &a, B * m->cfg.classes, ae);
	for (int i = 0; i < 4; i++)
		m->dbuf[i] = take(act, &a, m->max_map, ae);
	m->losses = take(mst, &s, B, me);
	*act_elems = a;
	*mst_elems = s;
}

/* One convolution workspace for every layer: the largest any asks of the backend at batch B. */
static size_t workspace_bytes(const struct tr_cnn *m)
{
	size_t work = 0;
	for (int i = 0; i < m->nunits; i++) {
		struct kn_conv_shape s = m->units[i].shape;
		s.N = m->B;
		size_t w = m->be->ops->conv2d_workspace_bytes(&s);
		work = w > work ? w : work;
	}
	return work;
}

/* one input slot: B float images, then B int labels */
static size_t slot_bytes(const struct tr_cnn_config *cfg, int B)
{
	return (size_t)B * cfg->in_channels * cfg->height * cfg->width * sizeof(float) + (size_t)B * sizeof(int);
}

int tr_cnn_memory(const struct tr_cnn_config *cfg, int B, enum tr_optimizer optimizer, size_t act_bytes,
		  size_t master_bytes, struct tr_cnn_memory *mem)
{
	/* the same plan and layout tr_cnn_init runs, on a backend that only has
	 * element sizes; convolution workspace as the CPU kernels size it */
	struct kn_backend sizes = { .act_bytes = act_bytes, .master_bytes = master_bytes, .ops = &kn_cpu32_ops };
	struct tr_cnn *m = calloc(1, sizeof *m);
	int rc;
	if (!m)
		return kn_error(KN_ENOMEM, "out of memory sizing the cnn");
	m->cfg = *cfg;
	m->be = &sizes;
	m->B = B;
	m->optimizer = optimizer;
	if (B < 1) {
		free(m);
		return kn_error(KN_EUSAGE, "cnn batch must be at least 1, got %d", B);
	}
	if ((rc = plan(m))) {
		free(m);
		return rc;
	}
	layout(m, NULL, NULL, &m->act_elems, &m->master_elems);
	size_t work = workspace_bytes(m);
	mem->params = m->num_params;
	mem->stats_bytes = m->num_stats * master_bytes;
	mem->activation_bytes = m->act_elems * act_bytes + m->master_elems * master_bytes + 2 * slot_bytes(cfg, B);
	mem->workspace_bytes = work;
	free(m);
	return KN_OK;
}

int tr_cnn_init(struct tr_cnn *m, struct kn_backend *be, const struct tr_cnn_config *cfg, int B,
		enum tr_optimizer optimizer, uint64_t seed)
{
	int rc;
	memset(m, 0, sizeof *m);
	m->cfg = *cfg;
	m->be = be;
	m->B = B;
	m->optimizer = optimizer;
	if (B < 1)
		return kn_error(KN_EUSAGE, "cnn batch must be at least 1, got %d", B);
	const struct kn_ops *op = be->ops;
	if (!op->conv2d_forward || !op->conv2d_backward_data || !op->conv2d_backward_filter || !op->batchnorm_forward ||
	    !op->batchnorm_backward || !op->relu_backward || !op->avgpool_forward || !op->avgpool_backward ||
	    !op->image_to_nhwc || !op->count_correct || !op->conv2d_workspace_bytes ||
	    (optimizer == TR_OPT_SGD && !op->sgd))
		return kn_error(KN_EUNAVAIL, "the '%s' backend has no kernels for the cnn model yet", be->name);
	if ((rc = plan(m)))
		return rc;
	size_t np = m->num_params, mb = be->master_bytes, ab = be->act_bytes;
	if ((rc = kn_alloc(be, &m->master, np * mb)) || (rc = kn_alloc(be, &m->m, np * mb)) ||
	    (optimizer == TR_OPT_ADAMW && (rc = kn_alloc(be, &m->v, np * mb))) ||
	    (rc = kn_alloc(be, &m->grads, np * ab)) || (rc = kn_alloc(be, &m->stats, m->num_stats * mb)))
		goto fail;
	if (be->compute_aliases_master)
		m->params = m->master;
	else if ((rc = kn_alloc(be, &m->params, np * ab)))
		goto fail;
	layout(m, NULL, NULL, &m->act_elems, &m->master_elems);
	if ((rc = kn_alloc(be, &m->act_block, m->act_elems * ab)) ||
	    (rc = kn_alloc(be, &m->master_block, m->master_elems * mb)) ||
	    (rc = kn_alloc(be, &m->inputs_block, 2 * slot_bytes(cfg, B))))
		goto fail;
	/* last, so a backend that picks convolution algorithms by the memory left
	 * (cuDNN under --device-mem-limit) sees everything else already taken */
	m->work_bytes = workspace_bytes(m);
	if ((rc = kn_sync(be)) || (rc = kn_alloc(be, &m->work, m->work_bytes)))
		goto fail;
	layout(m, m->act_block, m->master_block, &m->act_elems, &m->master_elems);
	be->ops->zero(m->m, np * mb / ab);
	if (m->v)
		be->ops->zero(m->v, np * mb / ab);
	if ((rc = init_params(m, seed)))
		goto fail;
	return KN_OK;
fail:
	tr_cnn_release(m);
	return rc;
}

void tr_cnn_release(struct tr_cnn *m)
{
	struct kn_backend *be = m->be;
	if (!be)
		return;
	size_t np = m->num_params, mb = be->master_bytes, ab = be->act_bytes;
	if (m->params != m->master)
		kn_free(be, m->params, np * ab);
	kn_free(be, m->master, np * mb);
	kn_free(be, m->m, np * mb);
	kn_free(be, m->v, np * mb);
	kn_free(be, m->grads, np * ab);
	kn_free(be, m->stats, m->num_stats * mb);
	kn_free(be, m->act_block, m->act_elems * ab);
	kn_free(be, m->master_block, m->master_elems * mb);
	kn_free(be, m->work, m->work_bytes);
	kn_free(be, m->inputs_block, 2 * slot_bytes(&m->cfg, m->B));
	memset(m, 0, sizeof *m);
}

static float *slot_images(const struct tr_cnn *m, int slot)
{
	return (float *)((char *)m->inputs_block + (size_t)(slot & 1) * slot_bytes(&m->cfg, m->B));
}

static int *slot_labels(const struct tr_cnn *m, int slot)
{
	const struct tr_cnn_config *c = &m->cfg;
	return (int *)(slot_images(m, slot) + (size_t)m->B * c->in_channels * c->height * c->width);
}

int tr_cnn_stage_batch(struct tr_cnn *m, int slot, const float *images, const int *labels, int n)
{
	const struct tr_cnn_config *c = &m->cfg;
	if (n < 1 || n > m->B)
		return kn_error(KN_EUSAGE, "batch of %d images for a model sized for 1..%d", n, m->B);
	for (int i = 0; i < n; i++)
		if (labels[i] < 0 || labels[i] >= c->classes)
			return kn_error(KN_EDATA, "label %d of image %d is outside 0..%d", labels[i], i, c->classes - 1);
	int rc = kn_copy_h2d_async(m->be, slot_images(m, slot), images,
				   (size_t)n * c->in_channels * c->height * c->width * sizeof(float), slot);
	if (rc == KN_OK)
		rc = kn_copy_h2d_async(m->be, slot_labels(m, slot), labels, (size_t)n * sizeof(int), slot);
	m->slot_n[slot & 1] = rc == KN_OK ? n : 0;
	return rc;
}

int tr_cnn_use_batch(struct tr_cnn *m, int slot)
{
	const struct tr_cnn_config *c = &m->cfg;
	int n = m->slot_n[slot & 1], rc;
	if (n < 1)
		return kn_error(KN_EUSAGE, "cnn input slot %d used before a batch was staged in it", slot & 1);
	m->images_f32 = slot_images(m, slot);
	m->labels = slot_labels(m, slot);
	if ((rc = kn_copy_wait(m->be, slot)))
		return rc;
	m->be->ops->image_to_nhwc(m->images, m->images_f32, n, c->in_channels, c->height, c->width);
	m->n = n;
	return KN_OK;
}

int tr_cnn_upload_batch(struct tr_cnn *m, const float *images, const int *labels, int n)
{
	int rc = tr_cnn_stage_batch(m, 0, images, labels, n);
	return rc ? rc : tr_cnn_use_batch(m, 0);
}

static const void *unit_input(const struct tr_cnn *m, const struct tr_cnn_unit *u)
{
	return u->input < 0 ? m->images : m->units[u->input].out;
}

static void unit_forward(struct tr_cnn *m, struct tr_cnn_unit *u, int train)
{
	const struct kn_ops *op = m->be->ops;
	size_t ae = m->be->act_bytes, me = m->be->master_bytes;
	struct kn_conv_shape s = u->shape;
	s.N = m->n;
	int M = m->n * u->OH * u->OW, OC = s.OC;
	op->conv2d_forward(u->conv, unit_input(m, u), AT(m->params, u->w_off, ae), m->work, &s);
	op->batchnorm_forward(u->out, u->mean, u->rstd, AT(m->stats, u->stat_off, me), AT(m->stats, u->stat_off + OC, me),
			      u->conv, AT(m->params, u->bnw_off, ae), AT(m->params, u->bnb_off, ae),
			      u->residual >= 0 ? m->units[u->residual].out : NULL, u->relu, M, OC, train, BN_MOMENTUM);
}

int tr_cnn_forward(struct tr_cnn *m, int train, double *loss, long *correct)
{
	const struct kn_ops *op = m->be->ops;
	size_t ae = m->be->act_bytes;
	int n = m->n, V = m->cfg.classes, Cl = last_channels(&m->cfg);
	if (n < 1)
		return kn_error(KN_EUSAGE, "cnn forward before any batch was uploaded");
	for (int i = 0; i < m->nunits; i++)
		unit_forward(m, &m->units[i], train);
	const struct tr_cnn_unit *last = &m->units[m->nunits - 1];
	op->avgpool_forward(m->pooled, last->out, n, last->OH * last->OW, Cl);
	op->matmul_forward(m->logits, m->pooled, AT(m->params, m->fcw_off, ae), AT(m->params, m->fcb_off, ae), n, Cl, V);
	op->crossentropy_forward(m->losses, m->logits, m->labels, n, V);
	if (loss)
		*loss = op->sum_master(m->losses, (size_t)n) / n;
	if (correct)
		*correct = op->count_correct(m->logits, m->labels, n, V);
	return kn_sync(m->be);
}

/* Backward through one unit. D holds d(out); a unit with a residual turns it
 * into d(pre-ReLU) in place, because the shortcut needs that too (the others
 * mask it inside batchnorm_backward). dx (NULL for the stem) receives
 * d(input), overwritten. */
static void unit_backward(struct tr_cnn *m, const struct tr_cnn_unit *u, void *D, void *dx)
{
	const struct kn_ops *op = m->be->ops;
	size_t ae = m->be->act_bytes;
	struct kn_conv_shape s = u->shape;
	s.N = m->n;
	int M = m->n * u->OH * u->OW, OC = s.OC;
	void *dconv = m->dbuf[2];
	const void *relu_out = u->relu ? u->out : NULL;
	if (u->relu && u->residual >= 0) {
		op->relu_backward(D, u->out, D, (size_t)M * OC);
		relu_out = NULL;
	}
	op->batchnorm_backward(dconv, AT(m->grads, u->bnw_off, ae), AT(m->grads, u->bnb_off, ae), D, relu_out, u->conv,
			       AT(m->params, u->bnw_off, ae), u->mean, u->rstd, M, OC);
	op->conv2d_backward_filter(AT(m->grads, u->w_off, ae), dconv, unit_input(m, u), m->work, &s);
	if (dx)
		op->conv2d_backward_data(dx, dconv, AT(m->params, u->w_off, ae), m->work, &s);
}

void tr_cnn_backward(struct tr_cnn *m, float loss_scale)
{
	const struct kn_ops *op = m->be->ops;
	size_t ae = m->be->act_bytes;
	int n = m->n, V = m->cfg.classes, Cl = last_channels(&m->cfg);
	const struct tr_cnn_unit *last = &m->units[m->nunits - 1];
	/* dbuf[0] and [1] alternate as d(block output) and d(block input); [2] is
	 * d(conv output) inside a unit; [3] is d(c1 output) and the shortcut's dx */
	void *dy = m->dbuf[0], *dx = m->dbuf[1], *tmp = m->dbuf[3];

	op->zero(m->grads, m->num_params);
	op->crossentropy_backward(m->logits, m->labels, loss_scale / n, n, V);
	op->matmul_backward(m->dpooled, AT(m->grads, m->fcw_off, ae), AT(m->grads, m->fcb_off, ae), m->logits, m->pooled,
			    AT(m->params, m->fcw_off, ae), n, Cl, V);
	op->avgpool_backward(dy, m->dpooled, n, last->OH * last->OW, Cl);
	for (int b = m->nblocks - 1; b >= 0; b--) {
		const struct tr_cnn_block *blk = &m->blocks[b];
		const struct tr_cnn_unit *in = &m->units[blk->in];
		size_t in_elems = (size_t)n * in->OH * in->OW * in->shape.OC;
		unit_backward(m, &m->units[blk->c2], dy, tmp); /* dy becomes d(bn2 + shortcut) */
		unit_backward(m, &m->units[blk->c1], tmp, dx);
		if (blk->sc >= 0) {
			unit_backward(m, &m->units[blk->sc], dy, tmp);
			op->accumulate(dx, tmp, in_elems);
		} else {
			op->accumulate(dx, dy, in_elems);
		}
		void *t = dy;
		dy = dx;
		dx = t;
	}
	unit_backward(m, &m->units[0], dy, NULL);
}

double tr_cnn_grad_norm(struct tr_cnn *m) { return sqrt(m->be->ops->norm_squared(m->grads, m->num_params)); }

void tr_cnn_update(struct tr_cnn *m, float lr, float beta1, float beta2, float eps, float weight_decay,
		   float grad_scale)
{
	struct kn_backend *be = m->be;
	size_t ae = be->act_bytes, me = be->master_bytes, len;
	m->opt_step++;
	for (size_t off = 0; off < m->num_params; off += len) {
		float wd = decays(m, off, &len) ? weight_decay : 0.0f;
		if (m->optimizer == TR_OPT_SGD)
			be->ops->sgd(AT(m->master, off, me), AT(m->params, off, ae), AT(m->grads, off, ae), AT(m->m, off, me),
				     len, lr, beta1, wd, grad_scale);
		else
			be->ops->adamw(AT(m->master, off, me), AT(m->params, off, ae), AT(m->grads, off, ae),
				       AT(m->m, off, me), AT(m->v, off, me), len, lr, beta1, beta2, eps, wd, m->opt_step,
				       grad_scale);
	}
}
