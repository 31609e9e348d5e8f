"""Toy MLPs (01_minimax_game, 02_training_dynamics): generators and discriminators for 1-D and 2-D data."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrizations

from course_lib.models.common import check_positive


def mlp_generator(z_dim: int, out_dim: int, hidden: int = 128, depth: int = 3) -> nn.Sequential:
    """Build an MLP generator: ``depth`` hidden layers of width ``hidden`` with ReLU, linear output.

    Maps ``(B, z_dim)`` to ``(B, out_dim)``. The output is unbounded (no tanh) because toy data
    lives on its own scale, e.g. a ring of radius 2. Taught in 02_training_dynamics, section 2.
    """
    check_positive(z_dim=z_dim, out_dim=out_dim, hidden=hidden, depth=depth)
    layers: list[nn.Module] = []
    width = z_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]  # (B, hidden)
        width = hidden
    layers.append(nn.Linear(width, out_dim))  # (B, out_dim)
    return nn.Sequential(*layers)


class Pack(nn.Module):
    """PacGAN's packing (Lin et al. 2018): ``(B, d)`` samples -> ``(B / m, m * d)`` packs of ``m`` consecutive samples.

    A discriminator that judges ``m`` samples at once sees how varied they are: ``m`` fakes drawn from one
    mode look unlike ``m`` reals drawn from the whole mixture, so collapse is penalised. Real and fake
    batches are packed separately (a pack is all real or all fake). Taught in 02_training_dynamics, section 7.
    """

    def __init__(self, m: int):
        super().__init__()
        if not isinstance(m, int) or isinstance(m, bool) or m < 1:
            raise ValueError(f"m (samples per pack) must be an int >= 1, got {m!r}")
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[0] % self.m:
            raise ValueError(f"a packed discriminator needs (B, d) samples with B divisible by the pack size {self.m}, "
                             f"got shape {tuple(x.shape)}")
        return x.reshape(x.shape[0] // self.m, self.m * x.shape[1])  # row i = samples i*m, ..., i*m + m - 1

    def extra_repr(self) -> str:
        return f"m={self.m}"


def mlp_discriminator(in_dim: int, hidden: int = 128, depth: int = 3, spectral_norm: bool = False,
                      pack: int = 1) -> nn.Sequential:
    """Build an MLP discriminator returning logits of shape ``(B,)``, or ``(B / pack,)`` when packed.

    ``depth`` hidden layers of width ``hidden`` with LeakyReLU(0.2) (no dead units, so D keeps a
    gradient everywhere for G). ``spectral_norm=True`` divides every weight by its largest singular
    value, which makes D 1-Lipschitz (up to the activations' slope). ``pack=m`` > 1 makes it PacGAN's
    packed D: one logit per ``m`` consecutive samples (``Pack``); only the first layer grows, to ``m * in_dim``
    inputs. Taught in 02_training_dynamics, sections 2 and 7.
    """
    check_positive(in_dim=in_dim, hidden=hidden, depth=depth, pack=pack)

    def linear(n_in: int, n_out: int) -> nn.Module:
        layer = nn.Linear(n_in, n_out)
        return parametrizations.spectral_norm(layer) if spectral_norm else layer

    layers: list[nn.Module] = [Pack(pack)] if pack > 1 else []
    width = in_dim * pack
    for _ in range(depth):
        layers += [linear(width, hidden), nn.LeakyReLU(0.2)]  # (B, hidden)
        width = hidden
    layers += [linear(width, 1), nn.Flatten(start_dim=0)]  # (B, 1) -> (B,)
    return nn.Sequential(*layers)
