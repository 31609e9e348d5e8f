"""Shared helpers of the model modules."""
from __future__ import annotations

from torch import nn


def check_positive(**values: int) -> None:
    """Refuse any value that is not a positive int, naming it.

    Not in the notebooks: a building block of the library's models.
    """
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def count_params(module: nn.Module) -> int:
    """Return the number of trainable parameters of ``module``. Taught in 02_training_dynamics, section 2."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
