"""PyTorch twin of amptune's `cnn tiny` and `cnn resnet` (bench/cpu_cnn.sh runs it).

Same architecture (NCHW here, NHWC in amptune), same optimiser (SGD, momentum
0.9, weight decay 5e-4 on every parameter here vs conv/FC weights only in
amptune: same cost), same data path per step (a shuffled batch of uint8
Fashion-MNIST images normalised to float), same timing: the median of the
per-step wall times after the warm-up steps. Prints one JSON line.
"""
import argparse
import gzip
import json
import statistics
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.sc = None
        if stride != 1 or cin != cout:
            self.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (x if self.sc is None else self.sc(x)))


class Net(nn.Module):
    def __init__(self, widths=(16, 32, 64), blocks=(1, 1, 1), classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        layers, cin = [], widths[0]
        for s, (w, n) in enumerate(zip(widths, blocks)):
            for b in range(n):
                layers.append(Block(cin, w, 2 if s > 0 and b == 0 else 1))
                cin = w
        self.stages = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# amptune's presets (trainer/config.c): channels and basic blocks per stage
SIZES = {"tiny": ((16, 32, 64), (1, 1, 1)), "resnet": ((64, 128, 256, 512), (2, 2, 2, 2))}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--size", choices=sorted(SIZES), default="tiny")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1337)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    images = read_idx(f"{a.data}/train-images-idx3-ubyte.gz")
    labels = read_idx(f"{a.data}/train-labels-idx1-ubyte.gz").long()
    model = Net(*SIZES[a.size])
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    model.train()
    perm = torch.randperm(images.shape[0])
    times, losses = [], []
    for step in range(a.steps):
        t0 = time.perf_counter()
        idx = perm[step * a.batch:(step + 1) * a.batch]
        x = (images[idx].float().unsqueeze(1) / 255.0 - 0.2860) / 0.3530
        y = labels[idx]
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        times.append((time.perf_counter() - t0) * 1e3)
    p50 = statistics.median(times[a.warmup:])
    print(json.dumps({"impl": "pytorch", "size": a.size, "torch": torch.__version__, "threads": a.threads, "batch": a.batch,
                      "steps": a.steps, "step_ms_p50": p50, "samples_per_sec": a.batch / (p50 / 1e3),
                      "initial_loss": losses[0], "final_loss": losses[-1],
                      "params": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main()
