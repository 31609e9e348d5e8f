"""Input checks shared by the public API: each raises a clear error naming the argument and what was expected.

A range check such as ``x.min() < 0`` is always False for NaN, so NaN slips through it and comes out the
other end as an all-NaN image or a metric of ``nan``. These helpers look for NaN and inf first and say
where they are, refuse numbers of the wrong type instead of truncating them (``int(2.7)`` is 2, silently),
and name shapes in the messages. Used by ``makeup``, ``tryon`` and ``metrics``; ``train.TrainConfig`` checks
its own fields.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

Tensor = torch.Tensor


def _as_array(x: Any) -> np.ndarray | Tensor:
    return x.detach() if isinstance(x, Tensor) else np.asarray(x)


def finite(x: Any, name: str) -> None:
    """Raise ``ValueError`` if ``x`` (a tensor, array or number) holds NaN or inf, saying how many and where.

    Not in the notebooks: argument checks shared by the library.
    """
    a = _as_array(x)
    if isinstance(a, Tensor):
        if not a.is_floating_point() and not a.is_complex():
            return
        bad_nan, bad_inf = torch.isnan(a), torch.isinf(a)
        n_nan, n_inf, first = int(bad_nan.sum()), int(bad_inf.sum()), (bad_nan | bad_inf).nonzero()
    else:
        if not np.issubdtype(a.dtype, np.floating) and not np.issubdtype(a.dtype, np.complexfloating):
            return
        bad_nan, bad_inf = np.isnan(a), np.isinf(a)
        n_nan, n_inf, first = int(bad_nan.sum()), int(bad_inf.sum()), np.argwhere(bad_nan | bad_inf)
    if n_nan or n_inf:
        what = " and ".join(part for part in (f"{n_nan} NaN" if n_nan else "", f"{n_inf} inf" if n_inf else "") if part)
        where = f" (first at index {tuple(int(i) for i in first[0])})" if len(first) and a.ndim else ""
        raise ValueError(f"{name} holds {what} value(s) of {a.numel() if isinstance(a, Tensor) else a.size}{where}; "
                         f"every value must be a finite number")


def _scalar(value: Any) -> Any:
    """A one-element tensor or array stands for the number it holds (``torch.tensor(3)`` is an int, ``np.array(0.5)``
    a float); anything else is returned as it is."""
    if isinstance(value, Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.item()
    return value


def integer(value: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int; refuse bools, floats (even 3.0) and strings with a ``TypeError``, and values
    outside [low, high] with a ``ValueError``. A one-element integer tensor or array counts as its int.
    Not in the notebooks: argument checks shared by the library."""
    value = _scalar(value)
    bounds = (f" >= {low}" if low is not None else "") + (f" and <= {high}" if high is not None else "")
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int{bounds}, got {value!r} ({type(value).__name__})")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be an int{bounds}, got {value}")
    return value


def number(value: Any, name: str, low: float | None = None, high: float | None = None) -> float:
    """Return ``value`` as a finite float in [low, high]; refuse bools and strings (``TypeError``), NaN, inf and
    out-of-range values (``ValueError``). A one-element tensor or array counts as its number.
    Not in the notebooks: argument checks shared by the library."""
    value = _scalar(value)
    bounds = f" in [{low:g}, {high:g}]" if low is not None and high is not None else (
        f" >= {low:g}" if low is not None else f" <= {high:g}" if high is not None else "")
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number{bounds}, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not np.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be a finite number{bounds}, got {value}")
    return value


def features(x: Any, name: str) -> Tensor:
    """A feature matrix ``(N, D)`` with N >= 2 rows of finite numbers, as float64.

    Taught in 06_evaluation_fairness, section 1.
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a 2-D array or tensor of features (N, D), got {type(x).__name__}")
    try:
        t = torch.as_tensor(_as_array(x), dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a 2-D array or tensor of numbers (N, D), got {type(x).__name__}") from None
    if t.dim() != 2 or len(t) < 2 or t.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D array (N, D) with N >= 2 rows, got shape {tuple(t.shape)}")
    finite(t, name)
    return t


def distribution(p: Any, name: str) -> np.ndarray:
    """A discrete distribution: a 1-D array of finite, non-negative numbers with a positive sum (not normalised).

    Not in the notebooks: argument checks shared by the library.
    """
    try:
        a = np.asarray(_as_array(p), dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-D array of non-negative numbers, got {type(p).__name__}") from None
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array (one weight per bin), got shape {a.shape}")
    finite(a, name)
    if (a < 0).any() or a.sum() <= 0:
        raise ValueError(f"{name} must hold non-negative weights with a positive sum, got min {a.min():g}, sum {a.sum():g}")
    return a
