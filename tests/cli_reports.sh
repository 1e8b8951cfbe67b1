#!/usr/bin/env bash
# report, compare, diagnose and estimate from the outside: exit codes, messages, the files written,
# and the numbers the fixtures imply. Fixtures are generated here (tests/results_fixture.sh) plus
# real `train --json` records.
set -u
A=${AMPTUNE:?AMPTUNE must name the amptune binary}
SRC=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}
T=${TEST_TMPDIR:-/tmp}/cli_reports.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
source "$SRC/tests/results_fixture.sh"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect CODE PATTERN -- ARGS...: exit code and a stderr line matching PATTERN
expect() {
	local code=$1 pat=$2; shift 3
	"$A" "$@" >"$T/out" 2>"$T/err" </dev/null
	local rc=$?
	if [ "$rc" != "$code" ]; then bad "amptune $*: exit $rc, expected $code ($(head -c 400 "$T/err"))"; return 1; fi
	if ! grep -qE -- "$pat" "$T/err"; then bad "amptune $*: stderr lacks /$pat/: $(head -c 400 "$T/err")"; return 1; fi
	ok
}
# has FILE TEXT: FILE contains the fixed string TEXT
has() { if grep -qF -- "$2" "$1"; then ok; else bad "$1 lacks '$2'"; fi; }
hasnt() { if grep -qF -- "$2" "$1"; then bad "$1 has '$2'"; else ok; fi; }
same() { if [ "$2" = "$3" ]; then ok; else bad "$1: got [$2], want [$3]"; fi; }
run() { "$A" "$@" >"$T/out" 2>"$T/err" </dev/null; }

H100='"NVIDIA H100 80GB HBM3"'
sweep() { # the report's scenario: a CPU point, H100 fp32/fp16 points, a diverged and an oom point
	rec id='"c16"' batch=16 samples_per_sec=160 epoch_s=3600 eval_loss=2.5
	rec id='"c32"' batch=32 samples_per_sec=250 epoch_s=2300 peak_device_bytes=180000000 final_loss=2.45 eval_loss=2.45 epoch_s_extrapolated=true
	rec id='"g32"' batch=32 device='"cuda"' device_name="$H100" samples_per_sec=8000 epoch_s=72 peak_device_bytes=2000000000 final_loss=2.44 eval_loss=2.44
	rec id='"g64"' batch=64 device='"cuda"' device_name="$H100" samples_per_sec=14000 epoch_s=41 peak_device_bytes=3900000000 final_loss=2.43 eval_loss=2.43
	rec id='"h64"' batch=64 precision='"fp16"' device='"cuda"' device_name="$H100" samples_per_sec=30000 epoch_s=19 final_loss=3.9 eval_loss=3.9
	rec id='"h128"' batch=128 precision='"fp16"' status='"diverged"' message='"loss nan at step 40"' device='"cuda"' device_name="$H100" samples_per_sec=55000 epoch_s=10 final_loss=null eval_loss=null
	rec id='"o256"' batch=256 status='"oom"' message='"out of memory"' device='"cuda"' device_name="$H100" samples_per_sec=null epoch_s=null final_loss=null eval_loss=null peak_device_bytes=null loss_curve='[]'
}
S=$T/sweep
mkdir -p "$S"
sweep >"$S/results.jsonl"

# ---- report: usage and bad input ----
expect 64 "amptune report: missing the sweep directory" -- report
expect 64 "see 'amptune help report'" -- report
expect 64 "amptune report: '/nonexistent/sweep': No such file or directory" -- report /nonexistent/sweep
expect 64 "expects a sweep directory \(it writes the report there\); '$S/results.jsonl' is a file" -- report "$S/results.jsonl"
expect 64 "unknown option '--bogus'" -- report "$S" --bogus
mkdir -p "$T/empty"
expect 65 "amptune report: '.*/empty' has no results.jsonl" -- report "$T/empty"
mkdir -p "$T/blank" && : >"$T/blank/results.jsonl"
expect 65 "results.jsonl' holds no records" -- report "$T/blank"
mkdir -p "$T/bad"
{ rec id='"a"'; rec id='"b"' -batch; } >"$T/bad/results.jsonl"
echo "OLD" >"$T/bad/report.md"
expect 65 "amptune report: .*/bad/results.jsonl:2: missing field 'batch'" -- report "$T/bad"
has "$T/bad/report.md" "OLD" # nothing written when the input is bad
[ ! -e "$T/bad/report.html" ] && ok || bad "report.html written from bad results"
{ rec; echo 'not json'; } >"$T/bad/results.jsonl"
expect 65 "results.jsonl:2: not JSON" -- report "$T/bad"
rec schema_version=2 >"$T/bad/results.jsonl"
expect 65 "results.jsonl:1: schema_version 2 is not supported \(this amptune reads version 1\)" -- report "$T/bad"
rec batch='"16"' >"$T/bad/results.jsonl"
expect 65 "results.jsonl:1: field 'batch' must be a whole number >= 0, got a string" -- report "$T/bad"
expect 64 "option '--price': no device in '.*' matches 'V100' \(devices there: cpu 'Test CPU \(4 threads\)', cuda 'NVIDIA H100 80GB HBM3'\)" -- report "$S" --price V100=1
expect 64 "option '--price' expects DEVICE=USD_PER_HOUR" -- report "$S" --price H100
# numbers are decimal wherever a user writes one: no hex floats, no leading blanks
expect 64 "option '--price' expects DEVICE=USD_PER_HOUR such as H100=3.50 or cpu=0.20, got 'cpu=0x1p-2'" -- report "$S" --price cpu=0x1p-2
expect 64 "option '--price' expects DEVICE=USD_PER_HOUR such as H100=3.50 or cpu=0.20, got 'cpu= 0.5'" -- report "$S" --price 'cpu= 0.5'
expect 64 "option '--params' expects a count such as 1.3e9, 7B, 124M or 50k, got '0x1p27'" -- estimate --params 0x1p27
expect 64 "option '--loss-tol' expects a number in \[0, 10\], got 'x'" -- report "$S" --loss-tol x
cp -r "$S" "$T/planbad" && printf '[sweep]\nname = x\n[prices]\nH100 = cheap\n' >"$T/planbad/plan.ini"
expect 64 "plan.ini:4: \[prices\] 'H100' expects dollars per hour \(a positive number\), got 'cheap'" -- report "$T/planbad"
mkdir -p "$T/plandir" && cp "$S/results.jsonl" "$T/plandir/" && mkdir "$T/plandir/plan.ini"
expect 64 "amptune report: cannot read '$T/plandir/plan.ini': Is a directory" -- report "$T/plandir"

# ---- report: the decision the fixture implies ----
if run report "$S"; then ok; else bad "report exit $?: $(cat "$T/err")"; fi
cat >"$T/want" <<EOT
7 records, 7 points: 5 ok, 1 oom, 1 diverged
recommended: H100 fp32 b64 (id g64): \$0.0456 per epoch, 41.0 s per epoch, eval loss 2.43
fastest:     H100 fp32 b64 (id g64): 41.0 s per epoch, \$0.0456 per epoch
The GPU wins: an epoch takes 41.0 s on the H100 against 38.3 min* on the CPU (56.1x faster) and costs \$0.0456 against \$0.128* (2.8x cheaper).
* extrapolated from the timed steps: the runs were shorter than an epoch
wrote $S/report.md, $S/report.html and $S/results.csv
EOT
if diff "$T/want" "$T/out" >/dev/null; then ok; else bad "report summary: $(diff "$T/want" "$T/out")"; fi
has "$S/report.md" "- Faster, but excluded by the loss rule: **H100 fp16 b64** (id h64), eval loss 3.9 against the best 2.43 (+60.5%)."
has "$S/report.md" "| h64 | H100 fp16 b64 (loss rule: excluded) | ok |"
has "$S/report.html" "H100 fp16 b64 <span class=\"tag\">loss rule: excluded</span>"
has "$S/report.md" "(the best eval loss at 100 steps: 2.43)."
has "$S/report.md" "comparing the eval loss where every such point has one, else the mean of the last quarter of the training-loss curve;"
has "$S/report.md" "the smallest tier that holds it is 8 GB."
has "$S/report.md" "| c32 | cpu fp32 b32 | ok | 100 / 110 ms | 250 | 20.5k | 38.3 min* | \$0.128* |"
has "$S/report.md" "- h128 (diverged): loss nan at step 40"
has "$S/report.md" "| cuda NVIDIA H100 80GB HBM3 | 4.00 | default: top-tier GPU (H100) at \$4.00 per GPU-hour (typical on-demand cloud price) |"
has "$S/results.csv" "c32,2,ok,,gpt,tiny,fortunes,cpu,Test CPU (4 threads),fp32,32,128,0,0,1337,100,100,110,250,20480,1e+10,,2300,true,180000000,"
[ "$(wc -l <"$S/results.csv")" = 8 ] && ok || bad "results.csv has $(wc -l <"$S/results.csv") lines, expected 8"
# every scalar field, the sweep's and train's further ones included, formulas escaped
mkdir -p "$T/csv"
{
	rec id='"s1"' sweep='"=cmd()"' point=3 repeat=2 exit_code=0 wall_s=1.5 time_limit_s=300 price_per_hour=0.1 \
		params=842496 steps_done=100 timed_steps=97 warmup_steps=3 steps_per_epoch=1139 lr=0.001 eval_batches=4 \
		peak_device_bytes_driver=250000000 optimizer='"@sgd"'
	rec id='"s2"' status='"failed"' message='"exit 1"' exit_code=null term_signal=9 stderr_tail='"-boom,\n"'
} >"$T/csv/results.jsonl"
run report "$T/csv" && ok || bad "report for csv exit $?: $(cat "$T/err")"
python3 - "$T/csv/results.csv" >"$T/csvcheck" 2>&1 <<'EOP'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
want = {"sweep": "'=cmd()", "point": "3", "repeat": "2", "exit_code": "0", "wall_s": "1.5", "time_limit_s": "300",
        "price_per_hour": "0.1", "params": "842496", "steps_done": "100", "timed_steps": "97", "warmup_steps": "3",
        "steps_per_epoch": "1139", "lr": "0.001", "eval_batches": "4", "peak_device_bytes_driver": "250000000",
        "optimizer": "'@sgd", "term_signal": "", "stderr_tail": ""}
got = {k: rows[0].get(k) for k in want}
assert got == want, got
want = {"exit_code": "", "term_signal": "9", "stderr_tail": "'-boom,\n", "sweep": "", "params": ""}
got = {k: rows[1].get(k) for k in want}
assert got == want, got
print("csv ok")
EOP
has "$T/csvcheck" "csv ok"
if command -v xmllint >/dev/null; then
	xmllint --noout "$S/report.html" && ok || bad "report.html is not well-formed XML"
fi
for id in chart-throughput chart-memory chart-loss chart-breakdown chart-cost; do has "$S/report.html" "id=\"$id\""; done
has "$S/report.html" "<span class=\"st st-diverged\">diverged</span>"
ls "$S" | grep -q '\.tmp\.' && bad "temporary files left in $S" || ok

# prices and the loss tolerance change the decision
run report "$S" --price H100=0.5 --price cpu=0.01
has "$T/out" "recommended: H100 fp32 b64 (id g64): \$0.00569 per epoch"
has "$S/report.md" "| cuda NVIDIA H100 80GB HBM3 | 0.50 | --price: H100 = \$0.50 per hour |"
run report "$S" --loss-tol 1
has "$T/out" "recommended: H100 fp16 b64 (id h64): \$0.0211 per epoch, 19.0 s per epoch, eval loss 3.9"
# a report that cannot be written whole leaves the old one as it was, every file of it
cp "$S/report.md" "$T/md.before" && cp "$S/results.csv" "$T/csv.before" && mv "$S/report.html" "$T/html.before"
mkdir "$S/report.html" && touch "$S/report.html/x"
expect 1 "amptune report: cannot write '$S/report.html': it is a directory" -- report "$S"
cmp -s "$S/report.md" "$T/md.before" && cmp -s "$S/results.csv" "$T/csv.before" && ok ||
	bad "a failed report write changed report.md or results.csv"
same "no temporary files left" "$(ls "$S" | grep -c '\.tmp\.')" 0
rm -r "$S/report.html" && mv "$T/html.before" "$S/report.html"
printf '[sweep]\nname = quick\n[prices]\nH100 = 2\n' >"$S/plan.ini"
run report "$S"
has "$T/out" "recommended: H100 fp32 b64 (id g64): \$0.0228 per epoch"
has "$S/report.md" "# amptune report: quick"
hasnt "$T/out" "[prices]"
# a plan price that prices nothing is probably misspelt: said, in the summary and both reports
printf '[sweep]\nname = quick\n[prices]\nH100 = 2\nH1OO = 3\ncuda = 4\n' >"$S/plan.ini"
run report "$S"
has "$T/out" "warning: $S/plan.ini [prices] 'H1OO' matches no point's device (a key is a device kind, cpu or cuda, or words of a device_name): a misspelling?"
has "$S/report.md" "plan.ini [prices] 'H1OO' matches no point's device"
has "$S/report.html" "[prices] &#39;H1OO&#39; matches no point"
printf '[sweep]\nname = quick\n[prices]\nH100 = 2\n' >"$S/plan.ini"

# the same --price twice: the later one wins, as a later option does
run report "$S" --price H100=9 --price h100=0.5 --price cpu=0.01
has "$T/out" "recommended: H100 fp32 b64 (id g64): \$0.00569 per epoch"
# a record's own price_per_hour (what the plan it ran under said) prices it where neither --price
# nor the directory's plan does: results merged from elsewhere keep their price
mkdir -p "$T/own"
{ rec id='"o1"' batch=16 price_per_hour=1.5; rec id='"o2"' batch=32 price_per_hour=1.5 samples_per_sec=300 epoch_s=1920; } \
	>"$T/own/results.jsonl"
run report "$T/own" && ok || bad "report of priced records exit $?: $(cat "$T/err")"
has "$T/out" "recommended: cpu fp32 b32 (id o2): \$0.800 per epoch"
has "$T/own/report.md" "| cpu Test CPU (4 threads) | 1.50 | the records' price\\_per\\_hour (the plan they ran under) = \$1.50 per hour |"
hasnt "$T/out" "priced otherwise"
# a plan that prices the device otherwise wins, and the report says the records disagree
printf '[sweep]\nname = own\n[prices]\ncpu = 3\n' >"$T/own/plan.ini"
run report "$T/own"
has "$T/out" "recommended: cpu fp32 b32 (id o2): \$1.60 per epoch"
has "$T/out" "note: 2 points are priced otherwise than their records say (price_per_hour, from the plan they ran under), the first cpu fp32 b16: \$1.50 per hour in its records, \$3.00 here (plan.ini [prices]: cpu = \$3.00 per hour). Pass --price to price it as you mean."
has "$T/own/report.md" "priced otherwise than their records say (price\\_per\\_hour"
# --price is the user's own word: no note
run report "$T/own" --price cpu=2
hasnt "$T/out" "priced otherwise"
has "$T/out" "recommended: cpu fp32 b32 (id o2): \$1.07 per epoch"

# a torn last line is reported and ignored; all-failed and one-point sweeps still report
{ sweep; printf '{"schema_version":1,"id":"cut'; } >"$S/results.jsonl"
expect 0 "amptune report: warning: .*/results.jsonl:8: torn last line \(a write cut short\) ignored" -- report "$S"
has "$T/out" "warning: $S/results.jsonl:8: torn last line ignored"
mkdir -p "$T/failed"
{ rec id='"a"' status='"oom"'; rec id='"b"' status='"failed"' message='"exit 1"'; } >"$T/failed/results.jsonl"
run report "$T/failed" && ok || bad "all-failed report exit $?"
has "$T/out" "no recommendation: no point finished ok"
has "$T/failed/report.md" "No recommendation: no point finished ok."
mkdir -p "$T/one" && rec >"$T/one/results.jsonl"
run report "$T/one" && ok || bad "one-point report exit $?"
has "$T/out" "recommended: cpu fp32 b16 (id p1): \$0.200 per epoch, 60.0 min per epoch, eval loss 2.6"
# the loss rule compares eval losses, not the last minibatch's loss; without them, the curve's last quarter
mkdir -p "$T/loss"
{
	rec id='"slow"' final_loss=2.5 eval_loss=2.6
	rec id='"fast"' batch=32 epoch_s=1800 final_loss=2.69 eval_loss=2.55
} >"$T/loss/results.jsonl"
run report "$T/loss" && ok || bad "loss report exit $?: $(cat "$T/err")"
has "$T/out" "recommended: cpu fp32 b32 (id fast): \$0.100 per epoch, 30.0 min per epoch, eval loss 2.55"
{
	rec id='"slow"' final_loss=2.5 eval_loss=null loss_curve='[[0,5.5],[15,4],[30,3.5],[45,3.0],[60,2.8],[75,2.6],[90,2.5],[99,2.5]]'
	rec id='"fast"' batch=32 epoch_s=1800 final_loss=2.7 loss_curve='[[0,5.5],[15,4],[30,3.5],[45,3.0],[60,2.8],[75,2.6],[90,2.2],[99,2.7]]'
	rec id='"noisy"' batch=64 epoch_s=900 final_loss=2.45 loss_curve='[[0,5.5],[15,4],[30,3.5],[45,3.0],[60,2.8],[75,2.6],[90,3.2],[99,2.45]]'
} >"$T/loss/results.jsonl"
run report "$T/loss" && ok || bad "loss report exit $?: $(cat "$T/err")"
has "$T/out" "recommended: cpu fp32 b32 (id fast): \$0.100 per epoch, 30.0 min per epoch, training loss (mean of the last quarter) 2.45"
has "$T/loss/report.md" "- Faster, but excluded by the loss rule: **cpu fp32 b64** (id noisy), training loss (mean of the last quarter) 2.825 against the best 2.45 (+15.3%)."
# points given epochs are compared at the same epochs, whatever their steps (batch 64 takes a quarter
# of batch 16's steps): the fast batch-64 point that learned badly is excluded
mkdir -p "$T/ep"
{
	rec id='"e16"' steps=400 epochs=0.5 eval_loss=2.6
	rec id='"e64"' batch=64 steps=100 epochs=0.5 epoch_s=900 eval_loss=3.9
} >"$T/ep/results.jsonl"
run report "$T/ep" && ok || bad "epochs report exit $?: $(cat "$T/err")"
has "$T/out" "recommended: cpu fp32 b16 400 steps (id e16)"
has "$T/ep/report.md" "(the best eval loss at 0.5 epochs: 2.6)."
has "$T/ep/report.md" "- Faster, but excluded by the loss rule: **cpu fp32 b64 100 steps** (id e64), eval loss 3.9 against the best 2.6 (+50.0%)."
# a setting that failed in some of its runs is no pick, however cheap its ok runs were
mkdir -p "$T/flaky"
{
	rec id='"steady"' eval_loss=2.6
	rec id='"edge"' batch=64 epoch_s=900 eval_loss=2.55
	rec id='"edge"' batch=64 status='"oom"' message='"out of memory"' epoch_s=null samples_per_sec=null eval_loss=null final_loss=null
} >"$T/flaky/results.jsonl"
run report "$T/flaky" && ok || bad "flaky report exit $?: $(cat "$T/err")"
has "$T/out" "recommended: cpu fp32 b16 (id steady)"
has "$T/flaky/report.md" "- Faster, but excluded, ok in 1 of 2 runs (oom): **cpu fp32 b64** (id edge)."
has "$T/flaky/report.md" "| edge | cpu fp32 b64 (1 of 2 runs ok: excluded) | ok |"
has "$T/flaky/report.html" "cpu fp32 b64 <span class=\"tag\">1 of 2 runs ok: excluded</span>"
{ rec id='"edge"'; rec id='"edge"' status='"oom"' epoch_s=null samples_per_sec=null eval_loss=null final_loss=null; } >"$T/flaky/results.jsonl"
run report "$T/flaky" && ok || bad "all-flaky report exit $?: $(cat "$T/err")"
has "$T/out" "no recommendation: every ok point that has a loss, a time per epoch and a price failed in some of its runs"

# ---- compare ----
sweep >"$S/results.jsonl"
B=$T/sweep2
mkdir -p "$B"
{
	rec id='"c16"' batch=16 samples_per_sec=200 epoch_s=1800
	rec id='"g32"' batch=32 device='"cuda"' device_name='"NVIDIA A100-SXM4-80GB"' samples_per_sec=6000 epoch_s=96 final_loss=2.44
	rec id='"new"' batch=512 samples_per_sec=10
} >"$B/results.jsonl"
expect 64 "amptune compare: expects two sweep directories or results files, A and B" -- compare "$S"
expect 64 "option '--fail-if-slower' expects a number in \[0, 100\]" -- compare "$S" "$B" --fail-if-slower x
mkdir -p "$T/bad2" && { rec; rec -batch; } >"$T/bad2/results.jsonl"
expect 65 "amptune compare: .*bad2/results.jsonl:2: missing field 'batch'" -- compare "$S" "$T/bad2"
if run compare "$S" "$B" --html "$T/cmp.html"; then ok; else bad "compare exit $?: $(cat "$T/err")"; fi
has "$T/out" "Matched 2 points by configuration (device and host ignored); 5 only in A, 1 only in B. Geometric-mean speedup of B over A: 0.968x over 2 points with both sides ok."
has "$T/out" "| fp32 b16 | cpu | cpu | 160 | 200 | 1.250x | faster (no repeats) | +0.0% | +0.0000 |"
has "$T/out" "| fp32 b32 | H100 | A100-SXM4-80GB | 8k | 6k | 0.750x | slower (no repeats) | -95.0% | +0.0000 |"
has "$T/out" "- cpu fp32 b512 (id new, ok)"
command -v xmllint >/dev/null && { xmllint --noout "$T/cmp.html" && ok || bad "cmp.html is not well-formed"; }
# B lost c32, g64 and h64, ok in A: a point missing from B is not ok in B
expect 1 "amptune compare: 1 matched point is slower than allowed or not \(always\) ok in B, and 3 points ok in A are missing from B \(--fail-if-slower 10\):" -- compare "$S" "$B" --fail-if-slower 10
has "$T/err" "  fp32 b32 on H100 -> A100-SXM4-80GB (id g32): 25.0% slower (8000 -> 6000 samples/s)"
has "$T/err" "  fp32 b32 on cpu (id c32): ok in A, missing from B"
has "$T/err" "  fp32 b64 on H100 (id g64): ok in A, missing from B"
has "$T/err" "  fp16 b64 on H100 (id h64): ok in A, missing from B"
hasnt "$T/err" "id o256" # not ok in A: nothing lost
expect 1 "amptune compare: 3 points ok in A are missing from B \(--fail-if-slower 30\):" -- compare "$S" "$B" --fail-if-slower 30
# B holds 1 of A's 4 points, unchanged
{ rec id='"a"' batch=8; rec id='"b"' batch=16; rec id='"c"' batch=32; rec id='"d"' batch=64; } >"$T/four.jsonl"
rec id='"b"' batch=16 >"$T/one.jsonl"
expect 1 "amptune compare: 3 points ok in A are missing from B \(--fail-if-slower 5\):" -- compare "$T/four.jsonl" "$T/one.jsonl" --fail-if-slower 5
has "$T/err" "  fp32 b8 on cpu (id a): ok in A, missing from B"
run compare "$T/one.jsonl" "$T/four.jsonl" --fail-if-slower 5 && ok || bad "points new in B fail the gate: $(cat "$T/err")"
# repeats: a difference inside the spread is no change, and does not fail the gate
{ rec id='"r"' samples_per_sec=100; rec id='"r"' samples_per_sec=120; } >"$T/ra.jsonl"
{ rec id='"r"' samples_per_sec=95; rec id='"r"' samples_per_sec=105; } >"$T/rb.jsonl"
run compare "$T/ra.jsonl" "$T/rb.jsonl" --fail-if-slower 1 && ok || bad "noise should not fail the gate: $(cat "$T/err")"
has "$T/out" "| fp32 b16 | cpu | cpu | 110 (2 runs: 100-120) | 100 (2 runs: 95.0-105) | 0.909x | no change (within spread) |"
# runs that failed in B are shown, and count against the gate when A's did not fail
{ rec id='"r"' samples_per_sec=100; rec id='"r"' samples_per_sec=120; rec id='"r"' samples_per_sec=110; } >"$T/r3.jsonl"
{ rec id='"r"' samples_per_sec=110; rec id='"r"' status='"oom"' samples_per_sec=null; rec id='"r"' status='"oom"' samples_per_sec=null; } >"$T/r3oom.jsonl"
expect 1 "amptune compare: 1 matched point is slower than allowed or not \(always\) ok in B \(--fail-if-slower 5\):" -- compare "$T/r3.jsonl" "$T/r3oom.jsonl" --fail-if-slower 5
has "$T/err" "fp32 b16 on cpu (id r): 3 of 3 runs ok in A, 1 of 3 in B (oom)"
has "$T/out" "| 110 (1 of 3 runs ok, oom) |"
run compare "$T/r3oom.jsonl" "$T/r3.jsonl" --fail-if-slower 5 && ok || bad "fewer failed runs in B fail the gate: $(cat "$T/err")"

# ---- diagnose ----
{
	rec id='"starved"' workers=2 prefetch=2 step_ms_p50=100 samples_per_sec=160 data_wait_frac=0.5 phase_ms='{"data_wait":50}'
	rec id='"fine"' workers=4 data_wait_frac=0.01
	rec id='"dead"' status='"oom"' message='"out of memory"'
} >"$T/diag.jsonl"
if run diagnose "$T/diag.jsonl"; then ok; else bad "diagnose exit $?: $(cat "$T/err")"; fi
has "$T/out" "- data wait: 50.0% of step time: **highly input-bound**"
has "$T/out" "- supply: 160 samples/s from 2 workers (inferred: the trainer consumed what the workers made)"
has "$T/out" "- workers: 80 samples/s per worker, so 5 would meet demand with 20% headroom (now 2)"
has "$T/out" "- threads: 4 compute + 5 loader on 8 CPUs: oversubscribed (the loader computes on about 5 cores: busy_cpu_frac not recorded, so each worker counts as a full core)"
has "$T/out" "- data wait: 1.0% of step time: **not input-bound**"
has "$T/out" "status oom: nothing to diagnose. out of memory"
# repeats: the diagnosis says which repeat it read (the one nearest the median) and that record's line
{
	rec id='"rep"' samples_per_sec=100 data_wait_frac=0.01
	rec id='"rep"' samples_per_sec=300 data_wait_frac=0.3
	rec id='"rep"' samples_per_sec=200 data_wait_frac=0.2
} >"$T/rep.jsonl"
run diagnose "$T/rep.jsonl" && ok || bad "diagnose of repeats exit $?: $(cat "$T/err")"
has "$T/out" "(id rep, repeat 3 of 3: the ok one nearest the median samples/s, line 3)"
has "$T/out" "- data wait: 20.0% of step time"
# workers waiting on a slow store, or blocked on a full ring, take no core: more of them than CPUs is fine
{
	rec id='"slow"' workers=1 prefetch=4 step_ms_p50=100 samples_per_sec=160 data_wait_frac=0.75 phase_ms='{"data_wait":75}' \
		versions='{"threads":2,"host_cpus":2}' loader='{"busy_frac":1,"busy_cpu_frac":0.002}'
	rec id='"ring"' workers=2 prefetch=4 data_wait_frac=0 versions='{"threads":2,"host_cpus":2}' \
		loader='{"busy_frac":7.7e-5,"busy_cpu_frac":0.81}'
	rec id='"busy"' workers=2 prefetch=4 data_wait_frac=0 versions='{"threads":2,"host_cpus":2}' \
		loader='{"busy_frac":0.9,"busy_cpu_frac":0.9}'
} >"$T/wait.jsonl"
run diagnose "$T/wait.jsonl" && ok || bad "diagnose of waiting workers exit $?: $(cat "$T/err")"
has "$T/out" "use --workers 5 (the workers spend 0% of their busy time on CPU, the rest waiting on reads, so more workers than the 2 CPUs is fine)."
has "$T/out" "- threads: 2 compute + 5 loader on 2 CPUs: fits (the loader computes on about 0.01 cores: each worker busy all the time, 0% of it on CPU; workers that mostly wait, on a full ring or on reads, take no core, so more threads than CPUs is fine)"
has "$T/out" "- threads: 2 compute + 2 loader on 2 CPUs: fits (the loader computes on about 0.00012 cores: the workers are busy 0.0077% of the time, 81% of that on CPU;"
has "$T/out" "- threads: 2 compute + 2 loader on 2 CPUs: oversubscribed (the loader computes on about 1.6 cores: the workers are busy 90% of the time, 90% of that on CPU)"
# workers that keep up but compute beside the step's threads: the step itself slows, which data
# wait does not show, so diagnose must not promise that the worker count changes nothing
has "$T/out" "Loading keeps up, but the workers compute on about 1.6 cores beside 2 compute threads on 2 CPUs, so they slow the step itself (its forward and backward), which data wait does not show: the worker count can still change the step time; compare points that differ only in --workers."
[ "$(grep -c oversubscribe "$T/out")" = 1 ] && ok || bad "diagnose calls waiting workers oversubscribed: $(grep oversubscribe "$T/out")"
[ "$(grep -c "more workers or prefetch will not speed this point up" "$T/out")" = 1 ] && ok ||
	bad "the fitting point lost its 'keeps up' sentence: $(grep -c 'will not speed' "$T/out")"
# taking a ready batch that costs a material share of the step is named as such, not as data wait
rec id='"hand"' workers=4 prefetch=4 data_wait_frac=0 step_ms_p50=20 versions='{"threads":2,"host_cpus":2}' \
	loader='{"busy_frac":0.3,"busy_cpu_frac":0.7,"handoff_ms_mean":5}' >"$T/hand.jsonl"
run diagnose "$T/hand.jsonl" && ok || bad "diagnose of a costly handoff exit $?: $(cat "$T/err")"
has "$T/out" "- handoff: 5 ms per step taking batches once they were ready (not data wait: the trainer thread waiting for a CPU, or the lock)"
has "$T/out" "Taking batches once they were ready cost 5 ms per step (25% of the step): the trainer's thread waited for a CPU that loader workers held, not for data."
# nothing oversubscribed (a GPU point on 16 CPUs): the lock or the scheduler, not the workers
rec id='"hand16"' device='"cuda"' device_name='"NVIDIA H100 80GB HBM3"' workers=2 prefetch=4 data_wait_frac=0 \
	step_ms_p50=20 versions='{"threads":1,"host_cpus":16}' loader='{"busy_frac":0.1,"busy_cpu_frac":0.5,"handoff_ms_mean":2}' \
	>"$T/hand.jsonl"
run diagnose "$T/hand.jsonl" && ok || bad "diagnose of a handoff on a roomy host exit $?: $(cat "$T/err")"
has "$T/out" "cost 2 ms per step (10% of the step): the trainer's thread waited for the loader's lock or the scheduler, not for data."
hasnt "$T/out" "Loading keeps up, but"
# more compute threads than CPUs: that, not the idle workers, is what to change
rec id='"t4"' workers=2 data_wait_frac=0.01 versions='{"threads":4,"host_cpus":2}' loader='{"busy_frac":0.01,"busy_cpu_frac":0.03}' >"$T/t4.jsonl"
run diagnose "$T/t4.jsonl" && ok || bad "diagnose of 4 threads on 2 CPUs exit $?: $(cat "$T/err")"
has "$T/out" "Note: 4 compute threads on 2 CPUs oversubscribe them by themselves: use --threads 2 (or fewer, leaving cores to the loader)."
hasnt "$T/out" "Loading keeps up, but the workers" # idle workers: the compute threads alone are too many
# starved although the workers could make enough, and they already compute on the CPUs the step
# needs: more workers would only take cores from the step
rec id='"st"' workers=2 prefetch=4 data_wait_frac=0.3 step_ms_p50=20 versions='{"threads":2,"host_cpus":2}' \
	loader='{"busy_frac":0.95,"busy_cpu_frac":0.9,"producer_samples_per_sec_per_worker":1000,"consumer_samples_per_sec":800}' \
	>"$T/st.jsonl"
run diagnose "$T/st.jsonl" && ok || bad "diagnose of a starved, oversubscribed point exit $?: $(cat "$T/err")"
has "$T/out" "Look at the dataset's per-sample cost (decoding, augmentation, storage latency). The workers already compute on about 1.7 cores beside 2 compute threads on 2 CPUs: more of them would take cores from the step, so cheaper samples are the way out."
# CPU points measured on BLAS kernels below their CPU's best: diagnose, report and compare say so
BL='"blas":"OpenBLAS 0.3.21","blas_kernels":"Haswell","blas_kernels_by":"OPENBLAS_CORETYPE","blas_cpu_best":"Cooperlake"'
mkdir -p "$T/blas"
{
	rec id='"h16"' batch=16 versions="{\"threads\":2,\"host_cpus\":2,$BL}"
	rec id='"h32"' batch=32 versions="{\"threads\":2,\"host_cpus\":2,$BL}"
} >"$T/blas/results.jsonl"
run diagnose "$T/blas" && ok || bad "diagnose of blas records exit $?: $(cat "$T/err")"
has "$T/out" "- BLAS: OpenBLAS Haswell kernels (chosen by OPENBLAS\\_CORETYPE), **below this CPU's Cooperlake**: OPENBLAS\\_CORETYPE forced them: unset it to measure this CPU at its best"
run report "$T/blas" && ok || bad "report of blas records exit $?: $(cat "$T/err")"
has "$T/out" "note: 2 CPU points ran OpenBLAS's Haswell kernels (forced by OPENBLAS_CORETYPE), below the Cooperlake kernels their CPU runs: their matrix products, and so their times, understate the CPU (unset OPENBLAS_CORETYPE to measure it at its best)."
has "$T/blas/report.md" "Note: 2 CPU points ran OpenBLAS's Haswell kernels (forced by OPENBLAS\\_CORETYPE)"
has "$T/blas/report.html" '<p class="warn">2 CPU points ran OpenBLAS'"'"'s Haswell kernels (forced by OPENBLAS_CORETYPE)'
rec id='"s64"' batch=64 versions='{"threads":2,"host_cpus":2,"blas_kernels":"Sandybridge","blas_cpu_best":"Cooperlake"}' \
	>>"$T/blas/results.jsonl"
run report "$T/blas" && ok || bad "report of mixed blas records exit $?: $(cat "$T/err")"
has "$T/out" "note: 3 CPU points ran OpenBLAS's Haswell kernels (forced by OPENBLAS_CORETYPE), below the Cooperlake kernels their CPU runs (for the first; the others differ):"
sed -i '$d' "$T/blas/results.jsonl"
mkdir -p "$T/blas-best"
sed 's/"Haswell"/"Cooperlake"/' "$T/blas/results.jsonl" >"$T/blas-best/results.jsonl"
run report "$T/blas-best" && ok || bad "report of best-kernel records exit $?: $(cat "$T/err")"
hasnt "$T/out" "OpenBLAS"
run compare "$T/blas" "$T/blas-best" && ok || bad "compare of blas records exit $?: $(cat "$T/err")"
has "$T/out" "Note: 2 matched CPU points ran different OpenBLAS kernels in A and B (Haswell in A, Cooperlake in B, for the first): their speedups include the change of kernels (versions.blas\\_kernels)."
# ---- repeats of one id that ran on different devices are different points, never one median ----
mkdir -p "$T/mixdev"
{
	rec id='"m1"' repeat=1 device='"cuda"' device_name='"NVIDIA H100 80GB HBM3"' samples_per_sec=4000 epoch_s=100
	rec id='"m1"' repeat=2 device='"cuda"' device_name='"NVIDIA A100-SXM4-80GB"' samples_per_sec=1500 epoch_s=266
	rec id='"m1"' repeat=3 device='"cuda"' device_name='"NVIDIA H100 80GB HBM3"' samples_per_sec=4100 epoch_s=98
	rec id='"m1"' repeat=4 device='"cpu"' samples_per_sec=50 epoch_s=9000
} >"$T/mixdev/results.jsonl"
run report "$T/mixdev" && ok || bad "report of repeats on several devices exit $?: $(cat "$T/err")"
has "$T/out" "4 records, 3 points (1 repeated): 3 ok"
has "$T/mixdev/report.md" "| m1 | H100 fp32 b16 (recommended) | ok | 100 / 110 ms | 4.05k (2 runs: 4.00k-4.10k) |"
has "$T/mixdev/report.md" "| m1 | A100-SXM4-80GB fp32 b16 | ok | 100 / 110 ms | 1.5k |"
has "$T/mixdev/report.md" "| m1 | cpu fp32 b16 | ok | 100 / 110 ms | 50 |"
has "$T/mixdev/report.md" "| cuda NVIDIA A100-SXM4-80GB | 2.00 | default: mid-tier GPU (A100)"
# devices that print alike are named in full; runs that never opened a backend (which device they
# would have run on is unknown) are a point of their own when the id ran on several devices, so
# the decision does not depend on the file's order
mkdir -p "$T/alike"
{
	rec id='"g"' repeat=1 status='"failed"' message='"x"' device='"auto"' device_name='""'
	rec id='"g"' repeat=2 device='"cuda"' device_name='"NVIDIA A100-SXM4-80GB"' samples_per_sec=1500 epoch_s=266
	rec id='"g"' repeat=3 device='"cuda"' device_name='"NVIDIA H100 80GB HBM3"' samples_per_sec=4000 epoch_s=100
	rec id='"g"' repeat=4 device='"cuda"' device_name='"NVIDIA H100 PCIe"' samples_per_sec=3000 epoch_s=133
	rec id='"g"' repeat=5 status='"failed"' message='"y"' device='"auto"' device_name='""'
} >"$T/alike/results.jsonl"
for order in cat tac; do
	$order "$T/alike/results.jsonl" >"$T/alike/r" && mv "$T/alike/r" "$T/alike/results.jsonl"
	run report "$T/alike" && ok || bad "report of devices alike ($order) exit $?: $(cat "$T/err")"
	has "$T/out" "5 records, 4 points (1 repeated): 3 ok, 1 failed"
	has "$T/out" "recommended: H100 80GB HBM3 fp32 b16 (id g): \$0.111 per epoch"
	has "$T/alike/report.md" "| g | H100 PCIe fp32 b16 | ok |"
	has "$T/alike/report.md" "| g | auto fp32 b16 | failed |"
done
# compare pairs each device with its own: H100 with H100, A100 with A100
mkdir -p "$T/mixdev2"
# (B's lines reversed, so its A100 point comes first: pairing by kind alone would match it to A's H100)
sed 's/"samples_per_sec":4000/"samples_per_sec":8000/; s/"samples_per_sec":4100/"samples_per_sec":8200/' \
	"$T/mixdev/results.jsonl" | tac >"$T/mixdev2/results.jsonl"
run compare "$T/mixdev" "$T/mixdev2" && ok || bad "compare of repeats on several devices exit $?: $(cat "$T/err")"
has "$T/out" "| fp32 b16 | H100 | H100 | 4.05k (2 runs: 4.00k-4.10k) | 8.10k (2 runs: 8.00k-8.20k) | 2.000x | faster |"
has "$T/out" "| fp32 b16 | A100-SXM4-80GB | A100-SXM4-80GB | 1.5k | 1.5k | 1.000x |"
# diagnose names the run it reads by its own repeat (B's H100 point holds repeats 3 and 1)
run diagnose "$T/mixdev2" && ok || bad "diagnose of repeats on several devices exit $?: $(cat "$T/err")"
has "$T/out" "(id m1, repeat 3, one of 2 runs on this device: the ok one nearest the median samples/s, line 2)"

# ---- a point that ran a non-deterministic algorithm (cuDNN offered no deterministic one) is named ----
mkdir -p "$T/nondet"
{
	rec id='"d16"' batch=16 deterministic=true
	rec id='"d32"' batch=32 deterministic=false
	rec id='"d64"' batch=64 deterministic=false status='"failed"' message='"boom"'
	rec id='"d128"' batch=128
} >"$T/nondet/results.jsonl"
run report "$T/nondet" && ok || bad "report of non-deterministic records exit $?: $(cat "$T/err")"
has "$T/out" "note: cpu fp32 b32 ran a non-deterministic cuDNN convolution algorithm (cuDNN offered no deterministic one for some layer within the workspace): its runs are not bitwise reproducible, so the same seed may give slightly different losses."
for other in b16 b64 b128; do hasnt "$T/out" "$other ran"; hasnt "$T/out" "$other, "; done
has "$T/nondet/report.md" "Note: cpu fp32 b32 ran a non-deterministic cuDNN convolution algorithm"
has "$T/nondet/report.html" '<p class="warn">cpu fp32 b32 ran a non-deterministic cuDNN convolution algorithm'
[ "$(cut -d, -f1 "$T/nondet/results.csv" | paste -sd' ')" = "id d16 d32 d64 d128" ] && ok ||
	bad "results.csv rows: $(cut -d, -f1 "$T/nondet/results.csv" | paste -sd' ')"
python3 - "$T/nondet/results.csv" >"$T/csvcheck" 2>&1 <<'EOP'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
got = [r["deterministic"] for r in rows]
assert got == ["true", "false", "false", ""], got
print("csv ok")
EOP
has "$T/csvcheck" "csv ok"
hasnt "$T/blas/report.md" "non-deterministic"

expect 64 "amptune diagnose: expects one sweep directory, results file or '-'" -- diagnose
expect 64 "amptune diagnose: unknown option '-q'" -- diagnose -q
expect 64 "amptune diagnose: unknown option '--foo'" -- diagnose --foo "$T/bad2"
"$A" diagnose "$T/bad2" --help | grep -q "^usage: amptune diagnose" && ok || bad "diagnose DIR --help does not print help"
expect 65 "amptune diagnose: .*/bad2/results.jsonl:2: missing field 'batch'" -- diagnose "$T/bad2"

# ---- a run recorded twice: one (id, repeat), two lines ----
# the same line twice (a results file cat'ed with a copy) is one record; two different records of
# one run are two measurements of it, refused by every reader as merge refuses them
mkdir -p "$T/twice"
{ rec id='"tw"' repeat=1; rec id='"tw"' repeat=2 samples_per_sec=170; rec id='"tw"' repeat=1; } >"$T/twice/results.jsonl"
run report "$T/twice" && ok || bad "report of a run recorded twice with one line: exit $?: $(cat "$T/err")"
has "$T/out" "2 records, 1 point (1 repeated): 1 ok"
[ "$(wc -l <"$T/twice/results.csv")" = 3 ] && ok || bad "results.csv of a duplicated run has $(wc -l <"$T/twice/results.csv") lines, expected 3"
run compare "$T/twice" "$T/twice" && ok || bad "compare of a run recorded twice with one line: exit $?: $(cat "$T/err")"
has "$T/out" "(2 runs: 160-170)"
# records without a repeat (train --json) are each a run of their id, as before
{ rec id='"tj"'; rec id='"tj"'; } >"$T/tj.jsonl"
run diagnose "$T/tj.jsonl" && ok || bad "diagnose of train records without repeat: exit $?: $(cat "$T/err")"
has "$T/out" "repeat 1 of 2"
{ rec id='"tw"' repeat=1; rec id='"tw"' repeat=2; rec id='"tw"' repeat=1 step_ms_p50=77.5; } >"$T/twice/results.jsonl"
conflict="conflicting records of point 'tw' repeat 1: $T/twice/results.jsonl:1 and $T/twice/results.jsonl:3 differ \\(one run measured twice: remove one of them; 'amptune merge' combines results files"
rm -f "$T/twice/report.md"
expect 65 "^amptune report: $T/twice/results.jsonl:3: $conflict" -- report "$T/twice"
[ ! -e "$T/twice/report.md" ] && ok || bad "report written from a run recorded twice"
expect 65 "^amptune compare: $T/twice/results.jsonl:3: $conflict" -- compare "$S" "$T/twice"
expect 65 "^amptune diagnose: $T/twice/results.jsonl:3: $conflict" -- diagnose "$T/twice/results.jsonl"
"$A" diagnose - <"$T/twice/results.jsonl" >"$T/out" 2>"$T/err"
[ $? = 65 ] && ok || bad "diagnose - of a run recorded twice: exit not 65: $(cat "$T/err")"
has "$T/err" "amptune diagnose: -:3: conflicting records of point 'tw' repeat 1: -:1 and -:3 differ"
expect 65 "conflicting records of point 'tw' repeat 1: '$T/twice/results.jsonl' line 1 and '$T/twice/results.jsonl' line 3 differ\$" -- \
	merge "$T/twice"
# times that do not exist are refused like any bad value, naming file, line and field
mkdir -p "$T/when"
{ rec; rec id='"w2"' started_at='"2026-13-45T99:99:99Z"'; } >"$T/when/results.jsonl"
expect 65 "^amptune report: $T/when/results.jsonl:2: field 'started_at' must be a UTC time like 2026-11-24T19:25:52Z, got '2026-13-45T99:99:99Z' \\(month 13 does not exist\\)$" -- report "$T/when"
[ ! -e "$T/when/results.csv" ] && ok || bad "results.csv written with an impossible time"
rec finished_at='"2025-02-29T12:00:00Z"' >"$T/when.jsonl"
expect 65 "when.jsonl:1: field 'finished_at' .* \\(day 29 does not exist in a month of 28 days\\)$" -- diagnose "$T/when.jsonl"
rec started_at='"2024-02-29T23:59:60Z"' finished_at='"2024-03-01T00:00:59Z"' >"$T/when.jsonl" # a leap day, a leap second
run diagnose "$T/when.jsonl" && ok || bad "diagnose of a leap day and second: exit $?: $(cat "$T/err")"

# ---- real records: train --json into diagnose, report and the estimator ----
TR=(train --steps 3 --eval-batches 1 --warmup-steps 1 --json --quiet --device cpu --threads 1 --workers 0 --seq 16)
mkdir -p "$T/real"
for b in 2 4; do "$A" "${TR[@]}" --batch $b >>"$T/real/results.jsonl" 2>"$T/err" || bad "train --batch $b: $(cat "$T/err")"; done
# enough timed steps that one preemption of the filling thread cannot make the point look input-bound
if "$A" "${TR[@]}" --batch 2 --steps 16 2>/dev/null | "$A" diagnose - >"$T/out" 2>"$T/err"; then ok; else bad "train --json | diagnose -: $(cat "$T/err")"; fi
has "$T/out" "# amptune diagnose: stdin"
has "$T/out" "of step time: **not input-bound**"
has "$T/out" "- threads: 1 compute + 0 loader on"
# the default loader (2 workers, all cores computing) mostly waits on a full ring: no oversubscription
"$A" train --steps 3 --eval-batches 1 --warmup-steps 1 --json --quiet --device cpu --seq 16 --batch 2 2>/dev/null |
	"$A" diagnose - >"$T/out" 2>"$T/err" && ok || bad "default train --json | diagnose -: $(cat "$T/err")"
grep -qE -- "- threads: [0-9]+ compute \+ 2 loader on [0-9]+ CPUs: fits" "$T/out" && ok || bad "default run: $(grep threads "$T/out")"
hasnt "$T/out" "oversubscribe"
run report "$T/real" && ok || bad "report of real records exit $?: $(cat "$T/err")"
has "$T/real/report.md" "The estimator (\`amptune estimate\`) against the measured peaks of 2 points: largest error 0.00%."
has "$T/real/report.md" "| cpu, gpt-tiny, fp32, seq 16 | 2 |"
# a cnn sweep: the check estimates with the record's optimizer (sgd) and its preset's images, not seq
FM=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
mkdir -p "$T/fm" && ln -s "$FM"/train-*-ubyte.gz "$T/fm/"
python3 - "$FM" "$T/fm" <<'EOP' # 16 t10k images keep the eval short
import gzip, struct, sys
src, dst, n = sys.argv[1], sys.argv[2], 16
for name, magic, head, size in (("images-idx3", 0x803, 16, 784), ("labels-idx1", 0x801, 8, 1)):
    data = gzip.open(f"{src}/t10k-{name}-ubyte.gz").read()
    dims = struct.pack(">ii", 28, 28) if size > 1 else b""
    with gzip.open(f"{dst}/t10k-{name}-ubyte.gz", "wb") as f:
        f.write(struct.pack(">ii", magic, n) + dims + data[head:head + n * size])
EOP
printf '[sweep]\nname = cnn\nmodel = cnn\nsize = tiny\ndata = fashion-mnist:%s\nsteps = 3\nwarmup_steps = 1\nbatch_sizes = 8\ndevices = cpu\nprecisions = fp32\n' \
	"$T/fm" >"$T/cnn.ini"
"$A" sweep "$T/cnn.ini" --out "$T/cnn" --quiet >/dev/null 2>"$T/err" || bad "cnn sweep: $(cat "$T/err")"
run report "$T/cnn" && ok || bad "report of a cnn sweep exit $?: $(cat "$T/err")"
has "$T/cnn/report.md" "The estimator (\`amptune estimate\`) against the measured peaks of 1 point: largest error 0.00%."
# records from the CUDA backend are not held to the CPU's layout (its scratch is not modelled byte for byte)
mkdir -p "$T/realcuda"
sed 's/"device":"cpu"/"device":"cuda"/' "$T/real/results.jsonl" >"$T/realcuda/results.jsonl"
run report "$T/realcuda" && ok || bad "report of cuda records exit $?: $(cat "$T/err")"
grep -q "The estimator" "$T/realcuda/report.md" && bad "cuda records compared with the CPU layout's estimate" || ok
peak=$(sed -n '1s/.*"peak_device_bytes":\([0-9]*\).*/\1/p' "$T/real/results.jsonl")
run estimate --size tiny --batch 2 --seq 16 --device cpu --json
total=$(sed -n 's/.*"total_bytes":\([0-9]*\).*/\1/p' "$T/out")
[ -n "$peak" ] && [ "$peak" = "$total" ] && ok || bad "estimate total '$total' != measured peak '$peak'"
# the cnn presets too: the estimate is the measured peak, byte for byte, for each optimizer
for cfg in "tiny 16 sgd" "tiny 8 adamw" "resnet 2 sgd"; do
	set -- $cfg
	peak=$("$A" train --model cnn --size "$1" --batch "$2" --optimizer "$3" --steps 2 --warmup-steps 1 --eval-images 0 \
		--threads 1 --workers 0 --json --quiet 2>/dev/null | sed -n 's/.*"peak_device_bytes":\([0-9]*\).*/\1/p')
	total=$("$A" estimate --model cnn --size "$1" --batch "$2" --optimizer "$3" --device cpu --json |
		sed -n 's/.*"total_bytes":\([0-9]*\).*/\1/p')
	[ -n "$peak" ] && [ "$peak" = "$total" ] && ok || bad "cnn $cfg: estimate '$total' != measured peak '$peak'"
done

# ---- estimate ----
expect 64 "say which model: --size NAME \(a preset\) or --params N" -- estimate
expect 64 "option '--params' expects a count such as 1.3e9, 7B, 124M or 50k, got '7Q'" -- estimate --params 7Q
expect 64 "options '--size' and '--params' cannot be used together" -- estimate --size tiny --params 1M
expect 64 "option '--model' expects gpt, cnn, got 'rnn'" -- estimate --model rnn --params 1M
expect 64 "option '--heads' is 7, which does not divide d_model 768" -- estimate --params 124M --layers 12 --d-model 768 --heads 7
# heads of 64 up to d_model 2048 (GPT-2, GPT-3 350M: 16 heads), of 128 above
run estimate --params 350M && ok || bad "estimate 350M exit $?"
has "$T/out" "24 layers, d_model 1024, 16 heads"
run estimate --params 6.7B && ok || bad "estimate 6.7B exit $?"
has "$T/out" "d_model 4096, 32 heads"
run estimate --params 124M --d-model 200 && ok || bad "estimate with d_model 200 exit $?: $(cat "$T/err")"
has "$T/out" "d_model 200, 1 head, vocab"
expect 64 "option '--mode' expects train or infer, got 'serve'" -- estimate --params 1M --mode serve
expect 64 "a preset fixes the shape" -- estimate --size tiny --layers 3
# what no shape, run or backend can be: refused as train and plans refuse them
expect 64 "option '--params' is 100, too few for a GPT-style transformer: the shape it resolves to \(12 layers, d_model 64, vocab 50304, context 2048\) has 3.94M parameters" -- estimate --params 100
expect 64 "option '--batch' has an empty value in '1,,2'" -- estimate --size tiny --batch 1,,2
expect 64 "option '--batch' has an empty value in '1,2,'" -- estimate --size tiny --batch 1,2,
expect 64 "option '--batch' expects" -- estimate --size tiny --batch 1,x
expect 64 "option '--batch' expects an integer in \[1, 16777216\], got '0000000000000000000000000000004abc'" -- estimate --size tiny --batch 2,0000000000000000000000000000004abc
expect 64 "option '--seq' is for --model gpt; a cnn's input is square images \(--image N\)" -- estimate --model cnn --size tiny --seq 5
expect 64 "options '--layers', '--d-model', '--heads' and '--vocab' shape a transformer \(--model gpt\); a generic cnn is its --params and --image" -- \
	estimate --model cnn --params 50M --layers 3
expect 64 "shape a transformer" -- estimate --model cnn --params 50M --vocab 1000
expect 64 "option '--params' is 1, too few for the generic cnn" -- estimate --model cnn --params 1
expect 64 "option '--params' is 99999, too few for the generic cnn" -- estimate --model cnn --params 99999
expect 64 "option '--params' is 99999.6, too few for the generic cnn" -- estimate --model cnn --params 99999.6
expect 64 "option '--image' is for --model cnn" -- estimate --model gpt --size tiny --image 224
expect 64 "option '--image' is for --model cnn; a gpt's input is a sequence \(--seq N\)" -- estimate --params 1B --image 64
expect 69 "amptune estimate: precision 'bf16' is not available on the cpu backend, which trains in fp32 only" -- estimate --size tiny --precision bf16 --device cpu
run estimate --size tiny --precision bf16 && ok || bad "estimate bf16 on cuda exit $?: $(cat "$T/err")"
run estimate --size tiny --batch 1,2,4 --device cpu && ok || bad "estimate --batch 1,2,4 exit $?: $(cat "$T/err")"
has "$T/out" "batch 1        batch 2        batch 4"
run estimate --size tiny --batch 4 --seq 32 --device cpu
has "$T/out" "842,496 parameters; training, fp32, AdamW, on the CPU, sequence length 32"
has "$T/out" "  total                        18.1 MiB"
has "$T/out" "  FLOPs per step              654 MFLOP"
run estimate --model cnn --params 50M --batch 64 --optimizer adamw
has "$T/out" "  total                       15.11 GiB"
run estimate --model cnn --params 50M --batch 64
has "$T/out" "  total                       14.92 GiB"
has "$T/out" "  smallest tier (+10%)            24 GB"
# a cnn preset's inference holds a unit at a time: its largest convolution's input and output maps
# and the residual map it adds (tiny: three 28x28x16 ones) and the input images, for every image
run estimate --model cnn --size tiny --mode infer --device cpu --batch 1,1024 --json
same "cnn inference activations grow with the batch" \
	"$(python3 -c 'import json,sys; print([b["activations_bytes"] for b in json.load(open(sys.argv[1]))["batches"]])' "$T/out")" \
	"[$(( (28 * 28 * 16 * 3) * 4 + 28 * 28 * 4 )), $(( ((28 * 28 * 16 * 3) * 4 + 28 * 28 * 4) * 1024 ))]"
run estimate --params 1.3B --precision fp16 --mode infer --batch 1
has "$T/out" "24 layers, d_model 2048"
has "$T/out" "  smallest tier (+10%)             8 GB"
run estimate --params 7B --precision fp16 --mode infer --batch 1,2
has "$T/out" "  weights                     13.04 GiB      13.04 GiB"
has "$T/out" "  smallest tier (+10%)            24 GB          24 GB"

# ---- the spread of samples/s across repeats ----
# a repeated point shows its median with the range of its ok runs (single runs as before); the
# recommendation says when that range overlaps the runner-up's on cost
mkdir -p "$T/spread" "$T/apart" "$T/close"
{
	for x in 1:160 2:150 3:100; do rec id='"s16"' repeat=${x%:*} samples_per_sec=${x#*:} epoch_s=4000; done
	for x in 1:170 2:168 3:120; do rec id='"s32"' batch=32 repeat=${x%:*} samples_per_sec=${x#*:} epoch_s=3571; done
} >"$T/spread/results.jsonl"
sed 's/"samples_per_sec":1[27]0,/"samples_per_sec":200,/; s/"samples_per_sec":168,/"samples_per_sec":195,/' \
	"$T/spread/results.jsonl" >"$T/apart/results.jsonl"
run report "$T/spread" && ok || bad "report of overlapping repeats exit $?: $(cat "$T/err")"
overlap="the recommended point's samples/s, 168 (3 runs: 120-170), overlap those of cpu fp32 b16, the runner-up on cost, at 150 (3 runs: 100-160): the repeats do not separate them, so the ranking may be noise."
has "$T/out" "noise:       $overlap"
has "$T/spread/report.md" "- Noise: $overlap"
has "$T/spread/report.html" "<li>Noise: $overlap</li>"
has "$T/spread/report.md" " | 150 (3 runs: 100-160) | "
has "$T/spread/report.md" "| cpu fp32 b32 (recommended) | 59.5 min | \$0.198 | 168 (3 runs: 120-170) | "
has "$T/spread/report.html" "<td class=\"n\">150 (3 runs: 100-160)</td>"
hasnt "$T/spread/results.csv" "3 runs"
run report "$T/apart" && ok || bad "report of separated repeats exit $?: $(cat "$T/err")"
has "$T/apart/report.md" " | 200 (3 runs: 195-200) | "
hasnt "$T/out" "noise:"
hasnt "$T/apart/report.md" "Noise:"
hasnt "$T/apart/report.html" "Noise:"
# ends that differ get the digits to show it (97.90-97.95, not 97.9-97.9); a single run is as before
{
	for x in 1:97.90 2:97.92 3:97.95; do rec id='"c16"' repeat=${x%:*} samples_per_sec=${x#*:}; done
	rec id='"c32"' batch=32 repeat=1 samples_per_sec=50
} >"$T/close/results.jsonl"
run report "$T/close" && ok || bad "report of close repeats exit $?: $(cat "$T/err")"
has "$T/close/report.md" " | 97.92 (3 runs: 97.90-97.95) | "
has "$T/close/report.html" "<td class=\"n\">97.92 (3 runs: 97.90-97.95)</td>"
has "$T/close/report.md" " | 50 | "
run compare "$T/close" "$T/close" && ok || bad "compare of close repeats exit $?: $(cat "$T/err")"
has "$T/out" "| 97.92 (3 runs: 97.90-97.95) | 97.92 (3 runs: 97.90-97.95) |"

# ---- help ----
for c in report compare diagnose estimate; do
	run help $c && ok || bad "help $c exit $?"
	has "$T/out" "usage: amptune $c"
done
run --help
has "$T/out" "  report     write report.md/.html/.csv for a sweep and print the recommendation"

echo "cli_reports: $pass passed, $fail failed"
[ "$fail" = 0 ]
