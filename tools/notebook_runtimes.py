"""Notebook runtimes from one measured source: time the notebooks once, write the figures everywhere they are shown.

The runtimes live in ``benchmarks/notebook_runtimes.json`` (wall-clock seconds per solutions notebook, default
settings and ``COURSE_FAST=1``, each with the machine that measured it). The README's notebook table, notebook 00's
table and every notebook's "Expected runtime" line are written from it, and a test fails when one of them
disagrees with the file.

    python tools/notebook_runtimes.py measure [NAME ...]   # time notebooks (both modes), update the JSON
    python tools/notebook_runtimes.py sync                  # write the JSON's figures into README and notebooks
    python tools/notebook_runtimes.py check                 # list what disagrees with the JSON (exit 1 if any)

After ``sync``, run ``tools/make_student.py`` so that notebooks/ follows solutions/.
Measure with nothing else busy on the machine: two busy processes on two cores slow each other 3-4x.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_student import cell_source, dumps  # noqa: E402  (the notebooks' one reader and writer)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "notebook_runtimes.json"
SOLUTIONS = ROOT / "solutions"
README = ROOT / "README.md"
WELCOME = SOLUTIONS / "00_welcome.ipynb"

# "**Expected runtime:** ~2.5 min on a 2-core CPU, ~15 s with `COURSE_FAST=1`" (the two figures are replaced).
HEADER = re.compile(r"(\*\*Expected runtime:\*\* )~[\d.]+ (?:s|min)( on a 2-core CPU, )~[\d.]+ (?:s|min)( with `COURSE_FAST=1`)")
# A table row that ends with the two runtime columns: "| 03 | ... | ~2.5 min | ~20 s |".
ROW = re.compile(r"^(\| (\d\d) \|.*\| )~[\d.]+ (?:s|min)( \| )~[\d.]+ (?:s|min)( \|)$", re.M)


def fmt(seconds: float) -> str:
    """A runtime as the tables show it: 5-second steps under a minute, half minutes above (at least ~5 s)."""
    if seconds < 57.5:
        return f"~{max(5, 5 * round(seconds / 5))} s"
    return f"~{round(seconds / 30) / 2:g} min"


def load() -> dict:
    return json.loads(RESULTS.read_text())


def _figures(results: dict) -> dict[str, tuple[str, str]]:
    """{"03": ("~2.5 min", "~20 s"), ...} from the JSON."""
    return {name[:2]: (fmt(v["full_s"]), fmt(v["fast_s"])) for name, v in results["notebooks"].items()}


def _rewrite_rows(text: str, figures: dict[str, tuple[str, str]]) -> str:
    def row(m: re.Match) -> str:
        if m.group(2) not in figures:
            return m.group(0)
        full, fast = figures[m.group(2)]
        return f"{m.group(1)}{full}{m.group(3)}{fast}{m.group(4)}"
    return ROW.sub(row, text)


def _cells(path: Path) -> tuple[dict, list]:
    nb = json.loads(path.read_text())
    return nb, nb["cells"]


def targets() -> list[tuple[str, str]]:
    """Every (where, text) that shows runtimes: the README, notebook 00's table, each notebook's header."""
    found = [("README.md", README.read_text())]
    for path in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")):
        _, cells = _cells(path)
        found.append((path.name, cell_source(cells[0])))
    return found


def check(results: dict | None = None) -> list[str]:
    """What disagrees with the measured figures (empty when everything agrees)."""
    results = results or load()
    figures = _figures(results)
    problems = []
    for where, text in targets():
        shown = {m.group(2): m.group(0) for m in ROW.finditer(text)}
        if where in ("README.md", WELCOME.name):
            missing = sorted(set(figures) - set(shown))
            if missing:
                problems.append(f"{where}: no runtime row for notebook(s) {missing}")
        if text != _rewrite_rows(text, figures):
            problems.append(f"{where}: a table row's runtimes differ from {RESULTS.name}")
        if where.endswith(".ipynb"):
            number = where[:2]
            m = HEADER.search(text)
            if m is None:
                problems.append(f"{where}: no '**Expected runtime:** ~X on a 2-core CPU, ~Y with `COURSE_FAST=1`' line")
            elif number in figures and m.group(0) != _header(m, figures[number]):
                problems.append(f"{where}: header says {m.group(0)!r}, measured {figures[number]}")
    return problems


def _header(m: re.Match, figures: tuple[str, str]) -> str:
    return f"{m.group(1)}{figures[0]}{m.group(2)}{figures[1]}{m.group(3)}"


def sync(results: dict | None = None) -> None:
    results = results or load()
    figures = _figures(results)
    README.write_text(_rewrite_rows(README.read_text(), figures))
    for path in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")):
        nb, cells = _cells(path)
        text = cell_source(cells[0])
        new = _rewrite_rows(text, figures)
        if path.name[:2] in figures:
            new = HEADER.sub(lambda m: _header(m, figures[path.name[:2]]), new)
        if new != text:
            cells[0]["source"] = new
            path.write_text(dumps(nb))
            print(f"updated {path.relative_to(ROOT)}")


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def _time_notebook(path: Path, fast: bool) -> float:
    import nbformat
    from nbclient import NotebookClient

    os.environ["COURSE_FAST"] = "1" if fast else "0"
    os.environ.setdefault("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(SOLUTIONS)}}).execute()
    return time.perf_counter() - start


def measure(names: list[str]) -> None:
    results = load() if RESULTS.exists() else {"notebooks": {}}
    paths = sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
    if names:
        paths = [p for p in paths if p.stem in names or p.name[:2] in names]
    for path in paths:
        full, fast = _time_notebook(path, fast=False), _time_notebook(path, fast=True)
        results["notebooks"][path.stem] = {"full_s": round(full, 1), "fast_s": round(fast, 1), "machine": _machine()}
        print(f"{path.stem}: {full:.0f} s, fast mode {fast:.0f} s", flush=True)
        # Each notebook keeps the machine that timed it (re-timing one notebook says nothing of the others'); the
        # top-level "machine" lists them all.
        machines = sorted({v["machine"] for v in results["notebooks"].values() if "machine" in v})
        results.update(machine="; ".join(machines), measured=datetime.date.today().isoformat(),
                       command="python tools/notebook_runtimes.py measure  (nbclient, wall clock incl. kernel start)")
        results["notebooks"] = dict(sorted(results["notebooks"].items()))
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("measure").add_argument("names", nargs="*", help="notebooks to time (stem or number); default all")
    sub.add_parser("sync")
    sub.add_parser("check")
    args = parser.parse_args(argv)
    if args.cmd == "measure":
        measure(args.names)
    elif args.cmd == "sync":
        sync()
    else:
        problems = check()
        print("\n".join(problems) or "every runtime shown agrees with " + RESULTS.name)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
