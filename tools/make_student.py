#!/usr/bin/env python
"""Generate student notebooks (notebooks/) from the instructor's solutions (solutions/).

Rules, applied cell by cell:
- code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes ``# YOUR CODE HERE`` and
  ``raise NotImplementedError()``, indented like the BEGIN marker;
- in markdown cells, the answer between the same markers becomes a prompt for the student's answer;
- cells tagged ``solution-only`` are dropped;
- outputs and execution counts are cleared (solutions must already be stripped: ``--check`` says so).

Usage: ``python tools/make_student.py`` (write), ``--check`` (exit 1 on drift), ``--src``/``--dst`` folders.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEGIN = re.compile(r"^(\s*)(#|<!--)?\s*#*\s*BEGIN SOLUTION\b")
END = re.compile(r"^\s*(#|<!--)?\s*#*\s*END SOLUTION\b")
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "*Your answer here.*"
DROP_TAG = "solution-only"


class MarkerError(ValueError):
    """A solution marker is unbalanced; the message names the notebook and the cell."""


def cell_source(cell: dict) -> str:
    """A cell's text (Jupyter stores it as one string or as a list of lines)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def strip_solutions(text: str, kind: str, where: str) -> str:
    """Replace each BEGIN/END SOLUTION block in a cell's text by the student stub."""
    out: list[str] = []
    inside = False
    indent = ""
    for number, line in enumerate(text.split("\n"), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if inside:
                raise MarkerError(f"{where}, line {number}: BEGIN SOLUTION inside another solution block")
            inside, indent = True, begin.group(1)
            if kind == "code":
                out.extend(indent + stub for stub in CODE_STUB)
            else:
                out.append(MARKDOWN_STUB)
        elif end:
            if not inside:
                raise MarkerError(f"{where}, line {number}: END SOLUTION without a BEGIN SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{where}: BEGIN SOLUTION is never closed (add a '### END SOLUTION' line)")
    return "\n".join(out)


def make_student(nb: dict, name: str) -> dict:
    """Return the student version of a solutions notebook (a new dict; ``nb`` is left alone)."""
    student = copy.deepcopy(nb)
    cells = []
    for index, cell in enumerate(nb.get("cells", [])):
        if DROP_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        new = copy.deepcopy(cell)
        where = f"{name}, cell {index} ({cell.get('cell_type')})"
        if cell.get("cell_type") in ("code", "markdown"):
            text = strip_solutions(cell_source(cell), cell["cell_type"], where)
            new["source"] = text
        if new.get("cell_type") == "code":
            new["outputs"], new["execution_count"] = [], None
        cells.append(new)
    student["cells"] = cells
    return student


def dumps(nb: dict) -> str:
    """Serialise like Jupyter does (1-space indent, sorted keys, trailing newline), so diffs stay small."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def has_outputs(nb: dict) -> bool:
    """Return True when any code cell carries outputs or an execution count."""
    return any(c.get("outputs") or c.get("execution_count") for c in nb.get("cells", []) if c.get("cell_type") == "code")


def run(src: Path, dst: Path, check: bool) -> list[str]:
    """Generate (or, with ``check``, compare) every notebook; return the list of problems found."""
    problems: list[str] = []
    sources = sorted(src.glob("*.ipynb"))
    if not sources:
        problems.append(f"no notebooks in {src}")
    for path in sources:
        nb = json.loads(path.read_text(encoding="utf-8"))
        if has_outputs(nb):
            problems.append(f"{path.name}: solutions must be stored without outputs (clear them, or run `make notebooks`)")
        text = dumps(make_student(nb, path.name))
        target = dst / path.name
        if check:
            if not target.exists():
                problems.append(f"{target.name}: missing from {dst.name}/ (run `make notebooks`)")
            elif target.read_text(encoding="utf-8") != text:
                problems.append(f"{target.name}: differs from what {path.name} generates (run `make notebooks`)")
        else:
            dst.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    expected = {p.name for p in sources}
    for extra in sorted(dst.glob("*.ipynb")):
        if extra.name not in expected:
            problems.append(f"{extra.name}: in {dst.name}/ but has no source in {src.name}/")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if notebooks/ differs from what would be generated")
    parser.add_argument("--src", type=Path, default=REPO / "solutions")
    parser.add_argument("--dst", type=Path, default=REPO / "notebooks")
    args = parser.parse_args(argv)
    try:
        problems = run(args.src, args.dst, args.check)
    except MarkerError as err:
        print(f"make_student: {err}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"make_student: {problem}", file=sys.stderr)
    if not problems:
        count = len(list(args.src.glob("*.ipynb")))
        print(f"make_student: {count} notebooks {'in sync' if args.check else 'written'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
