"""Checkers for 03_dcgan_faces, section 4: minibatch standard deviation (exercise 3.3) and the R1 penalty (3.4).

Each compares the student's function with the library's on inputs where the usual mistakes give different
numbers, and names the mistake it recognises. The library's own version is hidden while the student's code
runs (``library_hidden``), so calling it instead of writing it does not pass.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from course_lib.checks.common import CheckError, fail, confirm, library_hidden


def _mbstd_variants(x: torch.Tensor, g: int) -> dict[str, torch.Tensor]:
    """The appended channel (B,) as plausible wrong answers compute it, to name the mistake."""
    B = x.shape[0]
    grouped = x.reshape(B // g, g, *x.shape[1:])
    strided = x.reshape(g, B // g, *x.shape[1:])
    return {
        "the std over the whole batch (ignoring the groups)": x.var(0, unbiased=False).add(1e-8).sqrt().mean().expand(B),
        "each sample's own std over its features (not over the group's samples)": x.flatten(1).std(1, unbiased=False),
        "torch.std's default, the unbiased (n - 1) std: use the population std (unbiased=False)":
            grouped.var(1, unbiased=True).add(1e-8).sqrt().mean((1, 2, 3)).repeat_interleave(g),
        "groups of every (B / group_size)-th sample: the groups must be consecutive samples (0-3, 4-7, ...)":
            strided.var(0, unbiased=False).add(1e-8).sqrt().mean((1, 2, 3)).repeat(g),
        "the std of the averaged features: take the std of every feature first, then average the stds":
            grouped.mean((2, 3, 4)).var(1, unbiased=False).add(1e-8).sqrt().repeat_interleave(g),
    }


def check_minibatch_std(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """Exercise 3.3: ``minibatch_std(x, group_size)`` appends each group's mean feature std as a channel.

    Compared with ``models.minibatch_std`` on batches of 8 (groups of 4) and 6 (groups of 2), on identical
    samples (finite gradient) and through backward (the std must stay in the graph).
    Taught in 03_dcgan_faces, section 4.
    """
    from course_lib import models
    from course_lib.models import dcgan

    reference = dcgan.minibatch_std  # kept before the library's name is hidden from the student's code
    gen = torch.Generator().manual_seed(33)  # a local generator: the notebook's random stream is left alone
    x = torch.randn(8, 5, 3, 3, generator=gen) * torch.linspace(0.5, 2.0, 8)[:, None, None, None]
    with library_hidden((dcgan, "minibatch_std"), (models, "minibatch_std")):
        try:
            out = fn(x.clone(), 4)
        except CheckError:
            raise
        except Exception as err:  # noqa: BLE001 - any error in the student's code becomes a hint
            fail(f"minibatch_std(x of shape (8, 5, 3, 3), 4) raised {type(err).__name__}: {err}")
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (8, 6, 3, 3):
            fail(f"for x of shape (8, 5, 3, 3) the output must be (8, 6, 3, 3): the input with one channel appended "
                  f"(torch.cat along dim 1); got {tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
        if not torch.equal(out[:, :5], x):
            fail("the first C channels must be x itself, unchanged; the new channel goes last")
        extra = out[:, 5]
        if not torch.allclose(extra, extra[:, :1, :1].expand_as(extra)):
            fail("the appended channel must be constant over height and width (one number per sample, broadcast)")
        want = reference(x, 4)[:, 5, 0, 0]
        got = extra[:, 0, 0]
        if not torch.allclose(got, want, rtol=1e-4, atol=1e-6):
            for mistake, value in _mbstd_variants(x, 4).items():
                if torch.allclose(got, value, rtol=1e-4, atol=1e-6):
                    fail(f"your appended channel is {mistake}")
            fail(f"the appended values {got.numpy().round(4)} should be {want.numpy().round(4)}: for each group of "
                  "group_size consecutive samples, the population std of every feature over the group, averaged over "
                  "features and positions")
        x6 = x[:6]
        try:
            out6 = fn(x6.clone(), 4)
        except Exception as err:  # noqa: BLE001
            fail(f"a batch of 6 with group_size 4 raised {type(err).__name__}: {err}. When B is not a multiple of "
                  "group_size, use the largest group size that divides B (math.gcd(B, group_size))")
        if not torch.allclose(out6[:, 5, 0, 0], reference(x6, 4)[:, 5, 0, 0], rtol=1e-4, atol=1e-6):
            fail("a batch of 6 with group_size 4 must use groups of math.gcd(6, 4) = 2 consecutive samples")
        same = x[:1].expand(4, -1, -1, -1).clone().requires_grad_(True)
        out_same = fn(same, 4)
        out_same[:, -1].sum().backward()
        if same.grad is None or not torch.isfinite(same.grad).all():
            fail("for four identical samples the gradient is NaN or missing: the square root of 0 has an infinite "
                  "slope, so add 1e-8 to the variance before the square root")
        if out_same[0, -1, 0, 0].item() > 1e-3:
            fail(f"four identical samples must have a std of ~0, you give {out_same[0, -1, 0, 0].item():.4f}")
        xg = x.clone().requires_grad_(True)
        xr = x.clone().requires_grad_(True)
        weights = torch.randn(8, generator=gen)
        (fn(xg, 4)[:, 5, 0, 0] * weights).sum().backward()
        (reference(xr, 4)[:, 5, 0, 0] * weights).sum().backward()
        if xg.grad is None or not torch.allclose(xg.grad, xr.grad, rtol=1e-3, atol=1e-6):
            fail("the appended std does not pass D's gradient back to the images as it should: keep it in the graph "
                  "(no .detach(), .item() or torch.no_grad()), so that G learns what a varied batch looks like")
    confirm("minibatch_std appends each group's mean feature std, with a finite gradient even for identical samples.")


class _TinyD(nn.Module):
    """A small conv D without batch norm, so each sample's logit depends on that sample only."""

    def __init__(self, gen: torch.Generator):
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # torch's default init draws from the global stream: restore it
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.lin = nn.Linear(4 * 4 * 4, 1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(torch.tanh(self.conv(x)).flatten(1))[:, 0]  # (B,) logits


def _r1_reference(D: nn.Module, x_real: torch.Tensor, gamma: float) -> torch.Tensor:
    x = x_real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return 0.5 * gamma * grad.pow(2).flatten(1).sum(1).mean()


def _r1_variants(D: nn.Module, x_real: torch.Tensor, gamma: float) -> dict[str, float]:
    """The value plausible wrong answers give, to name the mistake."""
    x = x_real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x)
    (grad_p,) = torch.autograd.grad(torch.sigmoid(D(x)).sum(), x)
    sq = grad.pow(2).flatten(1).sum(1)  # (B,) squared norms
    B = x.shape[0]
    return {
        "missing the 1/2: R1 is (gamma / 2) E ||grad||^2": float(gamma * sq.mean()),
        "the norm, not the squared norm": float(0.5 * gamma * sq.sqrt().mean()),
        "the WGAN-GP penalty (||grad|| - 1)^2: R1 pushes the gradient to 0, not to 1":
            float(0.5 * gamma * (sq.sqrt() - 1).pow(2).mean()),
        "summed over the batch: average the per-sample squared norms": float(0.5 * gamma * sq.sum()),
        "averaged over every pixel: sum the squares over each sample's pixels, then average over samples":
            float(0.5 * gamma * grad.pow(2).mean()),
        "taken of D(x).mean(), which scales every gradient by 1/B: differentiate D(x).sum()":
            float(0.5 * gamma * (sq / B**2).mean()),
        "taken of sigmoid(D(x)): R1 penalises the gradient of D's logit":
            float(0.5 * gamma * grad_p.pow(2).flatten(1).sum(1).mean()),
    }


def check_r1_penalty(fn: Callable[[nn.Module, torch.Tensor, float], torch.Tensor]) -> None:
    """Exercise 3.4: ``r1_penalty(D, x_real, gamma)`` = (gamma / 2) E ||grad_x D(x)||^2 on real samples.

    Compared with the reference for two gammas on a small conv D; the penalty must reach D's weights
    (create_graph=True) with the reference's gradients, and leave ``x_real`` and D's ``.grad`` alone.
    Taught in 03_dcgan_faces, section 4.
    """
    from course_lib import losses

    gen = torch.Generator().manual_seed(44)
    D = _TinyD(gen)
    x = torch.randn(6, 3, 4, 4, generator=gen) * torch.linspace(0.3, 3.0, 6)[:, None, None, None]
    with library_hidden((losses, "r1_penalty")):
        for gamma in (2.0, 0.5):
            try:
                got = fn(D, x, gamma)
            except CheckError:
                raise
            except Exception as err:  # noqa: BLE001
                fail(f"r1_penalty(D, x_real of shape (6, 3, 4, 4), {gamma}) raised {type(err).__name__}: {err}")
            if not isinstance(got, torch.Tensor) or got.dim() != 0:
                fail(f"return the penalty as a 0-dim tensor (so it can be added to D's loss), got "
                      f"{type(got).__name__}{' of shape ' + str(tuple(got.shape)) if isinstance(got, torch.Tensor) else ''}")
            if x.requires_grad or x.grad is not None:
                fail("your function changed x_real itself (it now requires grad): work on "
                      "x = x_real.detach().requires_grad_(True)")
            if any(p.grad is not None for p in D.parameters()):
                fail("your function left gradients in D's weights: return the penalty and let D's step call backward()")
            want = _r1_reference(D, x, gamma)
            if not torch.allclose(got.detach().float(), want.detach(), rtol=1e-4, atol=1e-7):
                for mistake, value in _r1_variants(D, x, gamma).items():
                    if math.isclose(float(got.detach()), value, rel_tol=1e-4, abs_tol=1e-7):
                        fail(f"your penalty is {mistake}")
                fail(f"with gamma = {gamma} the penalty should be {float(torch.as_tensor(want).detach()):.6f}, you give {float(got.detach()):.6f}: "
                      "(gamma / 2) times the batch mean of each sample's squared gradient norm ||d D(x_i) / d x_i||^2")
            if not got.requires_grad:
                fail("the penalty does not reach D's weights: torch.autograd.grad needs create_graph=True, so that "
                      "backward() can differentiate the gradient itself")
            params = list(D.parameters())  # (the last bias does not change grad_x D, so its gradient is None)
            grads = torch.autograd.grad(got, params, allow_unused=True)
            grads_ref = torch.autograd.grad(want, params, allow_unused=True)
            zero = [torch.zeros_like(p) for p in params]
            grads = [z if g is None else g for g, z in zip(grads, zero)]
            grads_ref = [z if g is None else g for g, z in zip(grads_ref, zero)]
            if not any(g.abs().sum() > 0 for g in grads) or any(
                    not torch.allclose(g, r, rtol=1e-3, atol=1e-6) for g, r in zip(grads, grads_ref)):
                fail("the penalty's gradient with respect to D's weights differs from the reference's: keep the whole "
                      "computation in the graph (create_graph=True, no .detach() on the gradient)")
    confirm("r1_penalty is (gamma / 2) E ||grad_x D(x)||^2 on real data, and its gradient reaches D's weights.")
