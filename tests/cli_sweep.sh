#!/usr/bin/env bash
# `amptune sweep` from the outside: usage and plan errors, --list, --dry-run,
# and real sweeps in which points end ok, oom, unsupported, diverged, timeout
# and failed, each recorded while the sweep carries on.
NAME=cli_sweep
. "${SRC:?SRC must name the source tree}/tests/helpers/sweep.sh"

# ---- usage and plan errors: exit 64 with the file and line ----
expect 64 "amptune sweep: expected a plan file" -- sweep
expect 64 "amptune sweep: unknown option '--bogus'" -- sweep p.ini --bogus
expect 64 "amptune sweep: option '--out DIR' is required to run a sweep" -- sweep p.ini
expect 64 "amptune sweep: options '--list' and '--dry-run' cannot be used together" -- sweep p.ini --list --dry-run
expect 64 "amptune sweep: option '--shard' expects I/N with 0 <= I < N <= 100000, got '3/3'" -- sweep p.ini --list --shard 3/3
expect 64 "option '--device-mem-limit' expects a positive byte count" -- sweep p.ini --list --device-mem-limit 1Q
expect 64 "amptune sweep: cannot read plan 'missing.ini': No such file or directory" -- sweep missing.ini --list
plan p.ini t "batch_sizes = 4" "bogus = 1"
expect 64 "^amptune sweep: p.ini:14: unknown key 'bogus' in \[sweep\]$" -- sweep p.ini --list
plan p.ini t "batch_sizes ="
expect 64 "^amptune sweep: p.ini:13: 'batch_sizes' is empty$" -- sweep p.ini --list
plan p.ini t "batch_sizes = 4" "[gpu]"
expect 64 "^amptune sweep: p.ini:14: unknown section \[gpu\] \(expected \[sweep\] or \[prices\]\)$" -- sweep p.ini --dry-run
plan p.ini t "batch_sizes = 4"
expect 64 "^amptune sweep: --set 'batch_sizes=4,x': 'batch_sizes' expects integers in \[1, 65536\], got 'x'$" -- \
	sweep p.ini --list --set batch_sizes=4,x
# a value the copy DIR/plan.ini could not hold is refused, not written to read back as another sweep
expect 64 "^amptune sweep: --set 'data=txt ;v2': the value holds ';' after white space, which starts a comment in a plan file \(and so in the copy DIR/plan.ini\)$" -- \
	sweep p.ini --out semi --set 'data=txt ;v2'
expect 64 "^amptune sweep: --set 'data=nl\\\\nseed = 5': the value holds a line break, which a plan file \(and so the copy DIR/plan.ini\) cannot hold$" -- \
	sweep p.ini --out nl --set "data=$(printf 'nl\nseed = 5')"
expect 64 "^amptune sweep: --set 'prices.a:b=1': the \[prices\] key holds ':'" -- sweep p.ini --out colon --set prices.a:b=1
SLURM_ARRAY_TASK_ID=1 "$A" sweep p.ini --list >/dev/null 2>"$T/err"
same "SLURM_ARRAY_TASK_ID alone" "$?:$(cat "$T/err")" \
	"64:amptune sweep: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT must be set together
see 'amptune help sweep'"
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=1 "$A" sweep p.ini --list >/dev/null 2>"$T/err"
same "SLURM task out of range" "$?" 64
grep -q "got '1/1'" "$T/err" && ok || bad "SLURM task out of range: $(cat "$T/err")"
SLURM_ARRAY_TASK_ID=7 SLURM_ARRAY_TASK_MIN=3 SLURM_ARRAY_TASK_MAX=7 SLURM_ARRAY_TASK_COUNT=2 \
	"$A" sweep p.ini --list >/dev/null 2>"$T/err"
same "SLURM array with gaps" "$?:$(head -1 "$T/err")" \
	"64:amptune sweep: the job array 3-7 has 2 tasks, not a range of consecutive ids; give each task --shard I/N"
SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=3 SLURM_ARRAY_TASK_MAX=3 SLURM_ARRAY_TASK_COUNT=1 \
	"$A" sweep p.ini --list >/dev/null 2>"$T/err"
same "SLURM re-submitted single task" "$?:$(head -1 "$T/err")" \
	"64:amptune sweep: the job array starts at task 3, so its task ids do not number the shards (a re-submitted part of an array?); give each task --shard I/N"
# nothing was created by failed or listing commands
same "no directory created" "$(find . -mindepth 1 -type d)" ""

# ---- --list: the grid in its documented order, ids as columns ----
plan g.ini grid "precisions = fp32, bf16" "batch_sizes = 4, 8" "workers = 0, 2" "prefetch = 2" "repeats = 2"
"$A" sweep g.ini --list >list.txt
same "--list exit" "$?" 0
same "--list header" "$(head -1 list.txt)" "point id           rep device precision batch    seq workers prefetch"
same "--list rows" "$(awk 'NR > 1 { print $1, $3, $4, $5, $6, $7, $8, $9 }' list.txt | tr '\n' ';')" \
	"0 1 cpu fp32 4 32 0 2;1 1 cpu fp32 4 32 2 2;2 1 cpu fp32 8 32 0 2;3 1 cpu fp32 8 32 2 2;4 1 cpu bf16 4 32 0 2;5 1 cpu bf16 4 32 2 2;6 1 cpu bf16 8 32 0 2;7 1 cpu bf16 8 32 2 2;0 2 cpu fp32 4 32 0 2;1 2 cpu fp32 4 32 2 2;2 2 cpu fp32 8 32 0 2;3 2 cpu fp32 8 32 2 2;4 2 cpu bf16 4 32 0 2;5 2 cpu bf16 4 32 2 2;6 2 cpu bf16 8 32 0 2;7 2 cpu bf16 8 32 2 2;"
same "repeats share ids" "$(awk 'NR > 1 { print $2 }' list.txt | sort | uniq -c | awk '{ print $1 }' | sort -u)" "2"
same "ids are 12 hex digits" "$(awk 'NR > 1 { print $2 }' list.txt | grep -cvE '^[0-9a-f]{12}$')" 0
"$A" sweep g.ini --list --set repeats=1 --set batch_sizes=8,4 >list2.txt
same "ids do not depend on the grid position" \
	"$(awk 'NR > 1 { print $2 }' list2.txt | sort)" "$(awk 'NR > 1 && $3 == 1 { print $2 }' list.txt | sort)"

# ---- --dry-run: validates data and devices, runs and writes nothing ----
"$A" sweep g.ini --dry-run --out dry >dry.txt 2>"$T/err"
same "--dry-run exit" "$?" 0
same "--dry-run writes nothing" "$(ls -d dry 2>/dev/null)" ""
same "--dry-run runnable" "$(grep -c '  run on cpu$' dry.txt)" 8
same "--dry-run unsupported" "$(grep -c "  unsupported here: precision 'bf16' is not available on the cpu backend" dry.txt)" 8
same "--dry-run total" "$(tail -1 dry.txt)" "plan 'grid' is valid: 16 points, 16 to run, 8 can run here"
plan d.ini t "batch_sizes = 4" "data = $T/no-such-text"
expect 65 "amptune sweep: cannot open text data '$T/no-such-text'" -- sweep d.ini --dry-run
# a point the run would record oom-predicted says so in the dry run
plan m.ini m "batch_sizes = 2, 64" "device_mem_limit = 30M"
"$A" sweep m.ini --dry-run >m.txt 2>&1
same "--dry-run predicted oom" "$?:$(grep -c '  predicted out of memory: the estimate (amptune estimate) is [0-9.]* MiB, over the 30.0 MiB of device_mem_limit' m.txt):$(tail -1 m.txt)" \
	"0:1:plan 'm' is valid: 2 points, 2 to run, 1 can run here"
plan d.ini t "batch_sizes = 4" "precisions = bf16"
expect 69 "amptune sweep: no point of plan 't' can run on this machine" -- sweep d.ini --dry-run

# ---- a real sweep: ok, oom and unsupported in one grid; the sweep carries on ----
# tiny at batch 4 x seq 32 peaks at 18.1 MiB of backend memory, batch 8 at 23.4 MiB
# "THREADS", a word of the CPU's device_name ("... (1 threads)") case-insensitively, beats the kind "cpu"
plan s.ini statuses "precisions = fp32, bf16" "batch_sizes = 4, 8" "[prices]" "cpu = 0.5" "THREADS = 0.25"
"$A" sweep s.ini --out run --device-mem-limit 21M --no-predict >run.out 2>run.err
same "sweep exit" "$?" 0
same "one record per point, in grid order" "$(records run/results.jsonl | awk '{ print $1, $2 }')" \
	"$(listed s.ini --device-mem-limit 21M)"
same "statuses" "$(records run/results.jsonl | awk '{ print $3 }' | tr '\n' ' ')" "ok oom unsupported unsupported "
same "oom message" "$(sed -n 2p run/results.jsonl | field /dev/stdin message | sed -E 's/[0-9]+\.[0-9] (KiB|MiB)/N/g')" \
	"out of memory on 'cpu': need N, free N of the N limit"
same "sweep fields" "$(head -1 run/results.jsonl | field /dev/stdin sweep)" "statuses"
same "price" "$(head -1 run/results.jsonl | field /dev/stdin price_per_hour)" "0.25"
"$A" report run >/dev/null 2>&1
same "the report prices a point as the sweep recorded it" \
	"$(python3 -c 'import csv,sys; print([r["usd_per_hour"] for r in csv.DictReader(open(sys.argv[1]))][0])' run/results.csv)" \
	"0.25"
same "points' logs" "$(ls run/points | wc -l)" 4
id=$(head -1 run/results.jsonl | field /dev/stdin id)
grep -q "^\$ amptune train --model gpt --size tiny --data fortunes --steps 5 --warmup-steps 1 --device-mem-limit 22020096 --eval-batches 1 --threads 1 --device cpu --precision fp32 --batch 4 --seq 32 --json --id $id$" \
	"run/points/$id.log" && ok || bad "log of $id lacks the command line: $(head -3 "run/points/$id.log")"
grep -q "^== exit code 0 after" "run/points/$id.log" && ok || bad "log of $id lacks its footer"
grep -q "^name = statuses$" run/plan.ini && grep -q "^device_mem_limit = 22020096$" run/plan.ini && ok ||
	bad "plan copy: $(cat run/plan.ini)"
same "plain progress lines" "$(grep -c '^amptune sweep: \[[1-4]/4\] ' run.err)" 8

# ---- a plan in a deep directory, run with --set: the copy's long comment lines read back ----
deep=$(printf 'project_%.0s' $(seq 1 12))/$(printf 'experiments_%.0s' $(seq 1 10))
mkdir -p "$deep" && plan "$deep/plan.ini" deep "batch_sizes = 4" "; $(printf 'a long remark %.0s' $(seq 1 30))"
"$A" sweep "$deep/plan.ini" --out deep --set steps=3 --set warmup_steps=1 --set seed=7 >deep.out 2>&1
same "deep sweep exit" "$?" 0
[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' deep/plan.ini)" -gt 300 ] && ok ||
	bad "deep/plan.ini has no long line: $(head -2 deep/plan.ini)"
same "the copy runs as a plan" "$("$A" sweep deep/plan.ini --dry-run 2>&1 | tail -1)" \
	"plan 'deep' is valid: 1 point, 1 to run, 1 can run here"
"$A" report deep >/dev/null 2>&1 && ok || bad "report of deep: $("$A" report deep 2>&1 | tail -1)"
same "summary statuses" "$(grep -E '^4 points:' run.out)" "4 points: 1 ok, 1 oom, 2 unsupported"
grep -qE '^sweep overhead: [0-9.]+ s of [0-9.]+ s wall \([0-9.]+%\) outside the points' run.out && ok ||
	bad "no overhead line: $(cat run.out)"

# ---- without --no-predict the estimator keeps batch 8 from running: oom-predicted, no process, no log ----
"$A" sweep s.ini --out pred --device-mem-limit 21M >pred.out 2>pred.err
same "predicting sweep exit" "$?" 0
same "predicted statuses" "$(records pred/results.jsonl | awk '{ print $3 }' | tr '\n' ' ')" "ok oom-predicted unsupported unsupported "
same "predicted message" "$(sed -n 2p pred/results.jsonl | field /dev/stdin message)" \
	"predicted out of memory: the estimate (amptune estimate) is 23.4 MiB, over the 21.0 MiB of device_mem_limit; not run (--no-predict runs it)"
same "predicted point ran nothing" "$(ls pred/points | wc -l)" 3
same "predicted summary" "$(grep -E '^4 points:' pred.out)" "4 points: 1 ok, 1 oom-predicted, 2 unsupported"
"$A" report pred >/dev/null 2>pred.rep && ok || bad "report of a sweep with oom-predicted: $(cat pred.rep)"
# a price for a device the sweep lacks names the devices that ran, not the points that never opened one
"$A" report pred --price H100=3 >/dev/null 2>pred.rep
grep -q "(devices there: cpu '[^']*')$" pred.rep && ok || bad "--price for a missing device: $(cat pred.rep)"
# --dry-run --no-predict says the predicted point would run; the real rerun runs it, moving its record aside
same "--no-predict dry-run" "$("$A" sweep s.ini --out pred --device-mem-limit 21M --dry-run --no-predict | tail -1)" \
	"plan 'statuses' is valid: 4 points, 1 to run, 1 can run here"
predicted_line=$(sed -n 2p pred/results.jsonl)
# as if an earlier move was cut short after copying the record: it is not copied twice
printf '%s\n' "$predicted_line" >pred/results.jsonl.predicted
"$A" sweep s.ini --out pred --device-mem-limit 21M --no-predict >pred2.out 2>pred2.err
same "--no-predict rerun exit" "$?" 0
same "--no-predict rerun statuses" "$(records pred/results.jsonl | awk '{ print $3 }' | tr '\n' ' ')" "ok unsupported unsupported oom "
same "--no-predict moved record" "$(cat pred/results.jsonl.predicted)" "$predicted_line"
grep -q "^amptune sweep: --no-predict: 1 point recorded oom-predicted will run; 1 record moved to 'pred/results.jsonl.predicted'$" \
	pred2.err && ok || bad "--no-predict rerun note: $(cat pred2.err)"
same "--no-predict rerun logged the point" "$(ls pred/points | wc -l)" 4
"$A" report pred >/dev/null 2>pred.rep && ok || bad "report after --no-predict rerun: $(cat pred.rep)"
# the same command again: nothing to run, nothing duplicated
"$A" sweep s.ini --out run --device-mem-limit 21M >run2.out 2>run2.err
same "rerun exit" "$?" 0
same "rerun appends nothing" "$(wc -l <run/results.jsonl)" 4
grep -q "resuming 'statuses': 4 of 4 points already recorded" run2.err && ok || bad "rerun: $(cat run2.err)"
grep -q "^nothing to run: every point was already recorded$" run2.out && ! grep -q "sweep overhead" run2.out && ok ||
	bad "a sweep with nothing to run reports overhead: $(cat run2.out)"
# a cuda point where no GPU can run it gets its real status, not a prediction; and
# --device-mem-limit bounds the allocator's bytes (as train enforces it), not the GPU runtime's
# where no GPU is, a cuda point is not run and not recorded (the machine lacks it, not the point):
# the sweep exits 69 so that a job script sees the shard unfinished, and resuming where a GPU is runs it
if [ "$("$A" sweep s.ini --dry-run --set devices=cuda --set precisions=fp32 --set batch_sizes=8 | grep -c 'not run here: its device .cuda. is not here')" = 1 ]; then
	"$A" sweep s.ini --out nogpu --set devices=cpu,cuda --set precisions=fp32 --set batch_sizes=4 \
		--device-mem-limit 21M >nogpu.out 2>nogpu.err
	same "cuda point without a GPU: exit" "$?" 69
	same "cuda point without a GPU: only the cpu point recorded" "$(records nogpu/results.jsonl | awk '{ print $3 }')" "ok"
	same "cuda point without a GPU: summary" "$(grep -E '^2 points:' nogpu.out)" "2 points: 1 ok, 1 not run"
	grep -q "^amptune sweep: 1 point not run and not recorded (its device 'cuda' is not here: " nogpu.err && ok ||
		bad "cuda point without a GPU: message $(cat nogpu.err)"
	"$A" sweep s.ini --out nogpu --quiet --set devices=cpu,cuda --set precisions=fp32 --set batch_sizes=4 \
		--device-mem-limit 21M 2>/dev/null
	same "cuda point without a GPU: resumed, still not recorded" "$?:$(wc -l <nogpu/results.jsonl)" "69:1"
fi

# ---- diverged, timeout and failed ----
plan v.ini diverge "batch_sizes = 4" "lr = 10"
"$A" sweep v.ini --out div --quiet >div.out 2>&1
same "diverged exit and quiet" "$?:$(cat div.out)" "0:"
same "diverged" "$(records div/results.jsonl | awk '{ print $3 }')" "diverged"
grep -qE '"message":"training diverged at step [1-9][0-9]* of [0-9]+: loss' div/results.jsonl && ok || bad "diverged message: $(cat div/results.jsonl)"

# data a point could not open is a plan error before anything runs: no records that would keep
# the points from running once the plan is fixed
plan bad-data.ini bd "batch_sizes = 4" "data = $T/no-such.txt"
"$A" sweep bad-data.ini --out bd >/dev/null 2>bd.err
same "missing data before running" "$?:$([ -e bd/results.jsonl ] && echo written)" "65:"
grep -q "cannot open text data '$T/no-such.txt'" bd.err && ok || bad "missing data message: $(cat bd.err)"
plan kind.ini kd "batch_sizes = 4" "model = cnn" "seq = " "eval_batches = "
sed -i '/^seq = $/d; /^eval_batches = $/d' kind.ini
"$A" sweep kind.ini --out kd >/dev/null 2>kd.err
same "wrong data kind before running" "$?:$([ -e kd/results.jsonl ] && echo written)" "64:"
grep -q "kind.ini:5: 'data' names text ('fortunes'); model 'cnn' trains on images" kd.err && ok || bad "data kind message: $(cat kd.err)"

plan o.ini slow "batch_sizes = 4" "steps = 100000" "time_limit_s = 0.5"
"$A" sweep o.ini --out slow --quiet
same "timeout" "$(records slow/results.jsonl | awk '{ print $3 }')" "timeout"
same "timeout message" "$(field slow/results.jsonl message | sed -E 's/[0-9.]+ s$/N s/')" \
	"exceeded time_limit_s 0.5: stopped after N s"
wall=$(field slow/results.jsonl wall_s)
awk -v w="$wall" 'BEGIN { exit !(w >= 0.5 && w < 4) }' && ok || bad "timeout wall_s $wall"

# text that opens (the plan's check passes) but is too short for a batch: each point fails on its own
head -c 600 /usr/share/games/fortunes/fortunes >"$T/short.txt"
plan f.ini broken "batch_sizes = 4, 8" "data = $T/short.txt"
"$A" sweep f.ini --out fail --quiet
same "failed, both points" "$(records fail/results.jsonl | awk '{ print $3 }' | tr '\n' ' ')" "failed failed "
same "failed message" "$(head -1 fail/results.jsonl | field /dev/stdin message)" \
	"exit code 65: text data '$T/short.txt': the validation split has 60 bytes, 1 windows of 32+1 bytes; one batch of 4 needs 129 bytes (use a smaller --batch or --seq, or more text)"
same "failed stderr tail" "$(head -1 fail/results.jsonl | field /dev/stdin stderr_tail)" \
	"amptune train: text data '$T/short.txt': the validation split has 60 bytes, 1 windows of 32+1 bytes; one batch of 4 needs 129 bytes (use a smaller --batch or --seq, or more text)\\n"

# ---- loader axes reach train: workers and prefetch as set, data latency passed on ----
plan l.ini loader "batch_sizes = 4" "workers = 0, 2" "prefetch = 3" "data_latency_us = 100"
"$A" sweep l.ini --out loader --quiet
same "loader axes run" "$(records loader/results.jsonl | awk '{ print $3 }' | tr '\n' ' ')" "ok ok "
same "recorded workers" "$(while read -r line; do echo "$line" | grep -o '"workers":[0-9]*' | head -1; done \
	<loader/results.jsonl | tr '\n' ' ')" '"workers":0 "workers":2 '
same "recorded prefetch" "$(head -1 loader/results.jsonl | grep -o '"prefetch":[0-9]*' | head -1)" '"prefetch":3'
grep -q -- "--data-latency-us 100 --device cpu --precision fp32 --batch 4 --seq 32 --workers 2 --prefetch 3 --json" \
	loader/points/*.log && ok || bad "train command line lacks the loader options"

# ---- help ----
"$A" help sweep >help.txt && grep -q "^usage: amptune sweep PLAN.ini --out DIR" help.txt && ok || bad "help sweep"
expect 64 "amptune sweep: cannot read plan '$T': it is a directory, not a plan file" -- sweep "$T" --list
# a trailing slash on --out does not double in the paths shown
plan slash.ini sl "batch_sizes = 4" "steps = 2" "warmup_steps = 1"
touch afile
expect 64 "amptune sweep: option '--out' names 'afile', which is a file, not a sweep directory" -- sweep slash.ini --out afile
expect 64 "amptune sweep: cannot create directory 'afile/sub': a part of it is a file" -- sweep slash.ini --out afile/sub
"$A" sweep slash.ini --out slash/ --quiet >/dev/null 2>&1
"$A" report slash/ >slash.out 2>&1
same "trailing slash" "$?:$(tail -1 slash.out)" "0:wrote slash/report.md, slash/report.html and slash/results.csv"
"$A" help merge >help.txt && grep -q "^usage: amptune merge DIR" help.txt && ok || bad "help merge"
"$A" --help | grep -qE "^  sweep +run a plan's grid" && ok || bad "sweep missing from --help"


# the cnn's sizes and data are validated by the plan and --dry-run, with file:line
printf '[sweep]\nname = c\nmodel = cnn\nsize = huge\ndata = fashion-mnist\nsteps = 5\nbatch_sizes = 8\ndevices = cpu\nprecisions = fp32\n' >cnn.ini
"$A" sweep cnn.ini --dry-run >/dev/null 2>err.txt
same "cnn size" "$?:$(head -1 err.txt)" "64:amptune sweep: cnn.ini:4: 'size' expects tiny or resnet for model 'cnn', got 'huge'"
sed -i 's/size = huge/size = tiny/; s/data = fashion-mnist/data = fortunes/' cnn.ini
"$A" sweep cnn.ini --dry-run >/dev/null 2>err.txt
same "cnn data kind" "$?:$(head -1 err.txt)" "64:amptune sweep: cnn.ini:5: 'data' names text ('fortunes'); model 'cnn' trains on images"
sed -i 's/data = fortunes/data = fashion-mnist/' cnn.ini
"$A" sweep cnn.ini --dry-run >out.txt 2>err.txt
same "cnn plan valid" "$?:$(tail -1 out.txt)" "0:plan 'c' is valid: 1 point, 1 to run, 1 can run here"
# images of another shape than the presets' are refused before any point runs, as train refuses them
python3 -c 'import struct,sys; open("i8", "wb").write(struct.pack(">iiii", 0x803, 16, 8, 8) + bytes(16 * 64)); open("l8", "wb").write(struct.pack(">ii", 0x801, 16) + bytes(16))'
sed -i "s|data = fashion-mnist|data = idx:$T/i8,$T/l8|" cnn.ini
"$A" sweep cnn.ini --dry-run >/dev/null 2>err.txt
same "cnn image shape" "$?:$(head -1 err.txt)" "65:amptune sweep: IDX images '$T/i8' has wrong dimensions: 8x8 images at byte offset 8, expected 28x28"
# eval_images bounds a cnn point's evaluation (train's --eval-images); it is the cnn's, not the gpt's
sed -i "s|data = idx:.*|data = fashion-mnist|; s|steps = 5|steps = 3\nwarmup_steps = 1\neval_images = 100|" cnn.ini
"$A" sweep cnn.ini --out cnnrun --quiet --set threads=1 --set workers=0 && ok || bad "cnn sweep with eval_images"
same "eval_images reaches train" "$(field cnnrun/results.jsonl eval_images)" 100
grep -q -- "--eval-images 100" cnnrun/points/*.log && ok || bad "no --eval-images in the point's command line"
plan g.ini t "batch_sizes = 4" "eval_images = 10"
expect 64 "^amptune sweep: g.ini:14: 'eval_images' does not apply to model 'gpt'$" -- sweep g.ini --list
# more test images than the data has: a plan error before any run, in --dry-run too
printf '[sweep]\nname = ev\nmodel = cnn\nsize = tiny\ndata = synthetic-images:64\nsteps = 2\neval_images = 100\ndevices = cpu\nprecisions = fp32\nbatch_sizes = 8\n' >ev.ini
for how in --dry-run "--out evrun"; do
	expect 64 "^amptune sweep: ev.ini:7: 'eval_images' asks for 100 test images, but data 'synthetic-images:64' has 11 \(leave it out to evaluate on all of them\)$" -- \
		sweep ev.ini $how
done
same "no directory for a refused plan" "$(ls -d evrun 2>/dev/null)" ""

# with 'epochs', a given warm-up is checked against each point's steps once the data is open (1000
# images: 0.2 epochs is 7 steps at batch 32, 2 at batch 128), before anything runs or is written
printf '[sweep]\nname = e\nmodel = cnn\nsize = tiny\ndata = synthetic-images:1000\nepochs = 0.2\nwarmup_steps = 2\nbatch_sizes = 32, 128\ndevices = cpu\nprecisions = fp32\n' >ep.ini
id128=$("$A" sweep ep.ini --list | awk '$6 == 128 { print $2 }')
expect 64 "^amptune sweep: ep.ini:7: 'warmup_steps' \(2\) must be below the steps each point trains: 'epochs' 0.2 gives 2 steps at batch 128 \(point $id128\); lower it or train longer$" -- sweep ep.ini --dry-run
expect 64 "'warmup_steps' \(2\) must be below" -- sweep ep.ini --out ep
same "nothing written for a bad warm-up" "$(ls -d ep 2>/dev/null)" ""
expect 64 "^amptune sweep: --set 'warmup_steps=3': 'warmup_steps' \(3\) must be below" -- sweep ep.ini --dry-run --set warmup_steps=3
expect 64 "^amptune sweep: --set 'epochs=1e6': 'epochs' 1e\+06 gives 1000000000 steps at batch 1 \(point [0-9a-f]*\), more than 100000000$" -- sweep ep.ini --dry-run --set epochs=1e6 --set warmup_steps=1 --set batch_sizes=1
# a batch larger than the data fails that point alone, and --dry-run says so
"$A" sweep ep.ini --dry-run --set warmup_steps=1 --set batch_sizes=32,2000 >ep.txt 2>&1
same "batch beyond the data" "$?:$(grep -c "fails here: .*the training split has 1000 images; one batch needs 2000" ep.txt):$(tail -1 ep.txt)" \
	"0:1:plan 'e' is valid: 2 points, 2 to run, 1 can run here"

# ---- with every field explicit and no other key set, `amptune train` with a point's settings
# records the point's id: a short gpt run (whose default warm-up train lowers) and the cnn
# (its own defaults, no seq) as well ----
# point_id LINE...: the id --list gives the one point of a plan of these lines
point_id() {
	printf '[sweep]\nname = ids\nseed = 1337\ndevices = cpu\nprecisions = fp32\nworkers = 2\nprefetch = 4\n' >id.ini
	printf '%s\n' "$@" >>id.ini
	"$A" sweep id.ini --list | awk 'NR == 2 { print $2 }'
}
train_id() { "$A" train --device cpu --precision fp32 --quiet --json "$@" 2>/dev/null | field /dev/stdin id; }
for steps in 1 2 3 4; do
	same "train's id of a gpt point, steps = $steps" "$(train_id --steps $steps --batch 4 --seq 32)" \
		"$(point_id "model = gpt" "size = tiny" "data = fortunes" "steps = $steps" "batch_sizes = 4" "seq = 32")"
done
same "train's id of a cnn point" "$(train_id --model cnn --steps 10 --batch 4)" \
	"$(point_id "model = cnn" "size = tiny" "data = fashion-mnist" "steps = 10" "batch_sizes = 4")"
same "train's id of a short cnn point with eval_images" "$(train_id --model cnn --steps 2 --batch 4 --eval-images 10)" \
	"$(point_id "model = cnn" "size = tiny" "data = fashion-mnist" "steps = 2" "batch_sizes = 4" "eval_images = 10")"
finish
