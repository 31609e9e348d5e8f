"""DCGAN (03_dcgan_faces): Radford et al. 2016, for 32, 64 and 128 px images."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrizations, parametrize

from course_lib.models.common import _check_positive

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

    Use ``G.apply(dcgan_init)``. Linear layers keep their own init (FiLM's start as the identity).
    Taught in 03_dcgan_faces, section 2 (exercise 3.2).
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        # under spectral norm the stored weight is parametrizations.weight.original
        weight = module.parametrizations.weight.original if parametrize.is_parametrized(module, "weight") else module.weight
        nn.init.normal_(weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
