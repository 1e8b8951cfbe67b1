#!/usr/bin/env bash
# amptune's CUDA GPT against PyTorch (eager AMP and torch.compile) on the same
# model, batch, sequence and precision, measured in one run on one GPU.
# Runs where a GPU and PyTorch are present; not part of CI.
#
#   AMPTUNE=.device/bin/amptune bench/gpt_vs_torch.sh      (after bench/gpu_pack.sh)
#   env: AMPTUNE (default build/amptune), PYTHON (default python3), STEPS (40), WARMUP (10),
#        OUT (where the table goes; default bench/results), POINTS (SIZE:BATCH:SEQ ..., default
#        the four below), PRECISIONS (default "fp32 tf32 bf16 fp16"): narrow a run to fit a
#        time-limited command; the table file gets one more block per run
#
# Columns per point: tokens/s, step ms p50, MFU (amptune: the record's; PyTorch: the
# same FLOPs formula over its median step) and peak device memory, then the ratios
# amptune / eager and amptune / compile of tokens/s. Targets (docs/benchmarks.md):
# bf16/fp16 >= 1.1x eager and >= 1.0x compile, fp32 >= 1.0x eager, memory <= PyTorch's.
set -uo pipefail
cd "$(dirname "$0")/.."
AMPTUNE=${AMPTUNE:-build/amptune}
PYTHON=${PYTHON:-python3}
STEPS=${STEPS:-40}
WARMUP=${WARMUP:-10}
OUT=${OUT:-bench/results}
export AMPTUNE_CUDA_UNVALIDATED=${AMPTUNE_CUDA_UNVALIDATED:-1}
mkdir -p "$OUT"
out=$OUT/gpt_vs_torch-$(date -u +%Y%m%d).md
read -r -a points <<<"${POINTS:-gpt2-124m:4:1024 gpt2-124m:8:1024 gpt2-124m:16:1024 small:32:256}"
PRECISIONS=${PRECISIONS:-fp32 tf32 bf16 fp16}
gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo unknown)
{
	echo "GPT training step on $gpu; amptune $($AMPTUNE --version | cut -d' ' -f2-)"
	echo "PyTorch $($PYTHON -c 'import torch; print(torch.__version__)'); $STEPS steps, first $WARMUP excluded; $(date -u +%F)"
	echo
	echo "| size | batch x seq | precision | amptune tok/s | eager tok/s | compile tok/s | amptune ms | MFU amptune / eager | peak MiB amptune / eager | vs eager | vs compile |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
} | tee -a "$out"
for pt in "${points[@]}"; do
	IFS=: read -r size b t <<<"$pt"
	for p in $PRECISIONS; do
		a=$($AMPTUNE train --device cuda --size "$size" --batch "$b" --seq "$t" --precision "$p" --steps "$STEPS" \
			--warmup-steps "$WARMUP" --eval-batches 0 --quiet --json 2>/dev/null)
		e=$($PYTHON bench/gpt_torch.py --device cuda --size "$size" --batch "$b" --seq "$t" --precision "$p" \
			--steps "$STEPS" --warmup "$WARMUP" --threads 1 2>/dev/null)
		c=$($PYTHON bench/gpt_torch.py --device cuda --size "$size" --batch "$b" --seq "$t" --precision "$p" \
			--steps "$STEPS" --warmup "$WARMUP" --threads 1 --compile 2>/dev/null)
		$PYTHON - "$size" "$b" "$t" "$p" "$a" "$e" "$c" <<'PY' | tee -a "$out"
import json, sys
size, b, t, p = sys.argv[1:5]
def load(s):
    try:
        return json.loads(s)
    except Exception:
        return None
a, e, c = (load(x) for x in sys.argv[5:8])
b, t = int(b), int(t)
tok = lambda r: b * t / (r["step_ms_p50"] / 1e3) if r else float("nan")
peak = {"bf16": 989.4e12, "fp16": 989.4e12, "tf32": 494.7e12, "fp32": 66.9e12}[p]
flops = a["flops_per_step"] if a and a.get("flops_per_step") else float("nan")
mfu = lambda r: flops / (r["step_ms_p50"] / 1e3) / peak * 100 if r else float("nan")
mib = lambda r: (r.get("peak_device_bytes") or float("nan")) / 2**20 if r else float("nan")
if a and a.get("status") != "ok":
    print(f"| {size} | {b} x {t} | {p} | {a['status']}: {a['message'][:60]} | | | | | | | |")
else:
    print(f"| {size} | {b} x {t} | {p} | {tok(a):.0f} | {tok(e):.0f} | {tok(c):.0f} | "
          f"{a['step_ms_p50'] if a else float('nan'):.2f} | {mfu(a):.1f}% / {mfu(e):.1f}% | {mib(a):.0f} / {mib(e):.0f} | "
          f"{tok(a) / tok(e):.2f}x | {tok(a) / tok(c):.2f}x |")
PY
	done
done
echo >&2 "table written to $out"
