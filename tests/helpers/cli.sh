# Shared by the tests/cli_*.sh tests: source it after naming the test.
#   NAME=cli_x; source "$(dirname "$0")/helpers/cli.sh"
# Sets A (the amptune binary) and T (a scratch directory removed on exit), and
# defines ok / bad (counting), expect (exit code and stderr pattern) and finish.
A=${AMPTUNE:?AMPTUNE must name the amptune binary}
T=${TEST_TMPDIR:-/tmp}/${NAME:?NAME must name the test}.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect CODE PATTERN -- ARGS...: exit code and a stderr line matching PATTERN
expect() {
	local code=$1 pat=$2; shift 3
	"$A" "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" != "$code" ]; then bad "amptune $*: exit $rc, expected $code ($(head -c 300 "$T/err"))"; return; fi
	if ! grep -qE -- "$pat" "$T/err"; then bad "amptune $*: stderr lacks /$pat/: $(head -c 300 "$T/err")"; return; fi
	ok
}

# prints the tally; the test's exit status
finish() {
	echo "$pass passed, $fail failed"
	[ $fail = 0 ]
}
