#!/usr/bin/env bash
# Sharding and merge: 3 shards (by --shard and by SLURM's variables) merged
# give the same points, statuses and order as one unsharded run; merge keeps
# identical duplicates once, refuses conflicting ones and other plans, and
# ignores a torn last line. Shards of different counts never run at once in
# one directory.
NAME=cli_sweep_shard
. "${SRC:?SRC must name the source tree}/tests/helpers/sweep.sh"

plan s.ini shards "precisions = fp32, bf16" "batch_sizes = 2, 4, 6" "repeats = 2"
listed s.ini >all.txt
same "12 runs" "$(wc -l <all.txt)" 12

# ---- which points a shard runs ----
for i in 0 1 2; do
	listed s.ini --shard $i/3 >shard$i.txt
	same "shard $i: every 3rd run from $i" "$(cat shard$i.txt)" "$(awk -v i=$i '(NR - 1) % 3 == i' all.txt)"
	same "SLURM task $i of 3" "$(SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=3 "$A" sweep s.ini --list | awk 'NR > 1 { print $2, $3 }')" \
		"$(cat shard$i.txt)"
	same "SLURM task $((i + 1)) of 1-3" \
		"$(SLURM_ARRAY_TASK_ID=$((i + 1)) SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=3 SLURM_ARRAY_TASK_COUNT=3 "$A" sweep s.ini --list |
			awk 'NR > 1 { print $2, $3 }')" "$(cat shard$i.txt)"
done
same "--shard wins over SLURM's variables" \
	"$(SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=3 "$A" sweep s.ini --list --shard 0/3 | awk 'NR > 1 { print $2, $3 }')" \
	"$(cat shard0.txt)"

SLURM_ARRAY_TASK_ID=x SLURM_ARRAY_TASK_COUNT=3 "$A" sweep s.ini --list >/dev/null 2>slurm.err
same "bad SLURM variable" "$?:$(head -1 slurm.err)" \
	"64:amptune sweep: environment variable 'SLURM_ARRAY_TASK_ID' expects an integer in [0, 10000000], got 'x'"

# ---- the job array's task script: its threads are the CPUs SLURM gave it, over an inherited OMP_NUM_THREADS ----
OMP_NUM_THREADS=1 SLURM_CPUS_PER_TASK=3 SLURM_ARRAY_TASK_ID=1 AMPTUNE=$A \
	bash "$SRC/sweeps/slurm/array.sbatch" s.ini task 12 --list >task.out 2>&1
same "array task: exit, banner and its shard" "$?:$(head -1 task.out | sed 's/ on [^ ]* / on HOST /')" \
	"0:amptune-sweep: job ?_1 shard 1/12 on HOST restart 0 gpus '' threads 3"

# ---- one unsharded run, and three shards (two by --shard, one as a SLURM task) ----
"$A" sweep s.ini --out whole --quiet
same "unsharded exit" "$?" 0
"$A" sweep s.ini --out sharded --shard 0/3 --quiet &
p0=$!
"$A" sweep s.ini --out sharded --shard 1/3 --quiet &
p1=$!
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=3 "$A" sweep s.ini --out sharded --no-progress >shard2.out 2>&1
same "SLURM shard exit" "$?" 0
wait $p0
same "shard 0 exit" "$?" 0
wait $p1
same "shard 1 exit" "$?" 0
# one log per run, so repeats running at once in two shards never share one
for id in $(awk '{ print $1 }' all.txt | sort -u); do
	same "$id: repeat 1's log holds repeat 1 alone" \
		"$(grep '^== amptune sweep' "sharded/points/$id.log" | grep -o 'repeat [0-9]/2' | sort | uniq -c | tr -s ' ')" \
		" 1 repeat 1/2"
	same "$id: repeat 2's log holds repeat 2 alone" \
		"$(grep '^== amptune sweep' "sharded/points/$id.r2.log" | grep -o 'repeat [0-9]/2' | sort | uniq -c | tr -s ' ')" \
		" 1 repeat 2/2"
done
grep -q "^shard 2/3 done; when every shard is: amptune merge sharded$" shard2.out && ok || bad "shard hint: $(cat shard2.out)"
same "shards write only shard files" "$(cd sharded/shards && echo *.jsonl)" "0.jsonl 1.jsonl 2.jsonl"
same "no results.jsonl before merge" "$(ls sharded/results.jsonl 2>/dev/null)" ""
for i in 0 1 2; do
	same "shard $i records" "$(records sharded/shards/$i.jsonl | awk '{ print $1, $2 }')" "$(cat shard$i.txt)"
done

"$A" merge sharded >merge.out 2>&1
same "merge exit" "$?" 0
same "merge message" "$(cat merge.out)" \
	"amptune merge: 12 records from 3 files into 'sharded/results.jsonl'; 0 identical duplicates dropped"
same "merged = unsharded (points, statuses, order)" "$(records sharded/results.jsonl)" "$(records whole/results.jsonl)"
same "statuses" "$(records whole/results.jsonl | awk '{ print $3 }' | sort | uniq -c | awk '{ print $1, $2 }' | tr '\n' ' ')" \
	"6 ok 6 unsupported "
# merging again changes nothing: the old results.jsonl only repeats the shards
cp sharded/results.jsonl merged1.jsonl
"$A" merge sharded >merge.out 2>&1
same "merge again" "$?:$(cat merge.out)" \
	"0:amptune merge: 12 records from 4 files into 'sharded/results.jsonl'; 12 identical duplicates dropped"
cmp -s merged1.jsonl sharded/results.jsonl && ok || bad "merge is not idempotent"
# an unsharded run over the merged directory has nothing to do
"$A" sweep s.ini --out sharded --quiet
same "nothing left to run" "$(wc -l <sharded/results.jsonl)" 12

# ---- merge SRC... --out DIR ----
"$A" merge sharded/shards/0.jsonl sharded/shards/1.jsonl sharded/shards/0.jsonl --out part >merge.out 2>&1
same "merge files" "$?:$(cat merge.out)" \
	"0:amptune merge: 8 records from 3 files into 'part/results.jsonl'; 4 identical duplicates dropped"
same "merged files in grid order" "$(records part/results.jsonl | awk '{ print $1, $2 }')" \
	"$(grep -vxFf shard2.txt all.txt)"
"$A" merge sharded --out both >/dev/null 2>&1
same "merge a directory elsewhere" "$?:$(records both/results.jsonl)" "0:$(records sharded/results.jsonl)"
cmp -s both/plan.ini sharded/plan.ini && ok || bad "merge did not copy plan.ini"

# a shard that has not run yet: merged, with a warning naming how many runs have no record
mkdir -p partial/shards && cp sharded/plan.ini partial/ && cp sharded/shards/0.jsonl sharded/shards/1.jsonl partial/shards/
"$A" merge partial >merge.out 2>merge.err
same "merge with a shard missing" "$?:$(cat merge.out)" \
	"0:amptune merge: 8 records from 2 files into 'partial/results.jsonl'; 0 identical duplicates dropped"
grep -qE "^amptune merge: warning: 4 of the 12 runs of plan '[^']+' have no record \(the first: point [0-9]+, id [0-9a-f]{12}, repeat 1\): a shard still running, failed or never run\? Merge again when it is done$" merge.err &&
	ok || bad "merge warning for a missing shard: $(cat merge.err)"

# two runs of the same points conflict: their measurements differ
expect 65 "^amptune merge: conflicting records of point '[0-9a-f]+' repeat 1: 'whole/results.jsonl' line 1 and 'sharded/results.jsonl' line 1 differ$" -- \
	merge whole sharded --out twice
same "a failed merge leaves no --out directory behind" "$(ls -d twice 2>/dev/null)" ""
# conflicting records of the same point are refused, and nothing is written
mkdir -p other
sed '1s/"wall_s":[0-9.e+-]*/"wall_s":99/' whole/results.jsonl >other/results.jsonl
id=$(head -1 whole/results.jsonl | field /dev/stdin id)
expect 65 "^amptune merge: conflicting records of point '$id' repeat 1: 'whole/results.jsonl' line 1 and 'other/results.jsonl' line 1 differ$" -- \
	merge whole other/results.jsonl --out conflict
same "conflict writes nothing" "$(ls -d conflict 2>/dev/null)" ""
# of a new --out path it removes only what it created: not a directory that was there before
mkdir -p existing
expect 65 "conflicting records" -- merge whole other/results.jsonl --out existing/new/deeper
same "only the directories it created are removed" "$(ls -A existing)" ""

# records without a repeat (train --json) name no run: every reader counts each as one more repeat
# of its id, the same line or not, so merge keeps them all, never a conflict
mkdir -p norun
for i in 1 2; do
	sed -E 's/,"repeat":[0-9]+//; s/"wall_s":[0-9.e+-]*/"wall_s":'$i'/' <(head -1 whole/results.jsonl)
done >norun/results.jsonl
head -1 norun/results.jsonl >>norun/results.jsonl
grep -c '"repeat"' norun/results.jsonl >/dev/null && bad "the fixture still has a repeat" || ok
"$A" merge norun/results.jsonl --out norun-merged >merge.out 2>&1
same "merge of records without a repeat" "$?:$(cat merge.out)" \
	"0:amptune merge: 3 records from 1 file into 'norun-merged/results.jsonl'; 0 identical duplicates dropped"
same "report before and after merge agree" "$("$A" report norun-merged | head -1)" "$("$A" report norun | head -1)"
same "the three runs counted" "$("$A" report norun-merged | head -1)" "3 records, 1 point (1 repeated): 1 ok"
# merging the same file again adds nothing: the copies are in DIR's own results.jsonl already
"$A" merge norun/results.jsonl --out norun-merged >merge.out 2>&1
same "merge again of records without a repeat" "$?:$(cat merge.out)" \
	"0:amptune merge: 3 records from 2 files into 'norun-merged/results.jsonl'; 3 identical duplicates dropped"
same "... still three runs" "$("$A" report norun-merged | head -1)" "3 records, 1 point (1 repeated): 1 ok"

# an axis grown after a first run: records keep the `point` of the grid they ran in, and merge
# orders them by the directory's plan, the grown one
plan grow.ini grow "batch_sizes = 2, 4, 8" "steps = 3"
"$A" sweep grow.ini --out grown --quiet && "$A" sweep grow.ini --out grown --set batch_sizes=1,2,4,8 --quiet
"$A" merge grown >/dev/null 2>&1
same "merge after an axis grew: grid order" "$(field grown/results.jsonl batch | tr '\n' ' ')" "1 2 4 8 "
same "... each record keeps its own point" "$(field grown/results.jsonl point | tr '\n' ' ')" "0 0 1 2 "
# merged into a directory whose plan grew: ordered by that directory's plan, not the first source's
plan grow.ini grow "batch_sizes = 2, 4, 8" "steps = 3"
"$A" sweep grow.ini --out grow-old --quiet && "$A" sweep grow.ini --out grow-new --set batch_sizes=1,2,4,8 --shard 0/4 --quiet
"$A" merge grow-old grow-new --out grow-new >/dev/null 2>&1
same "merge into a grown directory: its grid order" "$(field grow-new/results.jsonl batch | tr '\n' ' ')" "1 2 4 8 "
# a record without a point (nor a repeat) goes last, whatever its id
sed -E 's/,"point":[0-9]+//; s/,"repeat":[0-9]+//' <(grep '"batch":4,' grow-old/results.jsonl) >nopoint.jsonl
"$A" merge grow-old/results.jsonl nopoint.jsonl --out grow-np >/dev/null 2>&1
same "a record without a point goes last" "$(field grow-np/results.jsonl batch | tr '\n' ' ')" "2 4 8 4 "

# another plan's results are refused without --force
mkdir -p renamed
sed 's/"sweep":"shards"/"sweep":"renamed"/' whole/results.jsonl >renamed/results.jsonl
expect 64 "is a result of plan 'renamed', not 'shards'; merge them with --force" -- merge whole renamed --out mixed
sed 's/^name = shards$/name = renamed/' whole/plan.ini >renamed/plan.ini
expect 64 "^amptune merge: 'whole/plan.ini' is plan 'shards' but 'renamed/plan.ini' is plan 'renamed'; merge them with --force$" -- \
	merge whole renamed --out mixed
expect 65 "conflicting records" -- merge whole renamed --out mixed --force
same "refused merges leave no --out directory behind" "$(ls -d mixed 2>/dev/null)" ""

# a torn last line in a shard is reported and ignored
mkdir -p torn/shards
cp sharded/shards/0.jsonl sharded/shards/1.jsonl torn/shards/
size=$(wc -c <torn/shards/1.jsonl)
truncate -s $((size - 30)) torn/shards/1.jsonl
"$A" merge torn >merge.out 2>merge.err
same "torn merge exit" "$?" 0
grep -q "^amptune merge: warning: 'torn/shards/1.jsonl' line 4: torn last line ([0-9]* bytes, a write cut short) ignored$" merge.err &&
	ok || bad "torn warning: $(cat merge.err)"
same "torn merge keeps the whole lines" "$(wc -l <torn/results.jsonl)" 7
# a torn tail of the results.jsonl merge replaces is kept in results.jsonl.torn, not lost
last=$(tail -n 1 torn/results.jsonl)
truncate -s -1 torn/results.jsonl
printf 'xx' >>torn/results.jsonl
"$A" merge torn >merge.out 2>merge.err
same "merge over a torn results.jsonl" "$?" 0
same "its torn tail is saved" "$(cat torn/results.jsonl.torn)" "${last}xx"
grep -q "^amptune merge: warning: 'torn/results.jsonl' line 7: torn last line ([0-9]* bytes, a write cut short) saved to 'torn/results.jsonl.torn'$" merge.err &&
	ok || bad "torn results.jsonl warning: $(cat merge.err)"

# --no-predict reruns a shard's oom-predicted point from its own file, never from a merged one
plan p.ini pred "batch_sizes = 4, 8"
"$A" sweep p.ini --out pred --shard 0/2 --device-mem-limit 21M --quiet &&
	"$A" sweep p.ini --out pred --shard 1/2 --device-mem-limit 21M --quiet && "$A" merge pred >/dev/null
same "predicted shards merged" "$(records pred/results.jsonl | awk '{ print $3 }' | tr '\n' ' ')" "ok oom-predicted "
line=$(grep -n '"status":"oom-predicted"' pred/results.jsonl | cut -d: -f1)
shard=$(grep -l '"status":"oom-predicted"' pred/shards/*.jsonl | sed -E 's|.*/([0-9]+)\.jsonl|\1|')
cp pred/results.jsonl pred.before
expect 64 "^amptune sweep: 'pred/results.jsonl' line $line records point '[0-9a-f]+' as oom-predicted, and --no-predict can run it again only when its records are in this run's own results file 'pred/shards/$shard.jsonl'; use another --out$" -- \
	sweep p.ini --out pred --shard $shard/2 --device-mem-limit 21M --no-predict
cmp -s pred.before pred/results.jsonl && ok || bad "a refused --no-predict rerun changed results.jsonl"
"$A" sweep p.ini --out pred --shard $shard/2 --device-mem-limit 21M --no-predict --dry-run >dry.out 2>&1
grep -q "recorded: oom-predicted in 'pred/results.jsonl', which --no-predict cannot rerun from here" dry.out && ok ||
	bad "--dry-run --no-predict of a point it cannot rerun: $(cat dry.out)"
same "a refused rerun moves nothing" "$(ls pred/shards/*.predicted 2>/dev/null)" ""

# a bad line in the middle is an error naming the file and line
printf '%s\nnot json\n%s\n' "$(head -1 whole/results.jsonl)" "$(sed -n 2p whole/results.jsonl)" >bad.jsonl
expect 65 "^amptune merge: 'bad.jsonl' line 2: not JSON \(error near byte 1\)$" -- merge bad.jsonl --out badout
same "a malformed source leaves no --out directory behind" "$(ls -d badout 2>/dev/null)" ""
# --out naming a file is a usage error, as for sweep
expect 64 "^amptune merge: option '--out' names 'bad.jsonl', which is a file, not a directory$" -- merge whole --out bad.jsonl
expect 64 "^amptune merge: cannot create directory 'bad.jsonl/sub': a part of it is a file$" -- merge whole --out bad.jsonl/sub
expect 64 "amptune merge: several sources need --out DIR" -- merge whole sharded
expect 64 "amptune merge: 'merge DIR' expects a sweep directory; 'bad.jsonl' is a file \(for files use SRC... --out DIR\)" -- merge bad.jsonl
expect 64 "amptune merge: no sweep directory 'no-such-dir': No such file or directory" -- merge no-such-dir
# a broken plan.ini in a source directory is a plan error (64), as for report and sweep
mkdir -p brokenplan/shards && cp sharded/shards/0.jsonl brokenplan/shards/ && printf '[sweep\n' >brokenplan/plan.ini
"$A" merge brokenplan >/dev/null 2>bp.err
same "broken plan.ini" "$?:$(grep -c 'brokenplan/plan.ini' bp.err)" "64:1"
mkdir -p empty-dir
expect 64 "amptune merge: nothing to merge \(the warning above says where it looked\); nothing written" -- merge empty-dir
same "empty merge writes nothing" "$(ls -A empty-dir | grep -v '^.lock$')" ""
expect 64 "amptune merge: cannot read 'nowhere': No such file or directory" -- merge nowhere --out x
# a shard running there that has recorded nothing yet: merge says so (1), not "nothing to merge"
"$A" sweep s.ini --out early --shard 0/3 --quiet --set steps=100000 --set time_limit_s=60 &
early=$!
for _ in $(seq 100); do [ -e early/.lock ] && [ -n "$(pgrep -P $early)" ] && break; sleep 0.05; done
expect 1 "amptune merge: a sweep is running in 'early' \(no point recorded yet\)" -- merge early
expect 1 "amptune merge: a sweep is still running in 'early'" -- merge early --out early-merged
kill -TERM $early
wait $early


# ---- shards of different counts never run at once in one directory ----
# (shards 1/4 and 2/3 would both run point 5, and merge would refuse the two records)
# a running shard of 2 holds shards/of-2.lock shared: a shard of 3 refuses, even one whose
# index collides with the running shard's (shards/1.lock), and names the count, not the index
"$A" sweep s.ini --out live --shard 1/2 --quiet --set steps=100000 --set time_limit_s=60 2>live.err &
live=$!
for _ in $(seq 200); do [ -n "$(pgrep -P $live)" ] && break; sleep 0.05; done
[ -n "$(pgrep -P $live)" ] && ok || bad "shard 1/2 started no point"
expect 1 "^amptune sweep: shards of 2 are running in 'live' and this is shard 1 of 3: run every shard of one sweep with the same count, or wait until those finish \(lock 'live/shards/of-2.lock' is held\)$" -- \
	sweep s.ini --out live --shard 1/3 --quiet
kill -TERM $live
wait $live
same "shard 1/2 stopped" "$?" 143

# the same with the locks held by flock(1) for as long as the test needs: shards of 3 refuse and
# write nothing, a shard of 2 runs alongside, a second shard 1/2 is told its index is taken
mkdir -p counts/shards
flock -s counts/shards/of-2.lock flock -x counts/shards/1.lock \
	sh -c 'touch held; while [ ! -e release ]; do sleep 0.05; done' &
holder=$!
for _ in $(seq 200); do [ -e held ] && break; sleep 0.05; done
[ -e held ] && ok || bad "flock did not take the locks"
for i in 0 1 2; do
	expect 1 "^amptune sweep: shards of 2 are running in 'counts' and this is shard $i of 3: run every shard of one sweep with the same count, or wait until those finish \(lock 'counts/shards/of-2.lock' is held\)$" -- \
		sweep s.ini --out counts --shard $i/3 --quiet
done
same "refused shards write nothing" "$(ls counts/plan.ini counts/shards/*.jsonl 2>/dev/null)" ""
expect 1 "^amptune sweep: shard 1/2 is already running in 'counts' \(lock 'counts/shards/1.lock' is held\)$" -- \
	sweep s.ini --out counts --shard 1/2 --quiet
"$A" sweep s.ini --out counts --shard 0/2 --quiet
same "shard 0/2 runs beside shard 1/2" "$?:$(records counts/shards/0.jsonl | awk '{ print $1, $2 }')" \
	"0:$(listed s.ini --shard 0/2)"
touch release
wait $holder
# once those are done, shards of another count run only what is not recorded yet
"$A" sweep s.ini --out counts --shard 1/3 --no-progress >counts.out 2>counts.err
same "shard 1/3 after the shards of 2" "$?" 0
grep -q "^amptune sweep: resuming 'shards': 2 of 4 points already recorded in 'counts'$" counts.err && ok ||
	bad "shard 1/3 resume message: $(cat counts.err)"
same "shard 1/3 runs only runs 1 and 7" "$(records counts/shards/1.jsonl | awk '{ print $1, $2 }')" \
	"$(awk 'NR == 2 || NR == 8' all.txt)"
"$A" sweep s.ini --out counts --shard 0/3 --quiet && "$A" sweep s.ini --out counts --shard 2/3 --quiet
same "shards 0/3 and 2/3 after the shards of 2" "$?" 0
"$A" merge counts >merge.out 2>&1
same "every run recorded once" "$?:$(cat merge.out)" \
	"0:amptune merge: 12 records from 3 files into 'counts/results.jsonl'; 0 identical duplicates dropped"
same "merged in grid order" "$(records counts/results.jsonl | awk '{ print $1, $2 }')" "$(cat all.txt)"

finish
