"""Training GANs: one discriminator step, one generator step, and the named loss pairs they use.

``d_step`` and ``g_step`` each do one optimiser update and return plain floats, so a loop (yours in
02_training_dynamics, the library's ``fit`` later) only alternates them and records the dicts:

    for x_real in batches:
        stats_d = d_step(G, D, opt_D, x_real, z=torch.randn(B, z_dim), loss="nonsaturating")
        stats_g = g_step(G, D, opt_G, z=torch.randn(B, z_dim), loss="nonsaturating")

Mixed precision is the caller's choice: pass ``autocast=device.autocast(device)`` (a re-enterable
context) and, for fp16, one ``torch.amp.GradScaler`` per network.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Iterator

import torch
from torch import nn

from course_lib import losses
from course_lib.train import distributed

Tensor = torch.Tensor


# --------------------------------------------------------------------------------------------------
# Named loss pairs: a plain dict, so "which losses does 'hinge' mean?" has a one-line answer
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LossPair:
    """A discriminator loss, the generator loss that goes with it, and the default gradient-penalty weight.

    Not in the notebooks: the training loops' machinery.
    """

    d: Callable[[Tensor, Tensor], Tensor]  # (logits_real, logits_fake) -> scalar
    g: Callable[[Tensor], Tensor]  # logits_fake -> scalar
    gp_weight: float = 0.0


LOSSES: dict[str, LossPair] = {
    "minimax-saturating": LossPair(losses.d_loss_minimax, losses.g_loss_saturating),
    "nonsaturating": LossPair(losses.d_loss_minimax, losses.g_loss_nonsaturating),
    "lsgan": LossPair(losses.d_loss_lsgan, losses.g_loss_lsgan),
    "hinge": LossPair(losses.d_loss_hinge, losses.g_loss_hinge),
    "wgan-gp": LossPair(losses.d_loss_wasserstein, losses.g_loss_wasserstein, gp_weight=10.0),
}


def get_loss(loss: str | LossPair) -> LossPair:
    """Return the loss pair named ``loss`` (a key of ``LOSSES``), or ``loss`` itself if it is a LossPair.

    Not in the notebooks by name: ``d_step`` and ``g_step`` look ``loss`` up with it (02_training_dynamics, section 5).
    """
    if isinstance(loss, LossPair):
        return loss
    if loss not in LOSSES:
        raise KeyError(f"unknown loss {loss!r}; valid names: {', '.join(LOSSES)} (or pass a train.LossPair)")
    return LOSSES[loss]


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------
def _grad_norm(module: nn.Module) -> float:
    """Return the global L2 norm of the gradients of ``module`` (0.0 when there are none)."""
    squares = [p.grad.detach().float().pow(2).sum() for p in module.parameters() if p.grad is not None]
    return float(torch.stack(squares).sum().sqrt()) if squares else 0.0


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """Turn off gradients for ``module``'s parameters inside the block (restoring each flag after)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def _update(loss: Tensor, module: nn.Module, opt: torch.optim.Optimizer, scaler: Any) -> float:
    """Zero the grads, backpropagate ``loss``, step ``opt``; return the (unscaled) gradient norm."""
    opt.zero_grad(set_to_none=True)  # the other network's step may have left grads here
    if scaler is None:
        loss.backward()
        distributed.sync_grads(module)  # under torchrun: average over processes (no-op otherwise)
        norm = _grad_norm(module)
        opt.step()
    else:
        scaler.scale(loss).backward()
        distributed.sync_grads(module)  # an overflow on any process reaches all, so all skip together
        scaler.unscale_(opt)  # so the norm (and any clipping a caller adds) sees true gradients
        norm = _grad_norm(module)
        scaler.step(opt)  # skipped when fp16 gradients overflowed
        scaler.update()
    return norm


# --------------------------------------------------------------------------------------------------
# The two steps
# --------------------------------------------------------------------------------------------------
def _penalty(value: Any, name: str) -> Tensor:
    """A penalty from a caller's function must be a 0-dim tensor (connected to D's weights)."""
    if not isinstance(value, torch.Tensor) or value.dim() != 0:
        raise TypeError(f"{name} must return the penalty as a 0-dim tensor (connected to D's weights), got "
                        f"{type(value).__name__}{'' if not isinstance(value, torch.Tensor) else ' of shape ' + str(tuple(value.shape))}")
    return value


def d_step(
    G: nn.Module,
    D: nn.Module,
    opt_D: torch.optim.Optimizer,
    x_real: Tensor,
    z: Tensor | None,
    loss: str | LossPair = "nonsaturating",
    gp_weight: float | None = None,
    autocast: ContextManager[Any] | None = None,
    scaler: Any = None,
    generator: torch.Generator | None = None,
    x_fake: Tensor | None = None,
    aux_loss: Callable[[Tensor, Tensor], Tensor] | None = None,
    r1_gamma: float = 0.0,
    r1_fn: Callable[[nn.Module, Tensor, float], Tensor] | None = None,
    gp_fn: Callable[[nn.Module, Tensor, Tensor, float], Tensor] | None = None,
) -> dict[str, float]:
    """Update D once on a real batch and a fake batch G(z); return floats describing the step.

    The fake batch is made under ``no_grad``: D's step must not build (or leave) gradients in G.
    A caller that already has G(z) (``fit`` reuses it for the generator step, as the DCGAN reference
    loop does) passes it as ``x_fake``; it is detached here, and ``z`` may then be None.
    ``gp_weight`` overrides the pair's default penalty (10 for "wgan-gp", 0 otherwise); ``generator``
    seeds its interpolates. Returns ``d_loss`` (without the penalty), ``gp``, ``d_real`` = mean D(x),
    ``d_fake`` = mean D(G(z)) as probabilities (sigmoid of the score, only indicative for
    Wasserstein/hinge critics) and ``d_grad_norm``. ``aux_loss(x_real, x_fake)``, called after D's forward
    passes with the very batches D judged, adds a term to D's loss (``fit`` uses it for a conditional D's style
    regression on the real batch), reported as ``aux`` when given.
    ``r1_gamma`` > 0 adds the R1 penalty on the real batch (``losses.r1_penalty``), reusing D's forward pass
    on it; reported as ``r1``. ``r1_fn(D, x_real, gamma)`` computes it instead (yours, in 03_dcgan_faces), and
    ``gp_fn(D, x_real, x_fake, weight)`` the gradient penalty (yours, in 02_training_dynamics).
    Taught in 02_training_dynamics, section 3.
    """
    pair = get_loss(loss)
    if not r1_gamma >= 0:
        raise ValueError(f"r1_gamma must be >= 0, got {r1_gamma}")
    weight = pair.gp_weight if gp_weight is None else float(gp_weight)
    with autocast if autocast is not None else contextlib.nullcontext():
        if x_fake is None:
            with torch.no_grad():
                x_fake = G(z)
        x_fake = x_fake.detach()
        if r1_gamma > 0 and r1_fn is None:  # the library's R1 reuses D(x_real): record x_real's graph
            x_real = x_real.detach().requires_grad_(True)
        logits_real, logits_fake = D(x_real), D(x_fake)
        # Losses in fp32: under bf16/fp16 autocast, softplus of a low-precision logit loses digits.
        d_loss = pair.d(logits_real.float(), logits_fake.float())
        if weight == 0:
            gp = torch.zeros(())
        elif gp_fn is None:
            gp = losses.gradient_penalty(D, x_real, x_fake, weight, generator)
        else:
            gp = _penalty(gp_fn(D, x_real, x_fake, weight), "gp_fn")
        if r1_gamma == 0:
            r1 = torch.zeros(())
        elif r1_fn is None:
            r1 = losses.r1_penalty(D, x_real, r1_gamma, logits_real=logits_real)
        else:
            r1 = _penalty(r1_fn(D, x_real, r1_gamma), "r1_fn")
        aux = aux_loss(x_real, x_fake) if aux_loss is not None else torch.zeros(())
    norm = _update(d_loss + gp + r1 + aux, D, opt_D, scaler)
    stats = {
        "d_loss": float(d_loss.detach()),
        "gp": float(gp.detach()),
        "r1": float(r1.detach()),
        "d_real": float(torch.sigmoid(logits_real.detach().float()).mean()),
        "d_fake": float(torch.sigmoid(logits_fake.detach().float()).mean()),
        "d_grad_norm": norm,
    }
    if aux_loss is not None:
        stats["aux"] = float(aux.detach())
    return stats


def g_step(
    G: nn.Module,
    D: nn.Module,
    opt_G: torch.optim.Optimizer,
    z: Tensor | None,
    loss: str | LossPair = "nonsaturating",
    autocast: ContextManager[Any] | None = None,
    scaler: Any = None,
    x_fake: Tensor | None = None,
    aux_loss: Callable[[Tensor], Tensor] | None = None,
) -> dict[str, float]:
    """Update G once through a frozen D; return ``g_loss``, ``d_fake`` = mean D(G(z)) and ``g_grad_norm``.

    D's parameters are frozen during the step (gradients flow through D to G, not into D's weights).
    ``x_fake``: a G(z) made earlier *with* its graph (G unchanged since), reused instead of a new forward.
    ``aux_loss(x_fake)``, called after D's forward pass with the fakes D judged, adds a term to G's loss
    (reported as ``aux`` when given).
    Taught in 02_training_dynamics, section 3.
    """
    pair = get_loss(loss)
    with _frozen(D):
        with autocast if autocast is not None else contextlib.nullcontext():
            x_fake = G(z) if x_fake is None else x_fake
            logits_fake = D(x_fake)
            g_loss = pair.g(logits_fake.float())
            aux = aux_loss(x_fake) if aux_loss is not None else torch.zeros(())
        norm = _update(g_loss + aux, G, opt_G, scaler)
    stats = {
        "g_loss": float(g_loss.detach()),
        "d_fake": float(torch.sigmoid(logits_fake.detach().float()).mean()),
        "g_grad_norm": norm,
    }
    if aux_loss is not None:
        stats["aux"] = float(aux.detach())
    return stats
