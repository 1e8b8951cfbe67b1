#include "trainer/gpt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_loader/rng.h"
#include "kernels/backend.h"

const char *const tr_gpt_param_names[TR_GPT_NPARAMS] = {
	"wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
	"ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb",
};
enum { WTE, WPE, LN1W, LN1B, QKVW, QKVB, ATTPROJW, ATTPROJB, LN2W, LN2B, FCW, FCB, FCPROJW, FCPROJB, LNFW, LNFB };

static void param_sizes(const struct tr_gpt_config *c, size_t s[TR_GPT_NPARAMS])
{
	size_t V = c->vocab, C = c->channels, L = c->layers, maxT = c->max_seq;
	s[WTE] = V * C;
	s[WPE] = maxT * C;
	s[LN1W] = s[LN1B] = L * C;
	s[QKVW] = L * 3 * C * C;
	s[QKVB] = L * 3 * C;
	s[ATTPROJW] = L * C * C;
	s[ATTPROJB] = L * C;
	s[LN2W] = s[LN2B] = L * C;
	s[FCW] = L * 4 * C * C;
	s[FCB] = L * 4 * C;
	s[FCPROJW] = L * C * 4 * C;
	s[FCPROJB] = L * C;
	s[LNFW] = s[LNFB] = C;
}

size_t tr_gpt_count_params(const struct tr_gpt_config *cfg)
{
	size_t s[TR_GPT_NPARAMS], n = 0;
	param_sizes(cfg, s);
	for (int i = 0; i < TR_GPT_NPARAMS; i++)
		n += s[i];
	return n;
}

double tr_gpt_flops_per_token(const struct tr_gpt_config *c, int T)
{
	double C = c->channels, L = c->layers;
	double matmul_params = L * 12.0 * C * C + (double)c->vocab * C;
	return 6.0 * matmul_params + 12.0 * L * C * T;
}

static int decays(int i) { return i == WTE || i == WPE || i == QKVW || i == ATTPROJW || i == FCW || i == FCPROJW; }

/* GPT-2 init: N(0, 0.02), residual projections scaled by 1/sqrt(2L),
 * LayerNorm weights 1, biases 0; drawn in double on the host. */
static int init_params(struct tr_gpt *m, uint64_t seed)
{
	double *host = malloc(m->num_params * sizeof *host);
	if (!host)
		return kn_error(KN_ENOMEM, "out of memory initialising %zu parameters", m->num_params);
	size_t off = 0;
	for (int i = 0; i < TR_GPT_NPARAMS; i++) {
		struct dl_rng r;
		dl_rng_init(&r, dl_hash64(seed, 0x1417, (uint64_t)i));
		double std = 0.02;
		if (i == ATTPROJW || i == FCPROJW)
			std /= sqrt(2.0 * m->cfg.layers);
		for (size_t k = 0; k < m->param_sizes[i]; k++) {
			double val;
			if (i == LN1W || i == LN2W || i == LNFW)
				val = 1.0;
			else if (i == LN1B || i == LN2B || i == LNFB || i == QKVB || i == ATTPROJB || i == FCB || i == FCPROJB)
				val = 0.0;
			else
				val = std * dl_rng_normal(&r);
			host[off + k] = val;
		}
		off += m->param_sizes[i];
	}
	int rc = m->be->vt->upload(m->be, m->master, host, m->num_params, 1);
	free(host);
	if (rc)
		return rc;
	m->be->ops->master_to_compute(m->params, m->master, m->num_params);
	return kn_sync(m->be);
}

/* Carves named tensors out of one allocation per element type. */
struct carve {
	char *base;
	size_t elems, es;
};

static void *take(struct carve *c, size_t n)
{
	void *p = c->base ? c->base + c->elems * c->es : NULL;
	c->elems += n;
	return p;
}

static void layout(struct tr_gpt *m, struct carve *act, struct carve *mst, struct carve *grd)
{
	size_t B = m->B, T = m->T, C = m->cfg.channels, L = m->cfg.layers, NH = m->cfg.heads, V = m->cfg.vocab;
	size_t BT = B * T;
	struct tr_gpt_acts *a = &m->acts;
	a->encoded = take(act, BT * C);
	a->ln1 = take(act, L * BT * C);
	a->qkv = take(act, L * BT * 3 * C);
	a->atty = take(act, L * BT * C);
	/* the softmax for backward, or with fused attention each row's log-sum-exp */
	a->att = m->flash ? take(mst, L * B * NH * T) : take(act, L * B * NH * T * T);
	a->residual2 = take(act, L * BT * C);
	a->ln2 = take(act, L * BT * C);
	a->fch = take(act, L * BT * 4 * C);
	a->fch_gelu = take(act, L * BT * 4 * C);
	a->residual3 = take(act, L * BT * C);
	a->lnf = take(act, BT * C);
	a->logits = take(act, BT * V);
	a->proj = take(act, BT * C);
	a->ln1_mean = take(mst, L * BT);
	a->ln1_rstd = take(mst, L * BT);
	a->ln2_mean = take(mst, L * BT);
	a->ln2_rstd = take(mst, L * BT);
	a->lnf_mean = take(mst, BT);
	a->lnf_rstd = take(mst, BT);
	a->losses = take(mst, BT);
	struct tr_gpt_grads *g = &m->g;
	g->dres = take(grd, BT * C);
	g->dln = take(grd, BT * C);
	g->dqkv = take(grd, BT * 3 * C);
	g->datty = take(grd, BT * C);
	g->dfch = take(grd, BT * 4 * C);
	g->datt = m->flash ? NULL : take(grd, B * NH * T * T);
}

#define AT(p, off, es) ((void *)((char *)(p) + (size_t)(off) * (es)))

/* layer l's attention state: its softmax [B,NH,T,T] (act-typed), or its lse [B,NH,T] (master-typed) */
static void *layer_att(const struct tr_gpt *m, int l)
{
	size_t B = m->B, T = m->T, NH = m->cfg.heads;
	return m->flash ? AT(m->acts.att, (size_t)l * B * NH * T, m->be->master_bytes)
			: AT(m->acts.att, (size_t)l * B * NH * T * T, m->be->act_bytes);
}

int tr_gpt_init(struct tr_gpt *m, struct kn_backend *be, const struct tr_gpt_config *cfg, int B, int T, uint64_t seed)
{
	int rc;
	memset(m, 0, sizeof *m);
	m->cfg = *cfg;
	m->be = be;
	m->B = B;
	m->T = T;
	if (cfg->heads < 1 || cfg->channels % cfg->heads)
		return kn_error(KN_EUSAGE, "channels (%d) must be a multiple of heads (%d)", cfg->channels, cfg->heads);
	if (T < 1 || T > cfg->max_seq)
		return kn_error(KN_EUSAGE, "sequence length %d is outside the model's context of 1..%d", T, cfg->max_seq);
	m->flash = kn_flash_attention_used(be, cfg->channels, cfg->heads);
	param_sizes(cfg, m->param_sizes);
	m->num_params = tr_gpt_count_params(cfg);
	size_t np = m->num_params;
	if ((rc = kn_alloc(be, &m->master, np * be->master_bytes)) ||
	    (rc = kn_alloc(be, &m->m, np * be->master_bytes)) || (rc = kn_alloc(be, &m->v, np * be->master_bytes)) ||
	    (rc = kn_alloc(be, &m->grads, np * be->act_bytes)))
		goto fail;
	if (be->compute_aliases_master)
		m->params = m->master;
	else if ((rc = kn_alloc(be, &m->params, np * be->act_bytes)))
		goto fail;
	size_t off = 0;
	for (int i = 0; i < TR_GPT_NPARAMS; i++) {
		m->param_ptr[i] = (char *)m->params + off * be->act_bytes;
		m->grad_ptr[i] = (char *)m->grads + off * be->act_bytes;
		off += m->param_sizes[i];
	}
	struct carve act = { NULL, 0, be->act_bytes }, mst = { NULL, 0, be->master_bytes }, grd = { NULL, 0, be->act_bytes };
	layout(m, &act, &mst, &grd);
	m->act_elems = act.elems;
	m->master_elems = mst.elems;
	m->grad_elems = grd.elems;
	if ((rc = kn_alloc(be, &m->act_block, act.elems * act.es)) ||
	    (rc = kn_alloc(be, &m->master_block, mst.elems * mst.es)) ||
	    (rc = kn_alloc(be, &m->grad_block, grd.elems * grd.es)) ||
	    (rc = kn_alloc(be, (void **)&m->inputs_block, 4 * (size_t)B * T * sizeof(int))))
		goto fail;
	m->tokens = m->inputs_block;
	m->targets = m->inputs_block + (size_t)B * T;
	act = (struct carve){ m->act_block, 0, be->act_bytes };
	mst = (struct carve){ m->master_block, 0, be->master_bytes };
	grd = (struct carve){ m->grad_block, 0, be->act_bytes };
	layout(m, &act, &mst, &grd);
	be->ops->zero(m->m, np * be->master_bytes / be->act_bytes);
	be->ops->zero(m->v, np * be->master_bytes / be->act_bytes);
	if ((rc = init_params(m, seed)))
		goto fail;
	return KN_OK;
fail:
	tr_gpt_release(m);
	return rc;
}

void tr_gpt_release(struct tr_gpt *m)
{
	struct kn_backend *be = m->be;
	if (!be)
		return;
	size_t np = m->num_params, BT = (size_t)m->B * m->T;
	if (m->params != m->master)
		kn_free(be, m->params, np * be->act_bytes);
	kn_free(be, m->master, np * be->master_bytes);
	kn_free(be, m->m, np * be->master_bytes);
	kn_free(be, m->v, np * be->master_bytes);
	kn_free(be, m->grads, np * be->act_bytes);
	kn_free(be, m->act_block, m->act_elems * be->act_bytes);
	kn_free(be, m->master_block, m->master_elems * be->master_bytes);
	kn_free(be, m->grad_block, m->grad_elems * be->act_bytes);
	kn_free(be, m->inputs_block, 4 * BT * sizeof(int));
	memset(m, 0, sizeof *m);
}

/* slot s holds tokens at [2 s BT, (2 s + 1) BT) and targets after them */
static int *slot_tokens(const struct tr_gpt *m, int slot) { return m->inputs_block + (size_t)2 * (slot & 1) * m->B * m->T; }

int tr_gpt_stage_batch(struct tr_gpt *m, int slot, const int *inputs, const int *targets)
{
	size_t BT = (size_t)m->B * m->T;
	int *dst = slot_tokens(m, slot);
	int rc = kn_copy_h2d_async(m->be, dst, inputs, BT * sizeof(int), slot);
	return rc ? rc : kn_copy_h2d_async(m->be, dst + BT, targets, BT * sizeof(int), slot);
}

int tr_gpt_use_batch(struct tr_gpt *m, int slot)
{
	m->tokens = slot_tokens(m, slot);
	m->targets = m->tokens + (size_t)m->B * m->T;
	return kn_copy_wait(m->be, slot);
}

int tr_gpt_upload_batch(struct tr_gpt *m, const int *inputs, const int *targets)
{
	int rc = tr_gpt_stage_batch(m, 0, inputs, targets);
	return rc ? rc : tr_gpt_use_batch(m, 0);
}


int tr_gpt_forward(struct tr_gpt *m, int T, double *loss)
{
	const struct kn_ops *op = m->be->ops;
	size_t ae = m->be->act_bytes, me = m->be->master_bytes;
	int B = m->B, C = m->cfg.channels, L = m->cfg.layers, NH = m->cfg.heads, V = m->cfg.vocab;
	int BT = B * T;
	struct tr_gpt_acts *a = &m->acts;
	void **p = m->param_ptr;
	if (T != m->T)
		return kn_error(KN_EUSAGE, "forward with T=%d on a model sized for T=%d", T, m->T);
	op->encoder_forward(a->encoded, m->tokens, p[WTE], p[WPE], B, T, C);
	op->layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, a->encoded, p[LN1W], p[LN1B], BT, C);
	/* each residual add is fused with the LayerNorm that reads it: ln2 of this
	 * layer, ln1 of the next, or the final one */
	for (int l = 0; l < L; l++) {
		void *residual = l == 0 ? a->encoded : AT(a->residual3, (size_t)(l - 1) * BT * C, ae);
		void *ln1 = AT(a->ln1, (size_t)l * BT * C, ae), *qkv = AT(a->qkv, (size_t)l * BT * 3 * C, ae);
		void *atty = AT(a->atty, (size_t)l * BT * C, ae), *att = layer_att(m, l);
		void *res2 = AT(a->residual2, (size_t)l * BT * C, ae), *ln2 = AT(a->ln2, (size_t)l * BT * C, ae);
		void *fch = AT(a->fch, (size_t)l * BT * 4 * C, ae), *fchg = AT(a->fch_gelu, (size_t)l * BT * 4 * C, ae);
		void *res3 = AT(a->residual3, (size_t)l * BT * C, ae);
		op->matmul_forward(qkv, ln1, AT(p[QKVW], (size_t)l * 3 * C * C, ae), AT(p[QKVB], l * 3 * C, ae), BT, C, 3 * C);
		if (m->flash)
			op->flash_attention_forward(atty, att, qkv, B, T, C, NH);
		else
			op->attention_forward(atty, att, qkv, B, T, C, NH);
		op->matmul_forward(a->proj, atty, AT(p[ATTPROJW], (size_t)l * C * C, ae), AT(p[ATTPROJB], l * C, ae), BT,
				   C, C);
		kn_residual_layernorm_forward(m->be, res2, ln2, AT(a->ln2_mean, l * BT, me), AT(a->ln2_rstd, l * BT, me),
					      residual, a->proj, AT(p[LN2W], l * C, ae), AT(p[LN2B], l * C, ae), BT, C);
		kn_matmul_gelu_forward(m->be, fchg, fch, ln2, AT(p[FCW], (size_t)l * 4 * C * C, ae), AT(p[FCB], l * 4 * C, ae),
				       BT, C, 4 * C);
		op->matmul_forward(a->proj, fchg, AT(p[FCPROJW], (size_t)l * C * 4 * C, ae), AT(p[FCPROJB], l * C, ae), BT,
				   4 * C, C);
		if (l + 1 < L)
			kn_residual_layernorm_forward(m->be, res3, AT(a->ln1, (size_t)(l + 1) * BT * C, ae),
						      AT(a->ln1_mean, (l + 1) * BT, me), AT(a->ln1_rstd, (l + 1) * BT, me), res2,
						      a->proj, AT(p[LN1W], (l + 1) * C, ae), AT(p[LN1B], (l + 1) * C, ae), BT, C);
		else
			kn_residual_layernorm_forward(m->be, res3, a->lnf, a->lnf_mean, a->lnf_rstd, res2, a->proj, p[LNFW],
						      p[LNFB], BT, C);
	}
	op->matmul_forward(a->logits, a->lnf, p[WTE], NULL, BT, C, V);
	op->crossentropy_forward(a->losses, a->logits, m->targets, BT, V);
	*loss = op->sum_master(a->losses, (size_t)BT) / BT;
	return kn_sync(m->be);
}

void tr_gpt_backward(struct tr_gpt *m, float loss_scale)
{
	const struct kn_ops *op = m->be->ops;
	size_t ae = m->be->act_bytes, me = m->be->master_bytes;
	int B = m->B, T = m->T, C = m->cfg.channels, L = m->cfg.layers, NH = m->cfg.heads, V = m->cfg.vocab;
	int BT = B * T;
	struct tr_gpt_acts *a = &m->acts;
	struct tr_gpt_grads *g = &m->g;
	void **p = m->param_ptr, **d = m->grad_ptr;

	op->zero(m->grads, m->num_params);
	op->zero(g->dres, (size_t)BT * C);
	op->crossentropy_backward(a->logits, m->targets, loss_scale / BT, BT, V);
	op->matmul_backward(g->dln, d[WTE], NULL, a->logits, a->lnf, p[WTE], BT, C, V);
	void *last = AT(a->residual3, (size_t)(L - 1) * BT * C, ae);
	op->layernorm_backward(g->dres, d[LNFW], d[LNFB], g->dln, last, p[LNFW], a->lnf_mean, a->lnf_rstd, BT, C);
	for (int l = L - 1; l >= 0; l--) {
		void *residual = l == 0 ? a->encoded : AT(a->residual3, (size_t)(l - 1) * BT * C, ae);
		void *ln1 = AT(a->ln1, (size_t)l * BT * C, ae), *qkv = AT(a->qkv, (size_t)l * BT * 3 * C, ae);
		void *atty = AT(a->atty, (size_t)l * BT * C, ae), *att = layer_att(m, l);
		void *res2 = AT(a->residual2, (size_t)l * BT * C, ae), *ln2 = AT(a->ln2, (size_t)l * BT * C, ae);
		void *fch = AT(a->fch, (size_t)l * BT * 4 * C, ae), *fchg = AT(a->fch_gelu, (size_t)l * BT * 4 * C, ae);
		/* MLP branch: dres is d(residual3), which is also d(fcproj) */
		kn_matmul_backward_gelu(m->be, g->dfch, AT(d[FCPROJW], (size_t)l * C * 4 * C, ae), AT(d[FCPROJB], l * C, ae),
					g->dres, fchg, AT(p[FCPROJW], (size_t)l * C * 4 * C, ae), fch, BT, 4 * C, C);
		op->matmul_backward(g->dln, AT(d[FCW], (size_t)l * 4 * C * C, ae), AT(d[FCB], l * 4 * C, ae), g->dfch, ln2,
				    AT(p[FCW], (size_t)l * 4 * C * C, ae), BT, C, 4 * C);
		op->layernorm_backward(g->dres, AT(d[LN2W], l * C, ae), AT(d[LN2B], l * C, ae), g->dln, res2,
				       AT(p[LN2W], l * C, ae), AT(a->ln2_mean, l * BT, me), AT(a->ln2_rstd, l * BT, me), BT, C);
		/* attention branch: dres is now d(residual2) */
		op->matmul_backward(g->datty, AT(d[ATTPROJW], (size_t)l * C * C, ae), AT(d[ATTPROJB], l * C, ae), g->dres,
				    atty, AT(p[ATTPROJW], (size_t)l * C * C, ae), BT, C, C);
		if (m->flash)
			op->flash_attention_backward(g->dqkv, g->datty, qkv, atty, att, B, T, C, NH);
		else
			op->attention_backward(g->dqkv, g->datt, g->datty, qkv, att, B, T, C, NH);
		op->matmul_backward(g->dln, AT(d[QKVW], (size_t)l * 3 * C * C, ae), AT(d[QKVB], l * 3 * C, ae), g->dqkv, ln1,
				    AT(p[QKVW], (size_t)l * 3 * C * C, ae), BT, C, 3 * C);
		op->layernorm_backward(g->dres, AT(d[LN1W], l * C, ae), AT(d[LN1B], l * C, ae), g->dln, residual,
				       AT(p[LN1W], l * C, ae), AT(a->ln1_mean, l * BT, me), AT(a->ln1_rstd, l * BT, me), BT, C);
	}
	op->encoder_backward(d[WTE], d[WPE], g->dres, m->tokens, B, T, C);
}

double tr_gpt_grad_norm(struct tr_gpt *m) { return sqrt(m->be->ops->norm_squared(m->grads, m->num_params)); }

void tr_gpt_update(struct tr_gpt *m, float lr, float beta1, float beta2, float eps, float weight_decay, float grad_scale)
{
	struct kn_backend *be = m->be;
	size_t off = 0;
	m->adam_step++;
	for (int i = 0; i < TR_GPT_NPARAMS; i++) {
		be->ops->adamw(AT(m->master, off, be->master_bytes), m->param_ptr[i], m->grad_ptr[i],
			       AT(m->m, off, be->master_bytes), AT(m->v, off, be->master_bytes), m->param_sizes[i], lr, beta1,
			       beta2, eps, decays(i) ? weight_decay : 0.0f, m->adam_step, grad_scale);
		off += m->param_sizes[i];
	}
}
