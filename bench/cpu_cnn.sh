#!/usr/bin/env bash
# bench/cpu_cnn.sh — images/s of `amptune train --model cnn --size SIZE` against
# a PyTorch twin of the same model (bench/cpu_cnn_torch.py) on the CPU: same
# threads, batch, steps, warm-up and data (Fashion-MNIST). One run each; the
# median step time after warm-up gives images/s; prints a ratio table.
#
#   bench/cpu_cnn.sh                 threads = all cores, batch 128, 60 steps
#   THREADS=2 BATCH=64 STEPS=100 bench/cpu_cnn.sh
#   SIZE=resnet STEPS=20 WARMUP=5 bench/cpu_cnn.sh   the 11.2M-parameter preset (default SIZE=tiny)
#   EPOCH=1 bench/cpu_cnn.sh         also one full epoch of amptune with t10k accuracy
#   KEEP_OPENBLAS_CORETYPE=1         keep an OPENBLAS_CORETYPE from the environment (bench/cpu_blas.sh)
#
# PyTorch comes from a virtual environment the script creates in bench/.venv
# (pip install torch: a large download the first time). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-$(nproc)}
BATCH=${BATCH:-128}
STEPS=${STEPS:-60}
WARMUP=${WARMUP:-10}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
SIZE=${SIZE:-tiny}
BUILD=${BUILD:-build}
VENV=bench/.venv

# always an up-to-date build: a stale binary would measure other code than the tree's
[ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$THREADS" >/dev/null
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
	echo "creating $VENV with PyTorch (pip install torch)..." >&2
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q torch
fi

export OMP_NUM_THREADS=$THREADS
source bench/cpu_blas.sh
# like for like: the peer loads and normalises each batch on its main thread, without augmentation
# and without loader threads (on a 2-core machine, loader threads beside the compute threads would
# oversubscribe the cores: 2 workers cost amptune ~10% of its step there)
ours=$("${amptune_env[@]}" "$BUILD/amptune" train --model cnn --size "$SIZE" --data "$DATA" --threads "$THREADS" --batch "$BATCH" \
	--steps "$STEPS" --warmup-steps "$WARMUP" --eval-images 0 --workers 0 --no-augment --json --quiet)
theirs=$("$VENV/bin/python" -W ignore bench/cpu_cnn_torch.py --size "$SIZE" --data "$DATA" --threads "$THREADS" --batch "$BATCH" \
	--steps "$STEPS" --warmup "$WARMUP")

python3 - "$ours" "$theirs" "$(peer_isa "$VENV/bin/python")" <<'PY'
import json, sys
a, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["status"] == "ok", a["message"]
v = a["versions"]
print(f"cpu: {a['device_name']}, {t['threads']} threads, batch {t['batch']}, "
      f"{t['steps']} steps (median after warm-up), torch {t['torch']}")
print(f"amptune's GEMMs: {v['blas']}, {v['blas_kernels']} kernels (chosen by {v['blas_kernels_by']}); "
      f"PyTorch's CPU kernels: {sys.argv[3]}\n")
print("| implementation | params | step ms (p50) | images/s | ratio |")
print("| --- | ---: | ---: | ---: | ---: |")
assert a["params"] == t["params"], (a["params"], t["params"])
print(f"| amptune cnn {a['size']} | {a['params']:,} | {a['step_ms_p50']:.1f} | {a['samples_per_sec']:.0f} | "
      f"{a['samples_per_sec'] / t['samples_per_sec']:.2f} |")
print(f"| PyTorch (same model) | {t['params']:,} | {t['step_ms_p50']:.1f} | {t['samples_per_sec']:.0f} | 1.00 |")
PY

if [ "${EPOCH:-0}" = 1 ]; then
	epoch=$("${amptune_env[@]}" "$BUILD/amptune" train --model cnn --size "$SIZE" --data "$DATA" --threads "$THREADS" --batch "$BATCH" \
		--epochs 1 --log-every 0 --json 2>/dev/null)
	python3 - "$epoch" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["status"] == "ok", r["message"]
print(f"\none epoch of cnn {r['size']} (batch {r['batch']}, {r['steps']} steps, lr {r['lr']}): "
      f"t10k accuracy {100 * r['eval_accuracy']:.2f}% ({r['eval_images']} images), eval loss {r['eval_loss']:.4f}, "
      f"{r['epoch_s']:.1f} s/epoch, {r['samples_per_sec']:.0f} images/s (p50)")
PY
fi
