"""What the renderer's shader reads: the regions, the texture banks, the sRGB table and the per-face numbers.

The shader itself, and the shapes it draws with, are in ``renderer.py``.
"""
from __future__ import annotations

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
_BANK = 64  # textures in the fixed texture bank
_LUT_SIZE = 16385  # linear -> sRGB table: steps of 6e-5 in linear light, well under one 8-bit level
_SRGB8_LUT = (torch.round(linear_to_srgb(torch.linspace(0, 1, _LUT_SIZE)) * 255) / 255).numpy()  # already 8-bit

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
def _banks(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed texture banks for one size: 64 smooth noises (64, S, S) and 64 grain fields (64, 3, S, S).

    Drawn once from a fixed seed (uniform draws, stable across NumPy versions); face i picks
    bank entry ``texture % 64``, so its texture never depends on the batch it is rendered in.
    """
    rng = np.random.default_rng(20261124)
    coarse = torch.from_numpy(rng.random((_BANK, 1, 11, 11), dtype=np.float32))
    smooth = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True).clamp_(0, 1)[:, 0]
    grain = rng.random((_BANK, 3, size, size), dtype=np.float32) - np.float32(0.5)
    return np.ascontiguousarray(smooth.numpy()), grain


def _col(rgb: Sequence) -> np.ndarray:
    """sRGB triples (B, 3) -> linear colours (B, 3), float64."""
    return srgb_to_linear(torch.tensor(np.asarray(rgb, dtype=np.float32))).double().numpy()


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


def _table(identities: Sequence[Identity]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The faces' numbers: parameters (B, len(COLUMNS)), colours (B, len(COLOURS), 3), texture bank rows (B,)."""
    numeric = np.array([_GET_NUMERIC(i) for i in identities], dtype=np.float32).astype(np.float64)
    hair = _HAIR_TABLE[[_HAIR_ROWS[i.hair_style] for i in identities]]
    textures = np.array([i.texture for i in identities], dtype=np.int64)
    part = ((textures // _BANK) % 7 - 3) / 3  # the hair's side parting
    params = np.concatenate([numeric, hair, part[:, None]], axis=1)
    colours = np.stack([_skin_lin(numeric[:, 0]), _HAIR_LIN[[_HAIR_IDX[i.hair_colour] for i in identities]],
                        _IRIS_LIN[[_IRIS_IDX[i.iris] for i in identities]], _col([i.background for i in identities]),
                        _col([i.clothes for i in identities])], axis=1)
    return params, colours, textures % _BANK
