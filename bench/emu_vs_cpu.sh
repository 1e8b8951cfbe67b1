#!/usr/bin/env bash
# The CUDA backend under the CPU emulation of CUDA (build/tests/amptune_emu,
# tests/emu/fake) against the CPU backend on the same short runs, for the
# presets and shapes the CI suites do not train (GPT small and gpt2-124m with
# their head size 64 and vocabulary 50304, the ResNet): losses, eval loss and
# peak device memory side by side. This checks the backend's logic on those
# shapes, not a GPU's numerics or speed (step times are the emulation's).
# Not part of CI (a few minutes).
#
#   bench/emu_vs_cpu.sh
#
# Prints a markdown table and appends it to bench/results/cuda_emulation-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build >/dev/null
EMU=build/tests/amptune_emu CPU=build/amptune
[ -x "$EMU" ] || { echo "no $EMU (the emulated build needs a C++ compiler)" >&2; exit 69; }
export AMPTUNE_CUDA_UNVALIDATED=1

# summary fields of one run: "initial -> final | eval | peak"
run() {
	local bin=$1
	shift
	"$bin" train "$@" 2>&1 | awk -F' [|] ' '/^summary:/ {
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^loss /) { split($i, a, ", "); loss = a[1]; ev = a[2] }
			if ($i ~ /^peak /) { split($i, p, ", "); peak = p[1] }
		}
		sub(/^loss /, "", loss); sub(/^eval /, "", ev); sub(/^peak /, "", peak); sub(/ backend/, "", peak)
		print loss " | " ev " | " peak }'
}

out=bench/results/cuda_emulation-$(date +%Y%m%d).md
{
	echo "### CUDA backend on the CPU emulation vs the CPU backend ($(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD))"
	echo
	echo "| model | run | cpu fp32: loss | eval | peak | emulated cuda precision | loss | eval | peak |"
	echo "|---|---|---|---|---|---|---|---|---|"
	while read -r model size args; do
		cpu=$(run "$CPU" --model "$model" --size "$size" --device cpu --precision fp32 $args)
		for p in fp32 bf16; do
			emu=$(run "$EMU" --model "$model" --size "$size" --device cuda --precision "$p" $args)
			echo "| $model $size | ${args// --/, --} | $cpu | $p | $emu |"
		done
	done <<'RUNS'
gpt small --batch 2 --seq 256 --steps 3 --eval-batches 1 --data fortunes
gpt gpt2-124m --batch 1 --seq 128 --steps 2 --eval-batches 1 --data fortunes
cnn resnet --batch 32 --steps 1 --eval-images 64 --data synthetic-images:2000
cnn resnet --batch 8 --steps 2 --eval-images 16 --data synthetic-images:2000
RUNS
	echo
} | tee -a "$out"
echo "appended to $out" >&2
