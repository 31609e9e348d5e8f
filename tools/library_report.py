#!/usr/bin/env python
"""How easy the library is to change, in numbers: its longest functions, its hand-written training loops, the
files that write the makeup style vector's layout by number, and its broken import boundaries (the checker of
tests/test_boundaries.py, run on the given tree).

Usage:
    .venv/bin/python tools/library_report.py                # this checkout
    git worktree add /tmp/old <rev> && .venv/bin/python tools/library_report.py /tmp/old   # an earlier state
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
# numeric slices and indices of the 15-number style vector, as the library wrote them before it had names for them
STYLE_INDEX = re.compile(r"\[:, ?0:3\]|v\[0:3\]|5:8\]|10:13\]|\(3, 8, 13, 14\)|\{0: 3, 1: 3|\"lips\": \(3,\)|\[:, 0:4\]"
                         r"|v\[(?:3|4|8|9|13|14)\]|v\[:, (?:3:4|4:5|8:9|9:10|13:14|14:15)\]")


def report(repo: Path) -> dict:
    lib = repo / "course_lib"
    functions, loops, layout = [], 0, []
    for path in sorted(lib.rglob("*.py")):
        text = path.read_text()
        rel = str(path.relative_to(repo))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef):
                functions.append((node.end_lineno - node.lineno + 1, f"{rel}:{node.name}"))
        loops += len(re.findall(r"^\s*for step in range\(", text, re.M))
        if STYLE_INDEX.search(text):
            layout.append(rel)
    spec = importlib.util.spec_from_file_location("boundaries", HERE / "tests" / "test_boundaries.py")
    boundaries = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(boundaries)
    return {"longest functions": sorted(functions, reverse=True)[:5], "hand-written step loops": loops,
            "files writing style-vector indices by number": layout, "boundary violations": boundaries.violations(lib)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", type=Path, default=HERE, help="a checkout of the course (default: this one)")
    args = parser.parse_args(argv)
    for key, value in report(args.repo.resolve()).items():
        if isinstance(value, list):
            print(f"{key}: {len(value)}")
            for item in value[:12]:
                print(f"  {item}")
        else:
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
