/*
 * trainer/train.h — one training point from config to results record.
 *
 * tr_train() opens the backend and data, builds the model, runs the steps,
 * evaluates, and fills `rec` whatever happens: on failure the record carries
 * the status ("oom", "unsupported", "diverged", "failed") and message, so a
 * caller can always print it. Returns the kn_status of the run.
 */
#ifndef TR_TRAIN_H
#define TR_TRAIN_H

#include "reports/record.h"
#include "trainer/config.h"

int tr_train(const struct tr_config *cfg, struct rp_record *rec);
/* Set asynchronously (SIGINT/SIGTERM): the loop stops after the current step. */
extern volatile int tr_stop_signal;

#endif
