# Sourced by bench/gpt_vs_torch.sh and bench/cnn_vs_torch.sh (from the repository root): what the
# two amptune-against-PyTorch drivers share.
#   PYTHON     python3 if it imports torch, else bench/.venv's (CPU benchmarks), unless set
#   peer_env   the command prefix for PyTorch runs: PEER_LD_LIBRARY_PATH, when set, as their
#              library path (gpu_run.sh passes the one it started with, not amptune's)
#   run_limit  seconds the next run may take: RUN_TIMEOUT, or what is left of BUDGET_S (counted
#              from the script's start); 0 when less than 20 s are left
if [ -z "${PYTHON:-}" ]; then
	PYTHON=python3
	if ! python3 -c 'import torch' 2>/dev/null && [ -x bench/.venv/bin/python ]; then PYTHON=bench/.venv/bin/python; fi
fi
peer_env=(env)
[ -n "${PEER_LD_LIBRARY_PATH+set}" ] && peer_env=(env "LD_LIBRARY_PATH=$PEER_LD_LIBRARY_PATH")
run_limit() {
	local left
	[ "$BUDGET_S" -gt 0 ] || { echo "$RUN_TIMEOUT"; return; }
	left=$((BUDGET_S - SECONDS))
	if [ "$left" -lt 20 ]; then echo 0; elif [ "$left" -lt "$RUN_TIMEOUT" ]; then echo "$left"; else echo "$RUN_TIMEOUT"; fi
}
