/*
 * reports/diagnose.h — `amptune diagnose`: was a point starved of data, why,
 * and which knob fixes it.
 *
 * Input-bound verdict from data_wait_frac: >= 20% highly, 5-20% moderately,
 * < 5% not. Demand is what the trainer takes when not waiting: the loader's
 * consumer_samples_per_sec, else batch / (step time - data wait per step).
 * Supply is the loader's producer_samples_per_sec (its capacity) when
 * recorded; otherwise it is inferred: with no workers, the trainer thread
 * loads, so a batch takes the data wait; with workers and real waiting, the
 * trainer consumed what the workers made, so the achieved samples/s is the
 * supply. The per-worker rate (producer_samples_per_sec_per_worker, else
 * supply / workers) gives the worker count that meets demand with 20%
 * headroom. Oversubscription: more compute threads than the host's CPUs, or
 * a loader whose CPU demand is material (above RP_LOADER_CORES_MATERIAL
 * cores) and, added to the compute threads, beyond the host's CPUs. The
 * loader's demand in cores is workers x busy_frac x busy_cpu_frac (an
 * advised, larger worker count is taken as busy all the time; a missing
 * busy_cpu_frac counts each worker as a full core), so workers blocked on a
 * full ring or waiting on reads may outnumber the CPUs.
 * Prefetch advice from the spread of batch latency (p95 / p50).
 * CPU points: whether the GEMMs ran a BLAS kernel family below the best the
 * CPU runs (versions.blas_kernels against versions.blas_cpu_best, ranked as
 * kernels/cpu/blas.h does): then the compute measured is not the CPU's.
 *
 * Loader statistics read (all optional, under the record's "loader" object,
 * as data_loader/ writes them): consumer_samples_per_sec,
 * producer_samples_per_sec, producer_samples_per_sec_per_worker,
 * busy_frac, busy_cpu_frac, batch_ms_p50, batch_ms_p95, wait_ms_p50, wait_ms_p95; the
 * host's CPU count from versions.host_cpus and compute threads from
 * versions.threads.
 */
#ifndef RP_DIAGNOSE_H
#define RP_DIAGNOSE_H

#include "reports/record.h"
#include "reports/text.h"

#define RP_INPUT_BOUND_HIGH 0.20
#define RP_INPUT_BOUND_MODERATE 0.05
#define RP_WORKER_HEADROOM 0.20
#define RP_LOADER_CORES_MATERIAL 0.25 /* loader CPU demand, in cores, below which it contends with nothing */
#define RP_HANDOFF_MATERIAL 0.05 /* share of the step spent taking ready batches above which diagnose says so */

/* A cpu record's BLAS kernels against the best its CPU runs (versions.blas_kernels,
 * blas_cpu_best, blas_kernels_by; empty strings where not recorded). Returns 1 when the
 * kernels rank below the CPU's best (kernels/cpu/blas.h), 0 otherwise and for other devices. */
struct rp_blas_note {
	char kernels[24], cpu_best[24], by[24];
};
int rp_record_blas_below(const struct rp_record *r, struct rp_blas_note *n);

enum rp_bound { RP_BOUND_UNKNOWN, RP_BOUND_NOT, RP_BOUND_MODERATE, RP_BOUND_HIGH };

struct rp_diagnosis {
	enum rp_bound bound;
	double wait_frac;
	double wait_ms;          /* mean data wait per step */
	double compute_ms;       /* step time without the wait */
	double demand_sps;       /* samples/s the trainer takes when not waiting */
	int demand_measured;     /* 1: the loader's consumer_samples_per_sec; 0: from step time and wait */
	double supply_sps;       /* samples/s the loader makes; NAN when unknown (not limiting) */
	int supply_measured;     /* 1: from the loader's statistics; 0: inferred */
	double per_worker_sps;   /* NAN when unknown */
	double worker_cpu_frac;  /* share of the workers' busy time spent computing; NAN when unknown */
	double worker_busy_frac; /* share of the workers' lifetime spent busy; NAN when unknown */
	int loader_threads;      /* worker threads checked: the advised count when more are advised, else the record's */
	double loader_cores;     /* CPU those workers compute on, in cores */
	int workers_needed;      /* -1 when it cannot be told */
	int compute_threads, host_cpus; /* 0 when not recorded */
	int oversubscribed;      /* -1 unknown */
	double latency_p50_ms, latency_p95_ms; /* batch latency (production, else wait) */
	int prefetch_advice;     /* suggested --prefetch; 0 = no change */
	double handoff_ms;       /* mean time taking a batch that was ready (the trainer waiting for a CPU); NAN unknown */
	int blas_below;          /* cpu point whose BLAS kernels rank below the CPU's best */
	struct rp_blas_note blas;
	char explanation[1280];
};

const char *rp_bound_name(enum rp_bound b);
enum rp_bound rp_bound_of(double wait_frac);
/* Diagnoses an ok record; KN_EDATA when the record is not ok or lacks step times. */
int rp_diagnose(const struct rp_record *r, struct rp_diagnosis *d);
/* The diagnosis as a few lines of Markdown (strings escaped). */
void rp_diagnosis_markdown(const struct rp_record *r, const struct rp_diagnosis *d, struct rp_buf *b);

#endif
