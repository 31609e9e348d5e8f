"""Generators and discriminators, from toy MLPs to the networks of the later notebooks.

Conventions shared by every model here:
- a generator maps noise ``z`` of shape ``(B, z_dim)`` to samples;
- a discriminator returns **logits of shape (B,)**, one per sample (``losses`` turns them into losses);
- nothing is seeded here: build models after ``set_seed()``.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrizations


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def count_params(module: nn.Module) -> int:
    """Return the number of trainable parameters of ``module``. Taught in 02_training_dynamics, section 2."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# --------------------------------------------------------------------------------------------------
# Toy MLPs (01_minimax_game, 02_training_dynamics): 1-D and 2-D data
# --------------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------------
# DCGAN (03_dcgan_faces): Radford et al. 2016, for 32, 64 and 128 px images
# --------------------------------------------------------------------------------------------------
DCGAN_SIZES = (32, 64, 128)


def _n_blocks(size: int) -> int:
    if size not in DCGAN_SIZES:
        raise ValueError(f"size must be one of {', '.join(map(str, DCGAN_SIZES))}, got {size!r}")
    return int(math.log2(size)) - 2  # 4x4 -> size doubles this many times: 32 -> 3, 64 -> 4, 128 -> 5


def generator_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """Double the resolution: transposed conv (kernel 4, stride 2, padding 1) -> batch norm -> ReLU.

    ``(B, in_ch, H, W) -> (B, out_ch, 2H, 2W)``. Taught in 03_dcgan_faces, section 2 (exercise 3.1).
    """
    return nn.Sequential(
        nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False),  # no bias: batch norm re-centres
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class DCGANGenerator(nn.Module):
    """Noise ``(B, z_dim)`` -> images ``(B, 3, size, size)`` in [-1, 1].

    For 64 px and width 64 (pytorch/examples' ngf):
    z (B, 100, 1, 1) -> (B, 512, 4, 4) -> (B, 256, 8, 8) -> (B, 128, 16, 16) -> (B, 64, 32, 32) -> (B, 3, 64, 64).
    """

    def __init__(self, z_dim: int = 100, size: int = 64, width: int = 64):
        super().__init__()
        _check_positive(z_dim=z_dim, width=width)
        n = _n_blocks(size)
        self.z_dim, self.size, self.width = z_dim, size, width
        ch = width * 2 ** (n - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, ch, 4, stride=1, padding=0, bias=False),  # (B, ch, 4, 4)
            nn.BatchNorm2d(ch),
            nn.ReLU(inplace=True),
        ]
        for _ in range(n - 1):
            layers.append(generator_block(ch, ch // 2))  # resolution x2, channels / 2
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, 3, 4, stride=2, padding=1), nn.Tanh()]  # (B, 3, size, size)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (B, {self.z_dim}), got {tuple(z.shape)}")
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """Images ``(B, 3, size, size)`` -> logits ``(B,)``; strided convs, LeakyReLU(0.2), batch norm after the first.

    For 64 px and width 64: (B, 3, 64, 64) -> (B, 64, 32, 32) -> (B, 128, 16, 16) -> (B, 256, 8, 8)
    -> (B, 512, 4, 4) -> (B,). ``spectral_norm=True`` swaps batch norm for spectral normalisation.
    """

    def __init__(self, size: int = 64, width: int = 64, spectral_norm: bool = False):
        super().__init__()
        _check_positive(width=width)
        n = _n_blocks(size)
        self.size = size
        sn = parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        layers: list[nn.Module] = [sn(nn.Conv2d(3, width, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]  # (B, w, s/2, s/2)
        ch = width
        for _ in range(n - 1):
            layers.append(sn(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=spectral_norm)))  # resolution / 2, channels x2
            if not spectral_norm:
                layers.append(nn.BatchNorm2d(ch * 2))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            ch *= 2
        layers += [sn(nn.Conv2d(ch, 1, 4, 1, 0)), nn.Flatten(start_dim=0)]  # (B, ch, 4, 4) -> (B, 1, 1, 1) -> (B,)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (3, self.size, self.size):
            raise ValueError(f"x must have shape (B, 3, {self.size}, {self.size}), got {tuple(x.shape)}")
        return self.net(x)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN weight init: conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), biases 0.

    Use ``G.apply(dcgan_init)``. Taught in 03_dcgan_faces, section 2 (exercise 3.2).
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        weight = getattr(module, "parametrizations", None)
        w = module.parametrizations.weight.original if weight is not None and hasattr(weight, "weight") else module.weight
        nn.init.normal_(w, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
