#!/usr/bin/env bash
# amptune's CUDA GPT against PyTorch (eager AMP and torch.compile) on the same
# model, batch, sequence and precision, measured in one run on one GPU.
# Runs where a GPU and PyTorch are present (bench/gpu_run.sh runs it); not part of CI.
#
#   AMPTUNE=.device/bin/amptune bench/gpt_vs_torch.sh      (after bench/gpu_pack.sh)
#   env: AMPTUNE (default build/amptune), PYTHON (default: python3 if it imports torch, else
#        bench/.venv/bin/python), OUT (where the table goes; default bench/results),
#        STEPS (40), WARMUP (10): steps per run and how many of the first are not timed,
#        POINTS (SIZE:BATCH:SEQ ..., default the four below), PRECISIONS ("fp32 tf32 bf16 fp16"),
#        COMPILE (1; 0 leaves torch.compile out), COMPILE_PRECISIONS ("bf16 fp16": where the
#        targets ask for it; each compile run spends a minute or more compiling gpt2-124m),
#        RUN_TIMEOUT (300): seconds one run may take before it is stopped (a row with its status),
#        BUDGET_S (540; 0 = none): no run starts once the script has run this long, or is given
#        more than what is left of it; the runs left out are rows "budget", and the last line says
#        how to run them (RESUME),
#        RESUME: the .jsonl of an earlier run; its points count as done (all but "budget" ones)
#        and its records join this run's table,
#        PEER_LD_LIBRARY_PATH: LD_LIBRARY_PATH for the PyTorch runs when amptune needs another
#        (gpu_run.sh passes the one it started with), DEVICE (cuda; cpu: a smoke test of the
#        runs and the table, fp32 only, no MFU)
#
# All amptune and eager runs come first, then the compile runs, so that a budget cut loses compile
# cells first. Per point: tokens/s (the records' tokens_per_sec: batch x seq / median step), median
# (p95) ms per step, MFU (both sides: trainer/gpt.c's FLOPs per step over the board's dense peak),
# peak device memory (amptune's allocator peak; PyTorch's max_memory_allocated over the timed steps)
# and the ratios amptune / eager and amptune / compile of tokens/s. Targets (docs/benchmarks.md):
# bf16/fp16 >= 1.1x eager and >= 1.0x compile, fp32 >= 1.0x eager, memory <= eager's.
# Every record (amptune's and the peers') goes to $OUT/gpt_vs_torch-DATE.jsonl, the runs' stderr
# to $OUT/gpt_vs_torch-DATE.log.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
AMPTUNE=${AMPTUNE:-build/amptune}
. bench/peers.sh # PYTHON, peer_env, run_limit
STEPS=${STEPS:-40}
WARMUP=${WARMUP:-10}
OUT=${OUT:-bench/results}
POINTS=${POINTS:-gpt2-124m:4:1024 gpt2-124m:8:1024 gpt2-124m:16:1024 small:32:256}
PRECISIONS=${PRECISIONS:-fp32 tf32 bf16 fp16}
COMPILE=${COMPILE:-1}
COMPILE_PRECISIONS=${COMPILE_PRECISIONS:-bf16 fp16}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
BUDGET_S=${BUDGET_S:-540}
DEVICE=${DEVICE:-cuda}
RESUME=${RESUME:-}
export AMPTUNE_CUDA_UNVALIDATED=${AMPTUNE_CUDA_UNVALIDATED:-1}
mkdir -p "$OUT" || exit 1
stamp=$(date -u +%Y%m%d)
out=$OUT/gpt_vs_torch-$stamp.md
raw=$OUT/gpt_vs_torch-$stamp.jsonl
log=$OUT/gpt_vs_torch-$stamp.log
if [ -n "$RESUME" ] && [ ! -f "$RESUME" ]; then echo "gpt_vs_torch.sh: RESUME=$RESUME: no such file" >&2; exit 66; fi
if [ -n "$RESUME" ] && [ "$RESUME" -ef "$raw" ]; then
	cp "$RESUME" "$raw.resume" && RESUME=$raw.resume
fi
: >"$raw"
if [ -n "$RESUME" ]; then grep -v '"status": *"budget"' "$RESUME" >>"$raw"; fi

# Records and the table, in python3 (the standard library only). Modes:
#   isdone KEY: exit 0 when $raw has a record of KEY (size b t precision side), "budget" ones aside
#   record KEY RC STDOUT: appends the run's record (its last JSON line, or a "failed" one) to $raw
#   table: the table of this run's points from $raw, then the notes
py=$(
	cat <<'PY'
import json, math, os, sys

mode, raw = sys.argv[1], sys.argv[2]
SIDES = ("amptune", "eager", "compile")

def records():
    rs = []
    for line in open(raw):
        try:
            rs.append(json.loads(line))
        except ValueError:
            pass
    return rs

def key_of(r):
    return (r.get("size"), str(r.get("batch")), str(r.get("seq")), r.get("precision"), r.get("side"))

if mode == "isdone":
    key = tuple(sys.argv[3:8])
    sys.exit(0 if any(key_of(r) == key and r.get("status") != "budget" for r in records()) else 1)

if mode == "record":
    size, b, t, p, side, rc, out = sys.argv[3:10]
    try:
        r = json.loads(out.strip().splitlines()[-1])
        if not isinstance(r, dict):
            raise ValueError
    except (ValueError, IndexError):
        why = {"124": " (stopped after RUN_TIMEOUT or the budget)", "budget": ""}.get(rc, "")
        r = {"status": "budget", "message": "not run: the time budget (BUDGET_S) was spent"} if rc == "budget" else \
            {"status": "failed", "message": f"exit {rc}{why} without a record (stderr: the .log beside the table)"}
    r.update(size=size, batch=int(b), seq=int(t), precision=p, side=side)
    with open(raw, "a") as f:
        f.write(json.dumps(r) + "\n")
    ms = r.get("step_ms_p50")
    print(f"  {size} {b}x{t} {p} {side}: {r.get('status')}"
          + (f", {ms:.2f} ms/step" if isinstance(ms, (int, float)) else "")
          + (f", warm-up {r['warmup_s']:.0f} s" if isinstance(r.get("warmup_s"), (int, float)) else "")
          + (f": {r.get('message')}" if r.get("status") != "ok" else ""), file=sys.stderr)
    sys.exit()

# table
points, precisions = os.environ["POINTS"].split(), os.environ["PRECISIONS"].split()
cells = {}
for r in records():
    cells[key_of(r)] = r  # the latest record of a cell wins

def ok(r):
    return r is not None and r.get("status") == "ok" and isinstance(r.get("tokens_per_sec"), (int, float)) \
        and r["tokens_per_sec"] > 0

def num(x, spec, scale=1.0, unit=""):
    return format(x * scale, spec) + unit if isinstance(x, (int, float)) and math.isfinite(x) else "-"

def cell(r, text):
    return text(r) if ok(r) else (r.get("status", "failed") if r else "not run")

print("| size | batch x seq | precision | amptune tok/s | eager tok/s | compile tok/s | ms p50 (p95) amptune "
      "/ eager / compile | compile warm-up s | MFU amptune / eager / compile | peak MiB amptune / eager / compile "
      "| vs eager | vs compile | target |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
notes, leftover, verdicts = [], [], []
for pt in points:
    size, b, t = pt.split(":")
    for p in precisions:
        a, e, c = (cells.get((size, b, t, p, s)) for s in SIDES)
        ve = a["tokens_per_sec"] / e["tokens_per_sec"] if ok(a) and ok(e) else None
        vc = a["tokens_per_sec"] / c["tokens_per_sec"] if ok(a) and ok(c) else None
        # targets: bf16/fp16 >= 1.1x eager and >= 1.0x compile; fp32 >= 1.0x eager; memory <= eager's
        need = {"bf16": 1.1, "fp16": 1.1, "fp32": 1.0}.get(p)
        mem = ok(a) and ok(e) and isinstance(a.get("peak_device_bytes"), (int, float)) \
            and isinstance(e.get("peak_device_bytes"), (int, float))
        if need is None or ve is None:
            v = "-"
        else:
            miss = [w for w, bad in (("eager", ve < need), ("compile", p in ("bf16", "fp16") and vc is not None
                                                             and vc < 1.0),
                                     ("memory", mem and a["peak_device_bytes"] > e["peak_device_bytes"])) if bad]
            v = "missed: " + ", ".join(miss) if miss else "met" + (
                " (no compile)" if p in ("bf16", "fp16") and vc is None else "")
        verdicts.append(v)
        tok = lambda r: num(r["tokens_per_sec"], ".0f")
        ms = lambda r: f"{num(r.get('step_ms_p50'), '.2f')} ({num(r.get('step_ms_p95'), '.2f')})" if ok(r) else "-"
        mfu = lambda r: num(r.get("mfu"), ".1f", 100, "%") if ok(r) else "-"
        mib = lambda r: num(r.get("peak_device_bytes"), ".0f", 2**-20) if ok(r) else "-"
        print(f"| {size} | {b} x {t} | {p} | {cell(a, tok)} | {cell(e, tok)} | {cell(c, tok)} | "
              f"{ms(a)} / {ms(e)} / {ms(c)} | {num(c.get('warmup_s') if c else None, '.0f')} | "
              f"{mfu(a)} / {mfu(e)} / {mfu(c)} | {mib(a)} / {mib(e)} / {mib(c)} | "
              f"{num(ve, '.2f', unit='x')} | {num(vc, '.2f', unit='x')} | {v} |")
        for s, r in zip(SIDES, (a, e, c)):
            if r and r.get("status") == "budget":
                leftover.append(f"{pt} {p} {s}")
            elif r and r.get("status") != "ok":
                notes.append(f"- {size} {b} x {t} {p}, {s}: {r.get('status')}: {r.get('message', '')}")
met = sum(v.startswith("met") for v in verdicts)
print(f"\ntargets met at {met} of {len(verdicts)} points, missed at {sum(v.startswith('missed') for v in verdicts)}, "
      f"not measured at {verdicts.count('-')} (a side did not run, or tf32, which has no target)")
print("\n".join(notes))
if leftover:
    print(f"\n{len(leftover)} runs left out by the time budget ({', '.join(leftover[:6])}"
          f"{', ...' if len(leftover) > 6 else ''}): run the script again with RESUME={raw} (a copy of it) "
          "and the same POINTS and PRECISIONS to add them")
PY
)
export POINTS PRECISIONS

# runs one side of a point unless it is done or the budget is spent, and records it
run_side() { # size b t precision side command...
	local size=$1 b=$2 t=$3 p=$4 side=$5 to o rc
	shift 5
	python3 -c "$py" isdone "$raw" "$size" "$b" "$t" "$p" "$side" && return
	to=$(run_limit)
	if [ "$to" = 0 ]; then
		python3 -c "$py" record "$raw" "$size" "$b" "$t" "$p" "$side" budget ""
		return
	fi
	echo "== $size $b x $t $p $side: $*" >>"$log"
	o=$(timeout "$to" "$@" 2>>"$log")
	rc=$?
	# stopped by what was left of the budget, not by RUN_TIMEOUT: a run for RESUME to do again
	[ "$rc" = 124 ] && [ "$to" -lt "$RUN_TIMEOUT" ] && rc=budget o=""
	python3 -c "$py" record "$raw" "$size" "$b" "$t" "$p" "$side" "$rc" "$o"
}
table() { python3 -c "$py" table "$raw" | tee -a "$out"; }
trap 'echo >&2 "gpt_vs_torch.sh: stopped; the table of what ran:"; table; exit 143' TERM INT

gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
[ "$DEVICE" = cpu ] && gpu="the CPU (DEVICE=cpu smoke test, not a measurement)"
{
	echo
	echo "GPT training step on ${gpu:-an unknown GPU (nvidia-smi not found)}; amptune $("$AMPTUNE" --version 2>&1 | cut -d' ' -f2-)"
	echo "PyTorch $("${peer_env[@]}" "$PYTHON" -c 'import torch; print(torch.__version__)' 2>&1 | tail -1) ($PYTHON);" \
		"$STEPS steps per run, the first $WARMUP not timed; $(date -u +%F)${RESUME:+; with the records of $RESUME}"
	echo
} | tee -a "$out"
echo >&2 "gpt_vs_torch.sh: amptune and eager runs, then compile; progress below, the table at the end"
for pass in eager compile; do
	for pt in $POINTS; do
		IFS=: read -r size b t <<<"$pt"
		for p in $PRECISIONS; do
			peer=("${peer_env[@]}" "$PYTHON" bench/gpt_torch.py --device "$DEVICE" --size "$size" --batch "$b"
				--seq "$t" --precision "$p" --steps "$STEPS" --warmup "$WARMUP" --threads 1)
			if [ "$pass" = eager ]; then
				run_side "$size" "$b" "$t" "$p" amptune "$AMPTUNE" train --device "$DEVICE" --size "$size" --batch "$b" \
					--seq "$t" --precision "$p" --steps "$STEPS" --warmup-steps "$WARMUP" --eval-batches 0 --quiet --json
				run_side "$size" "$b" "$t" "$p" eager "${peer[@]}"
			elif [ "$COMPILE" = 1 ] && [[ " $COMPILE_PRECISIONS " == *" $p "* ]]; then
				run_side "$size" "$b" "$t" "$p" compile "${peer[@]}" --compile
			fi
		done
	done
done
table
echo >&2 "table written to $out, records to $raw, the runs' stderr to $log"
