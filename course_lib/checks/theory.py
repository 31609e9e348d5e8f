"""Checkers for 01_minimax_game and 02_training_dynamics: losses of logits, D*, the gradient penalty, a D step."""
from __future__ import annotations

import copy
import math
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from course_lib import losses, metrics, models, train
from course_lib.checks.common import CheckError, close_enough, passed, your_line

Tensor = torch.Tensor
sp = F.softplus


# --------------------------------------------------------------------------------------------------
# Loss functions of logits (01_minimax_game)
# --------------------------------------------------------------------------------------------------
def _logit_cases(arity: int) -> list[tuple[str, tuple[Tensor, ...]]]:
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(6, generator=g) * 2 + 0.5, torch.randn(6, generator=g) * 2 - 0.5
    # +-50: 1 - sigmoid(50) is 0 in float32; -120: sigmoid(-120) underflows too. softplus is exact at both.
    extreme_real = torch.tensor([50.0, -50.0, 0.0, 20.0, -120.0])
    extreme_fake = torch.tensor([-50.0, 50.0, 3.0, -20.0, -120.0])
    uneven = torch.randn(5, generator=g)  # a fake batch of another size
    if arity == 1:
        return [("logits_fake = randn(6) * 2 - 0.5", (fake,)), ("logits_fake = [-50, 50, 3, -20, -120]", (extreme_fake,))]
    return [
        ("ordinary logits, batches of 6", (real, fake)),
        ("a real batch of 6 and a fake batch of 5", (real, uneven)),
        ("extreme logits [50, -50, 0, 20, -120] / [-50, 50, 3, -20, -120]", (extreme_real, extreme_fake)),
    ]


_SIGMOID_TWICE = ("it matches the reference evaluated on sigmoid(logits): the sigmoid was applied twice. "
                  "The inputs are already logits; pass them straight to softplus or BCE-with-logits.")
_SUM = "it matches the *sum* over the batch: average with .mean() so the loss does not grow with the batch size."


def _check_logit_gradients(name: str, out: Tensor, inputs: list[Tensor], reference: Callable[..., Tensor],
                            args: tuple[Tensor, ...], label: str) -> None:
    """The value is right; the gradient must be too (a detached term has the right value and no gradient)."""
    grads = torch.autograd.grad(out.reshape(()), inputs, allow_unused=True)
    ref_inputs = [t.double().requires_grad_(True) for t in args]
    ref_grads = torch.autograd.grad(reference(*ref_inputs), ref_inputs)
    which = ["logits_real", "logits_fake"] if len(inputs) == 2 else ["logits_fake"]
    for arg, got, want in zip(which, grads, ref_grads):
        if got is None or not got.abs().sum() > 0:
            raise CheckError(f"{name} has the right value for {label} but no gradient reaches {arg}: the term with "
                             f"{arg} is detached (.detach(), .item(), torch.no_grad() or a numpy detour), so training "
                             f"would ignore it.")
        if not close_enough(got, want, rtol=1e-3, atol=1e-6):
            raise CheckError(f"{name} has the right value for {label} but the wrong gradient with respect to {arg}; "
                             f"build the loss from {arg} with torch operations only.")


def _check_logit_loss(name: str, fn: Callable[..., Tensor], reference: Callable[..., Tensor],
                      mistakes: dict[str, Callable[..., Tensor]], arity: int) -> None:
    cases = _logit_cases(arity)
    mistakes = {**mistakes, _SIGMOID_TWICE: lambda *a: reference(*(torch.sigmoid(t) for t in a))}
    for label, args in cases:
        inputs = [t.clone().requires_grad_(True) for t in args]
        try:
            out = fn(*inputs)
        except Exception as err:
            raise CheckError(f"{name} raised {type(err).__name__}: {err}{your_line(err.__traceback__)} (input: {label}). Remember the inputs are "
                             "logits, any real number, not probabilities.") from err
        if not isinstance(out, torch.Tensor):
            raise CheckError(f"{name} returned a {type(out).__name__}; return a torch tensor built with torch "
                             "operations, so autograd can differentiate it.")
        if out.dim() > 0 and out.numel() > 1:
            raise CheckError(f"{name} returned shape {tuple(out.shape)}, one value per sample; a loss is one number: "
                             "take the .mean() over the batch.")
        if not out.requires_grad:
            raise CheckError(f"{name}'s result is not connected to the logits (no gradient): avoid .item(), "
                             ".detach(), numpy or math functions inside the loss.")
        expected = reference(*(t.double() for t in args))
        got = out.detach().double().reshape(())
        if close_enough(got, expected):
            _check_logit_gradients(name, out, inputs, reference, args, label)
            continue
        if not torch.isfinite(got):
            fix = "use F.softplus (-log sigmoid(x) = softplus(-x)) or F.binary_cross_entropy_with_logits"
            if "extreme" in label or "50" in label:
                hint = "log(sigmoid(x)) underflows to log(0) = -inf for large |x|; " + fix
            else:
                hint = ("the inputs are logits, not probabilities: log of a negative logit is NaN. Turn logits "
                        "into log-probabilities stably: " + fix)
            raise CheckError(f"{name} gave {got.item()} for {label}: {hint}.")
        for message, mistake in mistakes.items():
            if close_enough(got, mistake(*(t.double() for t in args))):
                raise CheckError(f"{name} differs from the reference for {label}: {message}")
        if "extreme" in label or "50" in label:
            raise CheckError(f"{name} is right on ordinary logits but gives {got.item():.4f} instead of "
                             f"{expected.item():.4f} at logits of +-50. An epsilon inside a log, or clamping, "
                             "caps the loss; softplus is exact for any logit.")
        raise CheckError(f"{name} gives {got.item():.6f} for {label}, the reference gives {expected.item():.6f}. "
                         "Check the formula term by term against the markdown above.")
    passed(name, f"{len(cases)} inputs, including logits of +-50 and -120")


def check_d_loss_minimax(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(logits_real, logits_fake)`` = -E[log D(x)] - E[log(1 - D(G(z)))]. Taught in 01_minimax_game, section 1."""
    _check_logit_loss("d_loss_minimax", fn, losses.d_loss_minimax, {
        "the sign is flipped: D *minimises* -V(D, G), a positive number.": lambda r, f: -(sp(-r).mean() + sp(f).mean()),
        "it is half the reference: the loss is the sum of the two expectations, not their average.":
            lambda r, f: (sp(-r).mean() + sp(f).mean()) / 2,
        "real and fake are swapped: real samples should get label 1, fake samples label 0.":
            lambda r, f: sp(-f).mean() + sp(r).mean(),
        _SUM: lambda r, f: sp(-r).sum() + sp(f).sum(),
        "only the real term is there: add -E[log(1 - D(G(z)))].": lambda r, f: sp(-r).mean(),
        "only the fake term is there: add -E[log D(x)].": lambda r, f: sp(f).mean(),
        "the fake term has the wrong sign: both terms are negative log-probabilities, so both are added.":
            lambda r, f: sp(-r).mean() - sp(f).mean(),
    }, arity=2)


def check_g_loss_saturating(fn: Callable[[Tensor], Tensor]) -> None:
    """Check ``fn(logits_fake)`` = E[log(1 - D(G(z)))]. Taught in 01_minimax_game, section 5."""
    _check_logit_loss("g_loss_saturating", fn, losses.g_loss_saturating, {
        "the sign is flipped: the saturating loss is E[log(1 - D(G(z)))] itself (a negative number) and G minimises it.":
            lambda f: sp(f).mean(),
        "this is the non-saturating loss -E[log D(G(z))]; here we want the minimax one, E[log(1 - D(G(z)))].":
            lambda f: sp(-f).mean(),
        "this is E[log D(G(z))]: the saturating loss uses 1 - D(G(z)).": lambda f: -sp(-f).mean(),
        _SUM: lambda f: -sp(f).sum(),
    }, arity=1)


def check_g_loss_nonsaturating(fn: Callable[[Tensor], Tensor]) -> None:
    """Check ``fn(logits_fake)`` = -E[log D(G(z))]. Taught in 01_minimax_game, section 5."""
    _check_logit_loss("g_loss_nonsaturating", fn, losses.g_loss_nonsaturating, {
        "the sign is flipped: G minimises -E[log D(G(z))], a positive number.": lambda f: -sp(-f).mean(),
        "this is the saturating loss E[log(1 - D(G(z)))], not -E[log D(G(z))].": lambda f: -sp(f).mean(),
        "this is -E[log(1 - D(G(z)))]: minimising it pushes D(G(z)) towards 0, the opposite of what G wants.":
            lambda f: sp(f).mean(),
        _SUM: lambda f: sp(-f).sum(),
    }, arity=1)


# --------------------------------------------------------------------------------------------------
# The optimal discriminator on a grid (01_minimax_game)
# --------------------------------------------------------------------------------------------------
def check_optimal_d(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(p_data, p_g)`` = p_data / (p_data + p_g) on a grid. Taught in 01_minimax_game, section 2."""
    x = torch.linspace(-4, 4, 81, dtype=torch.float64)
    p, q = torch.exp(-(x + 1) ** 2), 0.5 * torch.exp(-((x - 1) ** 2) / 2)
    q_gap = torch.where(x > 2, torch.zeros_like(q), q)  # p_g = 0 somewhere: D* must be exactly 1 there
    mistakes = {
        "it is 1 - D*: p_g belongs in the denominator only; D* is large where the *data* is dense.": lambda p, q: q / (p + q),
        "divide by p_data + p_g, not by p_g alone (D* must be a probability in [0, 1]).": lambda p, q: p / q,
        "this is log(p_data / p_g), the *logit* of D*; return the probability p_data / (p_data + p_g).":
            lambda p, q: torch.log(p / q),
        "use the densities directly, without a sigmoid.": lambda p, q: torch.sigmoid(p) / (torch.sigmoid(p) + torch.sigmoid(q)),
    }
    for label, (pd, pg) in {"two Gaussians": (p, q), "p_g = 0 for x > 2": (p, q_gap)}.items():
        try:
            out = torch.as_tensor(fn(pd.float(), pg.float()), dtype=torch.float64)
        except Exception as err:
            raise CheckError(f"optimal_d raised {type(err).__name__}: {err} (input: {label})") from err
        if out.shape != pd.shape:
            raise CheckError(f"optimal_d returned shape {tuple(out.shape)}; it must have the grid's shape {tuple(pd.shape)}, "
                             "one value of D* per grid point (elementwise operations only, no sum or mean).")
        expected = metrics.optimal_discriminator(pd, pg)
        if close_enough(out, expected, rtol=1e-4, atol=1e-6):
            continue
        for message, mistake in mistakes.items():
            with torch.no_grad():
                wrong = mistake(pd, pg)
            keep = torch.isfinite(wrong)
            if keep.any() and close_enough(out[keep], wrong[keep], rtol=1e-4, atol=1e-6):
                raise CheckError(f"optimal_d on {label}: {message}")
        bad = (out - expected).abs().nan_to_num(math.inf).argmax()
        raise CheckError(f"optimal_d on {label}: at x = {x[bad]:.2f} you return {out[bad].item():.5f}, D* is "
                         f"{expected[bad].item():.5f} (p_data = {pd[bad]:.4g}, p_g = {pg[bad]:.4g}).")
    passed("optimal_d", "two grids, one where p_g vanishes")


# --------------------------------------------------------------------------------------------------
# The gradient penalty (02_training_dynamics)
# --------------------------------------------------------------------------------------------------
class _HalfSquaredNorm(nn.Module):
    """D(x) = ||x||^2 / 2, whose gradient is x itself: ||grad|| = ||x_hat||."""

    def forward(self, x: Tensor) -> Tensor:
        return 0.5 * x.pow(2).sum(dim=1)


class _Spread(nn.Module):
    """D(x) = ||x - mean_i(x_i)||^2 / 2 over a sample's coordinates: zero gradient wherever all coordinates are equal."""

    def forward(self, x: Tensor) -> Tensor:
        return 0.5 * (x - x.mean(dim=1, keepdim=True)).pow(2).sum(dim=1)


def check_gradient_penalty(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(D, x_real, x_fake, weight=10.0)`` against WGAN-GP's penalty. Taught in 02_training_dynamics, section 3."""
    name = "gradient_penalty"
    with torch.random.fork_rng():  # the checker must not move the notebook's random stream
        torch.manual_seed(0)
        # 1) A linear D(x) = w.x + b has the same gradient w everywhere: the penalty is weight * (||w|| - 1)^2.
        D = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
        with torch.no_grad():
            D[0].weight.copy_(torch.tensor([[1.8, 2.4]]))  # ||w|| = 3
        x_real, x_fake, B, weight = torch.randn(16, 2), torch.randn(16, 2), 16, 10.0
        try:
            out = fn(D, x_real, x_fake, weight=weight)
        except TypeError as err:
            raise CheckError(f"{name}(D, x_real, x_fake, weight=10.0) raised TypeError: {err}. "
                             "Give your function a `weight` argument (default 10.0).") from err
        if not isinstance(out, torch.Tensor) or out.numel() != 1:
            raise CheckError(f"{name} must return a one-element tensor, got {getattr(out, 'shape', type(out).__name__)}: "
                             "average over the batch.")
        got = float(out.detach())
        mistakes = {
            "penalise (||grad|| - 1)^2, not ||grad||^2: the target norm is 1.": weight * 9,
            "use the gradient's norm, not its squared norm, inside (. - 1)^2.": weight * (9 - 1) ** 2,
            "take one norm per sample (grad.flatten(1).norm(dim=1)), not the norm of the whole batch's gradient.":
                weight * (math.sqrt(B) * 3 - 1) ** 2,
            "multiply by `weight`.": 4.0,
            "square the difference: (||grad|| - 1)^2, not |...|.": weight * 2,
            "the sign is flipped: the penalty is added to D's loss, so it is positive.": -weight * 4,
        }
        if not math.isclose(got, weight * 4, rel_tol=1e-4):
            for message, value in mistakes.items():
                if math.isclose(got, value, rel_tol=1e-4):
                    raise CheckError(f"{name} on a linear D with ||w|| = 3: {message}")
            raise CheckError(f"{name} on a linear D with ||w|| = 3 gives {got:.4f}; expected weight * (3 - 1)^2 = {weight * 4}.")
        # 2) The penalty must train D: its gradient with respect to w is weight * 2 (||w|| - 1) w / ||w||.
        if not out.requires_grad:
            raise CheckError(f"{name}'s result has no graph back to D's weights: call torch.autograd.grad(..., "
                             "create_graph=True) so that backward() on the penalty updates D.")
        D.zero_grad()
        out.backward()
        w = D[0].weight.detach()
        expected_grad = weight * 2 * (w.norm() - 1) * w / w.norm()
        if D[0].weight.grad is None or not torch.allclose(D[0].weight.grad, expected_grad, rtol=1e-3, atol=1e-4):
            raise CheckError(f"{name}: backward() on the penalty does not give D's weights the right gradient; "
                             "compute the input gradient with create_graph=True and keep it attached.")
        # 3) Where is the gradient taken? With D(x) = ||x||^2 / 2, ||grad|| = ||x_hat||. Real points of norm 1 and fake
        #    points of norm 3 along one direction give ||x_hat|| = 3 - 2 eps, so E[(||x_hat|| - 1)^2] = 4 E[(1 - eps)^2] = 4/3.
        u = F.normalize(torch.randn(4096, 2), dim=1)
        values = [float(torch.as_tensor(fn(_HalfSquaredNorm(), u, 3 * u, weight=1.0)).detach()) for _ in range(3)]
        # 4) One eps per sample keeps x_hat on the segment from x_real to x_fake. Samples whose coordinates are all
        #    equal (a * 1 and b * 1) give interpolates with equal coordinates, where D(x) = ||x - mean(x)||^2 / 2 has
        #    zero gradient: the penalty is exactly weight * (0 - 1)^2. An eps per *element* leaves the segment.
        ones = torch.ones(64, 8)
        spread = float(torch.as_tensor(fn(_Spread(), -2 * ones * torch.rand(64, 1), 3 * ones * torch.rand(64, 1) + 1,
                                          weight=1.0)).detach())
    where = {
        0.0: "it is 0: you took the gradient at x_real only; use interpolates eps * x_real + (1 - eps) * x_fake.",
        4.0: "it is 4: you took the gradient at x_fake only; use interpolates eps * x_real + (1 - eps) * x_fake.",
        1.0: "it is 1: eps seems fixed at 0.5; draw eps ~ U(0, 1) with torch.rand, one per sample.",
        8.0: "it is about 8: eps looks normal (randn); draw it uniform in [0, 1] with torch.rand.",
    }
    for value in values:
        if abs(value - 4 / 3) > 0.1:
            for target, message in where.items():
                if abs(value - target) < 0.15:
                    raise CheckError(f"{name} with D(x) = ||x||^2/2 should average 4/3 over interpolates; {message}")
            spread = max(values) - min(values)
            hint = ("draw one eps per sample, shape (B, 1); a single eps for the whole batch makes the result jump "
                    "between calls" if spread > 0.2 else "check how you build the interpolates")
            raise CheckError(f"{name} with D(x) = ||x||^2/2 gave {', '.join(f'{v:.3f}' for v in values)} on three calls; "
                             f"the expected value is 4/3 = 1.333: {hint}.")
    if not math.isclose(spread, 1.0, rel_tol=1e-4):
        raise CheckError(f"{name}: the interpolates leave the line from x_real to x_fake (a test built for it gives "
                         f"{spread:.4f}, not 1). Draw one eps per sample, shaped (B, 1, ..., 1) so it broadcasts over "
                         f"the sample's features, not one per element (torch.rand_like(x_real)).")
    passed(name, "linear D with known gradient, gradient reaches D, random per-sample interpolates")


# --------------------------------------------------------------------------------------------------
# One discriminator step (02_training_dynamics)
# --------------------------------------------------------------------------------------------------
def check_d_step(fn: Callable[..., dict[str, Any]]) -> None:
    """Check ``fn(G, D, opt_D, x_real, z) -> dict`` does one minimax D update and reports ``d_loss``, ``d_real``, ``d_fake``.

    Taught in 02_training_dynamics, section 3."""
    name, lr = "d_step", 0.1
    with torch.random.fork_rng():
        torch.manual_seed(0)
        G, D = models.mlp_generator(2, 2, hidden=16, depth=1), models.mlp_discriminator(2, hidden=16, depth=1)
        x_real, z = torch.randn(32, 2) * 2, torch.randn(32, 2)
    for p in D.parameters():  # stale gradients, as a generator step would leave them
        p.grad = torch.full_like(p, 0.5)
    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    start = [p.detach().clone() for p in D.parameters()]
    G_start = [p.detach().clone() for p in G.parameters()]
    # What the reference gradient is, to recognise the usual mistakes by their parameters.
    logits_ref = {"d_real": D_ref(x_real), "d_fake": D_ref(G_ref(z).detach())}
    loss_ref = losses.d_loss_minimax(logits_ref["d_real"], logits_ref["d_fake"])
    mean_logit = {key: float(value.detach().mean()) for key, value in logits_ref.items()}
    grads = torch.autograd.grad(loss_ref, list(D_ref.parameters()))
    stats_ref = train.d_step(G_ref, D_ref, torch.optim.SGD(D_ref.parameters(), lr=lr), x_real, z, loss="nonsaturating")
    try:
        stats = fn(G, D, torch.optim.SGD(D.parameters(), lr=lr), x_real, z)
    except Exception as err:
        raise CheckError(f"{name} raised {type(err).__name__}: {err}") from err
    if not isinstance(stats, dict) or "d_loss" not in stats:
        raise CheckError(f"{name} must return a dict with at least 'd_loss', got {type(stats).__name__}.")
    if not isinstance(stats["d_loss"], (float, int)):
        raise CheckError(f"{name}'s 'd_loss' is a {type(stats['d_loss']).__name__}; store a Python float "
                         "(loss.item()) so a history of many steps holds numbers, not graphs.")
    after = [p.detach() for p in D.parameters()]
    if any(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters()):
        raise CheckError(f"{name}: gradients reached G. Make x_fake under torch.no_grad() (or .detach() it): "
                         "D's step must not spend time on, or leave gradients in, G.")
    if any(not torch.equal(a, b) for a, b in zip(G.parameters(), G_start)):
        raise CheckError(f"{name}: G's weights changed; D's step updates D only.")
    if all(torch.equal(a, b) for a, b in zip(after, start)):
        raise CheckError(f"{name}: D's weights did not change: call opt_D.step() after loss.backward().")
    if all(torch.allclose(a, s - lr * (g + 0.5), atol=1e-6) for a, s, g in zip(after, start, grads)):
        raise CheckError(f"{name}: call opt_D.zero_grad() before backward(); the generator step's leftover "
                         "gradients were added to this one.")
    if all(torch.allclose(a, s + lr * g, atol=1e-6) for a, s, g in zip(after, start, grads)):
        raise CheckError(f"{name}: D moved uphill. Minimise d_loss_minimax (it is already -V(D, G)); do not negate it.")
    if not math.isclose(stats["d_loss"], stats_ref["d_loss"], rel_tol=1e-4, abs_tol=1e-6):
        raise CheckError(f"{name} reports d_loss = {stats['d_loss']:.5f}; the minimax D loss on this batch is "
                         f"{stats_ref['d_loss']:.5f} (before the update). Use losses.d_loss_minimax(D(x_real), D(x_fake)).")
    worst = max(float((a - b.detach()).abs().max()) for a, b in zip(after, D_ref.parameters()))
    if worst > 1e-5:
        raise CheckError(f"{name}: D's weights after the step differ from the reference by up to {worst:.2e}. "
                         "One step is: x_fake = G(z) without grad; loss on D(x_real) and D(x_fake); zero_grad; backward; step.")
    for key in ("d_real", "d_fake"):
        if key not in stats:
            raise CheckError(f"{name} must also return '{key}' (the training curves plot it): the batch mean of D's "
                             f"verdict on the {'real' if key == 'd_real' else 'fake'} batch, as a probability.")
        value = stats[key]
        if not isinstance(value, (float, int)) or not math.isclose(value, stats_ref[key], rel_tol=1e-4, abs_tol=1e-5):
            shown = f"{value:.4f}" if isinstance(value, (float, int)) else f"a {type(value).__name__}"
            hint = (" That is the mean logit: apply the sigmoid first." if isinstance(value, (float, int)) and
                    math.isclose(value, mean_logit[key], rel_tol=1e-4, abs_tol=1e-5) else "")
            raise CheckError(f"{name} reports {key} = {shown}; D's mean verdict on that batch, as a probability "
                             f"(before the update), is {stats_ref[key]:.4f}.{hint}")
    passed(name, "same update as the reference, G untouched, stale gradients cleared, D's verdicts reported")
