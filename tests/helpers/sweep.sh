# Shared by tests/cli_sweep*.sh: sourced after setting $NAME.
# Provides $A (the binary), $T (scratch, removed at exit), ok/bad/expect,
# plan writing, and record fields read with sed (cJSON writes `"key":value`).
set -u
A=${AMPTUNE:?AMPTUNE must name the amptune binary}
T=${TEST_TMPDIR:-/tmp}/$NAME.$$
rm -rf "$T"
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# same WHAT GOT WANT
same() { if [ "$2" = "$3" ]; then ok; else bad "$1: got [$2], want [$3]"; fi; }
finish() { echo "$NAME: $pass passed, $fail failed"; [ "$fail" = 0 ]; }

# expect CODE PATTERN -- ARGS...: the exit code and a stderr line matching PATTERN
expect() {
	local code=$1 pat=$2
	shift 3
	"$A" "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" != "$code" ]; then bad "amptune $*: exit $rc, expected $code ($(head -c 400 "$T/err"))"; return; fi
	if ! grep -qE -- "$pat" "$T/err"; then bad "amptune $*: stderr lacks /$pat/: $(head -c 400 "$T/err")"; return; fi
	ok
}

# plan FILE NAME [KEY=VALUE...]: a tiny GPT plan (points of about a second on one thread)
plan() {
	local file=$1 name=$2
	shift 2
	{
		printf '[sweep]\nname = %s\nmodel = gpt\nsize = tiny\ndata = fortunes\nsteps = 5\nwarmup_steps = 1\n' "$name"
		printf 'eval_batches = 1\nthreads = 1\ndevices = cpu\nprecisions = fp32\nseq = 32\n'
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} | awk -F' = ' '{ if ($1 in seen) lines[seen[$1]] = $0; else { seen[$1] = n; lines[n++] = $0 } }
		END { for (i = 0; i < n; i++) print lines[i] }' >"$file"
}

# "id repeat status" of every record of a results file, in file order
records() { sed -E 's/.*"id":"([0-9a-f]+)".*"status":"([a-z]+)".*"repeat":([0-9]+).*/\1 \3 \2/' "$@"; }
# "id repeat" of every point `--list` prints, in run order
listed() { "$A" sweep "$@" --list | awk 'NR > 1 { print $2, $3 }'; }
# field FILE KEY: the value of KEY in each record (strings without quotes)
field() { sed -E "s/.*\"$2\":(\"([^\"]*)\"|([^,}]*)).*/\\2\\3/" "$1"; }
