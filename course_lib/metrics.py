"""Measuring GANs: what the notebooks assert and tabulate.

- Image metrics (03_dcgan_faces, 06_evaluation_fairness) on domain-encoder features: precision, recall,
  density and coverage on k-NN manifolds, FID and KID, skin-tone histograms and total variation.
- Toy metrics (01_minimax_game, 02_training_dynamics): densities on a 1-D grid (the optimal D, the value
  V(D, G), KL and Jensen-Shannon divergences) and sample scores against a known Gaussian mixture
  (modes covered, high-quality fraction), plus D evaluated over a 2-D grid for pictures.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

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

    The D that maximises V(D, G) for a fixed G. Taught in 01_minimax_game, section 2.
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

    Taught in 01_minimax_game, section 3.
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
    dist = torch.cdist(samples.detach().float().cpu(), centres.float())  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    return nearest, nearest_dist <= n_sigma * sigma  # (N,), (N,) bool


def mode_counts(samples: Tensor, dist: GaussianMixture, n_sigma: float = 3.0) -> Tensor:
    """Return, for each mode, how many samples lie within ``n_sigma * sigma`` of its centre: shape ``(K,)``.

    Taught in 02_training_dynamics, section 1.
    """
    nearest, close = _nearest_mode(samples, dist.centres, dist.sigma, n_sigma)
    return torch.bincount(nearest[close], minlength=dist.n_modes)


def modes_covered(samples: Tensor, dist: GaussianMixture, n_sigma: float = 3.0, min_fraction: float = 0.01) -> int:
    """Return how many modes receive at least ``min_fraction`` of all samples within ``n_sigma * sigma``.

    With 2,500 samples and the default 1 %, a mode needs 25 samples to count. Taught in 02_training_dynamics, section 1.
    """
    if not 0 <= min_fraction <= 1:
        raise ValueError(f"min_fraction must lie in [0, 1], got {min_fraction}")
    counts = mode_counts(samples, dist, n_sigma)
    return int((counts >= max(1.0, min_fraction * len(samples))).sum())


def high_quality_fraction(samples: Tensor, dist: GaussianMixture, n_sigma: float = 3.0) -> float:
    """Return the fraction of samples within ``n_sigma * sigma`` of some mode centre.

    For a 2-D Gaussian, 3 sigma holds 1 - exp(-9/2) = 98.9 % of the mass, so real data scores about 0.989.
    Taught in 02_training_dynamics, section 1.
    """
    _, close = _nearest_mode(samples, dist.centres, dist.sigma, n_sigma)
    return float(close.float().mean())


def toy_scores(samples: Tensor, dist: GaussianMixture, n_sigma: float = 3.0, min_fraction: float = 0.01) -> dict[str, float]:
    """Return ``{"modes": covered, "hq": high-quality fraction}`` for samples of a toy mixture.

    Taught in 02_training_dynamics, section 1.
    """
    return {"modes": modes_covered(samples, dist, n_sigma, min_fraction), "hq": high_quality_fraction(samples, dist, n_sigma)}


@torch.no_grad()
def d_on_grid(D: Callable[[Tensor], Tensor], extent: tuple[float, float, float, float], resolution: int = 64) -> Tensor:
    """Return D's logits over a 2-D grid covering ``extent = (xmin, xmax, ymin, ymax)``: shape ``(res, res)``.

    Row i is y = ymin + ..., column j is x (``imshow(..., origin="lower", extent=extent)`` draws it).
    Taught in 02_training_dynamics, section 4.
    """
    xmin, xmax, ymin, ymax = extent
    xs, ys = torch.linspace(xmin, xmax, resolution), torch.linspace(ymin, ymax, resolution)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")  # (res, res) each, rows follow y
    points = torch.stack([gx.flatten(), gy.flatten()], dim=1)  # (res*res, 2)
    device = next(iter(D.parameters())).device if isinstance(D, torch.nn.Module) else torch.device("cpu")
    return D(points.to(device)).float().cpu().reshape(resolution, resolution)


# --------------------------------------------------------------------------------------------------
# Image metrics in the domain encoder's feature space (03_dcgan_faces, 06_evaluation_fairness)
# --------------------------------------------------------------------------------------------------
def _features(x) -> Tensor:
    t = torch.as_tensor(x, dtype=torch.float64)
    if t.dim() != 2 or len(t) < 2:
        raise ValueError(f"features must be a 2-D array (N, D) with N >= 2, got shape {tuple(t.shape)}")
    return t


def _kth_neighbour_radius(feats: Tensor, k: int, chunk: int = 1024) -> Tensor:
    """Distance from each point to its k-th nearest neighbour in the same set (itself excluded)."""
    radii = []
    for i in range(0, len(feats), chunk):
        d = torch.cdist(feats[i : i + chunk], feats)  # (chunk, N)
        radii.append(d.kthvalue(k + 1, dim=1).values)  # +1: the point itself is at distance 0
    return torch.cat(radii)


def _covered(queries: Tensor, support: Tensor, radii: Tensor, chunk: int = 1024) -> Tensor:
    """For each query: how many support points have it inside their k-NN ball (B, ) int counts."""
    counts = []
    for i in range(0, len(queries), chunk):
        d = torch.cdist(queries[i : i + chunk], support)  # (chunk, N)
        counts.append((d <= radii[None, :]).sum(1))
    return torch.cat(counts)


def precision_recall(real, fake, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) plus density and coverage (Naeem et al. 2020).

    The real manifold is the union of balls around each real feature reaching its k-th nearest real
    neighbour. precision = share of fakes inside it (are samples realistic?); recall = share of reals
    inside the fake manifold (is the data's variety covered?); density counts how many real balls
    hold each fake (/ k); coverage = share of real balls holding at least one fake.
    Taught in 03_dcgan_faces, section 6, and 06_evaluation_fairness.
    """
    real, fake = _features(real), _features(fake)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake features differ in width: {real.shape[1]} vs {fake.shape[1]}")
    if not 1 <= k < min(len(real), len(fake)):
        raise ValueError(f"k must be in [1, {min(len(real), len(fake)) - 1}], got {k}")
    r_real, r_fake = _kth_neighbour_radius(real, k), _kth_neighbour_radius(fake, k)
    in_real = _covered(fake, real, r_real)  # for each fake: number of real balls containing it
    in_fake = _covered(real, fake, r_fake)
    nearest_fake = torch.cat([torch.cdist(real[i : i + 1024], fake).min(1).values for i in range(0, len(real), 1024)])
    return {
        "precision": float((in_real > 0).double().mean()),
        "recall": float((in_fake > 0).double().mean()),
        "density": float(in_real.double().mean() / k),
        "coverage": float((nearest_fake <= r_real).double().mean()),
    }


def _sqrtm_psd(a: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition (negatives clipped)."""
    vals, vecs = torch.linalg.eigh((a + a.T) / 2)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def fid(real, fake) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (Heusel et al. 2017).

    FID = |mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r^1/2 S_f S_r^1/2)^1/2). The symmetric form of the
    cross term keeps every matrix square root on a PSD matrix, which ``eigh`` computes stably.
    Taught in 06_evaluation_fairness, section 2.
    """
    real, fake = _features(real), _features(fake)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake features differ in width: {real.shape[1]} vs {fake.shape[1]}")
    mu_r, mu_f = real.mean(0), fake.mean(0)
    s_r, s_f = torch.cov(real.T), torch.cov(fake.T)
    root = _sqrtm_psd(s_r)
    cross = _sqrtm_psd(root @ s_f @ root)
    value = (mu_r - mu_f).pow(2).sum() + torch.trace(s_r) + torch.trace(s_f) - 2 * torch.trace(cross)
    return float(value.clamp(min=0))


def kid(real, fake, subsets: int = 20, subset_size: int = 500, generator: torch.Generator | None = None) -> tuple[float, float]:
    """Kernel inception distance (Binkowski et al. 2018): unbiased MMD^2 with a cubic polynomial kernel.

    Returns (mean, std) over random subsets; unlike FID it has no bias from the sample size, so two
    samples of the same distribution score ~0 on average. Taught in 06_evaluation_fairness, section 2.
    """
    real, fake = _features(real), _features(fake)
    d = real.shape[1]
    m = min(subset_size, len(real), len(fake))
    kernel = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    values = []
    for _ in range(subsets):
        xr = real[torch.randperm(len(real), generator=generator)[:m]]
        xf = fake[torch.randperm(len(fake), generator=generator)[:m]]
        k_rr, k_ff, k_rf = kernel(xr, xr), kernel(xf, xf), kernel(xr, xf)
        mmd = (k_rr.sum() - k_rr.diagonal().sum()) / (m * (m - 1)) + (k_ff.sum() - k_ff.diagonal().sum()) / (m * (m - 1)) - 2 * k_rf.mean()
        values.append(float(mmd))
    return float(np.mean(values)), float(np.std(values))


def tone_histogram(tones, bins: int = 10) -> np.ndarray:
    """Share of faces per Monk tone (1..10) from (fractional) tones: a length-10 distribution."""
    t = np.clip(np.rint(np.asarray(tones, dtype=float)), 1, bins).astype(int)
    return np.bincount(t - 1, minlength=bins) / max(len(t), 1)


def total_variation(p, q) -> float:
    """Total variation distance between two discrete distributions: half the L1 distance, in [0, 1]."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"distributions must have the same shape, got {p.shape} and {q.shape}")
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def face_report(enc, real: Tensor, fake: Tensor, k: int = 3) -> dict[str, float]:
    """Compare generated faces with real ones in the domain encoder's space (``enc``: a DomainEncoder).

    Returns precision, recall, density, coverage (k-NN manifolds), FID, and the total variation between
    the skin-tone histograms the encoder reads. Taught in 03_dcgan_faces, section 5.
    """
    from course_lib import encoder

    ro_real, ro_fake = encoder.read_out(enc, real), encoder.read_out(enc, fake)
    report = precision_recall(ro_real["features"], ro_fake["features"], k=k)
    report["fid"] = fid(ro_real["features"], ro_fake["features"])
    report["tone_tv"] = total_variation(tone_histogram(ro_real["tone"]), tone_histogram(ro_fake["tone"]))
    return {key: round(value, 4) for key, value in report.items()}
