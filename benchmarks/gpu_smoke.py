#!/usr/bin/env python
"""GPU smoke test: every ``train.fit`` target for a few hundred steps on CUDA with mixed precision.

For each GAN that ``tools/train_checkpoints.py`` trains with ``train.fit`` (dcgan64 with its recipe, cgan64),
train from scratch for ``--steps`` steps on the device with its autocast (bf16 or fp16 + GradScaler), then
print real images per second, the final losses and a short quality check (precision/recall against held-out
real faces for dcgan64, lipstick obedience for cgan64), so the GPU path is verified in minutes on any
machine with a CUDA GPU. It refuses to run without one unless ``--device cpu`` is given (a quick check that
the script itself works). The encoder and the transfer models train on the CPU only, and are not run here.

Usage: .venv/bin/python benchmarks/gpu_smoke.py [--steps 300] [--device cuda] [--n-eval 500]   (make gpu-smoke)
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

import torch  # noqa: E402

from course_lib import data, device as dev, encoder, metrics, models, train  # noqa: E402
import train_checkpoints as recipes  # noqa: E402  (the shipped checkpoints' architectures and settings)


def smoke_dcgan(device: torch.device, steps: int, n_eval: int, enc) -> dict:
    G, D, cfg = recipes.dcgan64_models_and_config(steps=steps)
    t0 = time.perf_counter()
    run = train.fit(G, D, data.face_batches(cfg.batch_size, size=64, seed=cfg.seed, makeup=0.5), cfg, device=device, progress=False)
    seconds = time.perf_counter() - t0
    real = data.face_batches(n_eval, size=64, seed=9000, makeup=0.5)(0)
    fake = train.generate(run.G_ema, n_eval, generator=torch.Generator().manual_seed(7000), device=device)
    report = metrics.face_report(enc, real, fake)
    return {"seconds": seconds, "history": run.history, "precision": report["precision"], "recall": report["recall"]}


def smoke_cgan(device: torch.device, steps: int, n_eval: int, enc) -> dict:
    G, D, cfg = recipes.cgan64_models_and_config(steps=steps)
    batches = data.face_batches(cfg.batch_size, size=64, seed=cfg.seed, makeup=0.85, with_style=True)
    t0 = time.perf_counter()
    run = train.fit(G, D, batches, cfg, device=device, progress=False)
    seconds = time.perf_counter() - t0
    report = metrics.obedience_report(enc, run.G_ema.cpu(), n=n_eval)
    return {"seconds": seconds, "history": run.history, "lips_dE2000": report["lips_dE2000"],
            "identity_drift_ratio": report["identity_drift_ratio"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu to check the script")
    parser.add_argument("--n-eval", type=int, default=500)
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_smoke: no CUDA device is visible to torch (torch.cuda.is_available() is False); "
              "run it on a machine with an NVIDIA GPU and a CUDA build of torch, or pass --device cpu "
              "to check the script itself", file=sys.stderr)
        return 2
    device = dev.get_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"# {' '.join(sys.argv)}")
    print(f"# {name}, torch {torch.__version__}, autocast {dev.amp_dtype(device)}, "
          f"grad scaler {dev.needs_grad_scaler(device, enabled=True)}")
    enc = encoder.load_shipped().model
    failed = False
    for target, fn in (("dcgan64", smoke_dcgan), ("cgan64", smoke_cgan)):
        out = fn(device, args.steps, args.n_eval, enc)
        h = out.pop("history")
        finite = all(map(lambda v: v == v and abs(v) != float("inf"), h["d_loss"] + h["g_loss"]))
        failed |= not finite
        rate = statistics.median(h["img_per_s"][1:] or h["img_per_s"])
        scores = " ".join(f"{k} {v:.3f}" for k, v in out.items() if k != "seconds")
        print(f"{target}: {args.steps} steps in {out['seconds']:.0f} s, median {rate:.0f} real img/s, "
              f"final d_loss {h['d_loss'][-1]:.3f} g_loss {h['g_loss'][-1]:.3f}, losses finite: {finite}; {scores}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
