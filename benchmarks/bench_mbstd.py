#!/usr/bin/env python
"""Minibatch standard deviation on a CPU: the library's written-out variance against torch's ``var``, alternating.

``models.minibatch_std`` computes each group's variance as the mean square deviation; the baseline is the same
function with ``torch.var(dim=1, unbiased=False)``, which reduces over a dimension that is not the innermost one
and is several times slower on a CPU. Two timings, each alternating baseline and library with the same threads:
the layer alone (forward + backward on D's last 4 x 4 features at 32 px, batch 64) and a whole training step of
the fast recipe (``train.recipes.FAST``, width 32, batch 64; at 32 px notebook 03's run, at ``--size 64`` a
``dcgan64`` step as it trained before it moved to batches of 16), on one pre-rendered batch.
Prints the medians and their ratio (baseline / library: > 1 means the library is faster). The two agree to 1e-6.
Usage: .venv/bin/python benchmarks/bench_mbstd.py [--repeats 5] [--steps 20] [--size 32] [--threads 2]
"""
from __future__ import annotations

import math
import statistics

from common import setup, timed

import torch  # noqa: E402

from course_lib import data, models, train  # noqa: E402


def var_minibatch_std(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """The baseline: ``models.minibatch_std`` with torch's ``var`` over each group."""
    B, C, H, W = x.shape
    g = math.gcd(B, group_size)
    y = x.float().reshape(B // g, g, C, H, W)
    std = (y.var(dim=1, unbiased=False) + 1e-8).sqrt()
    s = std.mean(dim=(1, 2, 3)).repeat_interleave(g)
    return torch.cat([x, s[:, None, None, None].expand(B, 1, H, W).to(x.dtype)], dim=1)


def main(argv: list[str] | None = None) -> int:
    args = setup(__doc__, argv, repeats=5, steps=20, size=32)
    x = torch.randn(64, 128, 4, 4).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    gap = (models.minibatch_std(x) - var_minibatch_std(x)).abs().max().item()
    assert gap < 1e-5, f"the two implementations disagree by {gap}"

    def layer(fn):
        def run():
            for _ in range(50):
                fn(x).sum().backward()
        return run

    batch = data.face_batches(batch_size=64, size=args.size, seed=1)(0)

    def step(fn):
        def run():
            torch.manual_seed(0)
            G, D = train.recipes.FAST.models(size=args.size, width=32, mbstd_fn=fn)
            cfg = train.recipes.FAST.config(steps=args.steps, batch_size=64, log_every=10_000)
            train.fit(G, D, lambda s: batch, cfg, progress=False)
        return run

    cases = (("layer, forward + backward (ms)", layer, 50),
             (f"fast-recipe step, {args.size} px (ms)", step, args.steps))
    for what, make, per in cases:
        make(var_minibatch_std)(), make(models.minibatch_std)()  # warm-up
        times: dict[str, list[float]] = {"torch var": [], "library": []}
        for _ in range(args.repeats):
            times["torch var"].append(timed(make(var_minibatch_std)) / per * 1000)
            times["library"].append(timed(make(models.minibatch_std)) / per * 1000)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{what:<32} torch var {med['torch var']:7.2f}   library {med['library']:7.2f}   "
              f"ratio {med['torch var'] / med['library']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
