"""The shade catalogue and ``MakeupStyle``, the parameters of one face's makeup.

Colours are sRGB in [0, 1]; a shade can be named from the catalogue (``"coral"``) or given as hex.
Taught in 04_conditional_gan, section 1 (the style vector) and 05_makeup_transfer.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch

from course_lib.colour import hex_to_rgb, rgb_to_hex

FINISHES = ("matte", "satin", "gloss")
# Shine of each finish: 0 flattens the lips' shading, 1 adds a specular highlight.
FINISH_SHINE = {"matte": 0.0, "satin": 0.5, "gloss": 1.0}

CATALOGUE: dict[str, dict[str, str]] = {
    "lipstick": {
        "nude": "#b27768", "rose": "#c25b74", "coral": "#ee6352", "orange": "#f2572a", "pink": "#e0488f",
        "classic red": "#c0182f", "ruby": "#9b1030", "brick": "#96382b", "berry": "#861a4b", "mauve": "#9c5f78",
        "plum": "#6a1f48", "wine": "#561226", "chocolate": "#5b2d22",
    },
    "eyeshadow": {
        "champagne": "#e4c49b", "gold": "#c99a36", "bronze": "#a4642f", "copper": "#b5552a", "rose gold": "#c5877a",
        "taupe": "#86705f", "smoky grey": "#4b4a52", "plum": "#6b3466", "navy": "#263361", "emerald": "#1c6b4c",
    },
    "blush": {"peach": "#f39b74", "coral": "#ef7a66", "rose": "#de7389", "pink": "#f191b0", "berry": "#b0406a", "bronze": "#b06a44"},
    "eyeliner": {"black": "#141414", "brown": "#4a2d1d", "navy": "#1b2450"},
}
PRODUCTS = tuple(CATALOGUE)

# The style as a flat vector (conditioning input for notebooks 04 and 05): field order is fixed.
VECTOR_FIELDS = (
    "lip_r", "lip_g", "lip_b", "lip_opacity", "lip_shine",
    "eyeshadow_r", "eyeshadow_g", "eyeshadow_b", "eyeshadow_opacity", "eyeshadow_extent",
    "blush_r", "blush_g", "blush_b", "blush_opacity",
    "eyeliner_r", "eyeliner_g", "eyeliner_b", "eyeliner_opacity",
)
# The same layout by name: everything that reads a style vector (to_vector / from_vector, the layer model, the
# style-regression weights, try-on's region switches, the transfer model's residual gate) takes its indices from
# these, so the order above is written once.
VECTOR_INDEX = {name: i for i, name in enumerate(VECTOR_FIELDS)}
_PREFIX = {"lipstick": "lip", "eyeshadow": "eyeshadow", "blush": "blush", "eyeliner": "eyeliner"}
# product -> its sRGB colour's slice. Every product's colour is in the vector: without the eyeliner's (black, brown or
# navy), a model given the vector painted every liner black, and the lids scored 0.41 / 0.45 / 0.86 dE2000 on light /
# medium / deep skin from the true masks and vector alone (0.20 / 0.17 / 0.20 given the liner's colour).
COLOUR_SLICE = {product: slice(VECTOR_INDEX[f"{prefix}_r"], VECTOR_INDEX[f"{prefix}_b"] + 1) for product, prefix in _PREFIX.items()}
OPACITY_FIELD = {product: f"{prefix}_opacity" for product, prefix in _PREFIX.items()}  # MakeupStyle's field names
OPACITY_INDEX = {product: VECTOR_INDEX[field] for product, field in OPACITY_FIELD.items()}  # 0 in a vector: not worn
SHINE_INDEX, EXTENT_INDEX = VECTOR_INDEX["lip_shine"], VECTOR_INDEX["eyeshadow_extent"]
EXTENT_MIN = 0.05  # a vector's eyeshadow extent is read as at least this (a predicted 0 would draw no zone at all)


def style_weights(style: torch.Tensor, lip_weight: float = 1.0) -> torch.Tensor:
    """Per-entry weights ``(B, 18)`` for comparing style vectors ``(B, 18)``: a colour counts as much as its opacity.

        w_bj = opacity_b(product of j)           for the r, g, b of lipstick, eyeshadow, blush and eyeliner
               (times ``lip_weight`` for the lipstick's)
        w_bj = 1                                 for every other entry (opacities, shine, extent)

    A product that is not worn (opacity 0) has no colour to get right. ``lip_weight`` > 1 asks for the lipstick
    colour first: the lips are the smallest region and the one a try-on is judged on. The weights for
    ``losses.style_regression_loss``. Taught in 04_conditional_gan, section 3.
    """
    if not isinstance(style, torch.Tensor) or style.dim() != 2 or style.shape[1] != len(VECTOR_FIELDS):
        raise ValueError(f"style must be a tensor (B, {len(VECTOR_FIELDS)}) of style vectors, got "
                         f"{tuple(style.shape) if isinstance(style, torch.Tensor) else type(style).__name__}")
    if not lip_weight > 0:
        raise ValueError(f"lip_weight must be a positive number, got {lip_weight!r}")
    weight = torch.ones_like(style)
    for product, colour in COLOUR_SLICE.items():
        opacity = style[:, OPACITY_INDEX[product]:OPACITY_INDEX[product] + 1]
        weight[:, colour] = opacity * (lip_weight if product == "lipstick" else 1.0)
    return weight


@functools.cache
def _defaults(cls: type) -> dict[str, Any]:
    """A dataclass's default field values."""
    return {f.name: f.default for f in fields(cls)}


def unvalidated(cls: type, **values: Any) -> Any:
    """Build the frozen dataclass ``cls`` from ``values`` (its defaults for the rest) without running its checks.

    Only for values our own samplers drew inside every range (``faces.sample_face``: tests check that
    validating them again changes nothing); it is what keeps drawing 10,000 faces cheap.
    Not in the notebooks: the layer model's internals."""
    obj = object.__new__(cls)
    obj.__dict__.update(_defaults(cls), **values)  # a frozen dataclass's fields live in its __dict__
    return obj


def shade(value: str | tuple[float, float, float], product: str) -> tuple[float, float, float]:
    """Return the sRGB colour of a catalogue shade (``shade("plum", "lipstick")``), a hex code or an RGB triple.

    Taught in 00_welcome, section 4.
    """
    if product not in CATALOGUE:
        raise ValueError(f"product must be one of {', '.join(PRODUCTS)}, got {product!r}")
    if isinstance(value, str):
        key = value.strip().lower()
        if key in CATALOGUE[product]:
            return hex_to_rgb(CATALOGUE[product][key])
        if key.startswith("#"):
            return hex_to_rgb(key)
        raise ValueError(f"unknown {product} shade {value!r}; choose one of {', '.join(CATALOGUE[product])} or a hex code like '#c41e3a'")
    return _rgb(value, product)


def _rgb(value: Any, name: str) -> tuple[float, float, float]:
    try:
        rgb = tuple(float(c) for c in value)
    except (TypeError, ValueError):
        rgb = ()
    if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):  # also rejects NaN
        raise ValueError(f"{name} must be an sRGB triple with values in [0, 1] (or a shade name / hex), got {value!r}")
    return rgb  # type: ignore[return-value]


def _unit(value: float, name: str, open_low: bool = False) -> float:
    """Check a strength in [0, 1] (or (0, 1] with ``open_low``) and return it as a float."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}") from None
    if not (0.0 <= v <= 1.0) or (open_low and v == 0.0):
        raise ValueError(f"{name} must lie in {'(0' if open_low else '[0'}, 1], got {value!r}")
    return v


@dataclass(frozen=True)
class MakeupStyle:
    """One face's makeup: a colour and strength per product. ``None`` colour = product not worn.

    Taught in 00_welcome, section 4.
    """

    lipstick: tuple[float, float, float] | None = None
    lip_opacity: float = 0.9  # 1 = the lips take the shade's colour fully (their shading is kept)
    finish: str = "satin"  # matte / satin / gloss
    eyeshadow: tuple[float, float, float] | None = None
    eyeshadow_opacity: float = 0.7
    eyeshadow_extent: float = 0.7  # how far from the lash line towards the brow (0, 1]
    blush: tuple[float, float, float] | None = None
    blush_opacity: float = 0.4
    eyeliner: tuple[float, float, float] | None = None
    eyeliner_opacity: float = 0.9

    def __post_init__(self) -> None:
        for product, key in (("lipstick", "lipstick"), ("eyeshadow", "eyeshadow"), ("blush", "blush"), ("eyeliner", "eyeliner")):
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, shade(value, product))
        for key in ("lip_opacity", "eyeshadow_opacity", "blush_opacity", "eyeliner_opacity"):
            object.__setattr__(self, key, _unit(getattr(self, key), key))
        object.__setattr__(self, "eyeshadow_extent", _unit(self.eyeshadow_extent, "eyeshadow_extent", open_low=True))
        if self.finish not in FINISHES:
            raise ValueError(f"finish must be one of {', '.join(FINISHES)}, got {self.finish!r}")

    @classmethod
    def none(cls) -> "MakeupStyle":
        """Return a bare face's style (no product worn)."""
        return unvalidated(cls)

    @property
    def is_bare(self) -> bool:
        """True when no product is worn."""
        return all(getattr(self, k) is None for k in ("lipstick", "eyeshadow", "blush", "eyeliner"))

    def to_vector(self) -> np.ndarray:
        """Flatten to the ``VECTOR_FIELDS`` order (float32, length 18); products not worn have opacity 0 (and colour 0)."""
        v = np.zeros(len(VECTOR_FIELDS), dtype=np.float32)
        for product, opacity in self._worn().items():
            v[OPACITY_INDEX[product]] = opacity
            v[COLOUR_SLICE[product]] = getattr(self, product)
        v[SHINE_INDEX], v[EXTENT_INDEX] = FINISH_SHINE[self.finish], self.eyeshadow_extent
        return v

    def _worn(self) -> dict[str, float]:
        """Each product worn -> its opacity."""
        return {product: getattr(self, OPACITY_FIELD[product]) for product in PRODUCTS if getattr(self, product) is not None}

    @classmethod
    def from_vector(cls, v: np.ndarray) -> "MakeupStyle":
        """Inverse of ``to_vector``."""
        v = np.asarray(v, dtype=float)
        if v.shape != (len(VECTOR_FIELDS),):
            raise ValueError(f"style vector must have shape ({len(VECTOR_FIELDS)},) in VECTOR_FIELDS order, got {v.shape}")
        bad = [f"{name}={x:.3g}" for name, x in zip(VECTOR_FIELDS, v) if not 0.0 <= x <= 1.0]
        if bad:
            raise ValueError(f"style vector values must lie in [0, 1]; out of range: {', '.join(bad)}")
        finish = min(FINISH_SHINE, key=lambda f: abs(FINISH_SHINE[f] - v[SHINE_INDEX]))
        return cls(**{product: tuple(v[COLOUR_SLICE[product]]) if v[i] > 0 else None for product, i in OPACITY_INDEX.items()},
                   **{OPACITY_FIELD[product]: v[i] for product, i in OPACITY_INDEX.items()},
                   finish=finish, eyeshadow_extent=max(v[EXTENT_INDEX], EXTENT_MIN))

    def describe(self) -> str:
        """Return a one-line human description, with hex colours."""
        parts = []
        if self.lipstick:
            parts.append(f"lipstick {rgb_to_hex(self.lipstick)} {self.finish} {self.lip_opacity:.0%}")
        if self.eyeshadow:
            parts.append(f"eyeshadow {rgb_to_hex(self.eyeshadow)} {self.eyeshadow_opacity:.0%}")
        if self.blush:
            parts.append(f"blush {rgb_to_hex(self.blush)} {self.blush_opacity:.0%}")
        if self.eyeliner:
            parts.append(f"eyeliner {rgb_to_hex(self.eyeliner)}")
        return ", ".join(parts) or "no makeup"

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (JSON-friendly)."""
        return asdict(self)


STYLE_FIELDS = tuple(f.name for f in fields(MakeupStyle))
