#!/bin/bash
# Submit an amptune sweep to SLURM: a job array with one task per grid point and a merge
# job that runs when every task has succeeded.
#
#   submit.sh [options] PLAN.ini OUTDIR [-- SBATCH_OPTION...]
#   submit.sh --resubmit [options] OUTDIR [-- SBATCH_OPTION...]
#
# The first form counts the plan's points N with `amptune sweep PLAN.ini --list`, then runs
#   sbatch --array=0-(N-1)%K array.sbatch OUTDIR/slurm/plan.ini OUTDIR N
#   sbatch --dependency=afterok:<array job> merge.sbatch OUTDIR N
# The plan is copied to OUTDIR/slurm/plan.ini first, so every task (a requeued one days
# later too) runs the plan that was counted. Logs go to OUTDIR/slurm/logs/, one file per
# task (%x-%A_%a.out). SBATCH_OPTIONs after -- are given to the array job (they override
# array.sbatch's #SBATCH lines: --gres=none on a CPU partition, --time, --mem, ...); for
# options both jobs need (partition, account, QOS) set SBATCH_PARTITION, SBATCH_ACCOUNT,
# SBATCH_QOS in the environment, which sbatch reads itself.
#
# --resubmit, once the array has left the queue, submits only the tasks whose shard
# (OUTDIR/shards/I.jsonl) holds no result: tasks that were cancelled, killed at the time
# limit, lost with a node, or preempted without --requeue. A point amptune itself recorded
# as oom, timeout or failed is a result, and is not re-run. It cancels the old merge job
# (which waits on a dependency that can never be met) and submits a new one.
#
# options:
#   -K, --max-running K   at most K tasks at a time (default 8; --resubmit: as first submitted)
#   --set KEY=VALUE       a plan override, as for amptune sweep (repeatable)
#   --dry-run             print the sbatch commands instead of running them
#   -h, --help            this text
#
# amptune is $AMPTUNE, or the one on PATH; it, the plan and OUTDIR must be on a file
# system the compute nodes share. Exit codes: 0 submitted (or nothing to do),
# 1 sbatch failed or (--resubmit) tasks of the sweep are still queued, 64 usage or plan
# error, 69 sbatch or amptune not found.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
me=submit.sh

usage() { sed -n '2,/^set -u$/{/^set -u$/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { local code=$1; shift; echo "$me: $*" >&2; exit "$code"; }

max_running='' resubmit=0 dry_run=0 dry_label=''
exec 3>&1 # --dry-run's sbatch lines, from inside $(submit ...)
sets=() sbatch_opts=() args=()
while [ $# -gt 0 ]; do
	case $1 in
	-K | --max-running) [ $# -ge 2 ] || die 64 "option '$1' needs a value"; max_running=$2; shift 2 ;;
	--max-running=*) max_running=${1#*=}; shift ;;
	--set) [ $# -ge 2 ] || die 64 "option '--set' needs a value"; sets+=(--set "$2"); shift 2 ;;
	--set=*) sets+=(--set "${1#*=}"); shift ;;
	--resubmit) resubmit=1; shift ;;
	--dry-run) dry_run=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; sbatch_opts=("$@"); break ;;
	-*) die 64 "unknown option '$1' (see $me --help)" ;;
	*) args+=("$1"); shift ;;
	esac
done
case ${max_running:-8} in
'' | *[!0-9]* | 0) die 64 "option '--max-running' expects a positive integer, got '$max_running'" ;;
esac

amptune=${AMPTUNE:-amptune}
amptune_path=$(command -v "$amptune") || die 69 "'$amptune' not found: set AMPTUNE or PATH"
case $amptune_path in /*) ;; *) amptune_path=$(cd "$(dirname "$amptune_path")" && pwd)/$(basename "$amptune_path") ;; esac
if [ $dry_run = 0 ]; then
	command -v sbatch >/dev/null || die 69 "sbatch not found: run this on a SLURM login node"
fi

abspath() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

# N: the rows of `amptune sweep --list` that carry a point id (a hex hash); the header
# and any summary line carry none.
count_points() {
	local listing rc
	listing=$("$amptune_path" sweep "$1" --list "${sets[@]}") || {
		rc=$?
		die "$rc" "amptune sweep '$1' --list failed (exit $rc)"
	}
	printf '%s\n' "$listing" | grep -cE '(^|[[:space:]])[0-9a-f]{8,}([[:space:]]|$)' || true
}

# The tasks SLURM still holds (pending, running, requeued) of the array jobs in $1.
queued_tasks() {
	local id
	for id in $1; do
		squeue -h -r -j "$id" -o '%i %T' 2>/dev/null
	done
}

# One sbatch call: the job id, or exit 1 with sbatch's message.
submit() {
	if [ $dry_run = 1 ]; then
		{ printf 'sbatch'; printf ' %q' "$@"; printf '\n'; } >&3
		echo "$dry_label"
		return
	fi
	local reply
	reply=$(sbatch --parsable "$@") || die 1 "sbatch failed: sbatch $*"
	echo "${reply%%;*}"
}

if [ $resubmit = 0 ]; then
	[ ${#args[@]} = 2 ] || die 64 "expected PLAN.ini OUTDIR (see $me --help)"
	plan=${args[0]} out=$(abspath "${args[1]}")
	[ -r "$plan" ] || die 64 "cannot read plan '$plan'"
	[ -e "$out/slurm/jobs" ] && die 64 "'$out' already holds a SLURM submission ($out/slurm/jobs): use $me --resubmit $out"
	npoints=$(count_points "$plan") || exit
	[ "$npoints" -gt 0 ] || die 64 "amptune sweep '$plan' --list shows no points"
	if [ $dry_run = 0 ]; then
		mkdir -p "$out/slurm/logs" || die 1 "cannot create '$out/slurm/logs'"
		cp "$plan" "$out/slurm/plan.ini" || die 1 "cannot copy '$plan' to '$out/slurm/plan.ini'"
		echo "$npoints" >"$out/slurm/points"
		printf '%s\n' "${sets[@]}" >"$out/slurm/sets"
		printf '%s\n' "${sbatch_opts[@]}" >"$out/slurm/array-options"
		echo "${max_running:=8}" >"$out/slurm/max-running"
	fi
	tasks=0-$((npoints - 1))
else
	[ ${#args[@]} = 1 ] || die 64 "--resubmit expects OUTDIR alone (see $me --help)"
	out=$(abspath "${args[0]}")
	[ -r "$out/slurm/points" ] && [ -r "$out/slurm/jobs" ] ||
		die 64 "'$out' holds no SLURM submission of $me (no $out/slurm/points, $out/slurm/jobs)"
	npoints=$(cat "$out/slurm/points")
	# the overrides and array options of the first submission, then this call's
	[ ${#sets[@]} -gt 0 ] && die 64 "--resubmit runs the plan as first submitted: no --set"
	mapfile -t sets <"$out/slurm/sets"
	mapfile -t old_opts <"$out/slurm/array-options"
	[ -n "$max_running" ] || max_running=$(cat "$out/slurm/max-running" 2>/dev/null)
	sbatch_opts=("${old_opts[@]}" "${sbatch_opts[@]}")
	[ ${#sets[@]} = 1 ] && [ -z "${sets[0]}" ] && sets=()
	[ ${#sbatch_opts[@]} -ge 1 ] && [ -z "${sbatch_opts[0]}" ] && sbatch_opts=("${sbatch_opts[@]:1}")
	# the plan still lists the points counted at the first submission
	now=$(count_points "$out/slurm/plan.ini") || exit
	[ "$now" = "$npoints" ] || die 64 "'$out/slurm/plan.ini' now lists $now points, not $npoints"

	arrays=$(awk '$1 == "array" { print $2 }' "$out/slurm/jobs")
	merges=$(awk '$1 == "merge" { print $2 }' "$out/slurm/jobs")
	if [ $dry_run = 0 ]; then
		left=$(queued_tasks "$arrays")
		[ -z "$left" ] || die 1 "tasks of this sweep are still queued or running; wait for them (or scancel them) first:
$left"
	fi
	missing=()
	for ((i = 0; i < npoints; i++)); do
		f=$out/shards/$i.jsonl
		# complete lines only: a torn last line is no result
		if [ ! -f "$f" ] || [ "$(tr -cd '\n' <"$f" | wc -c)" -lt 1 ]; then
			missing+=("$i")
		fi
	done
	if [ ${#missing[@]} = 0 ]; then
		if [ $dry_run = 0 ] && [ -n "$(queued_tasks "$merges")" ]; then
			echo "$me: every shard of '$out' has its result and the merge job is queued: nothing to do"
			exit 0
		fi
		echo "$me: every shard of '$out' has its result; submitting the merge alone"
		dry_label='$MERGE_JOB'
		merge_id=$(submit --output="$out/slurm/logs/%x-%j.out" --export=ALL,AMPTUNE="$amptune_path" \
			"$here/merge.sbatch" "$out" "$npoints") || exit
		[ $dry_run = 1 ] || echo "merge $merge_id" >>"$out/slurm/jobs"
		echo "$me: merge job $merge_id"
		exit 0
	fi
	if [ $dry_run = 0 ]; then
		for id in $merges; do
			if [ -n "$(queued_tasks "$id")" ]; then
				scancel "$id" && echo "$me: cancelled the old merge job $id"
			fi
		done
	fi
	tasks=$(IFS=,; echo "${missing[*]}")
	echo "$me: re-submitting ${#missing[@]} of $npoints tasks: $tasks"
fi

dry_label='$ARRAY_JOB'
max_running=${max_running:-8}
array_id=$(submit --array="$tasks%$max_running" --output="$out/slurm/logs/%x-%A_%a.out" \
	--export=ALL,AMPTUNE="$amptune_path" "${sbatch_opts[@]}" \
	"$here/array.sbatch" "$out/slurm/plan.ini" "$out" "$npoints" "${sets[@]}") || exit
[ $dry_run = 1 ] || echo "array $array_id" >>"$out/slurm/jobs"
dry_label='$MERGE_JOB'
merge_id=$(submit --dependency=afterok:"$array_id" --output="$out/slurm/logs/%x-%j.out" \
	--export=ALL,AMPTUNE="$amptune_path" "$here/merge.sbatch" "$out" "$npoints") || exit
[ $dry_run = 1 ] || echo "merge $merge_id" >>"$out/slurm/jobs"
echo "$me: $npoints points; array job $array_id (tasks $tasks, at most $max_running at a time), merge job $merge_id"
echo "$me: logs in $out/slurm/logs; results in $out/results.jsonl when the merge job has run"
