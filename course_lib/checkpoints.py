"""Shipped checkpoints: a sha256 manifest, weights-only loading, atomic writes, train-or-load.

Every network the course shows lives in ``data/checkpoints/`` with an entry in ``manifest.json``: the
file, its sha256, the config it was trained with, the command that rebuilds it and its measured
metrics. ``load`` refuses a file whose hash differs from the manifest and never unpickles code
(``torch.load(weights_only=True)``). Taught in 03_dcgan_faces, section 6.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import pickle
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from course_lib import config as course_config


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, tampered with, or not what the manifest says."""


@dataclass
class Entry:
    """One manifest entry: what a checkpoint file is and how it was made."""

    name: str
    file: str
    sha256: str
    bytes: int
    config: dict = field(default_factory=dict)
    command: str = ""
    metrics: dict = field(default_factory=dict)
    created: str = ""
    fp16: bool = True


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of a file (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path: str | Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Write a file through ``write(handle)`` into a temp file beside it, then rename: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(directory: str | Path | None = None) -> dict[str, Entry]:
    """Return the manifest of ``directory`` (default: the shipped ``data/checkpoints``) by name."""
    path = Path(directory or course_config.CHECKPOINT_DIR) / "manifest.json"
    if not path.exists():
        return {}
    raw = json.loads(path.read_text())
    return {name: Entry(name=name, **{k: v for k, v in e.items() if k != "name"}) for name, e in raw.items()}


def _write_manifest(entries: dict[str, Entry], directory: Path) -> None:
    text = json.dumps({n: {k: v for k, v in asdict(e).items() if k != "name"} for n, e in sorted(entries.items())}, indent=1)
    atomic_write(directory / "manifest.json", lambda fh: fh.write(text + "\n"), mode="w")


def _half(state: Any) -> Any:
    """Cast floating tensors to fp16 (integers, e.g. batch-norm counters, stay as they are)."""
    if isinstance(state, torch.Tensor):
        return state.half() if state.is_floating_point() else state
    if isinstance(state, dict):
        return {k: _half(v) for k, v in state.items()}
    return state


def _float(state: Any) -> Any:
    if isinstance(state, torch.Tensor):
        return state.float() if state.dtype == torch.float16 else state
    if isinstance(state, dict):
        return {k: _float(v) for k, v in state.items()}
    return state


def save(name: str, state: dict, *, config: dict | None = None, command: str = "", metrics: dict | None = None,
         fp16: bool = True, directory: str | Path | None = None) -> Entry:
    """Save ``state`` (a dict of state dicts / tensors) as checkpoint ``name`` and record it in the manifest.

    ``fp16`` halves the file (weights are cast back to fp32 on load); keep it where quality holds.
    """
    if not name or not all(ch.isalnum() or ch in "-_." for ch in name):
        raise ValueError(f"name must be a non-empty string of letters, digits, '-', '_' or '.', got {name!r}")
    directory = Path(directory or course_config.CHECKPOINT_DIR)
    path = directory / f"{name}.pt"
    payload = _half(state) if fp16 else state
    atomic_write(path, lambda fh: torch.save(payload, fh))
    entry = Entry(name=name, file=path.name, sha256=sha256_file(path), bytes=path.stat().st_size, config=config or {},
                  command=command, metrics=metrics or {}, created=datetime.date.today().isoformat(), fp16=fp16)
    entries = read_manifest(directory)
    entries[name] = entry
    _write_manifest(entries, directory)
    return entry


def safe_torch_load(path: str | Path, what: str) -> Any:
    """``torch.load(weights_only=True)`` with clear errors for truncated, corrupt or code-carrying files."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{what} ({path}) holds pickled objects that are not plain weights; refusing to "
                              f"load it (weights_only=True never runs code from a file). Detail: {err}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f"{what} ({path}) is corrupt or truncated and cannot be read: {err}") from None


def load(name: str, directory: str | Path | None = None) -> tuple[dict, Entry]:
    """Load checkpoint ``name`` after checking its sha256 against the manifest; return (state, entry).

    Floating tensors come back as fp32 on the CPU; move them with ``model.load_state_dict`` + ``.to(device)``.
    """
    directory = Path(directory or course_config.CHECKPOINT_DIR)
    entries = read_manifest(directory)
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise CheckpointError(f"no checkpoint named {name!r} in {directory / 'manifest.json'}; known: {known}")
    entry = entries[name]
    path = directory / entry.file
    if not path.exists():
        raise CheckpointError(f"checkpoint {name!r}: file {path} is missing (rebuild it: {entry.command or 'tools/train_checkpoints.py'})")
    digest = sha256_file(path)
    if digest != entry.sha256:
        raise CheckpointError(f"checkpoint {name!r}: sha256 of {path.name} is {digest[:16]}..., but the manifest "
                              f"says {entry.sha256[:16]}...; the file was changed or damaged, refusing to load it")
    return _float(safe_torch_load(path, f"checkpoint {name!r}")), entry


def exists(name: str, directory: str | Path | None = None) -> bool:
    """Return True when the manifest lists ``name`` and its file is present."""
    directory = Path(directory or course_config.CHECKPOINT_DIR)
    entry = read_manifest(directory).get(name)
    return entry is not None and (directory / entry.file).exists()


def train_or_load(name: str, train: Callable[[], tuple[dict, dict]], *, config: dict | None = None,
                  command: str = "", directory: str | Path | None = None, retrain: bool = False) -> tuple[dict, Entry]:
    """Load checkpoint ``name`` if it is there; otherwise call ``train() -> (state, metrics)``, save and return it.

    A notebook uses it so that a student sees results in seconds, while ``retrain=True`` (or a missing
    file) runs the real training. A shipped entry trained with a different ``config`` is reported, not
    silently used.
    """
    if exists(name, directory) and not retrain:
        state, entry = load(name, directory)
        if config is not None and entry.config and entry.config != config:
            changed = sorted(k for k in set(config) | set(entry.config) if config.get(k) != entry.config.get(k))
            raise CheckpointError(f"checkpoint {name!r} was trained with a different config (differs in {changed}); "
                                  f"pass retrain=True to train with yours")
        return state, entry
    state, metrics = train()
    entry = save(name, state, config=config, command=command, metrics=metrics, directory=directory)
    return load(name, directory)[0], entry
