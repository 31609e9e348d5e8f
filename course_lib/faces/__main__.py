"""Write a gallery of random SynthFaces for instructors: ``python -m course_lib.faces --gallery FILE.png``."""
from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.faces", description=__doc__)
    parser.add_argument("--gallery", required=True, help="PNG file to write")
    parser.add_argument("--n", type=int, default=64, help="number of faces (a square grid)")
    parser.add_argument("--size", type=int, default=64, choices=(32, 64, 128, 256))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--makeup", type=float, default=0.8, help="probability that a face wears makeup")
    args = parser.parse_args(argv)

    import matplotlib.image as mpimg

    from course_lib import faces, viz

    batch = faces.render_indices(range(args.n), seed=args.seed, size=args.size, makeup=args.makeup)
    grid = viz.make_grid(batch.images, nrow=int(np.ceil(np.sqrt(args.n))))
    mpimg.imsave(args.gallery, grid)
    print(f"wrote {args.n} faces ({args.size} px, seed {args.seed}) to {args.gallery}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
