#!/usr/bin/env python3
"""The peer for bench/cnn_vs_torch.sh: amptune's `cnn tiny` and `cnn resnet` in PyTorch on a GPU.

Same architecture as trainer/cnn.c (the model class of bench/cpu_cnn_torch.py: 3x3 stem conv
+ BN + ReLU, ResNet basic blocks with a 1x1 stride-2 conv + BN shortcut where a stage starts,
global average pool, FC, softmax cross-entropy; BN eps 1e-5, momentum 0.1), the same init
(Kaiming-normal fan-out convs, BN 1/0, PyTorch's default FC), the same optimiser (SGD, momentum
0.9, L2 weight decay 5e-4 on conv and FC weights only, peak lr --lr with amptune's linear warm-up
over 10% of the steps and cosine decay to a tenth) and the same batch of 1x28x28 images and 10
classes. The usual PyTorch recipe: channels_last, cudnn.benchmark, fused SGD; fp32 with TF32 off,
tf32 with TF32 on, bf16 and fp16 autocast with fp32 weights (fp16 with a GradScaler, where
amptune's step has its dynamic loss scaler); eager, or `torch.compile` of the model (default mode).

Batches come from a pool of --pool batches built before the first step (the Fashion-MNIST
training images from --data normalised with the split's mean and std as amptune's loader does,
or random ones with --data synthetic):
  --feed device   the pool lives on the GPU; a step takes the next batch as it is (no copy)
  --feed pinned   the pool lives in pinned host memory; a step copies its batch to the GPU
                  (non_blocking, on the compute stream) inside the timed step; amptune copies from
                  its pinned loader slots too, on a copy stream that overlaps the previous step
A step is timed with CUDA events around batch, forward, backward and optimiser step, and
synchronised at its end (as amptune's step is); the first --warmup steps (cudnn.benchmark's
search, torch.compile's compilation) are excluded, their wall time reported as warmup_s; median
and p95 over the rest. Peak memory is torch.cuda.max_memory_allocated over the timed steps (reset
after the warm-up, so cudnn.benchmark's trial workspaces do not count) less the pool's batches
beyond the one in use (amptune's peak counts its two input slots).

Always prints one JSON line, also when the point fails: status ok, oom, unsupported or failed
(with message); the exit code is 0, 75, 69 or 1 as amptune's.
--device cpu runs fp32 on the CPU with wall-clock timing, for a smoke test without a GPU.
"""
import argparse
import gzip
import math
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_cnn_torch import Net  # noqa: E402  the same model class as the CPU bench
from peer_util import lr_at, run_point  # noqa: E402

SIZES = {  # widths, blocks per stage: as trainer/config.c
    "tiny": ((16, 32, 64), (1, 1, 1)),
    "resnet": ((64, 128, 256, 512), (2, 2, 2, 2)),
}


def read_idx(path):
    """An IDX file (gzip or plain) as a uint8 tensor."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def step_timer(cuda):
    """Starts timing a step; the function returned ends it, synchronising, and gives its ms
    (CUDA events on the GPU, the wall clock on the CPU)."""
    if not cuda:
        t0 = time.perf_counter()
        return lambda: (time.perf_counter() - t0) * 1e3
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()

    def stop():
        end.record()
        end.synchronize()
        return start.elapsed_time(end)
    return stop


def build_model(size):
    widths, blocks = SIZES[size]
    model = Net(widths, blocks)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def make_pool(a, gen):
    """--pool batches of [B, 1, 28, 28] float images and int64 labels, on the host."""
    n = a.pool * a.batch
    if a.data == "synthetic":
        return torch.randn(a.pool, a.batch, 1, 28, 28, generator=gen), torch.randint(0, 10, (a.pool, a.batch),
                                                                                  generator=gen)
    images = read_idx(os.path.join(a.data, "train-images-idx3-ubyte"))
    labels = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte")).long()
    if tuple(images.shape[1:]) != (28, 28):
        raise ValueError(f"{a.data}: images are {tuple(images.shape[1:])}, the cnn presets take 28x28")
    mean, std = images.float().mean() / 255.0, images.float().std() / 255.0
    idx = torch.randperm(images.shape[0], generator=gen).repeat(n // images.shape[0] + 1)[:n]
    x = (images[idx].float() / 255.0 - mean) / std
    return x.reshape(a.pool, a.batch, 1, 28, 28), labels[idx].reshape(a.pool, a.batch)


def run(a, rec):
    cuda = a.device == "cuda"
    if cuda:
        if not torch.cuda.is_available():
            return "unsupported", "no CUDA device visible to PyTorch"
        torch.backends.cuda.matmul.allow_tf32 = a.precision == "tf32"
        torch.backends.cudnn.allow_tf32 = a.precision == "tf32"
        torch.backends.cudnn.benchmark = True
        rec["device_name"] = torch.cuda.get_device_name()
    elif a.precision != "fp32":
        return "unsupported", "the cpu peer runs fp32 only"
    else:
        torch.set_num_threads(a.threads or os.cpu_count())
        rec["device_name"] = f"{platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    xs, ys = make_pool(a, gen)
    if cuda and a.feed == "pinned":
        xs, ys = xs.pin_memory(), ys.pin_memory()

    def to_device(x, y):
        return (x.to(dev, non_blocking=True).contiguous(memory_format=torch.channels_last),
                y.to(dev, non_blocking=True))

    copy_per_step = cuda and a.feed == "pinned"
    base = torch.cuda.memory_allocated() if cuda else 0
    batches = [(xs[i], ys[i]) if copy_per_step else to_device(xs[i], ys[i]) for i in range(a.pool)]
    del xs, ys
    pool_bytes = (torch.cuda.memory_allocated() - base) if cuda else 0

    model = build_model(a.size).to(dev, memory_format=torch.channels_last)
    rec["params"] = sum(p.numel() for p in model.parameters())
    decay = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    ids = {id(p) for p in decay}
    other = [p for p in model.parameters() if id(p) not in ids]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": other, "weight_decay": 0.0}],
                          lr=a.lr, momentum=0.9, fused=cuda)
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(a.precision)
    scaler = torch.amp.GradScaler("cuda", enabled=a.precision == "fp16")
    fwd = torch.compile(model) if a.compile else model
    model.train()
    times, losses = [], []
    t_start = time.perf_counter()
    for step in range(a.steps):
        if step == a.warmup:  # compilation and cudnn.benchmark's search are behind: time and peak from here
            rec["warmup_s"] = time.perf_counter() - t_start
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
        stop = step_timer(cuda)
        x, y = batches[step % a.pool]
        if copy_per_step:
            x, y = to_device(x, y)
        with torch.autocast(a.device, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss = F.cross_entropy(fwd(x), y)
        opt.zero_grad(set_to_none=True)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a.steps, a.lr)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        times.append(stop())
        losses.append(loss.item())
    timed = sorted(times[a.warmup:])
    p50 = statistics.median(timed)
    rec.update(step_ms_p50=p50, step_ms_p95=timed[min(len(timed) - 1, int(round(0.95 * (len(timed) - 1))))],
               samples_per_sec=a.batch / (p50 / 1e3), initial_loss=losses[0], final_loss=losses[-1])
    if cuda:
        extra = pool_bytes - pool_bytes // a.pool if a.feed == "device" else 0
        rec["peak_device_bytes"] = torch.cuda.max_memory_allocated() - extra
    return "ok", ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="tiny", choices=SIZES)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16", "fp16"])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.2, help="peak learning rate (default 0.2, amptune's sgd default for cnn tiny)")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--feed", default="device", choices=["device", "pinned"])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                    help="a Fashion-MNIST directory (train-images-idx3-ubyte[.gz], ...) or 'synthetic'")
    ap.add_argument("--pool", type=int, default=8, help="distinct batches cycled through (default 8)")
    ap.add_argument("--threads", type=int, default=0, help="cpu threads (default all cores)")
    ap.add_argument("--seed", type=int, default=1337)
    a = ap.parse_args()
    if a.warmup >= a.steps or a.pool < 1 or a.batch < 1:
        ap.error("--warmup must be below --steps, and --pool and --batch at least 1")
    rec = {"peer": "pytorch-compile" if a.compile else "pytorch-eager", "torch": torch.__version__,
           "device": a.device, "device_name": None, "size": a.size, "precision": a.precision, "batch": a.batch,
           "steps": a.steps, "warmup_steps": a.warmup, "feed": a.feed, "data": a.data, "params": None,
           "step_ms_p50": None, "step_ms_p95": None, "samples_per_sec": None, "peak_device_bytes": None,
           "warmup_s": None, "initial_loss": None, "final_loss": None}
    run_point(run, a, rec)


if __name__ == "__main__":
    main()
