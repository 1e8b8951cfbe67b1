#!/usr/bin/env bash
# `amptune train` from the outside: exit codes and messages for bad input,
# the --json record on stdout, help and version.
set -u
NAME=cli_train
source "$(dirname "$0")/helpers/cli.sh"
Q=(--steps 4 --batch 2 --seq 16 --eval-batches 1 --warmup-steps 1 --quiet)

expect 64 "amptune train: unknown option '--bogus'" -- train --bogus
expect 64 "see 'amptune help train'" -- train --bogus
expect 64 "option '--batch' expects an integer in \[1, 65536\], got 'x'" -- train --batch x
expect 64 "option '--batch' expects an integer in \[1, 65536\], got '0'" -- train --batch 0
expect 64 "option '--lr' expects a number" -- train --lr 1e-3x
expect 64 "option '--lr' expects a number in \[0, 10\], got '0x1p-3'" -- train --lr 0x1p-3
expect 64 "option '--data' got 'synthetic-text:0x100': the size must be a whole number" -- train --data synthetic-text:0x100
# --epochs is bounded like --steps: a typo there is a usage error, not an out-of-memory record
expect 64 "option '--epochs' 1e\+06 gives [0-9]* steps of [0-9]* per epoch, more than 100000000" -- train --device cpu --batch 1 --seq 1 --epochs 1e6
expect 64 "option '--seed' expects a whole number in \[0, 9007199254740992\], got '9007199254740993'" -- \
	train --seed 9007199254740993
expect 64 "option '--seed' expects a whole number in \[0, 9007199254740992\], got '1e3'" -- train --seed 1e3
expect 64 "option '--size' expects tiny, small or gpt2-124m, got 'huge'" -- train --size huge
expect 64 "option '--precision' expects fp32, tf32, fp16 or bf16, got 'fp8'" -- train --precision fp8
expect 64 "option '--device' expects cpu, cuda or auto, got 'tpu'" -- train --device tpu
expect 64 "option '--model' expects gpt or cnn, got 'rnn'" -- train --model rnn
expect 64 "option '--steps' needs a value" -- train --steps
expect 64 "options '--steps' and '--epochs' cannot be used together" -- train --steps 3 --epochs 1
expect 64 "unexpected argument 'extra'" -- train extra
expect 64 "option '--seq' is 200, beyond the 'tiny' model's context of 128" -- train --seq 200 --device cpu --quiet
expect 64 "option '--warmup-steps' \(5\) must be below the number of steps \(4\)" -- train "${Q[@]}" --warmup-steps 5 --device cpu
expect 64 "option '--loss-scaling' expects auto, on or off, got 'maybe'" -- train --loss-scaling maybe
expect 64 "option '--loss-scale-init' expects a number in \[1, 1.67772e\+07\], got '0'" -- train --loss-scale-init 0
expect 64 "option '--loss-scale-init' needs loss scaling, which is off here" -- train --loss-scale-init 1024
# more validation batches than the split holds: eval_loss covers the split, and the log says so
"$A" train --device cpu --data synthetic-text:20000 --batch 4 --seq 32 --steps 2 --eval-batches 1000 --json \
	>"$T/ev.json" 2>"$T/ev.err" || bad "eval-batches 1000: $(cat "$T/ev.err")"
grep -q "note: the validation split holds 15 batches of 4 x 32; eval_loss covers them all, not the 1000 asked for" \
	"$T/ev.err" && ok || bad "no note for lowered eval batches: $(cat "$T/ev.err")"
expect 64 "option '--device-mem-limit' expects a positive byte count" -- train --device-mem-limit 12Q
expect 69 "precision 'bf16' is not available on the cpu backend" -- train "${Q[@]}" --device cpu --precision bf16
expect 69 "precision 'fp16' is not available on the cpu backend" -- train "${Q[@]}" --device cpu --precision fp16
expect 65 "cannot open text data '/nonexistent/x.txt'" -- train "${Q[@]}" --device cpu --data /nonexistent/x.txt
printf 'tiny' >"$T/small.txt"
expect 65 "text data '.*small.txt' holds 4 bytes" -- train "${Q[@]}" --device cpu --data "$T/small.txt"
head -c 600 /usr/share/games/fortunes/fortunes >"$T/short.txt"
expect 65 "text data '.*short.txt': the validation split has 60 bytes, 3 windows of 16\+1 bytes; one batch of 4 needs 65 bytes" -- train "${Q[@]}" --device cpu --data "$T/short.txt" --batch 4
expect 75 "out of memory on 'cpu': need .* free .* of the 1.0 MiB limit" -- train "${Q[@]}" --device cpu --device-mem-limit 1M
# one byte short of the peak (18,996,736 bytes, docs/reports.md): sizes that round alike are given in bytes
expect 75 "out of memory on 'cpu': need [0-9]+ bytes, free [0-9]+ bytes of the 18.1 MiB limit" -- \
	train --steps 4 --batch 4 --seq 32 --eval-batches 1 --warmup-steps 1 --quiet --device cpu --device-mem-limit 18996735
# the default warm-up (3) is lowered for a shorter run, and the log says so; one the user gave is not
"$A" train --steps 2 --batch 2 --seq 16 --eval-batches 1 --device cpu --json >"$T/short" 2>"$T/short.err" &&
	grep -q "^amptune train: note: 2 steps: warm-up lowered from its default of 3 to 1 step$" "$T/short.err" &&
	python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert (r['status'], r['warmup_steps'], r['timed_steps']) == ('ok', 1, 1), r" "$T/short" &&
	ok || bad "short run with the default warm-up: $(cat "$T/short.err")"
expect 64 "option '--warmup-steps' \(3\) must be below the number of steps \(3\)" -- train --steps 3 --warmup-steps 3 --device cpu --quiet
expect 64 "amptune: unknown command 'trian'" -- trian
expect 64 "amptune help: unknown command 'nope'" -- help nope

# a device this machine or build cannot run: 69, with the reason
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
	expect 69 "device 'cuda' .*(not available|no training kernels)" -- train "${Q[@]}" --device cuda
fi

# --json: exactly one JSON line on stdout with the schema's fields; the log on stderr
"$A" train "${Q[@]}" --device cpu --json >"$T/rec" 2>"$T/err"
rc=$?
[ $rc = 0 ] && ok || bad "train --json exit $rc: $(cat "$T/err")"
[ "$(wc -l <"$T/rec")" = 1 ] && ok || bad "train --json printed $(wc -l <"$T/rec") lines on stdout"
python3 - "$T/rec" <<'PY' && ok || bad "record fields"
import json, math, sys
r = json.loads(open(sys.argv[1]).read())
need = ["schema_version","id","status","message","model","size","dataset","device","device_name","precision",
        "batch","seq","workers","prefetch","seed","steps","step_ms_p50","step_ms_p95","samples_per_sec",
        "tokens_per_sec","flops_per_step","mfu","epoch_s","epoch_s_extrapolated","peak_device_bytes",
        "peak_host_bytes","pinned_bytes","loss_curve","initial_loss","final_loss","eval_loss","eval_accuracy",
        "data_wait_frac","loader","loss_scale_skips","versions","started_at","finished_at"]
missing = [k for k in need if k not in r]
assert not missing, missing
assert r["schema_version"] == 1 and r["status"] == "ok" and r["message"] == ""
assert (r["model"], r["size"], r["device"], r["precision"]) == ("gpt", "tiny", "cpu", "fp32")
assert (r["batch"], r["seq"], r["steps"]) == (2, 16, 4)
assert r["step_ms_p50"] > 0 and r["step_ms_p95"] >= r["step_ms_p50"]
assert abs(r["tokens_per_sec"] - 32 / (r["step_ms_p50"] / 1e3)) < 1e-6 * r["tokens_per_sec"]
assert r["epoch_s_extrapolated"] is True and r["epoch_s"] > 0
assert len(r["loss_curve"]) == 4 and abs(r["initial_loss"] - math.log(256)) < 0.1
assert r["eval_accuracy"] is None and r["mfu"] is None
assert r["peak_device_bytes"] > 0 and r["peak_host_bytes"] > r["peak_device_bytes"]
assert r["versions"]["amptune"] and len(r["id"]) == 12
PY
grep -q "^step     1/4 | loss 5\.5" "$T/err" && bad "--quiet still logged steps" || ok

# the BLAS kernels in the record: the user's OPENBLAS_CORETYPE is kept and named; without it the
# kernels are the library's pick or the CPU's best (kernels/cpu/blas.c); the loss does not depend
# on the family beyond rounding
OPENBLAS_CORETYPE=Sandybridge "$A" train "${Q[@]:0:10}" --device cpu --json >"$T/forced" 2>"$T/err" &&
	env -u OPENBLAS_CORETYPE "$A" train "${Q[@]}" --device cpu --json >"$T/free" 2>>"$T/err" && ok ||
	bad "train under OPENBLAS_CORETYPE: $(cat "$T/err")"
grep -qE "^amptune train: note: OpenBLAS runs its Sandybridge kernels \(set by OPENBLAS_CORETYPE\); this CPU runs (Haswell|SkylakeX|Cooperlake) kernels, which are faster: unset OPENBLAS_CORETYPE to measure the CPU at its best$" "$T/err" &&
	[ "$(grep -c "note: OpenBLAS" "$T/err")" = 1 ] && ok || bad "train's OpenBLAS note: $(grep note "$T/err")"
python3 - "$T/forced" "$T/free" <<'PY' && ok || bad "versions.blas*"
import json, sys
f, u = (json.load(open(p)) for p in sys.argv[1:3])
fv, uv = f["versions"], u["versions"]
assert fv["blas"].startswith("OpenBLAS 0.") and fv["blas"] == uv["blas"], (fv["blas"], uv["blas"])
assert (fv["blas_kernels"], fv["blas_kernels_by"]) == ("Sandybridge", "OPENBLAS_CORETYPE"), fv
assert uv["blas_kernels_by"] in ("library", "amptune"), uv
best = uv["blas_cpu_best"]
assert best in ("Haswell", "SkylakeX", "Cooperlake"), best  # builds are x86-64-v3: AVX2 at least
if uv["blas_kernels_by"] == "amptune":
    assert uv["blas_kernels"].lower() == best.lower(), uv
for a, b in zip(f["loss_curve"], u["loss_curve"]):
    assert a[0] == b[0] and abs(a[1] - b[1]) < 1e-4 * abs(a[1]), (f["loss_curve"], u["loss_curve"])
PY

# the default id names the whole configuration: the same settings give the same id, and a
# setting that changes the measurement (--lr, --threads, ...) gives another
jid() { "$A" train "${Q[@]}" --device cpu --steps 2 --json "$@" 2>/dev/null | sed -E 's/.*"id":"([0-9a-f]+)".*/\1/'; }
id1=$(jid) id2=$(jid) id3=$(jid --lr 0.005) id4=$(jid --threads 1) id5=$(jid --no-shuffle)
[ -n "$id1" ] && [ "$id1" = "$id2" ] && ok || bad "same configuration, ids '$id1' and '$id2'"
[ "$(printf '%s\n' "$id1" "$id3" "$id4" "$id5" | sort -u | wc -l)" = 4 ] && ok ||
	bad "different configurations share an id: $id1 $id3 $id4 $id5"

expect 65 "cannot read text data '/dev/zero': it is a device, not a file" -- train "${Q[@]}" --device cpu --data /dev/zero
printf '\037\213\010\000\000\000\000\000\000\003abc' >"$T/cut.gz"
expect 65 "cannot read text data '$T/cut.gz': unexpected end of file \(compressed byte offset 13, 0 bytes read\)" -- train "${Q[@]}" --device cpu --data "$T/cut.gz"
# a path that is not UTF-8 reaches the record's message as U+FFFD: every record line is UTF-8
"$A" train "${Q[@]}" --device cpu --data "$T/$(printf 'bad\377name').txt" --json >"$T/u8" 2>/dev/null
python3 -c "import json,sys; r=json.loads(open(sys.argv[1], 'rb').read().decode('utf-8')); assert '\ufffd' in r['message'], r['message']" "$T/u8" &&
	ok || bad "record of a non-UTF-8 path: $(cat -v "$T/u8")"
# a signal that cuts a blocking open short (a FIFO nobody writes) is an interruption, not bad data
mkfifo "$T/fifo"
timeout --preserve-status 1 "$A" train "${Q[@]}" --device cpu --data "$T/fifo" --json >"$T/fifo.json" 2>"$T/fifo.err"
rc=$?
[ $rc = 143 ] && grep -q "interrupted by signal 15 (cannot open text data" "$T/fifo.err" &&
	python3 -c "import json,sys; assert json.load(open(sys.argv[1]))['status'] == 'interrupted'" "$T/fifo.json" && ok ||
	bad "SIGTERM while opening a FIFO: exit $rc, $(cat "$T/fifo.err")"

# the record is printed for a failed point too (a sweep records it)
"$A" train "${Q[@]}" --device cpu --device-mem-limit 1M --json >"$T/oom" 2>/dev/null
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['status']=='oom' and 'need' in r['message']" "$T/oom" && ok || bad "oom record"

# help and version
"$A" --help >"$T/h" && grep -q "^  train " "$T/h" && grep -q "75 out of memory" "$T/h" && ok || bad "--help"
"$A" help train >"$T/h" && grep -q -- "--precision fp32|tf32|fp16|bf16" "$T/h" && ok || bad "help train"
"$A" train --help >"$T/h" && grep -q -- "--device-mem-limit" "$T/h" && ok || bad "train --help"
# every command takes -h as --help: its usage on stdout, exit 0
for c in train sweep merge report compare diagnose estimate version help; do
	"$A" $c -h >"$T/h" 2>&1 && grep -q "^usage: amptune $c" "$T/h" && ok || bad "$c -h: $(head -2 "$T/h")"
done
expect 64 "amptune version: unexpected argument '--bogus'" -- version --bogus
expect 64 "amptune version: unexpected argument 'extra'" -- --version extra
"$A" --version | grep -qE "^amptune [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]+(-dirty)?|unknown), CUDA (compiled in|not compiled in)" && ok || bad "--version"
# the commit is read at build time: the binary names the commit of the tree it was built from
# (a binary built before HEAD last moved, by a commit, checkout or pull, and tested without a
# rebuild, is not checked: the reflog says when HEAD moved)
if head=$(git -C "$SRC" rev-parse --short=12 HEAD 2>/dev/null) && [ -n "$head" ]; then
	moved=$(git -C "$SRC" reflog -1 --date=unix --format=%gd 2>/dev/null | tr -dc 0-9)
	if [ -n "$moved" ] && [ "$(stat -c %Y "$A")" -ge "$moved" ]; then
		"$A" --version | grep -q "(commit $head[-,]" && ok || bad "--version names $("$A" --version | head -1), HEAD is $head"
	else
		echo "note: $A was built before HEAD last moved (rebuild to check the commit it names)"
	fi
fi
OPENBLAS_CORETYPE=Sandybridge "$A" version | grep -qE "^cpu BLAS: OpenBLAS 0\.[0-9.]+, Sandybridge kernels \(set by OPENBLAS_CORETYPE; this CPU runs (Haswell|SkylakeX|Cooperlake) kernels\)$" && ok ||
	bad "version under OPENBLAS_CORETYPE: $(OPENBLAS_CORETYPE=Sandybridge "$A" version)"

finish
