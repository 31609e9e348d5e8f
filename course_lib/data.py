"""Data sets for the course, one section per kind.

- Toy distributions (01_minimax_game, 02_training_dynamics): Gaussian mixtures in 1-D and 2-D whose
  mode centres and sigma are known, so that metrics can score samples against the truth.

- SynthFaces (03_dcgan_faces .. 06): datasets and batch functions over rendered faces, face pairs with
  and without makeup, and makeup-transfer triplets with ground truth.
- Real faces that ship inside packages: LFW's 100 grey faces and two public-domain portraits.

Every toy sampler takes ``n`` and an optional ``torch.Generator`` (fixed samples without global seeding).
This module knows nothing of GANs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from course_lib import validate

Tensor = torch.Tensor


# --------------------------------------------------------------------------------------------------
# Toy distributions (01_minimax_game, 02_training_dynamics)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GaussianMixture:
    """An isotropic Gaussian mixture: ``K`` centres in ``dim`` dimensions sharing one ``sigma``.

    ``centres`` is ``(K, dim)``, ``weights`` is ``(K,)`` and sums to 1. Taught in 02_training_dynamics, section 4.
    """

    centres: Tensor  # (K, dim)
    sigma: float
    weights: Tensor  # (K,)
    name: str = "mixture"

    def __post_init__(self) -> None:
        if not isinstance(self.centres, torch.Tensor) or self.centres.dim() != 2 or len(self.centres) == 0:
            raise ValueError(f"centres must be a tensor of shape (K, dim), got {getattr(self.centres, 'shape', self.centres)}")
        if not float(self.sigma) > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        if self.weights.shape != (len(self.centres),) or (self.weights < 0).any():
            raise ValueError(f"weights must be non-negative with shape ({len(self.centres)},), got {tuple(self.weights.shape)}")
        if not math.isclose(float(self.weights.sum()), 1.0, abs_tol=1e-5):
            raise ValueError(f"weights must sum to 1, got {float(self.weights.sum()):.6f}")

    @property
    def dim(self) -> int:
        """Return the dimension of a sample."""
        return self.centres.shape[1]

    @property
    def n_modes(self) -> int:
        """Return the number of mixture components K."""
        return self.centres.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` samples, shape ``(n, dim)``: pick a mode by weight, add N(0, sigma^2 I) noise."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        modes = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # (n,)
        noise = torch.randn(n, self.dim, generator=generator)  # (n, dim)
        return self.centres[modes] + self.sigma * noise

    def pdf(self, x: Tensor) -> Tensor:
        """Return the density at ``x`` of shape ``(N, dim)`` (or ``(N,)`` when dim is 1) as ``(N,)``."""
        x = torch.as_tensor(x, dtype=self.centres.dtype)
        if x.dim() == 1 and self.dim == 1:
            x = x[:, None]
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim}){' or (N,)' if self.dim == 1 else ''}, got {tuple(x.shape)}")
        sq_dist = torch.cdist(x, self.centres).pow(2)  # (N, K)
        norm = (2 * math.pi * self.sigma**2) ** (-self.dim / 2)
        return (norm * torch.exp(-sq_dist / (2 * self.sigma**2))) @ self.weights  # sum_k w_k N(x; c_k, sigma^2 I)


def _mixture(centres: list[list[float]] | Tensor, sigma: float, weights: list[float] | None, name: str) -> GaussianMixture:
    centres = torch.as_tensor(centres, dtype=torch.float32)
    if weights is None:
        w = torch.full((len(centres),), 1.0 / len(centres))
    else:
        w = torch.as_tensor(weights, dtype=torch.float32)
        w = w / w.sum()
    return GaussianMixture(centres=centres, sigma=float(sigma), weights=w, name=name)


def gaussian_1d(mean: float = 0.0, std: float = 1.0) -> GaussianMixture:
    """Return a 1-D Gaussian N(mean, std^2) as a one-mode mixture. Taught in 01_minimax_game, section 2."""
    return _mixture([[float(mean)]], std, None, f"N({mean:g}, {std:g}^2)")


def mixture_1d(means: tuple[float, ...] = (-1.5, 1.5), sigma: float = 0.5,
               weights: tuple[float, ...] | None = None) -> GaussianMixture:
    """Return a 1-D Gaussian mixture with the given means, one shared sigma and optional weights.

    Taught in 01_minimax_game, section 2.
    """
    if weights is not None and len(weights) != len(means):
        raise ValueError(f"weights ({len(weights)}) and means ({len(means)}) must have the same length")
    return _mixture([[float(m)] for m in means], sigma, weights, "1-D mixture")


def ring_of_8(radius: float = 2.0, sigma: float = 0.02, n_modes: int = 8) -> GaussianMixture:
    """Return the 2-D ring: ``n_modes`` Gaussians evenly spaced on a circle (the usual toy test of mode collapse).

    Taught in 02_training_dynamics, section 1.
    """
    angles = torch.arange(n_modes, dtype=torch.float32) * (2 * math.pi / n_modes)
    centres = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)  # (K, 2)
    return _mixture(centres, sigma, None, f"ring of {n_modes}")


def grid_of_25(spacing: float = 2.0, sigma: float = 0.05, side: int = 5) -> GaussianMixture:
    """Return the 2-D grid: ``side x side`` Gaussians centred on 0, ``spacing`` apart (e.g. -4..4 by 2).

    Taught in 02_training_dynamics, section 1.
    """
    side = validate.integer(side, "side", 1)
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    gx, gy = torch.meshgrid(coords, coords, indexing="xy")
    centres = torch.stack([gx.flatten(), gy.flatten()], dim=1)  # (side*side, 2)
    return _mixture(centres, sigma, None, f"grid of {side * side}")


# --------------------------------------------------------------------------------------------------
# SynthFaces (03_dcgan_faces .. 06_evaluation_fairness): rendered on demand, face i = f(seed, i)
# --------------------------------------------------------------------------------------------------
class SynthFaces(torch.utils.data.Dataset):
    """``n`` SynthFaces of data set ``seed``: item i is face i, rendered on demand (or once, with ``cache``).

    ``makeup``: True (all wear makeup), False (none), or the probability that a face wears some.
    Items are image tensors ``(3, H, W)`` in [-1, 1]; with ``with_labels`` they are dicts that add the
    style vector (``makeup.VECTOR_FIELDS``), the Monk tone and the region masks. A DataLoader fetches a
    whole batch with one batched render (``__getitems__``).
    Not in the notebooks by name: they draw SynthFaces batches with ``data.face_batches`` (03_dcgan_faces, section 1).
    """

    def __init__(self, n: int, size: int = 64, seed: int = 0, makeup: bool | float = 0.5,
                 with_labels: bool = False, cache: bool = False):
        from course_lib import faces

        n, seed, size = validate.integer(n, "n", 1), validate.integer(seed, "seed", 0), faces.check_size(size)
        if not (isinstance(makeup, bool) or 0.0 <= float(makeup) <= 1.0):
            raise ValueError(f"makeup must be True, False or a probability in [0, 1], got {makeup!r}")
        self.n, self.size, self.seed, self.makeup, self.with_labels = n, size, seed, makeup, with_labels
        self._cache: list | None = None
        if cache:  # render everything once; items are then copies from memory (8-bit, like image files)
            self._cache = [self._render(range(i, min(i + 256, n))) for i in range(0, n, 256)]

    def __len__(self) -> int:
        return self.n

    def _render(self, indices) -> list:
        from course_lib import faces

        batch = faces.render_indices(indices, seed=self.seed, size=self.size, makeup=self.makeup)
        if not self.with_labels:
            return list(batch.images)
        styles = torch.from_numpy(np.stack([m.to_vector() for m in batch.makeups]))
        return [{"image": batch.images[j], "style": styles[j], "tone": torch.tensor(batch.identities[j].tone),
                 "masks": {k: v[j] for k, v in batch.masks.items()}} for j in range(len(batch))]

    def _check(self, i: int) -> int:
        i = validate.integer(i, "index")  # a float index would be truncated to another face
        if not -self.n <= i < self.n:
            raise IndexError(f"face index {i} out of range for {self.n} faces")
        return i % self.n

    def __getitems__(self, indices: list[int]) -> list:
        indices = [self._check(i) for i in indices]
        if self._cache is not None:
            return [self._cache[i // 256][i % 256] for i in indices]
        return self._render(indices)

    def __getitem__(self, i: int):
        return self.__getitems__([i])[0]


def paired_faces(n: int, size: int = 64, seed: int = 0) -> dict:
    """Return ``n`` pairs of the same identity without and with makeup (pix2pix-style supervision).

    Keys: ``bare``, ``made_up`` (tensors ``(n, 3, H, W)`` in [-1, 1]), ``masks`` (of the bare face; the same
    geometry), ``style`` (``(n, 18)`` vectors), ``tone`` ``(n,)``. Taught in 05_makeup_transfer, section 1.
    """
    from course_lib import faces

    pairs = faces.sample_faces(seed, range(n), makeup=True)
    ids, styles = [p[0] for p in pairs], [p[1] for p in pairs]
    bare, made = faces.render(ids, size=size), faces.render(ids, styles, size=size)
    return {"bare": bare.images, "made_up": made.images, "masks": bare.masks,
            "style": torch.from_numpy(np.stack([s.to_vector() for s in styles])),
            "tone": torch.tensor([i.tone for i in ids])}


def transfer_triplets(n: int, size: int = 64, seed: int = 0, start: int = 0, bare_reference: bool = False) -> dict:
    """Return ``n`` makeup-transfer triplets with ground truth.

    ``source`` is a bare face, ``reference`` another person wearing makeup, and ``target`` is the source
    identity rendered wearing the reference's makeup: exactly what a perfect transfer would output.
    Keys: ``source``, ``reference``, ``target`` (``(n, 3, H, W)`` in [-1, 1]), ``masks`` (of the target, which
    are the source's), ``reference_masks``, ``style`` ``(n, 18)``, ``tone`` (the source's Monk tone) and
    ``reference_tone`` (the reference's). ``bare_reference=True`` adds ``reference_bare``: the reference's person
    without makeup, what no transfer method is given (an oracle's input; it costs a third more rendering).
    Triplet ``i`` is a pure function of (``seed``, ``start + i``); a training stream takes ``start = step * n``.
    Taught in 05_makeup_transfer, section 2.
    """
    from course_lib import faces

    n, start = validate.integer(n, "n", 1), validate.integer(start, "start", 0)
    seed, size = validate.integer(seed, "seed", 0), validate.integer(size, "size")
    if not isinstance(bare_reference, bool):
        raise TypeError(f"bare_reference must be True or False, got {bare_reference!r}")
    src = [p[0] for p in faces.sample_faces(seed, range(2 * start, 2 * (start + n), 2), makeup=False)]
    refs = faces.sample_faces(seed, range(2 * start + 1, 2 * (start + n), 2), makeup=True)
    styles = [r[1] for r in refs]
    source = faces.render(src, size=size)
    reference = faces.render([r[0] for r in refs], styles, size=size)
    target = faces.render(src, styles, size=size)
    out = {"source": source.images, "reference": reference.images, "target": target.images,
           "masks": target.masks, "reference_masks": reference.masks,
           "style": torch.from_numpy(np.stack([s.to_vector() for s in styles])),
           "tone": torch.tensor([i.tone for i in src]), "reference_tone": torch.tensor([r[0].tone for r in refs])}
    if bare_reference:
        out["reference_bare"] = faces.render([r[0] for r in refs], size=size).images
    return out


# --------------------------------------------------------------------------------------------------
# Real faces that ship inside packages
# --------------------------------------------------------------------------------------------------
def lfw_faces(size: int | None = None) -> Tensor:
    """Return the 100 real faces of scikit-image's ``lfw_subset`` as ``(100, 3, S, S)`` in [-1, 1].

    They are 25 x 25 grey crops (Labeled Faces in the Wild), repeated to three channels; ``size`` resizes
    them (e.g. 32 for a DCGAN). Taught in 03_dcgan_faces, section 7.
    """
    from skimage import data as skdata

    grey = torch.from_numpy(np.asarray(skdata.lfw_subset()[:100], dtype=np.float32))  # (100, 25, 25) in [0, 1]
    x = grey.unsqueeze(1).repeat(1, 3, 1, 1) * 2 - 1
    if size is not None:
        if not isinstance(size, int) or not 8 <= size <= 256:
            raise ValueError(f"size must be an int in [8, 256] (or None for 25), got {size!r}")
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x.clamp(-1, 1)


def portraits() -> dict:
    """Return the bundled real portraits (astronaut, Grace Hopper) with landmarks and region masks.

    Not in the notebooks: a data source for the library and its tools.
    """
    from course_lib import landmarks

    return {name: landmarks.load_portrait(name) for name in landmarks.PORTRAITS}


_CHUNK_PIXELS = 1 << 19  # face pixels rendered in one call by face_batches (512 faces at 32 px, 128 at 64 px)


def face_batches(batch_size: int, size: int = 64, seed: int = 0, makeup: bool | float = 0.5,
                 n: int | None = None, with_style: bool = False, rank: int = 0,
                 world: int = 1) -> Callable[[int], Tensor | tuple[Tensor, Tensor]]:
    """Return ``batch(step) -> (batch_size, 3, size, size)`` of SynthFaces for ``train.fit``.

    With ``with_style`` each batch is ``(images, styles)``, the styles as ``(batch_size, 18)`` vectors
    (``makeup.VECTOR_FIELDS``): the conditions of 04_conditional_gan.

    Batch ``step`` holds faces ``step * batch_size ...``, so a resumed run sees exactly the batches it would
    have seen. Under torchrun each of ``world`` processes passes its ``rank`` (``train.distributed.rank_and_world()``)
    and draws its own faces: batch ``step`` of rank ``r`` starts at face ``(step * world + r) * batch_size``. ``n`` limits the data set to ``n`` faces, cycled
    in a fixed shuffled order (a finite training set, as with real data); None = always fresh faces.
    Small batches are rendered several at a time, in chunks of steps fixed by the step numbers (up to 2**19
    face pixels a chunk: 512 faces at 32 px, 128 at 64 px; a batch at least that big is rendered alone, and with
    ``n`` a chunk holds at most the batches that cover the data set once). A render call costs a fixed part plus
    a part per pixel, and for small batches of small faces the fixed part dominates: batches of 16 at 32 px render
    about 3x faster this way (``benchmarks/bench_faces.py``). A made-up face may differ by one 8-bit level on a
    rare pixel with the faces rendered beside it (see ``faces.render``), so the chunks never depend on which
    steps were read before: batch ``step`` is the same tensor in any order.
    Taught in 03_dcgan_faces, section 1.
    """
    from course_lib import faces

    batch_size, seed = validate.integer(batch_size, "batch_size", 1), validate.integer(seed, "seed", 0)
    size = faces.check_size(size)  # here, not at the first batch
    if n is not None:
        n = validate.integer(n, "n", 1)
    world = validate.integer(world, "world", 1)
    rank = validate.integer(rank, "rank", 0, world - 1)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)) if n is not None else None
    ahead = max(1, _CHUNK_PIXELS // (batch_size * size * size))  # steps per chunk
    if n is not None:  # a finite data set: no chunk needs to render it more than once
        ahead = min(ahead, math.ceil(n / batch_size))
    chunk: dict = {"first": None, "images": None, "styles": None}  # the chunk last rendered

    def render(first: int, steps: int) -> tuple[Tensor, Tensor | None]:
        """Images (and styles) of batches ``first ... first + steps - 1``, in one render call."""
        starts = [((first + k) * world + rank) * batch_size for k in range(steps)]
        idx = torch.cat([torch.arange(s, s + batch_size) for s in starts])
        if order is not None:
            idx = order[idx % n]
        rendered = faces.render_indices(idx.tolist(), seed=seed, size=size, makeup=makeup)
        styles = torch.from_numpy(np.stack([m.to_vector() for m in rendered.makeups])) if with_style else None
        return rendered.images, styles

    def batch(step: int) -> Tensor | tuple[Tensor, Tensor]:
        if ahead == 1:  # a big batch: rendered alone, nothing kept
            images, styles = render(step, 1)
            return images if not with_style else (images, styles)
        first = step - step % ahead  # the chunk of steps first ... first + ahead - 1
        if chunk["first"] != first:
            images, styles = render(first, ahead)
            chunk.update(first=first, images=images, styles=styles)
        rows = slice((step - first) * batch_size, (step - first + 1) * batch_size)
        images = chunk["images"][rows].clone()  # the caller's own tensor, not a view of the chunk
        return images if not with_style else (images, chunk["styles"][rows].clone())

    return batch
