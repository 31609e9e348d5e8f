"""What every checker shares: the error type and how a pass is reported."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch

Tensor = torch.Tensor


class CheckError(AssertionError):
    """The student's answer differs from the reference; the message explains how."""


def _fail(message: str) -> None:
    raise CheckError(message)


def _ok(message: str) -> None:
    print(f"✓ {message}")


@contextlib.contextmanager
def library_hidden(*where: tuple[object, str]) -> Iterator[None]:
    """Inside the block, each ``(module, name)`` raises a CheckError: the student writes the exercise, not calls it."""
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


def _passed(name: str, detail: str) -> None:
    print(f"✓ {name} is correct ({detail}).")


def _close(a: Tensor, b: Tensor, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return a.shape == b.shape and bool(torch.isfinite(a).all()) and torch.allclose(a, b, rtol=rtol, atol=atol)
