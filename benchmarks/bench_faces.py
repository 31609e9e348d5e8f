#!/usr/bin/env python
"""SynthFaces rendering speed: faces/s at 64 px and 128 px, batched vs one face per call; and a training loop's
batches of 16 from ``data.face_batches`` (rendered a chunk ahead when read in order) vs one render call per batch.

Target (issue 3): >= 2,000 faces/s at 64 px on 2 CPU cores. The baseline timed in the same run,
alternating with the candidate, is the naive way a Dataset would render: one face per call. For the training
loop's batches the baseline is what ``face_batches`` did before it rendered ahead: one call per batch.
Usage: .venv/bin/python benchmarks/bench_faces.py [--repeats 7] [--threads 2]
"""
from __future__ import annotations

import statistics
import sys

from common import render_batch_alone, setup, timed


def main(argv: list[str] | None = None) -> int:
    args = setup(__doc__, argv, repeats=7)

    from course_lib import data, faces

    def in_order(size: int, steps: int, seed: int) -> None:
        """A training loop's reads: batches of 16, step after step, from a fresh ``face_batches``."""
        batch = data.face_batches(16, size=size, seed=seed, makeup=0.5)
        for step in range(steps):
            batch(step)

    def per_batch(size: int, steps: int, seed: int) -> None:
        """The same faces, one render call per batch of 16."""
        for step in range(steps):
            render_batch_alone(step, size, seed)

    cases = {  # name -> (faces per call, function of the repeat index)
        "64 px, batched (512 faces, half wearing makeup)": (512, lambda r: faces.render_indices(range(512), seed=r, size=64, makeup=0.5)),
        "64 px, bare faces only (512)": (512, lambda r: faces.render_indices(range(512), seed=r, size=64, makeup=False)),
        "64 px, one face per call (baseline, 64 faces)": (64, lambda r: [faces.render_indices([i], seed=r, size=64, makeup=0.5) for i in range(64)]),
        "128 px, batched (128 faces, half wearing makeup)": (128, lambda r: faces.render_indices(range(128), seed=r, size=128, makeup=0.5)),
        "32 px, face_batches(16), 64 steps in order": (1024, lambda r: in_order(32, 64, r)),
        "32 px, one call per batch of 16 (baseline)": (1024, lambda r: per_batch(32, 64, r)),
        "64 px, face_batches(16), 32 steps in order": (512, lambda r: in_order(64, 32, r)),
        "64 px, one call per batch of 16 (baseline)": (512, lambda r: per_batch(64, 32, r)),
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
    for size in (32, 64):
        steps = 64 if size == 32 else 32
        ratio = med[f"{size} px, face_batches(16), {steps} steps in order"] / med[f"{size} px, one call per batch of 16 (baseline)"]
        print(f"training loop's batches of 16 at {size} px, rendered ahead / one call per batch: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
