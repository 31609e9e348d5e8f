"""Shipped checkpoints: a sha256 manifest, weights-only loading, atomic writes, train-or-load.

Every network the course shows lives in ``data/checkpoints/`` with an entry in ``manifest.json``: the
file, its sha256, the config it was trained with, the command that rebuilds it and its measured
metrics. ``load`` refuses a file whose hash differs from the manifest and never unpickles code
(``torch.load(weights_only=True)``); it also refuses a manifest that is not what it should be, a file
outside the checkpoint folder, a state without the keys asked for and NaN/inf weights (``CheckpointError``). Taught in 03_dcgan_faces, section 6.
"""
from __future__ import annotations

import datetime
import glob
import hashlib
import json
import os
import pickle
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from course_lib import config as course_config


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, tampered with, or not what the manifest says.

    Not in the notebooks: the machinery behind ``checkpoints.load`` and tools/train_checkpoints.py.
    """


@dataclass
class Entry:
    """One manifest entry: what a checkpoint file is and how it was made.

    Not in the notebooks: the machinery behind ``checkpoints.load`` and tools/train_checkpoints.py.
    """

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
    """Return the hex sha256 of a file (read in 1 MiB blocks).

    Not in the notebooks: the machinery behind ``checkpoints.load`` and tools/train_checkpoints.py.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


STALE_TMP_SECONDS = 600  # a temp file of atomic_write untouched this long belongs to a write that was killed


def clean_stale_temps(path: str | Path, older_than: float = STALE_TMP_SECONDS) -> list[Path]:
    """Remove the temp files that killed writes of ``path`` left beside it (``<name>*.tmp``, untouched for
    ``older_than`` seconds; a write in progress keeps its file fresh); return the removed paths.
    Not in the notebooks: the machinery behind ``checkpoints.load`` and tools/train_checkpoints.py."""
    path, removed = Path(path), []
    if not path.parent.is_dir():
        return removed
    now = time.time()
    for tmp in path.parent.glob(glob.escape(path.name) + "*.tmp"):
        try:
            if now - tmp.stat().st_mtime >= older_than:
                tmp.unlink()
                removed.append(tmp)
        except FileNotFoundError:  # another process cleaned it first
            pass
    return removed


def atomic_write(path: str | Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Write a file through ``write(handle)`` into a temp file beside it, then rename: never half-written.

    Temp files of earlier writes of the same file that were killed (``kill -9``) are removed first.
    Not in the notebooks: the machinery behind ``checkpoints.load`` and tools/train_checkpoints.py.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
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


_ENTRY_FIELDS = {f.name: f for f in fields(Entry)}
_ENTRY_TYPES = {"file": str, "sha256": str, "bytes": int, "config": dict, "command": str, "metrics": dict,
                "created": str, "fp16": bool}


def read_manifest(directory: str | Path | None = None) -> dict[str, Entry]:
    """Return the manifest of ``directory`` (default: the shipped ``data/checkpoints``) by name.

    A manifest that is not JSON, not an object of objects, or whose entries lack a field or have one of the
    wrong type raises ``CheckpointError`` naming the entry and the field.
    Not in the notebooks: the machinery behind ``checkpoints.load`` and tools/train_checkpoints.py.
    """
    path = Path(directory or course_config.CHECKPOINT_DIR) / "manifest.json"
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON ({err}); restore it from git or rebuild the checkpoints "
                              f"with tools/train_checkpoints.py") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path} must hold a JSON object of entries by name, got a {type(raw).__name__}")
    entries = {}
    for name, e in raw.items():
        if not isinstance(e, dict):
            raise CheckpointError(f"{path}: entry {name!r} must be a JSON object, got a {type(e).__name__}")
        missing = [k for k in ("file", "sha256", "bytes") if k not in e]
        unknown = sorted(set(e) - set(_ENTRY_FIELDS) - {"name"})
        if missing or unknown:
            raise CheckpointError(f"{path}: entry {name!r} " + (f"lacks {missing}" if missing else f"has unknown fields {unknown}")
                                  + f"; an entry has the fields {', '.join(k for k in _ENTRY_FIELDS if k != 'name')}")
        for key, kind in _ENTRY_TYPES.items():
            if key in e and (not isinstance(e[key], kind) or (kind is int and isinstance(e[key], bool))):
                raise CheckpointError(f"{path}: entry {name!r} field {key!r} must be a {kind.__name__}, "
                                      f"got {e[key]!r}")
        entries[name] = Entry(name=name, **{k: v for k, v in e.items() if k != "name"})
    return entries


def _file_in(directory: Path, entry: Entry) -> Path:
    """The entry's file, which must be a plain file name inside ``directory`` (no folders, no '..', no links out)."""
    candidate = directory / entry.file
    if (not entry.file or Path(entry.file).name != entry.file or entry.file in (".", "..")
            or candidate.resolve().parent != directory.resolve()):
        raise CheckpointError(f"checkpoint {entry.name!r}: the manifest's file {entry.file!r} is not a file name "
                              f"inside {directory}; refusing to read outside the checkpoint folder")
    return candidate


def _check_finite_state(state: Any, name: str, key: str = "") -> None:
    """Refuse a state whose floating tensors hold NaN or inf (such weights would only draw NaN images)."""
    if isinstance(state, torch.Tensor):
        if state.is_floating_point() and not bool(torch.isfinite(state).all()):
            raise CheckpointError(f"checkpoint {name!r}: tensor {key!r} holds NaN or inf; refusing weights that "
                                  f"cannot draw anything (retrain it with tools/train_checkpoints.py)")
    elif isinstance(state, dict):
        for k, v in state.items():
            _check_finite_state(v, name, f"{key}.{k}" if key else str(k))


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
    Not in the notebooks: the machinery behind ``checkpoints.load`` and tools/train_checkpoints.py.
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
    """``torch.load(weights_only=True)`` with clear errors for truncated, corrupt or code-carrying files.

    Not in the notebooks: the machinery behind ``checkpoints.load`` and tools/train_checkpoints.py.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{what} ({path}) holds pickled objects that are not plain weights; refusing to "
                              f"load it (weights_only=True never runs code from a file). Detail: {err}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f"{what} ({path}) is corrupt or truncated and cannot be read: {err}") from None


def load(name: str, directory: str | Path | None = None, keys: Sequence[str] = ()) -> tuple[dict, Entry]:
    """Load checkpoint ``name`` after checking its sha256 against the manifest; return (state, entry).

    Floating tensors come back as fp32 on the CPU; move them with ``model.load_state_dict`` + ``.to(device)``.
    ``keys``: top-level entries the state must have (e.g. ``("G_ema",)``); a state without them, or with
    NaN / inf weights, raises ``CheckpointError``, as does a manifest entry pointing outside ``directory``.
    Taught in 03_dcgan_faces, section 6.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a checkpoint's name (str), got {type(name).__name__}")
    directory = Path(directory or course_config.CHECKPOINT_DIR)
    entries = read_manifest(directory)
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise CheckpointError(f"no checkpoint named {name!r} in {directory / 'manifest.json'}; known: {known}")
    entry = entries[name]
    path = _file_in(directory, entry)
    if not path.exists():
        raise CheckpointError(f"checkpoint {name!r}: file {path} is missing (rebuild it: {entry.command or 'tools/train_checkpoints.py'})")
    digest = sha256_file(path)
    if digest != entry.sha256:
        raise CheckpointError(f"checkpoint {name!r}: sha256 of {path.name} is {digest[:16]}..., but the manifest "
                              f"says {entry.sha256[:16]}...; the file was changed or damaged, refusing to load it")
    state = safe_torch_load(path, f"checkpoint {name!r}")
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {name!r} holds a {type(state).__name__}, not a dict of weights")
    missing = [k for k in keys if k not in state]
    if missing:
        raise CheckpointError(f"checkpoint {name!r} lacks {missing} (it has {sorted(state)}); it was not saved by "
                              f"the code that loads it: rebuild it with {entry.command or 'tools/train_checkpoints.py'}")
    _check_finite_state(state, name)
    return _float(state), entry


def exists(name: str, directory: str | Path | None = None) -> bool:
    """Return True when the manifest lists ``name`` and its file is present.

    Not in the notebooks: the machinery behind ``checkpoints.load`` and tools/train_checkpoints.py.
    """
    directory = Path(directory or course_config.CHECKPOINT_DIR)
    entry = read_manifest(directory).get(name)
    return entry is not None and _file_in(directory, entry).exists()


def train_or_load(name: str, train: Callable[[], tuple[dict, dict]], *, config: dict | None = None,
                  command: str = "", directory: str | Path | None = None, retrain: bool = False) -> tuple[dict, Entry]:
    """Load checkpoint ``name`` if it is there; otherwise call ``train() -> (state, metrics)``, save and return it.

    A notebook uses it so that a student sees results in seconds, while ``retrain=True`` (or a missing
    file) runs the real training. A shipped entry trained with a different ``config`` is reported, not
    silently used.
    Not in the notebooks: the machinery behind ``checkpoints.load`` and tools/train_checkpoints.py.
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
