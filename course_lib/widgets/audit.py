"""06_evaluation_fairness: the audit explorer. Pick a skin-tone group; see its faces and its errors.

The logic is plain functions (tested headless): ``group_indices`` picks a group's faces, ``group_summary``
collects its numbers (share of each sample set, transfer error per method) and ``audit_figure`` draws it. The
widget only wires a dropdown to them and says in its status line when the redraw finished.
"""
from __future__ import annotations

import textwrap
import time
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch

from course_lib import metrics, viz
from course_lib.widgets.common import load_ipywidgets, picture, set_status, status_line, style_sheet


def group_indices(tones, group: str) -> np.ndarray:
    """Indices of the faces whose Monk tone (1..10, fractional allowed) falls in ``group`` (``metrics.TONE_GROUPS``).

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    if group not in metrics.TONE_GROUPS:
        raise ValueError(f"group must be one of {list(metrics.TONE_GROUPS)}, got {group!r}")
    return np.flatnonzero(metrics.tone_group(tones) == group)


def _check_samples(samples: Mapping[str, tuple]) -> None:
    if not samples:
        raise ValueError("samples must map a name to (images, tones), e.g. {'data': (x_real, tones)}")
    for name, pair in samples.items():
        if not isinstance(pair, tuple) or len(pair) != 2 or len(pair[0]) != len(pair[1]):
            raise ValueError(f"samples[{name!r}] must be (images, tones) of the same length")


def group_summary(group: str, samples: Mapping[str, tuple], scores: Mapping[str, Mapping] | None = None) -> dict:
    """The numbers of one group: its share of each sample set and each method's mean transfer error there.

    ``samples``: ``{name: (images, tones)}``; ``scores``: ``{method: metrics.transfer_scores(...)}`` (optional).
    Returns ``{"share": {name: float}, "n": {name: int}, "errors": {method: {region: mean dE2000, "n": int}}}``.
    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    _check_samples(samples)
    summary: dict[str, Any] = {"group": group, "share": {}, "n": {}, "errors": {}}
    for name, (_, tones) in samples.items():
        idx = group_indices(tones, group)
        summary["share"][name] = len(idx) / max(len(tones), 1)
        summary["n"][name] = len(idx)
    for method, s in (scores or {}).items():
        idx = group_indices(s["tone"], group)
        row = {region: float(np.nanmean(np.asarray(s[region], dtype=float)[idx])) if len(idx) else float("nan")
               for region in ("lips", "eyeshadow", "cheeks")}
        summary["errors"][method] = {**row, "n": len(idx)}
    return summary


def summary_text(summary: dict) -> str:
    """One line for the status label: shares, then the lip error of each method.

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    shares = ", ".join(f"{name} {share:.0%}" for name, share in summary["share"].items())
    text = f"{summary['group']}: share of faces: {shares}"
    if summary["errors"]:
        errs = ", ".join(f"{m} {e['lips']:.1f}" for m, e in summary["errors"].items())
        text += f" | lips dE2000 ({next(iter(summary['errors'].values()))['n']} triplets): {errs}"
    return text


def _as01(x) -> np.ndarray:
    """Images as numpy (N, H, W, 3) in [0, 1], from tensors (N, 3, H, W) in [-1, 1] or numpy already in [0, 1]."""
    if isinstance(x, torch.Tensor):
        return viz.to_numpy_image(x)
    return np.clip(np.asarray(x, dtype=np.float32), 0, 1)


def audit_figure(group: str, samples: Mapping[str, tuple], triplets: Mapping | None = None,
                 outputs: Mapping[str, Any] | None = None, scores: Mapping[str, Mapping] | None = None, n: int = 8,
                 examples: int = 3):
    """Draw one group: ``n`` faces of each sample set (one row each), then ``examples`` transfer triplets of the
    group (source, reference, ground truth, each method's output with its lips dE2000). Returns the Figure.
    Not in the notebooks: a part of a notebook widget, tested headless."""
    import matplotlib.pyplot as plt

    _check_samples(samples)
    show_transfer = triplets is not None and outputs
    t_idx = group_indices(triplets["tone"], group)[:examples] if show_transfer else np.array([], dtype=int)
    cols = 3 + len(outputs or {})
    # Compact, so that the explorer fits a 1280 x 800 screen with its controls (about 8 x 6.6 inches).
    fig = plt.figure(figsize=(max(8, 1.3 * cols), 1.0 * len(samples) + 1.1 * len(t_idx) + 0.3))
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0 * len(samples), 1.1 * len(t_idx)]) if len(t_idx) else (fig, None)
    axes = np.atleast_1d(top.subplots(len(samples), 1))
    for ax, (name, (images, tones)) in zip(axes, samples.items()):
        idx = group_indices(tones, group)
        share = len(idx) / max(len(tones), 1)
        if len(idx):
            viz.show_grid(_as01(images[idx[:n]]), nrow=n, ax=ax)
        ax.set_axis_off()
        ax.set_title(f"{name}: {len(idx)} of {len(tones)} faces ({share:.0%})", fontsize=9, loc="left")
    if len(t_idx):
        grid = np.atleast_2d(bottom.subplots(len(t_idx), cols))
        columns = {"source": _as01(triplets["source"]), "reference": _as01(triplets["reference"]),
                   "ground truth": _as01(triplets["target"]), **{m: _as01(o) for m, o in outputs.items()}}
        for r, i in enumerate(t_idx):
            for c, (name, images) in enumerate(columns.items()):
                ax = grid[r, c]
                ax.imshow(images[i]), ax.set_axis_off()
                label = "\n".join(textwrap.wrap(name, 11)) if r == 0 else ""  # long names wrap, never overlap
                if scores is not None and name in scores:
                    label += ("\n" if label else "") + f"lips {scores[name]['lips'][i]:.1f}"
                ax.set_title(label, fontsize=8)
    return fig


@dataclass
class AuditView:
    """The audit explorer: box, the group dropdown, the picture, the status label and the last redraw time.

    Not in the notebooks: a part of a notebook widget, tested headless.
    """

    box: Any
    group: Any
    image: Any
    status: Any
    last_ms: float = 0.0


def audit_explorer(samples: Mapping[str, tuple], triplets: Mapping | None = None, outputs: Mapping[str, Any] | None = None,
                   scores: Mapping[str, Mapping] | None = None, n: int = 8, examples: int = 3) -> AuditView:
    """Build the audit explorer: a skin-tone group dropdown redraws that group's faces, transfers and errors.

    ``samples``: ``{name: (images, tones)}`` (data and each generator); ``outputs``: ``{method: transfer outputs}``
    on ``triplets`` (``data.transfer_triplets``); ``scores``: ``{method: metrics.transfer_scores(...)}``.
    Taught in 06_evaluation_fairness, section 4.
    """
    import matplotlib.pyplot as plt

    W = load_ipywidgets()
    _check_samples(samples)
    group = W.Dropdown(options=list(metrics.TONE_GROUPS), value="deep", description="skin tones")
    status = status_line(W)
    view = AuditView(None, group, None, status)  # box and picture come with the first figure, at its size

    def draw() -> bytes:
        fig = audit_figure(group.value, samples, triplets, outputs, scores, n=n, examples=examples)
        png = viz.figure_to_png_bytes(fig)
        plt.close(fig)
        return png

    def show(png: bytes, t0: float) -> None:
        view.image.value = png
        view.last_ms = (time.perf_counter() - t0) * 1000
        set_status(status, summary_text(group_summary(group.value, samples, scores)) + f": redrawn in {view.last_ms:.0f} ms")

    def redraw(change: dict | None = None) -> None:
        t0 = time.perf_counter()
        set_status(status, f"drawing the {group.value} group... (about a second)")  # sent before the work starts
        show(draw(), t0)

    t0 = time.perf_counter()
    first = draw()
    # The pane keeps the first figure's size in CSS pixels (no stretching); other groups' figures fit inside it.
    view.image = picture(W, *_png_size(first))
    view.box = W.VBox([style_sheet(W), group, status, view.image])  # dropdown and status above the figure: both in view
    show(first, t0)
    group.observe(redraw, names="value")
    return view


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) of a PNG from its header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
