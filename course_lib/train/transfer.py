"""Training the makeup transfer networks of 05_makeup_transfer on SynthFaces.

- ``train_tryon``: the shade-conditioned try-on generator, pix2pix-style on (source, style) -> target pairs:
  L = lambda_L1 |G(x, s) - t|_1,w + lambda_mask (BCE + Dice)(masks(x), true masks) + LSGAN(D(x, G(x, s), s)),
  the L1 weighted 10x on made-up pixels (w) and the true masks used at training time only.
- ``train_style_encoder``: reference -> style vector, judged by the makeup it paints:
  L = style_regression_loss(E(y), s, w(s)) + lambda_L1 / 2 |C(x, M_x, E(y)) - C(x, M_x, s)|_1,
  w(s) = makeup.style_weights(s), C = makeup.composite (the renderer's layer model) with the source's true masks.
- ``train_reference``: BeautyGAN-style, *unpaired* (the ground truth is never shown):
  L_G = LSGAN(D_B(x_B)) + LSGAN(D_A(y_A)) + lambda_cyc (|G(y_A, x_B)_2 - x| + |G(y_A, x_B)_1 - y|)
        + lambda_id |G(x, x)_1 - x| + lambda_hist L_hist(x_B, y),  where (x_B, y_A) = G(x, y).
- ``train_layered``: the unpaired, layered model's region parser on the masks of both faces (a face parser, as
  BeautyGAN uses for its losses): L = (BCE + Dice)(P(x), M_x) + (BCE + Dice)(P(y), M_y); its style read-out
  needs no training (``makeup.fit_style``).
Each loop checkpoints every ``checkpoint_every`` steps into ``run_dir`` and resumes from there (raising ``steps``
extends a finished run); the batch of step k is always the same (``data.transfer_triplets(start=k * batch)``), so
a resumed run continues exactly.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from course_lib import data, losses, makeup
from course_lib.colour import srgb_to_lab
from course_lib.train.run import Run, cosine_decay, own_random_stream
from course_lib.models.transfer import (
    MASK_REGIONS, PARSE_REGIONS, LayeredTransfer, PatchDiscriminator, ReferenceTransferGenerator, StyleEncoder, TryOnGenerator,
)


@dataclass
class TransferConfig:
    """Settings of one transfer training run. Taught in 05_makeup_transfer, section 3."""

    steps: int = 3000
    batch_size: int = 16
    lr_G: float = 2e-4  # pix2pix / BeautyGAN; the try-on generator trains at 1e-3 (its masks: lips IoU 0.75
    # after 250 steps, against 0.56 at 2e-4; measured with tools/train_checkpoints.py's settings)
    lr_D: float = 2e-4
    beta1: float = 0.5  # pix2pix / BeautyGAN: Adam(0.5, 0.999)
    l1_weight: float = 100.0  # pix2pix's lambda: the paired L1 dominates, the adversarial term sharpens
    mask_weight: float = 10.0  # try-on: the true masks as an auxiliary target (training time only)
    cycle_weight: float = 10.0  # BeautyGAN
    identity_weight: float = 5.0  # G(x, x) must leave a bare face bare
    hist_weight: float = 30.0  # our histogram loss averages in [-1, 1] units; BeautyGAN sums in 0..255
    lr_decay: bool = False  # train_tryon: warm-up over 5 % of the steps, then a cosine to 0 on both networks' rates
    # (train_style_encoder always decays so; the unpaired loops keep a constant rate)
    width: int = 16
    size: int = 64
    seed: int = 0
    checkpoint_every: int = 250
    log_every: int = 25

    @classmethod
    def fast(cls, **changes: Any) -> "TransferConfig":
        """A tiny run for CI and fast mode."""
        return cls(**{"steps": 10, "batch_size": 8, "checkpoint_every": 0, "log_every": 5, **changes})

    def as_dict(self) -> dict:
        return asdict(self)


def _tile(style: torch.Tensor, size: int) -> torch.Tensor:
    return style[:, :, None, None].expand(-1, -1, size, size)


def _mask_loss(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """BCE + Dice between predicted mask probabilities and true masks, both (B, R, H, W) in [0, 1]."""
    return F.binary_cross_entropy(pred.clamp(1e-6, 1 - 1e-6), true) + losses.dice_loss(pred, true)


def _adam(module: nn.Module, lr: float, cfg: TransferConfig) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(cfg.beta1, 0.999))


def _warmup_cosine(opt: torch.optim.Optimizer, cfg: TransferConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """The rate warms up over the first 5 % of ``cfg.steps``, then follows a cosine to 0 (``train.run.cosine_decay``)."""
    return cosine_decay(opt, cfg.steps, warmup=max(1, cfg.steps // 20))


def _loop(name: str, cfg: TransferConfig, nets: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer],
          step_fn: Callable[[int, dict], dict[str, float]], run_dir: str | Path | None,
          callback: Callable[[Run], None] | None, state: dict | None = None) -> dict[str, list[float]]:
    """Run ``step_fn(step, batch)`` on the triplets of each step for ``cfg.steps`` steps, in a ``train.run.Run``
    (checkpoints, resume, the NaN/inf guard, a history row and the callback every ``cfg.log_every`` steps).
    ``state``: more ``name -> (get, set)`` pairs a resumed run must carry over (a learning-rate schedule)."""
    run = Run(name, cfg.steps, nets=nets, optimizers=optimizers, config=cfg.as_dict(), run_dir=run_dir,
              state=state or {}, log_every=cfg.log_every, checkpoint_every=cfg.checkpoint_every,
              callbacks=[callback] if callback else (), same_config=True)
    run.resume()
    for net in nets.values():
        net.train()
    for step in run:
        batch = data.transfer_triplets(cfg.batch_size, size=cfg.size, seed=cfg.seed, start=step * cfg.batch_size)
        stats = step_fn(step, batch)
        run.end_step(stats, lambda: {**stats, "img_per_s": cfg.batch_size * (run.step - run.start) / run.seconds})
    run.finish()
    for net in nets.values():
        net.eval()
    return run.history


@own_random_stream
def train_tryon(cfg: TransferConfig, run_dir=None, callback=None) -> tuple[TryOnGenerator, dict]:
    """Train the shade-conditioned try-on generator (pix2pix-style, paired); return (G in eval mode, history).

    ``cfg.lr_decay``: both rates warm up over the first 5 % of the steps, then follow a cosine to 0
    (``train.run.cosine_decay``); the shipped generator trains so (its lips' error on light skin, where a mask's
    edge costs the most colour, fell from 1.09 to 0.87 dE2000 on 500 held-out triplets).
    Taught in 05_makeup_transfer, section 4.
    """
    torch.manual_seed(cfg.seed)
    G = TryOnGenerator(width=cfg.width, size=cfg.size)
    D = PatchDiscriminator(in_ch=3 + 3 + len(makeup.VECTOR_FIELDS))  # D sees (source, output, style): a conditional PatchGAN
    opt_G, opt_D = _adam(G, cfg.lr_G, cfg), _adam(D, cfg.lr_D, cfg)
    scheds = [_warmup_cosine(opt, cfg) for opt in (opt_G, opt_D)] if cfg.lr_decay else []

    def step_fn(step: int, b: dict) -> dict[str, float]:
        x, t, s = b["source"], b["target"], b["style"]
        true_masks = torch.cat([b["masks"][k] for k in MASK_REGIONS], 1)
        out, masks = G(x, s, return_masks=True)
        cond = _tile(s, cfg.size)
        d_loss = losses.d_loss_lsgan(D(torch.cat([x, t, cond], 1)), D(torch.cat([x, out.detach(), cond], 1)))
        opt_D.zero_grad(set_to_none=True), d_loss.backward(), opt_D.step()
        adv = losses.g_loss_lsgan(D(torch.cat([x, out, cond], 1)))
        # The lips cover ~0.7 % of a 64 px face: a plain pixel average would let G ignore them. The L1 counts
        # made-up pixels 10x, and the masks get a Dice term, which scores each region by its overlap.
        weight = 1 + 10 * true_masks.amax(1, keepdim=True)
        l1 = ((out - t).abs() * weight).mean() / weight.mean()
        mask_loss = _mask_loss(torch.cat(list(masks.values()), 1), true_masks)
        g_loss = adv + cfg.l1_weight * l1 + cfg.mask_weight * mask_loss
        opt_G.zero_grad(set_to_none=True), g_loss.backward(), opt_G.step()
        for sched in scheds:
            sched.step()
        return {"d_loss": d_loss.item(), "adv": adv.item(), "l1": l1.item(), "mask_bce": mask_loss.item()}

    state = {f"sched_{k}": (sched.state_dict, sched.load_state_dict) for k, sched in zip("GD", scheds)}
    history = _loop("try-on", cfg, {"G": G, "D": D}, {"opt_G": opt_G, "opt_D": opt_D}, step_fn, run_dir, callback, state=state)
    return G, history


@own_random_stream
def train_style_encoder(cfg: TransferConfig, run_dir=None, callback=None) -> tuple[StyleEncoder, dict]:
    """Train reference -> style vector; return (E in eval mode, history).

    Two terms: the style vector itself (``losses.style_regression_loss``, a colour weighted by its opacity), and
    what the predicted style paints: the source made up with it by the layer model (``makeup.composite``, the
    renderer's own, with the source's true masks) against the source made up with the true style, as the mean
    absolute difference in CIE Lab / 100 (``colour.srgb_to_lab``). The second counts each error by what it does
    to the face as a person sees it: an opacity that is slightly off on a colour close to the skin costs little,
    a wrong lipstick hue at full opacity costs a lot, and (in Lab, not in sRGB numbers) a change of colour
    counts more than a step in lightness of the same size, as dE2000 counts it. After 2,000 steps on 300 held-out
    triplets, Lab read lips / eyeshadow / cheeks 2.58 / 3.04 / 1.22 dE2000 against 2.89 / 3.41 / 1.46 for sRGB,
    better on every skin-tone group (deep skin 2.62 / 4.23 / 1.69 against 2.89 / 4.69 / 2.10; both with
    ``l1_weight`` 400, scored with the shipped generator on data seed 97).
    The rate warms up over the first 5% of the steps, then follows a cosine to 0 (``train.run.cosine_decay``).
    Not in the notebooks: the training loops' machinery (05_makeup_transfer, section 4, explains this loss).
    """
    torch.manual_seed(cfg.seed)
    E = StyleEncoder(width=cfg.width, size=cfg.size)
    opt = _adam(E, cfg.lr_G, cfg)
    sched = _warmup_cosine(opt, cfg)

    def step_fn(step: int, b: dict) -> dict[str, float]:
        pred = E(b["reference"])
        reg = losses.style_regression_loss(pred, b["style"], makeup.style_weights(b["style"]))
        source01 = (b["source"] + 1) / 2
        painted, truth = (srgb_to_lab(makeup.composite(source01, b["masks"], s)) for s in (pred, b["style"]))
        paint = (painted - truth).abs().mean() / 100
        loss = reg + cfg.l1_weight * 0.5 * paint
        opt.zero_grad(set_to_none=True), loss.backward(), opt.step(), sched.step()
        return {"style_mse": reg.item(), "paint_l1": paint.item()}

    history = _loop("style encoder", cfg, {"E": E}, {"opt": opt}, step_fn, run_dir, callback,
                    state={"sched": (sched.state_dict, sched.load_state_dict)})
    return E, history


@own_random_stream
def train_reference(cfg: TransferConfig, run_dir=None, callback=None, cycle_fn: Callable | None = None,
                    hist_fn: Callable | None = None) -> tuple[ReferenceTransferGenerator, dict]:
    """Train the BeautyGAN-style generator *unpaired*: the target of each triplet is never used.

    ``cycle_fn(G, x, y)`` and ``hist_fn(out, ref, m_out, m_ref)`` (one image) replace the library's cycle and
    region histogram losses: 05_makeup_transfer trains its demo with the ones you write.
    Taught in 05_makeup_transfer, section 3.
    """
    torch.manual_seed(cfg.seed)
    G = ReferenceTransferGenerator(width=cfg.width, size=cfg.size)
    D_A, D_B = PatchDiscriminator(3), PatchDiscriminator(3)  # A: bare faces, B: made-up faces
    opt_G, opt_D = _adam(G, cfg.lr_G, cfg), torch.optim.Adam([*D_A.parameters(), *D_B.parameters()], lr=cfg.lr_D, betas=(cfg.beta1, 0.999))

    def step_fn(step: int, b: dict) -> dict[str, float]:
        x, y = b["source"], b["reference"]  # x bare (domain A), y made up (domain B), different people
        x_B, y_A = G(x, y)
        d_loss = (losses.d_loss_lsgan(D_B(y), D_B(x_B.detach())) + losses.d_loss_lsgan(D_A(x), D_A(y_A.detach())))
        opt_D.zero_grad(set_to_none=True), d_loss.backward(), opt_D.step()
        adv = losses.g_loss_lsgan(D_B(x_B)) + losses.g_loss_lsgan(D_A(y_A))
        if cycle_fn is None:
            y_rec, x_rec = G(y_A, x_B)  # put x_B's makeup back on y_A, take it off x_B
            cyc = losses.cycle_loss(x_rec, x) + losses.cycle_loss(y_rec, y)
        else:
            cyc = cycle_fn(G, x, y)
        ident = (G(x, x)[0] - x).abs().mean()  # a bare reference has no makeup to give
        hist = losses.region_histogram_loss(x_B, y, b["masks"], b["reference_masks"], per_image=hist_fn)
        g_loss = adv + cfg.cycle_weight * cyc + cfg.identity_weight * ident + cfg.hist_weight * hist
        opt_G.zero_grad(set_to_none=True), g_loss.backward(), opt_G.step()
        return {"d_loss": d_loss.item(), "adv": adv.item(), "cycle": cyc.item(), "identity": ident.item(), "hist": hist.item()}

    history = _loop("reference GAN", cfg, {"G": G, "D_A": D_A, "D_B": D_B}, {"opt_G": opt_G, "opt_D": opt_D},
                    step_fn, run_dir, callback)
    return G, history


@own_random_stream
def train_layered(cfg: TransferConfig, run_dir=None, callback=None) -> tuple[LayeredTransfer, dict]:
    """Train the unpaired, layered transfer model (its region parser); return (model in eval mode, history).

    Only the sources, the references and the parser masks of both are used: never a target, never a style. After
    the parser, the natural lip tint is measured on bare sources (``makeup.lip_tint``) and kept in the model.
    Taught in 05_makeup_transfer, section 3.
    """
    torch.manual_seed(cfg.seed)
    model = LayeredTransfer(width=cfg.width, size=cfg.size)
    opt = _adam(model.parser, cfg.lr_G, cfg)

    def step_fn(step: int, b: dict) -> dict[str, float]:
        faces = torch.cat([b["source"], b["reference"]])  # bare and made-up faces alike
        true = torch.cat([torch.cat([b[key][k] for k in PARSE_REGIONS], 1) for key in ("masks", "reference_masks")])
        loss = _mask_loss(torch.sigmoid(model.parser(faces)), true)
        opt.zero_grad(set_to_none=True), loss.backward(), opt.step()
        return {"mask_loss": loss.item()}

    history = _loop("layered transfer", cfg, {"model": model}, {"opt": opt}, step_fn, run_dir, callback)
    # The natural lip tint, measured on the bare sources the parser trained on (16 batches at most)
    n = min(cfg.steps, 16) * cfg.batch_size
    bare = data.transfer_triplets(n, size=cfg.size, seed=cfg.seed)
    model.lip_tint.copy_(makeup.lip_tint(bare["source"], bare["masks"]))
    return model, history
