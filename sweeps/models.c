#include "sweeps/models.h"

#include <stdio.h>
#include <string.h>

#include "data_loader/dataset.h"
#include "kernels/error.h"
#include "trainer/config.h"
#include "trainer/train.h"

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
	*context = tr_model_context("gpt", size); /* as train's ids hash an unset seq */
	if (tr_find_size(size))
		return KN_OK;
	char names[256];
	sw_join_names(names, sizeof names, &tr_gpt_sizes[0].name, tr_gpt_nsizes, sizeof tr_gpt_sizes[0]);
	return kn_error(KN_EUSAGE, "'size' expects %s for model 'gpt', got '%s'", names, size);
}

static int cnn_check_size(const char *size, int *context)
{
	*context = tr_model_context("cnn", size);
	if (tr_find_cnn_preset(size))
		return KN_OK;
	char names[256];
	sw_join_names(names, sizeof names, &tr_cnn_sizes[0].name, tr_cnn_nsizes, sizeof tr_cnn_sizes[0]);
	return kn_error(KN_EUSAGE, "'size' expects %s for model 'cnn', got '%s'", names, size);
}

/* Opens the data as the point will, and checks it is the kind the model takes.
 * Token shards are checked against the largest vocabulary here; train checks
 * them against the size's own. */
static int check_kind(struct dl_dataset *ds, int rc, enum dl_kind want, const char *model, const char *spec)
{
	if (rc == KN_OK && ds->kind != want)
		rc = kn_error(KN_EUSAGE, "'data' names %s ('%s'); model '%s' trains on %s", ds->name, spec, model,
			      want == DL_KIND_IMAGES ? "images" : "text or token shards");
	if (rc)
		dl_dataset_release(ds);
	return rc;
}

static int gpt_check_data(const char *spec, struct dl_dataset *ds)
{
	return check_kind(ds, dl_dataset_open(ds, spec, 65536, 0), DL_KIND_TOKENS, "gpt", spec);
}

static int cnn_check_data(const char *spec, struct dl_dataset *ds)
{
	int rc = tr_cnn_open_data(ds, spec, 0, &tr_cnn_sizes[0].cnn);
	/* every preset takes the same images, as train checks them */
	if (rc == KN_OK && ds->kind == DL_KIND_IMAGES)
		rc = tr_cnn_check_images(ds, &tr_cnn_sizes[0].cnn);
	return check_kind(ds, rc, DL_KIND_IMAGES, "cnn", spec);
}

const struct sw_model sw_models[] = {
	{ "gpt", 1, gpt_check_size, gpt_check_data },
	{ "cnn", 0, cnn_check_size, cnn_check_data },
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
