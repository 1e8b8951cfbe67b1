# Helpers for shell tests that need results files: sourced, not run.
#
# rec KEY=VALUE...: prints one schema-v1 results record (one JSON line).
# Defaults describe an ok GPT tiny point on the CPU; each KEY=VALUE replaces
# one field's JSON value verbatim (strings need their quotes: device='"cuda"').
rec() {
	local -A f=(
		[schema_version]=1 [id]='"p1"' [status]='"ok"' [message]='""' [model]='"gpt"' [size]='"tiny"'
		[dataset]='"fortunes"' [device]='"cpu"' [device_name]='"Test CPU (4 threads)"' [precision]='"fp32"'
		[batch]=16 [seq]=128 [workers]=0 [prefetch]=0 [seed]=1337 [steps]=100
		[step_ms_p50]=100 [step_ms_p95]=110 [samples_per_sec]=160 [tokens_per_sec]=20480
		[flops_per_step]=1e10 [mfu]=null [epoch_s]=3600 [epoch_s_extrapolated]=false
		[peak_device_bytes]=100000000 [peak_device_bytes_driver]=null [peak_host_bytes]=200000000
		[pinned_bytes]=0 [loss_curve]='[[0,5.5],[50,3.0],[99,2.5]]' [initial_loss]=5.5 [final_loss]=2.5
		[eval_loss]=2.6 [eval_accuracy]=null [data_wait_frac]=0.01
		[loader]='{"wait_ms_p50":0.5,"wait_ms_p95":1.5}' [loss_scale_skips]=0
		[versions]='{"amptune":"0.1.0","threads":4,"host_cpus":8}'
		[started_at]='"2026-01-01T00:00:00Z"' [finished_at]='"2026-01-01T00:01:00Z"'
		[phase_ms]='{"h2d":1,"forward":30,"backward":55,"optimizer":10,"data_wait":1}'
	)
	local order=(schema_version id status message model size dataset device device_name precision batch seq
		workers prefetch seed steps step_ms_p50 step_ms_p95 samples_per_sec tokens_per_sec flops_per_step mfu
		epoch_s epoch_s_extrapolated peak_device_bytes peak_device_bytes_driver peak_host_bytes pinned_bytes
		loss_curve initial_loss final_loss eval_loss eval_accuracy data_wait_frac loader loss_scale_skips
		versions started_at finished_at phase_ms)
	local kv drop=()
	for kv in "$@"; do
		if [ "${kv#-}" != "$kv" ]; then drop+=("${kv#-}"); continue; fi # -KEY drops a field
		f[${kv%%=*}]=${kv#*=}
		case " ${order[*]} " in *" ${kv%%=*} "*) ;; *) order+=("${kv%%=*}") ;; esac
	done
	local out="{" sep="" k d skip
	for k in "${order[@]}"; do
		skip=0
		for d in "${drop[@]}"; do [ "$d" = "$k" ] && skip=1; done
		[ $skip = 1 ] && continue
		out+="$sep\"$k\":${f[$k]}"
		sep=","
	done
	printf '%s}\n' "$out"
}
