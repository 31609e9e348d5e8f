"""Repository paths and the fast-mode switch, usable from any working directory.

Taught in 00_welcome, section 1.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# course_lib/config.py -> the repository root is one folder up.
REPO_ROOT: Path = Path(__file__).resolve().parent.parent
DATA_DIR: Path = REPO_ROOT / "data"
CHECKPOINT_DIR: Path = DATA_DIR / "checkpoints"
REAL_DIR: Path = DATA_DIR / "real"
SOLUTIONS_DIR: Path = REPO_ROOT / "solutions"
NOTEBOOKS_DIR: Path = REPO_ROOT / "notebooks"
BUILD_DIR: Path = REPO_ROOT / "build"  # git-ignored: screenshots, galleries, scratch runs

_TRUE = {"1", "true", "yes", "on"}


def is_fast() -> bool:
    """Return True when ``COURSE_FAST`` asks for the quick settings used by CI and the tests.

    Not in the notebooks: configuration the library reads.
    """
    return os.environ.get("COURSE_FAST", "0").strip().lower() in _TRUE


# Read once at import for notebooks (`config.FAST`); library code calls is_fast() so tests can flip it.
FAST: bool = is_fast()


def pick(full: T, fast: T) -> T:
    """Choose a setting: ``fast`` under ``COURSE_FAST=1``, ``full`` otherwise.

    Notebooks use it for step counts and sample sizes: ``steps = config.pick(full=3000, fast=200)``.
    Taught in 03_dcgan_faces, section 5.
    """
    return fast if is_fast() else full


def build_dir(*parts: str) -> Path:
    """Return (and create) a folder under the git-ignored ``build/`` directory. Taught in 03_dcgan_faces, section 3."""
    path = BUILD_DIR.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
