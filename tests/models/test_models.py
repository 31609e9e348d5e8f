import pytest
import torch
from torch import nn

from course_lib import models, train


def test_mlp_shapes_and_logits_are_one_per_sample():
    G, D = models.mlp_generator(3, 2, hidden=16, depth=2), models.mlp_discriminator(2, hidden=16, depth=2)
    x = G(torch.randn(8, 3))
    assert x.shape == (8, 2)
    assert D(x).shape == (8,)
    assert models.count_params(G) == (3 * 16 + 16) + (16 * 16 + 16) + (16 * 2 + 2)
    assert sum(isinstance(m, torch.nn.Linear) for m in D) == 3  # depth hidden layers + the output layer


def test_spectral_norm_bounds_every_weight_near_one():
    D = models.mlp_discriminator(2, hidden=16, depth=2, spectral_norm=True)
    for _ in range(30):  # power iteration converges over forward passes in train mode
        D(torch.randn(4, 2))
    D.eval()
    for layer in (m for m in D if isinstance(m, torch.nn.Linear)):
        assert abs(torch.linalg.matrix_norm(layer.weight, ord=2).item() - 1) < 0.05


def test_a_packed_discriminator_scores_consecutive_samples_together():
    D = models.mlp_discriminator(2, hidden=16, depth=2, pack=4)
    assert isinstance(D[0], models.Pack) and D[1].in_features == 8
    x = torch.randn(12, 2)
    assert D(x).shape == (3,)
    # pack i holds samples 4i .. 4i + 3, in order: changing sample 5 changes only the second logit
    y = x.clone()
    y[5] += 1.0
    changed = D(y) != D(x)
    assert changed.tolist() == [False, True, False]
    torch.testing.assert_close(models.Pack(4)(x)[1], x[4:8].flatten())
    with pytest.raises(ValueError, match="divisible by the pack size 4"):
        D(torch.randn(10, 2))
    with pytest.raises(ValueError, match="pack must be a positive int"):
        models.mlp_discriminator(2, pack=0)


@pytest.mark.parametrize("kwargs", [{"z_dim": 0, "out_dim": 2}, {"z_dim": 2, "out_dim": 2, "depth": 1.5},
                                    {"z_dim": 2, "out_dim": True}])
def test_bad_sizes_are_named(kwargs):
    with pytest.raises(ValueError, match="must be a positive int"):
        models.mlp_generator(**kwargs)


# --------------------------------------------------------------------------------------------------
# DCGAN
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size, blocks", [(32, 3), (64, 4), (128, 5)])
def test_dcgan_shapes_for_every_size(size, blocks):
    G, D = models.DCGANGenerator(z_dim=16, size=size, width=8), models.DCGANDiscriminator(size=size, width=8)
    x = G(torch.randn(3, 16))
    assert x.shape == (3, 3, size, size) and x.abs().max() <= 1  # tanh output
    assert D(x).shape == (3,)
    assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in G.modules()) == blocks + 1


def test_dcgan_64_matches_the_reference_sizes():
    """ngf = ndf = 64 gives pytorch/examples' 3.58 M / 2.77 M parameters."""
    assert models.count_params(models.DCGANGenerator(size=64, width=64)) == 3_576_704 + 3  # + the output layer's 3 biases
    assert models.count_params(models.DCGANDiscriminator(size=64, width=64)) == 2_765_633


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    G = models.DCGANGenerator(size=64, width=32)
    G.apply(models.dcgan_init)
    convs = [m.weight for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    w = torch.cat([c.detach().flatten() for c in convs])
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 1e-3
    bn = torch.cat([m.weight.detach() for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert abs(bn.mean().item() - 1) < 0.01 and abs(bn.std().item() - 0.02) < 0.005


def test_spectral_norm_discriminator_has_no_batch_norm_and_is_initialisable():
    D = models.DCGANDiscriminator(size=32, width=8, spectral_norm=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    D.apply(models.dcgan_init)  # reaches the parametrised weights without error
    assert D(torch.randn(2, 3, 32, 32)).shape == (2,)


def test_dcgan_bad_input_is_named():
    with pytest.raises(ValueError, match="size must be one of 32, 64, 128"):
        models.DCGANGenerator(size=48)
    with pytest.raises(ValueError, match=r"z must have shape \(B, 100\)"):
        models.DCGANGenerator(size=32)(torch.randn(2, 50))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 3, 64, 64\)"):
        models.DCGANDiscriminator(size=64)(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="width must be a positive int"):
        models.DCGANDiscriminator(width=0)


# --------------------------------------------------------------------------------------------------
# Conditional DCGAN
# --------------------------------------------------------------------------------------------------
def test_film_starts_as_batch_norm_and_follows_the_condition():
    film = models.FiLM(4, cond_dim=3)
    x, c = torch.randn(5, 4, 6, 6), torch.rand(5, 3)
    torch.testing.assert_close(film(x, c), film.bn(x))  # gamma = 1, beta = 0 at initialisation
    torch.nn.init.normal_(film.gamma.weight)
    expected = film.bn(x) * film.gamma(c)[:, :, None, None] + film.beta(c)[:, :, None, None]
    torch.testing.assert_close(film(x, c), expected)


@pytest.mark.parametrize("mode", ["projection", "concat"])
def test_conditional_models_use_the_condition(mode):
    torch.manual_seed(0)
    G = models.ConditionalGenerator(z_dim=16, cond_dim=5, size=32, width=8)
    D = models.ConditionalDiscriminator(cond_dim=5, size=32, width=8, mode=mode)
    torch.nn.init.normal_(G.blocks[1].film.gamma.weight)  # an untrained FiLM ignores c; a trained one does not
    z, c1, c2 = torch.randn(4, 16), torch.zeros(4, 5), torch.ones(4, 5)
    x = G(z, c1)
    assert x.shape == (4, 3, 32, 32) and not torch.allclose(x, G(z, c2))
    assert D(x, c1).shape == (4,) and not torch.allclose(D(x, c1), D(x, c2))


def test_cond_from_keeps_the_coarse_blocks_free_of_the_condition():
    torch.manual_seed(0)
    G = models.ConditionalGenerator(z_dim=16, cond_dim=5, size=32, width=8, cond_from=2).eval()
    assert [b.conditioned for b in G.blocks] == [False, False, True] and G.blocks[0].conv.in_channels == 16
    for block in G.blocks[2:]:
        torch.nn.init.normal_(block.film.gamma.weight)  # a trained FiLM: the condition matters
    z, c1, c2 = torch.randn(4, 16), torch.zeros(4, 5), torch.ones(4, 5)
    coarse = []
    hook = G.blocks[1].register_forward_hook(lambda module, args, out: coarse.append(out))
    x1, x2 = G(z, c1), G(z, c2)
    hook.remove()
    assert torch.equal(coarse[0], coarse[1])  # the 8 px map does not depend on c ...
    assert not torch.allclose(x1, x2)  # ... the image does
    assert models.ConditionalGenerator.from_config({"z_dim": 16, "cond_dim": 5, "size": 32, "width": 8,
                                                    "cond_from": 2}).cond_from == 2
    assert models.ConditionalGenerator.from_config({"z_dim": 16, "cond_dim": 5, "size": 32, "width": 8}).cond_from == 0
    for bad in (3, -1, 1.0, True):
        with pytest.raises(ValueError, match=r"cond_from must be an int in \[0, 2\]"):
            models.ConditionalGenerator(size=32, cond_from=bad)


def test_conditional_models_name_bad_conditions():
    G, D = models.ConditionalGenerator(cond_dim=15, size=32, width=8), models.ConditionalDiscriminator(size=32, width=8)
    with pytest.raises(ValueError, match=r"cond must be a tensor of shape \(2, 15\)"):
        G(torch.randn(2, 100), torch.rand(2, 14))
    with pytest.raises(ValueError, match=r"cond must be a tensor of shape \(3, 18\)"):
        D(torch.randn(3, 3, 32, 32), torch.rand(15))
    with pytest.raises(ValueError, match="mode must be 'projection' or 'concat'"):
        models.ConditionalDiscriminator(mode="film")


def test_out_of_range_conditions_are_refused():
    G = models.ConditionalGenerator(cond_dim=15, size=32, width=8)
    with pytest.raises(ValueError, match=r"values in \[0, 1\].*to_vector"):
        G(torch.randn(2, 100), torch.full((2, 15), 1.5))


class _Constant(nn.Module):
    """Stands in for D's feature extractor: returns a fixed feature map whatever the image."""

    def __init__(self, fmap: torch.Tensor):
        super().__init__()
        self.fmap = fmap

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fmap.expand(x.shape[0], -1, -1, -1)


def test_style_regressor_reads_a_style_per_image_and_only_when_built():
    D = models.ConditionalDiscriminator(cond_dim=15, size=32, width=8, regress=True).eval()  # eval: no power iteration
    x, c = torch.randn(3, 3, 32, 32), torch.rand(3, 15)
    logits, styles = D(x, c, return_style=True)
    torch.testing.assert_close(logits, D(x, c))
    assert styles.shape == (3, 15) and 0 <= styles.min() and styles.max() <= 1
    # the read-out sees *where* a feature is (lips low in the face, eyeshadow high), not only the pooled sum:
    # one feature moved from the top row of phi's map to the bottom row keeps the sum but changes the read
    top = torch.zeros(1, D.features, 4, 4)
    top[0, 0, 0, 1] = 5.0
    reads = []
    for fmap in (top, top.flip(2)):
        D.phi = _Constant(fmap)
        reads.append(D(x[:1], c[:1], return_style=True)[1])
    assert (reads[0] - reads[1]).abs().max() > 1e-3
    with pytest.raises(ValueError, match="regress=True"):
        models.ConditionalDiscriminator(cond_dim=15, size=32, width=8)(x, c, return_style=True)


# --------------------------------------------------------------------------------------------------
# Minibatch standard deviation and D's normalisation options
# --------------------------------------------------------------------------------------------------
def test_minibatch_std_matches_its_formula_group_by_group():
    x = torch.randn(8, 3, 2, 2, dtype=torch.float64)
    out = models.minibatch_std(x, 4)
    assert out.shape == (8, 4, 2, 2) and torch.equal(out[:, :3], x)
    for g in range(2):  # consecutive groups: samples 0-3, then 4-7
        group = x[4 * g : 4 * g + 4]
        expected = (group.var(0, unbiased=False) + 1e-8).sqrt().mean()
        torch.testing.assert_close(out[4 * g : 4 * g + 4, 3], expected.expand(4, 2, 2).to(out.dtype))


def test_minibatch_std_uses_the_largest_group_that_divides_the_batch_and_is_finite_on_copies():
    x = torch.randn(6, 2, 3, 3)
    torch.testing.assert_close(models.minibatch_std(x, 4), models.minibatch_std(x, 2))  # gcd(6, 4) = 2
    same = x[:1].expand(4, -1, -1, -1).clone().requires_grad_(True)
    out = models.minibatch_std(same, 4)
    assert out[:, -1].max() < 1e-3  # a collapsed group has (almost) no spread
    out[:, -1].sum().backward()
    assert torch.isfinite(same.grad).all()


def test_discriminator_norm_and_mbstd_options():
    kinds = lambda D: {type(m).__name__ for m in D.modules()}  # noqa: E731
    assert "BatchNorm2d" in kinds(models.DCGANDiscriminator(size=32, width=8))
    plain = models.DCGANDiscriminator(size=32, width=8, norm="none", mbstd_group=4)
    assert "BatchNorm2d" not in kinds(plain) and "MinibatchStd" in kinds(plain)
    assert plain(torch.randn(5, 3, 32, 32)).shape == (5,)
    # without batch norm a sample's logit does not depend on the rest of its batch (except through mbstd)
    D = models.DCGANDiscriminator(size=32, width=8, norm="none").eval()
    x = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(D(x)[:2], D(x[:2]))
    calls = []
    custom = models.DCGANDiscriminator(size=32, width=8, norm="none", mbstd_group=2,
                                       mbstd_fn=lambda h, g: calls.append(g) or models.minibatch_std(h, g))
    custom(torch.randn(4, 3, 32, 32))
    assert calls == [2]
    with pytest.raises(ValueError, match="norm must be one of"):
        models.DCGANDiscriminator(norm="layer")
    with pytest.raises(ValueError, match="mbstd_group must be an int >= 0"):
        models.DCGANDiscriminator(mbstd_group=-1)


def test_dcgan_generator_builds_its_blocks_with_a_block_function_of_ones_own():
    calls = []

    def block(i, o):
        calls.append((i, o))
        return models.generator_block(i, o)

    torch.manual_seed(0)
    mine = models.DCGANGenerator(size=32, width=8, block_fn=block)
    torch.manual_seed(0)
    library = models.DCGANGenerator(size=32, width=8)
    assert calls == [(32, 16), (16, 8)]  # 4 -> 8 -> 16 px; the last layer (to 3 channels, tanh) is not a block
    for (k, a), (_, b) in zip(mine.state_dict().items(), library.state_dict().items()):
        assert torch.equal(a, b), k
    train.recipes.FAST.models(size=32, width=8, block_fn=block)
    assert len(calls) == 4
    with pytest.raises(ValueError, match="block_fn replaces DCGAN's block"):
        models.DCGANGenerator(size=32, width=8, norm="pixel", block_fn=block)


def test_skip_generator_builds_the_image_coarse_to_fine():
    torch.manual_seed(0)
    G = models.DCGANGenerator(z_dim=16, size=32, width=8, output="skip").eval()
    z = torch.randn(3, 16)
    x = G(z)
    assert x.shape == (3, 3, 32, 32) and x.abs().max() <= 1
    assert [c.in_channels for c in G.to_rgb] == [32, 16, 8]  # 4, 8 and 16 px; the 16 -> 32 px conv is the top toRGB
    # zero the fine resolutions' contributions: the image is the 4 px toRGB upsampled three times, smooth
    with torch.no_grad():
        for to_rgb in G.to_rgb[1:]:
            to_rgb.weight.zero_(), to_rgb.bias.zero_()
        top = [m for m in G.net if isinstance(m, torch.nn.ConvTranspose2d)][-1]
        top.weight.zero_(), top.bias.zero_()
        coarse = G(z)
        h = G.net[: G.n_stem](z[:, :, None, None])
        expected = G.to_rgb[0](h)
        for _ in range(3):
            expected = torch.nn.functional.interpolate(expected, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(coarse, torch.tanh(expected))
    # same layers as DCGAN's generator (the same state keys, plus toRGB), and from_config rebuilds it
    plain = models.DCGANGenerator(z_dim=16, size=32, width=8)
    assert set(G.state_dict()) - set(plain.state_dict()) == {f"to_rgb.{i}.{k}" for i in (0, 1, 2) for k in ("weight", "bias")}
    again = models.DCGANGenerator.from_config({"z_dim": 16, "size": 32, "width": 8, "output": "skip"})
    again.load_state_dict(G.state_dict())
    torch.testing.assert_close(again.eval()(z), coarse)
    with pytest.raises(ValueError, match="output must be one of last, skip"):
        models.DCGANGenerator(size=32, width=8, output="residual")
    # the image below full size: the 16 px image is what the 32 px one builds on, before the top conv's detail
    torch.testing.assert_close(G.image_at(z, 32), G(z))
    assert G.image_at(z, 16).shape == (3, 3, 16, 16) and G.image_at(z, 8, alpha=0.5).shape == (3, 3, 8, 8)
    with pytest.raises(ValueError, match="res must be one of \\[8, 16, 32\\]"):
        G.image_at(z, 4)
    with pytest.raises(ValueError, match="alpha a number in \\[0, 1\\]"):
        G.image_at(z, 16, alpha=2.0)
    with pytest.raises(ValueError, match="image_at needs the skip generator"):
        plain.image_at(z, 16)


def test_residual_blocks_add_a_shortcut_to_dcgans_layers():
    torch.manual_seed(0)
    G = models.DCGANGenerator(z_dim=16, size=32, width=8, block="residual").eval()
    D = models.DCGANDiscriminator(size=32, width=8, block="residual", mbstd_group=4).eval()
    blocks = [m for m in G.net if isinstance(m, models.ResidualUpBlock)]
    assert len(blocks) == 2 and len([m for m in D.net if isinstance(m, models.ResidualDownBlock)]) == 2
    x = G(torch.randn(3, 16))
    assert x.shape == (3, 3, 32, 32) and x.abs().max() <= 1 and D(x).shape == (3,)
    # each block is ReLU(main + skip): with the main path zeroed (its last batch norm's scale and shift), only the
    # shortcut's nearest-neighbour doubling and 1x1 conv remain
    h = torch.randn(2, 32, 4, 4)
    with torch.no_grad():
        blocks[0].main[-1].weight.zero_(), blocks[0].main[-1].bias.zero_()
        torch.testing.assert_close(blocks[0](h), torch.relu(blocks[0].skip(h)))
    assert blocks[0](h).shape == (2, 16, 8, 8)
    down = models.ResidualDownBlock(8, 16).eval()
    h = torch.randn(2, 8, 16, 16)
    with torch.no_grad():  # the same for D's block: with the main path zeroed, LReLU of the pooled 1x1 shortcut
        down.main[-1].weight.zero_(), down.main[-1].bias.zero_()
        torch.testing.assert_close(down(h), torch.nn.functional.leaky_relu(down.skip[1](torch.nn.functional.avg_pool2d(h, 2)), 0.2))
    assert models.ResidualDownBlock(8, 16, norm="spectral")(h).shape == (2, 16, 8, 8)
    with pytest.raises(ValueError, match="norm must be one of batch, spectral, none"):
        models.ResidualDownBlock(8, 16, norm="layer")
    again = models.DCGANGenerator.from_config({"z_dim": 16, "size": 32, "width": 8, "block": "residual"})
    again.load_state_dict(G.state_dict())
    with pytest.raises(ValueError, match="block must be one of dcgan, residual"):
        models.DCGANGenerator(size=32, width=8, block="resnet")
    with pytest.raises(ValueError, match="block must be one of dcgan, residual"):
        models.DCGANDiscriminator(size=32, width=8, block="resnet")
    with pytest.raises(ValueError, match="block='residual' builds its own blocks"):
        models.DCGANGenerator(size=32, width=8, block="residual", norm="pixel")
    with pytest.raises(ValueError, match="block='residual' builds its own blocks"):
        models.DCGANGenerator(size=32, width=8, block="residual", block_fn=models.generator_block)
