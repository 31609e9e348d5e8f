"""The student-notebook generator: markers, indentation, tags, drift detection, bad markers."""
import importlib.util
import json
import sys

import pytest

from course_lib import config

_spec = importlib.util.spec_from_file_location("make_student", config.REPO_ROOT / "tools" / "make_student.py")
ms = importlib.util.module_from_spec(_spec)
sys.modules["make_student"] = ms
_spec.loader.exec_module(ms)


def nb(*cells):
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def code(src, tags=(), outputs=()):
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": src, "outputs": list(outputs), "execution_count": None}


def md(src, tags=()):
    return {"cell_type": "markdown", "metadata": {"tags": list(tags)}, "source": src}


def test_solution_code_becomes_a_stub_with_its_indentation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n\nprint(f)"
    out = ms.make_student(nb(code(src)), "t.ipynb")["cells"][0]["source"]
    assert out == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nprint(f)"


def test_several_blocks_and_list_sources():
    src = ["a = 1\n", "### BEGIN SOLUTION\n", "b = 2\n", "### END SOLUTION\n", "c = 3\n", "### BEGIN SOLUTION\n", "d = 4\n", "### END SOLUTION"]
    out = ms.make_student(nb(code(src)), "t.ipynb")["cells"][0]["source"]
    assert "b = 2" not in out and "d = 4" not in out and out.count("raise NotImplementedError()") == 2
    assert out.startswith("a = 1\n# YOUR CODE HERE") and "c = 3" in out


def test_markdown_answers_become_a_prompt():
    src = "**Question:** why?\n\n### BEGIN SOLUTION\nBecause the gradient vanishes.\n### END SOLUTION"
    out = ms.make_student(nb(md(src)), "t.ipynb")["cells"][0]["source"]
    assert out == "**Question:** why?\n\n" + ms.MARKDOWN_STUB


def test_solution_only_cells_are_dropped_and_outputs_cleared():
    cells = [code("x = 1"), code("secret = 42", tags=["solution-only"]), md("note", tags=["solution-only"])]
    cells[0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1"}]
    cells[0]["execution_count"] = 3
    student = ms.make_student(nb(*cells), "t.ipynb")
    assert [c["source"] for c in student["cells"]] == ["x = 1"]
    assert student["cells"][0]["outputs"] == [] and student["cells"][0]["execution_count"] is None


def test_source_notebook_is_not_modified():
    original = nb(code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))
    snapshot = json.dumps(original, sort_keys=True)
    ms.make_student(original, "t.ipynb")
    assert json.dumps(original, sort_keys=True) == snapshot


@pytest.mark.parametrize(
    "src, match",
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "END SOLUTION without a BEGIN"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
    ],
)
def test_bad_markers_name_the_notebook_and_cell(src, match):
    with pytest.raises(ms.MarkerError, match=match) as err:
        ms.make_student(nb(code("ok = 1"), code(src)), "07_broken.ipynb")
    assert "07_broken.ipynb, cell 1" in str(err.value)


def _write(folder, name, notebook):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(ms.dumps(notebook))


def test_check_detects_drift_missing_and_extra_notebooks(tmp_path, capsys):
    src, dst = tmp_path / "solutions", tmp_path / "notebooks"
    _write(src, "a.ipynb", nb(code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")))
    assert ms.main(["--src", str(src), "--dst", str(dst), "--check"]) == 1
    assert "missing" in capsys.readouterr().err
    assert ms.main(["--src", str(src), "--dst", str(dst)]) == 0
    assert ms.main(["--src", str(src), "--dst", str(dst), "--check"]) == 0
    # an edit to the solution that was not regenerated is drift
    _write(src, "a.ipynb", nb(code("### BEGIN SOLUTION\nx = 2\n### END SOLUTION"), code("y = 1")))
    assert ms.main(["--src", str(src), "--dst", str(dst), "--check"]) == 1
    assert "differs" in capsys.readouterr().err
    ms.main(["--src", str(src), "--dst", str(dst)])
    _write(dst, "stale.ipynb", nb())
    assert ms.main(["--src", str(src), "--dst", str(dst), "--check"]) == 1
    assert "no source" in capsys.readouterr().err


def test_check_refuses_solutions_with_outputs(tmp_path, capsys):
    src, dst = tmp_path / "solutions", tmp_path / "notebooks"
    cell = code("print(1)")
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1"}]
    _write(src, "a.ipynb", nb(cell))
    ms.main(["--src", str(src), "--dst", str(dst)])
    assert ms.main(["--src", str(src), "--dst", str(dst), "--check"]) == 1
    assert "without outputs" in capsys.readouterr().err


def test_unclosed_marker_fails_the_command_with_names(tmp_path, capsys):
    src = tmp_path / "solutions"
    _write(src, "05_x.ipynb", nb(code("a = 1"), md("text"), code("### BEGIN SOLUTION\nx = 1")))
    assert ms.main(["--src", str(src), "--dst", str(tmp_path / "nb")]) == 2
    err = capsys.readouterr().err
    assert "05_x.ipynb, cell 2 (code)" in err and "never closed" in err


def test_the_repository_notebooks_are_in_sync():
    assert ms.run(config.SOLUTIONS_DIR, config.NOTEBOOKS_DIR, check=True) == []


def test_the_glossary_gives_every_core_term_in_both_languages():
    """Notebook 00's glossary: at least 35 English / Chinese terms, each with a meaning, the core ones included."""
    cells = json.loads((config.SOLUTIONS_DIR / "00_welcome.ipynb").read_text())["cells"]
    text = next("".join(c["source"]) for c in cells if "Glossary" in "".join(c["source"]))
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| English")]
    assert len(rows) >= 35, len(rows)
    for english, chinese, meaning in (row[:3] for row in rows):
        assert english and meaning and any("\u4e00" <= ch <= "\u9fff" for ch in chinese), (english, chinese)
    terms = " ".join(row[0] for row in rows)
    for core in ("value function", "optimal discriminator", "cross-entropy", "vanishing gradient", "gradient penalty",
                 "spectral normalisation", "transposed convolution", "batch normalisation", "cycle-consistency loss",
                 "histogram matching", "precision / recall"):
        assert core in terms, core
    assert "生成对抗网络在虚拟试妆中的创新应用" in text  # the seed article, cited by title where the course corrects it


def test_every_exercise_has_hints_and_no_hint_gives_a_solution_line():
    """Collapsed hints after every exercise; none of them contains a line of the solution code."""
    import re

    for path in sorted(config.SOLUTIONS_DIR.glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        text = lambda c: "".join(c["source"])  # noqa: E731
        solution_lines = {line.split("#")[0].strip() for c in cells if c["cell_type"] == "code" and "### BEGIN SOLUTION" in text(c)
                          for line in text(c).split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION")[0].splitlines()}
        solution_lines = {line for line in solution_lines if len(line) > 12}
        for c in cells:
            if c["cell_type"] != "markdown":
                continue
            if re.search(r"### Exercise \d\.\d", text(c)) and "a published generator loss" not in text(c):
                assert "<details><summary>Hint" in text(c), (path.name, text(c)[:80])
            for hint in re.findall(r"<details>(.*?)</details>", text(c), flags=re.S):
                leaked = [line for line in solution_lines if line in hint]
                assert not leaked, (path.name, leaked)
