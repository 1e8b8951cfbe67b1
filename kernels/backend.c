#include "kernels/backend.h"

#include <stdio.h>
#include <string.h>

const char *const kn_phase_names[KN_PHASE_COUNT] = { "h2d", "forward", "backward", "optimizer" };

const char *kn_fmt_bytes(char *buf, size_t n, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (bytes >= 1024.0 && u < 4) {
		bytes /= 1024.0;
		u++;
	}
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
	return buf;
}

int kn_backend_open(struct kn_backend *be, const char *device, enum kn_precision precision, size_t mem_limit_bytes)
{
	int rc;
	/* the limit applies to the backend's own allocations too (cuBLASLt workspace) */
	memset(be, 0, sizeof *be);
	be->mem_limit_bytes = mem_limit_bytes;
	if (strcmp(device, "auto") == 0) {
		/* a GPU that this build cannot drive falls back to the cpu */
		if (kn_cuda_device_count() > 0 && kn_cuda_open(be, precision) == KN_OK)
			return KN_OK;
		memset(be, 0, sizeof *be);
		be->mem_limit_bytes = mem_limit_bytes;
		device = "cpu";
	}
	if (strcmp(device, "cpu") == 0)
		rc = kn_cpu_open(be, precision);
	else if (strcmp(device, "cuda") == 0)
		rc = kn_cuda_open(be, precision);
	else
		return kn_error(KN_EUSAGE, "unknown device '%s' (expected cpu, cuda or auto)", device);
	return rc;
}

int kn_backend_open_reference(struct kn_backend *be)
{
	memset(be, 0, sizeof *be);
	return kn_cpu_open(be, KN_FP64);
}

void kn_backend_release(struct kn_backend *be)
{
	if (be->vt && be->vt->release)
		be->vt->release(be);
	be->impl = NULL;
}

int kn_alloc(struct kn_backend *be, void **ptr, size_t bytes)
{
	char need[32], avail[32];
	*ptr = NULL;
	if (be->mem_limit_bytes && be->mem_in_use_bytes + bytes > be->mem_limit_bytes) {
		size_t left = be->mem_in_use_bytes < be->mem_limit_bytes ? be->mem_limit_bytes - be->mem_in_use_bytes : 0;
		kn_fmt_bytes(need, sizeof need, (double)bytes);
		kn_fmt_bytes(avail, sizeof avail, (double)left);
		if (strcmp(need, avail) == 0) { /* "need 2.0 KiB, free 2.0 KiB" would say nothing */
			snprintf(need, sizeof need, "%zu bytes", bytes);
			snprintf(avail, sizeof avail, "%zu bytes", left);
		}
		return kn_error(KN_ENOMEM, "out of memory on '%s': need %s, free %s of the %s limit", be->name, need, avail,
				kn_fmt_bytes((char[32]){ 0 }, 32, (double)be->mem_limit_bytes));
	}
	int rc = be->vt->dev_alloc(be, ptr, bytes);
	if (rc)
		return rc;
	be->mem_in_use_bytes += bytes;
	if (be->mem_in_use_bytes > be->mem_peak_bytes)
		be->mem_peak_bytes = be->mem_in_use_bytes;
	return KN_OK;
}

void kn_free(struct kn_backend *be, void *ptr, size_t bytes)
{
	if (!ptr)
		return;
	be->vt->dev_free(be, ptr);
	be->mem_in_use_bytes -= bytes;
}

int kn_host_alloc(struct kn_backend *be, void **ptr, size_t bytes)
{
	return be->vt->host_alloc(be, ptr, bytes);
}

void kn_host_free(struct kn_backend *be, void *ptr)
{
	if (ptr)
		be->vt->host_free(be, ptr);
}

int kn_sync(struct kn_backend *be) { return be->vt->sync(be); }

int kn_flash_attention_shape_ok(int C, int NH)
{
	if (NH < 1 || C % NH)
		return 0;
	int hs = C / NH;
	return hs == 32 || hs == 64;
}

int kn_flash_attention_used(const struct kn_backend *be, int C, int NH)
{
	return be->ops->flash_attention_forward && be->ops->flash_attention_backward && kn_flash_attention_shape_ok(C, NH);
}

void kn_residual_layernorm_forward(struct kn_backend *be, void *res, void *out, void *mean, void *rstd, const void *a,
				   const void *b, const void *weight, const void *bias, int N, int C)
{
	const struct kn_ops *op = be->ops;
	if (op->residual_layernorm_forward) {
		op->residual_layernorm_forward(res, out, mean, rstd, a, b, weight, bias, N, C);
		return;
	}
	op->residual_forward(res, a, b, (size_t)N * C);
	op->layernorm_forward(out, mean, rstd, res, weight, bias, N, C);
}

void kn_matmul_gelu_forward(struct kn_backend *be, void *out, void *pre, const void *inp, const void *weight,
			    const void *bias, int N, int C, int OC)
{
	const struct kn_ops *op = be->ops;
	if (op->matmul_gelu_forward) {
		op->matmul_gelu_forward(out, pre, inp, weight, bias, N, C, OC);
		return;
	}
	op->matmul_forward(pre, inp, weight, bias, N, C, OC);
	op->gelu_forward(out, pre, (size_t)N * OC);
}

void kn_matmul_backward_gelu(struct kn_backend *be, void *dpre, void *dweight, void *dbias, const void *dout,
			     const void *inp, const void *weight, const void *pre, int N, int C, int OC)
{
	const struct kn_ops *op = be->ops;
	if (op->matmul_backward_gelu) {
		op->matmul_backward_gelu(dpre, dweight, dbias, dout, inp, weight, pre, N, C, OC);
		return;
	}
	op->matmul_backward(dpre, dweight, dbias, dout, inp, weight, N, C, OC);
	op->gelu_backward(dpre, pre, dpre, (size_t)N * C); /* elementwise: in place is safe */
}

int kn_copy_h2d_async(struct kn_backend *be, void *dst, const void *src, size_t bytes, int slot)
{
	return be->vt->copy_h2d_async ? be->vt->copy_h2d_async(be, dst, src, bytes, slot)
				      : be->vt->copy_h2d(be, dst, src, bytes);
}

int kn_copy_wait(struct kn_backend *be, int slot) { return be->vt->copy_wait ? be->vt->copy_wait(be, slot) : KN_OK; }

int kn_copy_done(struct kn_backend *be, int slot) { return be->vt->copy_done ? be->vt->copy_done(be, slot) : KN_OK; }

void kn_sample_driver_memory(struct kn_backend *be)
{
	size_t used, total;
	if (be->vt->mem_info && be->vt->mem_info(be, &used, &total) == KN_OK && used > be->mem_peak_driver_bytes)
		be->mem_peak_driver_bytes = used;
}
