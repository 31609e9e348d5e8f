"""What every checker shares: the error type and how a pass is reported."""
from __future__ import annotations

import torch

Tensor = torch.Tensor


class CheckError(AssertionError):
    """The student's answer differs from the reference; the message explains how."""


def _passed(name: str, detail: str) -> None:
    print(f"✓ {name} is correct ({detail}).")


def _close(a: Tensor, b: Tensor, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return a.shape == b.shape and bool(torch.isfinite(a).all()) and torch.allclose(a, b, rtol=rtol, atol=atol)
