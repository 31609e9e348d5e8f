#!/usr/bin/env python
"""DCGAN-64 training throughput: the course trainer against a plain reference loop, same run, alternating.

The reference is the pytorch/examples DCGAN loop: fp32, contiguous tensors, D ending in Sigmoid and
nn.BCELoss. The course trainer is ``train.fit`` (EMA, history, NaN guard included) in three settings:
its defaults (mixed precision where the CPU has native bf16, channels_last), plain fp32, and bf16 forced
on (to show what autocast does on *this* CPU). Same model sizes (ngf = ndf = 64), batch 64, same
threads, the same pre-rendered real batch (data loading is not timed).
Targets (issue 5): defaults / reference >= 1.6x on a CPU with native bf16; fp32 / reference >= 0.95x.
Usage: .venv/bin/python benchmarks/bench_dcgan.py [--steps 6] [--repeats 5] [--threads 2] [--width 64]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from course_lib import device as dev, models, train  # noqa: E402


def reference_loop(G: nn.Module, D: nn.Module, x_real: torch.Tensor, steps: int) -> float:
    """pytorch/examples dcgan/main.py, condensed; returns real images per second."""
    D_sig = nn.Sequential(D, nn.Sigmoid())
    criterion = nn.BCELoss()
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    b = x_real.shape[0]
    real_label, fake_label = torch.ones(b), torch.zeros(b)
    t0 = time.perf_counter()
    for _ in range(steps):
        D.zero_grad()
        err_real = criterion(D_sig(x_real), real_label)
        err_real.backward()
        fake = G(torch.randn(b, 100))
        err_fake = criterion(D_sig(fake.detach()), fake_label)
        err_fake.backward()
        opt_D.step()
        G.zero_grad()
        err_G = criterion(D_sig(fake), real_label)
        err_G.backward()
        opt_G.step()
        (err_real + err_fake).item(), err_G.item()  # the reference prints its losses every step (a device sync)
    return steps * b / (time.perf_counter() - t0)


def course_loop(G: nn.Module, D: nn.Module, x_real: torch.Tensor, steps: int, amp: bool, channels_last: bool) -> float:
    cfg = train.TrainConfig(steps=steps, batch_size=x_real.shape[0], amp=amp, channels_last=channels_last,
                            log_every=steps, checkpoint_every=0)
    t0 = time.perf_counter()
    train.fit(G, D, lambda step: x_real, cfg, device="cpu", progress=False)
    return steps * x_real.shape[0] / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--width", type=int, default=64)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"# {' '.join(sys.argv)}")
    print(f"# {platform.machine()}, torch {torch.__version__}, {args.threads} threads, CPU native bf16: "
          f"{dev.cpu_supports_bf16()} -> course default autocast: {dev.amp_dtype('cpu') or 'none (fp32)'}")
    x_real = torch.rand(64, 3, 64, 64) * 2 - 1

    def fresh():
        torch.manual_seed(0)
        G, D = models.DCGANGenerator(size=64, width=args.width), models.DCGANDiscriminator(size=64, width=args.width)
        G.apply(models.dcgan_init), D.apply(models.dcgan_init)
        return G, D

    forced_bf16 = lambda G, D, x, n: _with_bf16(lambda: course_loop(G, D, x, n, amp=True, channels_last=True))  # noqa: E731
    cases = {
        "reference (fp32, Sigmoid + BCELoss)": lambda G, D, x, n: reference_loop(G, D, x, n),
        "course, defaults": lambda G, D, x, n: course_loop(G, D, x, n, amp=True, channels_last=True),
        "course, fp32 contiguous": lambda G, D, x, n: course_loop(G, D, x, n, amp=False, channels_last=False),
        "course, bf16 forced + channels_last": forced_bf16,
    }
    for fn in cases.values():  # warm-up
        fn(*fresh(), x_real, 1)
    rates: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.repeats):
        for name, fn in cases.items():
            rates[name].append(fn(*fresh(), x_real, args.steps))
    med = {k: statistics.median(v) for k, v in rates.items()}
    ref = med["reference (fp32, Sigmoid + BCELoss)"]
    for name, value in med.items():
        print(f"{name:<40} median {value:7.1f} img/s   ratio to reference {value / ref:5.2f}x   (runs: {', '.join(f'{r:.0f}' for r in rates[name])})")
    return 0


def _with_bf16(fn):
    """Run ``fn`` with the CPU treated as bf16-capable (what the course does on a CPU with AVX-512 BF16/AMX)."""
    original = dev.cpu_supports_bf16
    dev.cpu_supports_bf16 = lambda: True
    try:
        return fn()
    finally:
        dev.cpu_supports_bf16 = original


if __name__ == "__main__":
    sys.exit(main())
