"""Notebook runtimes come from one measured source (benchmarks/notebook_runtimes.json), shown the same everywhere."""
import importlib.util
import json

import pytest

from course_lib import config

_spec = importlib.util.spec_from_file_location("notebook_runtimes", config.REPO_ROOT / "tools" / "notebook_runtimes.py")
nr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nr)


def test_every_runtime_shown_agrees_with_the_measured_file():
    assert nr.check() == [], "run `python tools/notebook_runtimes.py sync` (then tools/make_student.py)"


def test_every_notebook_was_measured_within_the_course_limits():
    results = nr.load()
    names = sorted(p.stem for p in config.SOLUTIONS_DIR.glob("[0-9][0-9]_*.ipynb"))
    assert sorted(results["notebooks"]) == names
    assert results["machine"] and results["measured"] and results["command"]
    for name, v in results["notebooks"].items():
        assert 0 < v["fast_s"] < 60, f"{name}: fast mode must finish well under a minute, measured {v['fast_s']} s"
        assert 0 < v["full_s"] < 300, f"{name}: full mode must stay under 5 minutes, measured {v['full_s']} s"


@pytest.mark.parametrize("seconds, shown", [(4, "~5 s"), (12.4, "~10 s"), (13, "~15 s"), (57, "~55 s"),
                                            (58, "~1 min"), (100, "~1.5 min"), (168, "~3 min"), (160, "~2.5 min")])
def test_runtimes_are_shown_rounded(seconds, shown):
    assert nr.fmt(seconds) == shown


def test_the_check_catches_a_figure_typed_in_by_hand():
    results = nr.load()
    doctored = json.loads(json.dumps(results))
    first = next(iter(doctored["notebooks"]))
    doctored["notebooks"][first]["full_s"] += 600  # the README and the header now disagree with "the measurement"
    problems = nr.check(doctored)
    assert any(p.startswith("README.md") for p in problems)
    assert any(p.startswith(f"{first}.ipynb: header says") for p in problems)
    assert any(p.startswith("00_welcome.ipynb") for p in problems)  # notebook 00's table
