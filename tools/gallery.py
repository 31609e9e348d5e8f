#!/usr/bin/env python
"""Write a gallery of random SynthFaces to a PNG file, for instructors (slides, handouts, a first look).

Usage:
    .venv/bin/python tools/gallery.py gallery.png --size 128 --n 64 --seed 0 --makeup 0.8
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course_lib import faces, viz  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="PNG file to write")
    parser.add_argument("--n", type=int, default=64, help="number of faces (a square grid)")
    parser.add_argument("--size", type=int, default=64, choices=(32, 64, 128, 256))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--makeup", type=float, default=0.8, help="probability that a face wears makeup")
    args = parser.parse_args(argv)
    if args.out.suffix.lower() != ".png":
        parser.error(f"the gallery is a PNG file: give a name ending in .png, got {str(args.out)!r}")
    batch = faces.render_indices(range(args.n), seed=args.seed, size=args.size, makeup=args.makeup)
    args.out.write_bytes(viz.to_png_bytes(viz.make_grid(batch.images, nrow=int(np.ceil(np.sqrt(args.n))))))
    print(f"wrote {args.n} faces ({args.size} px, seed {args.seed}) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
