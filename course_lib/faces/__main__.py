"""SynthFaces from the command line.

``python -m course_lib.faces --gallery FILE.png`` writes a gallery of random faces for instructors;
``python -m course_lib.faces --compile`` compiles the renderer into Numba's cache (what ``make`` does once, so
that no notebook waits for it).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.faces", description=__doc__)
    task = parser.add_mutually_exclusive_group(required=True)
    task.add_argument("--gallery", help="PNG file to write")
    task.add_argument("--compile", action="store_true", help="compile the renderer now (cached for every later run)")
    parser.add_argument("--n", type=int, default=64, help="number of faces (a square grid)")
    parser.add_argument("--size", type=int, default=64, choices=(32, 64, 128, 256))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--makeup", type=float, default=0.8, help="probability that a face wears makeup")
    args = parser.parse_args(argv)
    if args.compile:
        import time

        from course_lib import faces

        start = time.perf_counter()
        faces.render_indices([0], size=32)
        print(f"SynthFaces renderer ready in {time.perf_counter() - start:.1f} s (compiled once, then loaded from the cache)")
        return 0

    import matplotlib.image as mpimg

    from course_lib import faces, viz

    batch = faces.render_indices(range(args.n), seed=args.seed, size=args.size, makeup=args.makeup)
    grid = viz.make_grid(batch.images, nrow=int(np.ceil(np.sqrt(args.n))))
    mpimg.imsave(args.gallery, grid)
    print(f"wrote {args.n} faces ({args.size} px, seed {args.seed}) to {args.gallery}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
