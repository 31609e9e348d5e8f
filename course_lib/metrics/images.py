"""Image metrics in the domain encoder's feature space (03_dcgan_faces, 06_evaluation_fairness): precision,
recall, density and coverage on k-NN manifolds (overall and per group of real points), FID and KID, skin-tone
histograms and total variation, and the noise floor (the same metrics between two samples of real data) with the
rule that turns it into verdicts: a difference smaller than the floor's distance from the ideal is "within noise"."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from course_lib import validate

Tensor = torch.Tensor


def _features(x, name: str = "features") -> Tensor:
    return validate.features(x, name)  # (N, D) float64, N >= 2, finite: one NaN row would void every distance


def _feature_pair(real, fake) -> tuple[Tensor, Tensor]:
    """Both feature sets checked (``_features``), and of the same width."""
    real, fake = _features(real, "real"), _features(fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake features differ in width: {real.shape[1]} vs {fake.shape[1]}")
    return real, fake


def _by_chunks(queries: Tensor, support: Tensor, reduce: Callable[[Tensor], Tensor], chunk: int = 1024) -> Tensor:
    """``reduce`` applied to the distances from each block of ``chunk`` queries to every support point
    (``(chunk, N)``, so memory stays bounded), the results concatenated."""
    return torch.cat([reduce(torch.cdist(queries[i : i + chunk], support)) for i in range(0, len(queries), chunk)])


def _kth_neighbour_radius(feats: Tensor, k: int) -> Tensor:
    """Distance from each point to its k-th nearest neighbour in the same set (itself excluded)."""
    return _by_chunks(feats, feats, lambda d: d.kthvalue(k + 1, dim=1).values)  # +1: the point itself is at distance 0


def _covered(queries: Tensor, support: Tensor, radii: Tensor) -> Tensor:
    """For each query: how many support points have it inside their k-NN ball (B, ) int counts."""
    return _by_chunks(queries, support, lambda d: (d <= radii[None, :]).sum(1))


def _nearest_distance(queries: Tensor, support: Tensor) -> Tensor:
    """For each query: the distance to its nearest support point, (B, )."""
    return _by_chunks(queries, support, lambda d: d.min(1).values)


def precision_recall(real, fake, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) plus density and coverage (Naeem et al. 2020).

    The real manifold is the union of balls around each real feature reaching its k-th nearest real
    neighbour. precision = share of fakes inside it (are samples realistic?); recall = share of reals
    inside the fake manifold (is the data's variety covered?); density counts how many real balls
    hold each fake (/ k); coverage = share of real balls holding at least one fake.
    Taught in 03_dcgan_faces, section 6, and 06_evaluation_fairness.
    """
    real, fake = _feature_pair(real, fake)
    k = validate.integer(k, "k", 1, min(len(real), len(fake)) - 1)
    r_real, r_fake = _kth_neighbour_radius(real, k), _kth_neighbour_radius(fake, k)
    in_real = _covered(fake, real, r_real)  # for each fake: number of real balls containing it
    in_fake = _covered(real, fake, r_fake)
    nearest_fake = _nearest_distance(real, fake)
    return {
        "precision": float((in_real > 0).double().mean()),
        "recall": float((in_fake > 0).double().mean()),
        "density": float(in_real.double().mean() / k),
        "coverage": float((nearest_fake <= r_real).double().mean()),
    }


def distance_in_radii(real, fake, k: int = 3) -> np.ndarray:
    """How far each fake lies from the real manifold, in units of the real balls' radii: ``(M,)`` numpy.

    For a fake f: the smallest, over real points r, of ||f - r|| / radius(r), radius(r) being the distance from r to
    its k-th nearest real neighbour (the balls of ``precision_recall``): the factor by which the real balls would
    have to grow to hold f. At most 1 means inside some ball, so ``(distance_in_radii(real, fake) <= 1).mean()`` is
    the precision; the values say *how far* the rejected fakes miss (1.1: just outside; 3: nowhere near the data)
    and which fakes are the least realistic. A ball of radius 0 (a point with k more copies of it) holds only its
    own point; distances are ``torch.cdist``'s, whose matrix-multiply path can leave copies ~1e-6 apart.
    Taught in 06_evaluation_fairness, section 3.
    """
    real, fake = _feature_pair(real, fake)
    k = validate.integer(k, "k", 1, len(real) - 1)
    radii = _kth_neighbour_radius(real, k)[None, :]

    def in_radii(d: Tensor) -> Tensor:  # (chunk, N) distances -> each fake's smallest distance / radius
        return torch.where(radii > 0, d / radii, torch.where(d == 0, 0.0, torch.inf)).min(1).values

    return _by_chunks(fake, real, in_radii).numpy()


def _sqrtm_psd(a: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition (negatives clipped)."""
    vals, vecs = torch.linalg.eigh((a + a.T) / 2)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def fid(real, fake) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (Heusel et al. 2017).

    FID = |mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r^1/2 S_f S_r^1/2)^1/2). The symmetric form of the
    cross term keeps every matrix square root on a PSD matrix, which ``eigh`` computes stably.
    Taught in 06_evaluation_fairness, section 1.
    """
    real, fake = _feature_pair(real, fake)
    mu_r, mu_f = real.mean(0), fake.mean(0)
    s_r, s_f = torch.cov(real.T), torch.cov(fake.T)
    root = _sqrtm_psd(s_r)
    cross = _sqrtm_psd(root @ s_f @ root)
    value = (mu_r - mu_f).pow(2).sum() + torch.trace(s_r) + torch.trace(s_f) - 2 * torch.trace(cross)
    return float(value.clamp(min=0))


def kid(real, fake, subsets: int = 20, subset_size: int = 500, generator: torch.Generator | None = None) -> tuple[float, float]:
    """Kernel inception distance (Binkowski et al. 2018): unbiased MMD^2 with a cubic polynomial kernel.

    Returns (mean, std) over random subsets; unlike FID it has no bias from the sample size, so two
    samples of the same distribution score ~0 on average.
    Not in the notebooks by name: ``metrics.feature_scores`` reports it (06_evaluation_fairness, section 2).
    """
    real, fake = _feature_pair(real, fake)
    subsets, subset_size = validate.integer(subsets, "subsets", 1), validate.integer(subset_size, "subset_size", 2)
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
    """Share of faces per Monk tone (1..10) from (fractional) tones: a length-10 distribution.

    Taught in 03_dcgan_faces, section 6.
    """
    bins = validate.integer(bins, "bins", 1)
    try:
        tones = np.asarray(tones, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"tones must be an array of Monk tones (numbers in 1..{bins}), got {type(tones).__name__}") from None
    if tones.ndim != 1:
        raise ValueError(f"tones must be a 1-D array (one tone per face), got shape {tones.shape}")
    validate.finite(tones, "tones")
    t = np.clip(np.rint(tones), 1, bins).astype(int)
    return np.bincount(t - 1, minlength=bins) / max(len(t), 1)


def total_variation(p, q) -> float:
    """Total variation distance between two discrete distributions: half the L1 distance, in [0, 1].

    Taught in 03_dcgan_faces, section 6.
    """
    p, q = validate.distribution(p, "p"), validate.distribution(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"distributions must have the same shape, got {p.shape} and {q.shape}")
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def face_report(enc, real: Tensor | dict, fake: Tensor | dict, k: int = 3) -> dict[str, float]:
    """Compare generated faces with real ones in the domain encoder's space (``enc``: a DomainEncoder).

    ``real`` and ``fake``: images, or what ``encoder.read_out`` already returned for them (so that a notebook
    that reads the same real faces against several sets reads them once).
    Returns precision, recall, density, coverage (k-NN manifolds), FID, and the total variation between
    the skin-tone histograms the encoder reads. Taught in 03_dcgan_faces, section 5.
    """
    from course_lib import encoder

    def read(x, name: str) -> dict:
        if isinstance(x, dict):
            if not {"features", "tone"} <= x.keys():
                raise ValueError(f"{name} must be images or an encoder.read_out result (with 'features' and 'tone'), "
                                 f"got a dict with keys {sorted(x)}")
            return x
        return encoder.read_out(enc, x)

    ro_real, ro_fake = read(real, "real"), read(fake, "fake")
    report = precision_recall(ro_real["features"], ro_fake["features"], k=k)
    report["fid"] = fid(ro_real["features"], ro_fake["features"])
    report["tone_tv"] = total_variation(tone_histogram(ro_real["tone"]), tone_histogram(ro_fake["tone"]))
    return {key: round(value, 4) for key, value in report.items()}


# --------------------------------------------------------------------------------------------------
# The noise floor (06_evaluation_fairness, section 2): what "perfect" scores at this sample size
# --------------------------------------------------------------------------------------------------
# The value each metric takes when the two sets come from one distribution with infinitely many samples.
IDEAL = {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0, "fid": 0.0, "kid": 0.0, "tone_tv": 0.0}


def feature_scores(real, fake, k: int = 3, kid_subsets: int = 10, kid_subset_size: int = 500,
                   generator: torch.Generator | None = None, fid_fn: Callable | None = None,
                   pr_fn: Callable | None = None) -> dict[str, float]:
    """Every feature-space metric at once: precision, recall, density, coverage (k-NN), FID and KID (its mean).

    ``fid_fn(real, fake) -> float`` and ``pr_fn(real, fake, k) -> (precision, recall)``, on numpy features,
    replace the library's FID and precision/recall (06_evaluation_fairness audits with the ones you write).
    Taught in 06_evaluation_fairness, section 2.
    """
    scores = precision_recall(real, fake, k=k)
    if pr_fn is not None or fid_fn is not None:  # the caller's functions get numpy features
        real_np, fake_np = _features(real, "real").numpy(), _features(fake, "fake").numpy()
    if pr_fn is not None:
        mine = pr_fn(real_np, fake_np, k)
        scores["precision"], scores["recall"] = (validate.number(v, name, 0.0, 1.0) for v, name in
                                                 zip(mine, ("pr_fn's precision", "pr_fn's recall")))
    if fid_fn is None:
        scores["fid"] = fid(real, fake)
    else:  # rounding can leave a tiny negative number where the distance is 0
        scores["fid"] = max(validate.number(fid_fn(real_np, fake_np), "fid_fn's result"), 0.0)
    scores["kid"] = kid(real, fake, subsets=kid_subsets, subset_size=kid_subset_size, generator=generator)[0]
    return scores


def noise_floor(real_a, real_b, k: int = 3, **kid_options) -> dict[str, float]:
    """The metrics between two independent samples of real data: what a perfect generator would score.

    A generator that *is* the data distribution still scores FID > 0 and recall < 1 on finite samples; how
    far this floor sits from ``IDEAL`` is the size of a difference that sampling alone can produce.
    Taught in 06_evaluation_fairness, section 2.
    """
    return feature_scores(real_a, real_b, k=k, **kid_options)


def noise_margins(floor: dict[str, float]) -> dict[str, float]:
    """How far each floor value lies from the metric's ideal: ``|floor - IDEAL|``, the smallest difference we claim.

    Keys that ``IDEAL`` does not know are skipped. Taught in 06_evaluation_fairness, section 2.
    """
    if not isinstance(floor, dict):
        raise TypeError(f"floor must be a dict of metric values (from noise_floor), got {type(floor).__name__}")
    return {key: abs(float(value) - IDEAL[key]) for key, value in floor.items() if key in IDEAL}


def verdict(a: float, b: float, margin: float) -> str:
    """Say whether two values of a metric differ by more than the noise ``margin``: "beyond noise" or "within noise".

    Taught in 06_evaluation_fairness, section 2.
    """
    margin = validate.number(margin, "margin", low=0.0)
    a, b = validate.number(a, "a"), validate.number(b, "b")  # NaN would always read "within noise"
    return "beyond noise" if abs(a - b) > margin else "within noise"


def coverage_by_group(real, fake, groups, k: int = 3) -> dict[str, dict[str, float]]:
    """Recall and coverage of each group of real points (``groups``: one label per real row), plus ``n``.

    Recall and coverage are averages over *real* points (is this real face inside the generated manifold? does
    some fake fall in its k-NN ball?), so they split by the real point's group; the manifolds themselves use
    all points. Taught in 06_evaluation_fairness, section 4.
    """
    real, fake = _feature_pair(real, fake)
    labels = np.asarray(groups)
    if labels.shape != (len(real),):
        raise ValueError(f"groups must hold one label per real point ({len(real)}), got shape {labels.shape}")
    k = validate.integer(k, "k", 1, min(len(real), len(fake)) - 1)
    r_real, r_fake = _kth_neighbour_radius(real, k), _kth_neighbour_radius(fake, k)
    recalled = (_covered(real, fake, r_fake) > 0).numpy()  # real point inside some fake ball
    nearest_fake = _nearest_distance(real, fake)
    covered = (nearest_fake <= r_real).numpy()  # some fake inside this real point's ball
    out = {}
    for g in dict.fromkeys(labels.tolist()):  # groups in order of first appearance
        sel = labels == g
        out[g] = {"n": int(sel.sum()), "recall": float(recalled[sel].mean()), "coverage": float(covered[sel].mean())}
    return out


def format_scores(rows: dict[str, dict[str, float]], floor: dict[str, float], keys=None) -> str:
    """A text table of metric rows with the floor as the last row; each value is marked ``≠`` when it differs from
    the floor by more than the noise margin (``noise_margins``) and ``≈`` when it does not.

    Taught in 06_evaluation_fairness, section 2.
    """
    keys = [k for k in (keys or IDEAL) if k in floor]
    margins = noise_margins({k: floor[k] for k in keys})
    width = max(len("real vs real (floor)"), *(len(name) for name in rows))
    lines = [f"{'':{width}}" + "".join(f"{k:>12}" for k in keys)]
    for name, scores in rows.items():
        cells = [f"{scores[k]:10.3f} {'≠' if verdict(scores[k], floor[k], margins[k]) == 'beyond noise' else '≈'}" for k in keys]
        lines.append(f"{name:{width}}" + "".join(cells))
    lines.append(f"{'real vs real (floor)':{width}}" + "".join(f"{floor[k]:10.3f}  " for k in keys))
    lines.append(f"{'noise margin':{width}}" + "".join(f"{margins[k]:10.3f}  " for k in keys))
    return "\n".join(lines)
