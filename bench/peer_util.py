"""What the PyTorch peers of the GPU benchmarks (bench/gpt_torch.py, bench/cnn_torch.py) share."""
import math

EXIT = {"ok": 0, "failed": 1, "unsupported": 69, "oom": 75}  # amptune's exit codes per status


def lr_at(step, total, peak, min_frac=0.1):
    """amptune's schedule (trainer/train.c tr_lr_at): linear warm-up over 10% of the steps, then
    cosine decay to peak / 10."""
    warmup = total // 10
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / (total - warmup) if total > warmup else 1.0
    return peak * min_frac + 0.5 * peak * (1 - min_frac) * (1 + math.cos(math.pi * progress))
