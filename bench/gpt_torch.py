#!/usr/bin/env python3
"""The peer for bench/cpu_gpt.sh: the same GPT as amptune's presets, in PyTorch.

Same architecture (GPT-2: learned position embeddings, pre-LayerNorm eps 1e-5,
tanh GELU, tied LM head, no dropout), same AdamW (beta 0.9/0.95, decoupled
weight decay 0.1 on matrices and embeddings), gradient clipping at 1.0, same
batch and sequence. Attention uses PyTorch's fused scaled_dot_product_attention.
On CUDA, precisions follow the usual PyTorch recipes: fp32 (TF32 off), tf32
(TF32 matmuls), bf16 and fp16 autocast with fp32 weights (fp16 with a
GradScaler); step times come from CUDA events, peak memory from
torch.cuda.max_memory_allocated.
Prints one JSON line: step-time median and p95 over the timed steps.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="tiny", choices=SIZES)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16", "fp16"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1337)
    dev = torch.device(a.device)
    cuda = a.device == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = a.precision == "tf32"
        torch.backends.cudnn.allow_tf32 = a.precision == "tf32"
    elif a.precision != "fp32":
        raise SystemExit("the cpu peer runs fp32 only")
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(a.precision)
    scaler = torch.amp.GradScaler("cuda", enabled=a.precision == "fp16")
    model = GPT(*SIZES[a.size]).to(dev)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8, fused=cuda)
    step_fn = torch.compile(model) if a.compile else model
    vocab = SIZES[a.size][1]
    g = torch.Generator().manual_seed(0)
    times, losses = [], []
    for step in range(a.steps):
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
    p95 = timed[min(len(timed) - 1, int(round(0.95 * (len(timed) - 1))))]
    peak = torch.cuda.max_memory_allocated() if cuda else None
    print(json.dumps({"peer": "pytorch" + ("-compile" if a.compile else "-eager"), "torch": torch.__version__,
                      "device": a.device, "precision": a.precision, "peak_device_bytes": peak,
                      "size": a.size, "batch": a.batch, "seq": a.seq, "threads": a.threads,
                      "step_ms_p50": statistics.median(timed), "step_ms_p95": p95,
                      "initial_loss": losses[0], "final_loss": losses[-1]}))


if __name__ == "__main__":
    main()
