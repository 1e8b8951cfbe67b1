/*
 * sweeps/models.h — the models a plan may name, in one place, with what a
 * plan can check about them before anything runs.
 */
#ifndef SW_MODELS_H
#define SW_MODELS_H

#include <stddef.h>

struct dl_dataset;

struct sw_model {
	const char *name;
	int token_model;   /* 1: trains on token sequences, so 'seq' and 'eval_batches' apply */
	/* KN_OK, or KN_EUSAGE with a message naming the sizes this model has.
	 * *context is the size's token context (0 when the model has none).
	 * NULL: the size is validated by `amptune train` when the point runs. */
	int (*check_size)(const char *size, int *context);
	/* KN_OK with the data open in *ds (the caller releases it), or the
	 * loader's error (KN_EDATA naming the path). NULL: the data is
	 * validated by `amptune train` when the point runs. */
	int (*check_data)(const char *spec, struct dl_dataset *ds);
};

extern const struct sw_model sw_models[];
extern const int sw_nmodels;

/* The model called `name`, or NULL. */
const struct sw_model *sw_find_model(const char *name);
/* "gpt or cnn", for messages. */
const char *sw_model_list(void);
/* "a, b or c" into buf from `count` names, the i-th at (char *)first + i * stride
 * (an array of strings, or the name field of an array of structs). */
void sw_join_names(char *buf, size_t n, const char *const *first, int count, size_t stride);

#endif
