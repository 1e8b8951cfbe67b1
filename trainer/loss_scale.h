/*
 * trainer/loss_scale.h — dynamic loss scaling for fp16 training.
 *
 * The loss is multiplied by `scale` before backward so that small fp16
 * gradients do not flush to zero. After backward the caller checks the
 * gradients: any inf/NaN means the scale overflowed, so the step is skipped
 * and the scale halved; after `growth_interval` good steps in a row the scale
 * doubles. Disabled (bf16, fp32, tf32), the scale stays 1 and every step is
 * applied. Skipped steps are counted for the record's loss_scale_skips.
 */
#ifndef TR_LOSS_SCALE_H
#define TR_LOSS_SCALE_H

struct tr_loss_scaler {
	int enabled;
	float scale;
	int growth_interval;  /* good steps before the scale doubles */
	int good_steps;       /* good steps since the last change */
	long skips;           /* steps skipped for inf/NaN gradients */
};

#define TR_LOSS_SCALE_INIT 65536.0f
#define TR_LOSS_SCALE_MIN 1.0f
#define TR_LOSS_SCALE_MAX 16777216.0f /* 2^24 */
#define TR_LOSS_SCALE_GROWTH_INTERVAL 1000

void tr_loss_scaler_init(struct tr_loss_scaler *s, int enabled);
/* as init, starting from `scale` (clamped to [MIN, MAX]) */
void tr_loss_scaler_init_at(struct tr_loss_scaler *s, int enabled, float scale);
/* Given the global norm of the scaled gradients, returns 1 when the step is
 * to be applied, 0 when it must be skipped; updates the scale either way. */
int tr_loss_scaler_update(struct tr_loss_scaler *s, double scaled_grad_norm);
/* The factor that turns scaled gradients into clipped true gradients:
 * 1/scale, times clip/norm when the true norm exceeds clip. */
float tr_loss_scaler_grad_factor(const struct tr_loss_scaler *s, double scaled_grad_norm, double clip);

#endif
