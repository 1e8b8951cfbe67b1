# Shared by tests/cli_sweep*.sh, on top of tests/helpers/cli.sh: source it
# after setting NAME. Runs the test inside $T and adds `same`, a tiny plan
# writer, and record fields read with sed (cJSON writes `"key":value`).
. "${SRC:?SRC must name the source tree}/tests/helpers/cli.sh"
set -u
cd "$T" || exit 1

# same WHAT GOT WANT
same() { if [ "$2" = "$3" ]; then ok; else bad "$1: got [$2], want [$3]"; fi; }

# plan FILE NAME [LINE...]: a tiny GPT plan (points of about a second on one
# thread); a "key = value" LINE replaces the default of that key
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
records() { sed -E 's/.*"id":"([0-9a-f]+)".*"status":"([a-z-]+)".*"repeat":([0-9]+).*/\1 \3 \2/' "$@"; }
# "id repeat" of every run `--list` prints, in run order
listed() { "$A" sweep "$@" --list | awk 'NR > 1 { print $2, $3 }'; }
# field FILE KEY: the value of KEY in each record (strings without quotes)
field() { sed -E "s/.*\"$2\":(\"([^\"]*)\"|([^,}]*)).*/\\2\\3/" "$1"; }
