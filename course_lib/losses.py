"""GAN losses as pure functions of the discriminator's logits.

The contract, for every function here: ``logits_real = D(x_real)`` and ``logits_fake = D(G(z))`` are
**logits** (any real number), never probabilities. ``D(x) = sigmoid(logit)`` is the probability that x
is real. Passing probabilities gives wrong values without an error (numbers in [0, 1] are valid logits
too), so the contract is documented rather than guessed at.

Every log-probability goes through ``softplus``, which is exact and finite for any logit:
    -log D(x)     = -log sigmoid(l)     = softplus(-l)
    -log(1 - D(x)) = -log sigmoid(-l)   = softplus(l)
(In float32, ``torch.log(1 - torch.sigmoid(l))`` is already -inf at l = 17, and ``torch.log(torch.sigmoid(l))`` at l = -100.)

Logits may have any shape whose first dimension is the batch, e.g. ``(B,)`` from an MLP or
``(B, 1, H, W)`` from a patch discriminator; a loss averages over every element.
Taught in 01_minimax_game (minimax, saturating, non-saturating) and 02_training_dynamics (the rest).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


# --------------------------------------------------------------------------------------------------
# Input checks: a wrong input should fail here, with its name, not deep inside autograd.
# --------------------------------------------------------------------------------------------------
def _check_logits(x: object, name: str, what: str = "logits (the output of D)") -> Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of {what}, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of {what}, got dtype {x.dtype}")
    if x.dim() == 0 or x.numel() == 0:
        raise ValueError(f"{name} must have a batch dimension and at least one element, got shape {tuple(x.shape)}")
    return x


def _check_pair(logits_real: object, logits_fake: object) -> tuple[Tensor, Tensor]:
    real = _check_logits(logits_real, "logits_real")
    fake = _check_logits(logits_fake, "logits_fake")
    # Batch sizes may differ; the per-sample shape must not: (B,) against (B, 1) means one path lost a squeeze.
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(
            f"logits_real {tuple(real.shape)} and logits_fake {tuple(fake.shape)} must have the same shape "
            "after the batch dimension (both come from the same D)"
        )
    return real, fake


# --------------------------------------------------------------------------------------------------
# The original GAN (Goodfellow et al., 2014)
# --------------------------------------------------------------------------------------------------
def d_loss_minimax(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
    """Return the discriminator's loss -E[log D(x)] - E[log(1 - D(G(z)))] from logits.

    This is -V(D, G): D minimises it to maximise V. It is the sum of the two terms (not halved), and
    equals binary cross-entropy with label 1 on real and 0 on fake samples. Inputs are logits, not
    probabilities. Taught in 01_minimax_game, section 1.
    """
    logits_real, logits_fake = _check_pair(logits_real, logits_fake)
    # -log sigmoid(l) = softplus(-l);  -log(1 - sigmoid(l)) = softplus(l)
    return F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean()


def g_loss_saturating(logits_fake: Tensor) -> Tensor:
    """Return the generator's minimax loss E[log(1 - D(G(z)))] from logits (G minimises it).

    Its gradient with respect to the logit is -D(G(z)), which vanishes when D confidently rejects
    the samples, i.e. early in training: the loss saturates. Inputs are logits, not probabilities.
    Taught in 01_minimax_game, section 5.
    """
    logits_fake = _check_logits(logits_fake, "logits_fake")
    return -F.softplus(logits_fake).mean()  # log(1 - sigmoid(l)) = -softplus(l)


def g_loss_nonsaturating(logits_fake: Tensor) -> Tensor:
    """Return the generator's non-saturating loss -E[log D(G(z))] from logits.

    Same fixed point as the saturating loss, but its gradient with respect to the logit,
    -(1 - D(G(z))), is largest exactly when D rejects the samples. Inputs are logits, not
    probabilities. Taught in 01_minimax_game, section 5.
    """
    logits_fake = _check_logits(logits_fake, "logits_fake")
    return F.softplus(-logits_fake).mean()  # -log sigmoid(l) = softplus(-l)


# --------------------------------------------------------------------------------------------------
# Least squares GAN (Mao et al., 2017), labels a=0 (fake), b=1 (real), c=1 (what G wants)
# --------------------------------------------------------------------------------------------------
def d_loss_lsgan(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
    """Return the LSGAN discriminator loss 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2].

    Here D's raw output (the "logit") is regressed onto the labels; no sigmoid is applied.
    Not in the notebooks by name: 02_training_dynamics, section 5 trains with it as ``loss="lsgan"``.
    """
    logits_real, logits_fake = _check_pair(logits_real, logits_fake)
    return 0.5 * (logits_real - 1).pow(2).mean() + 0.5 * logits_fake.pow(2).mean()


def g_loss_lsgan(logits_fake: Tensor) -> Tensor:
    """Return the LSGAN generator loss 1/2 E[(D(G(z)) - 1)^2] on D's raw outputs.

    Not in the notebooks by name: 02_training_dynamics, section 5 trains with it as ``loss="lsgan"``.
    """
    logits_fake = _check_logits(logits_fake, "logits_fake")
    return 0.5 * (logits_fake - 1).pow(2).mean()


# --------------------------------------------------------------------------------------------------
# Hinge loss (Lim & Ye, 2017; used by SAGAN and BigGAN)
# --------------------------------------------------------------------------------------------------
def d_loss_hinge(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
    """Return the hinge discriminator loss E[relu(1 - D(x))] + E[relu(1 + D(G(z)))] on raw scores.

    D stops pushing a sample once its score is beyond the margin (>= 1 for real, <= -1 for fake).
    Not in the notebooks by name: 02_training_dynamics, section 5 trains with it as ``loss="hinge"``.
    """
    logits_real, logits_fake = _check_pair(logits_real, logits_fake)
    return F.relu(1 - logits_real).mean() + F.relu(1 + logits_fake).mean()


def g_loss_hinge(logits_fake: Tensor) -> Tensor:
    """Return the hinge generator loss -E[D(G(z))] on raw scores.

    Not in the notebooks by name: 02_training_dynamics, section 5 trains with it as ``loss="hinge"``.
    """
    logits_fake = _check_logits(logits_fake, "logits_fake")
    return -logits_fake.mean()


# --------------------------------------------------------------------------------------------------
# Wasserstein GAN (Arjovsky et al., 2017); D is a "critic" whose score is unbounded
# --------------------------------------------------------------------------------------------------
def d_loss_wasserstein(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
    """Return the critic loss E[D(G(z))] - E[D(x)], the negative Wasserstein-1 estimate.

    Only meaningful with a Lipschitz constraint on D (``gradient_penalty`` or spectral norm).
    Not in the notebooks by name: 02_training_dynamics, section 5 trains with it as ``loss="wgan-gp"``.
    """
    logits_real, logits_fake = _check_pair(logits_real, logits_fake)
    return logits_fake.mean() - logits_real.mean()


def g_loss_wasserstein(logits_fake: Tensor) -> Tensor:
    """Return the Wasserstein generator loss -E[D(G(z))] on the critic's scores.

    Not in the notebooks by name: 02_training_dynamics, section 5 trains with it as ``loss="wgan-gp"``.
    """
    logits_fake = _check_logits(logits_fake, "logits_fake")
    return -logits_fake.mean()


def gradient_penalty(
    D: Callable[[Tensor], Tensor],
    x_real: Tensor,
    x_fake: Tensor,
    weight: float = 10.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Return the WGAN-GP penalty weight * E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates.

    x_hat = eps * x_real + (1 - eps) * x_fake with one eps ~ U(0, 1) per sample (Gulrajani et al., 2017).
    The result keeps its graph (create_graph=True), so backward() reaches D's parameters. ``generator``
    makes the interpolation reproducible; ``weight`` is the paper's lambda.
    Taught in 02_training_dynamics, section 3.
    """
    if not callable(D):
        raise TypeError(f"D must be a callable module mapping x to logits, got {type(D).__name__}")
    x_real = _check_logits(x_real, "x_real", "samples")
    x_fake = _check_logits(x_fake, "x_fake", "samples")
    if x_real.shape != x_fake.shape:
        raise ValueError(f"x_real {tuple(x_real.shape)} and x_fake {tuple(x_fake.shape)} must have the same shape")
    if not weight >= 0:
        raise ValueError(f"weight must be >= 0, got {weight}")
    # One eps per sample, broadcast over the remaining dims: (B, 1, ..., 1).
    shape = (x_real.shape[0],) + (1,) * (x_real.dim() - 1)
    eps_device = generator.device if generator is not None else x_real.device
    eps = torch.rand(shape, generator=generator, device=eps_device).to(x_real.device, x_real.dtype)
    x_hat = (eps * x_real.detach() + (1 - eps) * x_fake.detach()).requires_grad_(True)
    logits = D(x_hat)
    # Samples are independent, so d(sum of logits)/d x_hat[i] = d logit_i / d x_hat[i].
    (grad,) = torch.autograd.grad(logits.sum(), x_hat, create_graph=True)
    grad_norm = grad.float().flatten(1).norm(dim=1)  # (B,) one norm per sample
    return weight * (grad_norm - 1).pow(2).mean()


def r1_penalty(D: Callable[[Tensor], Tensor], x_real: Tensor, gamma: float = 1.0,
               logits_real: Tensor | None = None) -> Tensor:
    """Return the R1 penalty (gamma / 2) E_x ||grad_x D(x)||^2 on *real* samples (Mescheder et al. 2018).

    Unlike WGAN-GP it pushes D's gradient towards 0, not 1, and only where the data is: at equilibrium
    (p_g = p_data) D should be flat there, and a D with a steep slope on real images overshoots and makes
    G oscillate around the data instead of converging to it. StyleGAN2 applies it every few D steps
    ("lazy" regularisation, ``TrainConfig.r1_every``). Gradients are taken of D's logit per sample, one
    squared norm per sample, then averaged over the batch. The result keeps its graph (create_graph=True).

    ``logits_real``: D(x_real), already computed by the caller from an ``x_real`` that requires grad; the
    penalty then reuses that forward pass instead of running D again.
    Taught in 03_dcgan_faces, section 4 (exercise 3.4).
    """
    if not callable(D):
        raise TypeError(f"D must be a callable module mapping x to logits, got {type(D).__name__}")
    x_real = _check_logits(x_real, "x_real", "samples")
    if not gamma >= 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    if logits_real is None:
        x_real = x_real.detach().requires_grad_(True)
        logits_real = D(x_real)
    elif not x_real.requires_grad:
        raise ValueError("with logits_real given, x_real must be the tensor (requiring grad) that D was called on")
    # Samples are independent, so d(sum of logits)/d x[i] = d logit_i / d x[i]. (With batch norm in D, as in
    # train.recipes.FAST, it also carries the small path through the batch's statistics.)
    (grad,) = torch.autograd.grad(logits_real.float().sum(), x_real, create_graph=True)
    return 0.5 * gamma * grad.float().pow(2).flatten(1).sum(1).mean()  # (gamma/2) E ||grad||^2


# --------------------------------------------------------------------------------------------------
# Conditional GANs: the auxiliary style regression (04_conditional_gan)
# --------------------------------------------------------------------------------------------------
def style_regression_loss(predicted: Tensor, style: Tensor, weight: Tensor | None = None) -> Tensor:
    """Weighted squared error between predicted and true style vectors ``(B, cond_dim)``:

        L = mean_b  sum_j  w_bj (s_hat_bj - s_bj)^2

    ``weight`` ``(B, cond_dim)`` (or one row for all; None: every entry 1) says how much each entry counts; for
    makeup vectors ``makeup.style_weights(style, lip_weight)`` weighs a colour by its product's opacity, so a
    product that is not worn has no colour to get right. D learns to read the style of *real* faces with it; G
    is then asked for faces on which D reads the requested style (the auxiliary classifier of AC-GAN, Odena et
    al. 2017, as a regression on real data only, as in StarGAN).
    Not in the notebooks by name: ``train.fit`` adds it for a D with ``regress=True`` (04_conditional_gan, section 3).
    """
    if predicted.shape != style.shape or predicted.dim() != 2:
        raise ValueError(f"predicted and style must both be (B, cond_dim), got {tuple(predicted.shape)} and {tuple(style.shape)}")
    error = (predicted.float() - style.float()).pow(2)
    if weight is not None:
        if not isinstance(weight, Tensor) or weight.shape not in (style.shape, style.shape[1:], (1, style.shape[1])):
            raise ValueError(f"weight must be a tensor {tuple(style.shape)} (or one row of {style.shape[1]}) like style, got "
                             f"{tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}")
        error = weight.float() * error
    return error.sum(1).mean()


# --------------------------------------------------------------------------------------------------
# Makeup transfer (05_makeup_transfer): cycle, identity and the region histogram loss of BeautyGAN
# --------------------------------------------------------------------------------------------------
def _check_same(a: object, b: object, names: tuple[str, str]) -> tuple[Tensor, Tensor]:
    for x, name in zip((a, b), names):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 4:
            raise ValueError(f"{name} must be a float tensor (B, C, H, W), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} {tuple(a.shape)} and {names[1]} {tuple(b.shape)} must have the same shape")
    return a, b


def cycle_loss(reconstructed: Tensor, original: Tensor) -> Tensor:
    """L1 cycle-consistency (CycleGAN, Zhu et al. 2017):  L_cyc = E |G(G(x, y), x) - x|_1.

    In BeautyGAN, G(x, y) puts y's makeup on x and takes it off y; running G again on those outputs must
    give back the inputs, so G cannot invent a new face while it moves the makeup. Averaged over pixels.
    Not in the notebooks: the library's transfer loops train with it.
    """
    reconstructed, original = _check_same(reconstructed, original, ("reconstructed", "original"))
    return (reconstructed - original).abs().mean()


def histogram_match(values: Tensor, reference: Tensor) -> Tensor:
    """Map each channel of ``values`` (C, N) onto the distribution of ``reference`` (C, M), by rank.

    The pixel with rank r among N takes the reference's quantile r / (N - 1): sort, index, scatter back.
    This is scikit-image's ``match_histograms`` for masked pixels, vectorised over channels, in torch.
    Taught in 05_makeup_transfer, section 2.
    """
    if values.dim() != 2 or reference.dim() != 2 or values.shape[0] != reference.shape[0]:
        raise ValueError(f"values (C, N) and reference (C, M) must share C, got {tuple(values.shape)} and {tuple(reference.shape)}")
    if values.shape[1] == 0 or reference.shape[1] == 0:
        raise ValueError("values and reference need at least one pixel each")
    n, m = values.shape[1], reference.shape[1]
    order = values.argsort(dim=1)  # (C, N): the pixel of each rank
    ref_sorted = reference.sort(dim=1).values  # (C, M)
    pos = torch.linspace(0, m - 1, n, device=values.device).round().long()  # rank r -> reference index
    matched = torch.empty_like(values)
    matched.scatter_(1, order, ref_sorted[:, pos])
    return matched


def dice_loss(pred: Tensor, target: Tensor, eps: float = 1.0) -> Tensor:
    """Soft Dice loss per image and channel, averaged (Milletari et al. 2016, V-Net):

        1 - (2 sum p t + eps) / (sum p^2 + sum t^2 + eps)

    It scores a mask by its *overlap* with the truth, so a region covering 0.7 % of the image (the lips at
    64 px) counts as much as a large one; a per-pixel loss would be nearly satisfied by predicting nothing
    there. The squares matter for *soft* masks (the eyeshadow zone fades from 1 at the lash line): since
    2 p t <= p^2 + t^2, the loss is 0 exactly at p = t. With ``sum p + sum t`` below instead, a soft target
    is better matched by a mask pushed towards 1 (for t = 0.5 everywhere: p = 1 scores 0.33, p = t 0.5),
    which made the try-on generator paint eyeshadow too strongly, most of all on medium and deep skin.
    ``pred`` and ``target``: (B, C, H, W) in [0, 1].
    Taught in 05_makeup_transfer, section 4.
    """
    pred, target = _check_same(pred, target, ("pred", "target"))
    inter = (pred * target).sum((2, 3))
    return (1 - (2 * inter + eps) / ((pred * pred).sum((2, 3)) + (target * target).sum((2, 3)) + eps)).mean()


# The regions and weights of the histogram loss: lips and the eyeshadow zone carry the makeup; the cheeks
# (blush) get a small weight because their mask also covers bare skin, whose *tone* must not be transferred.
HISTOGRAM_REGIONS = {"lips": 1.0, "eyeshadow": 1.0, "cheeks": 0.1}


def region_histogram_loss(output: Tensor, reference: Tensor, output_masks: dict, reference_masks: dict,
                          weights: dict[str, float] | None = None, threshold: float = 0.5,
                          per_image: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor] | None = None) -> Tensor:
    """BeautyGAN's makeup loss: per region, L1 between the output and its histogram-matched version.

        L_hist = sum_r  w_r  E_b | M_r^b (x_out^b - HM(x_out^b[M_r], y_ref^b[M'_r])) |_1

    HM re-colours the output's region pixels so their per-channel histogram equals the reference's same
    region; the target is detached, so the gradient pulls the output's colours towards the reference's
    while each pixel keeps its rank (its shading). ``output_masks`` / ``reference_masks``: region ->
    (B, 1, H, W) masks (used for the loss at training time only). Images where a region has fewer than
    4 pixels are skipped. Python loops run over the batch and regions, never over pixels. ``per_image(out, ref,
    m_out, m_ref)`` (one image (C, H, W), boolean masks (H, W); 05_makeup_transfer's exercise) replaces the
    per-image term, the mean absolute difference to the matched pixels.
    Taught in 05_makeup_transfer, section 3.
    """
    output, reference = _check_same(output, reference, ("output", "reference"))
    weights = HISTOGRAM_REGIONS if weights is None else weights
    total = output.new_zeros(())
    b, c = output.shape[:2]
    for region, w in weights.items():
        if region not in output_masks or region not in reference_masks:
            raise ValueError(f"region {region!r} needs a mask in both output_masks and reference_masks")
        m_out = output_masks[region].reshape(b, -1) > threshold  # (B, H*W)
        m_ref = reference_masks[region].reshape(b, -1) > threshold
        flat_out, flat_ref = output.reshape(b, c, -1), reference.reshape(b, c, -1)
        for i in range(b):
            if m_out[i].sum() < 4 or m_ref[i].sum() < 4:
                continue
            if per_image is not None:
                term = per_image(output[i], reference[i], m_out[i].reshape(output.shape[-2:]), m_ref[i].reshape(output.shape[-2:]))
                total = total + w * term / b
                continue
            pixels = flat_out[i][:, m_out[i]]  # (C, N)
            target = histogram_match(pixels.detach(), flat_ref[i][:, m_ref[i]].detach())
            total = total + w * (pixels - target).abs().sum() / (b * c * m_out[i].sum())
    return total
