#include "trainer/loss_scale.h"

#include <math.h>

void tr_loss_scaler_init(struct tr_loss_scaler *s, int enabled)
{
	s->enabled = enabled;
	s->scale = enabled ? TR_LOSS_SCALE_INIT : 1.0f;
	s->growth_interval = TR_LOSS_SCALE_GROWTH_INTERVAL;
	s->good_steps = 0;
	s->skips = 0;
}

void tr_loss_scaler_init_at(struct tr_loss_scaler *s, int enabled, float scale)
{
	tr_loss_scaler_init(s, enabled);
	if (enabled)
		s->scale = scale < TR_LOSS_SCALE_MIN ? TR_LOSS_SCALE_MIN : scale > TR_LOSS_SCALE_MAX ? TR_LOSS_SCALE_MAX : scale;
}

int tr_loss_scaler_update(struct tr_loss_scaler *s, double scaled_grad_norm)
{
	if (!s->enabled)
		return 1;
	if (!isfinite(scaled_grad_norm)) {
		s->skips++;
		s->good_steps = 0;
		if (s->scale > TR_LOSS_SCALE_MIN)
			s->scale *= 0.5f;
		return 0;
	}
	if (++s->good_steps >= s->growth_interval) {
		s->good_steps = 0;
		if (s->scale < TR_LOSS_SCALE_MAX)
			s->scale *= 2.0f;
	}
	return 1;
}

float tr_loss_scaler_grad_factor(const struct tr_loss_scaler *s, double scaled_grad_norm, double clip)
{
	double norm = scaled_grad_norm / s->scale;
	double factor = 1.0 / s->scale;
	if (clip > 0 && norm > clip)
		factor *= clip / norm;
	return (float)factor;
}
