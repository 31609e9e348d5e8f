"""What every benchmark shares: its command line (repeats, threads, ...) and the header naming the machine."""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: course_lib importable


def setup(doc: str, argv: list[str] | None = None, **defaults: int) -> argparse.Namespace:
    """Parse ``--threads`` and one ``--name`` int option per default, set torch's threads, print the header."""
    import torch

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    for name, value in defaults.items():
        parser.add_argument(f"--{name}", type=int, default=value)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"# {' '.join(sys.argv)}")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} threads")
    return args


def timed(fn) -> float:
    """Seconds one call of ``fn`` takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def render_batch_alone(step: int, size: int, seed: int, batch_size: int = 16):
    """Batch ``step`` of SynthFaces rendered by its own call (what ``data.face_batches`` did before it rendered
    ahead): the baseline of the data benchmarks."""
    from course_lib import faces

    start = batch_size * step
    return faces.render_indices(range(start, start + batch_size), seed=seed, size=size, makeup=0.5).images
