"""Classic (non-GAN) makeup transfer baselines, given the true region masks.

- ``histogram_transfer``: per region, match the source pixels' colour histogram to the reference's
  (scikit-image's ``match_histograms`` on the masked pixels, one channel at a time).
- ``reinhard_transfer``: per region, match the mean and standard deviation of each Lab channel
  (Reinhard et al. 2001, "Color transfer between images").
Both need masks for source *and* reference, which a try-on GAN does not: that is their advantage in the
comparison of 05_makeup_transfer, section 4.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

DEFAULT_REGIONS = ("lips", "eyeshadow", "cheeks")


def _region(mask, shape: tuple[int, int], name: str) -> np.ndarray:
    m = np.asarray(mask.detach().cpu() if hasattr(mask, "detach") else mask, dtype=np.float32).squeeze()
    if m.shape != shape:
        raise ValueError(f"mask {name!r} must have shape {shape}, got {m.shape}")
    return m


def _transfer(source: np.ndarray, reference: np.ndarray, src_masks: Mapping, ref_masks: Mapping,
              regions: Sequence[str], match) -> np.ndarray:
    src, ref = np.asarray(source, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    for name, arr in (("source", src), ("reference", ref)):
        if arr.ndim != 3 or arr.shape[-1] != 3:
            raise ValueError(f"{name} must be a numpy image (H, W, 3) in [0, 1], got shape {arr.shape}")
    out = src.copy()
    for region in regions:
        if region not in src_masks or region not in ref_masks:
            raise ValueError(f"region {region!r} must be in both mask dicts (source has {sorted(src_masks)})")
        m_src = _region(src_masks[region], src.shape[:2], region)
        m_ref = _region(ref_masks[region], ref.shape[:2], region)
        sel_src, sel_ref = m_src > 0.5, m_ref > 0.5
        if sel_src.sum() < 4 or sel_ref.sum() < 4:
            continue  # region absent in one image: nothing to transfer
        matched = match(src[sel_src], ref[sel_ref])  # (N, 3)
        layer = src.copy()
        layer[sel_src] = matched
        alpha = m_src[..., None]
        out = out * (1 - alpha) + layer * alpha  # soft edges; alpha-weighted where the mask is partial
    return np.clip(out, 0, 1).astype(np.float32)


def histogram_transfer(source, reference, source_masks: Mapping, reference_masks: Mapping,
                       regions: Sequence[str] = DEFAULT_REGIONS) -> np.ndarray:
    """Match each region's colour histogram in ``source`` to the same region in ``reference``.

    Taught in 05_makeup_transfer, section 6.
    """
    from skimage.exposure import match_histograms

    return _transfer(source, reference, source_masks, reference_masks, regions,
                     lambda s, r: match_histograms(s[:, None, :], r[:, None, :], channel_axis=-1)[:, 0, :])


def transfer_batch(transfer, source, reference, source_masks: Mapping, reference_masks: Mapping,
                   regions: Sequence[str] = DEFAULT_REGIONS) -> np.ndarray:
    """Run a per-image baseline (``histogram_transfer`` or ``reinhard_transfer``) over a batch.

    ``source`` and ``reference``: tensors ``(B, 3, H, W)`` in [-1, 1] (as ``data.transfer_triplets`` gives them);
    the masks: dicts of ``(B, 1, H, W)`` tensors. Returns numpy ``(B, H, W, 3)`` in [0, 1].
    Taught in 05_makeup_transfer, section 6.
    """
    to01 = lambda x: ((x.detach().float().cpu() + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).numpy()  # noqa: E731
    src, ref = to01(source), to01(reference)
    if src.shape[0] != ref.shape[0]:
        raise ValueError(f"source and reference must hold the same number of images, got {src.shape[0]} and {ref.shape[0]}")
    pick = lambda masks, i: {k: v[i, 0] for k, v in masks.items()}  # noqa: E731
    return np.stack([transfer(src[i], ref[i], pick(source_masks, i), pick(reference_masks, i), regions) for i in range(len(src))])


def reinhard_transfer(source, reference, source_masks: Mapping, reference_masks: Mapping,
                      regions: Sequence[str] = DEFAULT_REGIONS) -> np.ndarray:
    """Match each region's Lab mean and standard deviation in ``source`` to ``reference``.

    Taught in 05_makeup_transfer, section 6.
    """
    from skimage import color

    def match(s: np.ndarray, r: np.ndarray) -> np.ndarray:
        ls, lr = color.rgb2lab(s[:, None, :])[:, 0], color.rgb2lab(r[:, None, :])[:, 0]
        out = (ls - ls.mean(0)) / (ls.std(0) + 1e-6) * lr.std(0) + lr.mean(0)
        return np.clip(color.lab2rgb(out[:, None, :])[:, 0], 0, 1)

    return _transfer(source, reference, source_masks, reference_masks, regions, match)
