/*
 * reports/diagnose.h — `amptune diagnose`: was a point starved of data, why,
 * and which knob fixes it.
 *
 * Input-bound verdict from data_wait_frac: >= 20% highly, 5-20% moderately,
 * < 5% not. Demand is what the compute alone could consume: batch / (step
 * time - data wait per step). Supply is the loader's measured
 * producer_samples_per_sec when it recorded one; otherwise it is inferred:
 * with no workers, the trainer thread loads, so a batch takes the data wait;
 * with workers and real waiting, the trainer consumed what the workers made,
 * so the achieved samples/s is the supply. The per-worker rate gives the
 * worker count that meets demand with 20% headroom. Oversubscription: loader
 * workers plus compute threads beyond the host's CPUs. Prefetch advice from
 * the spread of batch latency (p95 / p50).
 *
 * Loader statistics read (all optional, under the record's "loader" object):
 * producer_samples_per_sec, per_worker_samples_per_sec, batch_ms_p50,
 * batch_ms_p95, wait_ms_p50, wait_ms_p95; the host's CPU count from
 * versions.host_cpus and compute threads from versions.threads.
 */
#ifndef RP_DIAGNOSE_H
#define RP_DIAGNOSE_H

#include "reports/record.h"
#include "reports/text.h"

#define RP_INPUT_BOUND_HIGH 0.20
#define RP_INPUT_BOUND_MODERATE 0.05
#define RP_WORKER_HEADROOM 0.20

enum rp_bound { RP_BOUND_UNKNOWN, RP_BOUND_NOT, RP_BOUND_MODERATE, RP_BOUND_HIGH };

struct rp_diagnosis {
	enum rp_bound bound;
	double wait_frac;
	double wait_ms;          /* mean data wait per step */
	double compute_ms;       /* step time without the wait */
	double demand_sps;       /* samples/s the compute could take */
	double supply_sps;       /* samples/s the loader makes; NAN when unknown (not limiting) */
	int supply_measured;     /* 1: from the loader's statistics; 0: inferred */
	double per_worker_sps;   /* NAN when unknown */
	int workers_needed;      /* -1 when it cannot be told */
	int compute_threads, host_cpus; /* 0 when not recorded */
	int oversubscribed;      /* -1 unknown */
	double latency_p50_ms, latency_p95_ms; /* batch latency (production, else wait) */
	int prefetch_advice;     /* suggested --prefetch; 0 = no change */
	char explanation[1024];
};

const char *rp_bound_name(enum rp_bound b);
enum rp_bound rp_bound_of(double wait_frac);
/* Diagnoses an ok record; KN_EDATA when the record is not ok or lacks step times. */
int rp_diagnose(const struct rp_record *r, struct rp_diagnosis *d);
/* The diagnosis as a few lines of Markdown (strings escaped). */
void rp_diagnosis_markdown(const struct rp_record *r, const struct rp_diagnosis *d, struct rp_buf *b);

#endif
