"""The library's import boundaries, read from the source (../shared/DESIGN.md, "Data flow").

Imports point up the design's picture, never down: a module may import what stands above it. ``faces``,
``makeup`` and ``data`` know nothing of GANs; no library module but ``widgets`` imports ``viz``, none imports
``widgets``, so the library runs headless; ``config`` and ``device`` import nothing of ours; nothing imports
``tools/`` or ``benchmarks/``. Every import counts, the ones inside functions too. A name that starts with ``_``
stays in its module: another module that needs it needs a public name.
"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from course_lib import config

# The design's picture, top to bottom: a module may import only modules of the layers above its own (and its own
# package's modules). Modules the picture leaves out take the place of what they serve.
LAYERS: list[tuple[str, ...]] = [
    ("config", "device", "validate", "colour"),  # import nothing of ours
    ("makeup", "landmarks"),  # a look on any image + masks; landmarks of real photos
    ("faces",),  # SynthFaces: renders identities wearing makeup
    ("data",),  # data sets: toy, SynthFaces, LFW, portraits
    ("models", "losses"),
    ("checkpoints",),
    ("train",),
    ("encoder",),  # the domain encoder: the rulers' network
    ("metrics",),
    ("tryon",),
    ("checks",),  # exercise checkers (they run the library's reference)
    ("viz",),
    ("widgets",),
]
RANK = {module: i for i, layer in enumerate(LAYERS) for module in layer}
OUTSIDE = ("tools", "benchmarks", "solutions", "notebooks", "tests")


def imports(path: Path, package_parts: tuple[str, ...]) -> list[tuple[str, list[str], int]]:
    """Every import in one file as ``(module, names, line)``, relative imports resolved against ``package_parts``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package_parts[: len(package_parts) - node.level + 1])
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((module, [alias.name for alias in node.names], node.lineno))
    return found


def violations(root: Path) -> list[str]:
    """What breaks the boundaries in the package at ``root`` (a folder named like the package), one line each."""
    package = root.name
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        if rel.parts == ("__init__",):
            continue  # the package's own docstring and version
        me = rel.parts[0]
        where = f"{package}/{path.relative_to(root)}"
        if me not in RANK:
            bad.append(f"{where}: module {me!r} has no place in the layers (add it to LAYERS, where the design puts it)")
            continue
        for module, names, line in imports(path, (package, *rel.parts[:-1])):
            parts = module.split(".")
            if parts[0] in OUTSIDE:
                bad.append(f"{where}:{line} imports {module}: the library never imports {parts[0]}/")
                continue
            if parts[0] != package:
                continue
            targets = [parts[1]] if len(parts) > 1 else names  # "from course_lib import a, b" names modules
            for target in targets:
                if target != me and target in RANK and RANK[target] >= RANK[me]:
                    bad.append(f"{where}:{line} imports {target}, which stands below {me} in the design's picture")
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    bad.append(f"{where}:{line} imports the private name {name} from {module}: make it public or move it")
    return bad


def test_the_library_keeps_the_design_import_direction():
    found = violations(config.REPO_ROOT / "course_lib")
    assert not found, "\n".join(found)


def test_every_module_of_the_library_has_a_layer():
    modules = {p.stem if p.is_file() else p.name for p in (config.REPO_ROOT / "course_lib").iterdir()
               if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert modules == set(RANK), f"in the package, not in LAYERS: {modules - set(RANK)}; in LAYERS only: {set(RANK) - modules}"


@pytest.mark.parametrize("module, source, says", [
    ("data.py", "from course_lib.train import distributed\n", "imports train, which stands below data"),
    ("faces/__main__.py", "def gallery():\n    from course_lib import faces, viz\n", "imports viz, which stands below faces"),
    ("config.py", "import course_lib.device\n", "imports device, which stands below config"),
    ("train/loop.py", "from ..widgets import common\n", "imports widgets, which stands below train"),
    ("metrics/images.py", "from course_lib.models.dcgan import _n_blocks\n", "imports the private name _n_blocks"),
    ("tryon.py", "from benchmarks import gan_ladder\n", "never imports benchmarks/"),
    ("plots.py", "import numpy\n", "module 'plots' has no place in the layers"),
])
def test_the_checker_catches_each_kind_of_broken_boundary(tmp_path, module, source, says):
    root = tmp_path / "course_lib"
    path = root / module
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    found = violations(root)
    assert len(found) == 1 and says in found[0], found


def test_the_checker_accepts_imports_up_the_picture_and_within_a_package(tmp_path):
    root = tmp_path / "course_lib"
    (root / "train").mkdir(parents=True)
    (root / "train" / "loop.py").write_text("from course_lib import checkpoints, data, losses, models\nfrom . import steps\n"
                                            "from course_lib.train.steps import d_step\nimport torch\n")
    (root / "widgets.py").write_text("from course_lib import viz, tryon, metrics\n")
    assert violations(root) == []
