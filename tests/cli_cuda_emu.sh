#!/usr/bin/env bash
# The CLI built on the CPU emulation of CUDA (tests/amptune_emu over
# tests/emu/fake), driven as a user on a GPU node drives it: the validation
# gate on `train --device cuda` and `--device auto`, a sweep over cpu and
# cuda points whose records name the device and its library versions and
# which `report` turns into a report, and running out of device memory
# (the device's own, and a --device-mem-limit, in train and in a sweep).
# Skipped (77) without the emulated build.
NAME=cli_cuda_emu
. "${SRC:?SRC must name the source tree}/tests/helpers/sweep.sh"
if [ -z "${AMPTUNE_EMU:-}" ] || [ ! -x "$AMPTUNE_EMU" ]; then
	echo "no emulated CUDA build (no C++ compiler at configure time): skipped"
	exit 77
fi
A=$AMPTUNE_EMU
unset AMPTUNE_CUDA_UNVALIDATED

# ---- the gate: closed until the GPU suites have passed on a GPU ----
expect 69 "device 'cuda' \(CUDA emulation on the CPU\): the CUDA training kernels in this build have not been validated" -- \
	train --device cuda --steps 1 --data fortunes
"$A" train --device auto --steps 2 --batch 2 --seq 16 --eval-batches 1 --data fortunes --json >auto.json 2>"$T/err"
same "auto with the gate closed: exit" "$?" 0
same "auto with the gate closed: the cpu" "$(field auto.json device)" cpu
AMPTUNE_CUDA_UNVALIDATED=1 "$A" train --device auto --steps 2 --batch 2 --seq 16 --eval-batches 1 --data fortunes \
	--json >auto.json 2>"$T/err"
same "auto with the gate open: exit" "$?" 0
same "auto with the gate open: cuda" "$(field auto.json device)" cuda

# ---- a sweep over both devices ----
plan p.ini emu "devices = cpu, cuda" "precisions = fp32, bf16" "batch_sizes = 4" "steps = 4"
AMPTUNE_CUDA_UNVALIDATED=1 "$A" sweep p.ini --out run >sweep.txt 2>"$T/err"
same "sweep exit" "$?" 0
r=run/results.jsonl
same "four records" "$(wc -l <"$r" | tr -d ' ')" 4
same "statuses by device and precision" \
	"$(paste -d' ' <(field "$r" device) <(field "$r" precision) <(field "$r" status) | sort | tr '\n' ';')" \
	"cpu bf16 unsupported;cpu fp32 ok;cuda bf16 ok;cuda fp32 ok;"
grep '"device":"cuda"' "$r" >cuda.jsonl
same "cuda records name the device" "$(field cuda.jsonl device_name | sort -u)" "CUDA emulation on the CPU"
same "cuda records name cuDNN" "$(field cuda.jsonl cudnn | sort -u)" "9.19.0"
same "cuda records name the runtime" "$(field cuda.jsonl cuda_runtime | sort -u)" "13.0"
same "cuda records have a device peak" "$(field cuda.jsonl peak_device_bytes | awk '$1 > 0' | wc -l | tr -d ' ')" 2
same "cuda losses are finite" "$(field cuda.jsonl final_loss | awk '$1 > 0 && $1 < 10' | wc -l | tr -d ' ')" 2
"$A" report run >report.txt 2>"$T/err"
same "report exit" "$?" 0
same "report compares the devices" "$(grep -c 'on the CUDA emulation' report.txt)" 1
same "results.csv has the cuda rows" "$(grep -c ',cuda,' run/results.csv)" 2

# ---- the same sweep with the gate closed: the cuda points are the device's own 'unsupported' ----
AMPTUNE_CUDA_UNVALIDATED= "$A" sweep p.ini --out closed >/dev/null 2>"$T/err"
same "closed sweep exit" "$?" 0
same "closed: cuda points unsupported" \
	"$(grep '"device":"cuda"' closed/results.jsonl | field /dev/stdin status | sort -u)" unsupported
same "closed: the message says why" \
	"$(grep '"device":"cuda"' closed/results.jsonl | grep -c 'not been validated')" 2
# ---- out of device memory: the oom exit and message, never a crash; in a sweep, status oom ----
export AMPTUNE_CUDA_UNVALIDATED=1
AMPTUNE_EMU_MEM_MIB=600 expect 75 "^amptune train: out of memory on 'cuda': need [0-9.]+ GiB, free [0-9.]+ MiB" -- \
	train --size small --device cuda --batch 64 --seq 256 --steps 2 --data fortunes
expect 75 "^amptune train: out of memory on 'cuda': need 32.0 MiB, free 20.0 MiB of the 20.0 MiB limit$" -- \
	train --device cuda --precision bf16 --batch 4 --seq 32 --steps 2 --device-mem-limit 20M --data fortunes
plan m.ini mem "devices = cuda" "precisions = bf16" "batch_sizes = 4" "steps = 2"
"$A" sweep m.ini --out mem --device-mem-limit 20M >/dev/null 2>"$T/err"
same "limited sweep exit" "$?" 0
same "limited sweep: oom recorded" "$(field mem/results.jsonl status)" oom
same "limited sweep: the message" "$(grep -c 'out of memory on' mem/results.jsonl)" 1

# ---- determinism: said in every record; a cuDNN without a deterministic algorithm still trains ----
same "gpt cuda records are deterministic" "$(field cuda.jsonl deterministic | sort -u)" true
cnn="train --model cnn --size tiny --device cuda --batch 8 --steps 2 --data synthetic-images:64 --eval-images 0 --json"
"$A" $cnn >det.json 2>"$T/err"
same "cnn on cuda: exit" "$?" 0
same "cnn on cuda: deterministic" "$(field det.json deterministic)" true
AMPTUNE_EMU_DNN_NONDET=1 "$A" $cnn >nondet.json 2>"$T/err"
same "cnn on a cuDNN without deterministic backward-filter algorithms: exit" "$?" 0
same "... status" "$(field nondet.json status)" ok
same "... not deterministic" "$(field nondet.json deterministic)" false
same "... the same losses here (the emulation's algorithms are all deterministic)" \
	"$(field nondet.json final_loss)" "$(field det.json final_loss)"
# ---- every kernel a training step launches, under the order check (races between blocks abort) ----
for prec in fp32 bf16 fp16; do
	AMPTUNE_EMU_ORDER_CHECK=1 "$A" train --device cuda --precision $prec --steps 2 --batch 2 --seq 32 \
		--eval-batches 1 --data fortunes --json >order.json 2>"$T/err"
	same "gpt $prec under the order check: exit" "$?:$(grep -c 'depend on the order' "$T/err")" 0:0
	AMPTUNE_EMU_ORDER_CHECK=1 "$A" train --model cnn --size tiny --device cuda --precision $prec --batch 8 --steps 2 \
		--data synthetic-images:64 --eval-images 8 --json >order.json 2>"$T/err"
	same "cnn $prec under the order check: exit" "$?:$(grep -c 'depend on the order' "$T/err")" 0:0
done
mkdir -p nd && cat det.json nondet.json >nd/results.jsonl
"$A" report nd >nd.txt 2>"$T/err"
same "report of both: exit" "$?" 0
same "report of both: the note" "$(grep -c '^note: .* ran a non-deterministic cuDNN convolution algorithm' nd.txt)" 1
finish
