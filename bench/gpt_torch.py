#!/usr/bin/env python3
"""The peer for bench/cpu_gpt.sh and bench/gpt_vs_torch.sh: amptune's GPT presets in PyTorch.

Same architecture (GPT-2: learned position embeddings, pre-LayerNorm eps 1e-5,
tanh GELU, tied LM head, no dropout), same AdamW (beta 0.9/0.95, eps 1e-8,
decoupled weight decay 0.1 on matrices and embeddings), gradient clipping at 1.0,
amptune's learning-rate schedule (linear warm-up over 10% of the steps, cosine
decay to a tenth), same batch and sequence. Attention uses PyTorch's fused
scaled_dot_product_attention. On CUDA, precisions follow the usual PyTorch
recipes: fp32 (TF32 off for matmuls and cuDNN), tf32 (TF32 on), bf16 and fp16
autocast with fp32 weights (fp16 with a GradScaler that starts at 65536 and
doubles after 1000 good steps, as amptune's loss scaler); fused AdamW. Step
times come from CUDA events around each step (which ends with a synchronise);
the first --warmup steps (torch.compile's compilation among them) are not timed,
and their wall time is reported as warmup_s. Peak memory is
torch.cuda.max_memory_allocated over the timed steps (the statistics are reset
after the warm-up, so allocations of the compilation and of the first steps do
not count).

Always prints one JSON line, also when the point fails: status ok, oom,
unsupported or failed (with message); the exit code is 0, 75, 69 or 1 as amptune's.
"""
import argparse
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_util import lr_at, run_point  # noqa: E402

SIZES = {  # max_seq, vocab, layers, heads, channels: as trainer/config.c
    "tiny": (128, 256, 4, 4, 128),
    "small": (256, 256, 6, 6, 384),
    "gpt2-124m": (1024, 50304, 12, 12, 768),
}


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.nh = NH
        self.ln1 = nn.LayerNorm(C, eps=1e-5)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C, eps=1e-5)
        self.fc = nn.Linear(C, 4 * C)
        self.fcproj = nn.Linear(4 * C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.nh, C // self.nh).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, max_seq, vocab, layers, heads, C):
        super().__init__()
        self.wte = nn.Embedding(vocab, C)
        self.wpe = nn.Embedding(max_seq, C)
        self.blocks = nn.ModuleList(Block(C, heads) for _ in range(layers))
        self.lnf = nn.LayerNorm(C, eps=1e-5)
        for n, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * layers) if n.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)
            elif "ln" not in n:
                nn.init.zeros_(p)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for b in self.blocks:
            x = b(x)
        logits = F.linear(self.lnf(x), self.wte.weight)
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1))


# dense peaks for MFU, by the name the driver gives the board: kernels/cuda/cuda_backend.cu's table
PEAKS = [  # name substring, bf16/fp16, tf32, fp32 (FLOP/s); the first match wins
    ("H100 PCIe", 756.0e12, 378.0e12, 51.2e12),
    ("H100 NVL", 835.5e12, 417.5e12, 60.0e12),
    ("H200 NVL", 835.5e12, 417.5e12, 60.0e12),
    ("H100", 989.4e12, 494.7e12, 66.9e12),
    ("H200", 989.4e12, 494.7e12, 66.9e12),
]


def peak_flops(name, precision):
    for key, half, tf32, fp32 in PEAKS:
        if key in name:
            return half if precision in ("bf16", "fp16") else tf32 if precision == "tf32" else fp32
    return None


def flops_per_step(size, B, T):
    """trainer/gpt.c tr_gpt_flops_per_token times the batch's tokens: 6 x the matmul parameters
    (12 L C^2 + V C) plus 12 L C T of attention, per token."""
    _, V, L, _, C = SIZES[size]
    return (6.0 * (L * 12.0 * C * C + V * C) + 12.0 * L * C * T) * B * T


def run(a, rec):
    cuda = a.device == "cuda"
    if a.threads:
        torch.set_num_threads(a.threads)
    if cuda:
        if not torch.cuda.is_available():
            return "unsupported", "no CUDA device visible to PyTorch"
        # TF32 only for tf32: fp32 is IEEE fp32 in cuBLAS and cuDNN alike
        torch.backends.cuda.matmul.allow_tf32 = a.precision == "tf32"
        torch.backends.cudnn.allow_tf32 = a.precision == "tf32"
        rec["device_name"] = torch.cuda.get_device_name()
    elif a.precision != "fp32":
        return "unsupported", "the cpu peer runs fp32 only"
    else:
        rec["device_name"] = f"cpu ({torch.get_num_threads()} threads)"
    torch.manual_seed(1337)
    dev = torch.device(a.device)
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(a.precision)
    scaler = torch.amp.GradScaler("cuda", init_scale=65536.0, growth_interval=1000, enabled=a.precision == "fp16")
    model = GPT(*SIZES[a.size]).to(dev)
    rec["params"] = sum(p.numel() for p in model.parameters())
    rec["flops_per_step"] = flops_per_step(a.size, a.batch, a.seq)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8, fused=cuda)
    step_fn = torch.compile(model) if a.compile else model
    vocab = SIZES[a.size][1]
    g = torch.Generator().manual_seed(0)
    times, losses = [], []
    t_start = time.perf_counter()
    for step in range(a.steps):
        if step == a.warmup:
            rec["warmup_s"] = time.perf_counter() - t_start
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
        idx = torch.randint(0, min(vocab, 256), (a.batch, a.seq + 1), generator=g)
        if cuda:
            ev0, ev1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            ev0.record()
        t0 = time.perf_counter()
        idx = idx.to(dev, non_blocking=True)
        with torch.autocast(a.device, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss = step_fn(idx[:, :-1], idx[:, 1:])
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, a.steps, a.lr)
        scaler.step(opt)
        scaler.update()
        if cuda:
            ev1.record()
            ev1.synchronize()
            times.append(ev0.elapsed_time(ev1))
        else:
            times.append((time.perf_counter() - t0) * 1e3)
        losses.append(loss.item())
    timed = sorted(times[a.warmup:])
    p50 = statistics.median(timed)
    rec.update(step_ms_p50=p50, step_ms_p95=timed[min(len(timed) - 1, int(round(0.95 * (len(timed) - 1))))],
               step_ms_min=timed[0], tokens_per_sec=a.batch * a.seq / (p50 / 1e3),
               initial_loss=losses[0], final_loss=losses[-1])
    if cuda:
        rec["peak_device_bytes"] = torch.cuda.max_memory_allocated()
        peak = peak_flops(rec["device_name"], a.precision)
        rec["mfu"] = rec["flops_per_step"] / (p50 / 1e3) / peak if peak else None
    if not all(math.isfinite(x) for x in losses):
        return "diverged", "a non-finite training loss"
    return "ok", ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="tiny", choices=SIZES)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: PyTorch's)")
    ap.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (amptune's AdamW default)")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16", "fp16"])
    a = ap.parse_args()
    if not 0 <= a.warmup < a.steps or a.batch < 1:
        ap.error("--warmup must be at least 0 and below --steps, and --batch at least 1")
    if not 1 <= a.seq <= SIZES[a.size][0]:
        ap.error(f"--seq must be in 1..{SIZES[a.size][0]} for {a.size}")
    rec = {"peer": "pytorch" + ("-compile" if a.compile else "-eager"), "torch": torch.__version__,
           "device": a.device, "device_name": None, "precision": a.precision, "size": a.size,
           "batch": a.batch, "seq": a.seq, "threads": a.threads, "steps": a.steps, "warmup_steps": a.warmup,
           "params": None, "flops_per_step": None, "step_ms_p50": None, "step_ms_p95": None,
           "step_ms_min": None, "tokens_per_sec": None, "mfu": None, "peak_device_bytes": None,
           "warmup_s": None, "initial_loss": None, "final_loss": None}
    run_point(run, a, rec)


if __name__ == "__main__":
    main()
