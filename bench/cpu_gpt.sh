#!/usr/bin/env bash
# amptune's CPU GPT step time against PyTorch on the same model, threads, batch
# and sequence, measured in one run. Not part of CI.
#
#   bench/cpu_gpt.sh [SIZES...]        default: tiny small
#   env: THREADS (default: nproc), STEPS (default 30), WARMUP (default 5),
#        VENV (default bench/.venv; created with PyTorch from PyPI if missing),
#        KEEP_OPENBLAS_CORETYPE=1 (keep an OPENBLAS_CORETYPE from the environment; bench/cpu_blas.sh)
#
# Prints a markdown table; speedup = PyTorch ms / amptune ms (> 1: amptune is faster).
# Also appends it to bench/results/cpu_gpt-<date>.md (runs of one day follow each other there).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(tiny small)
THREADS=${THREADS:-$(nproc)}
STEPS=${STEPS:-30}
WARMUP=${WARMUP:-5}
VENV=${VENV:-bench/.venv}

make -s build >/dev/null
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
	echo "creating $VENV with PyTorch (one time)..." >&2
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q torch numpy
fi
export OMP_NUM_THREADS=$THREADS
source bench/cpu_blas.sh

declare -A BATCH=([tiny]=16 [small]=8 [gpt2-124m]=4)
declare -A SEQ=([tiny]=128 [small]=256 [gpt2-124m]=1024)
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
torchv=$("$VENV/bin/python" -c "import torch; print(torch.__version__)")
out=bench/results/cpu_gpt-$(date -u +%Y%m%d).md
mkdir -p bench/results
[ -s "$out" ] && echo >>"$out"
{
	echo "CPU GPT training step, fp32: amptune $(./build/amptune --version | head -1 | cut -d' ' -f2-) vs PyTorch $torchv (eager)"
	echo "host: $cpu, $THREADS threads; $STEPS steps, first $WARMUP excluded; median (p95) ms per step"
	echo "amptune's GEMMs: $(blas_line ./build/amptune); PyTorch's CPU kernels: $(peer_isa "$VENV/bin/python")"
	echo
	echo "| size | batch x seq | amptune ms | PyTorch ms | speedup |"
	echo "|---|---|---|---|---|"
} | tee -a "$out"
for s in "${SIZES[@]}"; do
	b=${BATCH[$s]} t=${SEQ[$s]}
	a=$("${amptune_env[@]}" ./build/amptune train --device cpu --size "$s" --batch "$b" --seq "$t" --steps "$STEPS" \
		--warmup-steps "$WARMUP" --threads "$THREADS" --eval-batches 0 --quiet --json)
	p=$("$VENV/bin/python" bench/gpt_torch.py --size "$s" --batch "$b" --seq "$t" --steps "$STEPS" \
		--warmup "$WARMUP" --threads "$THREADS")
	python3 - "$s" "$b" "$t" "$a" "$p" <<'PY' | tee -a "$out"
import json, sys
s, b, t, a, p = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), json.loads(sys.argv[5])
print(f"| {s} | {b} x {t} | {a['step_ms_p50']:.1f} ({a['step_ms_p95']:.1f}) | "
      f"{p['step_ms_p50']:.1f} ({p['step_ms_p95']:.1f}) | {p['step_ms_p50'] / a['step_ms_p50']:.2f}x |")
PY
done
echo >&2 "table written to $out"
