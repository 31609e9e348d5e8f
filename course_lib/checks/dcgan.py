"""Checkers for 03_dcgan_faces: the generator block, DCGAN weight init, and the fixes to the seed article's GAN."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from course_lib.checks.common import fail, confirm


# --------------------------------------------------------------------------------------------------
# 03_dcgan_faces
# --------------------------------------------------------------------------------------------------
def check_generator_block(fn: Callable[[int, int], nn.Module]) -> None:
    """Exercise 3.1: ``generator_block(in_ch, out_ch)`` = ConvTranspose2d(4, stride 2, padding 1, no bias) -> BatchNorm2d -> ReLU.

    Taught in 03_dcgan_faces, section 2.
    """
    block = fn(8, 4)
    if not isinstance(block, nn.Module):
        fail(f"generator_block must return an nn.Module (e.g. nn.Sequential), got {type(block).__name__}")
    layers = [m for m in block.modules() if not isinstance(m, nn.Sequential)]
    kinds = [type(m).__name__ for m in layers]
    convs = [m for m in layers if isinstance(m, nn.ConvTranspose2d)]
    if len(convs) != 1:
        fail(f"expected exactly one ConvTranspose2d, found layers {kinds}")
    conv = convs[0]
    if (conv.in_channels, conv.out_channels) != (8, 4):
        fail(f"generator_block(8, 4) must map 8 channels to 4, your ConvTranspose2d maps {conv.in_channels} -> {conv.out_channels}")
    if conv.kernel_size != (4, 4) or conv.stride != (2, 2) or conv.padding != (1, 1):
        fail(f"use kernel 4, stride 2, padding 1 (so H_out = 2 H_in); you have kernel {conv.kernel_size}, "
              f"stride {conv.stride}, padding {conv.padding}")
    if conv.bias is not None:
        fail("the transposed convolution needs bias=False: batch norm subtracts the mean right after, cancelling any bias")
    if not any(isinstance(m, nn.BatchNorm2d) and m.num_features == 4 for m in layers):
        fail(f"add nn.BatchNorm2d(out_ch) after the convolution; your layers: {kinds}")
    order = [k for k in kinds if k in ("ConvTranspose2d", "BatchNorm2d", "ReLU")]
    if order != ["ConvTranspose2d", "BatchNorm2d", "ReLU"]:
        fail(f"the order must be ConvTranspose2d -> BatchNorm2d -> ReLU (ReLU, not LeakyReLU, in G); yours: {kinds}")
    y = block(torch.randn(2, 8, 5, 5))
    if tuple(y.shape) != (2, 4, 10, 10):
        fail(f"a (2, 8, 5, 5) input must give (2, 4, 10, 10), got {tuple(y.shape)}")
    confirm("generator_block doubles the resolution: ConvTranspose2d(4, 2, 1, bias=False) -> BatchNorm2d -> ReLU.")


def check_dcgan_init(fn: Callable[[nn.Module], None]) -> None:
    """Exercise 3.2: conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), biases 0.

    Taught in 03_dcgan_faces, section 2.
    """
    torch.manual_seed(0)  # checkers run guarded (checks.guarded): the notebook's stream is restored
    # both layers have a fan-in of 256 (for ConvTranspose2d torch computes it from out_channels), so PyTorch's
    # default init gives them a std of 0.036, well outside the accepted band: an untouched layer cannot pass
    net = nn.Sequential(nn.Conv2d(16, 64, 4), nn.BatchNorm2d(64), nn.ConvTranspose2d(64, 16, 4, bias=False), nn.BatchNorm2d(16))
    net.apply(fn)
    for name, layer in (("Conv2d", net[0]), ("ConvTranspose2d", net[2])):
        w = layer.weight.detach()
        if abs(w.mean().item()) > 0.003 or not 0.017 < w.std().item() < 0.023:
            fail(f"{name} weights should be N(0, 0.02): mean {w.mean().item():.4f}, std {w.std().item():.4f} "
                  f"(use nn.init.normal_(m.weight, 0.0, 0.02); 0.02 is the standard deviation, not the variance)")
        if layer.bias is not None and layer.bias.detach().abs().max() > 0:
            fail(f"{name} biases should be zero (nn.init.zeros_(m.bias))")
    for bn in (net[1], net[3]):
        w = bn.weight.detach()
        if abs(w.mean().item() - 1) > 0.01 or not 0.01 < w.std().item() < 0.03:
            fail(f"BatchNorm2d scales should be N(1, 0.02): mean {w.mean().item():.4f}, std {w.std().item():.4f} "
                  "(a scale of 0 would switch the layer off)")
        if bn.bias.detach().abs().max() > 0:
            fail("BatchNorm2d biases (shifts) should be zero")
    confirm("dcgan_init matches the DCGAN initialisation (the paper's N(0, 0.02) weights; BN scales N(1, 0.02) as in pytorch/examples).")


def _reference_g_step(G: nn.Module, D: nn.Module, opt_G: torch.optim.Optimizer, batch_size: int) -> float:
    """The solution of exercise 3.5: -log D(G(z)) through a frozen D."""
    D.requires_grad_(False)
    logits_fake = D(G(torch.randn(batch_size, 100)))
    loss = nn.functional.binary_cross_entropy_with_logits(logits_fake, torch.ones_like(logits_fake))
    opt_G.zero_grad()
    loss.backward()
    opt_G.step()
    D.requires_grad_(True)
    return loss.item()


def _wrong_first_losses(make_G: Callable, make_D: Callable) -> dict[str, float]:
    """The first batch's loss under the usual wrong choices, to name the mistake."""
    torch.manual_seed(0)
    G, D = make_G(), make_D()
    z = torch.randn(32, 100, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        logits = D(G(z))
    sp = nn.functional.softplus
    return {
        "that is the least-squares (LSGAN) loss; this exercise asks for the non-saturating -log D(G(z))":
            float(((logits - 1) ** 2).mean()),
        "that is the least-squares loss on probabilities; use -log D(G(z)) (BCE with logits against ones)":
            float(((torch.sigmoid(logits) - 1) ** 2).mean()),
        "that is the saturating loss log(1 - D(G(z))); G should minimise -log D(G(z))": float(-sp(logits).mean()),
        "the targets are zeros: G wants D to call its fakes *real* (ones)": float(sp(logits).mean()),
        "the sigmoid is applied twice: D returns logits, which binary_cross_entropy_with_logits expects as they are":
            float(sp(-torch.sigmoid(logits)).mean()),
        "the loss is summed over the batch; average it (the default reduction)": float(sp(-logits).sum()),
    }


def _train_g(step: Callable, make_G: Callable, make_D: Callable, probe: torch.Tensor, steps: int = 30):
    """Run ``steps`` generator updates against a fixed, freshly made D; report D(G(probe)) before and after."""
    torch.manual_seed(0)
    G, D = make_G(), make_D()
    opt_G = torch.optim.Adam(G.parameters(), lr=5e-3)
    with torch.no_grad():
        start = torch.sigmoid(D(G(probe))).mean().item()
    torch.manual_seed(1)  # the same noise stream for the student's step and the reference
    values, leaked = [], False
    D_before = [p.detach().clone() for p in D.parameters()]
    for _ in range(steps):
        values.append(step(G, D, opt_G, 32))
        leaked = leaked or any(p.grad is not None and p.grad.abs().sum() > 0 for p in D.parameters())
    with torch.no_grad():
        end = torch.sigmoid(D(G(probe))).mean().item()
    moved = any(not torch.equal(a, b) for a, b in zip(D_before, D.parameters()))
    return start, end, values, leaked, moved, D


class _FixedNoise(nn.Module):
    """G with its noise fixed: ``forward(z)`` uses only z's batch size, so a step's result does not depend on
    how (or from which stream) the step draws its noise, and can be compared with the reference exactly."""

    def __init__(self, G: nn.Module, z: torch.Tensor):
        super().__init__()
        self.G = G
        self.register_buffer("z", z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.G(self.z[: z.shape[0]])


def _exact_steps(step: Callable, make_G: Callable, make_D: Callable, steps: int = 3):
    """``steps`` updates of G (SGD) with fixed noise; return the losses and G's weights after each update."""
    torch.manual_seed(0)
    G, D = make_G(), make_D()
    G = _FixedNoise(G, torch.randn(32, 100, generator=torch.Generator().manual_seed(5)))
    opt_G = torch.optim.SGD(G.parameters(), lr=0.05)
    values, weights = [], []
    for _ in range(steps):
        values.append(step(G, D, opt_G, 32))
        weights.append([p.detach().clone() for p in G.parameters()])
    return values, weights


def check_fixed_generator(make_G: Callable[[], nn.Module]) -> None:
    """Exercise 3.5, bug 1: ``make_G()`` builds a generator mapping z of shape (B, 100) to images (B, 3, 64, 64) in [-1, 1].

    The article's dense stack ends in 1,024 units and then reshapes to 64 x 64 x 3 = 12,288 values. Checked:
    it runs, the shape is channels-first, the output is bounded by [-1, 1] even for huge z (a tanh, not a
    sigmoid or nothing), and different z give different images.
    Taught in 03_dcgan_faces, section 9.
    """
    G = make_G()
    if not isinstance(G, nn.Module):
        fail(f"fixed_generator() must return an nn.Module (e.g. nn.Sequential), got {type(G).__name__}")
    z = torch.randn(4, 100, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            out = G(z)
    except RuntimeError as err:
        fail(f"G(z) for z of shape (4, 100) failed: {str(err).splitlines()[0][:160]}. The layer before the reshape "
              "must produce exactly as many values as the image holds: count them")
    if not isinstance(out, torch.Tensor):
        fail(f"G(z) must return a tensor, got {type(out).__name__}")
    shape = tuple(out.shape)
    if shape == (4, 64, 64, 3):
        fail("G(z) has shape (4, 64, 64, 3): that is Keras' channels-last layout; PyTorch images are (B, 3, H, W)")
    if shape != (4, 3, 64, 64):
        fail(f"G(z) for 4 noise vectors must have shape (4, 3, 64, 64), got {shape}")
    if (out[0] - out[1]).abs().max() < 1e-4:
        fail("G gives (nearly) the same image for different z: the output must depend on the noise")
    with torch.no_grad():
        big = G(z * 50)  # far outside the prior: only a bounded last activation keeps it in range
    if not torch.isfinite(big).all():
        fail("G(50 z) is not finite: the output must be bounded by a squashing activation")
    if big.min() >= 0 and big.max() <= 1:
        fail("G's output stays in [0, 1] (a sigmoid?): the data is scaled to [-1, 1], so end with tanh")
    if big.abs().max() > 1 + 1e-6:
        fail(f"for large z, G's output reaches {big.abs().max():.1f}: end with tanh, so images stay in [-1, 1] like the data")
    confirm("the generator runs: (B, 100) -> (B, 3, 64, 64), in [-1, 1], and depends on z.")


def check_sample_real(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """Exercise 3.5, bug 2: ``sample_real(train_images, n)`` returns n training images picked uniformly at random.

    The article calls ``np.random.choice`` on an image array (it needs a 1-D array). Checked on 20 images, each
    filled with its own index: the result is a tensor of n unchanged images, from all 20 (the last one included),
    and not the same pick on every call.
    Taught in 03_dcgan_faces, section 9.
    """
    images = torch.arange(20, dtype=torch.float32)[:, None, None, None].expand(20, 3, 4, 4).clone()
    original = images.clone()
    torch.manual_seed(0)  # the guard restores the caller's stream afterwards
    out = fn(images, 7)
    if not isinstance(out, torch.Tensor):
        fail(f"sample_real must return a tensor of images, got {type(out).__name__}")
    if out.dim() == 1:
        fail(f"sample_real returned shape {tuple(out.shape)}: those look like indices; index train_images with them "
              "and return the images")
    if tuple(out.shape) != (7, 3, 4, 4):
        fail(f"sample_real(images of shape (20, 3, 4, 4), 7) must have shape (7, 3, 4, 4), got {tuple(out.shape)}")
    if not torch.equal(images, original):
        fail("sample_real changed train_images: sampling must only read them")
    one = fn(images, 1)
    if not isinstance(one, torch.Tensor) or tuple(one.shape) != (1, 3, 4, 4):
        fail(f"sample_real(images, 1) must keep the batch axis: shape (1, 3, 4, 4), got "
              f"{tuple(one.shape) if isinstance(one, torch.Tensor) else type(one).__name__}")
    picks = []
    for _ in range(200):
        batch = fn(images, 7)
        ids = batch[:, 0, 0, 0]
        if not torch.equal(batch, ids.round()[:, None, None, None].expand_as(batch)) or not torch.equal(ids, ids.round()):
            fail("each sample must be one of the training images, unchanged (no mixing, scaling or noise)")
        picks.append(ids.long())
    picks = torch.stack(picks)  # (200, 7)
    if all(torch.equal(p, picks[0]) for p in picks):
        fail(f"every call returned the same images (indices {picks[0].tolist()}): draw random indices on each call")
    counts = torch.bincount(picks.flatten(), minlength=20)
    if counts[7:].sum() == 0:
        fail("only the first n images are ever picked: draw indices from all len(train_images) images")
    if counts[-1] == 0:
        fail("the last image is never picked: the upper bound of torch.randint (and np.random.randint) is exclusive")
    if (counts == 0).any():
        fail(f"images {torch.nonzero(counts == 0).flatten().tolist()} were never picked in 1,400 draws: every image "
              "must be equally likely")
    expected = picks.numel() / 20
    if (counts.float() - expected).abs().max() > 0.5 * expected:
        fail(f"some images are picked far more often than others (counts from {counts.min()} to {counts.max()}, "
              f"expected about {expected:.0f} each): pick every image with the same probability")
    confirm("sample_real picks n unchanged training images, uniformly, and differently each call.")


def check_fixed_g_step(step: Callable, make_G: Callable[[], nn.Module], make_D: Callable[[], nn.Module]) -> None:
    """Exercise 3.5, bugs 3 and 4: one non-saturating generator update through a frozen D.

    First three updates with G's noise fixed, compared with the reference exactly: the loss value (the
    non-saturating loss, not LSGAN or the saturating one) and G's weights after each update (which a missing
    ``zero_grad`` changes from the second update on). Then 30 updates against a fixed random D, beside the
    reference step: D(G(z)) must rise at least half as much, D must receive no gradients and keep its weights,
    and D must be trainable again afterwards.
    Taught in 03_dcgan_faces, section 9.
    """
    values, weights = _exact_steps(step, make_G, make_D)
    ref_values, ref_weights = _exact_steps(_reference_g_step, make_G, make_D)
    if not all(isinstance(v, float) for v in values):
        fail(f"return the loss as a float (loss.item()), got {type(values[0]).__name__}")
    if not math.isclose(values[0], ref_values[0], rel_tol=1e-4, abs_tol=1e-6):
        wrong = _wrong_first_losses(make_G, make_D)
        for message, value in wrong.items():
            if math.isclose(values[0], value, rel_tol=1e-4, abs_tol=1e-6):
                fail(f"the first update's loss is {values[0]:.4f}, the reference's {ref_values[0]:.4f}: {message}")
        fail(f"the first update's loss is {values[0]:.4f}, the non-saturating loss -log D(G(z)) on that batch is "
              f"{ref_values[0]:.4f}: use binary_cross_entropy_with_logits(D(G(z)), ones), averaged over the batch")
    close = [all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(mine, ref)) for mine, ref in zip(weights, ref_weights)]
    if close[0] and not all(close):
        fail("the first update matches the reference but later ones do not: call opt_G.zero_grad() before "
              "backward(), or each step adds the previous steps' gradients to its own")
    if not close[0]:
        fail("after one update G's weights differ from the reference's: one step is zero_grad, the loss on "
              "D(G(z)) with ones as targets, backward, opt_G.step()")
    probe = torch.randn(64, 100, generator=torch.Generator().manual_seed(1))
    start, end, values, leaked, moved, D = _train_g(step, make_G, make_D, probe)
    _, ref_end, *_ = _train_g(_reference_g_step, make_G, make_D, probe)
    if not all(isinstance(v, float) for v in values):
        fail(f"return the loss as a float (loss.item()), got {type(values[0]).__name__}")
    if leaked:
        fail("D's parameters received gradients during G's step: freeze D first (D.requires_grad_(False)), "
              "and unfreeze it after, or the next D step starts from G's gradients")
    if moved:
        fail("D's weights changed during the generator steps: only opt_G may step, and D must be frozen")
    if not all(p.requires_grad for p in D.parameters()):
        fail("D is still frozen after your step: set D.requires_grad_(True) again before returning")
    if end - start < 0.5 * (ref_end - start):
        fail(f"after 30 steps D(G(z)) went from {start:.3f} to {end:.3f} (the reference reaches {ref_end:.3f}): "
              "G should make D call its fakes real. Check the target (ones: the non-saturating loss -log D(G(z))), "
              "that the loss reaches G (no .detach() on G(z)) and that you step opt_G")
    if min(values) < 0:
        fail("the non-saturating loss -log D(G(z)) is never negative: did you apply a sigmoid twice or flip a sign?")
    confirm(f"the fixed generator step trains G (D(G(z)) {start:.2f} -> {end:.2f}) and leaves D untouched.")
