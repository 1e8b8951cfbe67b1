#include "sweeps/models.h"

#include <stdio.h>
#include <string.h>

#include "data_loader/text.h"
#include "kernels/error.h"
#include "trainer/config.h"

void sw_join_names(char *buf, size_t n, const char *const *first, int count, size_t stride)
{
	size_t used = 0;
	buf[0] = 0;
	for (int i = 0; i < count && used < n; i++) {
		const char *name = *(const char *const *)((const char *)first + (size_t)i * stride);
		used += (size_t)snprintf(buf + used, n - used, "%s%s", i == 0 ? "" : i + 1 < count ? ", " : " or ", name);
	}
}

static int gpt_check_size(const char *size, int *context)
{
	const struct tr_size_preset *s = tr_find_size(size);
	if (s) {
		*context = s->gpt.max_seq;
		return KN_OK;
	}
	char names[256];
	sw_join_names(names, sizeof names, &tr_gpt_sizes[0].name, tr_gpt_nsizes, sizeof tr_gpt_sizes[0]);
	return kn_error(KN_EUSAGE, "'size' expects %s for model 'gpt', got '%s'", names, size);
}

static int text_check_data(const char *spec)
{
	struct dl_text t;
	memset(&t, 0, sizeof t);
	int rc = dl_text_open(&t, spec);
	dl_text_release(&t);
	return rc;
}

/* The CNN's sizes (tiny, resnet) and image data are validated by `amptune
 * train` when a point runs, until its presets are reachable from here. */
const struct sw_model sw_models[] = {
	{ "gpt", 1, gpt_check_size, text_check_data },
	{ "cnn", 0, NULL, NULL },
};
const int sw_nmodels = sizeof sw_models / sizeof *sw_models;

const struct sw_model *sw_find_model(const char *name)
{
	for (int i = 0; i < sw_nmodels; i++)
		if (strcmp(sw_models[i].name, name) == 0)
			return &sw_models[i];
	return NULL;
}

const char *sw_model_list(void)
{
	static char list[128];
	sw_join_names(list, sizeof list, &sw_models[0].name, sw_nmodels, sizeof sw_models[0]);
	return list;
}
