"""Image metrics in the domain encoder's feature space (03_dcgan_faces, 06_evaluation_fairness): precision,
recall, density and coverage on k-NN manifolds, FID and KID, skin-tone histograms and total variation."""
from __future__ import annotations

import numpy as np
import torch

Tensor = torch.Tensor


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
