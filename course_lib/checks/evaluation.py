"""Checkers for 06_evaluation_fairness: FID from two feature sets, and k-NN precision and recall.

The student's functions take numpy feature arrays ``(N, D)``; each checker runs them on a few constructed
sets (correlated Gaussians of different means and covariances), compares with ``metrics`` and, when the answer
is wrong, recognises the usual mistakes so the message says what to fix.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from course_lib import metrics
from course_lib.checks.common import CheckError, passed


def _feature_sets(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs (real, fake) of 4-d features: correlated, shifted, rescaled; numpy float64."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(4, 4))  # a random linear map correlates the coordinates
    real = rng.normal(size=(300, 4)) @ mix
    fake_shift = rng.normal(size=(250, 4)) @ mix + np.array([1.0, -0.5, 0.0, 2.0])
    fake_scale = rng.normal(size=(250, 4)) @ (mix * np.array([0.5, 1.5, 1.0, 0.7]))
    return [(real, fake_shift), (real, fake_scale)]


def _fid_variants(real: np.ndarray, fake: np.ndarray, ddof: int = 1) -> dict[str, float]:
    """FID and its usual mistakes, to name what a wrong answer did."""
    mu_r, mu_f = real.mean(0), fake.mean(0)
    s_r, s_f = np.cov(real, rowvar=False, ddof=ddof), np.cov(fake, rowvar=False, ddof=ddof)
    eig = np.linalg.eigvals(s_r @ s_f).real.clip(min=0)
    tr_cross = np.sqrt(eig).sum()  # Tr (S_r S_f)^1/2: its eigenvalues are the square roots of S_r S_f's
    mean_term, cov_terms = ((mu_r - mu_f) ** 2).sum(), np.trace(s_r) + np.trace(s_f)
    return {
        "right": mean_term + cov_terms - 2 * tr_cross,
        "the mean term must be the *squared* distance |mu_r - mu_f|^2, not the distance": np.sqrt(mean_term) + cov_terms - 2 * tr_cross,
        "the mean term |mu_r - mu_f|^2 is missing": cov_terms - 2 * tr_cross,
        "the cross term is -2 Tr((S_r S_f)^1/2): the factor 2 is missing": mean_term + cov_terms - tr_cross,
        "the cross term -2 Tr((S_r S_f)^1/2) is missing": mean_term + cov_terms,
        "the cross term is the trace of a matrix square root, Tr((S_r S_f)^1/2), not the square root of a trace":
            mean_term + cov_terms - 2 * np.sqrt(np.trace(s_r @ s_f)),
        "take the *matrix* square root of S_r S_f (e.g. scipy.linalg.sqrtm, or eigenvalues), not the element-wise np.sqrt":
            mean_term + cov_terms - 2 * np.nansum(np.sqrt(np.abs(s_r @ s_f)).diagonal()),
        "use covariance matrices (np.cov(x, rowvar=False)), not per-coordinate variances":
            mean_term + real.var(0, ddof=1).sum() + fake.var(0, ddof=1).sum() - 2 * np.sqrt(real.var(0, ddof=1) * fake.var(0, ddof=1)).sum(),
    }


def check_fid(fn: Callable) -> None:
    """Exercise 6.1: ``fid(real, fake) = |mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r S_f)^1/2)`` on numpy features (N, D).

    Taught in 06_evaluation_fairness, section 1.
    """
    for k, (real, fake) in enumerate(_feature_sets()):
        try:
            got = fn(real.copy(), fake.copy())
        except Exception as err:  # the message names the student's error, whatever it is
            raise CheckError(f"fid raised {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}. "
                             "It takes two numpy arrays (N, D), one row per sample") from None
        try:
            got = float(np.real(np.asarray(got, dtype=complex)).item()) if np.iscomplexobj(got) else float(got)
        except (TypeError, ValueError):
            raise CheckError(f"fid must return one number, got {type(got).__name__} "
                             f"{getattr(got, 'shape', '')}") from None
        variants = _fid_variants(real, fake)
        expected = variants["right"]
        biased = _fid_variants(real, fake, ddof=0)["right"]  # covariances divided by N instead of N - 1: also fine
        if np.isclose(got, expected, rtol=1e-5, atol=1e-6) or np.isclose(got, biased, rtol=1e-5, atol=1e-6):
            continue
        if not np.isfinite(got):
            raise CheckError(f"fid returned {got}: a square root of a negative number? Take the matrix square root of "
                             "S_r S_f and keep its real part (tiny imaginary parts are rounding)")
        if np.isclose(got, expected ** 0.5, rtol=1e-4):
            raise CheckError("fid returned the square root of the Frechet distance: FID is the squared distance "
                             "between the Gaussians, do not take a final square root")
        for message, wrong in variants.items():
            if message != "right" and np.isfinite(wrong) and np.isclose(got, wrong, rtol=1e-4):
                raise CheckError(f"fid: {message}")
        raise CheckError(f"fid differs from |mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r S_f)^1/2) on test set {k}: "
                         f"got {got:.4f}, expected {expected:.4f}")
    same = fn(_feature_sets()[0][0], _feature_sets()[0][0])
    if abs(float(np.real(same))) > 1e-6 * max(1.0, float(np.trace(np.cov(_feature_sets()[0][0], rowvar=False)))):
        raise CheckError(f"fid of a set with itself must be 0, got {float(np.real(same)):.3g}: check the cross term")
    passed("fid", "matches the closed form on correlated Gaussians, and FID(x, x) = 0")


def check_precision_recall(fn: Callable) -> None:
    """Exercise 6.2: ``precision_recall(real, fake, k)`` -> (precision, recall) with k-NN balls (Kynkaanniemi et al. 2019).

    Taught in 06_evaluation_fairness, section 1.
    """
    rng = np.random.default_rng(3)
    real = rng.normal(size=(200, 2))
    fake = rng.normal(size=(160, 2)) * 0.5 + np.array([0.6, 0.0])  # a narrower, shifted G: precision > recall
    for k in (3, 5):
        try:
            got = fn(real.copy(), fake.copy(), k)
        except Exception as err:
            raise CheckError(f"precision_recall raised {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise CheckError(f"return a pair (precision, recall), got {type(got).__name__}")
        p, r = (float(v) for v in got)
        ref = metrics.precision_recall(real, fake, k=k)
        if np.isclose(p, ref["precision"], atol=1e-9) and np.isclose(r, ref["recall"], atol=1e-9):
            continue
        if np.isclose(p, ref["recall"]) and np.isclose(r, ref["precision"]):
            raise CheckError("precision and recall are swapped: precision asks whether *fakes* fall inside the real "
                             "manifold, recall whether *reals* fall inside the fake one")
        self_included = _pr_radius_rank(real, fake, k, rank=k)  # the point itself counted as a neighbour
        if np.isclose(p, self_included[0]) and np.isclose(r, self_included[1]):
            raise CheckError("the k-NN radius counts the point itself (distance 0) as a neighbour: take the (k+1)-th "
                             "smallest distance within a set, or drop the diagonal first")
        own_balls, coverage_like = _pr_variants(real, fake, k)
        if np.isclose(p, own_balls[0]) and np.isclose(r, own_balls[1]):
            raise CheckError("the balls have the wrong centres: precision tests each fake against balls around the "
                             "*real* points (radius from the real set), recall each real point against balls around the fakes")
        if np.isclose(p, coverage_like[0]) and np.isclose(r, coverage_like[1]):
            raise CheckError("that counts balls that hold a point (coverage); precision counts *points* (fakes) that lie "
                             "in some real ball, recall real points that lie in some fake ball")
        raise CheckError(f"with k={k} expected precision {ref['precision']:.3f} and recall {ref['recall']:.3f}, "
                         f"got {p:.3f} and {r:.3f}")
    passed("precision_recall", "k-NN manifolds around real and fake points")


def _pr_variants(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two usual mistakes: balls around the points being tested (own radius), and counting balls instead of points."""
    r, f = torch.as_tensor(real, dtype=torch.float64), torch.as_tensor(fake, dtype=torch.float64)
    rad_r = torch.cdist(r, r).kthvalue(k + 1, dim=1).values
    rad_f = torch.cdist(f, f).kthvalue(k + 1, dim=1).values
    d_fr, d_rf = torch.cdist(f, r), torch.cdist(r, f)
    own = (float((d_fr <= rad_f[:, None]).any(1).double().mean()), float((d_rf <= rad_r[:, None]).any(1).double().mean()))
    balls = (float((d_fr <= rad_r[None]).any(0).double().mean()), float((d_rf <= rad_f[None]).any(0).double().mean()))
    return own, balls


def _pr_radius_rank(real: np.ndarray, fake: np.ndarray, k: int, rank: int) -> tuple[float, float]:
    """Precision and recall where each ball's radius is the ``rank``-th smallest distance within its set
    (rank k + 1 is right: the point itself is the first)."""
    r, f = torch.as_tensor(real, dtype=torch.float64), torch.as_tensor(fake, dtype=torch.float64)
    rad_r = torch.cdist(r, r).kthvalue(rank, dim=1).values
    rad_f = torch.cdist(f, f).kthvalue(rank, dim=1).values
    precision = (torch.cdist(f, r) <= rad_r[None]).any(1).double().mean()
    recall = (torch.cdist(r, f) <= rad_f[None]).any(1).double().mean()
    return float(precision), float(recall)
