#!/usr/bin/env python
"""Training steps fed by ``data.face_batches`` (batches rendered a chunk of steps ahead) against one render call
per batch (what ``face_batches`` did before), in ``train.fit`` with the shipped recipe, same run, alternating.

Two cases, each with batches of 16: notebook 03's from-scratch run (32 px) and ``dcgan64``'s (64 px). Both
sides train the same models on the same faces, from the same seed, so only the data's cost differs; a run of
``--steps`` steps is timed whole (rendering included) and the medians over ``--repeats`` are compared.
Usage: .venv/bin/python benchmarks/bench_data.py [--steps 200] [--repeats 5] [--threads 2]
"""
from __future__ import annotations

import statistics
import sys

from common import render_batch_alone, setup, timed


def main(argv: list[str] | None = None) -> int:
    args = setup(__doc__, argv, steps=200, repeats=5)

    from course_lib import data, device as dev, train

    def run(size: int, source: str, steps: int) -> None:
        dev.set_seed(1000)
        G, D = train.recipes.FAST.models(size=size, width=32)
        cfg = train.recipes.FAST.config(steps=steps, batch_size=16, seed=0, checkpoint_every=0)
        batches = (data.face_batches(16, size=size, seed=100, makeup=0.5) if source == "ahead"
                   else lambda step: render_batch_alone(step, size, 100))
        train.fit(G, D, batches, cfg, progress=False)

    cases = {(size, source): (steps, lambda size=size, source=source, steps=steps: run(size, source, steps))
             for size, steps in ((32, args.steps), (64, max(1, args.steps // 3))) for source in ("ahead", "per batch")}
    for steps, fn in cases.values():  # warm-up: the renderer's and oneDNN's caches
        fn()
    ms: dict = {key: [] for key in cases}
    for _ in range(args.repeats):  # alternate the cases within each repeat
        for key, (steps, fn) in cases.items():
            ms[key].append(1000 * timed(fn) / steps)
    for (size, source), values in ms.items():
        print(f"{size} px, batches of 16, {source:<9}: median {statistics.median(values):6.1f} ms a step "
              f"(min {min(values):.1f}, max {max(values):.1f})")
    for size in (32, 64):
        ratio = statistics.median(ms[(size, "per batch")]) / statistics.median(ms[(size, "ahead")])
        print(f"{size} px: a step rendering ahead is {ratio:.2f}x as fast as one render call per batch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
