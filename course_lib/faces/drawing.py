"""The renderer's drawing kit: anti-aliased shapes, texture banks, the canvas, and per-batch parameters.

Shapes are defined in a canonical face frame (x right, y down, the image spanning [-1, 1]); each face's
pose (tilt, scale, shift) maps pixels into that frame. Edges are anti-aliased by turning an
(approximate) signed distance ``d`` into a coverage ``clamp(d / pixel + 0.5, 0, 1)``.
"""
from __future__ import annotations

import math
from functools import lru_cache
from operator import attrgetter
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.colour import hex_to_rgb, linear_to_srgb, srgb_to_linear
from course_lib.faces.identity import HAIR_COLOURS, IRIS_COLOURS, MONK_TONES, Identity

REGIONS = ("background", "hair", "clothes", "skin", "eyes", "brows", "lips")  # partition: sums to 1
ZONES = ("eyeshadow", "cheeks", "liner")  # makeup zones: soft, inside the skin
MASKS = REGIONS + ZONES
ZOOM = 1.22  # canonical frame -> image: the face fills the frame like an aligned portrait crop
CHUNK = 64  # faces drawn at once: small enough for every layer to stay in the CPU cache
_BANK = 64  # textures in the fixed texture bank
_LUT_SIZE = 16385  # linear -> sRGB table: steps of 6e-5 in linear light, well under one 8-bit level
_SRGB8_LUT = torch.round(linear_to_srgb(torch.linspace(0, 1, _LUT_SIZE)) * 255) / 255  # already 8-bit
_R = {name: i for i, name in enumerate(REGIONS)}

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


# Small geometry helpers: shapes are (B, h, w) tensors over a window; parameters are (B, 1, 1).

def _sq(x: torch.Tensor) -> torch.Tensor:
    return x * x  # cheaper than x ** 2 on the CPU


def _ramp(d: torch.Tensor, pix: torch.Tensor) -> torch.Tensor:
    """Coverage of a pixel whose centre lies at signed distance ``d`` inside an edge (1-pixel AA)."""
    return (d / pix + 0.5).clamp_(0, 1)


def _ellipse(x, y, cx, cy, a, b, pix):
    """Anti-aliased ellipse; distance ~ f / |grad f| with f = (dx/a)^2 + (dy/b)^2 - 1."""
    dx, dy = x - cx, y - cy
    f = _sq(dx / a) + _sq(dy / b) - 1
    g = 2 * torch.sqrt(_sq(dx / (a * a)) + _sq(dy / (b * b)) + 1e-6)
    return _ramp(-f / g, pix)


def _disc(x, y, cx, cy, r, pix):
    """Anti-aliased disc: the exact distance to a circle is cheap (5 ops against an ellipse's 13)."""
    return _ramp(r - torch.sqrt(_sq(x - cx) + _sq(y - cy)), pix)


@lru_cache(maxsize=8)
def _banks(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed texture banks for one size: 64 smooth noises (64, S, S) and 64 grain fields (64, 3, S, S).

    Drawn once from a fixed seed (uniform draws, stable across NumPy versions); face i picks
    bank entry ``texture % 64``, so its texture never depends on the batch it is rendered in.
    """
    rng = np.random.default_rng(20261124)
    coarse = torch.from_numpy(rng.random((_BANK, 1, 11, 11), dtype=np.float32))
    smooth = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True).clamp_(0, 1)[:, 0]
    grain = torch.from_numpy(rng.random((_BANK, 3, size, size), dtype=np.float32)) - 0.5
    return smooth, grain


def _col(rgb: Sequence, device: str = "cpu") -> torch.Tensor:
    """sRGB triples (B, 3) -> linear colours (B, 3, 1, 1)."""
    return srgb_to_linear(torch.tensor(np.asarray(rgb, dtype=np.float32), device=device)).view(-1, 3, 1, 1)


class _Canvas:
    """The image being painted and the region partition; layers are painted inside windows."""

    def __init__(self, part: torch.Tensor):
        b, _, h, w = part.shape
        self.img = torch.empty(b, 3, h, w)
        self.part = part  # (B, len(REGIONS), H, W), written in place
        self.part.copy_(_ONE_HOT["background"].expand_as(part))

    def paint(self, region: str, colour: torch.Tensor, cov: torch.Tensor, win: tuple[slice, slice]) -> None:
        """Composite ``colour`` with coverage ``cov`` (B, h, w) inside window ``win``; the region takes the pixels.

        Both updates are ``old + a (new - old)``: the image towards the colour, the partition towards a
        one-hot vector of the region (so the regions keep summing to 1).
        """
        a = cov.unsqueeze(1)
        img, part = self.img[:, :, win[0], win[1]], self.part[:, :, win[0], win[1]]
        img.lerp_(colour.expand(img.shape[0], 3, *cov.shape[1:]), a)
        part.lerp_(_ONE_HOT[region].expand_as(part), a)


_ONE_HOT = {name: torch.eye(len(REGIONS))[i].view(1, -1, 1, 1) for i, name in enumerate(REGIONS)}


_NUMERIC = ("tone", "face_width", "face_height", "jaw", "eye_size", "eye_spacing", "gaze", "brow_thickness",
            "brow_arch", "nose_width", "nose_length", "lip_width", "lip_fullness", "smile", "light_x", "light_y",
            "rotation", "scale", "shift_x", "shift_y")
_GET_NUMERIC = attrgetter(*_NUMERIC)
_HAIR_ROWS = {name: i for i, name in enumerate(_HAIR)}
_HAIR_TABLE = torch.tensor(list(_HAIR.values()))
_HAIR_LIN = _col([hex_to_rgb(c) for c in HAIR_COLOURS.values()])  # (n, 3, 1, 1)
_IRIS_LIN = _col([hex_to_rgb(c) for c in IRIS_COLOURS.values()])
_HAIR_IDX = {name: i for i, name in enumerate(HAIR_COLOURS)}
_IRIS_IDX = {name: i for i, name in enumerate(IRIS_COLOURS)}


_MONK_LIN = _col([hex_to_rgb(c) for c in MONK_TONES])[:, :, 0, 0]  # (10, 3)


def _skin_lin(tone: torch.Tensor) -> torch.Tensor:
    """Linear skin colours (B, 3, 1, 1) at fractional Monk positions: neighbours blended in linear light."""
    lo = tone.long().clamp(1, 9)  # blend MONK_TONES[lo - 1] and MONK_TONES[lo]
    frac = (tone - lo).view(-1, 1)
    return ((1 - frac) * _MONK_LIN[lo - 1] + frac * _MONK_LIN[lo]).view(-1, 3, 1, 1)


def _stack(identities: Sequence[Identity]) -> dict[str, torch.Tensor]:
    """Numbers of every identity as (B, 1, 1) tensors (colours as (B, 3, 1, 1), linear)."""
    numeric = torch.tensor([_GET_NUMERIC(i) for i in identities], dtype=torch.float32)  # (B, n)
    p = {k: numeric[:, j].reshape(-1, 1, 1) for j, k in enumerate(_NUMERIC)}
    hair = _HAIR_TABLE[[_HAIR_ROWS[i.hair_style] for i in identities]]
    for j, k in enumerate(("volume", "cut", "hairline", "curve", "bun", "curl", "density")):
        p["hair_" + k] = hair[:, j].view(-1, 1, 1)
    p["skin"] = _skin_lin(numeric[:, 0])
    p["hair"] = _HAIR_LIN[[_HAIR_IDX[i.hair_colour] for i in identities]]
    p["iris"] = _IRIS_LIN[[_IRIS_IDX[i.iris] for i in identities]]
    p["background"] = _col([i.background for i in identities])
    p["clothes"] = _col([i.clothes for i in identities])
    textures = [i.texture for i in identities]
    p["texture"] = torch.tensor([t % _BANK for t in textures], dtype=torch.int64)
    p["part"] = torch.tensor([((t // _BANK) % 7 - 3) / 3 for t in textures]).view(-1, 1, 1)  # hair parting
    return p


def _window(pose: np.ndarray, size: int, x0: float, x1: float, y0: float, y1: float) -> tuple[slice, slice]:
    """Rows and columns that can contain the canonical box [x0, x1] x [y0, y1] for every face's pose.

    ``pose`` is (B, 4): cos and sin of the tilt times the scale, and the shift (x, y).
    """
    xs, ys = np.array([x0, x0, x1, x1]), np.array([y0, y1, y0, y1])
    us = pose[:, 2:3] + pose[:, 0:1] * xs - pose[:, 1:2] * ys  # (B, 4) image coordinates of the corners
    vs = pose[:, 3:4] + pose[:, 1:2] * xs + pose[:, 0:1] * ys

    def span(t: np.ndarray) -> slice:
        lo = math.floor((t.min() + 1) / 2 * size - 1.5)
        hi = math.ceil((t.max() + 1) / 2 * size + 1.5)
        return slice(min(max(lo, 0), size), max(min(hi, size), 0))

    return span(vs), span(us)
