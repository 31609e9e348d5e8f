import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import losses

EXTREME = torch.tensor([50.0, -50.0, 0.0, 3.0, -7.5])
MODERATE = torch.tensor([1.2, -0.7, 0.1, 2.5, -3.0])


def bce(logits, label):
    """Independent formula: torch's binary cross-entropy with logits against a constant label."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(label)))


@pytest.mark.parametrize("real, fake", [(MODERATE, EXTREME), (EXTREME, MODERATE.flip(0)), (EXTREME, -EXTREME)])
def test_minimax_losses_match_bce_with_logits(real, fake):
    torch.testing.assert_close(losses.d_loss_minimax(real, fake), bce(real, 1) + bce(fake, 0))
    torch.testing.assert_close(losses.g_loss_saturating(fake), -bce(fake, 0))  # E[log(1 - D)] = -BCE(label 0)
    torch.testing.assert_close(losses.g_loss_nonsaturating(fake), bce(fake, 1))  # -E[log D] = BCE(label 1)


def test_minimax_losses_match_the_textbook_formula_in_float64():
    r, f = MODERATE.double(), MODERATE.flip(0).double() * 2
    d = torch.sigmoid
    torch.testing.assert_close(losses.d_loss_minimax(r, f), -torch.log(d(r)).mean() - torch.log(1 - d(f)).mean())
    torch.testing.assert_close(losses.g_loss_saturating(f), torch.log(1 - d(f)).mean())
    torch.testing.assert_close(losses.g_loss_nonsaturating(f), -torch.log(d(f)).mean())


def test_known_values_at_extreme_logits():
    # D(x) = sigmoid(50) ~ 1 for real and sigmoid(-50) ~ 0 for fake: D is right, its loss is ~0; at the
    # opposite extreme each term costs 50 nats exactly (softplus(50) = 50 + log(1 + e^-50)).
    big, small = torch.tensor([50.0]), torch.tensor([-50.0])
    torch.testing.assert_close(losses.d_loss_minimax(big, small), torch.tensor(2 * math.log1p(math.exp(-50))))
    torch.testing.assert_close(losses.d_loss_minimax(small, big), torch.tensor(100.0))
    torch.testing.assert_close(losses.g_loss_nonsaturating(small), torch.tensor(50.0))
    torch.testing.assert_close(losses.g_loss_saturating(big), torch.tensor(-50.0))


@pytest.mark.parametrize("fn, expected", [
    (losses.g_loss_saturating, lambda l: -torch.sigmoid(l)),  # d/dl log(1 - sigmoid(l)): vanishes as D rejects
    (losses.g_loss_nonsaturating, lambda l: -(1 - torch.sigmoid(l))),  # d/dl -log sigmoid(l): -1 where D rejects
    (losses.g_loss_lsgan, lambda l: l - 1),  # d/dl (l - 1)^2 / 2
    (losses.g_loss_hinge, lambda l: -torch.ones_like(l)),  # d/dl -l
    (losses.g_loss_wasserstein, lambda l: -torch.ones_like(l)),
])
def test_generator_gradients_at_extreme_logits_are_finite_and_exact(fn, expected):
    logits = EXTREME.clone().requires_grad_(True)
    fn(logits).backward()
    assert torch.isfinite(logits.grad).all()
    torch.testing.assert_close(logits.grad, expected(EXTREME) / len(EXTREME))  # each a mean over the batch


def test_saturating_and_nonsaturating_gradients_have_their_closed_forms():
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l);  d/dl -log sigmoid(l) = -(1 - sigmoid(l)); each divided by B (mean).
    logits = EXTREME.clone().requires_grad_(True)
    losses.g_loss_saturating(logits).backward()
    torch.testing.assert_close(logits.grad, -torch.sigmoid(EXTREME) / 5)
    logits.grad = None
    losses.g_loss_nonsaturating(logits).backward()
    torch.testing.assert_close(logits.grad, -(1 - torch.sigmoid(EXTREME)) / 5)


def test_lsgan_hinge_and_wasserstein_closed_forms():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])
    torch.testing.assert_close(losses.d_loss_lsgan(real, fake), torch.tensor(0.5 * 2 + 0.5 * 2))
    torch.testing.assert_close(losses.g_loss_lsgan(fake), torch.tensor(0.5 * (1 + 1) / 2))
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 1.0])
    # relu(1 - real) = [0, .5, 2] (mean 5/6); relu(1 + fake) = [0, 1, 2] (mean 1)
    torch.testing.assert_close(losses.d_loss_hinge(real, fake), torch.tensor(5 / 6 + 1))
    torch.testing.assert_close(losses.g_loss_hinge(fake), torch.tensor(1 / 3 * -(-2 + 0 + 1)))
    torch.testing.assert_close(losses.d_loss_wasserstein(real, fake), fake.mean() - real.mean())
    torch.testing.assert_close(losses.g_loss_wasserstein(fake), -fake.mean())
    for fn in (losses.d_loss_lsgan, losses.d_loss_hinge, losses.d_loss_wasserstein):
        assert torch.isfinite(fn(EXTREME, -EXTREME))


def test_patch_shaped_logits_average_over_every_element():
    real, fake = torch.randn(2, 1, 3, 3), torch.randn(4, 1, 3, 3)
    torch.testing.assert_close(losses.d_loss_minimax(real, fake), bce(real.flatten(), 1) + bce(fake.flatten(), 0))


def linear_D(w):
    D = nn.Sequential(nn.Flatten(), nn.Linear(len(w), 1), nn.Flatten(0))
    with torch.no_grad():
        D[1].weight.copy_(torch.tensor([w]))
    return D


@pytest.mark.parametrize("w, expected", [([1.8, 2.4], 10 * (3 - 1) ** 2), ([0.6, 0.8], 0.0), ([0.0, 0.5], 10 * 0.25)])
def test_gradient_penalty_on_a_linear_D_whose_gradient_norm_is_known(w, expected):
    D = linear_D(w)
    gp = losses.gradient_penalty(D, torch.randn(8, 2), torch.randn(8, 2))
    torch.testing.assert_close(gp, torch.tensor(float(expected)))


def test_gradient_penalty_reaches_D_and_respects_weight():
    D = linear_D([1.8, 2.4])
    gp = losses.gradient_penalty(D, torch.randn(8, 2), torch.randn(8, 2), weight=2.0)
    torch.testing.assert_close(gp, torch.tensor(2.0 * 4))
    gp.backward()
    w = D[1].weight.detach()
    torch.testing.assert_close(D[1].weight.grad, 2.0 * 2 * (w.norm() - 1) * w / w.norm())  # d/dw of weight*(|w|-1)^2


def test_gradient_penalty_interpolates_per_sample_and_is_reproducible():
    class HalfSquaredNorm(nn.Module):  # grad = x, so ||grad|| = ||x_hat|| = 3 - 2 eps for these points
        def forward(self, x):
            return 0.5 * x.flatten(1).pow(2).sum(1)

    u = F.normalize(torch.randn(2000, 2, generator=torch.Generator().manual_seed(1)), dim=1)
    a = losses.gradient_penalty(HalfSquaredNorm(), u, 3 * u, weight=1.0, generator=torch.Generator().manual_seed(0))
    b = losses.gradient_penalty(HalfSquaredNorm(), u, 3 * u, weight=1.0, generator=torch.Generator().manual_seed(0))
    c = losses.gradient_penalty(HalfSquaredNorm(), u, 3 * u, weight=1.0, generator=torch.Generator().manual_seed(1))
    assert a == b and a != c
    eps = torch.rand(2000, 1, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, (2 - 2 * eps).pow(2).mean())  # the exact interpolates it used
    images = u.repeat(1, 2).view(2000, 1, 2, 2)  # image-shaped input: one eps per sample, broadcast
    assert torch.isfinite(losses.gradient_penalty(HalfSquaredNorm(), images, 3 * images, weight=1.0))


def test_bad_inputs_name_the_argument():
    with pytest.raises(TypeError, match="logits_fake"):
        losses.g_loss_nonsaturating([0.1, 0.2])
    with pytest.raises(TypeError, match="logits_real.*floating"):
        losses.d_loss_minimax(torch.tensor([1, 2]), torch.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match=r"logits_real \(4,\) and logits_fake \(4, 1\)"):
        losses.d_loss_minimax(torch.zeros(4), torch.zeros(4, 1))
    with pytest.raises(ValueError, match="batch dimension"):
        losses.g_loss_saturating(torch.tensor(0.3))
    with pytest.raises(ValueError, match="batch dimension"):
        losses.d_loss_hinge(torch.zeros(0), torch.zeros(3))
    with pytest.raises(ValueError, match="x_real .* x_fake"):
        losses.gradient_penalty(linear_D([1.0, 0.0]), torch.zeros(4, 2), torch.zeros(3, 2))
    with pytest.raises(TypeError, match="x_fake must be a torch.Tensor of samples"):
        losses.gradient_penalty(linear_D([1.0, 0.0]), torch.zeros(4, 2), None)


def test_style_regression_is_a_weighted_squared_error():
    predicted, style = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    # by hand: per row the sum of w (s_hat - s)^2, then the mean over rows
    assert losses.style_regression_loss(predicted, style) == pytest.approx((13 + 3) / 2)
    weight = torch.tensor([[1.0, 0.5, 0.0], [2.0, 0.0, 0.0]])
    assert losses.style_regression_loss(predicted, style, weight) == pytest.approx((2 + 2) / 2)
    row = torch.tensor([0.0, 1.0, 1.0])  # one row of weights for every sample
    assert losses.style_regression_loss(predicted, style, row) == pytest.approx((13 + 2) / 2)
    assert losses.style_regression_loss(style, style) == 0
    with pytest.raises(ValueError, match=r"predicted and style must both be \(B, cond_dim\)"):
        losses.style_regression_loss(predicted[:, :2], style)
    with pytest.raises(ValueError, match=r"weight must be a tensor \(2, 3\) \(or one row of 3\) like style, got \(3, 3\)"):
        losses.style_regression_loss(predicted, style, torch.ones(3, 3))


def test_style_weights_weigh_colours_by_their_opacity():
    from course_lib import makeup

    style = torch.from_numpy(np.stack([makeup.MakeupStyle(lipstick="plum", lip_opacity=0.8).to_vector(),
                                       makeup.MakeupStyle().to_vector()]))  # the second face wears nothing
    weight = makeup.style_weights(style)
    # by hand, from VECTOR_FIELDS: lip_r/g/b weigh lip_opacity, eyeshadow_r/g/b eyeshadow_opacity, blush_r/g/b
    # blush_opacity, eyeliner_r/g/b eyeliner_opacity; every other entry weighs 1
    expected = torch.ones_like(style)
    for colour, opacity in (("lip", "lip"), ("eyeshadow", "eyeshadow"), ("blush", "blush"), ("eyeliner", "eyeliner")):
        for c in "rgb":
            expected[:, makeup.VECTOR_FIELDS.index(f"{colour}_{c}")] = style[:, makeup.VECTOR_FIELDS.index(f"{opacity}_opacity")]
    torch.testing.assert_close(weight, expected)
    assert weight[1, :3].sum() == 0 and weight[0, :3].tolist() == pytest.approx([0.8] * 3)
    # lip_weight multiplies the lipstick colour's weight, and nothing else
    lips = torch.zeros_like(style)
    lips[:, :3] = 1.0
    torch.testing.assert_close(makeup.style_weights(style, lip_weight=4.0), expected * (1 + 3 * lips))
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="lip_weight must be a positive number"):
            makeup.style_weights(style, lip_weight=bad)
    with pytest.raises(ValueError, match=r"style must be a tensor \(B, 18\) of style vectors, got \(2, 14\)"):
        makeup.style_weights(style[:, :14])


def test_r1_penalty_on_a_linear_D_is_half_gamma_times_the_squared_weight_norm():
    w = torch.tensor([3.0, -4.0])
    D = lambda x: x @ w  # noqa: E731  the gradient is w for every sample: ||w||^2 = 25
    x = torch.randn(5, 2)
    torch.testing.assert_close(losses.r1_penalty(D, x, gamma=2.0), torch.tensor(25.0))
    torch.testing.assert_close(losses.r1_penalty(D, x, gamma=0.1), torch.tensor(1.25))


def test_r1_penalty_averages_per_sample_squared_norms_and_reaches_D():
    D = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1), torch.nn.Flatten(0))
    x = torch.randn(6, 3)
    expected = []
    for xi in x:  # one sample at a time: an independent computation
        xi = xi.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(D(xi[None]).sum(), xi)
        expected.append(g.pow(2).sum())
    r1 = losses.r1_penalty(D, x, gamma=3.0)
    torch.testing.assert_close(r1, 1.5 * torch.stack(expected).mean())
    r1.backward()
    # every weight gets a gradient (the last bias cannot: it does not change d D / d x)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in (D[0].weight, D[0].bias, D[2].weight))
    assert not x.requires_grad  # the caller's tensor is left alone
    # reusing a forward pass the caller already made gives the same value
    xr = x.clone().requires_grad_(True)
    torch.testing.assert_close(losses.r1_penalty(D, xr, 3.0, logits_real=D(xr)), r1.detach())


def test_r1_penalty_bad_inputs_are_named():
    D = lambda x: x.sum(1)  # noqa: E731
    with pytest.raises(ValueError, match="gamma must be >= 0"):
        losses.r1_penalty(D, torch.randn(2, 2), gamma=-1.0)
    with pytest.raises(TypeError, match="x_real must be"):
        losses.r1_penalty(D, [[1.0]], gamma=1.0)
    with pytest.raises(ValueError, match="x_real must be the tensor"):
        losses.r1_penalty(D, torch.randn(2, 2), 1.0, logits_real=torch.zeros(2))
