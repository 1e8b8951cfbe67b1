#!/usr/bin/env bash
# Builds amptune here and packs what a GPU machine without our Debian -dev
# libraries needs to run it: the binaries, the GPU test suites, and the non-CUDA
# shared libraries they load (OpenBLAS, cJSON, inih, Check, ...), into .device/
# (ignored by git). On the GPU machine run bench/gpu_run.sh from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build >/dev/null
rm -rf .device && mkdir -p .device/lib .device/bin
cp build/amptune .device/bin/
cp build/tests/gpu_* build/tests/check_gpt_ops build/tests/check_gpt_model .device/bin/ 2>/dev/null || true
for b in .device/bin/*; do
	ldd "$b" | awk '/=> \// {print $3}' | grep -vE 'libcuda|libcudart|libcublas|libcudnn|libnv|linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl|librt' || true
done | sort -u | while read -r lib; do cp -L "$lib" .device/lib/; done
du -sh .device
