#!/usr/bin/env bash
# Sweeps on SLURM, against SLURM itself: a single-node cluster (munged, slurmctld, slurmd)
# on this machine, and a 4-point CPU plan submitted with sweeps/slurm/submit.sh as a job
# array plus the dependent merge job (case 1); one array task cancelled mid-run, then
# re-submitted with submit.sh --resubmit (case 2); one task requeued mid-run, as
# preemption does, which resumes by itself (case 3). Each time the merged results.jsonl
# must hold exactly the listed points, once each, all ok.
# Needs root (it installs Debian's slurm-wlm and munge when missing and runs the daemons);
# exits 77 with the reason where it cannot run. Every daemon and job process it starts is
# stopped on exit, whatever the exit. KEEP_TMP=1 keeps the cluster's files and logs.
set -u
A=${AMPTUNE:?AMPTUNE must name the amptune binary}
SRC=${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
SUBMIT=$SRC/sweeps/slurm/submit.sh
export PATH=$PATH:/usr/sbin:/sbin
WAIT_S=${SLURM_TEST_WAIT_S:-180} # bound on each wait for SLURM
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
skip() { echo "SKIP: $*"; exit 77; }

# --- what this build and machine must have ------------------------------------------------
if ! "$A" sweep --help 2>/dev/null | grep -q -- '--list'; then
	skip "amptune sweep is not available in this build (needs 'amptune sweep --list')"
fi
"$A" help merge >/dev/null 2>&1 || skip "amptune merge is not available in this build"
"$A" help report >/dev/null 2>&1 || skip "amptune report is not available in this build"
command -v python3 >/dev/null || skip "python3 is needed to read the results"
[ "$(id -u)" = 0 ] || skip "needs root: it installs slurm-wlm and munge and runs munged, slurmctld and slurmd"

mkdir -p "${TEST_TMPDIR:-/tmp}"
T=$(mktemp -d "${TEST_TMPDIR:-/tmp}/cli_slurm.XXXXXX") || exit 1
chmod 755 "$T"
# munged insists that everyone may traverse to its socket, whose path must fit in
# sockaddr_un: a short directory under /tmp, whatever the build directory
MUNGE_RUN=$(mktemp -d /tmp/amptune-munge.XXXXXX) || exit 1

CONF=$T/slurm.conf

# Stopping everything this test started, from the EXIT trap or from the watchdog:
# the daemons' pids are in $T/pids; the jobs' processes (slurmstepd, the job scripts,
# amptune) all carry SLURM_CONF=$CONF in their environment, which names them exactly.
started() { echo "$1" >>"$T/pids"; }
alive() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]; }
job_procs() {
	local p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
		grep -qzxF "SLURM_CONF=$CONF" "/proc/$p/environ" 2>/dev/null && echo "$p"
	done
}
stop_all() {
	local pid i jobs pids
	pids=$(cat "$T/pids" 2>/dev/null)
	[ -n "$pids" ] || return 0
	# every job of this private cluster is this test's: cancel them while slurmctld runs
	jobs=$(SLURM_CONF=$CONF squeue -h -o %A 2>/dev/null)
	if [ -n "$jobs" ]; then
		SLURM_CONF=$CONF scancel $jobs 2>/dev/null
		for ((i = 0; i < 30; i++)); do
			[ -z "$(SLURM_CONF=$CONF squeue -h -o %A 2>/dev/null)" ] && break
			sleep 0.5
		done
	fi
	for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
	for pid in $pids; do
		for ((i = 0; i < 40; i++)); do alive "$pid" || break; sleep 0.25; done
		kill -KILL "$pid" 2>/dev/null
	done
	for pid in $(job_procs); do kill -KILL "$pid" 2>/dev/null; done
	rm -f "$T/pids"
}
cleanup() {
	local rc=$? f
	trap - EXIT INT TERM HUP
	stop_all
	wait 2>/dev/null # reap the daemons (and the watchdog, told to go)
	if [ $rc != 0 ] && [ $rc != 77 ] && [ -d "$T/log" ]; then
		for f in "$T"/log/*.log; do
			[ -s "$f" ] && { echo "--- $f (last lines)"; tail -n 15 "$f"; }
		done
	fi
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "kept $T"
	else
		rm -rf "$MUNGE_RUN" "$T"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- install --------------------------------------------------------------------------------
have_slurm() {
	local c
	for c in munged munge unmunge slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
		command -v $c >/dev/null || return 1
	done
}
if ! have_slurm; then
	command -v apt-get >/dev/null || skip "slurm-wlm and munge are not installed and there is no apt-get"
	echo "installing slurm-wlm and munge (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q slurm-wlm munge >"$T/apt.log" 2>&1; then
		apt-get update -q >>"$T/apt.log" 2>&1
		apt-get install -y -q slurm-wlm munge >>"$T/apt.log" 2>&1 ||
			skip "apt-get install slurm-wlm munge failed: $(tail -n 2 "$T/apt.log" | tr '\n' ' ')"
	fi
	have_slurm || skip "slurm-wlm and munge installed, but their commands are not on PATH"
fi

# --- munged, with its own key and socket ----------------------------------------------------
mkdir -p "$T/munge/etc" "$MUNGE_RUN" "$T/state" "$T/spool" "$T/log" "$T/cgroup" "$T/work" || exit 1
chmod 755 "$T/munge" "$MUNGE_RUN"
chmod 700 "$T/munge/etc"
head -c 1024 /dev/urandom >"$T/munge/etc/munge.key" && chmod 400 "$T/munge/etc/munge.key" || exit 1
SOCK=$MUNGE_RUN/munge.socket
munged --foreground --key-file="$T/munge/etc/munge.key" --socket="$SOCK" \
	--pid-file="$MUNGE_RUN/munged.pid" --log-file="$T/log/munged.log" \
	--seed-file="$T/munge/etc/munged.seed" >"$T/log/munged.out" 2>&1 </dev/null &
started $!

# A watchdog stops everything should this shell be killed outright (SIGKILL skips traps);
# after a normal exit it finds $T/pids gone and has nothing to do.
(
	trap '' INT TERM HUP
	while kill -0 $$ 2>/dev/null && [ -e "$T/pids" ]; do sleep 1; done
	if [ -e "$T/pids" ]; then
		stop_all
		[ -n "${KEEP_TMP:-}" ] || rm -rf "$MUNGE_RUN" "$T"
	fi
) >/dev/null 2>&1 </dev/null &

for ((i = 0; i < 40; i++)); do [ -S "$SOCK" ] && break; sleep 0.25; done
if ! munge -n -S "$SOCK" | unmunge -S "$SOCK" >/dev/null 2>&1; then
	bad "munged did not start: $(tail -n 3 "$T/log/munged.log" "$T/log/munged.out" 2>/dev/null)"
	exit 1
fi

# --- slurm.conf for this machine ------------------------------------------------------------
# Free TCP ports for slurmctld and slurmd (another cluster may be running here).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for ((i = 0; i < 50; i++)); do
	CTLD_PORT=$((20000 + RANDOM % 30000))
	SLURMD_PORT=$((CTLD_PORT + 1))
	port_free $CTLD_PORT && port_free $SLURMD_PORT && break
done
# The node as slurmd sees the hardware: CPUs, sockets, cores, threads, RealMemory.
HW=$(env -u SLURM_CONF slurmd -C 2>/dev/null | head -n 1)
case $HW in
NodeName=*CPUs=*RealMemory=*) ;;
*) bad "slurmd -C did not describe this node: '$HW'"; exit 1 ;;
esac
HW=${HW#NodeName=* }
HOST=$(hostname -s)
export SLURM_CONF=$CONF
cat >"$SLURM_CONF" <<EOF
ClusterName=amptunetest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job waits this long (plus a second) before it may start again,
# 120 s by default
AuthInfo=socket=$SOCK,cred_expire=10
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
# no cgroups in a container: processes tracked through /proc, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=256
ReturnToService=2
NodeName=amptune1 NodeHostname=$HOST NodeAddr=127.0.0.1 $HW State=UNKNOWN
PartitionName=test Nodes=amptune1 Default=YES MaxTime=INFINITE State=UP
EOF
# slurmd loads a cgroup plugin even when nothing uses it, and fails where no cgroup file
# system is mounted: point it at an empty directory
cat >"$T/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupMountpoint=$T/cgroup
CgroupAutomount=no
EOF

slurmctld -D -i -f "$SLURM_CONF" >"$T/log/slurmctld.out" 2>&1 </dev/null &
slurmctld_pid=$!
started $slurmctld_pid
slurmd -D -N amptune1 -f "$SLURM_CONF" >"$T/log/slurmd.out" 2>&1 </dev/null &
slurmd_pid=$!
started $slurmd_pid
state=
for ((i = 0; i < 120; i++)); do
	state=$(sinfo -h -n amptune1 -o %T 2>/dev/null)
	[ "$state" = idle ] && break
	kill -0 $slurmctld_pid 2>/dev/null || break
	kill -0 $slurmd_pid 2>/dev/null || break
	sleep 0.5
done
if [ "$state" != idle ]; then
	bad "the node did not come up idle (state '$state')"
	exit 1
fi
echo "cluster up: node amptune1 ($HW), slurmctld port $CTLD_PORT"
ok

# --- helpers --------------------------------------------------------------------------------
# wait_gone JOB: until SLURM no longer holds JOB (all its tasks) pending or running.
wait_gone() {
	local i
	for ((i = 0; i < WAIT_S * 2; i++)); do
		[ -z "$(squeue -h -r -j "$1" -o %i 2>/dev/null)" ] && return 0
		sleep 0.5
	done
	bad "job $1 still queued after ${WAIT_S} s: $(squeue -r -j "$1" 2>&1 | tr '\n' ';')"
	return 1
}
# wait_training OUT TASK: until array task TASK (JOB_I) runs its script and amptune has had
# a second to start the point. RUNNING alone comes before slurmd has launched the script.
wait_training() {
	local i state='' log=$1/slurm/logs/amptune-sweep-$2.out
	for ((i = 0; i < WAIT_S * 10; i++)); do
		state=$(squeue -h -j "$2" -o %T 2>/dev/null)
		[ "$state" = RUNNING ] && grep -q "^amptune-sweep: job $2 " "$log" 2>/dev/null && sleep 1 && return 0
		sleep 0.1
	done
	bad "task $2 never ran (state '$state')"
	return 1
}
# job_states JOB: "TASK STATE EXIT" per task (TASK "-" for a plain job), sorted by task,
# from slurmctld's memory of recent jobs.
job_field() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); next } print "-" }'; }
job_states() {
	local lines
	lines=$(scontrol -o show job "$1" 2>/dev/null)
	[ -n "$lines" ] || return 0
	paste -d ' ' <(job_field ArrayTaskId <<<"$lines") <(job_field JobState <<<"$lines") \
		<(job_field ExitCode <<<"$lines") | sort -n
}
# epoch seconds of a job's (every task's) TIME field: StartTime, EndTime
job_times() { scontrol -o show job "$1" 2>/dev/null | job_field "$2" | while read -r t; do date -d "$t" +%s; done; }
last_job() { awk -v k="$2" '$1 == k { id = $2 } END { print id }' "$1/slurm/jobs"; }

# check_results OUT LISTING: results.jsonl holds exactly the listed points, once each, all ok
check_results() {
	python3 - "$1/results.jsonl" "$2" <<'PY'
import json, re, sys
path, listing = sys.argv[1], sys.argv[2]
want = []
for line in open(listing):
    ids = [t for t in line.split() if re.fullmatch(r"[0-9a-f]{8,}", t)]
    if ids:
        want.append(ids[0])
recs = [json.loads(l) for l in open(path) if l.strip()]
got = [r["id"] for r in recs]
errors = []
if len(want) != len(set(want)):
    errors.append(f"--list repeats ids: {want}")
if sorted(got) != sorted(want):
    errors.append(f"ids {sorted(got)} != listed {sorted(want)}")
if len(got) != len(set(got)):
    errors.append(f"duplicate records: {got}")
bad = [(r["id"], r.get("status"), r.get("message")) for r in recs if r.get("status") != "ok"]
if bad:
    errors.append(f"points not ok: {bad}")
if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"{len(recs)} records, the {len(want)} listed points, each ok")
PY
}

# --- the plan: 4 CPU points ------------------------------------------------------------------
cat >"$T/plan.ini" <<'EOF'
[sweep]
name = slurm-test
model = gpt
size = tiny
data = fortunes
steps = 5
warmup_steps = 1
time_limit_s = 120
devices = cpu
precisions = fp32
batch_sizes = 2, 4
seq = 16, 32
EOF
cd "$T/work" || exit 1
# CPU partition: no GPU per task; one CPU and a little memory each, so that both CPUs of a
# 2-core machine run a task at a time
ARRAY_OPTS=(-- --gres=none --cpus-per-task=1 --mem=1G --time=00:10:00)

# --- case 1: array + dependent merge --------------------------------------------------------
"$A" sweep "$T/plan.ini" --list >"$T/list1" || { bad "amptune sweep --list failed"; exit 1; }
N=$(grep -cE '(^|[[:space:]])[0-9a-f]{8,}([[:space:]]|$)' "$T/list1")
[ "$N" = 4 ] && ok || bad "--list shows $N points, expected 4: $(cat "$T/list1")"
OUT1=$T/run1
"$SUBMIT" --max-running 2 "$T/plan.ini" "$OUT1" "${ARRAY_OPTS[@]}" >"$T/submit1" 2>&1 &&
	ok || { bad "submit.sh failed: $(cat "$T/submit1")"; exit 1; }
cat "$T/submit1"
ARRAY1=$(last_job "$OUT1" array) MERGE1=$(last_job "$OUT1" merge)
[ -n "$ARRAY1" ] && [ -n "$MERGE1" ] && ok || { bad "no job ids in $OUT1/slurm/jobs"; exit 1; }
wait_gone "$ARRAY1" && wait_gone "$MERGE1" || exit 1
states=$(job_states "$ARRAY1")
[ "$states" = "$(printf '%s COMPLETED 0:0\n' 0 1 2 3)" ] && ok || bad "array tasks did not all complete: $states"
# afterok: the merge started after the last task ended
last_end=$(job_times "$ARRAY1" EndTime | sort -n | tail -n 1)
merge_start=$(job_times "$MERGE1" StartTime)
[ -n "$last_end" ] && [ -n "$merge_start" ] && [ "$merge_start" -ge "$last_end" ] && ok ||
	bad "merge job started at '$merge_start', before the array's last task ended at '$last_end'"
for i in 0 1 2 3; do
	[ -s "$OUT1/slurm/logs/amptune-sweep-${ARRAY1}_$i.out" ] && ok ||
		bad "no per-task log $OUT1/slurm/logs/amptune-sweep-${ARRAY1}_$i.out"
done
[ "$(job_states "$MERGE1")" = "- COMPLETED 0:0" ] && ok ||
	bad "merge job: $(job_states "$MERGE1"); log: $(tail -n 5 "$OUT1"/slurm/logs/amptune-merge-*.out 2>&1)"
check_results "$OUT1" "$T/list1" && ok || bad "case 1: merged results"
"$A" report "$OUT1" >"$T/report1" 2>&1 && ok || bad "amptune report $OUT1: $(tail -n 5 "$T/report1")"

# --- case 2: cancel one task mid-run, re-submit it ------------------------------------------
# longer points, so that task 1 is caught while it trains
SET=(--set steps=600)
"$A" sweep "$T/plan.ini" --list "${SET[@]}" >"$T/list2" || { bad "amptune sweep --list --set failed"; exit 1; }
OUT2=$T/run2
"$SUBMIT" --max-running 2 "${SET[@]}" "$T/plan.ini" "$OUT2" "${ARRAY_OPTS[@]}" >"$T/submit2" 2>&1 &&
	ok || { bad "submit.sh (case 2) failed: $(cat "$T/submit2")"; exit 1; }
ARRAY2=$(last_job "$OUT2" array) MERGE2=$(last_job "$OUT2" merge)
wait_training "$OUT2" "${ARRAY2}_1" || exit 1
scancel "${ARRAY2}_1" && ok || bad "scancel ${ARRAY2}_1"
wait_gone "$ARRAY2" || exit 1
states=$(job_states "$ARRAY2")
[ "$(grep -c '^1 CANCELLED ' <<<"$states")" = 1 ] && [ "$(grep -c ' COMPLETED 0:0$' <<<"$states")" = 3 ] &&
	ok || bad "expected task 1 cancelled and 3 completed: $states"
# cancelled mid-point: nothing recorded for shard 1
[ "$(cat "$OUT2/shards/1.jsonl" 2>/dev/null | grep -c .)" = 0 ] && ok ||
	bad "shard 1 has a record: the cancel came after its point finished"
# the merge waits forever on a dependency the cancelled task broke
for ((i = 0; i < 20; i++)); do
	reason=$(squeue -h -j "$MERGE2" -o %r 2>/dev/null)
	[ "$reason" = DependencyNeverSatisfied ] && break
	sleep 0.5
done
[ "$reason" = DependencyNeverSatisfied ] && ok || bad "merge job $MERGE2: reason '$reason'"

"$SUBMIT" --resubmit "$OUT2" >"$T/resubmit" 2>&1 && ok || { bad "submit.sh --resubmit: $(cat "$T/resubmit")"; exit 1; }
cat "$T/resubmit"
grep -q "re-submitting 1 of 4 tasks: 1$" "$T/resubmit" && ok || bad "--resubmit did not pick task 1 alone"
grep -q "cancelled the old merge job $MERGE2" "$T/resubmit" && ok || bad "--resubmit did not cancel merge $MERGE2"
ARRAY3=$(last_job "$OUT2" array) MERGE3=$(last_job "$OUT2" merge)
[ "$ARRAY3" != "$ARRAY2" ] && [ "$MERGE3" != "$MERGE2" ] && ok || bad "no new jobs in $OUT2/slurm/jobs"
wait_gone "$ARRAY3" && wait_gone "$MERGE3" || exit 1
[ "$(job_states "$ARRAY3")" = "1 COMPLETED 0:0" ] && ok ||
	bad "re-submitted task: $(job_states "$ARRAY3")"
[ -s "$OUT2/slurm/logs/amptune-sweep-${ARRAY3}_1.out" ] && ok || bad "no log for the re-submitted task 1"
[ "$(job_states "$MERGE3")" = "- COMPLETED 0:0" ] && ok ||
	bad "second merge job: $(job_states "$MERGE3"); log: $(tail -n 5 "$OUT2"/slurm/logs/amptune-merge-"$MERGE3".out 2>&1)"
check_results "$OUT2" "$T/list2" && ok || bad "case 2: merged results"
"$A" report "$OUT2" >"$T/report2" 2>&1 && ok || bad "amptune report $OUT2: $(tail -n 5 "$T/report2")"

# --- case 3: a task requeued mid-run (what preemption does) resumes by itself -------------
OUT3=$T/run3
"$SUBMIT" --max-running 2 "${SET[@]}" "$T/plan.ini" "$OUT3" "${ARRAY_OPTS[@]}" >"$T/submit3" 2>&1 &&
	ok || { bad "submit.sh (case 3) failed: $(cat "$T/submit3")"; exit 1; }
ARRAY4=$(last_job "$OUT3" array) MERGE4=$(last_job "$OUT3" merge)
wait_training "$OUT3" "${ARRAY4}_2" || exit 1
scontrol requeue "${ARRAY4}_2" && ok || bad "scontrol requeue ${ARRAY4}_2"
wait_gone "$ARRAY4" && wait_gone "$MERGE4" || exit 1
[ "$(job_states "$ARRAY4")" = "$(printf '%s COMPLETED 0:0\n' 0 1 2 3)" ] && ok ||
	bad "case 3 tasks: $(job_states "$ARRAY4")"
# one log per task, appended to by the second run
log=$OUT3/slurm/logs/amptune-sweep-${ARRAY4}_2.out
grep -q "restart 0" "$log" && grep -q "restart 1" "$log" && ok || bad "task 2 was not run twice: $(cat "$log")"
[ "$(grep -c . "$OUT3/shards/2.jsonl")" = 1 ] && ok || bad "shard 2 of case 3: $(cat "$OUT3/shards/2.jsonl")"
[ "$(job_states "$MERGE4")" = "- COMPLETED 0:0" ] && ok || bad "case 3 merge job: $(job_states "$MERGE4")"
check_results "$OUT3" "$T/list2" && ok || bad "case 3: merged results"

# nothing left to re-submit: --resubmit says so and submits only a merge
"$SUBMIT" --resubmit --dry-run "$OUT2" >"$T/resubmit2" 2>&1 && grep -q "every shard of .* has its result" "$T/resubmit2" &&
	ok || bad "--resubmit of a complete sweep: $(cat "$T/resubmit2")"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
