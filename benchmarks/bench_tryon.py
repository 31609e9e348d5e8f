#!/usr/bin/env python
"""Try-on latency at batch 1: the models alone at 64 and 128 px, and end to end on a 512 px portrait.

Targets (issue 7): <= 10 ms at 64 px and <= 33 ms at 128 px (30 fps) per image on 2 CPU cores. The baseline
timed in the same run, alternating with the candidates, is the classic per-region histogram transfer given
the true masks (makeup.histogram_transfer), the method a try-on GAN has to beat. Medians over --repeats rounds
of --calls calls each. The 128 px figure times the same architecture at 128 px (the shipped weights are 64 px).
The unpaired layered model's time is almost all its style read-out (``makeup.fit_style``: 150 Adam steps on the
reference), paid once per reference; applying a read style is the layer model alone.
Usage: .venv/bin/python benchmarks/bench_tryon.py [--repeats 7] [--calls 30] [--threads 2]
"""
from __future__ import annotations

import statistics
import sys
import time

from common import setup


def per_call_ms(fn, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls * 1000


def main(argv: list[str] | None = None) -> int:
    args = setup(__doc__, argv, repeats=7, calls=30)
    import torch

    from course_lib import data, makeup, models, tryon

    nets = tryon.load_models()
    tri = data.transfer_triplets(1, seed=99)
    x64, ref64, s = tri["source"], tri["reference"], tri["style"]
    G128 = models.TryOnGenerator(width=nets.G.width, size=128).eval()
    G128.load_state_dict(nets.G.state_dict())  # same weights; a fully convolutional net runs at any size
    x128 = torch.nn.functional.interpolate(x64, size=(128, 128), mode="bilinear", align_corners=False)
    src01 = ((x64[0] + 1) / 2).permute(1, 2, 0).numpy()
    ref01 = ((ref64[0] + 1) / 2).permute(1, 2, 0).numpy()
    m_src = {k: v[0, 0] for k, v in tri["masks"].items()}
    m_ref = {k: v[0, 0] for k, v in tri["reference_masks"].items()}
    cases = {
        "baseline: histogram transfer, 64 px, true masks": lambda: makeup.histogram_transfer(src01, ref01, m_src, m_ref),
        "try-on G, 64 px, shade": lambda: nets.G(x64, s),
        "try-on G + style encoder, 64 px, reference": lambda: nets.G(x64, nets.E(ref64)),
        "BeautyGAN-style G, 64 px": lambda: nets.R(x64, ref64),
        "layered (unpaired), 64 px, reference": lambda: nets.L(x64, ref64),
        "try-on G, 128 px (architecture)": lambda: G128(x128, s),
        "apply_shade, 512 px portrait, end to end": lambda: tryon.apply_shade("astronaut", "plum", nets=nets),
    }
    with torch.inference_mode():
        for fn in cases.values():  # warm-up
            for _ in range(3):
                fn()
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeats):  # alternate the cases within each round
            for name, fn in cases.items():
                times[name].append(per_call_ms(fn, args.calls))
    med = {name: statistics.median(v) for name, v in times.items()}
    base = med["baseline: histogram transfer, 64 px, true masks"]
    for name, value in med.items():
        print(f"{name:<48} median {value:7.2f} ms   (min {min(times[name]):.2f}, max {max(times[name]):.2f})   "
              f"{base / value:5.1f}x the baseline's speed")
    print(f"targets: 64 px <= 10 ms: {med['try-on G, 64 px, shade']:.2f} ms; 128 px <= 33 ms: {med['try-on G, 128 px (architecture)']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
