"""The renderer's shader: one program run for every pixel of every face, and everything it reads.

The regions, the texture banks, the sRGB table, the per-face parameter table, the anti-aliased shapes and the
shader itself (``draw_layers``), compiled by Numba. Numba's on-disk cache of compiled code notices edits to this file
only, so everything the shader bakes in (the column order of the parameter table, the region order, the
shapes) lives here: an edit anywhere in it recompiles the shader. ``renderer.py`` calls it.
"""
from __future__ import annotations

import math
from functools import lru_cache
from operator import attrgetter
from typing import Sequence

import numba
import numpy as np
import torch
import torch.nn.functional as F

from course_lib.colour import hex_to_rgb, linear_to_srgb, srgb_to_linear_scalar
from course_lib.faces.identity import HAIR_COLOURS, IRIS_COLOURS, MONK_TONES, Identity

REGIONS = ("background", "hair", "clothes", "skin", "eyes", "brows", "lips")  # partition: sums to 1
ZONES = ("eyeshadow", "cheeks", "liner")  # makeup zones: soft, inside the skin
MASKS = REGIONS + ZONES
_BANK = 64  # textures in the fixed texture bank
_LUT_SIZE = 16385  # linear -> sRGB table: steps of 6e-5 in linear light, well under one 8-bit level
SRGB8_LUT = (torch.round(linear_to_srgb(torch.linspace(0, 1, _LUT_SIZE)) * 255) / 255).numpy()  # already 8-bit
SRGB8_SIGNED = SRGB8_LUT * np.float32(2) - np.float32(1)  # the same 8-bit levels in [-1, 1]

# Hair styles as numbers, so one batch can mix them: volume around the skull, where the hair stops
# (relative to the face centre), hairline height and curvature, bun radius, curl, density.
_HAIR = {  #        volume  cut   hairline  curve  bun   curl  alpha
    "short": (0.06, 0.05, -0.42, 1.1, 0.0, 0.0, 1.0),
    "long": (0.07, 1.60, -0.40, 1.3, 0.0, 0.0, 1.0),
    "bob": (0.10, 0.42, -0.30, 0.5, 0.0, 0.0, 1.0),
    "bun": (0.04, 0.00, -0.44, 1.6, 0.15, 0.0, 1.0),
    "curly": (0.15, 0.30, -0.40, 1.2, 0.0, 1.0, 1.0),
    "buzz": (0.015, -0.05, -0.47, 1.6, 0.0, 0.0, 0.75),
}


@lru_cache(maxsize=8)
def texture_banks(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed texture banks for one size: 64 smooth noises (64, S, S) and 64 grain fields (64, 3, S, S).

    Drawn once from a fixed seed (uniform draws, stable across NumPy versions); face i picks
    bank entry ``texture % 64``, so its texture never depends on the batch it is rendered in.
    Not in the notebooks: the SynthFaces renderer's internals.
    """
    rng = np.random.default_rng(20261124)
    coarse = torch.from_numpy(rng.random((_BANK, 1, 11, 11), dtype=np.float32))
    smooth = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True).clamp_(0, 1)[:, 0]
    grain = rng.random((_BANK, 3, size, size), dtype=np.float32) - np.float32(0.5)
    return np.ascontiguousarray(smooth.numpy()), grain


def _col(rgb: Sequence) -> np.ndarray:
    """sRGB triples (B, 3) -> linear colours (B, 3), float64, one value at a time (``colour.srgb_to_linear_scalar``).

    Scalar maths on purpose: a vectorised power gives the values in a SIMD block and those in its tail different
    last bits, so a face's colours (and, after 8-bit rounding, now and then a pixel) depended on its batch.
    """
    values = np.asarray(rgb, dtype=np.float32).astype(np.float64)
    return np.array([srgb_to_linear_scalar(v) for v in values.ravel().tolist()], dtype=np.float64).reshape(values.shape)


# The parameter table: one row per face, one column per number the shader reads.
_NUMERIC = ("tone", "face_width", "face_height", "jaw", "eye_size", "eye_spacing", "gaze", "brow_thickness",
            "brow_arch", "nose_width", "nose_length", "lip_width", "lip_fullness", "smile", "light_x", "light_y",
            "rotation", "scale", "shift_x", "shift_y")
_HAIR_FIELDS = ("hair_volume", "hair_cut", "hair_hairline", "hair_curve", "hair_bun", "hair_curl", "hair_density")
COLUMNS = _NUMERIC + _HAIR_FIELDS + ("part",)
COLOURS = ("skin", "hair", "iris", "background", "clothes")  # linear RGB, one (3,) row each
_GET_NUMERIC = attrgetter(*_NUMERIC)
_HAIR_ROWS = {name: i for i, name in enumerate(_HAIR)}
_HAIR_TABLE = np.array(list(_HAIR.values()))
_HAIR_LIN = _col([hex_to_rgb(c) for c in HAIR_COLOURS.values()])  # (n, 3)
_IRIS_LIN = _col([hex_to_rgb(c) for c in IRIS_COLOURS.values()])
_HAIR_IDX = {name: i for i, name in enumerate(HAIR_COLOURS)}
_IRIS_IDX = {name: i for i, name in enumerate(IRIS_COLOURS)}
_MONK_LIN = _col([hex_to_rgb(c) for c in MONK_TONES])  # (10, 3)


def _skin_lin(tone: np.ndarray) -> np.ndarray:
    """Linear skin colours (B, 3) at fractional Monk positions: neighbours blended in linear light."""
    lo = np.clip(tone.astype(np.int64), 1, 9)  # blend MONK_TONES[lo - 1] and MONK_TONES[lo]
    frac = (tone - lo)[:, None]
    return (1 - frac) * _MONK_LIN[lo - 1] + frac * _MONK_LIN[lo]


def identity_table(identities: Sequence[Identity]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The faces' numbers: parameters (B, len(COLUMNS)), colours (B, len(COLOURS), 3), texture bank rows (B,).

    Not in the notebooks: the SynthFaces renderer's internals.
    """
    numeric = np.array([_GET_NUMERIC(i) for i in identities], dtype=np.float32).astype(np.float64)
    hair = _HAIR_TABLE[[_HAIR_ROWS[i.hair_style] for i in identities]]
    textures = np.array([i.texture for i in identities], dtype=np.int64)
    part = ((textures // _BANK) % 7 - 3) / 3  # the hair's side parting
    params = np.concatenate([numeric, hair, part[:, None]], axis=1)
    colours = np.stack([_skin_lin(numeric[:, 0]), _HAIR_LIN[[_HAIR_IDX[i.hair_colour] for i in identities]],
                        _IRIS_LIN[[_IRIS_IDX[i.iris] for i in identities]], _col([i.background for i in identities]),
                        _col([i.clothes for i in identities])], axis=1)
    return params, colours, textures % _BANK


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


# Where each number of a face sits in ``identity_table``'s rows, and each region in ``MASKS``: the shader reads them by position.
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
def draw_layers(params, colours, textures, smooth, grain, lut, img, masks, start, stop):  # noqa: C901 (one layer after another)
    """Draw faces ``start:stop``: every pixel runs through the layers back to front, in linear RGB.

    Writes ``img`` (B, 3, S, S), 8-bit sRGB levels looked up in ``lut`` (in [0, 1] or [-1, 1]), and ``masks``
    (B, len(MASKS), S, S). Each layer is
    evaluated only inside its own box (in the face's canonical frame, grown by two pixels), so a face
    never depends on the others in its batch.
    Not in the notebooks: the SynthFaces renderer's internals.
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
