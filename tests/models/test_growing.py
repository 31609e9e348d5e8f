import pytest
import torch
from torch.nn import functional as F

from course_lib import losses, models, train


def _pair(size=32, width=8, **d):
    torch.manual_seed(0)
    G = models.DCGANGenerator(size=size, width=width, output="skip")
    D = models.DCGANDiscriminator(size=size, width=width, **d)
    G.apply(models.dcgan_init), D.apply(models.dcgan_init)
    gG, gD = models.GrowingGenerator(G), models.GrowingDiscriminator(D)
    gD.from_rgb.apply(models.dcgan_init)
    return G.eval(), D.eval(), gG.eval(), gD.eval()


@pytest.mark.parametrize("size, d", [(32, {"mbstd_group": 4}), (64, {}), (32, {"norm": "spectral"})])
def test_at_full_size_the_growing_networks_are_the_networks_they_wrap(size, d):
    G, D, gG, gD = _pair(size, **d)
    z, x = torch.randn(6, 100), torch.randn(6, 3, size, size)
    assert gG.stage() == (size, 1.0) and gD.stage() == (size, 1.0)  # a fresh wrapper trains at full size
    assert torch.equal(gG(z), G(z)) and torch.equal(gD(x), D(x))


@pytest.mark.parametrize("size", [32, 64])
def test_below_full_size_g_draws_coarse_pixels_and_d_reads_them_at_that_resolution(size):
    _, D, gG, gD = _pair(size)
    z = torch.randn(4, 100)
    res = 8
    while res < size:
        gG.set_stage(res), gD.set_stage(res)
        x = gG(z)
        assert x.shape == (4, 3, size, size) and x.abs().max() <= 1
        coarse = F.avg_pool2d(x, size // res)
        torch.testing.assert_close(x, F.interpolate(coarse, scale_factor=size // res, mode="nearest"))  # blocks of res
        torch.testing.assert_close(gD(x), gD(coarse))  # D accepts either size and sees the same picture
        res *= 2


def test_g_below_full_size_uses_no_layer_finer_than_its_stage():
    _, _, gG, _ = _pair(32)  # G.net: stem 0-2 (4 px), blocks 3 (8 px) and 4 (16 px), the top conv 5 (32 px)

    def used(res, alpha):
        gG.zero_grad(set_to_none=True)
        gG.train().set_stage(res, alpha)
        gG(torch.randn(4, 100)).sum().backward()
        return {n.rsplit(".", 1)[0] for n, p in gG.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}

    at8, at16 = used(8, 1.0), used(16, 0.5)
    assert {"G.to_rgb.0", "G.to_rgb.1", "G.net.3.0"} <= at8 and not at8 & {"G.to_rgb.2", "G.net.4.0", "G.net.5"}
    assert {"G.to_rgb.2", "G.net.4.0"} <= at16 and "G.net.5" not in at16  # the 32 px conv waits for its stage
    assert "G.net.5" in used(32, 0.5)


@pytest.mark.parametrize("size", [32, 64])
def test_a_fade_starts_where_the_coarser_stage_ends(size):
    _, _, _, gD = _pair(size)
    x = torch.randn(5, 3, size, size)
    res = 16
    while res <= size:
        gD.set_stage(res, 0.0)
        at_start = gD(x)
        gD.set_stage(res // 2, 1.0)
        torch.testing.assert_close(at_start, gD(x))  # alpha 0: only the coarser path counts
        gD.set_stage(res, 1.0)
        assert not torch.allclose(at_start, gD(x))
        res *= 2


def test_a_fade_in_mixes_the_new_resolution_in_linearly_before_the_tanh():
    _, _, gG, _ = _pair(32)
    z = torch.randn(4, 100)
    pre = {}
    for alpha in (0.0, 0.3, 1.0):
        gG.set_stage(16, alpha)
        pre[alpha] = torch.atanh(F.avg_pool2d(gG(z), 2).double())  # G's 16 px image before its tanh
    torch.testing.assert_close(pre[0.3], 0.7 * pre[0.0] + 0.3 * pre[1.0], rtol=1e-4, atol=1e-5)
    gG.set_stage(8)
    coarse = torch.atanh(F.avg_pool2d(gG(z), 4).double())  # alpha 0: the 8 px image, bilinearly doubled
    torch.testing.assert_close(pre[0.0], F.interpolate(coarse, scale_factor=2, mode="bilinear", align_corners=False),
                               rtol=1e-4, atol=1e-5)


def test_the_stage_is_a_buffer_so_g_s_ema_copy_follows_it_and_a_checkpoint_keeps_it():
    _, _, gG, _ = _pair(32)
    ema = train.EMA(gG, 0.999)
    gG.set_stage(16, 0.25)
    ema.update(gG)
    assert ema.model.stage() == (16, 0.25)  # a quarter is exact in float32
    _, _, fresh, _ = _pair(32)
    fresh.load_state_dict(gG.state_dict())
    assert fresh.stage() == (16, 0.25)


def test_the_real_batch_for_r1_is_taken_at_the_stages_resolution():
    _, _, _, gD = _pair(32)
    gD.set_stage(8)
    x = torch.randn(4, 3, 32, 32)
    assert torch.equal(gD.to_stage(x), F.avg_pool2d(x, 4)) and gD.to_stage(gD.to_stage(x)).shape[-1] == 8
    r1 = losses.r1_penalty(gD, gD.to_stage(x), 1.0)
    # taken through the full-size input, the averaging spreads each gradient over 16 pixels: 16x smaller
    torch.testing.assert_close(losses.r1_penalty(gD, x, 1.0), r1 / 16)


def test_the_schedule_grows_from_8_px_fading_each_resolution_in():
    s = models.GrowthSchedule(800, 32, phase=0.125)
    stages = [s.at(t) for t in range(800)]
    assert stages[0] == (8, 1.0) and stages[99] == (8, 1.0)
    assert [r for r, _ in stages].count(8) == 100 and [r for r, _ in stages].count(16) == 200
    fade16 = [a for r, a in stages[100:200]]
    assert fade16[0] == pytest.approx(0.01) and fade16[-1] == 1.0 and fade16 == sorted(fade16)
    assert stages[200:300] == [(16, 1.0)] * 100 and stages[399:] == [(32, 1.0)] * 401  # the last phase: the rest
    assert models.GrowthSchedule(1000, 64).at(999) == (64, 1.0)
    # short runs: every phase gets at least one step, and the last step always trains at full size, fully in
    assert [models.GrowthSchedule(5, 32).at(t) for t in range(5)] == [(8, 1.0), (16, 1.0), (16, 1.0), (32, 1.0), (32, 1.0)]
    assert models.GrowthSchedule(7, 32, phase=0.24).at(6) == (32, 1.0)
    with pytest.raises(ValueError, match="steps must exceed 4"):
        models.GrowthSchedule(4, 32)


def test_feed_sets_both_networks_stage_before_each_batch():
    _, _, gG, gD = _pair(32)
    s = models.GrowthSchedule(80, 32)
    seen = []
    data = s.feed(lambda step: seen.append((step, gG.stage(), gD.stage())) or step, gG, gD)
    assert data(15) == 15 and seen[0][0] == 15 and seen[0][1] == seen[0][2] == pytest.approx(s.at(15))
    assert s.at(15)[0] == 16 and 0 < s.at(15)[1] < 1


def test_bad_stages_and_schedules_are_refused_by_name():
    G, D, gG, gD = _pair(32)
    with pytest.raises(ValueError, match="res must be one of \\[8, 16, 32\\]"):
        gG.set_stage(4)
    with pytest.raises(ValueError, match="alpha must be a number in \\[0, 1\\]"):
        gD.set_stage(16, 1.5)
    with pytest.raises(ValueError, match="alpha must be 1 at the starting resolution"):
        gG.set_stage(8, 0.5)
    with pytest.raises(TypeError, match="output='skip'"):
        models.GrowingGenerator(models.DCGANGenerator(size=32, width=8))
    with pytest.raises(TypeError, match="D must be a DCGANDiscriminator"):
        models.GrowingDiscriminator(G)
    with pytest.raises(ValueError, match="start must be a power of two"):
        models.GrowingGenerator(G, start=32)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        models.GrowthSchedule(0, 32)
    with pytest.raises(ValueError, match="phase must be a share"):
        models.GrowthSchedule(100, 32, phase=0.25)  # four phases of a quarter leave the last nothing
    with pytest.raises(ValueError, match="x must have shape"):
        gD.set_stage(16)
        gD(torch.randn(2, 3, 24, 24))


def test_a_residual_discriminator_cannot_grow():
    D = models.DCGANDiscriminator(size=32, width=8, block="residual")
    with pytest.raises(TypeError, match="block='dcgan'"):
        models.GrowingDiscriminator(D)
