# Sourced by the CPU benchmarks (bench/cpu_gpt.sh, bench/cpu_cnn.sh) from the repository root:
# amptune's runs get the OpenBLAS kernels this CPU runs best, like the peer.
# PyTorch's CPU kernels (oneDNN, MKL) pick their instruction set themselves and ignore
# OPENBLAS_CORETYPE; one set in the environment (an image pinning Haswell for reproducibility,
# say) would hold back amptune alone, so amptune runs without it unless KEEP_OPENBLAS_CORETYPE=1.
#   amptune_env        command prefix for amptune's runs
#   blas_line AMPTUNE  what amptune's GEMMs run on, under amptune_env ("cpu BLAS: ...")
#   peer_isa PYTHON    the instruction set PyTorch's CPU kernels use ("AVX512", "AVX2", ...)
amptune_env=(env -u OPENBLAS_CORETYPE)
[ "${KEEP_OPENBLAS_CORETYPE:-0}" = 1 ] && amptune_env=(env)
blas_line() { "${amptune_env[@]}" "$1" version | sed -n 's/^cpu BLAS: //p'; }
peer_isa() { "$1" -c 'import torch; print(torch.backends.cpu.get_cpu_capability())' 2>/dev/null || echo unknown; }
