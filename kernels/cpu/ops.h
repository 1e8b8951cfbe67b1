/*
 * kernels/cpu/ops.h — the CPU op tables, one per element type.
 * The functions behind them are declared in kernels/cpu/ops_table.c only.
 */
#ifndef KN_CPU_OPS_H
#define KN_CPU_OPS_H

#include "kernels/backend.h"

extern const struct kn_ops kn_cpu32_ops;
extern const struct kn_ops kn_cpu64_ops;

#endif
