#!/usr/bin/env bash
# `amptune train --model cnn`: the record a CNN point writes, its usage and
# data errors (exit codes and messages), and --help's parameter counts.
set -uo pipefail
: "${AMPTUNE:?}" "${TEST_TMPDIR:?}"
tmp="$TEST_TMPDIR/cli_cnn.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect CODE MESSAGE-FRAGMENT -- ARGS...: exit code and a stderr line
expect() {
	local code=$1 msg=$2
	shift 3
	"$AMPTUNE" train "$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$got" != "$code" ]; then
		fail "train $*: exit $got, expected $code ($(head -c 300 "$tmp/err"))"
	elif ! grep -qF -- "$msg" "$tmp/err"; then
		fail "train $*: stderr lacks '$msg': $(head -c 300 "$tmp/err")"
	else
		ok
	fi
}

field() { python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).read()); v=r[sys.argv[2]]; print(v)" "$@"; }

# a short real run: the record carries the CNN fields
"$AMPTUNE" train --model cnn --steps 6 --warmup-steps 2 --eval-images 300 --json --quiet --threads 2 >"$tmp/rec.json" 2>"$tmp/err"
rc=$?
if [ $rc != 0 ]; then
	fail "short cnn run exited $rc: $(cat "$tmp/err")"
else
	python3 - "$tmp/rec.json" <<'PY' && ok || fail "record check"
import json, math, sys
r = json.loads(open(sys.argv[1]).read())
assert r["status"] == "ok", r
assert r["model"] == "cnn" and r["size"] == "tiny" and r["dataset"] == "fashion-mnist", r
assert r["batch"] == 128 and r["steps"] == 6 and r["optimizer"] == "sgd", r
assert r["params"] == 77754, r["params"]
assert r["eval_images"] == 300, r
assert 0.0 <= r["eval_accuracy"] <= 1.0 and math.isfinite(r["eval_loss"]), r
assert r["tokens_per_sec"] is None and r["samples_per_sec"] > 0, r
assert r["initial_loss"] > 2.0 and r["final_loss"] < r["initial_loss"] + 0.5, r
assert r["epoch_s_extrapolated"] is True and r["steps_per_epoch"] == 469, r  # 60000 / 128 with the loader's wrap remainder policy
assert r["flops_per_step"] == 128 * 55849728.0, r["flops_per_step"]  # 3 x 2 x 9.31M MACs per image
PY
fi

# same seed, same losses (bitwise: the JSON prints 17 significant digits)
"$AMPTUNE" train --model cnn --steps 3 --warmup-steps 0 --eval-images 0 --batch 32 --json --quiet >"$tmp/a.json" 2>/dev/null
"$AMPTUNE" train --model cnn --steps 3 --warmup-steps 0 --eval-images 0 --batch 32 --json --quiet >"$tmp/b.json" 2>/dev/null
if [ "$(field "$tmp/a.json" loss_curve)" = "$(field "$tmp/b.json" loss_curve)" ] && [ -n "$(field "$tmp/a.json" loss_curve)" ]; then ok; else fail "same seed gave different loss curves"; fi

# dynamic loss scaling (on by default for fp16 only) is exact in fp32: scaling by a power of two
# and removing it again changes no bit, so the curve equals the unscaled one; the record says so
"$AMPTUNE" train --model cnn --steps 3 --warmup-steps 0 --eval-images 0 --batch 32 --json --quiet \
	--loss-scaling on --loss-scale-init 1024 >"$tmp/s.json" 2>/dev/null
python3 - "$tmp/a.json" "$tmp/s.json" <<'PY' && ok || fail "loss scaling changed the fp32 cnn curve"
import json, sys
a, s = (json.loads(open(f).read()) for f in sys.argv[1:])
assert s["status"] == "ok" and s["loss_curve"] == a["loss_curve"], (a["loss_curve"], s["loss_curve"])
assert s["loss_scale_skips"] == 0 and s["loss_scale_final"] == 1024 and "loss_scale_final" not in a, s
PY

# adamw runs too, and resnet's parameter count matches --help
expect 0 "adamw" -- --model cnn --optimizer adamw --steps 2 --warmup-steps 0 --eval-images 0 --batch 16
"$AMPTUNE" train --model cnn --size resnet --steps 1 --warmup-steps 0 --eval-images 0 --batch 2 --json --quiet >"$tmp/r.json" 2>/dev/null
"$AMPTUNE" train --help >"$tmp/help"
# the SGD learning rate defaults per preset (resnet diverges in short runs at tiny's 0.2)
if [ "$(field "$tmp/rec.json" lr)" = 0.2 ] && [ "$(field "$tmp/r.json" lr)" = 0.05 ]; then ok; else fail "default sgd lr: tiny $(field "$tmp/rec.json" lr), resnet $(field "$tmp/r.json" lr)"; fi
for pair in "$tmp/rec.json:77,754" "$tmp/r.json:11,172,810"; do
	f=${pair%%:*} want=${pair#*:}
	got=$(field "$f" params | python3 -c "import sys; print(f'{int(sys.stdin.read()):,}')")
	if [ "$got" = "$want" ] && grep -qF "($want params)" "$tmp/help"; then ok; else fail "params $got vs help $want"; fi
done

# usage errors: exit 64 with the reason
expect 64 "option '--size' expects tiny or resnet for --model cnn, got 'small'" -- --model cnn --size small
expect 64 "option '--optimizer sgd' is for --model cnn" -- --optimizer sgd
expect 64 "option '--optimizer' expects adamw or sgd, got 'lion'" -- --model cnn --optimizer lion
expect 64 "option '--seq' is for --model gpt" -- --model cnn --seq 5
expect 64 "option '--eval-images' is for --model cnn" -- --eval-images 10
expect 64 "option '--eval-batches' is for --model gpt" -- --model cnn --eval-batches 3
expect 64 "option '--momentum' is for '--optimizer sgd'" -- --model cnn --optimizer adamw --momentum 0.5
expect 64 "option '--eval-images' expects an integer" -- --model cnn --eval-images some
expect 64 "option '--eval-images' asks for 20000 test images, but data 'fashion-mnist' has 10000 (leave it out to evaluate on all of them)" -- \
	--model cnn --steps 1 --eval-images 20000

# a memory limit the model does not fit in is an out-of-memory point (exit 75), as on a smaller card
expect 75 "out of memory on 'cpu': need" -- --model cnn --device-mem-limit 1M --steps 5 --eval-images 0

# data errors: exit 65 naming the file (and the offset where it applies)
expect 65 "image directory '$tmp/none' does not exist" -- --model cnn --data "$tmp/none"
mkdir -p "$tmp/three" && touch "$tmp/three/train-images-idx3-ubyte.gz" "$tmp/three/train-labels-idx1-ubyte" "$tmp/three/t10k-images-idx3-ubyte.gz"
expect 65 "image directory '$tmp/three' has no 't10k-labels-idx1-ubyte.gz' nor 't10k-labels-idx1-ubyte' (it needs the four IDX files" -- --model cnn --data "$tmp/three"
mkdir -p "$tmp/bad"
printf '\x00\x00\x08\x01\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c' >"$tmp/bad/imgs"
printf '\x00\x00\x08\x01\x00\x00\x00\x02\x03\x04' >"$tmp/bad/labels"
expect 65 "IDX images '$tmp/bad/imgs' has wrong dimensions: 1 at byte offset 3, expected 3" -- --model cnn --data "idx:$tmp/bad/imgs,$tmp/bad/labels"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c\x07\x07' | gzip >"$tmp/bad/imgs.gz"
expect 65 "IDX images '$tmp/bad/imgs.gz' is truncated: its header declares 2 images of 28x28, 1568 bytes from byte offset 16, but it ends at byte offset 18 (decompressed)" -- --model cnn --data "idx:$tmp/bad/imgs.gz,$tmp/bad/labels"
# images or labels that do not fit the model: the file and the byte offset, as the reader finds them
printf '\x00\x00\x08\x03\x00\x00\x00\x01\x00\x00\x00\x20\x00\x00\x00\x20' >"$tmp/bad/i32"
head -c 1024 /dev/zero >>"$tmp/bad/i32"
printf '\x00\x00\x08\x01\x00\x00\x00\x01\x03' >"$tmp/bad/l1"
expect 65 "IDX images '$tmp/bad/i32' has wrong dimensions: 32x32 images at byte offset 8, expected 28x28" -- \
	--model cnn --data "idx:$tmp/bad/i32,$tmp/bad/l1"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c' >"$tmp/bad/i28"
head -c 1568 /dev/zero >>"$tmp/bad/i28"
printf '\x00\x00\x08\x01\x00\x00\x00\x02\x01\xff' >"$tmp/bad/l255"
expect 65 "IDX labels '$tmp/bad/l255': label 255 at byte offset 9 is not a class below 10" -- \
	--model cnn --data "idx:$tmp/bad/i28,$tmp/bad/l255"
expect 64 "option '--data' names text ('fortunes'); the cnn model trains on images" -- --model cnn --data fortunes
expect 65 "cnn data '$tmp/bad/imgs' is a file: give a directory of IDX files (train-* and t10k-*) or idx:IMAGES,LABELS[,VAL_IMAGES,VAL_LABELS]" -- --model cnn --data "$tmp/bad/imgs"

# the summary line leaves out what was not measured: no "eval nan" without evaluation; the epoch says how it was got
"$AMPTUNE" train --model cnn --data synthetic-images:64 --steps 3 --warmup-steps 1 --batch 8 --eval-images 0 \
	--threads 1 --log-every 0 >/dev/null 2>"$tmp/err"
grep -q '^summary: cpu cnn tiny fp32 batch 8 | .* img/s | loss [0-9.]* -> [0-9.]* | epoch [0-9.]* s (extrapolated) |' "$tmp/err" &&
	! grep -q nan "$tmp/err" && ok || fail "cnn summary without evaluation: $(cat "$tmp/err")"
"$AMPTUNE" train --model cnn --data synthetic-images:64 --steps 3 --warmup-steps 1 --batch 8 --eval-images 0 \
	--threads 1 --quiet --json >"$tmp/noeval.json" 2>/dev/null
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['eval_images'] == 0 and r['eval_loss'] is None, r" \
	"$tmp/noeval.json" && ok || fail "--eval-images 0 is not recorded as 0: $(cat "$tmp/noeval.json")"
"$AMPTUNE" train --model cnn --data synthetic-images:64 --epochs 1 --warmup-steps 1 --batch 8 --eval-images 8 \
	--threads 1 --log-every 0 >/dev/null 2>"$tmp/err"
grep -q '^summary: .*, eval [0-9.]*, accuracy [0-9.]*% | epoch 0\.[0-9][0-9][0-9] s (measured) |' "$tmp/err" &&
	grep -q '^eval: loss [0-9.]*, accuracy [0-9.]*% over 8 test images$' "$tmp/err" && ok ||
	fail "cnn summary of a measured epoch: $(cat "$tmp/err")"

# SIGINT while evaluating: 130 and an interrupted record, not a full evaluation and "ok"
# (resnet over all 10,000 test images takes minutes on one thread; the signal comes once
# training has logged its last step)
"$AMPTUNE" train --model cnn --size resnet --steps 1 --warmup-steps 0 --batch 4 --eval-images all --threads 1 \
	--workers 0 --json >"$tmp/int" 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 1 600); do grep -q "^step     1/1" "$tmp/int.err" && break; sleep 0.1; done
sleep 0.5
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] && ok || fail "SIGINT while evaluating: exit $rc ($(tail -2 "$tmp/int.err"))"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['status'] == 'interrupted' and 'while evaluating' in r['message'], r['message']" \
	"$tmp/int" && ok || fail "record of SIGINT while evaluating: $(cat "$tmp/int")"

echo "cli_cnn: $passes passed, $fails failed"
[ "$fails" = 0 ]
