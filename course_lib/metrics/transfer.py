"""Makeup transfer against ground truth (05_makeup_transfer, section 4; 06_evaluation_fairness, section 4).

SynthFaces renders the source identity wearing the reference's makeup (``data.transfer_triplets``), so a
transfer method's output can be compared pixel by pixel with what it should have produced:

- per region (lips, eyeshadow zone, cheeks): the mean CIEDE2000 difference over the region's pixels
  (mask > 0.5), per image. About 1 is the smallest difference a person notices;
- outside every makeup region: SSIM (Wang et al. 2004) between output and target, so a method that
  "transfers" by repainting the whole face is caught;
- the same numbers per skin-tone group (light / medium / deep, on the Monk scale) for the fairness audit.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from course_lib import validate
from course_lib.colour import delta_e2000
from course_lib.faces.identity import TONE_GROUPS

REGIONS = ("lips", "eyeshadow", "cheeks")
# Pixels where every makeup mask is below this count as "outside the makeup" for SSIM.
OUTSIDE_THRESHOLD = 0.02
_MAKEUP_MASKS = ("lips", "eyeshadow", "cheeks", "liner")


def tone_group(tones) -> np.ndarray:
    """Map Monk tones (1..10, fractional allowed) to group names, an array at a time (``faces.tone_group`` for one).

    Taught in 06_evaluation_fairness, section 3.
    """
    t = np.rint(np.asarray(tones, dtype=float)).clip(1, 10)
    out = np.empty(t.shape, dtype=object)
    for name, (lo, hi) in TONE_GROUPS.items():
        out[(t >= lo) & (t <= hi)] = name
    return out


def _images01(x, name: str, n: int | None = None) -> np.ndarray:
    """A batch as numpy ``(N, H, W, 3)`` in [0, 1], from tensors in [-1, 1] or numpy already in [0, 1]."""
    if isinstance(x, torch.Tensor):
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"{name} must be a tensor (N, 3, H, W) in [-1, 1], got shape {tuple(x.shape)}")
        arr = ((x.detach().float().cpu() + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    else:
        arr = np.asarray(x, dtype=np.float32)
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise ValueError(f"{name} must be numpy (N, H, W, 3) in [0, 1] or a tensor (N, 3, H, W), got shape {arr.shape}")
        arr = arr.clip(0, 1)
    if n is not None and len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} images, expected {n} (one per triplet)")
    validate.finite(x if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float32), name)  # clip() hides NaN
    return arr


def _mask(masks: Mapping, key: str, shape: tuple[int, int, int]) -> np.ndarray:
    if key not in masks:
        raise ValueError(f"masks has no {key!r} region; it has {sorted(masks)}")
    m = masks[key]
    m = np.asarray(m.detach().cpu() if isinstance(m, torch.Tensor) else m, dtype=np.float32)
    m = m.reshape(m.shape[0], *m.shape[-2:]) if m.ndim == 4 else m
    if m.shape != shape:
        raise ValueError(f"masks[{key!r}] must have shape {shape}, got {m.shape}")
    validate.finite(m, f"masks[{key!r}]")
    return m


def region_delta_e(output, target, masks: Mapping, regions: Sequence[str] = REGIONS) -> dict[str, np.ndarray]:
    """Per image, the mean dE2000 between ``output`` and ``target`` over each region's pixels (mask > 0.5).

    Returns ``{region: (N,) array}``; an image where the region is empty (< 4 pixels) gets NaN.
    Taught in 05_makeup_transfer, section 4.
    """
    tgt = _images01(target, "target")
    out = _images01(output, "output", len(tgt))
    if out.shape != tgt.shape:
        raise ValueError(f"output and target must have the same shape, got {out.shape} and {tgt.shape}")
    de = delta_e2000(out, tgt)  # (N, H, W)
    result = {}
    for region in regions:
        m = _mask(masks, region, de.shape) > 0.5
        count = m.sum((1, 2))
        mean = (de * m).sum((1, 2)) / np.maximum(count, 1)
        result[region] = np.where(count >= 4, mean, np.nan)
    return result


def ssim_outside(output, target, masks: Mapping) -> np.ndarray:
    """Per image, the SSIM between ``output`` and ``target`` averaged over pixels outside every makeup region.

    Not in the notebooks: behind the metrics the notebooks call.
    """
    from skimage.metrics import structural_similarity

    tgt = _images01(target, "target")
    out = _images01(output, "output", len(tgt))
    outside = np.ones(tgt.shape[:3], dtype=bool)
    for key in _MAKEUP_MASKS:
        if key in masks:
            outside &= _mask(masks, key, tgt.shape[:3]) < OUTSIDE_THRESHOLD
    scores = np.empty(len(tgt))
    for i in range(len(tgt)):  # one SSIM map per image (skimage works on single images)
        _, smap = structural_similarity(out[i], tgt[i], channel_axis=-1, data_range=1.0, full=True, win_size=7)
        scores[i] = smap.mean(-1)[outside[i]].mean() if outside[i].any() else np.nan
    return scores


def transfer_scores(output, triplets: Mapping) -> dict[str, np.ndarray]:
    """Score a method's outputs on ``data.transfer_triplets``: per-image arrays ``lips``, ``eyeshadow``,
    ``cheeks`` (dE2000), ``ssim_outside``, and the source's ``tone`` and tone ``group``.
    Taught in 05_makeup_transfer, section 6."""
    for key in ("target", "masks", "tone"):
        if key not in triplets:
            raise ValueError(f"triplets must come from data.transfer_triplets (missing key {key!r})")
    scores = region_delta_e(output, triplets["target"], triplets["masks"])
    scores["ssim_outside"] = ssim_outside(output, triplets["target"], triplets["masks"])
    scores["tone"] = np.asarray(triplets["tone"], dtype=float)
    validate.finite(scores["tone"], "triplets['tone']")
    scores["group"] = tone_group(scores["tone"])
    return scores


def summarise(scores: Mapping[str, np.ndarray], by_group: bool = False) -> list[dict]:
    """Average per-image scores into table rows: one row, or one per tone group (with its ``n``).

    Each region also gets ``"{region}_se"``, the standard error of its mean (NaN below two scored faces).
    Taught in 05_makeup_transfer, section 6.
    """
    groups = list(TONE_GROUPS) if by_group else [None]
    rows = []
    for g in groups:
        sel = np.ones(len(scores["tone"]), dtype=bool) if g is None else scores["group"] == g
        row = {"group": g or "all", "n": int(sel.sum())}
        for k in (*REGIONS, "ssim_outside"):
            vals = np.asarray(scores[k], dtype=float)[sel]
            vals = vals[~np.isnan(vals)]  # a face without the region scores NaN there
            row[k] = float(vals.mean()) if len(vals) else float("nan")
            if k in REGIONS:
                row[f"{k}_se"] = float(vals.std(ddof=1) / np.sqrt(len(vals))) if len(vals) > 1 else float("nan")
        rows.append(row)
    return rows


def transfer_table(methods: Mapping[str, object], triplets: Mapping, by_group: bool = False) -> list[dict]:
    """Score several methods' outputs (``{name: outputs}``) on the same triplets; rows carry ``method``.

    Not in the notebooks: behind the metrics the notebooks call.
    """
    rows = []
    for name, output in methods.items():
        for row in summarise(transfer_scores(output, triplets), by_group=by_group):
            rows.append({"method": name, **row})
    return rows


def format_table(rows: Sequence[Mapping], columns: Sequence[str] = ("method", "group", "n", *REGIONS, "ssim_outside")) -> str:
    """Render table rows as aligned text (dE to 2 decimals, SSIM to 3). Taught in 05_makeup_transfer, section 6."""
    cols = [c for c in columns if any(c in r for r in rows)]
    def cell(c, v):
        if isinstance(v, float):
            return f"{v:.3f}" if c == "ssim_outside" else f"{v:.2f}"
        return str(v)
    body = [[cell(c, r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths)) for b in body]
    return "\n".join(lines)
