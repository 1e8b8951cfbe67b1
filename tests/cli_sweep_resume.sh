#!/usr/bin/env bash
# Resume: a sweep killed with SIGKILL in the middle of a point, then re-run,
# records every point exactly once; a torn last line is reported, set aside
# and the point re-run; another plan's directory is refused without --force;
# a second sweep cannot write the same directory; SIGINT/SIGTERM, to the sweep or to
# its running point alone, stop the running point, record nothing partial and exit 130/143.
NAME=cli_sweep_resume
. "${SRC:?SRC must name the source tree}/tests/helpers/sweep.sh"

# five points of about a second each on one thread
plan r.ini resume "steps = 40" "batch_sizes = 2, 3, 4, 5, 6"
listed r.ini >want.txt

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds
wait_for() {
	local limit=$(($1 * 20))
	shift
	for _ in $(seq "$limit"); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
# the pid of the training process the sweep $1 is running, if any
child_of() { pgrep -P "$1" | head -1; }
has_child() { [ -n "$(child_of "$1")" ]; }

# ---- kill -9 in the middle of the third point ----
"$A" sweep r.ini --out run --quiet &
sweep=$!
wait_for 60 lines run/results.jsonl 2 || bad "no two records within a minute"
wait_for 10 has_child "$sweep" || bad "no third point started"
child=$(child_of "$sweep")
# a second sweep cannot write the directory meanwhile
expect 1 "amptune sweep: another sweep or a merge is running in 'run' \(lock 'run/.lock' is held\)" -- \
	sweep r.ini --out run --quiet
kill -9 "$sweep"
wait "$sweep" 2>/dev/null
wait_for 5 sh -c "! kill -0 $child 2>/dev/null" && ok || bad "training process $child outlived the killed sweep"
before=$(wc -l <run/results.jsonl)
[ "$before" -ge 2 ] && [ "$before" -le 4 ] && ok || bad "records before the kill: $before"
same "records are whole lines" "$(tail -c 1 run/results.jsonl | od -An -c | tr -d ' ')" '\n'

"$A" sweep r.ini --out run --no-progress >resume.out 2>resume.err
same "resume exit" "$?" 0
grep -q "^amptune sweep: resuming 'resume': $before of 5 points already recorded in 'run'$" resume.err && ok ||
	bad "resume message: $(cat resume.err)"
same "every point exactly once" "$(records run/results.jsonl | awk '{ print $1, $2 }' | sort)" "$(sort want.txt)"
same "all ok" "$(records run/results.jsonl | awk '{ print $3 }' | sort -u)" "ok"
same "resume ran only the rest" "$(grep -c '\] ok ' resume.err)" "$((5 - before))"
# the interrupted point's log holds both attempts
killed_id=$(sed -n "$((before + 1))p" want.txt | awk '{ print $1 }')
same "attempts in the killed point's log" "$(grep -c '^== amptune sweep' "run/points/$killed_id.log")" 2

# ---- a torn last line (a write cut short): reported, set aside, the point re-run ----
last_id=$(tail -1 run/results.jsonl | field /dev/stdin id)
size=$(wc -c <run/results.jsonl)
truncate -s $((size - 40)) run/results.jsonl
"$A" sweep r.ini --out run --quiet 2>torn.err
same "torn resume exit" "$?" 0
grep -q "^amptune sweep: warning: 'run/results.jsonl' line 5: torn last line ([0-9]* bytes, a write cut short) ignored; saved to 'run/results.jsonl.torn'$" torn.err &&
	ok || bad "torn warning: $(cat torn.err)"
same "torn: every point exactly once" "$(records run/results.jsonl | awk '{ print $1, $2 }' | sort)" "$(sort want.txt)"
same "the torn point was re-run last" "$(tail -1 run/results.jsonl | field /dev/stdin id)" "$last_id"
same "torn bytes kept aside" "$(wc -l <run/results.jsonl.torn)" 1

# ---- another plan's directory ----
expect 64 "amptune sweep: 'run' holds results of plan 'resume', not 'other'; use another --out, or --force" -- \
	sweep r.ini --out run --set name=other
"$A" sweep r.ini --out run --set name=other --force --quiet
same "--force runs (nothing new to run)" "$?:$(wc -l <run/results.jsonl)" "0:5"
grep -q "^name = other$" run/plan.ini && ok || bad "plan copy not replaced"

# ---- the plan copy: a plan's comment that reads like the copy's "; original '...'" stays a comment ----
plan c.ini copied "steps = 3" "; original 'baseline' plan used batch 8" "batch_sizes = 2"
"$A" sweep c.ini --out copied --quiet && "$A" sweep c.ini --out copied --quiet 2>copied.err
same "the same command twice" "$?:$(cat copied.err)" "0:"
"$A" sweep copied/plan.ini --out copied --quiet 2>copied.err
same "the copy resumes its own sweep" "$?:$(cat copied.err):$(wc -l <copied/results.jsonl)" "0::1"
same "a copy of the copy passes the original on once, as comments" \
	"$(grep -c "^; original 'c.ini':$" copied/plan.ini):$(grep -c "^;| ; original 'baseline' plan used batch 8$" copied/plan.ini)" "1:1"
"$A" merge copied >/dev/null 2>copied.err
same "merge reads the copy" "$?:$(cat copied.err)" "0:"
# a DIR/plan.ini that is not a plan is a plan error (64, naming its line) until --force replaces it
printf 'name = again\n' >>copied/plan.ini
expect 64 "^amptune sweep: copied/plan.ini:$(wc -l <copied/plan.ini): key 'name' is set twice \(first on line 4\) \(use --force to replace it\)$" -- \
	sweep c.ini --out copied --quiet
"$A" sweep c.ini --out copied --quiet --force && "$A" sweep copied/plan.ini --out copied --quiet
same "--force replaces a broken copy" "$?:$(grep -c '^name = ' copied/plan.ini)" "0:1"

# second_point DIR LABEL: starts a sweep into DIR (stderr to DIR.err) and waits until its second point
# runs; sets sweep, child and n (the records so far)
second_point() {
	rm -rf "$1"
	"$A" sweep r.ini --out "$1" --quiet 2>"$1.err" &
	sweep=$!
	wait_for 60 lines "$1/results.jsonl" 1 || bad "$2: no record within a minute"
	wait_for 10 has_child "$sweep" || bad "$2: no second point started"
	child=$(child_of "$sweep")
	n=$(wc -l <"$1/results.jsonl")
}

# ---- SIGINT and SIGTERM stop the running point and record nothing partial ----
for sig in INT TERM; do
	second_point sig "$sig"
	kill -s "$sig" "$sweep"
	wait "$sweep"
	rc=$?
	same "SIG$sig exit" "$rc" "$([ $sig = INT ] && echo 130 || echo 143)"
	grep -q "^amptune sweep: interrupted by SIG$sig: the running point was stopped and not recorded" sig.err && ok ||
		bad "SIG$sig message: $(cat sig.err)"
	same "SIG$sig: nothing recorded after the signal" "$(wc -l <sig/results.jsonl)" "$n"
	same "SIG$sig: whole lines" "$(tail -c 1 sig/results.jsonl | od -An -c | tr -d ' ')" '\n'
	kill -0 "$child" 2>/dev/null && bad "SIG$sig: training process $child still running" || ok
	same "SIG$sig: records are points of the plan" \
		"$(records sig/results.jsonl | awk '{ print $1, $2 }')" "$(head -"$n" want.txt)"
done

# ---- a signal sent to the running point alone stops the sweep the same way: no result recorded ----
second_point own "point signal"
kill -TERM "$child"
wait "$sweep"
same "point signal: exit" "$?" 143
grep -q "^amptune sweep: point [0-9a-f]* was stopped by SIGTERM$" own.err && ok ||
	bad "point signal message: $(cat own.err)"
same "point signal: nothing recorded for it" "$(wc -l <own/results.jsonl)" "$n"
"$A" sweep r.ini --out own --quiet && ok || bad "resume after a point signal exit $?"
same "point signal: the resumed sweep records every point once" "$(records own/results.jsonl | awk '{ print $1, $2 }' | sort)" \
	"$(sort want.txt)"

finish
