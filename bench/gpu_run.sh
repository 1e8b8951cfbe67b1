#!/usr/bin/env bash
# On a GPU machine, with .device/ from bench/gpu_pack.sh: finds the CUDA
# libraries (toolkit or PyTorch's wheels), runs the GPU test suites, then a
# short training run per precision, and writes everything to ${OUT:-gpu-out}/.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
libs=$(find / \( -name 'libcublasLt.so.1*' -o -name 'libcudnn.so.9*' \) -not -path '*/proc/*' 2>/dev/null | xargs -r -n1 dirname | sort -u | tr '\n' ':')
export LD_LIBRARY_PATH=$PWD/.device/lib:${libs}${LD_LIBRARY_PATH:-}
{
	date -u
	nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
	.device/bin/amptune --version
} 2>&1 | tee "$OUT/env.txt"
status=0
for t in .device/bin/gpu_*; do
	echo "== $t" | tee -a "$OUT/tests.txt"
	"$t" 2>&1 | tee -a "$OUT/tests.txt"
	rc=${PIPESTATUS[0]}
	echo "exit $rc" | tee -a "$OUT/tests.txt"
	[ "$rc" = 0 ] || status=1
done
export AMPTUNE_CUDA_UNVALIDATED=1
for p in fp32 tf32 bf16 fp16; do
	for s in tiny gpt2-124m; do
		.device/bin/amptune train --device cuda --size "$s" --precision "$p" --steps 30 --warmup-steps 10 \
			--eval-batches 0 --log-every 10 --json >>"$OUT/train.jsonl" 2>>"$OUT/train.log"
	done
done
python3 - "$OUT/train.jsonl" <<'PY' | tee "$OUT/summary.md"
import json, sys
print("| size | precision | batch x seq | step ms p50 (p95) | tokens/s | MFU | peak device | status |")
print("|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    r = json.loads(line)
    mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") is not None else "-"
    print(f"| {r['size']} | {r['precision']} | {r['batch']} x {r['seq']} | {r['step_ms_p50']:.2f} ({r['step_ms_p95']:.2f}) | "
          f"{r['tokens_per_sec']:.0f} | {mfu} | {r['peak_device_bytes'] / 2**20:.0f} MiB | {r['status']} |")
PY
# amptune against PyTorch on the same GPU (tables into $OUT)
AMPTUNE=.device/bin/amptune OUT="$OUT" bench/gpt_vs_torch.sh 2>&1 | tee "$OUT/gpt_vs_torch.log"
exit $status
