#!/bin/sh
# tests/emu/rewrite_launches.sh IN.cu OUT.cpp — a CUDA source as plain C++ for
# the CPU stand-in (tests/emu/fake): each launch `kernel<...><<<cfg>>>(args)`
# becomes `emu_kernel(cfg)(kernel<...>)(args)`; lines keep their numbers and
# errors name IN. A launch's `<<<...>>>(` must sit on one line.
set -eu
in=$1 out=$2
if grep -n '<<<' "$in" | grep -v '>>>(' >/dev/null; then
	echo "$in: a kernel launch whose <<<...>>>( is split across lines" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
{
	printf '#line 1 "%s"\n' "$in"
	sed -E 's/([A-Za-z_][A-Za-z0-9_]*(<[^<>;]*>)?)<<<(.*)>>>\(/emu_kernel(\3)(\1)(/' "$in"
} >"$out.tmp"
mv "$out.tmp" "$out"
