import copy
import math

import pytest
import torch

from course_lib import losses, models, train


def tiny(spectral_norm=False):
    torch.manual_seed(0)
    G, D = models.mlp_generator(2, 2, hidden=16, depth=1), models.mlp_discriminator(2, hidden=16, depth=1,
                                                                                   spectral_norm=spectral_norm)
    return G, D, torch.optim.Adam(G.parameters(), 1e-2), torch.optim.Adam(D.parameters(), 1e-2)


def snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def changed(module, before):
    return any(not torch.equal(p, b) for p, b in zip(module.parameters(), before))


@pytest.mark.parametrize("loss", list(train.LOSSES))
def test_d_step_updates_D_only_and_reports_finite_floats(loss):
    G, D, opt_G, opt_D = tiny()
    g0, d0 = snapshot(G), snapshot(D)
    stats = train.d_step(G, D, opt_D, torch.randn(8, 2), torch.randn(8, 2), loss=loss)
    assert changed(D, d0) and not changed(G, g0)
    assert all(p.grad is None for p in G.parameters())  # G(z) was made without a graph
    assert set(stats) == {"d_loss", "gp", "r1", "d_real", "d_fake", "d_grad_norm"} and stats["r1"] == 0.0
    assert all(isinstance(v, float) and math.isfinite(v) for v in stats.values())
    assert 0 < stats["d_real"] < 1 and stats["d_grad_norm"] > 0
    assert (stats["gp"] > 0) == (loss == "wgan-gp")


@pytest.mark.parametrize("loss", list(train.LOSSES))
def test_g_step_updates_G_only_and_leaves_D_trainable(loss):
    G, D, opt_G, opt_D = tiny()
    g0, d0 = snapshot(G), snapshot(D)
    stats = train.g_step(G, D, opt_G, torch.randn(8, 2), loss=loss)
    assert changed(G, g0) and not changed(D, d0)
    assert all(p.requires_grad and p.grad is None for p in D.parameters())  # frozen during the step, restored after
    assert set(stats) == {"g_loss", "d_fake", "g_grad_norm"} and all(math.isfinite(v) for v in stats.values())


def test_d_step_loss_is_the_named_loss_before_the_update():
    G, D, _, opt_D = tiny()
    x_real, z = torch.randn(8, 2), torch.randn(8, 2)
    with torch.no_grad():
        expected = losses.d_loss_hinge(D(x_real), D(G(z)))
    stats = train.d_step(G, D, opt_D, x_real, z, loss="hinge")
    assert stats["d_loss"] == pytest.approx(expected.item(), rel=1e-6)


def test_gp_weight_override_and_reproducible_interpolates():
    runs = []
    for _ in range(2):
        G, D, _, opt_D = tiny()
        runs.append(train.d_step(G, D, opt_D, torch.ones(8, 2), torch.zeros(8, 2), loss="nonsaturating", gp_weight=5.0,
                                 generator=torch.Generator().manual_seed(3)))
    assert runs[0]["gp"] > 0 and runs[0] == runs[1]


def test_a_custom_loss_pair_and_unknown_names():
    G, D, opt_G, _ = tiny()
    pair = train.LossPair(d=losses.d_loss_minimax, g=lambda logits_fake: (logits_fake ** 2).mean())
    z = torch.randn(8, 2)
    with torch.no_grad():
        expected = (D(G(z)) ** 2).mean().item()
    assert train.g_step(G, D, opt_G, z, loss=pair)["g_loss"] == pytest.approx(expected, rel=1e-6)
    with pytest.raises(KeyError, match="valid names: minimax-saturating, nonsaturating, lsgan, hinge, wgan-gp"):
        train.get_loss("wgan")


def test_steps_run_under_an_autocast_context_with_spectral_norm():
    G, D, opt_G, opt_D = tiny(spectral_norm=True)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16)  # re-entered by both steps
    d0 = snapshot(D)
    sd = train.d_step(G, D, opt_D, torch.randn(8, 2), torch.randn(8, 2), loss="wgan-gp", autocast=ctx)
    sg = train.g_step(G, D, opt_G, torch.randn(8, 2), autocast=ctx)
    assert changed(D, d0) and math.isfinite(sd["d_loss"] + sd["gp"] + sg["g_loss"])


def test_a_few_steps_move_fake_samples_towards_the_data():
    G, D, _, _ = tiny()
    opt_G, opt_D = torch.optim.Adam(G.parameters(), 3e-3), torch.optim.Adam(D.parameters(), 3e-3)
    x_real = torch.full((64, 2), 3.0)  # all data at (3, 3); G starts near the origin, 4.3 away
    start = G(torch.randn(256, 2)).mean(0).detach()
    for _ in range(80):
        train.d_step(G, D, opt_D, x_real, torch.randn(64, 2))
        train.g_step(G, D, opt_G, torch.randn(64, 2))
    end = G(torch.randn(256, 2)).mean(0).detach()
    assert (end - 3).norm() < (start - 3).norm() / 2


def test_aux_loss_is_added_to_each_step_and_reported():
    x_real, z = torch.randn(8, 2), torch.randn(8, 2)
    G, D, opt_G, opt_D = tiny()
    plain_d = train.d_step(G, D, opt_D, x_real, z)
    plain_g = train.g_step(G, D, opt_G, z)
    assert "aux" not in plain_d and "aux" not in plain_g
    after_plain = snapshot(D) + snapshot(G)
    G, D, opt_G, opt_D = tiny()  # the same start, now with an extra term pulling D's and G's weights to 0
    d = train.d_step(G, D, opt_D, x_real, z, aux_loss=lambda xr, xf: sum(p.pow(2).sum() for p in D.parameters()))
    g = train.g_step(G, D, opt_G, z, aux_loss=lambda xf: sum(p.pow(2).sum() for p in G.parameters()))
    assert d["aux"] > 0 and g["aux"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(after_plain, snapshot(D) + snapshot(G)))
    assert d["d_loss"] == pytest.approx(plain_d["d_loss"])  # reported separately, not mixed into d_loss


def test_aux_loss_gets_the_batches_d_judged():
    G, D, opt_G, opt_D = tiny()
    x_real, z = torch.randn(8, 2), torch.randn(8, 2)
    seen = {}
    with torch.no_grad():
        fake = G(z)
    train.d_step(G, D, opt_D, x_real, z, r1_gamma=1.0, aux_loss=lambda xr, xf: seen.update(xr=xr, xf=xf) or torch.zeros(()))
    assert torch.equal(seen["xr"], x_real) and torch.equal(seen["xf"], fake) and not seen["xf"].requires_grad
    train.g_step(G, D, opt_G, z, aux_loss=lambda xf: seen.update(gf=xf) or torch.zeros(()))
    assert torch.equal(seen["gf"].detach(), fake) and seen["gf"].requires_grad  # G's fakes, with their graph


def test_conditioned_d_returns_the_style_it_read_off_each_batch():
    D = models.ConditionalDiscriminator(cond_dim=15, size=32, width=8, regress=True).eval()
    cond = torch.rand(3, 15)
    D_c = train.loop.Conditioned(D, cond, keep_styles=True)
    a, b = torch.rand(3, 3, 32, 32) * 2 - 1, torch.rand(3, 3, 32, 32) * 2 - 1
    D_c(a), D_c(b)
    with torch.no_grad():
        for x in (a, b):
            torch.testing.assert_close(D_c.style_of(x), D(x, cond, return_style=True)[1])
    with pytest.raises(RuntimeError, match="has not been called on that batch"):
        D_c.style_of(a.clone())


def test_d_step_adds_the_r1_penalty_on_the_real_batch():
    G, D, opt_G, opt_D = tiny()
    x_real, z = torch.randn(8, 2), torch.randn(8, 2)
    expected = float(losses.r1_penalty(D, x_real, gamma=4.0).detach())  # before the update
    stats = train.d_step(G, D, opt_D, x_real, z, r1_gamma=4.0)
    assert stats["r1"] == pytest.approx(expected, rel=1e-5) and stats["r1"] > 0
    assert not x_real.requires_grad
    assert train.d_step(G, D, opt_D, x_real, z)["r1"] == 0.0
    # a penalty function of one's own is used instead of the library's
    calls = []
    own = lambda D_, x, gamma: calls.append(gamma) or losses.r1_penalty(D_, x, gamma)  # noqa: E731
    train.d_step(G, D, opt_D, x_real, z, r1_gamma=2.0, r1_fn=own)
    assert calls == [2.0]
    with pytest.raises(TypeError, match="r1_fn must return the penalty as a 0-dim tensor"):
        train.d_step(G, D, opt_D, x_real, z, r1_gamma=2.0, r1_fn=lambda D_, x, gamma: 1.0)
    with pytest.raises(ValueError, match="r1_gamma must be >= 0"):
        train.d_step(G, D, opt_D, x_real, z, r1_gamma=-1.0)


def test_d_step_uses_a_gradient_penalty_of_ones_own_with_the_same_result():
    torch.manual_seed(0)
    G, D = models.mlp_generator(2, 2, hidden=8, depth=1), models.mlp_discriminator(2, hidden=8, depth=1)
    x_real, z = torch.randn(16, 2), torch.randn(16, 2)
    calls = []

    def own(D_, x_r, x_f, weight):  # the exercise's answer: one eps per sample from the global stream
        calls.append(weight)
        return losses.gradient_penalty(D_, x_r, x_f, weight)

    results = []
    for gp_fn in (None, own):
        D_copy = copy.deepcopy(D)
        torch.manual_seed(1)
        results.append(train.d_step(G, D_copy, torch.optim.SGD(D_copy.parameters(), lr=0.1), x_real, z, loss="wgan-gp", gp_fn=gp_fn))
    assert calls == [10.0] and results[0]["gp"] == pytest.approx(results[1]["gp"]) and results[0]["gp"] > 0
    with pytest.raises(TypeError, match="gp_fn must return the penalty as a 0-dim tensor"):
        train.d_step(G, D, torch.optim.SGD(D.parameters(), lr=0.1), x_real, z, loss="wgan-gp",
                     gp_fn=lambda *a: torch.zeros(3))
    assert train.d_step(G, D, torch.optim.SGD(D.parameters(), lr=0.1), x_real, z, gp_fn=own)["gp"] == 0.0  # no penalty, not called
    assert calls == [10.0]
