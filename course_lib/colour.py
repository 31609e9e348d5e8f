"""Colour conversions shared by the renderer, the makeup model and the metrics.

Compositing happens in *linear* RGB (light adds linearly there); images are stored in sRGB.
Taught in 05_makeup_transfer, section 1 (why makeup is blended in linear light).
"""
from __future__ import annotations

import re

import numpy as np
import torch

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def hex_to_rgb(code: str) -> tuple[float, float, float]:
    """Convert ``"#c41e3a"`` to an sRGB triple in [0, 1].

    Not in the notebooks: colour science behind the renderer, the layer model and the dE2000 rulers.
    """
    m = _HEX.match(code.strip()) if isinstance(code, str) else None
    if m is None:
        raise ValueError(f"colour must be a hex string like '#c41e3a', got {code!r}")
    h = m.group(1)
    return tuple(int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


def rgb_to_hex(rgb) -> str:
    """Convert an sRGB triple in [0, 1] to ``"#rrggbb"``.

    Not in the notebooks: colour science behind the renderer, the layer model and the dE2000 rulers.
    """
    r, g, b = (int(round(float(np.clip(c, 0, 1)) * 255)) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


SRGB_KNEE, SRGB_SLOPE, SRGB_OFFSET, SRGB_SCALE, SRGB_GAMMA = 0.04045, 12.92, 0.055, 1.055, 2.4  # the sRGB curve (IEC 61966-2-1)


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """Invert the sRGB transfer curve: x in [0, 1] -> linear light in [0, 1].

    Not in the notebooks: colour science behind the renderer, the layer model and the dE2000 rulers.
    """
    x = x.clamp(0, 1)
    return torch.where(x <= SRGB_KNEE, x / SRGB_SLOPE, ((x + SRGB_OFFSET) / SRGB_SCALE) ** SRGB_GAMMA)


def srgb_to_linear_scalar(v: float) -> float:
    """``srgb_to_linear`` for one number, in float64 scalar maths (the same result wherever the number sits in a
    batch: vectorised powers round a value in a SIMD block and in its tail differently).

    Not in the notebooks: colour science behind the renderer.
    """
    v = min(max(float(v), 0.0), 1.0)
    return v / SRGB_SLOPE if v <= SRGB_KNEE else ((v + SRGB_OFFSET) / SRGB_SCALE) ** SRGB_GAMMA


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """Apply the sRGB transfer curve: linear light in [0, 1] -> sRGB in [0, 1].

    Not in the notebooks: colour science behind the renderer, the layer model and the dE2000 rulers.
    """
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp_min(1e-8) ** (1 / 2.4) - 0.055)


# Rec. 709 luminance weights for linear RGB.
LUMA = torch.tensor([0.2126, 0.7152, 0.0722])


def luminance(x_lin: torch.Tensor) -> torch.Tensor:
    """Relative luminance Y of linear RGB ``(B, 3, H, W)`` -> ``(B, 1, H, W)``.

    Not in the notebooks: colour science behind the renderer, the layer model and the dE2000 rulers.
    """
    w = LUMA.to(x_lin).view(1, 3, 1, 1)
    return (x_lin * w).sum(1, keepdim=True)


# sRGB (linear) -> CIE XYZ and the D65 white point, as scikit-image uses them (``rgb_to_lab``).
_XYZ_FROM_RGB = torch.tensor([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
_D65 = torch.tensor([0.95047, 1.0, 1.08883])


def srgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """sRGB images ``(B, 3, H, W)`` in [0, 1] -> CIE Lab (D65) ``(B, 3, H, W)``, differentiably (``rgb_to_lab`` on tensors).

        XYZ = M linear(x) / white,   f(t) = t^(1/3) above (6/29)^3, else t / (3 (6/29)^2) + 4/29
        L = 116 f(Y) - 16,   a = 500 (f(X) - f(Y)),   b = 200 (f(Y) - f(Z))

    A difference in Lab is close to what a person sees, as dE2000 (the course's ruler) refines it. An L1 on sRGB
    numbers counts a step in R, G or B alike; the eye (and Lab) sees a change of colour (hue or saturation) far
    more than a step in lightness of the same size: for the blush on 300 held-out faces, a redder, more saturated
    shade and a lighter one, of about equal sRGB L1 (0.016 and 0.018), score 3.8 and 1.6 dE2000, and 2.4 and 0.95
    in Lab. A loss in Lab weighs errors the way dE2000 does.
    Taught in 05_makeup_transfer, section 4.
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"x must be a tensor (B, 3, H, W) of sRGB in [0, 1], got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    xyz = torch.einsum("ij,bjhw->bihw", _XYZ_FROM_RGB.to(x), srgb_to_linear(x)) / _D65.to(x).view(1, 3, 1, 1)
    d = 6 / 29
    f = torch.where(xyz > d ** 3, xyz.clamp_min(d ** 3) ** (1 / 3), xyz / (3 * d * d) + 4 / 29)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Convert sRGB in [0, 1] (any shape ending in 3) to CIE Lab (D65), via scikit-image.

    Not in the notebooks: colour science behind the renderer, the layer model and the dE2000 rulers.
    """
    from skimage import color

    arr = np.asarray(rgb, dtype=np.float64)
    return color.rgb2lab(arr.reshape(-1, 1, 3)).reshape(arr.shape)


def delta_e2000(rgb_a: np.ndarray, rgb_b: np.ndarray) -> np.ndarray:
    """Return the CIEDE2000 colour difference between two sRGB arrays (shapes ending in 3).

    About 1 is the smallest difference a person notices; lipstick shades in a catalogue differ by 5-20.
    Taught in 00_welcome, section 4.
    """
    from skimage import color

    return color.deltaE_ciede2000(rgb_to_lab(rgb_a), rgb_to_lab(rgb_b))
