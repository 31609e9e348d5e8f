"""The SynthFaces renderer: identity parameters -> a stylised face, its region masks, then makeup.

Every pixel runs through the same short program, like a GPU's fragment shader: map the pixel into the
face's canonical frame, then composite the layers back to front in linear RGB (backdrop, hair, clothes,
neck, ears, face, nose shading, brows, eyes, lips, hair in front). The hard regions (background, hair,
clothes, skin, eyes, brows, lips) partition every pixel (they sum to 1), while the makeup zones
(eyeshadow, cheeks, liner) are soft overlays on the skin. The program is compiled by Numba, so one
pixel costs a few hundred arithmetic operations and no memory traffic between layers.
Makeup is then put on by ``makeup.apply_makeup``, the same function used on real photos.
Taught in 00_welcome, section 4.
"""
from __future__ import annotations

import math
import mmap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence

import numba
import numpy as np
import torch

from course_lib.faces.drawing import (
    _SRGB8_LUT, COLOURS, COLUMNS, MASKS, REGIONS, _banks, _table,
)
from course_lib.faces.identity import SIZES, Identity
from course_lib.makeup import PRODUCT_MASK, MakeupStyle, apply_makeup, support_box


@dataclass
class Faces:
    """A rendered batch: images ``(B, 3, H, W)`` in [-1, 1], masks ``{name: (B, 1, H, W)}`` in [0, 1], parameters."""

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


# Numba's compiled-code cache notices edits to this file only, so every function the shader calls lives here;
# the positions it reads in drawing's tables are unpacked below, and a change there fails at import.
ZOOM = 1.22  # canonical frame -> image: the face fills the frame like an aligned portrait crop

# Shapes of one pixel, in the face's canonical frame (x right, y down, the image spanning [-1, 1]); each face's
# pose (tilt, scale, shift) maps pixels into that frame. Edges are anti-aliased by turning an (approximate)
# signed distance ``d`` into a coverage ``clamp(d / pix + 0.5, 0, 1)``, ``pix`` being one pixel in canonical units.


@numba.njit(inline="always")
def _ramp(d: float, pix: float) -> float:
    """Coverage of a pixel whose centre lies at signed distance ``d`` inside an edge (1-pixel AA)."""
    return min(max(d / pix + 0.5, 0.0), 1.0)


@numba.njit(inline="always")
def _ellipse(x: float, y: float, cx: float, cy: float, a: float, b: float, pix: float) -> float:
    """Anti-aliased ellipse; distance ~ f / |grad f| with f = (dx/a)^2 + (dy/b)^2 - 1."""
    dx, dy = x - cx, y - cy
    f = (dx / a) ** 2 + (dy / b) ** 2 - 1
    g = 2 * math.sqrt((dx / (a * a)) ** 2 + (dy / (b * b)) ** 2 + 1e-6)
    return _ramp(-f / g, pix)


@numba.njit(inline="always")
def _disc(x: float, y: float, cx: float, cy: float, r: float, pix: float) -> float:
    """Anti-aliased disc: the exact distance to a circle."""
    return _ramp(r - math.sqrt((x - cx) ** 2 + (y - cy) ** 2), pix)


@numba.njit(inline="always")
def _inside(x: float, y: float, x0: float, x1: float, y0: float, y1: float, margin: float) -> bool:
    """Whether (x, y) lies in the box [x0, x1] x [y0, y1] grown by ``margin``: where a layer is evaluated."""
    return x0 - margin <= x <= x1 + margin and y0 - margin <= y <= y1 + margin


def render_bare(identities: Sequence[Identity], size: int, signed: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Render faces without makeup: images ``(B, 3, H, W)`` in [0, 1] ([-1, 1] if ``signed``; 8-bit steps) and all masks.

    The faces are split between ``torch.get_num_threads()`` threads (the shader releases the GIL).
    """
    n = len(identities)
    images = _empty((n, 3, size, size))
    planes = _empty((n, len(MASKS), size, size))  # every mask of every face
    params, colours, textures = _table(identities)
    smooth, grain = _banks(size)
    args = (params, colours, textures, smooth, grain, _SRGB8_SIGNED if signed else _SRGB8_LUT, images.numpy(), planes.numpy())
    workers = min(torch.get_num_threads(), n // _MIN_FACES_PER_THREAD)
    if workers <= 1:
        _shade(*args, 0, n)
    else:
        bounds = np.linspace(0, n, workers + 1).astype(int)
        with ThreadPoolExecutor(workers) as pool:  # made per call: nothing is left running, a fork stays safe
            list(pool.map(lambda k: _shade(*args, bounds[k], bounds[k + 1]), range(workers)))
    return images, {name: planes[:, j : j + 1] for j, name in enumerate(MASKS)}


_SRGB8_SIGNED = _SRGB8_LUT * np.float32(2) - np.float32(1)  # the same 8-bit levels in [-1, 1]
_HUGE = 4 << 20  # outputs at least this big get transparent huge pages where the OS offers them (Linux)


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


_MIN_FACES_PER_THREAD = 8  # below this, starting a thread costs more than it saves
# Where each number of a face sits in ``_table``'s rows: the shader reads them by position.
(_TONE, _FACE_W, _FACE_H, _JAW, _EYE_SIZE, _EYE_SPACING, _GAZE, _BROW_THICK, _BROW_ARCH, _NOSE_W, _NOSE_L, _LIP_W,
 _LIP_FULL, _SMILE, _LIGHT_X, _LIGHT_Y, _ROTATION, _SCALE, _SHIFT_X, _SHIFT_Y, _VOLUME, _CUT, _HAIRLINE, _CURVE, _BUN,
 _CURL, _DENSITY, _PART) = range(len(COLUMNS))
_SKIN, _HAIRC, _IRIS, _BACKGROUND, _CLOTHES = range(len(COLOURS))
_BG, _HAIRR, _CLOTHESR, _SKINR, _EYESR, _BROWSR, _LIPSR = range(len(REGIONS))
_EYESHADOW, _CHEEKS, _LINER = range(len(REGIONS), len(MASKS))


@numba.njit(inline="always")
def _paint(rgb, w, region, r, g, b, cov):
    """Composite colour (r, g, b) with coverage ``cov``; the region takes the pixel's weight (they keep summing to 1).

    Both updates are ``old + cov (new - old)``: the colour towards the paint, the region weights ``w`` towards
    a one-hot vector of ``region``. The pixel's state is a pair of tuples: plain values, no array in memory.
    """
    if cov <= 0.0:
        return rgb, w
    k = 1.0 - cov
    w = (w[0] * k + (cov if region == 0 else 0.0), w[1] * k + (cov if region == 1 else 0.0),
         w[2] * k + (cov if region == 2 else 0.0), w[3] * k + (cov if region == 3 else 0.0),
         w[4] * k + (cov if region == 4 else 0.0), w[5] * k + (cov if region == 5 else 0.0),
         w[6] * k + (cov if region == 6 else 0.0))
    return (rgb[0] + cov * (r - rgb[0]), rgb[1] + cov * (g - rgb[1]), rgb[2] + cov * (b - rgb[2])), w


# fastmath: 20-25% faster (measured, one thread), mostly divisions by constants turned into multiplications and
# fused multiply-adds. It moves results in the last bits only: a pixel at most one 8-bit level (tested against
# the earlier torch renderer), the same as running on another CPU.
@numba.njit(nogil=True, cache=True, fastmath=True)
def _shade(params, colours, textures, smooth, grain, lut, img, masks, start, stop):  # noqa: C901 (one layer after another)
    """Draw faces ``start:stop``: every pixel runs through the layers back to front, in linear RGB.

    Writes ``img`` (B, 3, S, S), 8-bit sRGB levels looked up in ``lut`` (in [0, 1] or [-1, 1]), and ``masks``
    (B, len(MASKS), S, S). Each layer is
    evaluated only inside its own box (in the face's canonical frame, grown by two pixels), so a face
    never depends on the others in its batch.
    """
    size = img.shape[2]
    for f in range(start, stop):
        q, col, tb = params[f], colours[f], textures[f]
        a, bh, jaw, ez, es = q[_FACE_W], q[_FACE_H], q[_JAW], q[_EYE_SIZE], q[_EYE_SPACING]
        nw, nl, lx, ly = q[_NOSE_W], q[_NOSE_L], q[_LIGHT_X], q[_LIGHT_Y]
        vol, cut, curl, density, bun = q[_VOLUME], q[_CUT], q[_CURL], q[_DENSITY], q[_BUN]
        skin = col[_SKIN]
        norm = math.sqrt(lx * lx + ly * ly + 1)
        th = math.radians(q[_ROTATION])
        k = q[_SCALE] * ZOOM
        c, s = math.cos(th), math.sin(th)
        pix = 2.0 / (size * k)  # one pixel in canonical units
        m = 2 * pix  # layers are evaluated this far outside their boxes (anti-aliased edges)
        # Per-face constants of the features (canonical units).
        y_e = -0.01  # eye line
        y_n = y_e + 0.2 * nl  # nose tip
        side = 1.0 if lx >= 0 else -1.0  # the nose's shadow falls away from the light
        w, hu, hl = 0.09 * ez, 0.05 * ez, 0.032 * ez  # eye half-width, upper and lower lid heights
        ix_abs = q[_GAZE] * 0.3 * w
        y_m = y_e + 0.355 + 0.03 * (nl - 1)  # mouth line
        wl, fu = 0.15 * q[_LIP_W], q[_LIP_FULL]
        deep = (q[_TONE] - 1) / 9
        tint_r, tint_g, tint_b = 0.82 * (1 - deep) + 0.78 * deep, 0.5 * (1 - deep) + 0.58 * deep, 0.52 * (1 - deep) + 0.62 * deep
        brow_r = col[_HAIRC, 0] * 0.55 + skin[0] * 0.12
        brow_g = col[_HAIRC, 1] * 0.55 + skin[1] * 0.12
        brow_b = col[_HAIRC, 2] * 0.55 + skin[2] * 0.12
        hairline0 = q[_HAIRLINE] * bh / 0.62
        for i in range(size):
            v = (i + 0.5) / size * 2 - 1
            dv = v - q[_SHIFT_Y]
            for j in range(size):
                u = (j + 0.5) / size * 2 - 1
                du = u - q[_SHIFT_X]
                X = (c * du + s * dv) / k  # pixel centre in the canonical face frame
                Y = (-s * du + c * dv) / k
                tex = smooth[tb, i, j]  # smooth noise in [0, 1]
                # Backdrop: vertical gradient, darker at the bottom, with a vignette.
                bgs = (1 - 0.35 * (v + 1) / 2) * (1 - 0.11 * (u * u + v * v))
                rgb = (col[_BACKGROUND, 0] * bgs, col[_BACKGROUND, 1] * bgs, col[_BACKGROUND, 2] * bgs)
                part = (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)  # region weights, in the order of REGIONS

                # Hair behind the head: an enlarged skull (wavy for curly hair), cut at a style-dependent height.
                skull = 0.0
                hair_s = 0.0
                in_hair = _inside(X, Y, -0.8, 0.8, -1.05, max(cut + 0.1, 0.25), m)
                if in_hair:
                    Xw, Yw = X, Y
                    if curl > 0:
                        wav = 1 + 0.035 * curl * math.sin(X * 30 + 3 * tex) * math.sin(Y * 26 - 2 * tex)
                        Xw, Yw = X * wav, Y * wav
                    skull = _ellipse(Xw, Yw, 0.0, -0.05, a + vol, bh * 0.96 + vol, pix)
                    hair_s = min(max(0.8 - 0.45 * (lx * X + ly * Y) / norm, 0.45), 1.25) * (0.65 + 0.7 * tex)
                    if Y <= cut + 0.1 + m:
                        drape = _ramp(a + vol * 0.9 - abs(X), pix) * _ramp(Y + 0.2, pix)
                        back = max(skull, drape) * _ramp(cut - Y, pix * 4) * density
                        rgb, part = _paint(rgb, part, _HAIRR, col[_HAIRC, 0] * hair_s, col[_HAIRC, 1] * hair_s,
                               col[_HAIRC, 2] * hair_s, back)
                if bun > 0 and _inside(X, Y, -0.25, 0.25, -1.05, -0.45, m):  # a bun on top
                    cov = _disc(X, Y, 0.0, -bh - vol - 0.05, bun, pix)
                    sh_b = min(max(0.8 - 0.45 * (lx * X + ly * Y) / norm, 0.45), 1.25) * (0.65 + 0.7 * tex)
                    rgb, part = _paint(rgb, part, _HAIRR, col[_HAIRC, 0] * sh_b, col[_HAIRC, 1] * sh_b, col[_HAIRC, 2] * sh_b, cov)

                # Clothes (sloping shoulders, a parabola, with a round neckline) and the neck.
                if _inside(X, Y, -1.2, 1.2, 0.7, 1.9, m):
                    cov = _ramp(Y - (0.8 + 0.45 * X * X), pix) * (1 - _disc(X, Y, 0.0, 0.8, 0.19, pix))
                    sh_c = 0.75 + 0.3 * tex
                    rgb, part = _paint(rgb, part, _CLOTHESR, col[_CLOTHES, 0] * sh_c, col[_CLOTHES, 1] * sh_c,
                           col[_CLOTHES, 2] * sh_c, cov)
                if _inside(X, Y, -0.3, 0.3, 0.05, 1.9, m):
                    cov = _ramp(0.2 * a / 0.46 - abs(X), pix) * _ramp(Y - 0.1, pix)
                    sh_n = 0.62 + 0.25 * min(max((Y - 0.45) / 0.5, 0.0), 1.0)
                    rgb, part = _paint(rgb, part, _SKINR, skin[0] * sh_n, skin[1] * sh_n, skin[2] * sh_n, cov)

                # Ears (both at once: the face is symmetric), then the face: an egg-shaped oval narrowing to the chin.
                if _inside(X, Y, -0.62, 0.62, -0.14, 0.16, m):
                    cov = _ellipse(abs(X), Y, a * 0.97, 0.02, 0.065, 0.11, pix)
                    rgb, part = _paint(rgb, part, _SKINR, skin[0] * 0.8, skin[1] * 0.8, skin[2] * 0.8, cov)
                shade = 1.0  # the face's shading, which the features take on
                if _inside(X, Y, -0.56, 0.56, -0.72, 0.72, m):
                    taper = 1 - 0.38 * jaw * max(Y / bh, 0.0) ** 2
                    cov = _ellipse(X / taper, Y, 0.0, 0.0, a, bh, pix)
                    # Lambert shading on a pseudo-sphere normal, with a floor so deep tones keep their detail.
                    nx, ny = X / (a * taper), Y / bh
                    nz = math.sqrt(max(1 - nx * nx - ny * ny, 0.02))
                    lambert = min(max((-lx * nx - ly * ny + nz) / norm, 0.0), 1.0)
                    shade = 0.62 + 0.48 * lambert + 0.05 * (tex - 0.5)
                    if cov > 0:
                        flush = math.exp(-(((abs(X) - 0.25) / 0.12) ** 2 + ((Y - 0.17) / 0.1) ** 2))  # natural cheek colour
                        sheen = 0.035 * lambert**6  # a soft sheen keeps deep tones readable
                        rgb, part = _paint(rgb, part, _SKINR, skin[0] * shade * (1 + 0.05 * flush) + sheen,
                               skin[1] * shade * (1 - 0.02 * flush) + sheen, skin[2] * shade * (1 - 0.02 * flush) + sheen, cov)

                # Nose: shading only (a shadow on the side away from the light, nostrils, a shadow under the tip).
                if _inside(X, Y, -0.2, 0.2, -0.05, 0.33, m) and part[_SKINR] > 0:
                    ridge = 0.0
                    if Y < y_n + 0.02:
                        ridge = math.exp(-((X + side * 0.045 * nw) / 0.022) ** 2) * min(max((Y - y_e) / (y_n - y_e), 0.0), 1.0)
                    nostril = math.exp(-(((abs(X) - 0.04 * nw) / 0.022) ** 2 + ((Y - y_n - 0.01) / 0.013) ** 2))
                    under = 0.0
                    if abs(X) <= 0.2:  # the under-tip shadow ends at this box
                        under = math.exp(-((X / (0.06 * nw)) ** 2 + ((Y - y_n - 0.045) / 0.02) ** 2))
                    darken = 1 - part[_SKINR] * min(0.22 * ridge + 0.5 * nostril + 0.15 * under, 0.7)
                    rgb = (rgb[0] * darken, rgb[1] * darken, rgb[2] * darken)

                # Brows: arcs above the eyes, thinner towards the outer ends (both at once, on |x|).
                xa = abs(X)
                if _inside(X, Y, -0.38, 0.38, -0.23, -0.07, m):
                    tb_ = (xa - es) / 0.12  # -1 (inner end) .. 1 (outer end) along the brow
                    outer = min(max(tb_, -1.0), 1.0)
                    yb = y_e - 0.125 - 0.035 * q[_BROW_ARCH] * max(1 - tb_ * tb_, 0.0) + 0.012 * outer
                    half = 0.017 * q[_BROW_THICK] * (1 - 0.45 * (outer + 1) / 2)
                    cov = _ramp(half - abs(Y - yb), pix) * _ramp(0.12 - abs(xa - es), pix)
                    rgb, part = _paint(rgb, part, _BROWSR, brow_r * shade, brow_g * shade, brow_b * shade, cov)

                # Eyes: almond openings with iris and pupil, a dark upper lash line; zones for eyeshadow and liner.
                shadow_zone = liner_zone = 0.0
                if _inside(X, Y, -0.4, 0.4, -0.15, 0.06, m):
                    dx = xa - es  # mirrored: both eyes at once
                    tt = min(max(dx / w, -1.0), 1.0)
                    arc = math.sqrt(max(1 - tt * tt, 0.0))
                    y_up, y_lo = y_e - hu * arc, y_e + hl * arc
                    eyes = _ramp(Y - y_up, pix) * _ramp(y_lo - Y, pix) * _ramp(w - abs(dx), pix)
                    if eyes > 0:
                        ix = ix_abs * (1.0 if X > 0 else (-1.0 if X < 0 else 0.0))  # both irises look the same way
                        iris = _disc(dx, Y, ix, y_e + 0.004, 0.78 * hu, pix) * eyes
                        pupil = _disc(dx, Y, ix, y_e + 0.004, 0.32 * hu, pix) * eyes
                        scl = 0.6 + 0.4 * shade
                        irs = (0.5 + 0.5 * shade) * iris
                        dim = (1 - 0.95 * pupil) * (1 - 0.35 * _ramp(0.02 - abs(Y - (y_e - hu)), pix))  # lid shadow
                        rgb, part = _paint(rgb, part, _EYESR, (0.8 * scl * (1 - iris) + col[_IRIS, 0] * irs) * dim,
                               (0.78 * scl * (1 - iris) + col[_IRIS, 1] * irs) * dim,
                               (0.74 * scl * (1 - iris) + col[_IRIS, 2] * irs) * dim, eyes)
                    lash = _ramp(0.011 - abs(Y - y_up + 0.004), pix) * _ramp(w * 1.06 - abs(dx), pix)
                    rgb, part = _paint(rgb, part, _EYESR, 0.012, 0.012, 0.012, lash)
                    # Eyeshadow zone: a soft dome over the lid, densest at the lash line, fading towards the brow.
                    r2 = ((dx - 0.012) / (w * 1.4)) ** 2 + ((Y - (y_e - 0.02)) / (hu + 0.055)) ** 2
                    if r2 < 1:
                        shadow_zone = (1 - r2) ** 0.6 * _ramp(y_e + 0.004 - Y, pix)
                    liner_zone = _ramp(0.014 - abs(Y - y_up + 0.01), pix) * _ramp(w * 1.15 - abs(dx), pix)

                # Lips: a cupid's-bow upper lip and a fuller lower lip around a mouth line that curves up in a smile.
                if _inside(X, Y, -0.22, 0.22, 0.22, 0.48, m):
                    tl = min(max(X / wl, -1.0), 1.0)
                    y_line = y_m - 0.03 * q[_SMILE] * tl * tl
                    across = max(1 - tl * tl, 0.0)
                    y_top = y_line - 0.036 * fu * across**0.55 * (1 - 0.3 * math.exp(-((tl / 0.16) ** 2)))  # the bow
                    y_bot = y_line + 0.05 * fu * across**0.6
                    cov = _ramp(Y - y_top, pix) * _ramp(y_bot - Y, pix) * _ramp(wl - abs(X), pix)
                    if cov > 0:
                        if Y < y_line:
                            lip_shade = shade * 0.78
                        else:
                            gleam = math.exp(-((X / (0.5 * wl)) ** 2 + ((Y - y_line - 0.022 * fu) / (0.014 * fu)) ** 2))
                            lip_shade = shade * (1.0 + 0.35 * gleam)
                        lip_shade *= 1 - 0.55 * _ramp(0.009 - abs(Y - y_line), pix)  # the line between the lips
                        rgb, part = _paint(rgb, part, _LIPSR, skin[0] * tint_r * lip_shade, skin[1] * tint_g * lip_shade,
                               skin[2] * tint_b * lip_shade, cov)

                # Hair in front: the skull cap above the hairline, which dips at the temples, with a side parting.
                if in_hair and skull > 0 and Y <= 0.25 + m:
                    hairline = hairline0 + q[_CURVE] * X * X + 0.06 * q[_PART] * X
                    cov = skull * _ramp(hairline - Y, pix * 1.5) * density
                    rgb, part = _paint(rgb, part, _HAIRR, col[_HAIRC, 0] * hair_s, col[_HAIRC, 1] * hair_s, col[_HAIRC, 2] * hair_s, cov)

                # Makeup zones live on the skin that is visible after every layer.
                for r in range(len(REGIONS)):
                    masks[f, r, i, j] = part[r]
                masks[f, _EYESHADOW, i, j] = shadow_zone * part[_SKINR]
                masks[f, _LINER, i, j] = liner_zone * min(part[_SKINR] + part[_EYESR], 1.0)
                cheeks = 0.0
                if xa <= 0.56 and -0.05 <= Y <= 0.41 and part[_SKINR] > 0:  # the Gaussians' tails end at this box
                    cheeks = math.exp(-(((xa - (es + 0.06)) / 0.09) ** 2 + ((Y - (y_e + 0.19)) / 0.065) ** 2)) * part[_SKINR]
                masks[f, _CHEEKS, i, j] = cheeks

                # Fine grain (mostly proportional to the light, like a camera's), then linear -> 8-bit sRGB by table.
                for ch in range(3):
                    gr = grain[tb, ch, i, j]
                    lin = min(max(rgb[ch] + rgb[ch] * gr * 0.06 + gr * 0.002, 0.0), 1.0)
                    img[f, ch, i, j] = lut[int(np.rint(lin * (lut.shape[0] - 1)))]


def render(identity: Identity | Sequence[Identity], makeup: MakeupStyle | Sequence[MakeupStyle] | None = None,
           size: int = 64, intensity: float = 1.0) -> Faces:
    """Render faces wearing ``makeup`` (None = bare); return images in [-1, 1], masks and parameters.

    ``identity`` and ``makeup`` may be single values or lists of equal length; ``size`` is one of 32, 64,
    128, 256. The made-up face is ``makeup.apply_makeup(bare face, its masks, style)``, quantised to 8 bits.
    """
    identities = [identity] if isinstance(identity, Identity) else list(identity)
    if not identities or not all(isinstance(i, Identity) for i in identities):
        raise TypeError("identity must be an Identity or a non-empty list of them (see faces.sample_identity)")
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(map(str, SIZES))}, got {size!r}")
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
