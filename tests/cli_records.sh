#!/usr/bin/env bash
# Every command reads results through one strict reader: what report accepts, sweep and merge
# accept, and the other way round; raw control bytes (a NUL included) are not JSON. Records come
# from tests/results_fixture.sh.
set -u
NAME=cli_records
source "$(dirname "$0")/helpers/cli.sh"
source "${SRC:-$(cd "$(dirname "$0")/.." && pwd)}/tests/results_fixture.sh"

# sweep_dir NAME LINE...: a sweep directory whose results.jsonl holds the lines
sweep_dir() {
	local d="$T/$1"; shift
	mkdir -p "$d"
	printf '%s\n' "$@" >"$d/results.jsonl"
}
# both FIELD MESSAGE LINE: report and merge refuse the second line with exit 65 naming the field
both() {
	local what=$1 msg=$2 line=$3
	sweep_dir "r-$what" "$(rec id='"p1"' sweep='"s"' repeat=1 point=0)" "$line"
	expect 65 "results.jsonl:2: $msg" -- report "$T/r-$what"
	mkdir -p "$T/m-$what/shards"
	printf '%s\n' "$(rec id='"p1"' sweep='"s"' repeat=1 point=0)" "$line" >"$T/m-$what/shards/0.jsonl"
	expect 65 "line 2: $msg" -- merge "$T/m-$what"
}

both repeat-string "field 'repeat' must be a whole number >= 1, got a string" "$(rec id='"p2"' repeat='"1"')"
both repeat-zero "field 'repeat' must be a whole number >= 1, got 0" "$(rec id='"p2"' repeat=0)"
both point "field 'point' must be a whole number >= 0, got a fraction or negative number" "$(rec id='"p2"' point=-1)"
both price "field 'price_per_hour' must be >= 0, got -1" "$(rec id='"p2"' price_per_hour=-1)"
both id "field 'id' is empty" "$(rec id='""')"
both model "field 'model' has unknown value 'rnn'" "$(rec id='"p2"' model='"rnn"')"
both precision "field 'precision' has unknown value 'fp8'" "$(rec id='"p2"' precision='"fp8"')"
both device "field 'device' has unknown value 'tpu'" "$(rec id='"p2"' device='"tpu"')"
both started "field 'started_at' must be a UTC time like 2026-11-24T19:25:52Z, got 'yesterday'" \
	"$(rec id='"p2"' started_at='"yesterday"')"

# a point that never opened a backend says device "auto": read, and a repeat of its finished run
sweep_dir auto "$(rec id='"p1"' status='"unsupported"' device='"auto"' step_ms_p50=null)" "$(rec id='"p1"')"
"$A" report "$T/auto" >"$T/out" 2>"$T/err" && ok || bad "report of an 'auto' record: $(cat "$T/err")"

# repeats share the configuration: the error names the field and both values
sweep_dir repeats "$(rec id='"p1"')" "$(rec id='"p2"')" "$(rec id='"p1"' batch=8)"
expect 65 "results.jsonl:3: id 'p1' repeats with batch 8, not 16 as on line 1" -- report "$T/repeats"

# a raw NUL inside a string would cut the value short: refused with its line and byte
good=$(rec id='"p1"' sweep='"s"' repeat=1 point=0)
nul=$(rec id='"p2"' size='"tiXny"')
byte=$(( $(expr index "$nul" X) ))
mkdir -p "$T/nul/shards"
{ printf '%s\n' "$good"; printf '%s\n' "$nul" | tr X '\000'; } >"$T/nul/results.jsonl"
cp "$T/nul/results.jsonl" "$T/nul/shards/0.jsonl"
[ "$(wc -c <"$T/nul/results.jsonl")" -eq $(( ${#good} + ${#nul} + 2 )) ] && ok || bad "fixture lost its NUL"
expect 65 "results.jsonl:2: not JSON \(control character 0x00 at byte $byte\)" -- report "$T/nul"
expect 65 "line 2: not JSON \(control character 0x00 at byte $byte\)" -- merge "$T/nul"
{ printf '%s\n' "$good"; printf '%s\n' "$nul" | tr X '\001'; } >"$T/nul/results.jsonl"
expect 65 "results.jsonl:2: not JSON \(control character 0x01 at byte $byte\)" -- report "$T/nul"

finish
