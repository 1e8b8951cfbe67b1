#!/usr/bin/env bash
# The job scripts in sweeps/slurm/, run as SLURM runs them (array tasks with
# SLURM's variables, then the merge): their merged results equal one
# unsharded sweep's.
NAME=cli_sweep_jobs
. "${SRC:?SRC must name the source tree}/tests/helpers/sweep.sh"

plan s.ini jobs "precisions = fp32, bf16" "batch_sizes = 2, 4"
"$A" sweep s.ini --out whole --quiet
same "unsharded exit" "$?" 0

# two array tasks, then the merge
for task in 1 2; do
	SLURM_ARRAY_TASK_ID=$task SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=2 SLURM_ARRAY_TASK_COUNT=2 SLURM_CPUS_PER_TASK=1 \
		AMPTUNE="$A" PLAN=s.ini OUT=jobs bash "$SRC/sweeps/slurm/array.sbatch" >/dev/null 2>&1
	same "array task $task exit" "$?" 0
done
AMPTUNE="$A" OUT=jobs bash "$SRC/sweeps/slurm/merge.sbatch" >/dev/null 2>&1
same "merge job exit" "$?" 0
same "job scripts = unsharded" "$(records jobs/results.jsonl | awk '{ print $1, $2, $3 }')" \
	"$(records whole/results.jsonl)"

finish
