#!/usr/bin/env bash
# Builds amptune here and packs what a GPU machine without our Debian -dev
# libraries needs to run it: the binaries, the GPU test suites, and the non-CUDA
# shared libraries they load (OpenBLAS, cJSON, zlib, Check, ...), into .device/
# and .device.tar.xz (both ignored by git), with Fashion-MNIST in .device/data/fashion-mnist for the CNN runs and
# Debian's fortunes in .device/data/fortunes for the GPT's default data
# (FASHION_MNIST names another copy; the GPU machine cannot download it). On the GPU
# machine run bench/gpu_run.sh from the repository root.
# EMULATION=1 packs the binaries built on the CPU emulation of CUDA under the same names instead,
# to rehearse bench/gpu_run.sh's stages on a machine without a GPU (RUN_TIMEOUT=8 keeps `train`
# short; its records then end "interrupted").
set -euo pipefail
cd "$(dirname "$0")/.."
FASHION_MNIST=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
make -s build >/dev/null
rm -rf .device && mkdir -p .device/lib .device/bin
if [ "${EMULATION:-}" = 1 ]; then
	# a rehearsal without a GPU: the same names, built on the CPU emulation of CUDA (tests/emu/fake)
	cp build/tests/amptune_emu .device/bin/amptune
	for t in build/tests/emu_gpu_*; do cp "$t" ".device/bin/${t##*/emu_}"; done
else
	cp build/amptune .device/bin/
	cp build/tests/gpu_* build/tests/check_gpt_ops build/tests/check_gpt_model .device/bin/ 2>/dev/null || true
fi
for b in .device/bin/*; do
	ldd "$b" | awk '/=> \// {print $3}' | grep -vE 'libcuda|libcudart|libcublas|libcudnn|libnv|linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl|librt' || true
done | sort -u | while read -r lib; do cp -L "$lib" .device/lib/; done
if [ -f "$FASHION_MNIST/train-images-idx3-ubyte.gz" ] || [ -f "$FASHION_MNIST/train-images-idx3-ubyte" ]; then
	mkdir -p .device/data
	cp -rL "$FASHION_MNIST" .device/data/fashion-mnist
else
	echo "warning: no Fashion-MNIST in $FASHION_MNIST (Debian: apt-get install dataset-fashion-mnist):" \
		"the GPU CNN runs will train on synthetic images and bench/cnn_vs_torch.sh leaves out its epoch section" >&2
fi
# the GPT's default data (Debian's fortunes); gpu_run.sh installs it where the loader looks
if [ -d /usr/share/games/fortunes ]; then
	mkdir -p .device/data
	cp -rL /usr/share/games/fortunes .device/data/fortunes
fi
# one archive of it all: where a transfer is capped (64 MiB with the source tree) it travels in
# one piece, ~45 MiB; gpu_run.sh unpacks it when .device/ is not there
tar -C .device -cf - . | xz -T0 -6 >.device.tar.xz
du -sh .device/bin .device/lib .device/data .device.tar.xz 2>/dev/null
