#!/usr/bin/env bash
# `amptune train` and the data loader from the outside: the loader options,
# the --data forms, exit codes for bad data, the record's loader statistics,
# the live starvation warning, and SIGINT while the trainer waits for data.
set -u
NAME=cli_loader
source "$(dirname "$0")/helpers/cli.sh"
# field FILE EXPR: evaluates a Python expression over the record r
check() {
	python3 -c "import json,sys; r=json.load(open(sys.argv[1])); L=r['loader']; assert $2, (r['status'], r['message'], L)" "$1" \
		&& ok || bad "$3"
}
Q=(--device cpu --steps 4 --batch 2 --seq 16 --eval-batches 1 --warmup-steps 1 --quiet)

# usage errors: 64
expect 64 "option '--workers' expects an integer in \[0, 256\], got '-1'" -- train --workers -1
expect 64 "option '--prefetch' expects an integer in \[1, 256\], got '0'" -- train --prefetch 0
expect 64 "option '--data-latency-us' expects an integer" -- train --data-latency-us 1.5
expect 64 "option '--data-cost' expects an integer" -- train --data-cost x
expect 64 "option '--data' got 'idx:one' with 1 path" -- train --data idx:one
expect 64 "option '--data' got 'synthetic-images:abc'" -- train --data synthetic-images:abc
expect 64 "names synthetic-images images .* the gpt model trains on text or tokens" -- train "${Q[@]}" --data synthetic-images:100

# token shards: a good one trains; each bad one is 65 with the path and byte offset
python3 - "$T" <<'PY'
import struct, sys
d = sys.argv[1]
def shard(name, tokens, magic=20240520, version=1, count=None, cut=0):
    head = struct.pack("<3i", magic, version, len(tokens) if count is None else count) + bytes(1012)
    body = struct.pack("<%dH" % len(tokens), *tokens)
    open(f"{d}/{name}", "wb").write((head + body)[: len(head + body) - cut])
text = open("/usr/share/games/fortunes/fortunes", "rb").read()[:20000]
shard("good_000.bin", list(text[:12000]))
shard("good_001.bin", list(text[12000:]))
shard("magic.bin", [1, 2, 3], magic=7)
shard("vocab.bin", [1, 2, 300, 4])
shard("cut.bin", [1, 2, 3, 4], cut=3)
shard("tinyval.bin", list(text[:50]))
PY
"$A" train "${Q[@]}" --data "shards:$T/good_*.bin" --json >"$T/rec" 2>"$T/err"
[ $? = 0 ] && ok || bad "train on shards: $(cat "$T/err")"
check "$T/rec" "r['status'] == 'ok' and r['dataset'] == 'shards:$T/good_*.bin' and L['samples_per_epoch'] == (18000 - 1) // 16" "shards record"
expect 65 "token shard '$T/magic.bin' has bad magic 7 at byte offset 0" -- train "${Q[@]}" --data "shards:$T/magic.bin"
expect 65 "token shard '$T/vocab.bin': token 300 at byte offset 1028 is not below the model's vocabulary of 256" -- train "${Q[@]}" --data "shards:$T/vocab.bin"
expect 65 "token shard '$T/cut.bin' is truncated: .* ends at byte offset 1029" -- train "${Q[@]}" --data "shards:$T/cut.bin"
expect 65 "cannot open token shard '$T/none.bin'" -- train "${Q[@]}" --data "shards:$T/none.bin"
# text:PATH is a path, even a file called 'fortunes' (the bare word is Debian's corpus)
head -c 5000 /usr/share/games/fortunes/fortunes >"$T/fortunes"
(cd "$T" && "$A" train "${Q[@]}" --data text:fortunes --json) >"$T/local" 2>"$T/local.err" || bad "text:fortunes: $(cat "$T/local.err")"
check "$T/local" "r['dataset'] == 'text:fortunes' and L['samples_per_epoch'] == (4500 - 1) // 16" "text:fortunes reads the local file"
# a validation shard too small for a batch is named, not the training pattern
expect 65 "token data '$T/tinyval.bin': the validation split has 50 tokens" -- train "${Q[@]}" --batch 4 --seq 32 --data "shards:$T/good_*.bin,$T/tinyval.bin"
expect 65 "no token shard files match '$T/none_\*.bin'" -- train "${Q[@]}" --data "shards:$T/none_*.bin"
printf 'not an idx file at all' >"$T/bad-images"
expect 65 "IDX images '$T/bad-images' has bad magic 0x6e6f7420 at byte offset 0" -- train "${Q[@]}" --data "idx:$T/bad-images,$T/bad-labels"
printf '\037\213\010\000\000\000\000\000\000\003garbage garbage garbage' >"$T/t.txt.gz"
expect 65 "cannot read text data '$T/t.txt.gz': .*compressed byte offset" -- train "${Q[@]}" --data "$T/t.txt.gz"
expect 65 "image directory '$T' has no 'train-images-idx3-ubyte.gz' nor 'train-images-idx3-ubyte'" -- train "${Q[@]}" --data "fashion-mnist:$T"

# the loader's settings and statistics in the record
"$A" train "${Q[@]}" --steps 8 --warmup-steps 2 --data synthetic-text:50000 --workers 3 --prefetch 2 --drop-last \
	--no-shuffle --no-augment --json >"$T/rec" 2>"$T/err"
[ $? = 0 ] && ok || bad "train with loader options: $(cat "$T/err")"
check "$T/rec" "(r['workers'], r['prefetch']) == (3, 2) and (L['workers'], L['prefetch'], L['team_size']) == (3, 2, 3)" "workers/prefetch in the record"
check "$T/rec" "(L['shuffle'], L['augment'], L['drop_last'], L['remainder']) == (False, False, True, 'drop')" "flags in the record"
# 8 steps take 9 batches (each step takes the next one, the last step too); the 6 timed steps waited
# for batches 3-8, so the loader's warm-up is 3 batches
check "$T/rec" "L['batches'] == 9 and L['timed_steps'] == 6 and L['warmup']['steps'] == 3 and sum(L['queue_depth_hist']) == 6" "counts in the record"
check "$T/rec" "abs(r['phase_ms']['data_wait'] - L['wait_ms_mean']) <= 0.05 + 0.01 * L['wait_ms_mean']" "trainer and loader count the same waits"
check "$T/rec" "len(L['worker_busy_frac']) == 3 and all(abs(b + k + i - 1) < 1e-9 for b, k, i in zip(L['worker_busy_frac'], L['worker_blocked_frac'], L['worker_idle_frac']))" "worker fractions"
check "$T/rec" "0 <= r['data_wait_frac'] < 1 and L['wait_ms_p50'] <= L['wait_ms_p95'] <= L['wait_ms_max'] and L['steps_per_epoch'] == L['samples_per_epoch'] // 2" "wait statistics"

# starvation: 2 samples x 50 ms per batch on one worker is the bottleneck of
# a step that computes for a few ms; 32 workers with a deep ring hide it.
# Ratios between runs, never absolute times; one compute thread, so that the
# step time does not depend on how busy the machine's cores are.
S=(--device cpu --threads 1 --steps 16 --warmup-steps 3 --batch 2 --seq 16 --eval-batches 1 --log-every 0
	--data-latency-us 50000)
"$A" train "${S[@]}" --workers 1 --json >"$T/w1" 2>"$T/w1.err" || bad "workers 1 run: $(cat "$T/w1.err")"
"$A" train "${S[@]}" --workers 32 --prefetch 32 --json >"$T/w32" 2>"$T/w32.err" || bad "workers 32 run: $(cat "$T/w32.err")"
python3 - "$T/w1" "$T/w32" <<'PY' && ok || bad "data-wait with 1 vs 32 workers"
import json, sys
w1, w32 = (json.load(open(p)) for p in sys.argv[1:])
f1, f32 = w1["data_wait_frac"], w32["data_wait_frac"]
assert f1 > 0.5, f"1 worker: data-wait {f1:.3f} of step time"
assert f1 >= 3 * f32, f"1 worker {f1:.3f} vs 32 workers {f32:.3f}"
assert w1["loader"]["empty_steps"] > w32["loader"]["empty_steps"]
assert w1["loader"]["workers_needed"] >= 2
PY
grep -qE "^warning: data-wait is [0-9]+% of step time over steps 4-13 .*raise --workers" "$T/w1.err" && ok || bad "no starvation warning with 1 worker: $(cat "$T/w1.err")"
# a run whose only timed step is its last still sees the wait for data (the last step takes a batch too)
"$A" train --device cpu --threads 1 --steps 4 --batch 2 --seq 16 --eval-batches 0 --log-every 0 --workers 0 \
	--data-latency-us 20000 --json >"$T/last" 2>"$T/last.err" || bad "4-step run: $(cat "$T/last.err")"
check "$T/last" "r['timed_steps'] == 1 and r['data_wait_frac'] > 0.5 and abs(r['phase_ms']['data_wait'] - L['wait_ms_mean']) <= 0.05 + 0.01 * L['wait_ms_mean']" "the last step's data wait"
grep -q "^warning: data-wait" "$T/w32.err" && bad "starvation warning with 32 workers: $(cat "$T/w32.err")" || ok
"$A" train "${S[@]}" --workers 0 >/dev/null 2>"$T/w0.err"
grep -qE "^warning: data-wait .*trainer's thread.*--workers" "$T/w0.err" && ok || bad "no starvation warning with 0 workers: $(cat "$T/w0.err")"

# SIGINT while the trainer waits for data: 130 after at most the current step
# (one compute thread: a busy machine makes multi-threaded steps erratic)
for w in 0 2; do
	"$A" train --device cpu --threads 1 --steps 1000 --batch 2 --seq 16 --eval-batches 1 --quiet --workers $w \
		--data-latency-us 300000 --json >"$T/int" 2>"$T/int.err" &
	pid=$!
	sleep 1.5
	start=$(date +%s%N)
	kill -INT $pid
	wait $pid
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	[ $rc = 130 ] && ok || bad "SIGINT with --workers $w: exit $rc ($(cat "$T/int.err"))"
	[ $ms -lt 2500 ] && ok || bad "SIGINT with --workers $w took $ms ms"
	check "$T/int" "r['status'] == 'interrupted' and 'interrupted' in r['message']" "interrupted record (--workers $w)"
done

# help
"$A" help train >"$T/h"
for pat in "--workers N" "--prefetch N" "--shuffle \| --no-shuffle" "--drop-last" "--augment \| --no-augment" \
	"--data-latency-us N" "--data-cost N" "shards:GLOB\[,VAL_GLOB\]" "fashion-mnist\[:DIR\]" \
	"idx:IMAGES,LABELS" "synthetic-text\[:BYTES\]" "synthetic-images\[:N\]"; do
	grep -qE -- "$pat" "$T/h" && ok || bad "help train lacks '$pat'"
done

finish
