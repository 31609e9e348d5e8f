"""Toy MLPs (01_minimax_game, 02_training_dynamics): generators and discriminators for 1-D and 2-D data."""
from __future__ import annotations

from torch import nn
from torch.nn.utils import parametrizations

from course_lib.models.common import _check_positive


def mlp_generator(z_dim: int, out_dim: int, hidden: int = 128, depth: int = 3) -> nn.Sequential:
    """Build an MLP generator: ``depth`` hidden layers of width ``hidden`` with ReLU, linear output.

    Maps ``(B, z_dim)`` to ``(B, out_dim)``. The output is unbounded (no tanh) because toy data
    lives on its own scale, e.g. a ring of radius 2. Taught in 02_training_dynamics, section 2.
    """
    _check_positive(z_dim=z_dim, out_dim=out_dim, hidden=hidden, depth=depth)
    layers: list[nn.Module] = []
    width = z_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]  # (B, hidden)
        width = hidden
    layers.append(nn.Linear(width, out_dim))  # (B, out_dim)
    return nn.Sequential(*layers)


def mlp_discriminator(in_dim: int, hidden: int = 128, depth: int = 3, spectral_norm: bool = False) -> nn.Sequential:
    """Build an MLP discriminator returning logits of shape ``(B,)``.

    ``depth`` hidden layers of width ``hidden`` with LeakyReLU(0.2) (no dead units, so D keeps a
    gradient everywhere for G). ``spectral_norm=True`` divides every weight by its largest singular
    value, which makes D 1-Lipschitz (up to the activations' slope). Taught in 02_training_dynamics, section 2.
    """
    _check_positive(in_dim=in_dim, hidden=hidden, depth=depth)

    def linear(n_in: int, n_out: int) -> nn.Module:
        layer = nn.Linear(n_in, n_out)
        return parametrizations.spectral_norm(layer) if spectral_norm else layer

    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(depth):
        layers += [linear(width, hidden), nn.LeakyReLU(0.2)]  # (B, hidden)
        width = hidden
    layers += [linear(width, 1), nn.Flatten(start_dim=0)]  # (B, 1) -> (B,)
    return nn.Sequential(*layers)
