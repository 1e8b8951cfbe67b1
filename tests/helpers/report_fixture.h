/* Results fixtures for the reports suites: records written by the real writer. */
#ifndef REPORT_FIXTURE_H
#define REPORT_FIXTURE_H

#include <check.h>

#include "reports/record.h"
#include "reports/results.h"

/* An ok GPT tiny point on a 4-thread CPU: batch 16, 160 samples/s, an epoch
 * of 3600 s (measured), peak 1e8 bytes, final loss 2.5, data wait 1%. */
void fx_record(struct rp_record *r, const char *id);
/* A device: "cpu" or a GPU name such as "NVIDIA H100 80GB HBM3" (device "cuda"). */
void fx_device(struct rp_record *r, const char *name);
/* A fresh path under $TEST_TMPDIR (or /tmp) unique to this process. */
const char *fx_path(const char *name);
/* Writes the records as a results file (one line each) and releases them. */
void fx_write_records(const char *path, struct rp_record *recs, int n);
/* Writes `text` verbatim to path. */
void fx_write_text(const char *path, const char *text);
/* Reads a whole file (caller frees); NULL when it cannot. */
char *fx_read(const char *path);
/* Loads the sweep in dir and writes its report there (asserting each step). */
void fx_report(const char *dir);
/* Runs a suite, CK_NORMAL; returns the exit code. */
int fx_run(Suite *s);

#endif
