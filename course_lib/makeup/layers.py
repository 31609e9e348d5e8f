"""The makeup layer model: put a ``MakeupStyle`` on any image that has region masks.

Used by the SynthFaces renderer (so "ground truth" is this function's output) and on real photos.
Each product is a layer blended in linear RGB:

    x_lin <- x_lin + a * (target - x_lin),      a = opacity * intensity * mask

- lipstick: target = shade * (Y / Y_lips)^k  keeps the lips' own shading (Y = luminance, Y_lips its
  mean over the lips); k = 0.6 (matte, flatter) .. 1.4 (gloss), and gloss adds a white specular term;
- eyeshadow: the soft zone mask raised to 1/extent (a smaller extent hugs the lash line), k = 0.7;
- blush: soft cheek mask, k = 0.5; eyeliner: flat colour on the liner band.

Pixels where every layer's ``a`` is 0 are returned untouched (bit for bit).
Taught in 05_makeup_transfer, section 1.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from course_lib import validate
from course_lib.colour import linear_to_srgb, luminance, srgb_to_linear
from course_lib.makeup.catalogue import (
    COLOUR_SLICE, EXTENT_INDEX, EXTENT_MIN, OPACITY_INDEX, SHINE_INDEX, VECTOR_FIELDS, MakeupStyle,
)


def to_batch01(image, name: str = "image") -> tuple[torch.Tensor, str]:
    """Convert an image or batch to a float tensor ``(B, 3, H, W)`` in [0, 1]; return it and its input kind.

    Accepted (documented conversions): tensors ``(B, 3, H, W)`` / ``(3, H, W)`` in [-1, 1]; numpy ``(H, W, 3)``
    or ``(B, H, W, 3)``, float in [0, 1] or uint8; grey ``(H, W)`` (repeated to RGB); RGBA (alpha dropped).
    Not in the notebooks: the layer model's internals.
    """
    if isinstance(image, torch.Tensor):
        x = image.detach().float()
        if x.dim() == 3:
            x = x.unsqueeze(0)
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"{name} as a tensor must have shape (B, 3, H, W) or (3, H, W) in [-1, 1], got {tuple(image.shape)}")
        validate.finite(x, name)  # a range check alone is always False for NaN
        low, high = torch.aminmax(x) if x.numel() else (0.0, 0.0)
        if low < -1.001 or high > 1.001:
            raise ValueError(f"{name} as a tensor must lie in [-1, 1], got values in [{low:.3g}, {high:.3g}]")
        return (x + 1).mul_(0.5).clamp_(0, 1), "tensor4" if image.dim() == 4 else "tensor3"
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255
    elif not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{name} must be a float array in [0, 1], a uint8 array or a tensor in [-1, 1]; got dtype {arr.dtype}")
    else:
        validate.finite(arr, name)  # NaN and inf named as such, before the range check (always False for NaN)
        if arr.size and (arr.min() < -1e-3 or arr.max() > 1 + 1e-3):
            raise ValueError(f"{name} as a float array must lie in [0, 1] (got [{arr.min():.3g}, {arr.max():.3g}]); divide uint8 data by 255")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim not in (3, 4) or arr.shape[-1] not in (3, 4):
        raise ValueError(f"{name} must have shape (H, W, 3) or (B, H, W, 3) (grey (H, W) and RGBA accepted), got {arr.shape}")
    kind = "numpy3" if arr.ndim == 3 else "numpy4"
    arr = arr[..., :3]
    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).clamp(0, 1)
    t = t.unsqueeze(0) if t.dim() == 3 else t
    return t.permute(0, 3, 1, 2), kind


def from_batch01(x: torch.Tensor, kind: str):
    """Convert back to the input's kind (tensors in [-1, 1], numpy float32 in [0, 1]).

    Not in the notebooks: the layer model's internals.
    """
    if kind.startswith("tensor"):
        out = x * 2 - 1
        return out if kind == "tensor4" else out[0]
    arr = x.permute(0, 2, 3, 1).numpy()
    return arr if kind == "numpy4" else arr[0]


def mask_batch(masks: Mapping, key: str, batch: int, hw: tuple[int, int]) -> torch.Tensor:
    """Return ``masks[key]`` as a float tensor ``(B, 1, H, W)`` in [0, 1], or raise naming what is wrong.

    Not in the notebooks: the layer model's internals.
    """
    if key not in masks:
        raise ValueError(f"masks has no {key!r} region (needed for this makeup); it has {sorted(masks)}")
    m = masks[key]
    m = m.detach().float() if isinstance(m, torch.Tensor) else torch.from_numpy(np.asarray(m, dtype=np.float32))
    if m.dim() == 2:
        m = m[None, None]  # (H, W) -> (1, 1, H, W)
    elif m.dim() == 3:
        m = m.unsqueeze(1)  # (B, H, W) -> (B, 1, H, W)
    if m.dim() != 4 or m.shape[1] != 1 or m.shape[-2:] != hw or m.shape[0] not in (1, batch):
        raise ValueError(f"masks[{key!r}] must have shape (H, W), (B, H, W) or (B, 1, H, W) with (H, W) = {hw} and B = {batch}, got {tuple(masks[key].shape)}")
    validate.finite(m, f"masks[{key!r}]")
    low, high = torch.aminmax(m) if m.numel() else (0.0, 0.0)
    if low < -1e-4 or high > 1 + 1e-4:
        raise ValueError(f"masks[{key!r}] must hold values in [0, 1], got [{low:.3g}, {high:.3g}]")
    return m.clamp(0, 1).expand(batch, 1, *hw)


def _styles(style, batch: int) -> list[MakeupStyle]:
    styles = [style] if isinstance(style, MakeupStyle) else list(style) if isinstance(style, Sequence) else None
    if styles is None or not all(isinstance(s, MakeupStyle) for s in styles):
        raise TypeError(f"style must be a MakeupStyle or a list of them (one per image), got {type(style).__name__}")
    if len(styles) == 1:
        styles = styles * batch
    if len(styles) != batch:
        raise ValueError(f"style: got {len(styles)} styles for a batch of {batch} images")
    return styles


def _intensity(intensity, batch: int) -> torch.Tensor:
    t = torch.as_tensor(intensity, dtype=torch.float32).flatten()
    if t.numel() == 1:
        t = t.expand(batch)
    if t.numel() != batch or not torch.isfinite(t).all() or t.min() < 0 or t.max() > 1:
        raise ValueError(f"intensity must be a number in [0, 1] (or one per image), got {intensity!r}")
    return t.view(batch, 1, 1, 1)


def _masked_mean(y: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (y * m).sum((2, 3), keepdim=True) / m.sum((2, 3), keepdim=True).clamp_min(1e-6)


def params_from_vector(style: torch.Tensor) -> dict[str, dict[str, torch.Tensor]]:
    """Each product's layer parameters from style vectors ``(B, 18)`` (``VECTOR_FIELDS``), differentiably: colour
    ``(B, 3, 1, 1)`` in linear light, opacity (0 where not worn), the lipstick's shine and the eyeshadow's extent
    ``(B, 1, 1, 1)``. The one builder of layer parameters: ``apply_makeup`` passes its styles' vectors.
    Not in the notebooks: the layer model's internals."""
    if not isinstance(style, torch.Tensor) or style.dim() != 2 or style.shape[1] != len(VECTOR_FIELDS):
        raise ValueError(f"style must be a tensor (B, {len(VECTOR_FIELDS)}) of style vectors (MakeupStyle.to_vector()), "
                         f"got {tuple(style.shape) if isinstance(style, torch.Tensor) else type(style).__name__}")
    v = style.float()[:, :, None, None]  # (B, 18, 1, 1)
    params = {product: {"opacity": v[:, i:i + 1]} for product, i in OPACITY_INDEX.items()}
    for product, colour in COLOUR_SLICE.items():
        params[product]["colour"] = srgb_to_linear(v[:, colour])
    params["lipstick"]["shine"] = v[:, SHINE_INDEX:SHINE_INDEX + 1]
    params["eyeshadow"]["extent"] = v[:, EXTENT_INDEX:EXTENT_INDEX + 1].clamp_min(EXTENT_MIN)
    return params


def _style_params(styles: list[MakeupStyle]) -> dict[str, dict[str, torch.Tensor]]:
    """``params_from_vector`` for ``MakeupStyle`` objects."""
    return params_from_vector(torch.from_numpy(np.stack([s.to_vector() for s in styles])))


def _shading(y: torch.Tensor, m: torch.Tensor, k: float) -> torch.Tensor:
    """(Y / mean of Y over the region)^k: the region's own light and shade, to keep under a new colour."""
    return (y / _masked_mean(y, m).clamp_min(1e-4)).clamp(0.3, 1.5) ** k


def _lipstick(y, m, colour, opacity, shine):
    ratio = _shading(y, m, 1.0)
    target = colour * ratio ** (0.6 + 0.8 * shine)  # matte flattens the shading, gloss deepens it
    # Gloss: a white highlight where the lips are brightest; only well inside the mask, where edge
    # pixels (part lip, part skin) cannot fake a bright spot.
    interior = ((m - 0.9) / 0.1).clamp(0, 1)
    return target + 0.5 * shine * shine * (ratio - 1.1).clamp(0, 1) * interior, opacity * m


def _eyeshadow(y, m, colour, opacity, extent):
    return colour * _shading(y, m, 0.7), opacity * m ** (1 / extent)  # small extent: hugs the lash line


def _blush(y, m, colour, opacity):
    return colour * _shading(y, m, 0.5), opacity * m


def _eyeliner(y, m, colour, opacity):
    return colour, opacity * m


# Applied in this order (later layers go on top): product -> (mask name, layer function).
LAYERS = {"lipstick": ("lips", _lipstick), "eyeshadow": ("eyeshadow", _eyeshadow),
          "blush": ("cheeks", _blush), "eyeliner": ("liner", _eyeliner)}
PRODUCT_MASK = {product: mask for product, (mask, _) in LAYERS.items()}


def composite(x01: torch.Tensor, masks: Mapping[str, torch.Tensor], style: torch.Tensor,
              intensity: torch.Tensor | float = 1.0) -> torch.Tensor:
    """The layer model on whole tensors, differentiable in the image, the masks and the style.

    ``x01`` ``(B, 3, H, W)`` in [0, 1]; ``masks`` maps "lips", "eyeshadow", "cheeks", "liner" to soft masks
    ``(B, 1, H, W)`` (for example *predicted* by a try-on generator); ``style`` ``(B, 18)`` vectors. It computes
    what ``apply_makeup`` computes (which crops to the made-up area and is what the renderer uses), on every pixel,
    so gradients reach the masks: 05_makeup_transfer's try-on generator learns where makeup goes through it.
    Taught in 05_makeup_transfer, section 1.
    """
    params = params_from_vector(style)
    x = srgb_to_linear(x01)
    y = luminance(x)  # the shading every layer keeps, measured before any makeup
    amount = torch.as_tensor(intensity, dtype=x.dtype).reshape(-1, 1, 1, 1)
    for product, (mask_name, layer) in LAYERS.items():
        target, alpha = layer(y, masks[mask_name], **params[product])
        x = x + alpha * amount * (target - x)  # x <- x + a (target - x), in linear light
    return linear_to_srgb(x)


def support_box(masks: list[torch.Tensor]) -> tuple[slice, slice] | None:
    """The smallest window (rows, columns) holding every non-zero pixel of masks ``(B, 1, H, W)`` (None if all are empty).

    Not in the notebooks: the layer model's internals.
    """
    any_px = torch.stack([m.amax(dim=(0, 1)) for m in masks]).amax(0) > 0  # (H, W)
    rows, cols = any_px.any(1).nonzero().flatten(), any_px.any(0).nonzero().flatten()
    if rows.numel() == 0:
        return None
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def apply_makeup(image, masks: Mapping, style: MakeupStyle | Sequence[MakeupStyle], intensity: float = 1.0):
    """Put ``style`` on ``image`` inside its region ``masks``; return an image of the same kind.

    ``masks`` maps region names to soft masks in [0, 1]: "lips" (lipstick), "eyeshadow" (a zone that is 1 at
    the lash line and fades towards the brow), "cheeks" (blush), "liner" (eyeliner); only the regions the
    style uses are needed. ``intensity`` in [0, 1] scales every layer (0 returns the image unchanged).
    Each layer works only inside its mask's bounding box (over the batch), so the cost follows the made-up
    area, not the photo's size.
    Taught in 05_makeup_transfer, section 1.
    """
    x01, kind = to_batch01(image)
    b, _, h, w = x01.shape
    styles, amount = _styles(style, b), _intensity(intensity, b)
    used = [(product, *LAYERS[product]) for product in LAYERS if any(getattr(s, product) for s in styles)]
    region_masks = [mask_batch(masks, mask_name, b, (h, w)) for _, mask_name, _ in used]
    params = _style_params(styles)
    box = support_box(region_masks) if used else None
    if box is None or float(amount.max()) == 0.0:
        return from_batch01(x01, kind)
    crop = x01[:, :, box[0], box[1]]
    x = srgb_to_linear(crop)
    y = luminance(x)  # (B, 1, h, w): the shading each layer keeps, measured before any makeup
    touched = torch.zeros_like(y, dtype=torch.bool)
    for (product, _, layer), m_full in zip(used, region_masks):
        # Every image takes the layer; those not wearing the product have opacity 0, so alpha = 0 leaves them
        # exactly as they were (cheaper than gathering the wearers out of the batch and back).
        m = m_full[:, :, box[0], box[1]]
        sub = support_box([m])
        if sub is None:
            continue
        rows, cols = sub
        target, alpha = layer(y[:, :, rows, cols], m[:, :, rows, cols], **params[product])
        alpha = alpha.mul_(amount)
        xs = x[:, :, rows, cols]  # a view: the update lands in x
        xs.add_(alpha * (target - xs))  # x <- x + a (target - x), in linear light
        touched[:, :, rows, cols] |= alpha > 0
    out = x01.clone()
    out[:, :, box[0], box[1]] = torch.where(touched, linear_to_srgb(x), crop)  # untouched pixels stay bit-exact
    return from_batch01(out, kind)


# --------------------------------------------------------------------------------------------------
# Reading makeup off a face: the layer model run backwards (analysis by synthesis)
# --------------------------------------------------------------------------------------------------
MAKEUP_MASKS = tuple(PRODUCT_MASK.values())  # ("lips", "eyeshadow", "cheeks", "liner")
WORN_THRESHOLD = 0.02  # a pixel belongs to the made-up area where some product mask exceeds this


def _region_masks(masks: Mapping, keys: Sequence[str], like: torch.Tensor) -> dict[str, torch.Tensor]:
    b, _, h, w = like.shape
    return {k: mask_batch(masks, k, b, (h, w)) for k in keys}


def _made_up_and_bare_skin(m: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The made-up area (the product masks' maximum) and soft bare-skin weights (skin outside that area), (B, 1, H, W)."""
    made_up = torch.cat([m[k] for k in MAKEUP_MASKS], 1).amax(1, keepdim=True)
    return made_up, m["skin"] * (made_up < WORN_THRESHOLD)


def lip_tint(bare_faces, masks: Mapping) -> torch.Tensor:
    """The natural lips' colour as a multiple of the skin's, per linear RGB channel ``(3,)``, averaged over bare
    faces (``masks``: their "lips", "skin" and product masks): what ``bare_estimate`` paints on the lips instead of
    plain skin. Measured on bare faces only, so a model that uses it stays unpaired.
    Not in the notebooks: measured by ``train.transfer.train_layered``."""
    x01, _ = to_batch01(bare_faces, "bare_faces")
    m = _region_masks(masks, (*MAKEUP_MASKS, "skin"), x01)
    x = srgb_to_linear(x01)
    _, skin = _made_up_and_bare_skin(m)
    lips = (m["lips"] > 0.5).to(x.dtype)
    keep = (lips.sum((1, 2, 3)) >= 4) & (skin.sum((1, 2, 3)) >= 4)
    if not keep.any():
        raise ValueError("lip_tint needs faces whose masks show at least 4 pixels of lips and of bare skin")
    ratio = _masked_mean(x, lips) / _masked_mean(x, skin).clamp_min(1e-4)  # (B, 3, 1, 1)
    return ratio[keep].mean(0).flatten()


def bare_estimate(image, masks: Mapping, tint: torch.Tensor | None = None):
    """The face with its makeup taken off, estimated from the face alone: every pixel of the made-up area (some
    product mask above ``WORN_THRESHOLD``) becomes the mean colour of the bare skin around it (``masks["skin"]``
    outside the made-up area, or all of it where that leaves nothing), blended by the makeup masks' maximum m, in
    linear light:

        bare = x (1 - m) + skin_mean (1 + m_lips (tint - 1)) m

    ``tint`` ``(3,)`` (``lip_tint``): the natural lips as a multiple of the skin; None paints them skin-coloured.
    The estimate is flat: it knows the skin tone, not the shading (what limits the unpaired transfer that reads a
    style against it; notebook 05 measures it). Returns the same kind as ``image``.
    Taught in 05_makeup_transfer, section 3.
    """
    x01, kind = to_batch01(image)
    m = _region_masks(masks, (*MAKEUP_MASKS, "skin"), x01)
    made_up, skin = _made_up_and_bare_skin(m)  # skin: soft weights, how surely each pixel is bare skin
    x = srgb_to_linear(x01)
    few = skin.sum((1, 2, 3), keepdim=True) < 4
    skin = torch.where(few, m["skin"], skin)  # masks that leave no bare skin (a poor parse): all the skin they see
    if (skin.sum((1, 2, 3)) < 4).any():
        raise ValueError("masks['skin'] must show at least 4 pixels of skin in every image (the skin around the makeup "
                         "gives the bare face its colour)")
    fill = _masked_mean(x, skin)  # (B, 3, 1, 1)
    if tint is not None:
        tint = torch.as_tensor(tint, dtype=x.dtype).flatten()
        if tint.shape != (3,) or not torch.isfinite(tint).all() or (tint <= 0).any():
            raise ValueError(f"tint must be 3 positive numbers (linear RGB, makeup.lip_tint), got {tuple(tint.shape)} values")
        fill = fill * (1 + m["lips"] * (tint.view(1, 3, 1, 1) - 1))  # (B, 3, H, W): lips take the natural tint
    return from_batch01(linear_to_srgb(x + made_up * (fill - x)), kind)


def fit_style(image, bare, masks: Mapping, steps: int = 150, lr: float = 0.05, init: torch.Tensor | None = None) -> torch.Tensor:
    """Read the makeup a face wears as a style vector ``(B, 18)`` by fitting the layer model to it:

        s* = argmin_s  sum_p w_p | composite(bare, masks, s) - image |_1,p      w = max(1[lips > 0.02], eyeshadow, cheeks, liner)

    with s = sigmoid(theta), theta from 0 (every entry starts at 0.5) or from ``init`` (style vectors ``(B, 18)`` in
    [0, 1], e.g. a style encoder's reading, to refine), ``steps`` steps of Adam at ``lr``.
    ``bare``: the same face without makeup (``bare_estimate``); ``masks``: its "lips", "eyeshadow", "cheeks" and
    "liner" masks. No network and no labels: the same 18 numbers the renderer used, recovered as well as the
    bare face is known. Deterministic; runs with gradients on even inside ``torch.no_grad()`` or
    ``torch.inference_mode()``.
    A product's colour and opacity trade against each other (a paler shade worn thicker looks much the same on the
    skin it was read from, not on another); only the skin's texture under the makeup tells them apart, and weakly:
    even given the true bare face and masks, a reading that re-makes the reference closely can paint another skin
    less well, most of all a deep one (measured by ``tools/transfer_table.py``, method ``oracle-fit``).
    Taught in 05_makeup_transfer, sections 3 and 6.
    """
    x01, _ = to_batch01(image, "image")
    b01, _ = to_batch01(bare, "bare")
    if b01.shape != x01.shape:
        raise ValueError(f"bare must have the image's shape {tuple(x01.shape)}, got {tuple(b01.shape)}")
    steps, lr = validate.integer(steps, "steps", 1), validate.number(lr, "lr", 1e-6, 10.0)
    if init is not None:
        if not isinstance(init, torch.Tensor):
            raise TypeError(f"init must be a tensor of style vectors ({x01.shape[0]}, {len(VECTOR_FIELDS)}), got {type(init).__name__}")
        if init.shape != (x01.shape[0], len(VECTOR_FIELDS)):
            raise ValueError(f"init must be style vectors ({x01.shape[0]}, {len(VECTOR_FIELDS)}), one per image, got {tuple(init.shape)}")
        validate.finite(init, "init")
        if init.min() < 0 or init.max() > 1:
            raise ValueError(f"init must hold style vectors with values in [0, 1], got values in [{init.min():.3g}, {init.max():.3g}]")
    m = _region_masks(masks, MAKEUP_MASKS, x01)
    # Only the made-up area is fitted (the layers hardly touch the rest): fit on the window holding it, about
    # a third of a 64 px face.
    box = support_box([(v > WORN_THRESHOLD).to(v.dtype) for v in m.values()])
    if box is not None:
        x01, b01, m = x01[:, :, box[0], box[1]], b01[:, :, box[0], box[1]], {k: v[:, :, box[0], box[1]] for k, v in m.items()}
    # Each pixel counts as much as a product can show there: the soft masks of the eyeshadow zone, the cheeks and
    # the liner (in their faint tails the bare estimate's errors would outweigh the makeup), and the whole lips.
    weight = torch.maximum((m["lips"] > WORN_THRESHOLD).to(x01.dtype), torch.cat([m[k] for k in MAKEUP_MASKS[1:]], 1).amax(1, keepdim=True))
    weight = weight / weight.sum((1, 2, 3), keepdim=True).clamp_min(1.0)  # each image counts as much
    # Gradients on, even under torch.no_grad() or torch.inference_mode(): the inputs are cloned as normal tensors.
    with torch.inference_mode(False), torch.enable_grad():
        x01, b01, weight = x01.clone(), b01.clone(), weight.clone()
        m = {k: v.clone() for k, v in m.items()}
        theta = (torch.zeros(x01.shape[0], len(VECTOR_FIELDS)) if init is None else
                 torch.logit(init.detach().to(x01.dtype).clamp(1e-4, 1 - 1e-4))).requires_grad_(True)
        opt = torch.optim.Adam([theta], lr=lr)
        for _ in range(steps):
            loss = ((composite(b01, m, torch.sigmoid(theta)) - x01).abs() * weight).sum() / 3
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return torch.sigmoid(theta).detach()
