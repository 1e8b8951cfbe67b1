#!/usr/bin/env bash
# Loader throughput against workers: samples/s of Fashion-MNIST with
# augmentation and of fortunes text windows, for 1..N workers, with a trainer
# that takes batches as fast as they come; scaling efficiency = rate(w) /
# (w x rate(1)). Then data-wait of the tiny GPT on fortunes once workers
# suffice. Not part of CI.
#
#   bench/loader.sh [MAX_WORKERS]      default: nproc
#   env: BATCHES (default 2000), STEPS (default 40)
#
# Prints a markdown table and writes it to bench/results/loader-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX=${1:-$(nproc)}
BATCHES=${BATCHES:-2000}
STEPS=${STEPS:-40}

make -s build >/dev/null
mkdir -p bench/results build/bench
cmake --build build --target loader_bench >/dev/null
W=$(seq 1 "$MAX")
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
out=bench/results/loader-$(date -u +%Y%m%d).md
{
	echo "Loader throughput, $BATCHES batches per point after the ring is full, prefetch 2 x workers"
	echo "host: $cpu, $(nproc) cores; amptune $(./build/amptune --version | cut -d' ' -f2-)"
	echo
	echo "| dataset | batch | workers | samples/s | scaling efficiency |"
	echo "|---|---|---|---|---|"
} | tee "$out"
table() {
	python3 -c '
import json, sys
name, batch = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in sys.stdin]
base = rows[0]["samples_per_sec"]
for r in rows:
    eff = r["samples_per_sec"] / (r["workers"] * base)
    print("| %s | %s | %d | %.0f | %.0f%% |" % (name, batch, r["workers"], r["samples_per_sec"], 100 * eff))
' "$1" "$2"
}
./build/bench/loader_bench fashion-mnist 64 0 "$BATCHES" $W | table "fashion-mnist, augmented" 64 | tee -a "$out"
./build/bench/loader_bench fortunes 16 128 "$BATCHES" $W | table "fortunes, windows of 128+1" 16 | tee -a "$out"

{
	echo
	echo "Data-wait of tiny GPT on fortunes (batch 16 x 128, $STEPS steps, cpu)"
	echo
	echo "| workers | data_wait_frac | wait ms p50 | step ms p50 |"
	echo "|---|---|---|---|"
} | tee -a "$out"
for w in 0 1 2; do
	./build/amptune train --device cpu --steps "$STEPS" --eval-batches 0 --workers $w --quiet --json |
		python3 -c 'import json,sys; r=json.load(sys.stdin); print("| %d | %.2f%% | %.3f | %.1f |" % (r["workers"], 100 * r["data_wait_frac"], r["loader"]["wait_ms_p50"], r["step_ms_p50"]))'
done | tee -a "$out"
echo >&2 "table written to $out"
