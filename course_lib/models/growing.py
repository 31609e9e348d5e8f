"""Progressive growing (ProGAN, Karras et al. 2018): train G and D at a low resolution first, then fade in each
finer one.

``GrowingGenerator`` wraps a ``DCGANGenerator`` built with ``output="skip"`` (StyleGAN2's skip generator: a toRGB
at every resolution, summed coarse to fine); ``GrowingDiscriminator`` wraps a ``DCGANDiscriminator`` and adds a
1x1 "fromRGB" convolution at every resolution below the top. Both read their stage, a resolution ``res`` and a
fade weight ``alpha`` in [0, 1], from buffers set by ``set_stage`` (buffers, so an EMA copy of G, which copies
buffers, follows the stage too). At ``res = size`` and ``alpha = 1`` each computes exactly what the wrapped
network computes. Below it:

- G stops at ``res``: ``img_r = up2(img_{r/2}) + alpha * toRGB_r(h_r)`` (the newest resolution's contribution
  faded in by ``alpha``), ``tanh``, then doubled to ``size`` by repeating pixels, so D and the loop always see
  ``(B, 3, size, size)``;
- D averages its input down to ``res`` (undoing G's repeat exactly) and enters its convolutions there through
  fromRGB; while a resolution fades in, D's entry is ``alpha * block_r(fromRGB_r(x_r)) + (1 - alpha) *
  fromRGB_{r/2}(avgpool(x_r))``, as in ProGAN (sec. 2).

``GrowthSchedule`` says which stage a step trains (a stable phase at the starting resolution, then a fade-in and
a stable phase per doubling, the last stable phase taking what is left), and ``GrowthSchedule.feed`` wraps a
data function ``batch(step)`` so that every step sets both networks' stage before its batch is drawn (a resumed
run therefore resumes the stage too). ``GrowingDiscriminator.to_stage`` gives the real batch at the stage's
resolution, for the R1 penalty: taken at full size, the averaging would shrink the penalty (D's squared slope)
by the pooled area.
Not in the notebooks: the recipe ladder's ``progressive`` rungs (``benchmarks/gan_ladder.py``).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F

from course_lib.models.dcgan import DCGANDiscriminator, DCGANGenerator, MinibatchStd

Tensor = torch.Tensor


def _doublings(size: int, start: int) -> int:
    """How many times ``start`` px doubles to ``size`` px; refuses a ``start`` that does not reach it by doubling."""
    if not isinstance(start, int) or isinstance(start, bool) or start < 8 or start >= size or size % start \
            or 2 ** int(math.log2(size // start)) != size // start:
        raise ValueError(f"start must be a power of two from 8 up to size / 2 = {size // 2}, got {start!r}")
    return int(math.log2(size // start))


def _check_stage(res: Any, alpha: Any, size: int, start: int) -> tuple[int, float]:
    sizes = [start * 2 ** i for i in range(_doublings(size, start) + 1)]
    if isinstance(res, bool) or not isinstance(res, int) or res not in sizes:
        raise ValueError(f"res must be one of {sizes} (the resolutions from start={start} to size={size}), got {res!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    if res == start and alpha != 1.0:
        raise ValueError(f"alpha must be 1 at the starting resolution {start} px (there is nothing to fade from), got {alpha}")
    return res, float(alpha)


class _Staged(nn.Module):
    """The stage buffers and ``set_stage`` shared by the growing G and D."""

    size: int
    start: int

    def _init_stage(self, size: int, start: int) -> None:
        _doublings(size, start)
        self.size, self.start = size, start
        self.register_buffer("res", torch.tensor(size))
        self.register_buffer("alpha", torch.tensor(1.0))

    def set_stage(self, res: int, alpha: float = 1.0) -> None:
        """Train (and sample) at ``res`` px, the newest resolution weighted ``alpha`` (1: fully in)."""
        res, alpha = _check_stage(res, alpha, self.size, self.start)
        self.res.fill_(res)
        self.alpha.fill_(alpha)

    def stage(self) -> tuple[int, float]:
        return int(self.res), float(self.alpha)


class GrowingGenerator(_Staged):
    """A ``DCGANGenerator(output="skip")`` that draws at its stage's resolution (see the module's docstring).

    Not in the notebooks: the recipe ladder's ``progressive`` rungs.
    """

    def __init__(self, G: DCGANGenerator, start: int = 8):
        super().__init__()
        if not isinstance(G, DCGANGenerator) or G.output != "skip":
            raise TypeError(f"G must be a DCGANGenerator built with output='skip' (a toRGB at every resolution), got "
                            f"{type(G).__name__}{'' if not isinstance(G, DCGANGenerator) else ' with output=' + repr(G.output)}")
        self.G, self.z_dim = G, G.z_dim
        self._init_stage(G.size, start)

    def forward(self, z: Tensor) -> Tensor:
        res, alpha = self.stage()
        if res == self.size and alpha == 1.0:
            return self.G(z)
        out = self.G.image_at(z, res, alpha)  # (B, 3, res, res)
        return F.interpolate(out, scale_factor=self.size // res, mode="nearest") if res < self.size else out


class GrowingDiscriminator(_Staged):
    """A ``DCGANDiscriminator`` that judges images at its stage's resolution (see the module's docstring).

    Not in the notebooks: the recipe ladder's ``progressive`` rungs.
    """

    def __init__(self, D: DCGANDiscriminator, start: int = 8):
        super().__init__()
        if not isinstance(D, DCGANDiscriminator):
            raise TypeError(f"D must be a DCGANDiscriminator, got {type(D).__name__}")
        if D.block != "dcgan":
            raise TypeError(f"D must be built with block='dcgan' (one conv per halving, where fromRGB can enter), got {D.block!r}")
        self.D = D
        self._init_stage(D.size, start)
        layers, self.chunks, tail = list(D.net), [], 0
        for i, layer in enumerate(layers):  # split D.net at each conv: one chunk per halving, then the tail
            if isinstance(layer, MinibatchStd) or (isinstance(layer, nn.Conv2d) and layer.stride == (1, 1)):
                tail = i
                break
            if isinstance(layer, nn.Conv2d):  # (a spectrally normed conv is one too)
                self.chunks.append([i, i + 1])
            else:
                self.chunks[-1][1] = i + 1
        self.tail = tail
        # fromRGB for every input resolution below the top: size / 2 ... start, into the channels D has there
        in_ch = [layers[a].out_channels for a, _ in self.chunks]  # channels after each halving chunk
        self.from_rgb = nn.ModuleList(nn.Conv2d(3, in_ch[j - 1], 1) for j in range(1, len(self.chunks)))
        # only those for resolutions >= start are used; the rest stay (a fixed layout for any start)

    def _enter(self, x: Tensor, j: int) -> Tensor:
        """D's feature map after entering at input level j (0: full size, through D's own first conv)."""
        if j == 0:
            a, b = self.chunks[0]
            return self.D.net[a:b](x)
        return F.leaky_relu(self.from_rgb[j - 1](x), 0.2)

    def forward(self, x: Tensor) -> Tensor:
        res, alpha = self.stage()
        if res == self.size and alpha == 1.0:
            return self.D(x)
        if x.dim() != 4 or x.shape[1] != 3 or x.shape[2] != x.shape[3] or x.shape[-1] not in (self.size, res):
            raise ValueError(f"x must have shape (B, 3, {self.size}, {self.size}) or (B, 3, {res}, {res}), got {tuple(x.shape)}")
        if x.shape[-1] != res:
            x = F.avg_pool2d(x, self.size // res)
        net, j = self.D.net, int(math.log2(self.size // res))
        h = self._enter(x, j)  # j = 0: D's own first conv has halved already
        if j > 0:  # fromRGB gave the map at res: D's halving chunk from there
            a, b = self.chunks[j]
            h = net[a:b](h)
        if alpha < 1.0:  # fade: the new resolution's path against the coarser one's entry
            h = alpha * h + (1 - alpha) * self._enter(F.avg_pool2d(x, 2), j + 1)
        for a, b in self.chunks[j + 1 :]:
            h = net[a:b](h)
        return net[self.tail :](h)

    def to_stage(self, x: Tensor) -> Tensor:
        """``x`` (B, 3, size, size) averaged down to the stage's resolution, as D reads it: pass the real batch
        through this before the R1 penalty (``fit(..., r1_penalty=lambda D, x, g: losses.r1_penalty(D,
        growing_D.to_stage(x), g))``), which at full size the averaging would shrink by the pooled area."""
        res = int(self.res)
        return F.avg_pool2d(x, self.size // res) if res < self.size and x.shape[-1] == self.size else x


class GrowthSchedule:
    """Which stage each of ``steps`` training steps trains: ``at(step) -> (res, alpha)``.

    From ``start`` px to ``size`` px, doubling: a stable phase at ``start``, then for each doubling a fade-in
    (alpha rising linearly from 0 to 1) and a stable phase; every phase but the last gets ``phase`` of the steps,
    the last stable phase (at ``size``) gets the rest. ``feed(batch, G, D)`` returns a data function that sets
    both networks' stage for the step it is asked for, then returns ``batch(step)``: pass it to ``train.fit``
    (one D step per G step, ``n_critic = 1``, so the data index is the step).
    Not in the notebooks: the recipe ladder's ``progressive`` rungs.
    """

    def __init__(self, steps: int, size: int, start: int = 8, phase: float = 0.125):
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"steps must be a positive int, got {steps!r}")
        doublings = _doublings(size, start)
        if isinstance(phase, bool) or not isinstance(phase, (int, float)) or not 0.0 < phase * 2 * doublings < 1.0:
            raise ValueError(f"phase must be a share of the steps in (0, {1 / (2 * doublings):g}) so that the last "
                             f"stable phase keeps some, got {phase!r}")
        n = max(1, int(steps * phase))  # steps per phase before the last
        if 2 * doublings * n >= steps:
            raise ValueError(f"steps must exceed {2 * doublings * n} to grow from {start} to {size} px with phase={phase:g} "
                             f"(each of the {2 * doublings} phases before the last takes {n}), got {steps}")
        self.steps, self.size, self.start, self.phase = steps, size, start, float(phase)
        self.bounds = [n * (k + 1) for k in range(2 * doublings)]  # ends of the phases before the last

    def at(self, step: int) -> tuple[int, float]:
        """The stage ``(res, alpha)`` that step ``step`` (0-based) trains."""
        k = next((i for i, end in enumerate(self.bounds) if step < end), len(self.bounds))
        res = self.start * 2 ** ((k + 1) // 2)
        if k % 2 == 0:  # a stable phase (the first, or after a fade)
            return res, 1.0
        begin, end = self.bounds[k - 1], self.bounds[k]
        return res, (step - begin + 1) / (end - begin)  # fade-in: the last step of the phase reaches 1

    def feed(self, batch: Callable[[int], Any], G: _Staged, D: _Staged) -> Callable[[int], Any]:
        def staged(step: int) -> Any:
            res, alpha = self.at(step)
            G.set_stage(res, alpha)
            D.set_stage(res, alpha)
            return batch(step)

        return staged
