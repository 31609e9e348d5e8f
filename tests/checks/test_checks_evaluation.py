"""The checkers of 06_evaluation_fairness accept right answers (in several styles) and reject the usual mistakes."""
import numpy as np
import pytest
import scipy.linalg
import torch

from course_lib.checks import CheckError
from course_lib.checks import evaluation as checks


def fid_scipy(real, fake):  # the pytorch-fid way: sqrtm of the (non-symmetric) product
    s_r, s_f = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    return ((real.mean(0) - fake.mean(0)) ** 2).sum() + np.trace(s_r + s_f - 2 * scipy.linalg.sqrtm(s_r @ s_f).real)


def fid_eigh(real, fake):  # the symmetric form, with the covariance divided by N (also accepted)
    s_r, s_f = np.cov(real, rowvar=False, ddof=0), np.cov(fake, rowvar=False, ddof=0)
    vals, vecs = np.linalg.eigh(s_r)
    root = (vecs * np.sqrt(vals.clip(min=0))) @ vecs.T
    cross = np.sqrt(np.linalg.eigvalsh(root @ s_f @ root).clip(min=0)).sum()
    return torch.tensor(((real.mean(0) - fake.mean(0)) ** 2).sum() + np.trace(s_r) + np.trace(s_f) - 2 * cross)


def test_fid_checker_accepts_right_answers(capsys):
    checks.check_fid(fid_scipy)
    checks.check_fid(fid_eigh)  # a 0-d tensor is a number too
    assert capsys.readouterr().out.count("is correct") == 2


def _cov(x):
    return np.cov(x, rowvar=False)


@pytest.mark.parametrize("wrong, match", [
    (lambda r, f: fid_scipy(r, f) - ((r.mean(0) - f.mean(0)) ** 2).sum(), "mean term .* is missing"),
    (lambda r, f: fid_scipy(r, f) - ((r.mean(0) - f.mean(0)) ** 2).sum() + np.linalg.norm(r.mean(0) - f.mean(0)), "squared"),
    (lambda r, f: fid_scipy(r, f) + np.trace(scipy.linalg.sqrtm(_cov(r) @ _cov(f)).real), "factor 2"),
    (lambda r, f: fid_scipy(r, f) + 2 * np.trace(scipy.linalg.sqrtm(_cov(r) @ _cov(f)).real), "cross term .* is missing"),
    (lambda r, f: fid_scipy(r, f) ** 0.5, "square root of the Frechet distance"),
    (lambda r, f: fid_scipy(r, f) + 2 * np.trace(scipy.linalg.sqrtm(_cov(r) @ _cov(f)).real)
     - 2 * np.sqrt(np.trace(_cov(r) @ _cov(f))), "not the square root of a trace"),
    (lambda r, f: float("nan"), "negative"),
    (lambda r, f: np.zeros(3), "one number"),
    (lambda r, f: np.cov(r) @ np.cov(f), "raised ValueError"),  # rows taken as features: shapes clash
    (lambda r, f: fid_scipy(r, f) + 0.1, "differs"),
])
def test_fid_checker_rejects_mistakes(wrong, match):
    with pytest.raises(CheckError, match=match):
        checks.check_fid(wrong)


def pr_reference(real, fake, k):
    r, f = torch.as_tensor(real), torch.as_tensor(fake)
    rad_r, rad_f = torch.cdist(r, r).kthvalue(k + 1, 1).values, torch.cdist(f, f).kthvalue(k + 1, 1).values
    return (torch.cdist(f, r) <= rad_r).any(1).double().mean().item(), (torch.cdist(r, f) <= rad_f).any(1).double().mean().item()


def pr_self_included(real, fake, k):
    r, f = torch.as_tensor(real), torch.as_tensor(fake)
    rad_r, rad_f = torch.cdist(r, r).kthvalue(k, 1).values, torch.cdist(f, f).kthvalue(k, 1).values
    return (torch.cdist(f, r) <= rad_r).any(1).double().mean().item(), (torch.cdist(r, f) <= rad_f).any(1).double().mean().item()


def test_precision_recall_checker(capsys):
    checks.check_precision_recall(pr_reference)
    assert "is correct" in capsys.readouterr().out
    with pytest.raises(CheckError, match="swapped"):
        checks.check_precision_recall(lambda r, f, k: pr_reference(r, f, k)[::-1])
    with pytest.raises(CheckError, match="counts the point itself"):
        checks.check_precision_recall(pr_self_included)
    with pytest.raises(CheckError, match="pair"):
        checks.check_precision_recall(lambda r, f, k: 0.5)
    with pytest.raises(CheckError, match="expected precision"):
        checks.check_precision_recall(lambda r, f, k: (1.0, 1.0))

    def own_balls(r, f, k):
        r, f = torch.as_tensor(r), torch.as_tensor(f)
        rad_r, rad_f = torch.cdist(r, r).kthvalue(k + 1, 1).values, torch.cdist(f, f).kthvalue(k + 1, 1).values
        return ((torch.cdist(f, r) <= rad_f[:, None]).any(1).double().mean().item(),
                (torch.cdist(r, f) <= rad_r[:, None]).any(1).double().mean().item())

    def counts_balls(r, f, k):
        r, f = torch.as_tensor(r), torch.as_tensor(f)
        rad_r, rad_f = torch.cdist(r, r).kthvalue(k + 1, 1).values, torch.cdist(f, f).kthvalue(k + 1, 1).values
        return ((torch.cdist(f, r) <= rad_r[None]).any(0).double().mean().item(),
                (torch.cdist(r, f) <= rad_f[None]).any(0).double().mean().item())

    with pytest.raises(CheckError, match="the balls have the wrong centres"):
        checks.check_precision_recall(own_balls)
    with pytest.raises(CheckError, match="counts balls that hold a point"):
        checks.check_precision_recall(counts_balls)


def test_evaluation_checkers_leave_the_global_random_streams_alone():
    torch.manual_seed(0), np.random.seed(0)
    before_t, before_n = torch.rand(1), np.random.rand()
    torch.manual_seed(0), np.random.seed(0)
    checks.check_fid(fid_scipy), checks.check_precision_recall(pr_reference)
    assert torch.rand(1) == before_t and np.random.rand() == before_n
