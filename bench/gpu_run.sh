#!/usr/bin/env bash
# On a GPU machine, with .device/ (or .device.tar.xz) from bench/gpu_pack.sh: finds the CUDA
# libraries (toolkit or PyTorch's wheels), runs the GPU test suites, then short
# training runs per precision (GPT tiny and gpt2-124m, CNN tiny and resnet), then
# amptune against PyTorch (bench/gpt_vs_torch.sh, bench/cnn_vs_torch.sh), and
# writes everything to ${GPU_OUT:-gpu-out}/ (its own variable: an OUT inherited from the
# caller's environment is not taken for it).
#
#   bench/gpu_run.sh [STAGE...]   stages: tests train gpt-bench cnn-bench (default: all four),
#                                 and sanitize (not by default): the op suites under
#                                 compute-sanitizer's memcheck, racecheck and synccheck
#
# Where commands are time-limited (10 minutes), run one stage per command; gpt-bench and cnn-bench
# stop starting runs after BUDGET_S (540 s) and say which runs they left out, and RUN_TIMEOUT
# stops a hung training run (docs/benchmarks.md: how to split them).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
OUT=${GPU_OUT:-gpu-out}
stages=${*:-tests train gpt-bench cnn-bench}
for st in $stages; do
	case $st in
	tests | train | gpt-bench | cnn-bench | sanitize) ;;
	*) echo "gpu_run.sh: unknown stage '$st' (expected tests, train, gpt-bench, cnn-bench, sanitize)" >&2; exit 64 ;;
	esac
done
# ARCHIVE=FILE.tgz: everything under $OUT also packed into one file at the end (where only a few
# files can be fetched back from the machine)
if [ -n "${ARCHIVE:-}" ]; then
	case $(realpath -m "$ARCHIVE")/ in
	$(realpath -m "$OUT")/*) echo "gpu_run.sh: ARCHIVE must lie outside GPU_OUT ($OUT)" >&2; exit 64 ;;
	esac
	trap 'mkdir -p "$(dirname "$ARCHIVE")" && tar -C "$OUT" -czf "$ARCHIVE" .' EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
fi
want() { case " $stages " in *" $1 "*) return 0 ;; esac; return 1; }
mkdir -p "$OUT"
if [ ! -x .device/bin/amptune ] && [ -f .device.tar.xz ]; then
	mkdir -p .device && xz -dc .device.tar.xz | tar -C .device -xf - ||
		{ echo "gpu_run.sh: cannot unpack .device.tar.xz" >&2; exit 66; }
fi
[ -x .device/bin/amptune ] || { echo "gpu_run.sh: no .device/bin/amptune: run bench/gpu_pack.sh first" >&2; exit 66; }
libs=$(find / \( -path /proc -o -path /sys -o -path /dev -o -path '*/.debug' \) -prune -o \
	\( -name 'libcublasLt.so.1*' -o -name 'libcudnn.so.9*' \) \( -type f -o -type l \) -printf '%h\n' 2>/dev/null |
	sort -u | tr '\n' ':')
# amptune's library path (Debian's libstdc++, libgomp, ... and every CUDA library directory) is
# not PyTorch's: the peers of the benchmarks run with the one this script started with
export PEER_LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
export LD_LIBRARY_PATH=$PWD/.device/lib:${libs}${LD_LIBRARY_PATH:-}
{
	date -u
	nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
	.device/bin/amptune --version
} 2>&1 | tee "$OUT/env.txt"
# the GPT's default data is Debian's fortunes, which the GPU machine lacks: install the packed copy
if [ ! -d /usr/share/games/fortunes ] && [ -d .device/data/fortunes ]; then
	mkdir -p /usr/share/games && cp -r .device/data/fortunes /usr/share/games/fortunes ||
		echo "gpu_run.sh: cannot install fortunes under /usr/share/games: GPT runs on 'fortunes' will fail" >&2
fi
status=0
if want tests; then
	for t in .device/bin/gpu_*; do
		echo "== $t" | tee -a "$OUT/tests.txt"
		"$t" 2>&1 | tee -a "$OUT/tests.txt"
		rc=${PIPESTATUS[0]}
		echo "exit $rc" | tee -a "$OUT/tests.txt"
		[ "$rc" = 0 ] || status=1
	done
	# a sweep on the GPU under a device memory limit: the point that does not fit is recorded
	# "oom" (--no-predict: run it rather than predict it) and the sweep carries on
	cat >"$OUT/oom.ini" <<'INI'
[sweep]
name = gpu-oom
model = gpt
size = tiny
data = fortunes
steps = 5
warmup_steps = 1
eval_batches = 1
devices = cuda
precisions = bf16
batch_sizes = 4, 256
device_mem_limit = 200M
INI
	rm -rf "$OUT/oom-sweep"
	AMPTUNE_CUDA_UNVALIDATED=1 .device/bin/amptune sweep "$OUT/oom.ini" --out "$OUT/oom-sweep" --no-predict \
		>"$OUT/oom-sweep.log" 2>&1
	if python3 - "$OUT/oom-sweep/results.jsonl" <<'PY' 2>&1 | tee -a "$OUT/tests.txt"; then :; else status=1; fi
import json, sys
st = [json.loads(l)["status"] for l in open(sys.argv[1])]
print("== sweep under device_mem_limit on the GPU: statuses", st)
sys.exit(0 if st == ["ok", "oom"] else 1)
PY
fi
# out-of-bounds accesses, shared-memory races and barrier misuse in our kernels, on the op suites'
# small shapes (no fork, so the tool sees the kernels; timeouts stretched for its slowdown)
if want sanitize; then
	sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
	[ -n "$sanitizer" ] || { echo "gpu_run.sh: no compute-sanitizer on this machine" | tee -a "$OUT/sanitize.txt"; status=1; }
fi
if want sanitize && [ -n "$sanitizer" ]; then
	for tool in memcheck racecheck synccheck; do
		for t in .device/bin/gpu_gpt_ops .device/bin/gpu_cnn_ops; do
			echo "== compute-sanitizer --tool $tool $t" | tee -a "$OUT/sanitize.txt"
			CK_FORK=no CK_TIMEOUT_MULTIPLIER=20 timeout 300 "$sanitizer" --tool "$tool" --error-exitcode 86 \
				"$t" >"$OUT/sanitize-$tool-${t##*/}.log" 2>&1
			rc=$?
			grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|[0-9]+%: Checks' "$OUT/sanitize-$tool-${t##*/}.log" | tail -3 |
				tee -a "$OUT/sanitize.txt"
			echo "exit $rc" | tee -a "$OUT/sanitize.txt"
			[ "$rc" = 0 ] || status=1
		done
	done
fi
export AMPTUNE_CUDA_UNVALIDATED=1
cnn_data=.device/data/fashion-mnist # from bench/gpu_pack.sh
[ -d "$cnn_data" ] || cnn_data=synthetic-images
# one short training run, its record appended to train.jsonl (a "failed" one when it wrote none)
train_run() { # model size precision args...
	local o rc
	o=$(timeout "${RUN_TIMEOUT:-240}" .device/bin/amptune train --model "$1" --size "$2" --precision "$3" "${@:4}" \
		2>>"$OUT/train.log")
	rc=$?
	if [ -n "$o" ]; then
		echo "$o" | tail -1 >>"$OUT/train.jsonl"
	else
		printf '{"model": "%s", "size": "%s", "precision": "%s", "status": "failed", "message": "exit %s without a record (train.log)"}\n' \
			"$1" "$2" "$3" "$rc" >>"$OUT/train.jsonl"
	fi
}
if want train; then
: >"$OUT/train.jsonl"
for p in fp32 tf32 bf16 fp16; do
	for s in tiny gpt2-124m; do
		train_run gpt "$s" "$p" --device cuda --steps 30 --warmup-steps 10 --eval-batches 0 --log-every 10 --json
	done
	for s in tiny resnet; do
		train_run cnn "$s" "$p" --device cuda --data "$cnn_data" --steps 30 --warmup-steps 10 --workers 8 \
			--eval-images 1000 --log-every 10 --json
	done
done
python3 - "$OUT/train.jsonl" <<'PY' | tee "$OUT/summary.md"
import json, sys
def fmt(x, spec, unit=""):
    return "-" if x is None else format(x, spec) + unit
print("| model | size | precision | batch x seq | step ms p50 (p95) | samples/s | tokens/s | MFU | peak device | "
      "eval acc | status |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    cnn = r.get("model") == "cnn"
    peak, mfu, acc = r.get("peak_device_bytes"), r.get("mfu"), r.get("eval_accuracy")
    print(f"| {r.get('model', 'gpt')} | {r['size']} | {r['precision']} | {r.get('batch', '-')} x {r.get('seq', '-')}"
          f"{'x%d' % r['seq'] if cnn and r.get('seq') else ''} | "
          f"{fmt(r.get('step_ms_p50'), '.2f')} ({fmt(r.get('step_ms_p95'), '.2f')}) | {fmt(r.get('samples_per_sec'), '.0f')} | "
          f"{fmt(r.get('tokens_per_sec'), '.0f')} | {fmt(None if mfu is None else 100 * mfu, '.1f', '%')} | "
          f"{fmt(None if peak is None else peak / 2**20, '.0f', ' MiB')} | {fmt(None if acc is None else 100 * acc, '.1f', '%')} | "
          f"{r['status']}{': ' + r['message'][:80].replace('|', '/') if r.get('message') else ''} |")
PY
fi
# amptune against PyTorch on the same GPU (tables into $OUT)
if want gpt-bench; then
	AMPTUNE=.device/bin/amptune OUT="$OUT" bench/gpt_vs_torch.sh 2>&1 | tee "$OUT/gpt_vs_torch.log"
fi
# the CNN: cnn tiny/resnet against PyTorch, then an epoch of Fashion-MNIST per loader worker count
if want cnn-bench; then
	AMPTUNE=.device/bin/amptune OUT="$OUT" bench/cnn_vs_torch.sh 2>&1 | tee "$OUT/cnn_vs_torch.log"
fi
exit $status
