"""The training loop: ``fit`` alternates ``d_step`` and ``g_step`` and adds what long runs need.

- mixed precision chosen per device (``device.autocast``; a GradScaler per network for fp16),
  ``channels_last`` memory format, optional ``torch.compile`` (opt-in: it pays off on GPUs);
- an exponential moving average of G's weights (``G_ema``), which gives smoother samples;
- a progress bar, callbacks (e.g. ``viz.LivePlot``) and a history of every step's numbers;
- checkpoints every N steps, written atomically, and ``resume`` that continues the same run:
  same step, optimisers, EMA, noise generator and data position;
- a NaN/inf guard that stops with the step and the loss named, keeping the last good checkpoint, and checks
  every parameter and buffer before each checkpoint and at the end (nothing non-finite is saved or returned);
- several processes under ``torchrun`` (DistributedDataParallel; ``distributed.py``).
Taught in 03_dcgan_faces, section 3.
"""
from __future__ import annotations

import copy
import math
import numbers
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

from course_lib import checkpoints, device as dev, losses, makeup, validate
from course_lib.train import augment, distributed
from course_lib.train.run import Run, TrainingDiverged, check_finite_stats, check_finite_weights  # noqa: F401 (re-exported)
from course_lib.train.steps import d_step, g_step, get_loss

Tensor = torch.Tensor
HISTORY_KEYS = ("step", "d_loss", "g_loss", "d_real", "d_fake", "gp", "r1", "img_per_s")


@dataclass
class TrainConfig:
    """Settings of one GAN training run; every field says why it has its value. Taught in 03_dcgan_faces, section 3."""

    steps: int = 2000  # generator updates
    batch_size: int = 64  # real images per discriminator step (per process under torchrun)
    z_dim: int = 100  # DCGAN's noise size
    lr_G: float = 2e-4  # DCGAN paper: Adam 2e-4 ...
    lr_D: float = 2e-4
    beta1: float = 0.5  # ... with beta1 = 0.5 (0.9 makes GAN training oscillate)
    beta2: float = 0.999  # Adam's second-moment decay; StyleGAN2 uses betas (0, 0.99): no momentum to overshoot with
    r1_gamma: float = 0.0  # R1 penalty weight on real data (Mescheder et al. 2018; losses.r1_penalty); 0 = off
    r1_every: int = 1  # lazy R1 (StyleGAN2, Karras et al. 2020): penalise every k-th D step, weighted by k
    loss: str = "nonsaturating"  # a key of train.LOSSES
    n_critic: int = 1  # discriminator steps per generator step (5 for WGAN-GP)
    g_steps: int = 1  # generator updates per step, each on fresh noise (more G updates, no more real images seen)
    augment: str = ""  # DiffAugment policy for everything D sees, e.g. "color,translation,cutout" (Zhao et al. 2020): small data sets
    amp: bool = True  # mixed precision where the device computes it natively (bf16 CPU, CUDA)
    channels_last: bool = True  # NHWC memory layout: faster convolutions on CPUs and tensor cores
    compile: bool = False  # torch.compile: opt-in, worth it on GPUs (slow first step, no gain on this CPU)
    ema: float = 0.999  # decay of the moving average of G's weights (0 turns it off)
    style_weight: float = 3.0  # conditional GANs whose D has a style regressor (regress=True): its loss weight
    lip_weight: float = 1.0  # ... and the lipstick colour's extra weight inside it (makeup.style_weights)
    checkpoint_every: int = 500  # steps between checkpoints of a run (0: only at the end)
    log_every: int = 10  # steps between history entries
    seed: int = 0  # seeds the model init (by the caller), the noise and the data order

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every field's type and range; raise TypeError / ValueError naming the field and what it expects.

        Runs when the config is made and again when ``fit`` starts (a field may have been changed since).
        Integers must be ints (a float step count is refused, not truncated); rates and weights must be finite.
        """
        counts = {"steps": 1, "batch_size": 1, "z_dim": 1, "n_critic": 1, "g_steps": 1, "r1_every": 1, "log_every": 1,
                  "checkpoint_every": 0, "seed": 0}  # field -> smallest allowed value
        for name, low in counts.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"TrainConfig.{name} must be an int >= {low}, got {value!r} ({type(value).__name__})")
            if value < low:
                raise ValueError(f"TrainConfig.{name} must be an int >= {low}, got {value}")
        reals = {"lr_G": (0.0, math.inf, False), "lr_D": (0.0, math.inf, False),  # field -> (low, high, low allowed)
                 "beta1": (0.0, 1.0, True), "beta2": (0.0, 1.0, True), "ema": (0.0, 1.0, True),
                 "r1_gamma": (0.0, math.inf, True), "style_weight": (0.0, math.inf, True),
                 "lip_weight": (0.0, math.inf, True)}
        for name, (low, high, closed) in reals.items():
            value = getattr(self, name)
            interval = f"{'[' if closed else '('}{low:g}, {high:g})"
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"TrainConfig.{name} must be a number in {interval}, got {value!r} ({type(value).__name__})")
            if not math.isfinite(value) or not (low <= value < high) or (value == low and not closed):
                raise ValueError(f"TrainConfig.{name} must be a finite number in {interval}, got {value}")
        for name in ("amp", "channels_last", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"TrainConfig.{name} must be True or False, got {getattr(self, name)!r}")
        get_loss(self.loss)  # KeyError naming the valid losses
        augment.parse_policy(self.augment)  # ValueError naming the valid transforms

    @classmethod
    def fast(cls, **changes: Any) -> "TrainConfig":
        """A tiny run for CI (``COURSE_FAST=1``): few steps, small batches."""
        return cls(**{"steps": 20, "batch_size": 16, "checkpoint_every": 0, "log_every": 5, **changes})

    def as_dict(self) -> dict:
        return asdict(self)


class EMA:
    """An exponential moving average of a model's weights: ``w_ema <- d w_ema + (1 - d) w``.

    The decay ramps up from 0 ((1 + t) / (10 + t)), so early averages are not dominated by the random
    init. Buffers (batch-norm statistics) are copied, not averaged.
    Not in the notebooks: the training loops' machinery.
    """

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema decay must lie in [0, 1), got {decay}")
        self.decay, self.updates = decay, 0
        self.model = copy.deepcopy(distributed.unwrap(model)).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        src = distributed.unwrap(model)
        for p_ema, p in zip(self.model.parameters(), src.parameters()):
            p_ema.lerp_(p.detach(), 1 - d)
        for b_ema, b in zip(self.model.buffers(), src.buffers()):
            b_ema.copy_(b)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])


class Conditioned(nn.Module):
    """``G(z, cond)`` or ``D(x, cond)`` seen as a one-argument module, so d_step/g_step serve conditional GANs.

    Its parameters are the wrapped module's, so freezing, gradient norms and syncing all see the real network.
    With ``keep_styles`` (a D with a style regressor) each call also keeps D's style read-out of its input,
    which ``style_of(x)`` returns for exactly that input tensor.
    Not in the notebooks: the training loops' machinery.
    """

    def __init__(self, module: nn.Module, cond: Tensor, keep_styles: bool = False):
        super().__init__()
        self.module, self.cond, self.keep_styles = module, cond, keep_styles
        self._read: list[tuple[Tensor, Tensor]] = []  # (input, D's style read-out of it), one per call

    def forward(self, x: Tensor) -> Tensor:
        if not self.keep_styles:
            return self.module(x, self.cond)
        logits, styles = self.module(x, self.cond, return_style=True)
        self._read.append((x, styles))
        return logits

    def style_of(self, x: Tensor) -> Tensor:
        """The style ``(B, cond_dim)`` D read off the batch ``x`` (the same tensor object) at its first call on it."""
        for seen, styles in self._read:
            if seen is x:
                return styles
        raise RuntimeError("this D has not been called on that batch (or was built without keep_styles=True)")


def _as_batches(data: Callable[[int], Any] | Iterable[Any], conditional: bool) -> Callable[[int], tuple[Tensor, Tensor | None]]:
    """Turn data into ``batch(step) -> (x_real, cond or None)``.

    A callable is used as is (and resumes exactly); an iterable (a DataLoader) is cycled. Items are images,
    or (images, cond) pairs for a conditional G (an unconditional G ignores anything after the images).
    """
    state: dict[str, Any] = {"it": None}

    def draw(step: int) -> Any:
        if callable(data):
            return data(step)
        try:
            return next(state["it"])
        except (StopIteration, TypeError):  # first call, or another epoch
            state["it"] = iter(data)
            return next(state["it"])

    def batch(step: int) -> tuple[Tensor, Tensor | None]:
        item = draw(step)
        if isinstance(item, (list, tuple)):
            return item[0], (item[1] if conditional else None)
        if conditional:
            raise ValueError("a conditional generator (it has cond_dim) needs batches of (images, cond) pairs, "
                             "e.g. data.face_batches(..., with_style=True)")
        return item, None

    return batch


def fit(G: nn.Module, D: nn.Module, data: Callable[[int], Tensor] | Iterable[Tensor], cfg: TrainConfig, *,
        device: torch.device | str | None = None, run_dir: str | Path | None = None, resume: bool = True,
        callbacks: Sequence[Callable[[Run], None]] = (), callback_every: int = 100, progress: bool = True,
        r1_penalty: Callable[[nn.Module, Tensor, float], Tensor] | None = None) -> Run:
    """Train ``G`` against ``D`` for ``cfg.steps`` generator updates; return a ``Run`` with the history.

    ``data`` is ``batch(step) -> (B, 3, H, W)`` in [-1, 1] (exactly resumable; see ``data.face_batches``)
    or any iterable of batches (a DataLoader); for a conditional G (one with ``cond_dim``) each batch is an
    ``(images, cond)`` pair and the fakes of a step are generated for that batch's conditions. With ``run_dir``, a checkpoint ``last.pt`` is written every
    ``cfg.checkpoint_every`` steps and at the end, and ``resume=True`` continues from it.
    Callbacks get the Run every ``callback_every`` steps and at the end. ``r1_penalty(D, x_real, gamma)``
    replaces ``losses.r1_penalty`` when ``cfg.r1_gamma`` > 0 (notebook 03 trains with the one you write).
    Taught in 03_dcgan_faces, section 3.
    """
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"cfg must be a train.TrainConfig, got {type(cfg).__name__}")
    cfg.validate()  # fields changed after the config was made are checked too, before any work
    # ---- (0) set up: device, memory layout, optimisers, EMA, noise, precision, the run that carries them -------
    device = dev.get_device(device)
    rank, world = distributed.rank_and_world()
    memory = torch.channels_last if cfg.channels_last and device.type != "mps" else torch.contiguous_format
    G, D = G.to(device, memory_format=memory), D.to(device, memory_format=memory)
    opt_G = torch.optim.Adam(G.parameters(), lr=cfg.lr_G, betas=(cfg.beta1, cfg.beta2))
    opt_D = torch.optim.Adam(D.parameters(), lr=cfg.lr_D, betas=(cfg.beta1, cfg.beta2))
    ema = EMA(G, cfg.ema) if cfg.ema > 0 else None
    z_gen = torch.Generator(device="cpu").manual_seed(cfg.seed * 1000 + rank)  # the noise stream, resumed exactly
    amp = dev.autocast(device, enabled=cfg.amp)
    fp16 = dev.needs_grad_scaler(device, enabled=cfg.amp)
    scaler_G = torch.amp.GradScaler(device.type) if fp16 else None  # fp16 only: bf16 needs no loss scaling
    scaler_D = torch.amp.GradScaler(device.type) if fp16 else None
    carried = {"z_gen": (z_gen.get_state, z_gen.set_state)}
    if ema is not None:
        carried["ema"] = (ema.state_dict, ema.load_state_dict)
    for key, scaler in (("scaler_G", scaler_G), ("scaler_D", scaler_D)):
        if scaler is not None:
            carried[key] = (scaler.state_dict, scaler.load_state_dict)
    unwrapped_G, unwrapped_D = distributed.unwrap(G), distributed.unwrap(D)
    run = Run("fit", cfg.steps, nets={"G": G, "D": D}, optimizers={"opt_G": opt_G, "opt_D": opt_D},
              config=cfg.as_dict(), run_dir=run_dir, state=carried, log_every=cfg.log_every,
              checkpoint_every=cfg.checkpoint_every, callbacks=callbacks, callback_every=callback_every,
              views={"G": unwrapped_G, "D": unwrapped_D, "G_ema": ema.model if ema is not None else unwrapped_G, "cfg": cfg},
              rank=rank, progress=progress)
    run.resume(resume)
    if ema is not None:
        ema.model.to(device)
    distributed.sync_params(G), distributed.sync_params(D)  # every process starts from rank 0's weights
    G_train, D_train = G, D
    if cfg.compile:
        G_train, D_train = torch.compile(G_train), torch.compile(D_train)
    if cfg.augment:  # every D call, on reals and fakes, in both steps, sees augmented images
        D_train = augment.Augmented(D_train, cfg.augment)
    conditional = bool(getattr(unwrapped_G, "cond_dim", 0))
    style_weight = cfg.style_weight if conditional and getattr(unwrapped_D, "regress", None) is not None else 0.0
    batch = _as_batches(data, conditional)
    t_window, n_window, r1_last = time.perf_counter(), 0, 0.0
    G.train(), D.train()
    for step in run:
        # ---- (1) update D: maximise log D(x) + log(1 - D(G(z))), n_critic times on fresh real batches ----------
        for k in range(cfg.n_critic):
            x_real, cond = batch(step * cfg.n_critic + k)
            x_real = x_real.to(device, non_blocking=True).contiguous(memory_format=memory)
            G_c, D_c = G_train, D_train
            d_aux = g_aux = None
            if cond is not None:  # fakes get the real batch's conditions: c is drawn from the data
                cond = cond.to(device)
                G_c, D_c = Conditioned(G_train, cond), Conditioned(D_train, cond, keep_styles=style_weight > 0)
                if style_weight > 0:  # D learns to read the style of the real faces; G's fakes must show c to it
                    w = makeup.style_weights(cond, cfg.lip_weight)  # colours count as much as their opacity

                    def d_aux(x_real, x_fake, D_c=D_c, cond=cond, w=w):
                        return style_weight * losses.style_regression_loss(D_c.style_of(x_real), cond, w)

                    def g_aux(x_fake, D_c=D_c, cond=cond, w=w):
                        return style_weight * losses.style_regression_loss(D_c.style_of(x_fake), cond, w)
            z = torch.randn(x_real.shape[0], cfg.z_dim, generator=z_gen).to(device)
            x_fake = None
            if cfg.n_critic == 1:  # one G forward serves both steps (G is unchanged until its own step)
                with amp:
                    x_fake = G_c(z)
            d_count = step * cfg.n_critic + k  # lazy R1: every r1_every-th D step, r1_every times as strong
            r1_gamma = cfg.r1_gamma * cfg.r1_every if d_count % cfg.r1_every == 0 else 0.0
            stats_d = d_step(G_c, D_c, opt_D, x_real, z, cfg.loss, autocast=amp, scaler=scaler_D, x_fake=x_fake,
                             aux_loss=d_aux, r1_gamma=r1_gamma, r1_fn=r1_penalty)
            if r1_gamma > 0:  # the penalty per D step, as if it ran every step (logged rows need not be R1 steps)
                r1_last = stats_d["r1"] / cfg.r1_every
            n_window += x_real.shape[0]
        # ---- (2) update G: maximise log D(G(z)) (the non-saturating loss), through a frozen D ------------------
        for j in range(cfg.g_steps):  # the first reuses the D step's fakes when it can; later ones draw new noise
            if x_fake is None or j > 0:
                x_fake = None
                z = torch.randn(x_real.shape[0], cfg.z_dim, generator=z_gen).to(device)
            stats_g = g_step(G_c, D_c, opt_G, z, cfg.loss, autocast=amp, scaler=scaler_G, x_fake=x_fake, aux_loss=g_aux)
        # ---- (3) keep the processes together, average G's weights ----------------------------------------------
        distributed.sync_buffers(G), distributed.sync_buffers(D)  # batch-norm statistics follow rank 0
        if ema is not None:
            ema.update(G)

        # ---- (4) log, guard, checkpoint, call back --------------------------------------------------------------
        def row() -> dict[str, float]:
            nonlocal t_window, n_window
            out = {"d_loss": stats_d["d_loss"], "g_loss": stats_g["g_loss"], "d_real": stats_d["d_real"],
                   "d_fake": stats_d["d_fake"], "gp": stats_d["gp"], "r1": r1_last,
                   "img_per_s": n_window * world / max(time.perf_counter() - t_window, 1e-9)}
            if style_weight > 0:  # the style regression: D on real faces, G on its fakes
                out.update(style_d=stats_d["aux"] / style_weight, style_g=stats_g["aux"] / style_weight)
            t_window, n_window = time.perf_counter(), 0
            run.bar.set_postfix(d_loss=f"{out['d_loss']:.3f}", g_loss=f"{out['g_loss']:.3f}", img_s=f"{out['img_per_s']:.0f}")
            return out

        run.end_step({"d_loss": stats_d["d_loss"], "g_loss": stats_g["g_loss"]}, row)
    return run.finish()


@torch.no_grad()
def generate(G: nn.Module, n: int | None = None, *, z: Tensor | None = None, cond: Tensor | None = None,
             generator: torch.Generator | None = None, device: torch.device | str | None = None,
             batch_size: int = 256) -> Tensor:
    """Sample ``n`` images from G (eval mode) for noise drawn with ``generator``, or for given ``z``; return them on the CPU.

    A conditional G needs ``cond``: one style vector ``(cond_dim,)`` for all, or ``(n, cond_dim)``.
    Taught in 03_dcgan_faces, section 6.
    """
    G = distributed.unwrap(G)
    if z is None:
        if n is None:
            raise ValueError("generate needs n >= 1 or a noise tensor z")
        z = torch.randn(validate.integer(n, "n", 1), G.z_dim, generator=generator)
    elif not isinstance(z, Tensor) or z.dim() != 2 or z.shape[1] != G.z_dim:
        raise ValueError(f"z must be a tensor (N, {G.z_dim}) of noise vectors, got "
                         f"{tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__}")
    validate.finite(z, "z")
    cond_dim = getattr(G, "cond_dim", 0)
    if cond_dim:
        if cond is None:
            raise ValueError(f"this generator is conditional: pass cond, a style vector of length {cond_dim} (or one per sample)")
        cond = torch.as_tensor(cond, dtype=torch.float32)
        cond = cond.expand(len(z), -1) if cond.dim() == 1 else cond
    device = next(G.parameters()).device if device is None else dev.get_device(device)
    was_training = G.training
    G.eval().to(device)
    parts = []
    for i in range(0, len(z), batch_size):
        zi = z[i : i + batch_size].to(device)
        parts.append((G(zi, cond[i : i + batch_size].to(device)) if cond_dim else G(zi)).float().cpu())
    G.train(was_training)
    return torch.cat(parts)


@torch.no_grad()
def standing_statistics(G: nn.Module, batches: int = 32, batch_size: int = 64, *, cond: Tensor | None = None,
                        seed: int = 5, device: torch.device | str | None = None) -> nn.Module:
    """A copy of G (eval mode) whose batch-norm running statistics are re-estimated for its own weights.

    BigGAN's "standing statistics" (Brock et al. 2019): sample ``batches`` batches of ``batch_size``
    noise vectors and set each batch-norm layer's running mean and variance to the plain average of their batch
    statistics, ``mu = 1/K sum_k mu_k`` and ``var = 1/K sum_k var_k``. Two things make the statistics a trained G
    carries stale: the EMA copy's statistics are the live G's (EMA averages weights, not what they compute), and
    with momentum 0.1 they weigh mostly the last 10-20 training batches, which for batches of 16 is 150-300 faces.
    A conditional G needs ``cond``, condition vectors ``(N, cond_dim)`` as the data has them (real styles): each
    batch draws its rows at random. G itself is left untouched; ``tools/train_checkpoints.py`` applies it to
    ``dcgan64`` and ``cgan64``. Taught in 03_dcgan_faces, section 6.
    """
    G = distributed.unwrap(G)
    if not isinstance(G, nn.Module) or not isinstance(getattr(G, "z_dim", None), int):
        raise TypeError(f"G must be a generator (an nn.Module with an int z_dim), got {type(G).__name__}")
    cond_dim = getattr(G, "cond_dim", 0)
    if cond_dim and (not isinstance(cond, Tensor) or cond.dim() != 2 or cond.shape[1] != cond_dim or len(cond) == 0):
        raise ValueError(f"this generator is conditional: cond must be a tensor (N, {cond_dim}) of condition vectors, got "
                         f"{tuple(cond.shape) if isinstance(cond, Tensor) else type(cond).__name__}")
    if not cond_dim and cond is not None:
        raise ValueError("cond is only for a conditional generator (one with a cond_dim); this one takes noise only")
    if cond_dim:
        validate.finite(cond, "cond")
    batches = validate.integer(batches, "batches", 1)
    batch_size = validate.integer(batch_size, "batch_size", 2)
    G = copy.deepcopy(G)
    norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        raise ValueError(f"G ({type(G).__name__}) has no batch-norm layer with running statistics: there is nothing to re-estimate")
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # None: a cumulative average over every batch seen
    device = next(G.parameters()).device if device is None else dev.get_device(device)
    G.to(device).train()
    noise = torch.Generator().manual_seed(validate.integer(seed, "seed", 0))
    for _ in range(batches):
        z = torch.randn(batch_size, G.z_dim, generator=noise).to(device)
        if cond_dim:
            rows = torch.randint(len(cond), (batch_size,), generator=noise)
            G(z, cond[rows].float().to(device))
        else:
            G(z)
    for m, momentum in zip(norms, momenta):  # the copy trains as G would, if it is trained on
        m.momentum = momentum
    return G.eval()


@torch.no_grad()
def jacobian_truncation(G: nn.Module, n: int, keep: float = 0.6, bins: int = 8, *, generator: torch.Generator | None = None,
                        probes: int = 2, eps: float = 1e-2, device: torch.device | str | None = None) -> Tensor:
    """Noise ``(n, z_dim)`` (on the CPU, in the order drawn) for ``n`` faces drawn away from the gaps between the data's
    modes: pass it to ``train.generate(G, z=...)``.

    Jacobian-based truncation (Tanielian et al. 2020, "Learning disconnected manifolds: a no GAN's land"): G maps one
    connected Gaussian onto data made of separate modes (made up or bare, one hair style or another), so it must
    also draw faces in between, where a small move of the noise changes the face fast. Of ``round(n / keep)`` draws,
    keep the ``n`` whose images change least, ``s(z) = mean_v ||G(z + eps v) - G(z)|| / eps`` over ``probes`` random
    unit directions ``v`` (a finite-difference estimate of the Jacobian's norm), G in eval mode. Ranked over all
    draws (``bins=0``) it keeps some skin tones more than others; with ``bins`` > 0 the draws are ranked within
    ``bins`` equal-count bins of the brightness of their image's centre square (mostly skin: a pixel statistic, not
    the encoder that measures), and every bin keeps the same share (each bin needs at least two draws). Choosing
    costs ``(1 + probes) / keep`` generator passes a face, and rendering the kept noise one more.
    Taught in 03_dcgan_faces, section 5.
    """
    G = distributed.unwrap(G)
    if not isinstance(G, nn.Module) or not isinstance(getattr(G, "z_dim", None), int) or getattr(G, "cond_dim", 0):
        raise TypeError(f"G must be an unconditional generator (an nn.Module with an int z_dim), got {type(G).__name__}")
    n = validate.integer(n, "n", 1)
    keep = validate.number(keep, "keep", 0.01, 1.0)
    bins = validate.integer(bins, "bins", 0)
    probes = validate.integer(probes, "probes", 1)
    eps = validate.number(eps, "eps", 1e-6, 1.0)
    if generator is not None and (not isinstance(generator, torch.Generator) or generator.device.type != "cpu"):
        raise TypeError(f"generator must be None or a CPU torch.Generator, got {generator!r}")
    draws = max(n, round(n / keep))
    if bins > draws // 2:
        raise ValueError(f"bins must be at most half the draws ({draws // 2} for n={n}, keep={keep:g}), got {bins}: "
                         f"a bin of one draw ranks nothing")
    device = next(G.parameters()).device if device is None else dev.get_device(device)
    z = torch.randn(draws, G.z_dim, generator=generator)
    was_training = G.training
    G.eval().to(device)
    scores, centres = [], []
    try:
        for part in z.split(256):
            part = part.to(device)
            x = G(part).float()
            if x.dim() != 4:
                raise ValueError(f"G must return images (B, C, H, W), got a tensor of shape {tuple(x.shape)}")
            side = x.shape[-1]
            centres.append(x[:, :, side * 3 // 8: side * 5 // 8, side * 3 // 8: side * 5 // 8].mean((1, 2, 3)).cpu())
            score = torch.zeros(len(part), device=device)
            for _ in range(probes):
                v = torch.randn(part.shape, generator=generator).to(device)
                score += (G(part + eps * v / v.norm(dim=1, keepdim=True)).float() - x).flatten(1).norm(dim=1) / eps
            scores.append(score.cpu() / probes)
    finally:
        G.train(was_training)
    score, centre = torch.cat(scores), torch.cat(centres)
    if bins == 0:
        return z[score.argsort()[:n].sort().values]
    which = torch.bucketize(centre, centre.quantile(torch.linspace(0, 1, bins + 1)[1:-1]))
    rank = torch.empty(len(z))  # each draw's place in its own bin, from 0 (stretches least) to 1
    for b in range(bins):
        idx = (which == b).nonzero().flatten()
        rank[idx[score[idx].argsort()]] = (torch.arange(len(idx)) + 0.5) / max(len(idx), 1)
    return z[rank.argsort()[:n].sort().values]


def slerp(z0: Tensor, z1: Tensor, t: float) -> Tensor:
    """Spherical interpolation from ``z0`` (t = 0) to ``z1`` (t = 1) along the great circle between them.

    slerp = sin((1 - t) w) / sin(w) z0 + sin(t w) / sin(w) z1, with w the angle between z0 and z1.
    Taught in 03_dcgan_faces, section 8.
    """
    validate.finite(z0, "z0"), validate.finite(z1, "z1")
    t = validate.number(t, "t")
    if z0.shape != z1.shape or z0.dim() != 1 or not (z0.norm() > 0 and z1.norm() > 0):
        raise ValueError(f"z0 and z1 must be non-zero vectors of the same length, got shapes {tuple(z0.shape)} and {tuple(z1.shape)}")
    cos = torch.dot(z0 / z0.norm(), z1 / z1.norm()).clamp(-1, 1)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:  # (almost) the same direction: lerp is exact enough
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
