"""Data sets for the course, one section per kind.

- Toy distributions (01_minimax_game, 02_training_dynamics): Gaussian mixtures in 1-D and 2-D whose
  mode centres and sigma are known, so that metrics can score samples against the truth.

Every sampler takes ``n`` and an optional ``torch.Generator`` (fixed samples without global seeding).
This module knows nothing of GANs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

Tensor = torch.Tensor


# --------------------------------------------------------------------------------------------------
# Toy distributions (01_minimax_game, 02_training_dynamics)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GaussianMixture:
    """An isotropic Gaussian mixture: ``K`` centres in ``dim`` dimensions sharing one ``sigma``.

    ``centres`` is ``(K, dim)``, ``weights`` is ``(K,)`` and sums to 1. Taught in 02_training_dynamics, section 1.
    """

    centres: Tensor  # (K, dim)
    sigma: float
    weights: Tensor  # (K,)
    name: str = "mixture"

    def __post_init__(self) -> None:
        if not isinstance(self.centres, torch.Tensor) or self.centres.dim() != 2 or len(self.centres) == 0:
            raise ValueError(f"centres must be a tensor of shape (K, dim), got {getattr(self.centres, 'shape', self.centres)}")
        if not float(self.sigma) > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        if self.weights.shape != (len(self.centres),) or (self.weights < 0).any():
            raise ValueError(f"weights must be non-negative with shape ({len(self.centres)},), got {tuple(self.weights.shape)}")
        if not math.isclose(float(self.weights.sum()), 1.0, abs_tol=1e-5):
            raise ValueError(f"weights must sum to 1, got {float(self.weights.sum()):.6f}")

    @property
    def dim(self) -> int:
        """Return the dimension of a sample."""
        return self.centres.shape[1]

    @property
    def n_modes(self) -> int:
        """Return the number of mixture components K."""
        return self.centres.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` samples, shape ``(n, dim)``: pick a mode by weight, add N(0, sigma^2 I) noise."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        modes = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # (n,)
        noise = torch.randn(n, self.dim, generator=generator)  # (n, dim)
        return self.centres[modes] + self.sigma * noise

    def pdf(self, x: Tensor) -> Tensor:
        """Return the density at ``x`` of shape ``(N, dim)`` (or ``(N,)`` when dim is 1) as ``(N,)``."""
        x = torch.as_tensor(x, dtype=self.centres.dtype)
        if x.dim() == 1 and self.dim == 1:
            x = x[:, None]
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim}){' or (N,)' if self.dim == 1 else ''}, got {tuple(x.shape)}")
        sq_dist = torch.cdist(x, self.centres).pow(2)  # (N, K)
        norm = (2 * math.pi * self.sigma**2) ** (-self.dim / 2)
        return (norm * torch.exp(-sq_dist / (2 * self.sigma**2))) @ self.weights  # sum_k w_k N(x; c_k, sigma^2 I)


def _mixture(centres: list[list[float]] | Tensor, sigma: float, weights: list[float] | None, name: str) -> GaussianMixture:
    centres = torch.as_tensor(centres, dtype=torch.float32)
    if weights is None:
        w = torch.full((len(centres),), 1.0 / len(centres))
    else:
        w = torch.as_tensor(weights, dtype=torch.float32)
        w = w / w.sum()
    return GaussianMixture(centres=centres, sigma=float(sigma), weights=w, name=name)


def gaussian_1d(mean: float = 0.0, std: float = 1.0) -> GaussianMixture:
    """Return a 1-D Gaussian N(mean, std^2) as a one-mode mixture. Taught in 01_minimax_game, section 2."""
    return _mixture([[float(mean)]], std, None, f"N({mean:g}, {std:g}^2)")


def mixture_1d(means: tuple[float, ...] = (-1.5, 1.5), sigma: float = 0.5,
               weights: tuple[float, ...] | None = None) -> GaussianMixture:
    """Return a 1-D Gaussian mixture with the given means, one shared sigma and optional weights.

    Taught in 01_minimax_game, section 2.
    """
    if weights is not None and len(weights) != len(means):
        raise ValueError(f"weights ({len(weights)}) and means ({len(means)}) must have the same length")
    return _mixture([[float(m)] for m in means], sigma, weights, "1-D mixture")


def ring_of_8(radius: float = 2.0, sigma: float = 0.02, n_modes: int = 8) -> GaussianMixture:
    """Return the 2-D ring: ``n_modes`` Gaussians evenly spaced on a circle (the usual toy test of mode collapse).

    Taught in 02_training_dynamics, section 1.
    """
    angles = torch.arange(n_modes, dtype=torch.float32) * (2 * math.pi / n_modes)
    centres = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)  # (K, 2)
    return _mixture(centres, sigma, None, f"ring of {n_modes}")


def grid_of_25(spacing: float = 2.0, sigma: float = 0.05, side: int = 5) -> GaussianMixture:
    """Return the 2-D grid: ``side x side`` Gaussians centred on 0, ``spacing`` apart (e.g. -4..4 by 2).

    Taught in 02_training_dynamics, section 1.
    """
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    gx, gy = torch.meshgrid(coords, coords, indexing="xy")
    centres = torch.stack([gx.flatten(), gy.flatten()], dim=1)  # (side*side, 2)
    return _mixture(centres, sigma, None, f"grid of {side * side}")
