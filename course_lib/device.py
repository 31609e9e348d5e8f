"""Device choice, seeding and mixed precision, all in one place.

Every notebook starts with ``device = get_device()``; nothing in the course hard-codes ``cuda``.
Taught in 00_welcome, section 2 (and used for training in 03_dcgan_faces).
"""
from __future__ import annotations

import contextlib
import os
import platform
import random
from functools import lru_cache
from pathlib import Path
from typing import Any, ContextManager

import numpy as np
import torch

VALID_DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def get_device(name: str | torch.device | None = "auto") -> torch.device:
    """Return the device to train on: CUDA, then Apple's MPS, then the CPU.

    ``name`` may force one: "cpu", "cuda", "cuda:1", "mps" (or "auto" / None to choose).
    Asking for a device this machine lacks raises an error that says what it does have.
    Taught in 00_welcome, section 2.
    """
    if isinstance(name, torch.device):
        name = str(name)
    if name is None or (isinstance(name, str) and name.strip().lower() == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if not isinstance(name, str):
        raise TypeError(f"get_device(name=...) expects a string such as 'cpu' or 'cuda', got {type(name).__name__}")
    key = name.strip().lower()
    kind, _, index = key.partition(":")
    if kind not in ("cpu", "cuda", "mps") or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(f"get_device(name={name!r}): unknown device; valid choices are {', '.join(VALID_DEVICES)}")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"get_device(name={name!r}): this machine has no usable CUDA GPU "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}). Use 'auto' or 'cpu'."
            )
        if index and int(index) >= torch.cuda.device_count():
            raise ValueError(f"get_device(name={name!r}): only {torch.cuda.device_count()} CUDA device(s) here")
    if kind == "mps" and not _mps_available():
        raise RuntimeError(f"get_device(name={name!r}): Apple MPS is not available here. Use 'auto' or 'cpu'.")
    return torch.device(key)


def set_seed(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a CPU ``torch.Generator`` seeded the same.

    The notebook calls this; the library never seeds on import (no hidden global state).
    Taught in 00_welcome, section 2.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_seed(seed={seed!r}): expected a non-negative int")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


@lru_cache(maxsize=1)
def cpu_supports_bf16() -> bool:
    """Return True when this CPU has native bf16 maths (AVX-512 BF16 or AMX), where bf16 autocast pays off.

    Not in the notebooks: device plumbing behind ``train.fit`` and the benchmarks.
    """
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return False  # Apple silicon: bf16 on the CPU is emulated, slower than fp32.
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        flags = cpuinfo.read_text(errors="ignore")
        return "avx512_bf16" in flags or "amx_bf16" in flags
    return False


def amp_dtype(device: torch.device | str) -> torch.dtype | None:
    """Return the autocast dtype for ``device``, or None where mixed precision would not help.

    CUDA: bf16 where the GPU supports it (Ampere+), else fp16 (needs a GradScaler).
    CPU: bf16 where the CPU has native bf16 (1.6-1.8x faster for DCGAN here), else none. MPS: none.
    Taught in 03_dcgan_faces, section 0 (the setup cell prints it).
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_supports_bf16():
        return torch.bfloat16
    return None


def autocast(device: torch.device | str, enabled: bool = True) -> ContextManager[Any]:
    """Return the mixed-precision context for ``device`` (a ``nullcontext`` where there is none).

    Not in the notebooks: device plumbing behind ``train.fit`` and the benchmarks.
    """
    device = torch.device(device)
    dtype = amp_dtype(device) if enabled else None
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def needs_grad_scaler(device: torch.device | str, enabled: bool = True) -> bool:
    """Return True when autocast on ``device`` uses fp16, whose small gradients need loss scaling.

    Not in the notebooks: device plumbing behind ``train.fit`` and the benchmarks.
    """
    return enabled and amp_dtype(device) == torch.float16


def describe_device(device: torch.device | str | None = None) -> dict[str, Any]:
    """Describe the compute this notebook will use: device, threads, mixed precision, GPU name and memory.

    Taught in 00_welcome, section 2.
    """
    device = get_device(device if device is not None else "auto")
    dtype = amp_dtype(device)
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(device),
        "cpu threads (torch)": torch.get_num_threads(),
        "cpu cores (os)": os.cpu_count(),
        "cpu bf16": cpu_supports_bf16(),
        "autocast dtype": str(dtype).replace("torch.", "") if dtype else "none (fp32)",
        "cuda available": torch.cuda.is_available(),
        "mps available": _mps_available(),
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info["gpu count"] = torch.cuda.device_count()
        info["gpu name"] = props.name
        info["gpu memory (GiB)"] = round(props.total_memory / 2**30, 1)
    return info


# What the course needs, what it is for, and how to fix it when missing. Optional parts say so.
_REQUIREMENTS: tuple[tuple[str, str, str, bool], ...] = (
    # (import name, distribution name(s) separated by |, minimum version, required)
    ("torch", "torch", "2.2", True),
    ("numpy", "numpy", "1.24", True),
    ("matplotlib", "matplotlib", "3.7", True),
    ("skimage", "scikit-image", "0.22", True),
    ("tqdm", "tqdm", "4.60", True),
    ("ipywidgets", "ipywidgets", "8.0", True),
    ("mediapipe", "mediapipe-numpy2|mediapipe", "0.10", False),  # either build provides `import mediapipe`
)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _installed(dists: list[str]) -> tuple[str, str]:
    """The first of ``dists`` that is installed and its version, or (the first name, "") if none is."""
    from importlib import metadata

    for name in dists:
        try:
            return name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return dists[0], ""


def check_environment() -> list[dict[str, str]]:
    """Check the packages the course uses; each row says what was found and, if wrong, how to fix it.

    Taught in 00_welcome, section 2.
    """
    rows = []
    for module, dists, minimum, required in _REQUIREMENTS:
        dist, found = _installed(dists.split("|"))
        if found and _version_tuple(found) >= _version_tuple(minimum):
            status, fix = "ok", ""
        elif not required:
            status = "optional, not installed" if not found else f"optional, older than {minimum}"
            fix = "only for landmarks on your own photos: pip install -e '.[photo]' (see README)"
        else:
            status = "MISSING" if not found else f"TOO OLD (need >= {minimum})"
            fix = f"run `make lab` again, or: pip install '{dist}>={minimum}'"
        rows.append({"package": dist, "version": found or "-", "status": status, "fix": fix})
    return rows
