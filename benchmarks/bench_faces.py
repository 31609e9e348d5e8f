#!/usr/bin/env python
"""SynthFaces rendering speed: faces/s at 64 px and 128 px, batched vs one face per call.

Target (issue 3): >= 2,000 faces/s at 64 px on 2 CPU cores. The baseline timed in the same run,
alternating with the candidate, is the naive way a Dataset would render: one face per call.
Usage: .venv/bin/python benchmarks/bench_faces.py [--repeats 7] [--threads 2]
"""
from __future__ import annotations

import statistics
import sys

from common import setup, timed


def main(argv: list[str] | None = None) -> int:
    args = setup(__doc__, argv, repeats=7)

    from course_lib import faces

    cases = {  # name -> (faces per call, function of the repeat index)
        "64 px, batched (512 faces, half wearing makeup)": (512, lambda r: faces.render_indices(range(512), seed=r, size=64, makeup=0.5)),
        "64 px, bare faces only (512)": (512, lambda r: faces.render_indices(range(512), seed=r, size=64, makeup=False)),
        "64 px, one face per call (baseline, 64 faces)": (64, lambda r: [faces.render_indices([i], seed=r, size=64, makeup=0.5) for i in range(64)]),
        "128 px, batched (128 faces, half wearing makeup)": (128, lambda r: faces.render_indices(range(128), seed=r, size=128, makeup=0.5)),
    }
    for _, fn in cases.values():  # warm-up: caches, allocator, texture banks
        fn(1000)
    rates: dict[str, list[float]] = {name: [] for name in cases}
    for r in range(args.repeats):  # alternate the cases within each repeat
        for name, (n, fn) in cases.items():
            rates[name].append(n / timed(lambda: fn(r)))
    med = {name: statistics.median(v) for name, v in rates.items()}
    for name, value in med.items():
        print(f"{name:<52} median {value:8.0f} faces/s   (min {min(rates[name]):.0f}, max {max(rates[name]):.0f})")
    base = med["64 px, one face per call (baseline, 64 faces)"]
    print(f"batched / one-per-call at 64 px: {med['64 px, batched (512 faces, half wearing makeup)'] / base:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
