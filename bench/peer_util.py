"""What the PyTorch peers of the GPU benchmarks (bench/gpt_torch.py, bench/cnn_torch.py) share."""
import json
import math
import sys

EXIT = {"ok": 0, "failed": 1, "unsupported": 69, "oom": 75}  # amptune's exit codes per status


def lr_at(step, total, peak, min_frac=0.1):
    """amptune's schedule (trainer/train.c tr_lr_at): linear warm-up over 10% of the steps, then
    cosine decay to peak / 10."""
    warmup = total // 10
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / (total - warmup) if total > warmup else 1.0
    return peak * min_frac + 0.5 * peak * (1 - min_frac) * (1 + math.cos(math.pi * progress))


def run_point(run, a, rec):
    """run(a, rec) -> (status, message), filling rec; prints rec as one JSON line whatever happens
    (a failed point is a row of the table, not the end of the benchmark) and exits with amptune's
    code for the status."""
    import torch

    try:
        status, message = run(a, rec)
    except torch.cuda.OutOfMemoryError as e:
        status, message = "oom", str(e).split("\n")[0]
    except Exception as e:
        text = str(e).strip()
        status, message = "failed", f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"
    rec.update(status=status, message=message[:300])
    print(json.dumps(rec), flush=True)
    sys.exit(EXIT.get(status, 1))
