"""Teaching traceability: every public function and class of the library says where the course teaches it.

A public name (module level, no leading ``_``) carries a docstring with ``Taught in NN_notebook, section K``
(``sections K and L`` for several; section 0 is the setup before section 1), where that section's code uses it
(or the student writes it, or its markdown names it in backticks), or says ``Not in the notebooks`` when no
section does (library plumbing, a script's helper, a function the notebooks reach through another one). Both are checked
against the notebooks' source in ``solutions/``, so a docstring cannot point at a section that does not use
the name, and a name that a notebook starts using must say where.
"""
from __future__ import annotations

import ast
import json
import re
import sys
from functools import cache
from pathlib import Path

import pytest

from course_lib import config

LIB = config.REPO_ROOT / "course_lib"
SOLUTIONS = config.REPO_ROOT / "solutions"
TAUGHT = re.compile(r"Taught in (\d\d_[a-z_]+), sections? (\d+(?:(?:, | and )\d+)*)")
NOT_TAUGHT = "Not in the notebooks"


def public_names() -> list[tuple[str, str, str, int, str]]:
    """``(file, module path, name, line, docstring)`` of every public module-level function and class."""
    found = []
    for path in sorted(LIB.rglob("*.py")):
        rel = path.relative_to(LIB).with_suffix("")
        if rel.name == "__main__":
            continue
        module = ".".join(("course_lib", *(rel.parts[:-1] if rel.name == "__init__" else rel.parts)))
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                found.append((str(path.relative_to(config.REPO_ROOT)), module, node.name, node.lineno,
                              ast.get_docstring(node) or ""))
    return found


@cache
def notebook_sections(stem: str) -> dict[int, str]:
    """Section number -> the text of its cells, code and markdown, for one solutions notebook (cells before
    "## 1." count as section 0; Questions and Summary as -1)."""
    nb = json.loads((SOLUTIONS / f"{stem}.ipynb").read_text())
    sections: dict[int, list[str]] = {}
    current = 0
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            for line in source.splitlines():
                heading = re.match(r"^## (\d+)\.", line)
                if heading:
                    current = int(heading.group(1))
                elif re.match(r"^## \D", line):
                    current = -1
            source = " ".join(re.findall(r"`[^`]+`", source))  # markdown counts where it names code
        sections.setdefault(current, []).append(source)
    return {k: "\n".join(v) for k, v in sections.items()}


@cache
def aliases(stem: str) -> dict[str, str]:
    """The notebook's names for library modules: ``from course_lib import device as dev`` -> dev: course_lib.device."""
    text = "\n".join(notebook_sections(stem).values())
    out = {}
    for package, names in re.findall(r"^\s*from (course_lib(?:\.\w+)*) import ([^\n]+)", text, re.M):
        for item in names.split(","):
            parts = item.split()
            if parts:
                out[parts[-1]] = f"{package}.{parts[0]}"
    return out


def notebooks() -> list[str]:
    return sorted(p.stem for p in SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))


def uses(text: str, module: str, name: str, names: dict[str, str] | None = None) -> bool:
    """Does a section use ``name`` of ``module``: through a module alias (``train.fit``, ``dev.get_device``,
    ``train.recipes.FAST``), imported by name, or written by the student (``def name(``: an exercise)?"""
    names = names if names is not None else {module.split(".")[1]: ".".join(module.split(".")[:2])}
    for alias, target in names.items():
        if module == target or module.startswith(target + "."):  # a package re-exports its modules' names
            if re.search(rf"(?<![\w.]){re.escape(alias)}\.(?:\w+\.)*{re.escape(name)}\b", text):
                return True
    return bool(re.search(rf"^\s*from course_lib(?:\.\w+)* import [^\n]*\b{re.escape(name)}\b", text, re.M)
                or re.search(rf"^\s*def {re.escape(name)}\(", text, re.M))


def where_used(module: str, name: str) -> list[tuple[str, int]]:
    """Every (notebook, section) that uses the name, in course order."""
    return [(stem, k) for stem in notebooks() for k, text in sorted(notebook_sections(stem).items())
            if uses(text, module, name, aliases(stem))]


def problems() -> list[str]:
    out = []
    for file, module, name, line, doc in public_names():
        at = f"{file}:{line} {name}"
        used = where_used(module, name)
        first = next((f"Taught in {stem}, section {k}" for stem, k in used if k >= 0), None)
        refs = TAUGHT.findall(doc)
        if not doc:
            out.append(f"{at}: no docstring")
        elif refs:
            for stem, numbers in refs:
                if stem not in notebooks():
                    out.append(f"{at}: names {stem}, which is not a notebook in solutions/")
                    continue
                for k in map(int, re.findall(r"\d+", numbers)):
                    if k not in notebook_sections(stem):
                        out.append(f"{at}: names {stem} section {k}, which has no code cells")
                    elif not uses(notebook_sections(stem)[k], module, name, aliases(stem)):
                        out.append(f"{at}: names {stem} section {k}, whose code does not use it"
                                   + (f" (first used: {first})" if first else " (no notebook uses it)"))
        elif NOT_TAUGHT in doc:
            used = [(stem, k) for stem, k in used if k >= 0]  # an answer may mention it; no section uses it
            if used:
                out.append(f"{at}: says '{NOT_TAUGHT}' but {used[0][0]} (section {used[0][1]}) uses it: say '{first}'")
        else:
            out.append(f"{at}: its docstring says neither 'Taught in NN_notebook, section K' nor '{NOT_TAUGHT}'"
                       + (f" (first used: {first})" if first else " (no notebook uses it)"))
    return out


def test_every_public_name_says_where_it_is_taught():
    found = problems()
    assert not found, f"{len(found)} docstrings to fix:\n" + "\n".join(found)


def test_the_reader_finds_sections_and_uses():
    sections = notebook_sections("03_dcgan_faces")
    assert {1, 2, 3, 4, 5, 6, 7, 8, 9} <= set(sections)
    assert uses(sections[3], "course_lib.train.loop", "fit", aliases("03_dcgan_faces"))  # "3. The training loop"
    assert aliases("06_evaluation_fairness")["audit"] == "course_lib.widgets.audit"
    assert aliases("03_dcgan_faces")["dev"] == "course_lib.device"
    assert uses("x = dev.get_device()", "course_lib.device", "get_device", {"dev": "course_lib.device"})
    assert uses("from course_lib.checks import check_fid\n", "course_lib.checks.evaluation", "check_fid")
    assert uses("def r1_penalty(D, x, gamma):\n", "course_lib.losses", "r1_penalty")  # the student's own
    assert uses("`losses.fid`", "course_lib.losses", "fid")  # named in the markdown
    assert not uses("trainer.fit(x)\nfit(x)\n", "course_lib.train.loop", "fit")  # another object's fit, a call
    assert not uses("train.fitness(x)\n", "course_lib.train.loop", "fit")
    assert not uses("viz.fit(x)\n", "course_lib.train.loop", "fit", {"viz": "course_lib.viz", "train": "course_lib.train"})


@pytest.mark.parametrize("doc, says", [
    ("Do a thing.", "says neither"),
    ("Do a thing. Taught in 03_dcgan_faces, section 1.", "whose code does not use it"),
    ("Do a thing. Taught in 03_dcgan_faces, section 42.", "has no code cells"),
    ("Do a thing. Taught in 09_diffusion, section 1.", "not a notebook"),
    (f"Do a thing. {NOT_TAUGHT} (library plumbing).", "uses it"),
    ("", "no docstring"),
])
def test_the_check_rejects_a_wrong_or_missing_reference(monkeypatch, doc, says):
    # train.fit is used in 03_dcgan_faces section 3 (and elsewhere), never in section 1
    monkeypatch.setattr(sys.modules[__name__], "public_names",
                        lambda: [("course_lib/train/loop.py", "course_lib.train.loop", "fit", 1, doc)])
    found = problems()
    assert len(found) >= 1 and all(says in f for f in found), found


def test_the_check_accepts_a_true_reference(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "public_names", lambda: [
        ("course_lib/train/loop.py", "course_lib.train.loop", "fit", 1, "Train. Taught in 03_dcgan_faces, section 3."),
        ("course_lib/x.py", "course_lib.x", "never_used_anywhere", 1, f"Helper. {NOT_TAUGHT}."),
    ])
    assert problems() == []
