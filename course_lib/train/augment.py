"""DiffAugment (Zhao et al. 2020): augment every image D sees, real and fake, with differentiable transforms.

With a small data set (notebook 03's 100 LFW faces) D soon memorises the training images: it tells them from
fakes by *which* faces they are, its verdicts stop generalising, and G is pushed to copy the training faces or
collapses. Augmenting only the reals would teach G to produce augmented faces (D would call un-augmented ones
fake). DiffAugment applies the same random family of transforms to both reals and fakes, in D's forward pass and
in G's step, and keeps every transform differentiable, so G's gradient flows back through it:

    L_D = E_x[f(-D(T(x)))] + E_z[f(D(T(G(z))))],        L_G = E_z[f(-D(T(G(z))))],        T ~ policy

The three policies of the paper, on images in [-1, 1] (each draws its parameters per sample):

- ``color``: brightness + U(-0.5, 0.5); saturation (x - mean_c) * U(0, 2) + mean_c; contrast (x - mean) * U(0.5, 1.5) + mean;
- ``translation``: shift by up to 1/8 of the size in x and y, filling with zeros;
- ``cutout``: zero one square of half the size, at a random place.

Taught in 03_dcgan_faces, section 7.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """Return the transform names in ``policy`` ("color,translation,cutout"; "" for none), checking each.

    Not in the notebooks: the training loops' machinery.
    """
    if not isinstance(policy, str):
        raise TypeError(f"policy must be a comma-separated string of {', '.join(POLICIES)} (or ''), got {type(policy).__name__}")
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment transform(s) {unknown} in policy {policy!r}; choose from {', '.join(POLICIES)}")
    return names


def _uniform(x: Tensor, low: float, high: float, generator: torch.Generator | None) -> Tensor:
    """One draw per sample, shape (B, 1, 1, 1), on x's device and dtype."""
    u = torch.rand(x.shape[0], 1, 1, 1, generator=generator)
    return (low + (high - low) * u).to(device=x.device, dtype=x.dtype)


def _color(x: Tensor, generator: torch.Generator | None) -> Tensor:
    x = x + _uniform(x, -0.5, 0.5, generator)  # brightness
    mean_c = x.mean(dim=1, keepdim=True)  # (B, 1, H, W): the grey value of each pixel
    x = (x - mean_c) * _uniform(x, 0.0, 2.0, generator) + mean_c  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    return (x - mean) * _uniform(x, 0.5, 1.5, generator) + mean  # contrast


def _translation(x: Tensor, ratio: float, generator: torch.Generator | None) -> Tensor:
    B, _, H, W = x.shape
    sy, sx = int(H * ratio + 0.5), int(W * ratio + 0.5)
    ty = torch.randint(-sy, sy + 1, (B, 1, 1), generator=generator).to(x.device)
    tx = torch.randint(-sx, sx + 1, (B, 1, 1), generator=generator).to(x.device)
    # read pixel (i + ty, j + tx) of a copy padded with one ring of zeros: anything outside lands on the ring
    rows = (torch.arange(H, device=x.device)[None, :, None] + ty + 1).clamp(0, H + 1)  # (B, H, 1)
    cols = (torch.arange(W, device=x.device)[None, None, :] + tx + 1).clamp(0, W + 1)  # (B, 1, W)
    padded = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1)  # (B, H + 2, W + 2, C)
    batch = torch.arange(B, device=x.device)[:, None, None]
    return padded[batch, rows, cols].permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)


def _cutout(x: Tensor, ratio: float, generator: torch.Generator | None) -> Tensor:
    B, _, H, W = x.shape
    ch, cw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    cy = torch.randint(0, H + (1 - ch % 2), (B, 1, 1), generator=generator).to(x.device)  # the square's centre
    cx = torch.randint(0, W + (1 - cw % 2), (B, 1, 1), generator=generator).to(x.device)
    ys = torch.arange(H, device=x.device)[None, :, None]
    xs = torch.arange(W, device=x.device)[None, None, :]
    inside = (ys >= cy - ch // 2) & (ys < cy - ch // 2 + ch) & (xs >= cx - cw // 2) & (xs < cx - cw // 2 + cw)
    return x * (~inside)[:, None].to(x.dtype)  # (B, 1, H, W) mask, broadcast over channels


def diff_augment(x: Tensor, policy: str = "color,translation,cutout", generator: torch.Generator | None = None,
                 translation: float = 0.125, cutout: float = 0.5) -> Tensor:
    """Return ``x`` (B, 3, H, W) in [-1, 1] with the policy's transforms applied, each drawn per sample.

    Differentiable in ``x``. ``generator`` (a CPU ``torch.Generator``) makes the draws reproducible; without
    it they come from torch's global generator (which ``train.fit`` checkpoints, so runs still resume exactly).
    Not in the notebooks by name: ``TrainConfig(augment=...)`` applies it (03_dcgan_faces, section 7).
    """
    names = parse_policy(policy)
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"x must be a (B, C, H, W) image tensor, got {getattr(x, 'shape', type(x).__name__)}")
    for name in names:
        if name == "color":
            x = _color(x, generator)
        elif name == "translation":
            x = _translation(x, translation, generator)
        else:
            x = _cutout(x, cutout, generator)
    return x


class Augmented(nn.Module):
    """``D`` seen through DiffAugment: ``Augmented(D, policy)(x, ...) = D(diff_augment(x, policy), ...)``.

    ``train.fit`` wraps its discriminator in one when ``TrainConfig.augment`` is set, so every D call (on reals,
    on fakes in D's step and in G's step, and R1's real batch) sees augmented images. It holds no parameters of
    its own: D's state dict is unchanged.
    Not in the notebooks: the training loops' machinery.
    """

    def __init__(self, D: nn.Module, policy: str):
        super().__init__()
        parse_policy(policy)
        self.D, self.policy = D, policy

    def forward(self, x: Tensor, *args: Any, **kwargs: Any) -> Any:
        return self.D(diff_augment(x, self.policy), *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # D's attributes (regress, size, ...) read through the wrapper
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__("D"), name)
