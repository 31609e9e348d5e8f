"""DiffAugment: each transform does what it says, per sample, stays differentiable, and fit uses it on every D call."""
import pytest
import torch

from course_lib import models, train
from course_lib.train import augment


def images(n=6, size=16, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_translation_moves_content_by_whole_pixels_and_fills_with_zeros():
    x = images(n=64)
    y = augment.diff_augment(x, "translation", generator=torch.Generator().manual_seed(0))
    shifts = set()
    for xi, yi in zip(x, y):
        match = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if torch.equal(yi[:, 2:-2, 2:-2], xi[:, 2 + dy:14 + dy, 2 + dx:14 + dx])]
        assert len(match) == 1  # the centre is x shifted by at most 1/8 of 16 = 2 pixels
        shifts.add(match[0])
        dy, dx = match[0]
        if dy > 0:  # content moved up: the bottom rows come from outside the image, so they are zero
            assert (yi[:, -dy:] == 0).all()
    assert len(shifts) > 5  # drawn per sample


def test_cutout_zeroes_one_square_of_half_the_size_per_sample():
    x = images(n=32).abs() + 0.1  # no zeros of its own
    y = augment.diff_augment(x, "cutout", generator=torch.Generator().manual_seed(1))
    zero = (y == 0).all(1)  # (B, H, W)
    assert ((y == 0) | (y == x)).all()
    for z in zero:
        rows, cols = z.any(1).nonzero().flatten(), z.any(0).nonzero().flatten()
        assert 1 <= len(rows) <= 8 and 1 <= len(cols) <= 8  # up to 8 x 8, clipped at the border
        assert z.sum() == len(rows) * len(cols)  # a rectangle, not scattered pixels
    assert len({tuple(z.nonzero()[0].tolist()) for z in zero}) > 5


def test_color_changes_brightness_saturation_and_contrast_per_sample_and_is_differentiable():
    x = images().requires_grad_(True)
    y = augment.diff_augment(x, "color", generator=torch.Generator().manual_seed(2))
    assert y.shape == x.shape and not torch.allclose(y, x)
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    grey = torch.zeros(2, 3, 8, 8)  # a grey image has no saturation to change: only brightness and contrast act
    g = augment.diff_augment(grey, "color", generator=torch.Generator().manual_seed(3))
    assert torch.allclose(g, g[:, :1].expand_as(g)) and not torch.allclose(g[0], g[1])


def test_same_generator_same_draws_and_no_policy_is_the_identity():
    x = images()
    a = augment.diff_augment(x, generator=torch.Generator().manual_seed(5))
    b = augment.diff_augment(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert torch.equal(augment.diff_augment(x, ""), x)


def test_bad_policies_and_inputs_are_named():
    with pytest.raises(ValueError, match=r"unknown DiffAugment transform\(s\) \['colour'\]"):
        augment.diff_augment(images(), "colour,cutout")
    with pytest.raises(ValueError, match="x must be a"):
        augment.diff_augment(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="unknown DiffAugment"):
        train.fit(*_tiny(), _data, train.TrainConfig(steps=1, batch_size=4, augment="flip"), progress=False)


def _tiny():
    torch.manual_seed(0)
    G, D = models.DCGANGenerator(size=32, width=8), models.DCGANDiscriminator(size=32, width=8)
    return G, D


def _data(step):
    return torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(step)) * 2 - 1


def test_fit_shows_D_only_augmented_images_and_keeps_its_state_dict():
    seen = []
    G, D = _tiny()
    D.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    cfg = dict(steps=2, batch_size=4, log_every=1, r1_gamma=0.1, amp=False, channels_last=False)
    run = train.fit(G, D, _data, train.TrainConfig(augment="cutout", **cfg), progress=False)
    assert len(seen) >= 6  # D on reals and fakes in D's step, fakes in G's step, each step
    assert all((x == 0).flatten(1).any(1).all() for x in seen)  # every image D saw had its cutout square
    assert set(run.D.state_dict()) == set(_tiny()[1].state_dict())
    plain = train.fit(*_tiny(), _data, train.TrainConfig(**cfg), progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(plain.G.parameters(), run.G.parameters()))
