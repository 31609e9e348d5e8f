"""Checkers for 05_makeup_transfer: BeautyGAN's cycle loss and the region histogram loss."""
from __future__ import annotations

from typing import Callable

import torch

from course_lib import losses
from course_lib.checks.common import CheckError, close_enough, passed


class _ToyTransfer(torch.nn.Module):
    """A stand-in G(source, reference) -> (made-up source, bare reference) that is not symmetric in its inputs,
    so swapped arguments give a different number, with weights, so the loss's gradient can be checked too."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([0.8, 0.3, 0.9, -0.2]))

    def forward(self, source: torch.Tensor, reference: torch.Tensor):
        a, b, c, d = self.w
        return torch.tanh(a * source + b * reference.mean((2, 3), keepdim=True)), torch.tanh(c * reference + d * source)


def _cycle_reference(G, x, y) -> torch.Tensor:
    x_B, y_A = G(x, y)
    y_rec, x_rec = G(y_A, x_B)
    return (x_rec - x).abs().mean() + (y_rec - y).abs().mean()


def check_cycle_loss(fn: Callable) -> None:
    """Exercise 5.1: ``cycle(G, x, y)`` = |x_rec - x|_1 + |y_rec - y|_1 (means), with (y_rec, x_rec) = G(G(x, y)[1], G(x, y)[0]).

    Taught in 05_makeup_transfer, section 2.
    """
    G = _ToyTransfer()
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1, torch.rand(4, 3, 8, 8, generator=g) * 2 - 1
    expected = _cycle_reference(G, x, y)
    got = fn(G, x, y)
    if not isinstance(got, torch.Tensor) or got.dim() != 0:
        raise CheckError(f"return the loss as a scalar tensor, got {getattr(got, 'shape', type(got).__name__)}")
    if close_enough(got, expected):
        if not got.requires_grad:
            raise CheckError("cycle loss: the value is right but it has no gradient: no torch.no_grad() or .detach() "
                             "anywhere; G learns through both passes")
        grad_expected = torch.autograd.grad(expected, G.w)[0]
        grad_got = torch.autograd.grad(got, G.w, allow_unused=True)[0]
        if grad_got is None or not close_enough(grad_got, grad_expected, atol=1e-6):
            raise CheckError("cycle loss: the value is right but the gradient is not: both passes of G must stay in the "
                             "graph (a first pass under torch.no_grad() or detached hides half of what G must learn)")
        passed("cycle loss", "both faces come back after two passes of G, and G's gradient flows through both")
        return
    x_B, y_A = G(x, y)
    a, b = G(y_A, x_B)
    c, d = G(x_B, y_A)
    mistakes = [
        ((b - x).abs().mean(), "only the source's cycle is there: add the reference's, |y_rec - y|"),
        ((a - y).abs().mean(), "only the reference's cycle is there: add the source's, |x_rec - x|"),
        ((a - x).abs().mean() + (b - y).abs().mean(), "the second pass returns (y_rec, x_rec): made-up first, bare second"),
        ((d - x).abs().mean() + (c - y).abs().mean(), "the second pass is G(y_A, x_B): the bare face is the source, "
                                                    "the made-up one the reference"),
        ((b - x).pow(2).mean() + (a - y).pow(2).mean(), "the cycle loss is L1 (absolute values), not squared"),
        ((b - x).abs().sum() + (a - y).abs().sum(), "average over pixels (.mean()), do not sum"),
    ]
    for wrong, message in mistakes:
        if close_enough(got, wrong):
            raise CheckError(f"cycle loss: {message}")
    raise CheckError(f"cycle loss: expected {expected.item():.5f}, got {got.item():.5f}")


def _hist_reference(out, ref, m_out, m_ref) -> torch.Tensor:
    pixels = out[:, m_out]
    target = losses.histogram_match(pixels.detach(), ref[:, m_ref].detach())
    return (pixels - target).abs().mean()


def check_region_histogram_loss(fn: Callable) -> None:
    """Exercise 5.2: ``hist_loss(out, ref, m_out, m_ref)`` for one image (3, H, W) and boolean masks (H, W):
    L1 mean between the output's region pixels and their histogram-matched version (a detached target).
    Taught in 05_makeup_transfer, section 2."""
    g = torch.Generator().manual_seed(3)
    out = (torch.rand(3, 12, 12, generator=g) * 2 - 1).requires_grad_(True)
    ref = torch.rand(3, 12, 12, generator=g) ** 2 * 2 - 1
    m_out = torch.zeros(12, 12, dtype=torch.bool)
    m_out[3:9, 2:10] = True
    m_ref = torch.zeros(12, 12, dtype=torch.bool)
    m_ref[1:6, 4:11] = True
    expected = _hist_reference(out, ref, m_out, m_ref)
    try:
        got = fn(out, ref, m_out, m_ref)
    except RuntimeError as err:
        raise CheckError(f"hist_loss raised RuntimeError: {str(err).splitlines()[0]}. The two regions hold different numbers "
                         f"of pixels ({int(m_out.sum())} and {int(m_ref.sum())}): pair them by rank with "
                         "losses.histogram_match, not by position") from None
    if not isinstance(got, torch.Tensor) or got.dim() != 0:
        raise CheckError(f"return the loss as a scalar tensor, got {getattr(got, 'shape', type(got).__name__)}")
    if not got.requires_grad:
        raise CheckError("the loss has no gradient: compute it from out's pixels (only the *target* is detached)")
    pixels = out[:, m_out].detach()
    mistakes = [
        ((pixels - ref[:, m_ref].mean(1, keepdim=True)).abs().mean(), "that matches the reference's *mean* colour; "
                                                                     "match the whole histogram, pixel by rank"),
        ((pixels - losses.histogram_match(pixels, ref[:, m_ref])).abs().sum(), "average (.mean()), do not sum"),
    ]
    if not close_enough(got, expected):
        for wrong, message in mistakes:
            if wrong is not None and close_enough(got, wrong):
                raise CheckError(f"region histogram loss: {message}")
        raise CheckError(f"region histogram loss: expected {expected.item():.5f}, got {got.item():.5f}")
    grad_expected = torch.autograd.grad(expected, out)[0]
    grad_got = torch.autograd.grad(got, out)[0]
    if not close_enough(grad_got, grad_expected, atol=1e-6):
        raise CheckError("the value is right but the gradient is not: the loss must come from out's region pixels "
                         "minus a fixed target, (pixels - target).abs().mean()")
    passed("region histogram loss", "region pixels pulled towards the reference's colours, rank by rank")
