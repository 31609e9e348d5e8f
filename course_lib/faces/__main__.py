"""SynthFaces from the command line.

``python -m course_lib.faces --compile`` compiles the renderer into Numba's cache (what ``make`` does once, so
that no notebook waits for it). A gallery of faces for instructors: ``tools/gallery.py``.
"""
from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.faces", description=__doc__)
    parser.add_argument("--compile", action="store_true", required=True,
                        help="compile the renderer now (cached for every later run)")
    parser.parse_args(argv)
    from course_lib import faces

    start = time.perf_counter()
    faces.render_indices([0], size=32)
    print(f"SynthFaces renderer ready in {time.perf_counter() - start:.1f} s (compiled once, then loaded from the cache)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
