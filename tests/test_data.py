import math

import pytest
import torch

from course_lib import data


def test_ring_and_grid_centres():
    ring = data.ring_of_8()
    assert ring.centres.shape == (8, 2) and ring.sigma == 0.02
    torch.testing.assert_close(ring.centres.norm(dim=1), torch.full((8,), 2.0))
    torch.testing.assert_close(ring.centres[2], torch.tensor([0.0, 2.0]), atol=1e-6, rtol=0)
    grid = data.grid_of_25()
    assert grid.centres.shape == (25, 2) and grid.n_modes == 25 and grid.dim == 2
    assert sorted(set(grid.centres[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_sampling_is_reproducible_and_has_the_right_spread():
    ring = data.ring_of_8()
    a, b = ring.sample(4000, torch.Generator().manual_seed(0)), ring.sample(4000, torch.Generator().manual_seed(0))
    assert a.shape == (4000, 2) and torch.equal(a, b)
    dist = torch.cdist(a, ring.centres).min(dim=1).values  # Rayleigh(sigma): mean sigma * sqrt(pi / 2)
    assert abs(dist.mean().item() - 0.02 * math.sqrt(math.pi / 2)) < 0.001


def test_pdf_integrates_to_one_and_matches_the_gaussian_formula():
    mix = data.mixture_1d((-1.0, 2.0), sigma=0.5, weights=(3, 1))
    x = torch.linspace(-6, 6, 2001)
    total = (mix.pdf(x) * (x[1] - x[0])).sum()
    torch.testing.assert_close(total, torch.tensor(1.0), atol=1e-4, rtol=0)
    g = data.gaussian_1d(1.0, 2.0)
    expected = math.exp(-0.5 * (0.5 / 2) ** 2) / (2 * math.sqrt(2 * math.pi))
    torch.testing.assert_close(g.pdf(torch.tensor([1.5])), torch.tensor([expected]))
    peak = data.ring_of_8().pdf(data.ring_of_8().centres[:1])
    torch.testing.assert_close(peak, torch.tensor([1 / 8 / (2 * math.pi * 0.02**2)]), rtol=1e-4, atol=0)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="n must be a positive int"):
        data.ring_of_8().sample(0)
    with pytest.raises(ValueError, match="sigma"):
        data.mixture_1d(sigma=0.0)
    with pytest.raises(ValueError, match="same length"):
        data.mixture_1d((0.0, 1.0), weights=(1.0,))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        data.ring_of_8().pdf(torch.zeros(3))
