#!/bin/sh
# tests/emu/rewrite_launches.sh IN OUT — a CUDA source (.cu or .cuh) as plain
# C++ for the CPU stand-in (tests/emu/fake): each launch
# `kernel<...><<<cfg>>>(args)` becomes
# `emu_kernel(cfg)(kernel<...>, "kernel<...>", __FILE__, __LINE__)(args)`,
# and each static `__shared__ T name[...];` is followed by
# `emu_shared_first_touch(name, sizeof name);`, which poisons it once per block;
# lines keep their numbers and errors name IN. A launch's `<<<...>>>(` must sit
# on one line.
set -eu
in=$1 out=$2
if grep -n '<<<' "$in" | grep -v '>>>(' >/dev/null; then
	echo "$in: a kernel launch whose <<<...>>>( is split across lines" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
{
	printf '#line 1 "%s"\n' "$in"
	sed -E -e 's/([A-Za-z_][A-Za-z0-9_]*(<[^<>;]*>)?)<<<(.*)>>>\(/emu_kernel(\3)(\1, "\1", __FILE__, __LINE__)(/' \
		-e 's/^([[:space:]]*)__shared__ ([^;=]*[^A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_]*)((\[[^]]*\])+);/\1__shared__ \2\3\4; emu_shared_first_touch(\3, sizeof \3);/' \
		"$in"
} >"$out.tmp"
mv "$out.tmp" "$out"
