"""What every checker shares: the error type and how a pass is reported."""
from __future__ import annotations

import contextlib
import functools
import random
import traceback
from typing import Any, Callable, Iterator

import numpy as np
import torch

Tensor = torch.Tensor


class CheckError(AssertionError):
    """The student's answer differs from the reference; the message explains how.

    Not in the notebooks: the checkers' shared machinery.
    """


def your_line(tb) -> str:
    """Where in the student's code an exception started: the last frame outside the library and installed packages.

    Not in the notebooks: the checkers' shared machinery.
    """
    def library(filename: str) -> bool:
        name = filename.replace("\\", "/")
        return "/course_lib/" in name or "/site-packages/" in name or "/lib/python" in name

    frames = [f for f in traceback.extract_tb(tb) if not library(f.filename)]
    if not frames:
        return ""
    return f" at line {frames[-1].lineno} of your code (`{(frames[-1].line or '').strip()}`)"


def guarded(check: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a checker: torch's, numpy's and Python's global random states are restored after it runs, and an
    exception from the student's function becomes a ``CheckError`` naming its type, message and line.
    Not in the notebooks: the checkers' shared machinery."""

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            with torch.random.fork_rng(devices=[]):
                return check(*args, **kwargs)
        except CheckError:
            raise
        except Exception as err:  # noqa: BLE001 (any error of the student's code is reported, not re-raised raw)
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise CheckError(f"{check.__name__.removeprefix('check_')}: your function raised {type(err).__name__}"
                             f"{': ' + first if first else ''}{your_line(err.__traceback__)}. Fix that first; "
                             f"the check runs your function on small inputs described in its docstring.") from None
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)

    return wrapper


def fail(message: str) -> None:
    """Raise a CheckError with ``message``. Not in the notebooks: the checkers' shared machinery."""
    raise CheckError(message)


def confirm(message: str) -> None:
    """Print a check's confirmation line. Not in the notebooks: the checkers' shared machinery."""
    print(f"✓ {message}")


@contextlib.contextmanager
def library_hidden(*where: tuple[object, str]) -> Iterator[None]:
    """Inside the block, each ``(module, name)`` raises a CheckError: the student writes the exercise, not calls it.

    Not in the notebooks: the checkers' shared machinery.
    """
    saved = [(owner, name, getattr(owner, name)) for owner, name in where]

    def refuse(*args, **kwargs):
        raise CheckError("your function calls the library's version of this exercise: write it yourself from the "
                         "formula (the library's one is what your answer is compared with)")

    for owner, name, _ in saved:
        setattr(owner, name, refuse)
    try:
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


def passed(name: str, detail: str) -> None:
    """Print that exercise ``name`` is correct, and how it was tested.

    Not in the notebooks: the checkers' shared machinery.
    """
    print(f"✓ {name} is correct ({detail}).")


def close_enough(a: Tensor, b: Tensor, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """True when ``a`` and ``b`` have one shape, are finite and agree within the tolerances.

    Not in the notebooks: the checkers' shared machinery.
    """
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return a.shape == b.shape and bool(torch.isfinite(a).all()) and torch.allclose(a, b, rtol=rtol, atol=atol)
