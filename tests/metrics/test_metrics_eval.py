"""Image metrics of 06_evaluation_fairness: FID against closed forms, KID's unbiasedness, k-NN precision/recall
on point sets with exact answers, the noise floor and per-group coverage. (tests/metrics/test_metrics.py covers the basics.)"""
import numpy as np
import pytest
import scipy.linalg
import torch

from course_lib import metrics


def gaussian(n, mean, cov, seed):
    g = torch.Generator().manual_seed(seed)
    chol = torch.linalg.cholesky(torch.as_tensor(cov, dtype=torch.float64))
    return torch.randn(n, len(mean), generator=g, dtype=torch.float64) @ chol.T + torch.as_tensor(mean, dtype=torch.float64)


def fid_closed_form(m1, s1, m2, s2):
    """|m1 - m2|^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), computed with scipy on the population parameters."""
    root = scipy.linalg.sqrtm(s1).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(root @ s2 @ root).real))


def test_fid_matches_the_closed_form_for_correlated_gaussians():
    rot = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]  # a random rotation: full covariances
    m1, s1 = np.zeros(3), rot @ np.diag([1.0, 2.0, 0.5]) @ rot.T
    m2, s2 = np.array([1.0, 0.0, -1.0]), rot.T @ np.diag([0.5, 1.0, 3.0]) @ rot
    expected = fid_closed_form(m1, s1, m2, s2)
    got = metrics.fid(gaussian(20000, m1, s1, 1), gaussian(20000, m2, s2, 2))
    # n = 20000 in 3-d: the mean term's standard error is ~2 |m1 - m2| sqrt(Tr S / n) ~ 0.04 and the covariance
    # terms' bias is O(d / n); 0.15 is ~3.5 standard errors around a value of ~3.5.
    assert got == pytest.approx(expected, abs=0.15)
    assert expected > 1.0  # the test is not comparing two near-zero numbers


def test_fid_is_symmetric_zero_on_itself_and_invariant_to_rotations():
    a, b = gaussian(500, [0, 0, 0, 0], np.eye(4), 3), gaussian(400, [1, 0, 0, 2], np.diag([1, 2, 3, 4.0]), 4)
    rot = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64))[0]
    assert metrics.fid(a, a) == pytest.approx(0.0, abs=1e-8)
    assert metrics.fid(a, b) == pytest.approx(metrics.fid(b, a), rel=1e-8)
    assert metrics.fid(a @ rot, b @ rot) == pytest.approx(metrics.fid(a, b), rel=1e-8)  # distances do not depend on axes


def test_kid_is_unbiased_where_fid_is_not():
    """Over many pairs of same-distribution samples, KID averages ~0; FID stays clearly positive (its bias)."""
    kids, fids = [], []
    for seed in range(12):
        a, b = gaussian(200, np.zeros(6), np.eye(6), 100 + seed), gaussian(200, np.zeros(6), np.eye(6), 200 + seed)
        kids.append(metrics.kid(a, b, subsets=5, subset_size=200, generator=torch.Generator().manual_seed(seed))[0])
        fids.append(metrics.fid(a, b))
    kids = np.array(kids)
    assert abs(kids.mean()) < 3 * kids.std(ddof=1) / np.sqrt(len(kids))  # within 3 standard errors of 0
    assert min(fids) > 0.05 and np.mean(fids) > 10 * abs(kids.mean())  # every FID of identical distributions is > 0


def lattice(xs):
    """Points on the x axis (a 2-D feature set)."""
    return torch.tensor([[float(x), 0.0] for x in xs], dtype=torch.float64)


def test_precision_recall_density_coverage_on_a_lattice_with_exact_answers():
    # reals at 0..9 (k = 1: every ball has radius 1); fakes halfway between reals 0..5, and far away
    real, fake = lattice(range(10)), lattice([0.5, 1.5, 2.5, 3.5, 4.5, 100, 101, 102, 103, 104])
    got = metrics.precision_recall(real, fake, k=1)
    # precision: the 5 near fakes lie in real balls; recall: reals 0..5 lie within 1 of a near fake (fake radii are 1);
    # density: each near fake sits in exactly 2 real balls -> (5 * 2) / 10 / k; coverage: reals 0..5 have a fake in their ball
    assert got == {"precision": 0.5, "recall": 0.6, "density": 1.0, "coverage": 0.6}


def test_coverage_by_group_splits_over_real_points():
    real, fake = lattice(range(10)), lattice([0.5, 1.5, 2.5, 3.5, 4.5, 100, 101, 102, 103, 104])
    groups = ["left"] * 5 + ["right"] * 5
    got = metrics.coverage_by_group(real, fake, groups, k=1)
    assert list(got) == ["left", "right"]
    assert got["left"] == {"n": 5, "recall": 1.0, "coverage": 1.0}
    assert got["right"] == {"n": 5, "recall": 0.2, "coverage": 0.2}  # only real 5 touches the fakes
    with pytest.raises(ValueError, match="one label per real point"):
        metrics.coverage_by_group(real, fake, groups[:3])


def test_noise_floor_margins_and_verdicts():
    a, b = gaussian(400, np.zeros(5), np.eye(5), 7), gaussian(400, np.zeros(5), np.eye(5), 8)
    floor = metrics.noise_floor(a, b, kid_subsets=4, kid_subset_size=200, generator=torch.Generator().manual_seed(0))
    assert set(floor) == {"precision", "recall", "density", "coverage", "fid", "kid"}
    assert 0 < floor["fid"] < 1 and 0.7 < floor["precision"] < 1 and 0.7 < floor["recall"] < 1
    margins = metrics.noise_margins({**floor, "tone_tv": 0.04, "not a metric": 3.0})
    assert margins["fid"] == floor["fid"] and margins["recall"] == pytest.approx(1 - floor["recall"])
    assert margins["kid"] == abs(floor["kid"]) and margins["tone_tv"] == 0.04 and "not a metric" not in margins
    assert metrics.verdict(0.80, 0.90, 0.05) == "beyond noise" and metrics.verdict(0.87, 0.90, 0.05) == "within noise"
    with pytest.raises(ValueError, match="margin"):
        metrics.verdict(1.0, 2.0, float("nan"))
    with pytest.raises(TypeError, match="floor"):
        metrics.noise_margins([0.1])


def test_the_fid_floor_shrinks_with_the_sample_size():
    """FID's bias is O(d / n): the floor at 4x the samples is clearly lower."""
    small = metrics.fid(gaussian(250, np.zeros(8), np.eye(8), 9), gaussian(250, np.zeros(8), np.eye(8), 10))
    large = metrics.fid(gaussian(1000, np.zeros(8), np.eye(8), 11), gaussian(1000, np.zeros(8), np.eye(8), 12))
    assert large < 0.5 * small


def test_format_scores_marks_values_beyond_the_noise_margin():
    floor = {"precision": 0.9, "fid": 2.0}
    text = metrics.format_scores({"G": {"precision": 0.5, "fid": 3.0}}, floor)
    header, row, floor_row, margin_row = text.splitlines()
    assert header.split() == ["precision", "fid"]
    assert row.split() == ["G", "0.500", "≠", "3.000", "≈"]  # 0.4 > margin 0.1; 1.0 < margin 2.0
    assert floor_row.split()[-2:] == ["0.900", "2.000"] and margin_row.split()[-2:] == ["0.100", "2.000"]
