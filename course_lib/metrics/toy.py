"""Toy metrics (01_minimax_game, 02_training_dynamics): densities on a 1-D grid (the optimal D, V(D, G), KL
and Jensen-Shannon divergences), sample scores against a known Gaussian mixture (modes covered, high-quality
fraction), and D evaluated over a 2-D grid for pictures."""
from __future__ import annotations

from typing import Callable

import torch

from course_lib import validate
from course_lib.data import GaussianMixture

Tensor = torch.Tensor


# --------------------------------------------------------------------------------------------------
# Toy metrics, 1-D: densities sampled on a uniform grid with spacing dx (integrals become sums)
# --------------------------------------------------------------------------------------------------
def _check_densities(**arrays: object) -> list[Tensor]:
    out, shape = [], None
    for name, a in arrays.items():
        if not isinstance(a, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of values on the grid, got {type(a).__name__}")
        if shape is not None and a.shape != shape:
            raise ValueError(f"{name} has shape {tuple(a.shape)}, expected {tuple(shape)} like the others (same grid)")
        if (a < 0).any():
            raise ValueError(f"{name} must be non-negative on the grid")
        shape = a.shape
        out.append(a.double())  # sums of many small terms: keep float64
    return out


def optimal_discriminator(p_data: Tensor, p_g: Tensor) -> Tensor:
    """Return D*(x) = p_data(x) / (p_data(x) + p_g(x)) on a grid (0.5 where both densities are 0).

    The D that maximises V(D, G) for a fixed G. Taught in 01_minimax_game, section 3.
    """
    p, q = _check_densities(p_data=p_data, p_g=p_g)
    total = p + q
    d = torch.where(total > 0, p / total.clamp_min(1e-300), torch.full_like(p, 0.5))
    return d.to(p_data.dtype)


def minimax_value_on_grid(d: Tensor, p_data: Tensor, p_g: Tensor, dx: float) -> Tensor:
    """Return V(D, G) = integral of p_data log D + p_g log(1 - D), with D given as probabilities on the grid.

    ``xlogy`` makes 0 * log 0 = 0. D is clamped to [1e-12, 1 - 1e-12]: far in a tail, D* = p / (p + q) rounds
    to exactly 1 while q is tiny but not 0, and q * log(0) would give -inf instead of ~0.
    Taught in 01_minimax_game, section 3.
    """
    d, p, q = _check_densities(d=d, p_data=p_data, p_g=p_g)
    if (d > 1).any():
        raise ValueError("d must hold probabilities in [0, 1] (apply sigmoid to logits first)")
    d = d.clamp(1e-12, 1 - 1e-12)
    return ((torch.xlogy(p, d) + torch.xlogy(q, 1 - d)).sum() * dx).float()


def kl_on_grid(p: Tensor, q: Tensor, dx: float) -> Tensor:
    """Return KL(p || q) = integral of p log(p / q) in nats (inf where p > 0 and q = 0).

    Not in the notebooks by name: ``metrics.jsd_on_grid`` is made of it (01_minimax_game, section 3).
    """
    p, q = _check_densities(p=p, q=q)
    return ((torch.xlogy(p, p) - torch.xlogy(p, q)).sum() * dx).float()


def jsd_on_grid(p: Tensor, q: Tensor, dx: float) -> Tensor:
    """Return JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2, in nats (between 0 and log 2).

    Taught in 01_minimax_game, section 3.
    """
    p, q = _check_densities(p=p, q=q)
    m = (p + q) / 2
    return 0.5 * kl_on_grid(p, m, dx) + 0.5 * kl_on_grid(q, m, dx)


# --------------------------------------------------------------------------------------------------
# Toy metrics, samples against a known mixture: a sample is "high quality" when it lies within
# n_sigma * sigma of a mode centre; a mode is "covered" when enough samples land there.
# --------------------------------------------------------------------------------------------------
def _nearest_mode(samples: Tensor, centres: Tensor, sigma: float, n_sigma: float) -> tuple[Tensor, Tensor]:
    if not isinstance(samples, torch.Tensor) or samples.dim() != 2:
        raise ValueError(f"samples must be a tensor of shape (N, dim), got {getattr(samples, 'shape', type(samples).__name__)}")
    if samples.shape[1] != centres.shape[1]:
        raise ValueError(f"samples have dim {samples.shape[1]} but the mode centres have dim {centres.shape[1]}")
    validate.finite(samples, "samples")  # a NaN sample is near no mode: it would pass as a silent miss
    dist = torch.cdist(samples.detach().float().cpu(), centres.float())  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    return nearest, nearest_dist <= n_sigma * sigma  # (N,), (N,) bool


def mode_counts(samples: Tensor, dist: GaussianMixture, n_sigma: float = 3.0) -> Tensor:
    """Return, for each mode, how many samples lie within ``n_sigma * sigma`` of its centre: shape ``(K,)``.

    Not in the notebooks by name: ``metrics.toy_scores`` reports it (02_training_dynamics, section 1).
    """
    nearest, close = _nearest_mode(samples, dist.centres, dist.sigma, n_sigma)
    return torch.bincount(nearest[close], minlength=dist.n_modes)


def modes_covered(samples: Tensor, dist: GaussianMixture, n_sigma: float = 3.0, min_fraction: float = 0.01) -> int:
    """Return how many modes receive at least ``min_fraction`` of all samples within ``n_sigma * sigma``.

    With 2,500 samples and the default 1 %, a mode needs 25 samples to count.
    Not in the notebooks by name: ``metrics.toy_scores`` reports it (02_training_dynamics, section 1).
    """
    if not 0 <= min_fraction <= 1:
        raise ValueError(f"min_fraction must lie in [0, 1], got {min_fraction}")
    counts = mode_counts(samples, dist, n_sigma)
    return int((counts >= max(1.0, min_fraction * len(samples))).sum())


def high_quality_fraction(samples: Tensor, dist: GaussianMixture, n_sigma: float = 3.0) -> float:
    """Return the fraction of samples within ``n_sigma * sigma`` of some mode centre.

    For a 2-D Gaussian, 3 sigma holds 1 - exp(-9/2) = 98.9 % of the mass, so real data scores about 0.989.
    Not in the notebooks by name: ``metrics.toy_scores`` reports it (02_training_dynamics, section 1).
    """
    _, close = _nearest_mode(samples, dist.centres, dist.sigma, n_sigma)
    return float(close.float().mean())


def toy_scores(samples: Tensor, dist: GaussianMixture, n_sigma: float = 3.0, min_fraction: float = 0.01) -> dict[str, float]:
    """Return ``{"modes": covered, "modes_any": covered by one sample, "hq": high-quality fraction}``.

    Two definitions of a covered mode: ``modes`` asks for ``min_fraction`` of the samples (1 %: 25 of 2,500)
    within ``n_sigma`` sigma; ``modes_any`` for a single one, PacGAN's definition (Lin et al. 2018, who
    count a mode "captured" when at least one high-quality sample lands on it). ``modes_any`` >= ``modes``;
    the gap is the modes a generator only grazes. Taught in 02_training_dynamics, sections 1 and 7.
    """
    return {"modes": modes_covered(samples, dist, n_sigma, min_fraction),
            "modes_any": modes_covered(samples, dist, n_sigma, min_fraction=0.0),
            "hq": high_quality_fraction(samples, dist, n_sigma)}


@torch.no_grad()
def d_on_grid(D: Callable[[Tensor], Tensor], extent: tuple[float, float, float, float], resolution: int = 64,
              pack: int = 1) -> Tensor:
    """Return D's logits over a 2-D grid covering ``extent = (xmin, xmax, ymin, ymax)``: shape ``(res, res)``.

    Row i is y = ymin + ..., column j is x (``imshow(..., origin="lower", extent=extent)`` draws it).
    A packed D (``models.mlp_discriminator(pack=m)``) scores packs, not points: pass ``pack=m`` and each grid
    point is scored as a pack of ``m`` copies of itself. Taught in 02_training_dynamics, section 4.
    """
    if not isinstance(pack, int) or pack < 1:
        raise ValueError(f"pack must be an int >= 1 (D's samples per pack), got {pack!r}")
    xmin, xmax, ymin, ymax = extent
    xs, ys = torch.linspace(xmin, xmax, resolution), torch.linspace(ymin, ymax, resolution)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")  # (res, res) each, rows follow y
    points = torch.stack([gx.flatten(), gy.flatten()], dim=1)  # (res*res, 2)
    device = next(iter(D.parameters())).device if isinstance(D, torch.nn.Module) else torch.device("cpu")
    logits = D(points.repeat_interleave(pack, dim=0).to(device))  # (res*res,): pack i = m copies of point i
    return logits.float().cpu().reshape(resolution, resolution)
