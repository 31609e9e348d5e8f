"""The SynthFaces renderer: identity parameters -> a stylised face, its region masks, then makeup.

Every pixel runs through the same short program, like a GPU's fragment shader: map the pixel into the
face's canonical frame, then composite the layers back to front in linear RGB (backdrop, hair, clothes,
neck, ears, face, nose shading, brows, eyes, lips, hair in front). The hard regions (background, hair,
clothes, skin, eyes, brows, lips) partition every pixel (they sum to 1), while the makeup zones
(eyeshadow, cheeks, liner) are soft overlays on the skin. The program (``drawing._shade``) is compiled by
Numba, so one pixel costs a few hundred arithmetic operations and no memory traffic between layers.
Makeup is then put on by ``makeup.apply_makeup``, the same function used on real photos.
Taught in 00_welcome, section 4.
"""
from __future__ import annotations

import math
import mmap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from course_lib.faces.drawing import SRGB8_LUT, SRGB8_SIGNED, MASKS, texture_banks, draw_layers, identity_table
from course_lib.faces.identity import Identity, check_size
from course_lib.makeup import PRODUCT_MASK, MakeupStyle, apply_makeup, support_box


@dataclass
class Faces:
    """A rendered batch: images ``(B, 3, H, W)`` in [-1, 1], masks ``{name: (B, 1, H, W)}`` in [0, 1], parameters.

    Not in the notebooks: the SynthFaces renderer's internals.
    """

    images: torch.Tensor
    masks: dict[str, torch.Tensor]
    identities: list[Identity]
    makeups: list[MakeupStyle]

    def __len__(self) -> int:
        return self.images.shape[0]

    def image(self, i: int = 0) -> np.ndarray:
        """Return face ``i`` as a numpy ``(H, W, 3)`` image in [0, 1]."""
        return ((self.images[i].permute(1, 2, 0) + 1) / 2).clamp(0, 1).numpy()

    def mask(self, name: str, i: int = 0) -> np.ndarray:
        """Return face ``i``'s mask ``name`` as numpy ``(H, W)``."""
        return self.masks[name][i, 0].numpy()


_MIN_FACES_PER_THREAD = 8  # below this, starting a thread costs more than it saves
_HUGE = 4 << 20  # outputs at least this big get transparent huge pages where the OS offers them (Linux)


def render_bare(identities: Sequence[Identity], size: int, signed: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Render faces without makeup: images ``(B, 3, H, W)`` in [0, 1] ([-1, 1] if ``signed``; 8-bit steps) and all masks.

    The faces are split between ``torch.get_num_threads()`` threads (the shader releases the GIL).
    Not in the notebooks: the SynthFaces renderer's internals.
    """
    n = len(identities)
    images = _empty((n, 3, size, size))
    planes = _empty((n, len(MASKS), size, size))  # every mask of every face
    params, colours, textures = identity_table(identities)
    smooth, grain = texture_banks(size)
    args = (params, colours, textures, smooth, grain, SRGB8_SIGNED if signed else SRGB8_LUT, images.numpy(), planes.numpy())
    workers = min(torch.get_num_threads(), n // _MIN_FACES_PER_THREAD)
    if workers <= 1:
        draw_layers(*args, 0, n)
    else:
        bounds = np.linspace(0, n, workers + 1).astype(int)
        with ThreadPoolExecutor(workers) as pool:  # made per call: nothing is left running, a fork stays safe
            list(pool.map(lambda k: draw_layers(*args, bounds[k], bounds[k + 1]), range(workers)))
    return images, {name: planes[:, j : j + 1] for j, name in enumerate(MASKS)}


def _empty(shape: tuple[int, ...]) -> torch.Tensor:
    """An uninitialised float32 tensor; a big one is backed by huge pages when the OS allows it.

    The first write to fresh memory page-faults once per 4 kB page: filling a new 109 MB tensor (512 faces at
    64 px with their masks) took 42 ms against 12 ms for a reused one, and 19 ms with 2 MB pages
    (``madvise(MADV_HUGEPAGE)``), measured on 2 cores.
    The tensor owns its memory map, which is unmapped when the tensor and its views are gone.
    """
    nbytes = 4 * math.prod(shape)
    if nbytes < _HUGE or not hasattr(mmap, "MADV_HUGEPAGE"):
        return torch.empty(shape)
    buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        buf.madvise(mmap.MADV_HUGEPAGE)
    except OSError:  # a kernel without transparent huge pages: ordinary pages, same result
        pass
    return torch.frombuffer(buf, dtype=torch.float32).view(shape)


def render(identity: Identity | Sequence[Identity], makeup: MakeupStyle | Sequence[MakeupStyle] | None = None,
           size: int = 64, intensity: float = 1.0) -> Faces:
    """Render faces wearing ``makeup`` (None = bare); return images in [-1, 1], masks and parameters.

    ``identity`` and ``makeup`` may be single values or lists of equal length; ``size`` is one of 32, 64,
    128, 256. The made-up face is ``makeup.apply_makeup(bare face, its masks, style)``, quantised to 8 bits.
    A face's masks, and a bare face's pixels, are the same whichever faces share the call; a made-up face may
    differ by one 8-bit level on a rare pixel (the makeup layers' vectorised maths rounds a value differently in a
    SIMD block and in its tail: 3 faces of 5,248 at 32, 64 and 128 px, rendered 16 to a call against 512, 256 and 64).
    Taught in 00_welcome, section 4.
    """
    identities = [identity] if isinstance(identity, Identity) else list(identity)
    if not identities or not all(isinstance(i, Identity) for i in identities):
        raise TypeError("identity must be an Identity or a non-empty list of them (see faces.sample_identity)")
    size = check_size(size)
    if makeup is None:
        styles = [MakeupStyle.none()] * len(identities)
    else:
        styles = [makeup] if isinstance(makeup, MakeupStyle) else list(makeup)
        if len(styles) == 1:
            styles = styles * len(identities)
        if len(styles) != len(identities) or not all(isinstance(m, MakeupStyle) for m in styles):
            raise ValueError(f"makeup must be a MakeupStyle or a list of {len(identities)} of them, got {len(styles)} items")
    with torch.no_grad():
        images, masks = render_bare(identities, size, signed=True)
        worn = [i for i, s in enumerate(styles) if not s.is_bare]
        box = support_box([masks[k] for k in PRODUCT_MASK.values()]) if worn else None
        if box is not None:  # only the made-up faces go through the makeup layers, and only where makeup can go
            area = images[:, :, box[0], box[1]]  # a view: writing into it writes the images
            zones = {k: masks[k][:, :, box[0], box[1]][worn] for k in PRODUCT_MASK.values()}
            made = apply_makeup(area[worn], zones, [styles[i] for i in worn], intensity=intensity)
            area[worn] = made.add_(1).mul_(127.5).round_().div_(127.5).sub_(1)  # 8-bit, like every rendered image
    return Faces(images=images, masks=masks, identities=identities, makeups=styles)
