import math

import pytest
import torch
from torch import nn

from course_lib import models, train


def _projected(size=32, feature_size=None):
    torch.manual_seed(0)
    D = models.DCGANDiscriminator(size=size, width=8)
    return models.projected_parser_d(D, models.RegionParser(width=4), size, feature_size=feature_size, width=8)


def test_the_projected_heads_add_to_the_pixel_discriminators_logit():
    PD = _projected()
    x = torch.randn(6, 3, 32, 32)
    out = PD(x)
    assert out.shape == (6,)
    heads = sum(h(f).flatten(1).mean(1) for h, f in zip(PD.heads, PD.features(x)))
    torch.testing.assert_close(out, PD.D(x) + heads)
    assert not torch.allclose(out, PD.D(x))  # the heads count
    # three heads on the parser's encoder at 1/2, 1/4, 1/8 of the side: 16, 8 and 4 px for 32 px faces
    assert [tuple(f.shape[1:]) for f in PD.features(x)] == [(8, 16, 16), (16, 8, 8), (16, 4, 4)]


def test_the_feature_network_is_frozen_and_stays_in_eval_mode_while_gradients_reach_the_input():
    PD = _projected(feature_size=64)
    before = {k: v.clone() for k, v in PD.features.state_dict().items()}
    opt = torch.optim.Adam([p for p in PD.parameters() if p.requires_grad], lr=0.1)
    PD.train()
    assert not PD.features.training and PD.D.training
    x = torch.randn(4, 3, 32, 32, requires_grad=True)
    PD(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # G learns through the frozen network
    assert all(p.grad is None for p in PD.features.parameters())
    mixes = [h[0] for h in PD.heads]
    assert all(not m.weight.requires_grad and m.weight.grad is None for m in mixes)  # the random mixing is fixed
    opt.step()
    for k, v in PD.features.state_dict().items():  # batch-norm statistics included: eval mode kept them
        torch.testing.assert_close(v, before[k])
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in PD.heads.parameters())


def test_the_faces_are_resized_to_the_feature_networks_size_when_asked():
    PD = _projected(feature_size=64)
    seen = []
    PD.features.register_forward_hook(lambda m, args, out: seen.append(args[0].shape[-1]))
    PD(torch.randn(2, 3, 32, 32))
    assert seen == [64]
    assert [h[0].in_channels for h in PD.heads] == [8, 16, 16]


def test_the_fixed_mixing_depends_on_its_seed_only():
    def mixes(global_seed, seed):
        torch.manual_seed(global_seed)
        taps = models.ParserTaps(models.RegionParser(width=4))
        PD = models.ProjectedDiscriminator(models.DCGANDiscriminator(size=32, width=8), taps, taps.channels,
                                           taps.strides, 32, seed=seed)
        return [h[0].weight for h in PD.heads]

    for a, b in zip(mixes(0, seed=0), mixes(1, seed=0)):  # whatever the global random state
        torch.testing.assert_close(a, b)
    assert not any(torch.allclose(a, b) for a, b in zip(mixes(0, seed=0), mixes(0, seed=1)))


def test_bad_arguments_are_refused_with_their_names():
    D, taps = models.DCGANDiscriminator(size=32, width=8), models.ParserTaps(models.RegionParser(width=4))
    with pytest.raises(TypeError, match="D must be a torch.nn.Module"):
        models.ProjectedDiscriminator("D", taps, taps.channels, taps.strides, 32)
    with pytest.raises(TypeError, match="features must be a torch.nn.Module"):
        models.ProjectedDiscriminator(D, lambda x: [x], (3,), (1,), 32)
    with pytest.raises(ValueError, match="same length"):
        models.ProjectedDiscriminator(D, taps, (8, 16), (2, 4, 8), 32)
    with pytest.raises(ValueError, match=r"size must be the size D takes \(32\), got 64"):
        models.ProjectedDiscriminator(D, taps, taps.channels, taps.strides, 64)
    with pytest.raises(ValueError, match="feature_size must make every feature map's side a power of two and at least 4"):
        models.ProjectedDiscriminator(D, taps, taps.channels, taps.strides, 32, feature_size=16)  # 16 / 8 = 2
    with pytest.raises(ValueError, match="feature_size must make every feature map's side a power of two"):
        models.ProjectedDiscriminator(D, taps, taps.channels, taps.strides, 32, feature_size=48)  # 48 / 2 = 24
    with pytest.raises(TypeError, match="parser must be a RegionParser"):
        models.ParserTaps(nn.Conv2d(3, 3, 1))
    short = models.ProjectedDiscriminator(D, models.ParserTaps(models.RegionParser(width=4)), (8, 16, 16, 16),
                                          (2, 4, 8, 8), 32)
    with pytest.raises(ValueError, match="features returned 3 maps, but there are 4 heads"):
        short(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="feature_size must be a positive int"):
        models.ProjectedDiscriminator(D, taps, taps.channels, taps.strides, 32, feature_size=0)
    PD = models.ProjectedDiscriminator(D, taps, taps.channels, taps.strides, 32)
    with pytest.raises(ValueError, match=r"x must have shape \(B, 3, 32, 32\)"):
        PD(torch.randn(2, 3, 64, 64))


def test_a_recipe_with_projected_builds_it_on_the_shipped_parser():
    recipe = train.recipes.Recipe("p", d={"mbstd_group": 4, "projected": 64}, cfg=train.recipes.FAST.cfg)
    G, D = recipe.models(size=32, width=8)
    assert isinstance(D, models.ProjectedDiscriminator) and D.feature_size == 64
    assert isinstance(D.D, models.DCGANDiscriminator) and D.D.mbstd_group == 4
    shipped = train.recipes.shipped_parser()
    for k, v in shipped.state_dict().items():
        torch.testing.assert_close(D.features.parser.state_dict()[k], v)
    _, plain = train.recipes.FAST.models(size=32, width=8)
    assert isinstance(plain, models.DCGANDiscriminator)
    # one step of the library's loop with it, R1 penalty included, gives finite losses
    frozen = {k: v.clone() for k, v in D.features.state_dict().items()}
    mixing = [h[0].weight.clone() for h in D.heads]
    run = train.fit(G, D, lambda step: torch.randn(8, 3, 32, 32).clamp(-1, 1), recipe.config(steps=2, batch_size=8, r1_every=1, log_every=1),
                    device="cpu", progress=False)
    assert run.history["d_loss"] and all(math.isfinite(v) for k in ("d_loss", "g_loss") for v in run.history[k])
    for k, v in D.features.state_dict().items():  # training D left the parser and the mixing as they were
        torch.testing.assert_close(v, frozen[k])
    for h, w in zip(D.heads, mixing):
        torch.testing.assert_close(h[0].weight, w)
        assert not h[0].weight.requires_grad
    assert not any(p.requires_grad for p in D.features.parameters())
