"""Each checker accepts the reference and rejects plausible wrong answers with the right explanation."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib import checks, losses, train

sp = F.softplus


def naive_d_loss(r, f):  # right maths, unstable numerics
    return -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean())


def test_reference_losses_pass(capsys):
    checks.check_d_loss_minimax(losses.d_loss_minimax)
    checks.check_g_loss_saturating(losses.g_loss_saturating)
    checks.check_g_loss_nonsaturating(losses.g_loss_nonsaturating)
    # An equivalent formulation with BCE-with-logits passes too.
    checks.check_d_loss_minimax(lambda r, f: F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                                + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
    assert capsys.readouterr().out.count("is correct") == 4


@pytest.mark.parametrize("wrong, match", [
    (lambda r, f: losses.d_loss_minimax(r, f) / 2, "not their average"),
    (lambda r, f: -losses.d_loss_minimax(r, f), "sign is flipped"),
    (lambda r, f: losses.d_loss_minimax(torch.sigmoid(r), torch.sigmoid(f)), "sigmoid was applied twice"),
    (lambda r, f: losses.d_loss_minimax(f, r), "swapped"),
    (lambda r, f: sp(-r).sum() + sp(f).sum(), "sum"),
    (lambda r, f: sp(-r) + sp(f).mean(), "one value per sample"),
    (naive_d_loss, "underflows"),
    (lambda r, f: -(torch.log(r).mean() + torch.log(1 - f).mean()), "not probabilities"),
    (lambda r, f: torch.tensor(losses.d_loss_minimax(r, f).item()), "not connected"),
    (lambda r, f: -(torch.log(torch.sigmoid(r) + 1e-8).mean() + torch.log(1 - torch.sigmoid(f) + 1e-8).mean()), "epsilon"),
    (lambda r, f: sp(-r).mean() + sp(f.detach()).mean(), "no gradient reaches logits_fake: the term with logits_fake is detached"),
    (lambda r, f: sp(-r.detach()).mean() + sp(f).mean(), "no gradient reaches logits_real"),
    (lambda r, f: sp(-r).mean() + sp(f).mean() + 0 * (f - f.detach()).sum() + (sp(f) - sp(f).detach()).mean(), "wrong gradient with respect to logits_fake"),
])
def test_d_loss_checker_rejects_plausible_mistakes(wrong, match):
    with pytest.raises(checks.CheckError, match=match):
        checks.check_d_loss_minimax(wrong)


@pytest.mark.parametrize("wrong, match", [
    (losses.g_loss_nonsaturating, "this is the non-saturating loss"),
    (lambda f: sp(f).mean(), "sign is flipped"),
    (lambda f: torch.log(1 - torch.sigmoid(f)).mean(), "underflows"),
    (lambda f: losses.g_loss_saturating(torch.sigmoid(f)), "sigmoid was applied twice"),
    (lambda f: -sp(f), "one value per sample"),
])
def test_saturating_checker_rejects_plausible_mistakes(wrong, match):
    with pytest.raises(checks.CheckError, match=match):
        checks.check_g_loss_saturating(wrong)


@pytest.mark.parametrize("wrong, match", [
    (losses.g_loss_saturating, "this is the saturating loss"),
    (lambda f: sp(f).mean(), "pushes D\\(G\\(z\\)\\) towards 0"),
    (lambda f: -sp(-f).mean(), "sign is flipped"),
    (lambda f: -torch.log(torch.sigmoid(f)).mean(), "underflows"),
    (lambda f: sp(-f).sum(), "sum"),
    (lambda f: sp(-f).mean().item(), "return a torch tensor"),
    (lambda f: sp(-f.detach()).mean() + 0 * f.sum(), "no gradient reaches logits_fake"),
])
def test_nonsaturating_checker_rejects_plausible_mistakes(wrong, match):
    with pytest.raises(checks.CheckError, match=match):
        checks.check_g_loss_nonsaturating(wrong)


def test_optimal_d_checker():
    checks.check_optimal_d(lambda p_data, p_g: p_data / (p_data + p_g))
    for wrong, match in [(lambda p, q: q / (p + q), "1 - D\\*"), (lambda p, q: p / q, "not by p_g alone"),
                         (lambda p, q: torch.log(p / q), "logit"), (lambda p, q: (p / (p + q)).mean(), "grid's shape"),
                         (lambda p, q: p / (p + q + 0.01), "at x =")]:
        with pytest.raises(checks.CheckError, match=match):
            checks.check_optimal_d(wrong)


def gp_variant(norm_fn=lambda g: g.flatten(1).norm(dim=1), centre=1.0, eps_fn=lambda B: torch.rand(B, 1),
               create_graph=True, power=2, where="mix", use_weight=True):
    """A gradient penalty with one ingredient changed (the defaults give the right answer)."""
    def gp(D, x_real, x_fake, weight=10.0):
        eps = eps_fn(x_real.shape[0])
        x_hat = {"mix": eps * x_real + (1 - eps) * x_fake, "real": x_real, "fake": x_fake}[where]
        x_hat = x_hat.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=create_graph)
        value = (norm_fn(g) - centre).abs().pow(power).mean()
        return weight * value if use_weight else value
    return gp


def per_element_gp(D, x_real, x_fake, weight=10.0):
    """One eps per element (torch.rand_like): on average close to the right value, but off the real-fake line."""
    eps = torch.rand_like(x_real)
    x_hat = (eps * x_real + (1 - eps) * x_fake).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return weight * (g.flatten(1).norm(dim=1) - 1).pow(2).mean()


def test_gradient_penalty_checker():
    checks.check_gradient_penalty(losses.gradient_penalty)
    checks.check_gradient_penalty(gp_variant())
    for wrong, match in [
        (gp_variant(centre=0.0), "not \\|\\|grad\\|\\|\\^2"),
        (gp_variant(norm_fn=lambda g: g.norm()), "one norm per sample"),
        (gp_variant(norm_fn=lambda g: g.pow(2).sum(1)), "not its squared norm"),
        (gp_variant(use_weight=False), "multiply by `weight`"),
        (gp_variant(create_graph=False), "create_graph=True"),
        (gp_variant(where="real"), "x_real only"),
        (gp_variant(where="fake"), "x_fake only"),
        (gp_variant(eps_fn=lambda B: torch.full((B, 1), 0.5)), "fixed at 0.5"),
        (gp_variant(eps_fn=lambda B: torch.rand(1, 1).expand(B, 1)), "one eps per sample"),
        (gp_variant(eps_fn=lambda B: torch.randn(B, 1)), "uniform"),
        (per_element_gp, "one eps per sample, shaped \\(B, 1, ..., 1\\).*not one per element"),
        (lambda D, x_real, x_fake: losses.gradient_penalty(D, x_real, x_fake), "`weight` argument"),
    ]:
        with pytest.raises(checks.CheckError, match=match):
            checks.check_gradient_penalty(wrong)


def d_step_variant(detach=True, zero_grad=True, sign=1.0, step=True, item=True, verdict=torch.sigmoid,
                   verdicts_after=False, keys=("d_loss", "d_real", "d_fake")):
    def d_step(G, D, opt_D, x_real, z):
        x_fake = G(z).detach() if detach else G(z)
        logits_real, logits_fake = D(x_real), D(x_fake)
        loss = sign * losses.d_loss_minimax(logits_real, logits_fake)
        if zero_grad:
            opt_D.zero_grad()
        loss.backward()
        if step:
            opt_D.step()
        if verdicts_after:  # D's verdicts read again after its update
            with torch.no_grad():
                logits_real, logits_fake = D(x_real), D(x_fake)
        stats = {"d_loss": loss.item() if item else loss, "d_real": verdict(logits_real.detach()).mean().item(),
                 "d_fake": verdict(logits_fake.detach()).mean().item()}
        return {k: stats[k] for k in keys}
    return d_step


def test_d_step_checker():
    checks.check_d_step(lambda G, D, opt_D, x_real, z: train.d_step(G, D, opt_D, x_real, z, loss="nonsaturating"))
    checks.check_d_step(d_step_variant())
    for wrong, match in [
        (d_step_variant(detach=False), "gradients reached G"),
        (d_step_variant(zero_grad=False), "zero_grad"),
        (d_step_variant(sign=-1.0), "uphill"),
        (d_step_variant(step=False), "did not change"),
        (d_step_variant(item=False), "Python float"),
        (lambda G, D, opt_D, x_real, z: train.d_step(G, D, opt_D, x_real, z, loss="hinge"), "reports d_loss"),
        (d_step_variant(keys=("d_loss",)), "must also return 'd_real'"),
        (d_step_variant(verdict=lambda t: t), "reports d_(real|fake) = .*sigmoid"),
        (d_step_variant(verdicts_after=True), "reports d_real = .*before the update"),
        (d_step_variant(verdict=lambda t: 1 - torch.sigmoid(t)), "reports d_real"),
    ]:
        with pytest.raises(checks.CheckError, match=match):
            checks.check_d_step(wrong)


def test_checkers_do_not_move_the_global_random_stream():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    checks.check_gradient_penalty(losses.gradient_penalty)
    checks.check_d_step(d_step_variant())
    torch.testing.assert_close(torch.rand(3), expected)


# --------------------------------------------------------------------------------------------------
# 03_dcgan_faces checkers: each accepts the reference and rejects plausible mistakes
# --------------------------------------------------------------------------------------------------
from torch import nn  # noqa: E402

from course_lib import models  # noqa: E402


def block(conv_kwargs=None, norm=True, act=nn.ReLU, order="cna"):
    kwargs = {"kernel_size": 4, "stride": 2, "padding": 1, "bias": False, **(conv_kwargs or {})}

    def make(i, o):
        parts = {"c": nn.ConvTranspose2d(i, o, **kwargs), "n": nn.BatchNorm2d(o), "a": act()}
        return nn.Sequential(*[parts[k] for k in order if k != "n" or norm])

    return make


def test_generator_block_checker(capsys):
    checks.check_generator_block(models.generator_block)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, match", [
    (block({"stride": 1}), "kernel 4, stride 2, padding 1"),
    (block({"bias": True}), "bias=False"),
    (block(norm=False), "BatchNorm2d"),
    (block(act=lambda: nn.LeakyReLU(0.2)), "ReLU, not LeakyReLU"),
    (block(order="acn"), "order must be"),
    (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()), "exactly one ConvTranspose2d"),
])
def test_generator_block_checker_rejects_mistakes(wrong, match):
    with pytest.raises(checks.CheckError, match=match):
        checks.check_generator_block(wrong)


def init_variant(w_std=0.02, bn_mean=1.0, bn_std=0.02, zero_bias=True):
    def init(m):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, w_std)
            if m.bias is not None and zero_bias:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, bn_mean, bn_std)
            nn.init.zeros_(m.bias)
    return init


def test_dcgan_init_checker(capsys):
    checks.check_dcgan_init(models.dcgan_init)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, match", [
    (init_variant(w_std=0.02**0.5), "N\\(0, 0.02\\)"),  # variance mistaken for the std
    (init_variant(bn_mean=0.0), "scales should be N\\(1, 0.02\\)"),
    (init_variant(bn_std=0.0), "scales should be N\\(1, 0.02\\)"),
    (init_variant(zero_bias=False), "biases should be zero"),
    (lambda m: None, "N\\(0, 0.02\\)"),  # does nothing: PyTorch's default init
    (lambda m: models.dcgan_init(m) if not isinstance(m, nn.ConvTranspose2d) else None,
     "ConvTranspose2d weights should be N\\(0, 0.02\\)"),  # forgets the generator's layers
])
def test_dcgan_init_checker_rejects_mistakes(wrong, match):
    with pytest.raises(checks.CheckError, match=match):
        checks.check_dcgan_init(wrong)


def small_G():
    return nn.Sequential(nn.Linear(100, 32), nn.ReLU(), nn.Linear(32, 12), nn.Tanh())


def small_D():
    return nn.Sequential(nn.Linear(12, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Flatten(0))


def g_step_variant(freeze=True, target=1.0, unfreeze=True, as_float=True, detach_fake=False, loss_fn=None, zero_grad=True):
    def step(G, D, opt_G, batch_size):
        if freeze:
            D.requires_grad_(False)
        x = G(torch.randn(batch_size, 100))
        logits = D(x.detach() if detach_fake else x)
        loss = (loss_fn(logits) if loss_fn is not None else
                F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target)))
        if zero_grad:
            opt_G.zero_grad()
        if loss.requires_grad:
            loss.backward()
        opt_G.step()
        if freeze and unfreeze:
            D.requires_grad_(True)
        return loss.item() if as_float else loss
    return step


def test_fixed_g_step_checker(capsys):
    checks.check_fixed_g_step(g_step_variant(), small_G, small_D)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, match", [
    (g_step_variant(freeze=False), "received gradients"),  # the article's bug 4
    (g_step_variant(target=0.0), r"targets are zeros: G wants D to call its fakes \*real\*"),  # bug 3: the sign
    (g_step_variant(unfreeze=False), "still frozen"),
    (g_step_variant(as_float=False), "as a float"),
    (g_step_variant(detach_fake=True), "G should make D call its fakes real|differ from the reference"),  # no gradient reaches G
    (g_step_variant(loss_fn=lambda l: ((l - 1) ** 2).mean()), "least-squares \\(LSGAN\\) loss"),  # also raises D(G(z))
    (g_step_variant(loss_fn=lambda l: ((torch.sigmoid(l) - 1) ** 2).mean()), "least-squares loss on probabilities"),
    (g_step_variant(loss_fn=lambda l: -sp(l).mean()), "saturating loss"),
    (g_step_variant(loss_fn=lambda l: sp(-l).sum()), "summed over the batch"),
    (g_step_variant(zero_grad=False), "call opt_G.zero_grad\\(\\) before backward"),
])
def test_fixed_g_step_checker_rejects_mistakes(wrong, match):
    with pytest.raises(checks.CheckError, match=match):
        checks.check_fixed_g_step(wrong, small_G, small_D)


def article_G(last=3 * 64 * 64, act=nn.Tanh, shape=(3, 64, 64)):
    def make():
        torch.manual_seed(0)
        layers = [nn.Linear(100, 64), nn.ReLU(), nn.Linear(64, last)] + ([act()] if act else []) + [nn.Unflatten(1, shape)]
        return nn.Sequential(*layers)
    return make


def test_fixed_generator_checker_accepts_working_generators_and_rejects_each_bug(capsys):
    checks.check_fixed_generator(article_G())
    checks.check_fixed_generator(lambda: models.DCGANGenerator(size=64, width=8))  # takes (B, 100) too
    assert capsys.readouterr().out.count("✓") == 2

    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(3, 64, 64))

        def forward(self, z):
            return torch.tanh(self.bias).expand(len(z), 3, 64, 64)

    for wrong, match in [
        (article_G(last=1024), r"failed: .*count them"),  # the article's bug 1 as written
        (article_G(shape=(64, 64, 3)), "channels-last"),
        (article_G(act=None), "end with tanh"),
        (article_G(act=nn.Sigmoid), r"\[0, 1\] \(a sigmoid\?\)"),
        (Constant, "same image for different z"),
        (lambda: (lambda z: z), "must return an nn.Module"),
        (article_G(last=3 * 32 * 32, shape=(3, 32, 32)), r"must have shape \(4, 3, 64, 64\)"),
    ]:
        with pytest.raises(checks.CheckError, match=match):
            checks.check_fixed_generator(wrong)


def normalising_sampler(images, n):
    images.div_(images.abs().max())  # "normalises" the caller's data in place
    return images[torch.randint(0, len(images), (n,))]


def test_sample_real_checker_accepts_uniform_sampling_and_rejects_each_mistake(capsys):
    checks.check_sample_real(lambda images, n: images[torch.randint(0, len(images), (n,))])
    checks.check_sample_real(lambda images, n: images[torch.randperm(len(images))[:n]])  # without replacement: fine
    checks.check_sample_real(lambda images, n: images[np.random.randint(0, len(images), n)])
    assert capsys.readouterr().out.count("✓") == 3
    for wrong, match in [
        (lambda images, n: images[np.random.choice(images, 1)], "raised ValueError: a must be 1-dimensional"),  # the article's bug 2
        (lambda images, n: torch.randint(0, len(images), (n,)), "look like indices"),
        (lambda images, n: images[:n], "same images"),
        (lambda images, n: images[torch.randint(0, n, (n,))], "only the first n"),
        (lambda images, n: images[torch.randint(0, len(images) - 1, (n,))], "last image is never picked"),
        (lambda images, n: images[torch.randint(0, len(images), (n,))].numpy(), "must return a tensor"),
        (lambda images, n: images[torch.randint(0, len(images), (n,))] + 0.1 * torch.randn(n, 3, 4, 4), "unchanged"),
        (lambda images, n: images[torch.randint(0, len(images), (n,))].squeeze(0), r"keep the batch axis"),
        (lambda images, n: images[torch.multinomial(torch.linspace(1, 5, len(images)), n, replacement=True)],
         "far more often"),
        (normalising_sampler, "changed train_images"),
    ]:
        with pytest.raises(checks.CheckError, match=match):
            checks.check_sample_real(wrong)


# --------------------------------------------------------------------------------------------------
# 04_conditional_gan checkers
# --------------------------------------------------------------------------------------------------
def film(x, c, bn, gamma, beta):
    return bn(x) * gamma(c)[:, :, None, None] + beta(c)[:, :, None, None]


def test_film_checker_accepts_the_reference_and_rejects_mistakes(capsys):
    checks.check_film(film)
    assert "✓" in capsys.readouterr().out
    wrong = {
        "normalise first": lambda x, c, bn, g, b: x * g(c)[:, :, None, None] + b(c)[:, :, None, None],
        "swapped": lambda x, c, bn, g, b: bn(x) * b(c)[:, :, None, None] + g(c)[:, :, None, None],
        "not added": lambda x, c, bn, g, b: bn(x) + g(c)[:, :, None, None] + b(c)[:, :, None, None],
        "two trailing axes": lambda x, c, bn, g, b: bn(x) * g(c) + b(c),
        "after batch norm": lambda x, c, bn, g, b: bn(x * g(c)[:, :, None, None] + b(c)[:, :, None, None]),
    }
    for match, fn in wrong.items():
        with pytest.raises(checks.CheckError, match=match):
            checks.check_film(fn)


def test_projection_checker_accepts_the_reference_and_rejects_mistakes(capsys):
    checks.check_projection_logits(lambda h, c, psi, embed: psi(h)[:, 0] + (embed(c) * h).sum(1))
    assert "✓" in capsys.readouterr().out
    wrong = {
        "condition is missing": lambda h, c, psi, embed: psi(h)[:, 0],
        "unconditional term": lambda h, c, psi, embed: (embed(c) * h).sum(1),
        "mean divides": lambda h, c, psi, embed: psi(h)[:, 0] + (embed(c) * h).mean(1),
        "not subtracted": lambda h, c, psi, embed: psi(h)[:, 0] - (embed(c) * h).sum(1),
        r"psi\(h\)\[:, 0\]": lambda h, c, psi, embed: psi(h) + (embed(c) * h).sum(1, keepdim=True),
    }
    for match, fn in wrong.items():
        with pytest.raises(checks.CheckError, match=match):
            checks.check_projection_logits(fn)


# ---------------------------------------------------------------------------------------------------------
# 05_makeup_transfer checkers
# ---------------------------------------------------------------------------------------------------------
def _cycle(G, x, y):
    x_B, y_A = G(x, y)
    y_rec, x_rec = G(y_A, x_B)
    return (x_rec - x).abs().mean() + (y_rec - y).abs().mean()


def test_cycle_checker_accepts_the_reference_and_rejects_mistakes(capsys):
    checks.check_cycle_loss(_cycle)
    assert "✓" in capsys.readouterr().out

    def only_source(G, x, y):
        x_B, y_A = G(x, y)
        return (G(y_A, x_B)[1] - x).abs().mean()

    def outputs_swapped(G, x, y):
        x_B, y_A = G(x, y)
        a, b = G(y_A, x_B)
        return (a - x).abs().mean() + (b - y).abs().mean()

    def inputs_swapped(G, x, y):
        x_B, y_A = G(x, y)
        c, d = G(x_B, y_A)
        return (d - x).abs().mean() + (c - y).abs().mean()

    def squared(G, x, y):
        x_B, y_A = G(x, y)
        a, b = G(y_A, x_B)
        return (b - x).pow(2).mean() + (a - y).pow(2).mean()

    def summed(G, x, y):
        x_B, y_A = G(x, y)
        a, b = G(y_A, x_B)
        return (b - x).abs().sum() + (a - y).abs().sum()

    def first_pass_frozen(G, x, y):
        with torch.no_grad():
            x_B, y_A = G(x, y)
        y_rec, x_rec = G(y_A, x_B)
        return (x_rec - x).abs().mean() + (y_rec - y).abs().mean()

    def detached(G, x, y):
        return _cycle(G, x, y).detach()

    for fn, hint in [(first_pass_frozen, "both passes of G must stay in the graph"), (detached, "no gradient"),
                     (only_source, "reference's"), (outputs_swapped, "made-up first"), (inputs_swapped, "G\\(y_A, x_B\\)"),
                     (squared, "L1"), (summed, "mean"), (lambda G, x, y: torch.tensor(0.0), "expected")]:
        with pytest.raises(checks.CheckError, match=hint):
            checks.check_cycle_loss(fn)


def _hist(out, ref, m_out, m_ref):
    pixels = out[:, m_out]
    return (pixels - losses.histogram_match(pixels.detach(), ref[:, m_ref])).abs().mean()


def test_region_histogram_checker_accepts_the_reference_and_rejects_mistakes(capsys):
    checks.check_region_histogram_loss(_hist)
    assert "✓" in capsys.readouterr().out

    def mean_colour(out, ref, m_out, m_ref):
        pixels = out[:, m_out]
        return (pixels - ref[:, m_ref].mean(1, keepdim=True)).abs().mean()

    def by_position(out, ref, m_out, m_ref):
        pixels = out[:, m_out]
        return (pixels - ref[:, m_ref][:, : pixels.shape[1]]).abs().mean()

    def summed(out, ref, m_out, m_ref):
        pixels = out[:, m_out]
        return (pixels - losses.histogram_match(pixels.detach(), ref[:, m_ref])).abs().sum()

    def no_gradient(out, ref, m_out, m_ref):
        return _hist(out, ref, m_out, m_ref).detach()

    def whole_reference(out, ref, m_out, m_ref):  # matched to the reference's whole face, not its region
        pixels = out[:, m_out]
        return (pixels - losses.histogram_match(pixels.detach(), ref.flatten(1))).abs().mean()

    for fn, hint in [(mean_colour, "mean"), (by_position, "by rank"), (summed, "do not sum"), (no_gradient, "no gradient"),
                     (whole_reference, "region histogram loss: expected")]:
        with pytest.raises(checks.CheckError, match=hint):
            checks.check_region_histogram_loss(fn)


# --------------------------------------------------------------------------------------------------
# Exercises 3.3 (minibatch std) and 3.4 (R1): right answers pass, plausible wrong ones are named
# --------------------------------------------------------------------------------------------------
import math  # noqa: E402


def mbstd_variant(group="consecutive", unbiased=False, over="group", eps=1e-8, detach=False, append=True, order="std-mean"):
    def fn(x, group_size):
        B, C, H, W = x.shape
        g = math.gcd(B, group_size)
        y = x.reshape(B // g, g, C, H, W) if group == "consecutive" else x.reshape(g, B // g, C, H, W).transpose(0, 1)
        if over == "batch":
            s = (x.var(0, unbiased=unbiased) + eps).sqrt().mean().expand(B)
        elif over == "sample":
            s = x.flatten(1).std(1, unbiased=unbiased)
        elif order == "mean-std":
            s = (y.mean((2, 3, 4)).var(1, unbiased=unbiased) + eps).sqrt().repeat_interleave(g)
        else:
            s = (y.var(1, unbiased=unbiased) + eps).sqrt().mean((1, 2, 3))
            s = s.repeat_interleave(g) if group == "consecutive" else s.repeat(g)
        if detach:
            s = s.detach()
        m = s[:, None, None, None].expand(B, 1, H, W)
        return torch.cat([x, m], 1) if append else m

    return fn


def test_minibatch_std_checker_accepts_right_answers(capsys):
    checks.check_minibatch_std(mbstd_variant())
    def with_std(x, group_size):  # another way to write it: torch.std over each group
        B, g = len(x), math.gcd(len(x), group_size)
        s = x.reshape(B // g, g, -1).std(1, unbiased=False).pow(2).add(1e-8).sqrt().mean(1)
        return torch.cat([x, s.repeat_interleave(g).view(B, 1, 1, 1).expand(B, 1, *x.shape[2:])], 1)

    checks.check_minibatch_std(with_std)
    assert capsys.readouterr().out.count("✓") == 2


@pytest.mark.parametrize("wrong, match", [
    (mbstd_variant(over="batch"), "whole batch"),
    (mbstd_variant(over="sample"), "each sample's own std"),
    (mbstd_variant(unbiased=True), "unbiased"),
    (mbstd_variant(group="strided"), "consecutive samples"),
    (mbstd_variant(order="mean-std"), "std of the averaged features"),
    (mbstd_variant(eps=0.0), "add 1e-8"),
    (mbstd_variant(detach=True), "keep it in the graph"),
    (mbstd_variant(append=False), "one channel appended"),
    (lambda x, g: models.minibatch_std(x, g), "write it yourself"),
    (lambda x, g: models.MinibatchStd(g)(x), "write it yourself"),
])
def test_minibatch_std_checker_rejects_mistakes(wrong, match):
    with pytest.raises(checks.CheckError, match=match):
        checks.check_minibatch_std(wrong)
    torch.testing.assert_close(models.minibatch_std(torch.ones(4, 1, 1, 1), 4)[:, 1], torch.full((4, 1, 1), 1e-4))  # restored


def r1_variant(half=True, square=True, reduce="mean", of="sum", target=0.0, create_graph=True, inplace=False,
               sigmoid=False, backward=False):
    def fn(D, x_real, gamma):
        x = x_real.requires_grad_(True) if inplace else x_real.detach().requires_grad_(True)
        out = torch.sigmoid(D(x)) if sigmoid else D(x)
        (grad,) = torch.autograd.grad(out.sum() if of == "sum" else out.mean(), x, create_graph=create_graph)
        norm2 = grad.pow(2).flatten(1).sum(1)
        per = norm2 if square and target == 0 else (norm2.sqrt() - target).pow(2) if square else norm2.sqrt()
        value = per.mean() if reduce == "mean" else per.sum() if reduce == "sum" else grad.pow(2).mean()
        penalty = (0.5 if half else 1.0) * gamma * value
        if backward:
            penalty.backward(retain_graph=True)
        return penalty

    return fn


def test_r1_checker_accepts_the_right_answer(capsys):
    checks.check_r1_penalty(r1_variant())
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, match", [
    (r1_variant(half=False), "missing the 1/2"),
    (r1_variant(square=False), "not the squared norm"),
    (r1_variant(target=1.0), "WGAN-GP"),
    (r1_variant(reduce="sum"), "summed over the batch"),
    (r1_variant(reduce="pixels"), "averaged over every pixel"),
    (r1_variant(of="mean"), "D\\(x\\).mean\\(\\)"),
    (r1_variant(sigmoid=True), "sigmoid"),
    (r1_variant(create_graph=False), "create_graph=True"),
    (r1_variant(inplace=True), "changed x_real"),
    (r1_variant(backward=True), "left gradients"),
    (lambda D, x, gamma: losses.r1_penalty(D, x, gamma), "write it yourself"),
    (lambda D, x, gamma: torch.tensor(0.5), "should be"),
    (lambda D, x, gamma: 0.5 * gamma, "0-dim tensor"),
])
def test_r1_checker_rejects_mistakes(wrong, match):
    with pytest.raises(checks.CheckError, match=match):
        checks.check_r1_penalty(wrong)
    assert losses.r1_penalty(lambda x: x.sum(1), torch.ones(2, 2), 2.0).item() == pytest.approx(2.0)  # restored


def test_new_checkers_leave_the_global_random_stream_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    checks.check_minibatch_std(mbstd_variant())
    checks.check_r1_penalty(r1_variant())
    torch.testing.assert_close(torch.rand(3), expected)


def test_every_seeding_checker_leaves_the_global_random_stream_alone(capsys):
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    checks.check_dcgan_init(models.dcgan_init)
    checks.check_fixed_g_step(g_step_variant(), small_G, small_D)
    checks.check_film(film)
    checks.check_projection_logits(lambda h, c, psi, embed: psi(h)[:, 0] + (embed(c) * h).sum(1))
    checks.check_cycle_loss(_cycle)
    torch.testing.assert_close(torch.rand(3), expected)


# ---------------------------------------------------------------------------------------------------------
# Every checker: the notebook's random streams are left alone; an error in the student's code is named
# ---------------------------------------------------------------------------------------------------------
def _all_references():
    from test_checks_evaluation import fid_scipy, pr_reference

    from course_lib import metrics

    return {
        "check_cycle_loss": (_cycle,), "check_d_loss_minimax": (losses.d_loss_minimax,), "check_d_step": (d_step_variant(),),
        "check_dcgan_init": (models.dcgan_init,), "check_fid": (fid_scipy,), "check_film": (film,),
        "check_fixed_g_step": (g_step_variant(), small_G, small_D), "check_g_loss_nonsaturating": (losses.g_loss_nonsaturating,),
        "check_fixed_generator": (article_G(),),
        "check_sample_real": (lambda images, n: images[torch.randint(0, len(images), (n,))],),
        "check_g_loss_saturating": (losses.g_loss_saturating,), "check_generator_block": (models.generator_block,),
        "check_gradient_penalty": (losses.gradient_penalty,), "check_minibatch_std": (mbstd_variant(),),
        "check_optimal_d": (metrics.optimal_discriminator,), "check_r1_penalty": (r1_variant(),),
        "check_precision_recall": (pr_reference,),
        "check_projection_logits": (lambda h, c, psi, embed: psi(h)[:, 0] + (embed(c) * h).sum(1),),
        "check_region_histogram_loss": (_hist,),
    }


def test_every_checker_accepts_its_reference_and_leaves_every_random_stream_alone(capsys):
    import random

    import numpy as np

    references = _all_references()
    assert sorted(references) == sorted(n for n in checks.__all__ if n.startswith("check_"))  # none forgotten
    for name, args in references.items():
        torch.manual_seed(5), np.random.seed(5), random.seed(5)
        expected = (torch.rand(3), np.random.rand(3), random.random())
        torch.manual_seed(5), np.random.seed(5), random.seed(5)
        getattr(checks, name)(*args)
        got = (torch.rand(3), np.random.rand(3), random.random())
        torch.testing.assert_close(got[0], expected[0], msg=f"{name} moved torch's random stream")
        assert np.array_equal(got[1], expected[1]), f"{name} moved numpy's random stream"
        assert got[2] == expected[2], f"{name} moved Python's random stream"
    assert capsys.readouterr().out.count("✓") == len(references)


def test_an_error_in_the_students_code_is_a_check_error_naming_the_line():
    def broken_loss(logits_real, logits_fake):
        # a KeyError in the student's own line
        scale = {"real": 1.0}["fake"]
        return scale * logits_real.mean()

    with pytest.raises(checks.CheckError, match=r"g_loss_nonsaturating raised KeyError: 'fake' at line \d+ "
                                                r"of your code \(`scale = \{\"real\": 1.0\}\[\"fake\"\]`\)"):
        checks.check_g_loss_nonsaturating(lambda f: broken_loss(f, f))
    with pytest.raises(checks.CheckError, match=r"cycle_loss: your function raised ValueError: too many values to unpack"):
        checks.check_cycle_loss(lambda G, x, y: _cycle(lambda a, b: (a, b, a), x, y))
