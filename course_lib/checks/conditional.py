"""Checkers for 04_conditional_gan: FiLM (the conditional batch norm) and the projection discriminator's logits."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from course_lib.checks.common import CheckError, passed


def _parts(channels: int = 4, cond_dim: int = 3, seed: int = 0):
    torch.manual_seed(seed)  # checkers run guarded (checks.guarded): the notebook's stream is restored
    bn = nn.BatchNorm2d(channels, affine=False)
    gamma, beta = nn.Linear(cond_dim, channels), nn.Linear(cond_dim, channels)
    x, cond = torch.randn(5, channels, 6, 6) * 3 + 1, torch.rand(5, cond_dim)
    return x, cond, bn, gamma, beta


def check_film(fn: Callable) -> None:
    """Exercise 4.1: ``film(x, cond, bn, gamma, beta) = gamma(cond) * bn(x) + beta(cond)``, per sample and channel.

    Taught in 04_conditional_gan, section 2.
    """
    x, cond, bn, gamma, beta = _parts()
    expected = bn(x) * gamma(cond)[:, :, None, None] + beta(cond)[:, :, None, None]
    try:
        got = fn(x, cond, bn, gamma, beta)
    except RuntimeError as err:
        raise CheckError(f"film raised RuntimeError: {str(err).splitlines()[0]}. gamma(cond) has shape (B, C); "
                         "to scale a (B, C, H, W) map, give it two trailing axes: gamma(cond)[:, :, None, None]") from None
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        raise CheckError(f"film must return a tensor shaped like x {tuple(x.shape)}, got {getattr(got, 'shape', type(got).__name__)}")
    if torch.allclose(got, expected, atol=1e-5):
        passed("film", "scale and shift from the condition, after normalising")
        return
    mistakes = [
        (x * gamma(cond)[:, :, None, None] + beta(cond)[:, :, None, None], "normalise first: gamma and beta act on bn(x), not on x"),
        (bn(x) * beta(cond)[:, :, None, None] + gamma(cond)[:, :, None, None], "gamma scales and beta shifts: they are swapped"),
        (bn(x) + gamma(cond)[:, :, None, None] + beta(cond)[:, :, None, None], "gamma multiplies the normalised map; it is not added"),
        (bn(x * gamma(cond)[:, :, None, None] + beta(cond)[:, :, None, None]), "apply gamma and beta after batch norm, or the norm undoes them"),
    ]
    for wrong, message in mistakes:
        if torch.allclose(got, wrong, atol=1e-5):
            raise CheckError(f"film: {message}")
    raise CheckError("film differs from gamma(cond) * bn(x) + beta(cond); compare it on a small example")


def check_projection_logits(fn: Callable) -> None:
    """Exercise 4.2: ``logits = psi(h)[:, 0] + (embed(cond) * h).sum(1)`` for features h (B, F).

    Taught in 04_conditional_gan, section 3.
    """
    torch.manual_seed(1)
    h, cond = torch.randn(6, 8), torch.rand(6, 3)
    psi, embed = nn.Linear(8, 1), nn.Linear(3, 8, bias=False)
    expected = psi(h)[:, 0] + (embed(cond) * h).sum(1)
    got = fn(h, cond, psi, embed)
    if not isinstance(got, torch.Tensor):
        raise CheckError(f"return a tensor of logits, got {type(got).__name__}")
    if got.shape == (6, 1):
        raise CheckError("return one logit per sample, shape (B,): psi(h) is (B, 1), take psi(h)[:, 0]")
    if got.shape != (6,):
        raise CheckError(f"return logits of shape (B,) = (6,), got {tuple(got.shape)}")
    if torch.allclose(got, expected, atol=1e-5):
        passed("projection logits", "psi(h) plus the inner product of embed(c) with h")
        return
    mistakes = [
        (psi(h)[:, 0], "the condition is missing: add the projection term (embed(cond) * h).sum(1)"),
        ((embed(cond) * h).sum(1), "the unconditional term psi(h) is missing: D must still judge realism"),
        (psi(h)[:, 0] + (embed(cond) * h).mean(1), "the inner product sums over features; .mean divides it by F"),
        (psi(h)[:, 0] - (embed(cond) * h).sum(1), "the projection term is added, not subtracted"),
    ]
    for wrong, message in mistakes:
        if torch.allclose(got, wrong, atol=1e-5):
            raise CheckError(f"projection logits: {message}")
    raise CheckError("the logits differ from psi(h)[:, 0] + (embed(cond) * h).sum(1)")
