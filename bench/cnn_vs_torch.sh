#!/usr/bin/env bash
# amptune's CUDA CNN (`cnn tiny`, `cnn resnet`) against PyTorch (eager and torch.compile, the
# same model in bench/cnn_torch.py) at the same batch, precision and images, one run each on one
# GPU; then one epoch of Fashion-MNIST of `cnn tiny` through amptune's data loader for several
# worker counts, to show where the loader becomes the bottleneck. Runs where a GPU and PyTorch
# are present (bench/gpu_run.sh runs it); not part of CI.
#
#   AMPTUNE=.device/bin/amptune bench/cnn_vs_torch.sh       (after bench/gpu_pack.sh)
#   env: AMPTUNE (default build/amptune), PYTHON (default: python3 if it imports torch, else
#        bench/.venv/bin/python), OUT (default bench/results)
#        SIZES ("tiny resnet"), BATCHES ("64 256 1024"), PRECISIONS ("fp32 tf32 bf16 fp16"),
#        STEPS (60), WARMUP (10): steps per run and how many of the first are not timed
#        LR (0.02): SGD's peak learning rate on both sides (amptune's defaults: 0.2 for tiny,
#              0.05 for resnet, which diverges at 0.2; one rate keeps the two models comparable)
#        WORKERS (8), PREFETCH (2 x WORKERS): amptune's loader in the comparison
#        FEED (device | pinned): the peer's batches, see bench/cnn_torch.py
#        COMPILE (1; 0 leaves out torch.compile, its columns then say "skipped"),
#        COMPILE_PRECISIONS ("bf16 fp16", where the targets ask for it; the others say "skipped")
#        RUN_TIMEOUT (240): seconds one run may take before it is stopped (a row with its status)
#        BUDGET_S (540; 0 = none): no run starts once the script has run this long, nor is given
#              more than what is left; the runs left out say "budget" (split the run with SIZES)
#        PEER_LD_LIBRARY_PATH: LD_LIBRARY_PATH for the PyTorch runs when amptune needs another
#              (gpu_run.sh passes the one it started with)
#        DATA: a Fashion-MNIST directory (default .device/data/fashion-mnist, else
#              /usr/share/datasets/fashion-mnist) or "synthetic" (random images on both sides)
#        EPOCH_WORKERS ("2 4 8 16"; "" leaves out the epoch section), EPOCH_BATCH (128),
#        EPOCH_PRECISION (fp32), EPOCHS (1)
#
# Smoke test without a GPU: DEVICE=cpu runs both sides on the CPU (fp32 runs; the other
# precisions print as unsupported rows), which checks the runs, the parsing and the tables but
# measures nothing of interest:
#   DEVICE=cpu PYTHON=bench/.venv/bin/python SIZES=tiny BATCHES=32 STEPS=8 WARMUP=2 \
#     COMPILE=0 EPOCH_WORKERS="1 2" EPOCHS=0.05 OUT=/tmp/cnnbench bench/cnn_vs_torch.sh
#
# Per point: images/s at the median step time of amptune, eager and compile; amptune's step ms
# p50 (p95) and data wait; peak device memory (amptune's allocator peak, PyTorch's
# torch.cuda.max_memory_allocated); the ratios amptune / eager and amptune / compile of
# images/s. Targets (docs/benchmarks.md): >= 1.0x eager in every precision, >= 1.0x compile in
# bf16 and fp16. A point that fails on either side (oom, unsupported, ...) is a row with its
# status; the messages follow the table.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
AMPTUNE=${AMPTUNE:-build/amptune}
. bench/peers.sh # PYTHON, peer_env, run_limit
OUT=${OUT:-bench/results}
DEVICE=${DEVICE:-cuda}
SIZES=${SIZES:-tiny resnet}
BATCHES=${BATCHES:-64 256 1024}
PRECISIONS=${PRECISIONS:-fp32 tf32 bf16 fp16}
STEPS=${STEPS:-60}
WARMUP=${WARMUP:-10}
LR=${LR:-0.02}
WORKERS=${WORKERS:-8}
PREFETCH=${PREFETCH:-$((2 * WORKERS))}
FEED=${FEED:-device}
COMPILE=${COMPILE:-1}
COMPILE_PRECISIONS=${COMPILE_PRECISIONS:-bf16 fp16}
RUN_TIMEOUT=${RUN_TIMEOUT:-240}
BUDGET_S=${BUDGET_S:-540}
EPOCH_WORKERS=${EPOCH_WORKERS-2 4 8 16}
EPOCH_BATCH=${EPOCH_BATCH:-128}
EPOCH_PRECISION=${EPOCH_PRECISION:-fp32}
EPOCHS=${EPOCHS:-1}
export AMPTUNE_CUDA_UNVALIDATED=${AMPTUNE_CUDA_UNVALIDATED:-1}
if [ -z "${DATA:-}" ]; then
	for d in .device/data/fashion-mnist /usr/share/datasets/fashion-mnist; do
		[ -d "$d" ] && DATA=$d && break
	done
	DATA=${DATA:-synthetic}
fi
if [ "$DATA" = synthetic ]; then
	adata=synthetic-images
	images="random images (amptune: --data synthetic-images; PyTorch: torch.randn)"
else
	adata=$DATA
	images="the Fashion-MNIST training images in $DATA, normalised with the split's mean and std"
fi
case $FEED in
device) peer_feed="a pool of 8 batches built on the device before the first step; a step takes the next one as it is (no copy, no loader)" ;;
pinned) peer_feed="a pool of 8 batches in pinned host memory; a step copies the next one to the device (non_blocking) inside the timed step" ;;
*) echo "FEED must be device or pinned, got '$FEED'" >&2; exit 64 ;;
esac
mkdir -p "$OUT"
stamp=$(date -u +%Y%m%d)
out=$OUT/cnn_vs_torch-$stamp.md
raw=$OUT/cnn_vs_torch-$stamp.jsonl # every record of this run, amptune's and the peer's
log=$OUT/cnn_vs_torch-$stamp.log   # the runs' stderr
: >"$raw"
: >"$log"
# runs "$@" under the run limit with its stderr in the log; "budget" as its exit code when it did not start
limited() {
	local to
	to=$(run_limit)
	if [ "$to" = 0 ]; then echo budget; return; fi
	echo "== $*" >>"$log"
	timeout "$to" "$@" 2>>"$log"
	local rc=$?
	# stopped by what was left of the budget, not by RUN_TIMEOUT: left out, like a run not started
	if [ "$rc" = 124 ] && [ "$to" -lt "$RUN_TIMEOUT" ]; then echo; echo budget; else echo "$rc"; fi
}
if [ "$DEVICE" = cpu ]; then
	where="the CPU ($(nproc) cores; DEVICE=cpu smoke test, not a GPU measurement)"
else
	where=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
	where=${where:-an unknown GPU (nvidia-smi not found)}
fi
torch_version=$("${peer_env[@]}" "$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo "not importable by $PYTHON")

# The tables' rows and notes, from the records (one JSON line each, or nothing when a run died
# before writing one). Modes: point, points-notes, epoch, epoch-notes.
fmt=$(
	cat <<'PY'
import json, sys

def load(rc, s, **tags):
    try:
        r = json.loads(s.strip().splitlines()[-1])
    except (ValueError, IndexError):
        r = {"status": "budget", "message": "not run: the time budget (BUDGET_S) was spent"} if rc == "budget" else \
            {"status": "failed", "message": f"exit {rc}{' (past RUN_TIMEOUT or the budget)' if rc == '124' else ''} "
                                            "without a record (stderr: the .log beside the table)"}
    r.update(tags)
    return r

def ok(r):
    return r.get("status") == "ok" and r.get("samples_per_sec")

def num(x, spec):
    return "-" if x is None else format(x, spec)

def cell(r, f):
    return f(r) if ok(r) else r.get("status", "failed")

def mib(r):
    return num(r["peak_device_bytes"] / 2**20, ".0f") if ok(r) and r.get("peak_device_bytes") is not None else "-"

def ratio(a, b):
    return a["samples_per_sec"] / b["samples_per_sec"] if ok(a) and ok(b) else None

def times(x):
    return "-" if x is None else f"{x:.2f}x"

def verdict(p, ve, vc):
    need = [ve] + ([vc] if p in ("bf16", "fp16") else [])
    return "-" if None in need else ("met" if min(need) >= 1.0 else "missed")

def records(path):
    return [json.loads(line) for line in open(path) if line.strip()]

mode, raw = sys.argv[1], sys.argv[2]
if mode == "point":
    size, b, p = sys.argv[3:6]
    tags = dict(point=f"{size} b{b} {p}")
    a = load(sys.argv[6], sys.argv[7], side="amptune", **tags)
    e = load(sys.argv[8], sys.argv[9], side="eager", **tags)
    c = load(sys.argv[10], sys.argv[11], side="compile", **tags) if sys.argv[10] != "skip" else \
        {"status": "skipped", "side": "compile", **tags}
    with open(raw, "a") as f:
        for r in (a, e, c):
            f.write(json.dumps(r) + "\n")
    ve, vc = ratio(a, e), ratio(a, c)
    img = lambda r: num(r["samples_per_sec"], ".0f")
    wait = num(100 * a["data_wait_frac"], ".1f") + "%" if ok(a) and a.get("data_wait_frac") is not None else "-"
    print(f"| {size} | {b} | {p} | {cell(a, img)} | {cell(e, img)} | {cell(c, img)} | "
          f"{cell(a, lambda r: num(r['step_ms_p50'], '.2f') + ' (' + num(r['step_ms_p95'], '.2f') + ')')} | {wait} | "
          f"{mib(a)} / {mib(e)} / {mib(c)} | {times(ve)} | {times(vc)} | {verdict(p, ve, vc)} |")
elif mode == "points-notes":
    rs = records(raw)
    pts = {}
    for r in rs:
        pts.setdefault(r["point"], {})[r["side"]] = r
    verdicts = [verdict(k.split()[-1], ratio(v["amptune"], v["eager"]), ratio(v["amptune"], v["compile"]))
                for k, v in pts.items()]
    print(f"\ntargets met at {verdicts.count('met')} of {len(pts)} points, missed at {verdicts.count('missed')}, "
          f"not measurable at {verdicts.count('-')} (a side did not run)")
    for r in rs:
        if r.get("status") not in ("ok", "skipped"):
            print(f"- {r['point']}, {r['side']}: {r.get('status')}: {r.get('message', '')}")
elif mode == "epoch":
    w = sys.argv[3]
    r = load(sys.argv[4], sys.argv[5], side="amptune-epoch", point=f"epoch workers {w}")
    with open(raw, "a") as f:
        f.write(json.dumps(r) + "\n")
    if not ok(r):
        print(f"| {w} | {r.get('status')} | | | | | | | | |")
        sys.exit()
    ld = r.get("loader") or {}
    spe = r.get("steps_per_epoch") or ld.get("steps_per_epoch")
    measured = r.get("epoch_s") and not r.get("epoch_s_extrapolated")
    over = spe * r["batch"] / r["epoch_s"] if spe and measured else None
    pct = lambda x, spec: "-" if x is None else format(100 * x, spec) + "%"
    print(f"| {w} | {num(r['samples_per_sec'], '.0f')} | {num(r.get('epoch_s'), '.2f')}"
          f"{' (extrapolated)' if r.get('epoch_s_extrapolated') else ''} | {num(over, '.0f')} | "
          f"{pct(r.get('data_wait_frac'), '.1f')} | "
          f"{num(ld.get('wait_ms_p50'), '.3f')} | {num(r['step_ms_p50'], '.3f')} | "
          f"{num(ld.get('producer_samples_per_sec'), '.0f')} | {pct(r.get('eval_accuracy'), '.2f')} | {r['status']} |")
elif mode == "epoch-notes":
    rs = [r for r in records(raw) if r.get("side") == "amptune-epoch"]
    bound = [r["workers"] for r in rs if ok(r) and (r.get("data_wait_frac") or 0) >= 0.02]
    free = [r["workers"] for r in rs if ok(r) and (r.get("data_wait_frac") or 0) < 0.02]
    print(f"\nloader-bound (data wait >= 2% of the step) with {', '.join(map(str, bound)) or 'no'} workers; "
          f"compute-bound with {', '.join(map(str, free)) or 'none of these'}")
    for r in rs:
        if r.get("status") != "ok":
            print(f"- {r['point']}: {r.get('status')}: {r.get('message', '')}")
PY
)

{
	echo "# CNN training: amptune vs PyTorch"
	echo
	echo "On $where; amptune $("$AMPTUNE" --version | cut -d' ' -f2-); PyTorch $torch_version; $(date -u +%F)."
	echo "$STEPS steps per run, the first $WARMUP not timed; images/s = batch / median step time; one run each."
	echo "Both sides: SGD, momentum 0.9, weight decay 5e-4 on conv/FC weights, peak lr $LR, warm-up 10% then cosine."
	echo "Images: $images; 1x28x28, 10 classes, no augmentation."
	echo "amptune: \`train --model cnn --device $DEVICE --data $adata --no-augment --lr $LR --workers $WORKERS --prefetch $PREFETCH\`"
	echo "(worker threads fill batch slots, pinned on CUDA; a step includes taking the next batch from the loader, the"
	echo "data wait, and starting its copy to the device on a copy stream, which overlaps the step's compute)."
	echo "PyTorch: $peer_feed; channels_last, cudnn.benchmark, fused SGD, autocast for bf16/fp16 (GradScaler for fp16)."
	echo "Targets: amptune / eager >= 1.0x in every precision; amptune / compile >= 1.0x in bf16 and fp16."
	echo
	echo "| size | batch | precision | amptune img/s | eager img/s | compile img/s | amptune ms p50 (p95) | amptune data wait | peak MiB amptune / eager / compile | vs eager | vs compile | target |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} | tee "$out"
for size in $SIZES; do
	for b in $BATCHES; do
		for p in $PRECISIONS; do
			peer=("${peer_env[@]}" "$PYTHON" bench/cnn_torch.py --device "$DEVICE" --size "$size" --batch "$b" --precision "$p"
				--steps "$STEPS" --warmup "$WARMUP" --lr "$LR" --feed "$FEED" --data "$DATA")
			# each output's last line is the exit code (or "budget"), the line before it the record
			a=$(limited "$AMPTUNE" train --model cnn --device "$DEVICE" --size "$size" --precision "$p" --batch "$b" \
				--steps "$STEPS" --warmup-steps "$WARMUP" --lr "$LR" --workers "$WORKERS" --prefetch "$PREFETCH" \
				--data "$adata" --no-augment --eval-images 0 --quiet --json)
			arc=${a##*$'\n'} a=${a%"$arc"}
			e=$(limited "${peer[@]}")
			erc=${e##*$'\n'} e=${e%"$erc"}
			c="" crc=skip
			if [ "$COMPILE" = 1 ] && [[ " $COMPILE_PRECISIONS " == *" $p "* ]]; then
				c=$(limited "${peer[@]}" --compile)
				crc=${c##*$'\n'} c=${c%"$crc"}
			fi
			python3 -c "$fmt" point "$raw" "$size" "$b" "$p" "$arc" "$a" "$erc" "$e" "$crc" "$c" | tee -a "$out"
		done
	done
done
python3 -c "$fmt" points-notes "$raw" | tee -a "$out"

if [ -n "$EPOCH_WORKERS" ]; then
	if [ "$DATA" = synthetic ]; then
		echo -e "\n(no Fashion-MNIST directory: the epoch section is left out)" | tee -a "$out"
	else
		{
			echo
			echo "## $EPOCHS epoch(s) of cnn tiny through the data loader"
			echo
			echo "\`train --model cnn --device $DEVICE --size tiny --data $DATA --epochs $EPOCHS --batch $EPOCH_BATCH"
			echo "--precision $EPOCH_PRECISION --workers W\` with the default augmentation (random crop, pad 2, and flip in the"
			echo "workers), prefetch and evaluation (t10k); the first $WARMUP steps not timed. data wait = time the step"
			echo "waited for a batch / step time; loader capacity = the workers' images/s when busy (the record's"
			echo "loader.producer_samples_per_sec)."
			echo
			echo "| workers | images/s (median step) | epoch s | images/s over the epoch | data wait | wait ms p50 | step ms p50 | loader capacity img/s | t10k accuracy | status |"
			echo "|---|---|---|---|---|---|---|---|---|---|"
		} | tee -a "$out"
		for w in $EPOCH_WORKERS; do
			r=$(limited "$AMPTUNE" train --model cnn --device "$DEVICE" --size tiny --data "$DATA" --epochs "$EPOCHS" \
				--batch "$EPOCH_BATCH" --precision "$EPOCH_PRECISION" --workers "$w" --warmup-steps "$WARMUP" \
				--quiet --json)
			rrc=${r##*$'\n'} r=${r%"$rrc"}
			python3 -c "$fmt" epoch "$raw" "$w" "$rrc" "$r" | tee -a "$out"
		done
		python3 -c "$fmt" epoch-notes "$raw" | tee -a "$out"
	fi
fi
echo >&2 "table written to $out, records to $raw, the runs' stderr to $log"
