"""The SynthFaces renderer: identity parameters -> a stylised face, its region masks, then makeup.

Everything is drawn for a whole batch at once with tensor operations, with the shapes and the canvas
of ``drawing``. Layers are composited back to front in linear
RGB; the hard regions (background, hair, clothes, skin, eyes, brows, lips) partition every pixel
(they sum to 1), while the makeup zones (eyeshadow, cheeks, liner) are soft overlays on the skin.
Makeup is then put on by ``makeup.apply_makeup``, the same function used on real photos.
Taught in 00_welcome, section 6.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from course_lib.faces.drawing import (
    _LUT_SIZE, _R, _SRGB8_LUT, CHUNK, MASKS, REGIONS, ZONES, ZOOM, _banks, _Canvas, _disc, _ellipse, _ramp, _sq,
    _stack, _window,
)
from course_lib.faces.identity import SIZES, Identity
from course_lib.makeup import PRODUCT_MASK, MakeupStyle, apply_makeup


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




def render_bare(identities: Sequence[Identity], size: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Render faces without makeup: images ``(B, 3, H, W)`` in [0, 1] (8-bit steps) and all masks.

    Faces are drawn in chunks of ``CHUNK``, which keeps every layer in the CPU's cache.
    """
    n = len(identities)
    images = torch.empty(n, 3, size, size)
    planes = torch.empty(n, len(MASKS), size, size)  # every mask of every face, filled chunk by chunk
    for i in range(0, n, CHUNK):
        _render_chunk(identities[i : i + CHUNK], size, images[i : i + CHUNK], planes[i : i + CHUNK])
    return images, {name: planes[:, j : j + 1] for j, name in enumerate(MASKS)}


def _render_chunk(identities: Sequence[Identity], size: int, out_img: torch.Tensor, out_masks: torch.Tensor) -> None:
    """Render one chunk of faces into ``out_img`` (B, 3, S, S) and ``out_masks`` (B, len(MASKS), S, S)."""
    b, p = len(identities), _stack(identities)
    smooth_bank, grain_bank = _banks(size)
    # Pixel centres -> canonical face frame: undo shift, then tilt and scale.
    t = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1
    v, u = t.view(1, -1, 1), t.view(1, 1, -1)
    th = torch.deg2rad(p["rotation"])
    c, s, k = torch.cos(th), torch.sin(th), p["scale"] * ZOOM
    du, dv = u - p["shift_x"], v - p["shift_y"]
    X = (c * du + s * dv) / k  # (B, S, S)
    Y = (-s * du + c * dv) / k
    pix = 2.0 / (size * k)  # one pixel in canonical units, (B, 1, 1)
    tex = smooth_bank[p["texture"]]  # (B, S, S) smooth noise in [0, 1]
    canvas = _Canvas(out_masks[:, : len(REGIONS)])
    pose = torch.cat([(c * k).view(-1, 1), (s * k).view(-1, 1), p["shift_x"].view(-1, 1), p["shift_y"].view(-1, 1)], 1).numpy()

    def win(x0: float, x1: float, y0: float, y1: float):
        w = _window(pose, size, x0, x1, y0, y1)
        return w, X[:, w[0], w[1]], Y[:, w[0], w[1]], tex[:, w[0], w[1]]

    # Backdrop: vertical gradient, darker at the bottom, with a vignette.
    canvas.img[:] = p["background"] * ((1 - 0.35 * (v + 1) / 2) * (1 - 0.11 * (u * u + v * v))).unsqueeze(1)

    a, bh, jaw = p["face_width"], p["face_height"], p["jaw"]
    lx, ly = p["light_x"], p["light_y"]
    norm = torch.sqrt(lx * lx + ly * ly + 1)

    # Hair behind the head: an enlarged skull (wavy for curly hair), cut at a style-dependent height.
    vol, curl = p["hair_volume"], p["hair_curl"]
    w_h, Xh, Yh, th_ = win(-0.8, 0.8, -1.05, float(p["hair_cut"].max()) + 0.1)
    Xw, Yw = Xh, Yh
    curly = (curl[:, 0, 0] > 0).nonzero()[:, 0]
    if len(curly):  # the waves only where the hair is curly (elsewhere the factor is exactly 1)
        Xw, Yw = Xh.clone(), Yh.clone()
        xc, yc, tc_ = Xh[curly], Yh[curly], th_[curly]
        wav = 1 + 0.035 * curl[curly] * torch.sin(xc * 30 + 3 * tc_) * torch.sin(yc * 26 - 2 * tc_)
        Xw[curly], Yw[curly] = xc * wav, yc * wav
    skull = _ellipse(Xw, Yw, 0.0, -0.05, a + vol, bh * 0.96 + vol, pix)
    drape = _ramp(a + vol * 0.9 - Xh.abs(), pix) * _ramp(Yh + 0.2, pix)
    back = torch.maximum(skull, drape) * _ramp(p["hair_cut"] - Yh, pix * 4) * p["hair_density"]
    hair_shade = (0.8 - 0.45 * (lx * Xh + ly * Yh) / norm).clamp(0.45, 1.25) * (0.65 + 0.7 * th_)
    hair_col = p["hair"] * hair_shade.unsqueeze(1)
    canvas.paint("hair", hair_col, back, w_h)
    if (p["hair_bun"] > 0).any():  # a bun on top, drawn in its own small window
        w_b, Xb, Yb, tb_ = win(-0.25, 0.25, -1.05, -0.45)
        bun = _disc(Xb, Yb, 0.0, -bh - vol - 0.05, p["hair_bun"], pix) * (p["hair_bun"] > 0)
        bun_shade = (0.8 - 0.45 * (lx * Xb + ly * Yb) / norm).clamp(0.45, 1.25) * (0.65 + 0.7 * tb_)
        canvas.paint("hair", p["hair"] * bun_shade.unsqueeze(1), bun, w_b)

    # Clothes and neck.
    w_c, Xc, Yc, tc = win(-1.2, 1.2, 0.7, 1.9)
    # sloping shoulders (a parabola) with a round neckline
    clothes = _ramp(Yc - (0.8 + 0.45 * _sq(Xc)), pix) * (1 - _disc(Xc, Yc, 0.0, 0.8, 0.19, pix))
    canvas.paint("clothes", p["clothes"] * (0.75 + 0.3 * tc.unsqueeze(1)), clothes, w_c)
    w_n, Xn, Yn, _ = win(-0.3, 0.3, 0.05, 1.9)
    neck = _ramp(0.2 * a / 0.46 - Xn.abs(), pix) * _ramp(Yn - 0.1, pix)
    skin = p["skin"]
    canvas.paint("skin", skin * (0.62 + 0.25 * ((Yn - 0.45) / 0.5).clamp(0, 1)).unsqueeze(1), neck, w_n)

    # Ears, then the face: an egg-shaped oval that narrows towards the chin.
    w_e, Xe, Ye, _ = win(-0.62, 0.62, -0.14, 0.16)
    ears = _ellipse(Xe.abs(), Ye, a * 0.97, 0.02, 0.065, 0.11, pix)  # both ears at once: the face is symmetric
    canvas.paint("skin", skin * 0.8, ears, w_e)
    w_f, Xf, Yf, tf = win(-0.56, 0.56, -0.72, 0.72)
    taper = 1 - 0.38 * jaw * _sq((Yf / bh).clamp(min=0))
    face = _ellipse(Xf / taper, Yf, 0.0, 0.0, a, bh, pix)
    # Lambert shading on a pseudo-sphere normal, with a floor so deep tones keep their detail.
    nx, ny = Xf / (a * taper), Yf / bh
    nz = (1 - nx * nx - ny * ny).clamp(min=0.02).sqrt()
    lambert = ((-lx * nx - ly * ny + nz) / norm).clamp(0, 1)
    shade = 0.62 + 0.48 * lambert + 0.05 * (tf - 0.5)
    flush = torch.exp(-(_sq((Xf.abs() - 0.25) / 0.12) + _sq((Yf - 0.17) / 0.1)))  # natural cheek colour
    face_col = skin * shade.unsqueeze(1) * (1 + flush.unsqueeze(1) * torch.tensor([0.05, -0.02, -0.02]).view(1, 3, 1, 1))
    face_col = face_col + 0.035 * _sq(_sq(lambert) * lambert).unsqueeze(1)  # a soft sheen keeps deep tones readable
    canvas.paint("skin", face_col, face, w_f)
    skin_shading = torch.ones(b, size, size)
    skin_shading[:, w_f[0], w_f[1]] = shade

    def sub(w):  # skin shading inside a window
        return skin_shading[:, w[0], w[1]]

    # Nose: shading only (a shadow on the side away from the light, nostrils, a shadow under the tip).
    y_e, nl, nw = -0.01, p["nose_length"], p["nose_width"]
    y_n = y_e + 0.2 * nl
    w_no, Xr, Yr, _ = win(-0.2, 0.2, -0.05, 0.33)
    side = torch.sign(lx) + (lx == 0)
    ridge = torch.exp(-_sq((Xr + side * 0.045 * nw) / 0.022)) * ((Yr - y_e) / (y_n - y_e)).clamp(0, 1) * (Yr < y_n + 0.02)
    nostril = torch.exp(-(_sq((Xr.abs() - 0.04 * nw) / 0.022) + _sq((Yr - y_n - 0.01) / 0.013)))
    # the under-tip shadow ends at this box, not at the chunk's (wider) window: no face depends on its chunk
    under = torch.exp(-(_sq(Xr / (0.06 * nw)) + _sq((Yr - y_n - 0.045) / 0.02))) * (Xr.abs() <= 0.2)
    darken = (0.22 * ridge + 0.5 * nostril + 0.15 * under).clamp(max=0.7)
    nose_skin = canvas.part[:, _R["skin"], w_no[0], w_no[1]]
    canvas.img[:, :, w_no[0], w_no[1]] *= (1 - nose_skin * darken).unsqueeze(1)

    # Brows: arcs above the eyes, thinner towards the outer ends.
    es, ez = p["eye_spacing"], p["eye_size"]
    w_b, Xr, Yr, _ = win(-0.38, 0.38, -0.23, -0.07)
    # The face is symmetric in the canonical frame: draw both brows (and eyes) at once on |x|.
    xa = Xr.abs()
    tb = (xa - es) / 0.12  # -1 (inner end) .. 1 (outer end) along the brow
    outer = tb.clamp(-1, 1)
    yb = y_e - 0.125 - 0.035 * p["brow_arch"] * (1 - tb * tb).clamp(min=0) + 0.012 * outer
    half = 0.017 * p["brow_thickness"] * (1 - 0.45 * (outer + 1) / 2)
    brows = _ramp(half - (Yr - yb).abs(), pix) * _ramp(0.12 - (xa - es).abs(), pix)
    brow_col = p["hair"] * 0.55 + p["skin"] * 0.12
    canvas.paint("brows", brow_col * sub(w_b).unsqueeze(1), brows, w_b)

    # Eyes: almond openings with iris and pupil, a dark upper lash line; zones for eyeshadow and liner.
    w_y, Xr, Yr, _ = win(-0.4, 0.4, -0.15, 0.06)
    sh = sub(w_y).unsqueeze(1)
    w, hu, hl = 0.09 * ez, 0.05 * ez, 0.032 * ez
    dx = Xr.abs() - es  # mirrored: both eyes at once
    tt = (dx / w).clamp(-1, 1)
    arc = (1 - tt * tt).clamp(min=0).sqrt()
    y_up, y_lo = y_e - hu * arc, y_e + hl * arc
    eyes = _ramp(Yr - y_up, pix) * _ramp(y_lo - Yr, pix) * _ramp(w - dx.abs(), pix)
    ix = p["gaze"] * 0.3 * w * torch.sign(Xr)  # both irises look the same way: mirrored, that is +/- gaze
    iris = _disc(dx, Yr, ix, y_e + 0.004, 0.78 * hu, pix) * eyes
    pupil = _disc(dx, Yr, ix, y_e + 0.004, 0.32 * hu, pix) * eyes
    lash = _ramp(0.011 - (Yr - y_up + 0.004).abs(), pix) * _ramp(w * 1.06 - dx.abs(), pix)
    # Eyeshadow zone: a soft dome over the lid, densest at the lash line, fading towards the brow.
    r2 = _sq((dx - 0.012) / (w * 1.4)) + _sq((Yr - (y_e - 0.02)) / (hu + 0.055))
    shadow_zone = (1 - r2).clamp(min=0) ** 0.6 * _ramp(y_e + 0.004 - Yr, pix)
    liner_zone = _ramp(0.014 - (Yr - y_up + 0.01).abs(), pix) * _ramp(w * 1.15 - dx.abs(), pix)
    sclera = torch.tensor([0.8, 0.78, 0.74]).view(1, 3, 1, 1) * (0.6 + 0.4 * sh)
    i1 = iris.unsqueeze(1)
    eye_col = sclera * (1 - i1) + p["iris"] * (0.5 + 0.5 * sh) * i1
    eye_col = eye_col * (1 - 0.95 * pupil.unsqueeze(1))
    eye_col = eye_col * (1 - 0.35 * _ramp(0.02 - (Yr - (y_e - hu)).abs(), pix).unsqueeze(1))  # lid shadow on the eyeball
    canvas.paint("eyes", eye_col, eyes, w_y)
    canvas.paint("eyes", torch.full((1, 3, 1, 1), 0.012), lash, w_y)

    # Lips: a cupid's-bow upper lip and a fuller lower lip around a mouth line that curves up in a smile.
    y_m = y_e + 0.355 + 0.03 * (nl - 1)
    wl, fu = 0.15 * p["lip_width"], p["lip_fullness"]
    w_l, Xr, Yr, _ = win(-0.22, 0.22, 0.22, 0.48)
    sh = sub(w_l)
    tl = (Xr / wl).clamp(-1, 1)
    y_line = y_m - 0.03 * p["smile"] * tl * tl
    across = (1 - tl * tl).clamp(min=0)
    y_top = y_line - 0.036 * fu * across**0.55 * (1 - 0.3 * torch.exp(-_sq(tl / 0.16)))  # the bow dips at the centre
    y_bot = y_line + 0.05 * fu * across**0.6
    lips = _ramp(Yr - y_top, pix) * _ramp(y_bot - Yr, pix) * _ramp(wl - Xr.abs(), pix)
    deep = ((p["tone"] - 1) / 9).view(-1, 1, 1, 1)
    tint = torch.tensor([0.82, 0.5, 0.52]).view(1, 3, 1, 1) * (1 - deep) + torch.tensor([0.78, 0.58, 0.62]).view(1, 3, 1, 1) * deep
    upper = (Yr < y_line).float()
    gleam = torch.exp(-(_sq(Xr / (0.5 * wl)) + _sq((Yr - y_line - 0.022 * fu) / (0.014 * fu))))
    lip_shade = sh * (0.78 * upper + (1 - upper) * (1.0 + 0.35 * gleam))
    lip_shade = lip_shade * (1 - 0.55 * _ramp(0.009 - (Yr - y_line).abs(), pix))  # the line between the lips
    canvas.paint("lips", p["skin"] * tint * lip_shade.unsqueeze(1), lips, w_l)

    # Hair in front: the skull cap above the hairline, which dips at the temples, with a side parting.
    # (inside the back-hair window, where ``skull`` was computed)
    w_fh = (slice(w_h[0].start, min(w_h[0].stop, _window(pose, size, -0.8, 0.8, -1.05, 0.25)[0].stop)), w_h[1])
    rows_in = slice(0, w_fh[0].stop - w_fh[0].start)
    Xt, Yt = X[:, w_fh[0], w_fh[1]], Y[:, w_fh[0], w_fh[1]]
    hairline = p["hair_hairline"] * bh / 0.62 + p["hair_curve"] * Xt * Xt + 0.06 * p["part"] * Xt
    front = skull[:, rows_in] * _ramp(hairline - Yt, pix * 1.5) * p["hair_density"]
    canvas.paint("hair", hair_col[:, :, rows_in], front, w_fh)

    # Makeup zones live on the skin that is visible after every layer.
    skin_mask, eye_mask = canvas.part[:, _R["skin"]], canvas.part[:, _R["eyes"]]
    zones = {name: out_masks[:, len(REGIONS) + j] for j, name in enumerate(ZONES)}  # (B, S, S) views
    for z in zones.values():
        z.zero_()
    ry, cy_ = w_y
    zones["eyeshadow"][:, ry, cy_] = shadow_zone * skin_mask[:, ry, cy_]
    zones["liner"][:, ry, cy_] = liner_zone * (skin_mask[:, ry, cy_] + eye_mask[:, ry, cy_]).clamp(max=1)
    w_k, Xr, Yr, _ = win(-0.56, 0.56, -0.05, 0.41)
    cheeks = torch.exp(-(_sq((Xr.abs() - (es + 0.06)) / 0.09) + _sq((Yr - (y_e + 0.19)) / 0.065)))
    cheeks *= (Xr.abs() <= 0.56) & (Yr >= -0.05) & (Yr <= 0.41)  # the Gaussians' tails end at this box
    zones["cheeks"][:, w_k[0], w_k[1]] = cheeks * skin_mask[:, w_k[0], w_k[1]]

    # Fine grain (mostly proportional to the light, like a camera's), then linear -> 8-bit sRGB via a table.
    grain = grain_bank[p["texture"]]
    lin = canvas.img.addcmul_(canvas.img, grain, value=0.06).add_(grain, alpha=0.002).clamp_(0, 1)
    idx = lin.mul_(_LUT_SIZE - 1).round_().to(torch.int32)  # int32 indices: half the memory traffic of int64
    torch.index_select(_SRGB8_LUT, 0, idx.view(-1), out=out_img.view(-1))  # straight into the output


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
        bare01, masks = render_bare(identities, size)
        images = bare01.mul_(2).sub_(1)
        worn = [i for i, s in enumerate(styles) if not s.is_bare]
        if worn:  # only the made-up faces go through the makeup layers
            zones = {k: masks[k][worn] for k in PRODUCT_MASK.values()}
            made = apply_makeup(images[worn], zones, [styles[i] for i in worn], intensity=intensity)
            images[worn] = torch.round((made + 1) * 127.5) / 127.5 - 1  # 8-bit, like every rendered image
    return Faces(images=images, masks=masks, identities=identities, makeups=styles)
