"""Who is in the picture: the identity parameters of a SynthFace and how they are sampled.

A face is a pure function of (seed, index): ``face_rng(seed, index)`` gives the random stream that
``sample_identity`` and ``sample_makeup`` read, so face *i* is the same on every run and machine.
Taught in 00_welcome, section 4 (the data explorer).
"""
from __future__ import annotations

import bisect
import functools
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from course_lib import validate
from course_lib.colour import hex_to_rgb
from course_lib.makeup import CATALOGUE, FINISHES, MakeupStyle
from course_lib.makeup.catalogue import unvalidated

# The 10 anchor colours of the Monk Skin Tone scale (Monk 2019; Google's MST orbs), lightest to deepest.
MONK_TONES = ("#f6ede4", "#f3e7db", "#f7ead0", "#eadaba", "#d7bd96", "#a07e56", "#825c43", "#604134", "#3a312a", "#292420")
HAIR_STYLES = ("short", "long", "bob", "bun", "curly", "buzz")
HAIR_COLOURS = {"black": "#17120f", "dark brown": "#36211a", "brown": "#5e3b24", "auburn": "#7e3520",
                "blonde": "#c09a5c", "grey": "#8f8a86", "platinum": "#d8cdb8"}
IRIS_COLOURS = {"dark brown": "#2e1b10", "brown": "#5a371f", "hazel": "#6f5d33", "green": "#4a6a40",
                "blue": "#4a76a0", "grey": "#6f7c86"}
SIZES = (32, 64, 128, 256)


def check_size(size: object) -> int:
    """Return ``size`` if it is one of ``SIZES`` (an int: 64.0 is refused, not taken for 64); else raise naming it.

    Not in the notebooks: the SynthFaces renderer's internals.
    """
    size = validate.integer(size, "size")
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(map(str, SIZES))}, got {size!r}")
    return size

# Numeric fields: (low, high) of what the renderer accepts; sample_identity draws inside these.
RANGES: dict[str, tuple[float, float]] = {
    "tone": (1.0, 10.0), "face_width": (0.40, 0.52), "face_height": (0.56, 0.68), "jaw": (0.0, 1.0),
    "eye_size": (0.8, 1.25), "eye_spacing": (0.18, 0.23), "gaze": (-1.0, 1.0), "brow_thickness": (0.6, 1.5),
    "brow_arch": (0.0, 1.0), "nose_width": (0.8, 1.25), "nose_length": (0.8, 1.2), "lip_width": (0.8, 1.2),
    "lip_fullness": (0.7, 1.4), "smile": (0.0, 1.0), "light_x": (-0.7, 0.7), "light_y": (-0.7, 0.3),
    "rotation": (-12.0, 12.0), "scale": (0.88, 1.1), "shift_x": (-0.08, 0.08), "shift_y": (-0.08, 0.08),
}


@dataclass(frozen=True)
class Identity:
    """The parameters of one face without makeup (lengths in image half-widths, angles in degrees).

    Taught in 00_welcome, section 4.
    """

    tone: float = 5.0  # Monk Skin Tone position, 1 (lightest) .. 10 (deepest); fractions blend neighbours
    face_width: float = 0.46  # half-width of the face oval
    face_height: float = 0.62  # half-height, hairline to chin
    jaw: float = 0.4  # 0 = round chin, 1 = narrow, pointed chin
    eye_size: float = 1.0
    eye_spacing: float = 0.2  # distance of each eye from the face's centre line
    gaze: float = 0.0  # iris offset, -1 (left) .. 1 (right)
    iris: str = "brown"
    brow_thickness: float = 1.0
    brow_arch: float = 0.5
    nose_width: float = 1.0
    nose_length: float = 1.0
    lip_width: float = 1.0
    lip_fullness: float = 1.0
    smile: float = 0.0  # 0 = neutral, 1 = corners up
    hair_style: str = "short"
    hair_colour: str = "dark brown"
    background: tuple[float, float, float] = (0.62, 0.68, 0.74)  # sRGB, top of the backdrop
    clothes: tuple[float, float, float] = (0.22, 0.27, 0.4)
    light_x: float = -0.3  # light direction: negative = from the left
    light_y: float = -0.3  # negative = from above
    rotation: float = 0.0  # in-plane head tilt
    scale: float = 1.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    texture: int = 0  # seed of the skin and hair texture

    def __post_init__(self) -> None:
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (low <= float(value) <= high):
                raise ValueError(f"Identity.{name} must be a number in [{low:g}, {high:g}], got {value!r}")
            object.__setattr__(self, name, float(value))
        for name, options in (("iris", IRIS_COLOURS), ("hair_colour", HAIR_COLOURS)):
            if getattr(self, name) not in options:
                raise ValueError(f"Identity.{name} must be one of {', '.join(options)}, got {getattr(self, name)!r}")
        if self.hair_style not in HAIR_STYLES:
            raise ValueError(f"Identity.hair_style must be one of {', '.join(HAIR_STYLES)}, got {self.hair_style!r}")
        for name in ("background", "clothes"):
            arr = np.asarray(getattr(self, name), dtype=float)
            if arr.shape != (3,) or not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:  # NaN fails every range test
                raise ValueError(f"Identity.{name} must be an sRGB triple in [0, 1], got {getattr(self, name)!r}")
            object.__setattr__(self, name, tuple(float(c) for c in arr))
        if isinstance(self.texture, bool) or not isinstance(self.texture, (int, np.integer)) or self.texture < 0:
            raise ValueError(f"Identity.texture must be a non-negative int, got {self.texture!r}")
        object.__setattr__(self, "texture", int(self.texture) % 2**31)

    @property
    def tone_group(self) -> str:
        """Return "light" (Monk 1-3), "medium" (4-7) or "deep" (8-10), the groups of the fairness audit."""
        return tone_group(self.tone)

    def replace(self, **changes: Any) -> "Identity":
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict."""
        return asdict(self)


IDENTITY_FIELDS = tuple(f.name for f in fields(Identity))


# The fairness audit's skin-tone groups, as Monk tones; with uniform tones they hold 30 / 40 / 30 % of faces.
TONE_GROUPS = {"light": (1, 3), "medium": (4, 7), "deep": (8, 10)}


def tone_group(tone: float) -> str:
    """Map a Monk position to its audit group (``TONE_GROUPS``), a fractional tone counting as its nearest tone:
    light (< 3.5), medium (< 7.5) or deep. Not in the notebooks: the SynthFaces renderer's internals."""
    for name, (_, hi) in TONE_GROUPS.items():
        if tone < hi + 0.5:
            return name
    return name


def skin_rgb(tone: float) -> tuple[float, float, float]:
    """Return the sRGB skin colour at a (fractional) Monk position, blending neighbours in linear light.

    Not in the notebooks: the SynthFaces renderer's internals.
    """
    import torch

    from course_lib.colour import linear_to_srgb, srgb_to_linear

    if not 1.0 <= float(tone) <= 10.0:
        raise ValueError(f"tone must lie in [1, 10] (Monk scale), got {tone!r}")
    lo = min(int(tone), 9)  # blend MONK_TONES[lo - 1] and MONK_TONES[lo]
    frac = float(tone) - lo
    a, b = (srgb_to_linear(torch.tensor(hex_to_rgb(MONK_TONES[i - 1]))) for i in (lo, lo + 1))
    return tuple(float(c) for c in linear_to_srgb((1 - frac) * a + frac * b))  # type: ignore[return-value]


N_IDENTITY_DRAWS, N_MAKEUP_DRAWS = 32, 36


def face_uniforms(seed: int, indices, n: int = N_IDENTITY_DRAWS + N_MAKEUP_DRAWS) -> np.ndarray:
    """Return ``n`` uniform numbers in [0, 1) for each face index: an array (len(indices), n).

    Each number is SplitMix64 (Steele et al. 2014) of (seed, index, j): exact integer arithmetic, so face i
    of data set ``seed`` draws the same numbers on every machine, in any batch and any order.
    Not in the notebooks: the SynthFaces renderer's internals.
    """
    seed = validate.integer(seed, "seed", 0, 2**31 - 1)
    raw = np.asarray(indices)
    if raw.size and not np.issubdtype(raw.dtype, np.integer):  # 2.7 would silently become face 2
        raise TypeError(f"indices must be ints (face numbers), got dtype {raw.dtype}")
    idx = raw.astype(np.int64).reshape(-1)
    if seed < 0 or (idx.size and idx.min() < 0) or seed >= 2**31 or (idx.size and idx.max() >= 2**31):
        raise ValueError(f"seed and index must be in [0, 2**31), got seed={seed}, indices in [{idx.min() if idx.size else 0}, {idx.max() if idx.size else 0}]")
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps around, as the hash intends
        key = (np.uint64(seed) << np.uint64(32)) | idx.astype(np.uint64)
        z = key[:, None] * np.uint64(0x9E3779B97F4A7C15) + np.arange(1, n + 1, dtype=np.uint64)[None, :] * np.uint64(0xD1B54A32D192ED03)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _muted_colour(h: float, s: float, v: float) -> tuple[float, float, float]:
    import colorsys

    return colorsys.hsv_to_rgb(h, s, v)


def _choice(options: tuple, cdf: list[float], r: float):
    """Pick from ``options`` with cumulative probabilities ``cdf`` using one uniform draw ``r`` (inverse CDF)."""
    return options[min(bisect.bisect_right(cdf, r), len(cdf) - 1)]


# Iris and hair colours are drawn with different odds for lighter (False) and deeper (True) skin.
_IRIS_P = {False: [0.2, 0.25, 0.15, 0.12, 0.18, 0.1], True: [0.55, 0.3, 0.1, 0.03, 0.01, 0.01]}
_HAIR_P = {False: [0.12, 0.22, 0.2, 0.1, 0.2, 0.1, 0.06], True: [0.45, 0.35, 0.08, 0.02, 0.02, 0.06, 0.02]}
_IRIS_CDF = {k: (np.cumsum(v) / sum(v)).tolist() for k, v in _IRIS_P.items()}
_HAIR_CDF = {k: (np.cumsum(v) / sum(v)).tolist() for k, v in _HAIR_P.items()}
_STYLE_CDF = np.cumsum([0.24, 0.24, 0.16, 0.12, 0.14, 0.10]).tolist()
_IRIS_NAMES, _HAIR_NAMES, _STYLE_NAMES = tuple(IRIS_COLOURS), tuple(HAIR_COLOURS), tuple(HAIR_STYLES)
_UNIFORM = ("face_width", "face_height", "jaw", "eye_size", "eye_spacing", "brow_thickness", "brow_arch",
            "nose_width", "nose_length", "lip_width", "lip_fullness", "light_x", "light_y")


def sample_identity(rng: np.random.Generator, tone: float | None = None) -> Identity:
    """Draw a random identity from a NumPy generator; skin tone is uniform over the 10 Monk tones unless given.

    Not in the notebooks: the SynthFaces renderer's internals.
    """
    return identity_from_uniforms(rng.random(N_IDENTITY_DRAWS), tone)


def identity_from_uniforms(r: np.ndarray, tone: float | None = None, check: bool = True) -> Identity:
    """Map ``N_IDENTITY_DRAWS`` uniform numbers to an identity (``check=False`` skips re-validating our own draws).

    Not in the notebooks: the SynthFaces renderer's internals.
    """
    r = [float(v) for v in r]  # plain floats: faster arithmetic, and JSON-friendly fields
    if tone is None:
        # A Monk tone uniformly at random, then a small jitter towards its neighbours.
        tone = min(max(1 + int(r[0] * 10) + (r[1] - 0.5) * 0.8, 1.0), 10.0)
    deep = tone >= 6
    values = {name: RANGES[name][0] + r[2 + i] * (RANGES[name][1] - RANGES[name][0]) for i, name in enumerate(_UNIFORM)}
    make = Identity if check else functools.partial(unvalidated, Identity)
    return make(
        tone=tone, **values, gaze=(r[15] - 0.5) * 0.8, iris=_choice(_IRIS_NAMES, _IRIS_CDF[deep], r[16]),
        smile=0.5 + 0.5 * r[18] if r[17] < 0.35 else 0.3 * r[18],
        hair_style=_choice(_STYLE_NAMES, _STYLE_CDF, r[19]), hair_colour=_choice(_HAIR_NAMES, _HAIR_CDF[deep], r[20]),
        background=_muted_colour(r[21], 0.05 + 0.3 * r[22], 0.45 + 0.47 * r[23]),
        clothes=_muted_colour(r[24], 0.2 + 0.5 * r[25], 0.15 + 0.65 * r[26]),
        rotation=(r[27] - 0.5) * 16, scale=0.92 + 0.14 * r[28], shift_x=(r[29] - 0.5) * 0.1, shift_y=(r[30] - 0.5) * 0.1,
        texture=int(r[31] * (2**31 - 1)),
    )


_SHADES = {product: [hex_to_rgb(code) for code in CATALOGUE[product].values()] for product in CATALOGUE}


def _pick_shade(r: np.ndarray, product: str) -> tuple[float, float, float]:
    """A catalogue shade (70%) or a nearby colour off the catalogue (30%), so the style space is continuous.

    ``r`` holds 5 uniform draws: which shade, whether to jitter it, and the jitter of R, G and B.
    """
    rgb = _SHADES[product][int(r[0] * len(_SHADES[product]))]
    if r[1] < 0.3:
        rgb = tuple(min(max(c + (d - 0.5) * 0.25, 0.0), 1.0) for c, d in zip(rgb, r[2:5]))
    return rgb


def sample_makeup(rng: np.random.Generator, p_wear: float = 1.0) -> MakeupStyle:
    """Draw a random makeup look from a NumPy generator (see ``makeup_from_uniforms``).

    Not in the notebooks: the SynthFaces renderer's internals.
    """
    return makeup_from_uniforms(rng.random(N_MAKEUP_DRAWS), p_wear)


def makeup_from_uniforms(r: np.ndarray, p_wear: float = 1.0) -> MakeupStyle:
    """Map ``N_MAKEUP_DRAWS`` uniform numbers to a makeup look; with probability ``1 - p_wear``, none.

    A worn look has lipstick (80%) and/or eyeshadow (65%, always when there is no lipstick), often blush
    (60%) and sometimes eyeliner (40%); shades come from the catalogue, sometimes jittered off it.
    Not in the notebooks by name: ``faces.sample_faces`` draws every look with it (04_conditional_gan, section 1).
    """
    if not 0.0 <= p_wear <= 1.0:
        raise ValueError(f"p_wear must lie in [0, 1], got {p_wear!r}")
    r = [float(v) for v in r]
    if r[0] >= p_wear:  # a fixed block of draws: whether a product is worn never shifts the others
        return MakeupStyle.none()
    lips = r[1] < 0.8
    eyes = r[2] < 0.65 or not lips
    return unvalidated(  # our own draws, inside every range (tests check that they are)
        MakeupStyle,
        lipstick=_pick_shade(r[5:10], "lipstick") if lips else None, lip_opacity=0.7 + 0.3 * r[10],
        finish=FINISHES[min(int(r[11] * 3), 2)],
        eyeshadow=_pick_shade(r[12:17], "eyeshadow") if eyes else None, eyeshadow_opacity=0.55 + 0.4 * r[17],
        eyeshadow_extent=0.45 + 0.55 * r[18],
        blush=_pick_shade(r[19:24], "blush") if r[3] < 0.6 else None, blush_opacity=0.25 + 0.35 * r[24],
        eyeliner=_SHADES["eyeliner"][int(r[25] * 3)] if r[4] < 0.4 else None, eyeliner_opacity=0.7 + 0.3 * r[26],
    )


def sample_faces(seed: int, indices, makeup: bool | float = True, tone: float | None = None) -> list[tuple[Identity, MakeupStyle]]:
    """Return faces ``indices`` of data set ``seed``: (identity, makeup) pairs (``makeup``: True, False or p_wear).

    The identity takes each face's first block of draws and the makeup the next, so face i without
    makeup is the same person as with it.
    Taught in 06_evaluation_fairness, section 4.
    """
    p_wear = 1.0 if makeup is True else 0.0 if makeup is False else float(makeup)
    if not 0.0 <= p_wear <= 1.0:
        raise ValueError(f"makeup must be True, False or a probability in [0, 1], got {makeup!r}")
    out = []
    for r in face_uniforms(seed, indices).tolist():  # plain floats: scalar maths is faster on them
        identity = identity_from_uniforms(r[:N_IDENTITY_DRAWS], tone, check=False)
        style = makeup_from_uniforms(r[N_IDENTITY_DRAWS:], p_wear) if p_wear > 0 else MakeupStyle.none()
        out.append((identity, style))
    return out


def sample_face(seed: int, index: int, makeup: bool | float = True, tone: float | None = None) -> tuple[Identity, MakeupStyle]:
    """Return face ``index`` of data set ``seed``: its identity and makeup (see ``sample_faces``).

    Not in the notebooks: the SynthFaces renderer's internals.
    """
    return sample_faces(seed, [index], makeup, tone)[0]
