"""Pictures: image conversions, sample grids and curves.

Library images are tensors ``(B, 3, H, W)`` in [-1, 1] (what a tanh generator emits); images for
matplotlib and scikit-image are numpy ``(H, W, 3)`` in [0, 1]. The helpers here convert between the two.
No library module imports this one: it is for notebooks and widgets. Taught in 00_welcome, section 3.
"""
from __future__ import annotations

import io
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from course_lib import validate

if TYPE_CHECKING:  # matplotlib is imported lazily, inside the functions that draw
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _check_image_tensor(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (B, 3, H, W) or (3, H, W), got {type(x).__name__}")
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"{name} must have shape (B, 3, H, W) or (3, H, W) (1 channel also accepted), got {tuple(x.shape)}")
    validate.finite(x, name)  # NaN pixels would be drawn as black without a word (a diverged G, for instance)
    return x


def to_numpy_image(x: torch.Tensor) -> np.ndarray:
    """Convert ``(3, H, W)`` or ``(B, 3, H, W)`` in [-1, 1] to numpy ``(H, W, 3)`` / ``(B, H, W, 3)`` in [0, 1].

    Taught in 05_makeup_transfer, section 7.
    """
    single = isinstance(x, torch.Tensor) and x.dim() == 3
    x = _check_image_tensor(x, "x")
    x = x.detach().float().cpu()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    arr = ((x.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()  # (B, H, W, 3) in [0, 1]
    return arr[0] if single else arr


def to_tensor_image(img: np.ndarray) -> torch.Tensor:
    """Convert numpy ``(H, W, 3)`` / ``(B, H, W, 3)`` (float in [0, 1] or uint8) to a tensor in [-1, 1].

    Grey images ``(H, W)`` are repeated to three channels; RGBA drops its alpha channel. The conversion is
    ``makeup.to_batch01``'s (one set of rules and tolerances for every image the library takes in).
    Not in the notebooks: a drawing helper for the library and its tools.
    """
    from course_lib.makeup import to_batch01

    if isinstance(img, torch.Tensor):
        raise TypeError(f"img must be a numpy image (H, W, 3) in [0, 1] or uint8, got a tensor {tuple(img.shape)}")
    x01, kind = to_batch01(img, "img")
    x = x01 * 2 - 1
    return x[0] if kind == "numpy3" else x


def make_grid(images: torch.Tensor | np.ndarray, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """Tile a batch into one numpy image ``(rows*H + pads, nrow*W + pads, 3)`` in [0, 1].

    ``images``: a tensor ``(B, 3, H, W)`` in [-1, 1] or a numpy batch ``(B, H, W, 3)`` in [0, 1].
    Not in the notebooks: a drawing helper for the library and its tools.
    """
    nrow, padding = validate.integer(nrow, "nrow", 1), validate.integer(padding, "padding", 0)
    batch = to_numpy_image(images) if isinstance(images, torch.Tensor) else np.asarray(images, dtype=np.float32)
    if batch.ndim == 3:
        batch = batch[None]
    if batch.ndim != 4 or batch.shape[-1] != 3:
        raise ValueError(f"images as numpy must have shape (B, H, W, 3), got {batch.shape}")
    b, h, w, _ = batch.shape
    ncol = min(nrow, b)
    nrows = (b + ncol - 1) // ncol
    grid = np.full((nrows * h + (nrows + 1) * padding, ncol * w + (ncol + 1) * padding, 3), pad_value, np.float32)
    for i in range(b):
        r, c = divmod(i, ncol)
        y, x = padding + r * (h + padding), padding + c * (w + padding)
        grid[y : y + h, x : x + w] = batch[i]
    return grid


def show_grid(images: torch.Tensor | np.ndarray, nrow: int = 8, title: str | None = None, ax=None, scale: float = 1.0):
    """Show a batch of images as a grid with matplotlib and return the figure. Taught in 00_welcome, section 4."""
    import matplotlib.pyplot as plt

    grid = make_grid(images, nrow=nrow)
    if ax is None:
        h, w = grid.shape[:2]
        fig, ax = plt.subplots(figsize=(scale * max(2.0, w / 48), scale * max(2.0, h / 48)))
    else:
        fig = ax.figure
    ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def to_png_bytes(img: np.ndarray, upscale: int = 1) -> bytes:
    """Encode a numpy ``(H, W, 3)`` image in [0, 1] as PNG bytes (for ``ipywidgets.Image``).

    ``upscale`` repeats pixels so a 64 px face is not a postage stamp in the browser.
    Taught in 06_evaluation_fairness, section 5.
    """
    from PIL import Image

    arr = (np.clip(np.asarray(img, dtype=np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
    if upscale > 1:
        arr = arr.repeat(upscale, axis=0).repeat(upscale, axis=1)
    buf = io.BytesIO()
    # Fast compression: a widget's PNG is sent once and redrawn often (level 1 encodes several times faster than 6).
    Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def before_after(before: np.ndarray, after: np.ndarray, split: float = 0.5, line: float = 1.0) -> np.ndarray:
    """A before/after split view: ``before`` left of column ``split * W``, ``after`` right of it, a thin line between.

    Both images are numpy ``(H, W, 3)`` in [0, 1] of the same shape. Taught in 05_makeup_transfer (try-on studio).
    Not in the notebooks: a drawing helper for the library and its tools.
    """
    before, after = np.asarray(before, dtype=np.float32), np.asarray(after, dtype=np.float32)
    if before.shape != after.shape or before.ndim != 3 or before.shape[-1] != 3:
        raise ValueError(f"before and after must be (H, W, 3) images of one shape, got {before.shape} and {after.shape}")
    if not 0.0 <= float(split) <= 1.0:
        raise ValueError(f"split must lie in [0, 1], got {split!r}")
    w = before.shape[1]
    col = int(round(float(split) * w))
    out = after.copy()
    out[:, :col] = before[:, :col]
    if 0 < col < w:
        out[:, col - 1 : col + 1] = line  # the divider, two pixels wide
    return out


def plot_curves(history: dict[str, Sequence[float]], keys: Sequence[str] | None = None, ax=None, title: str | None = None):
    """Plot training curves from a history dict (``{"d_loss": [...], "g_loss": [...]}``); return the figure.

    Taught in 02_training_dynamics, section 4.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3))
    else:
        fig = ax.figure
    for key in keys or [k for k, v in history.items() if len(v) and k != "step"]:
        if key not in history:
            raise KeyError(f"plot_curves: key {key!r} not in history; available: {sorted(history)}")
        xs = history.get("step", range(len(history[key])))
        ax.plot(list(xs)[: len(history[key])], history[key], label=key)
    ax.set_xlabel("step")
    ax.legend(loc="best", fontsize=8)
    if title:
        ax.set_title(title)
    return fig


class LivePlot:
    """A ``train.fit`` callback: loss curves, D(x) and D(G(z)), and samples from fixed noise, redrawn in place.

    In Jupyter the figure updates in one output (no scrolling wall of plots); elsewhere it is kept in
    ``self.figure`` for saving. Taught in 03_dcgan_faces, section 5.
    """

    def __init__(self, z_fixed: torch.Tensor, nrow: int = 8, title: str = "training", cond_fixed: torch.Tensor | None = None):
        self.z_fixed, self.nrow, self.title, self.cond_fixed = z_fixed, nrow, title, cond_fixed
        self.figure = None
        self._handle = None

    def __call__(self, run) -> None:
        import matplotlib.pyplot as plt

        h = run.history
        with torch.no_grad():
            device = next(run.G_ema.parameters()).device
            G = run.G_ema.eval()
            z = self.z_fixed.to(device)
            samples = (G(z) if self.cond_fixed is None else G(z, self.cond_fixed.to(device))).float().cpu()
        if self.figure is None:
            self.figure = plt.figure(figsize=(11, 4))
        fig = self.figure
        fig.clf()
        ax_loss, ax_d, ax_img = fig.add_subplot(1, 3, 1), fig.add_subplot(1, 3, 2), fig.add_subplot(1, 3, 3)
        if h["step"]:
            plot_curves(h, ["d_loss", "g_loss"], ax=ax_loss, title="losses")
            plot_curves(h, ["d_real", "d_fake"], ax=ax_d, title="D(x) and D(G(z))")
            ax_d.set_ylim(0, 1)
        show_grid(samples, nrow=self.nrow, ax=ax_img, title=f"{self.title}: step {run.step}")
        fig.tight_layout()
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # pragma: no cover - IPython ships with the course
            return
        if get_ipython() is None:
            return
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)  # the display keeps the picture; without this Jupyter shows it a second time


def figure_to_png_bytes(fig: Figure, dpi: int = 80) -> bytes:
    """Render a matplotlib figure to PNG bytes (for ``ipywidgets.Image``) without showing it.

    Not in the notebooks: a drawing helper for the library and its tools.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def plot_toy_2d(samples: torch.Tensor | np.ndarray, surface: torch.Tensor | np.ndarray | None = None,
                extent: Sequence[float] = (-3, 3, -3, 3), centres: torch.Tensor | np.ndarray | None = None,
                ax: Axes | None = None, title: str | None = None, surface_centre: float | None = 0.0,
                max_points: int = 1000) -> Figure:
    """Draw 2-D samples (black dots) over D's scores on a grid (red: judged real, blue: judged fake).

    ``surface`` is ``(res, res)`` logits from ``metrics.d_on_grid`` (rows follow y). Colours are centred on
    ``surface_centre`` (0 = the decision boundary D = 1/2), or on the median score when None (a Wasserstein
    critic's scores have no fixed zero). ``centres``: the true mode centres, drawn as red plus signs.
    Taught in 02_training_dynamics, sections 1 and 6.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(3.2, 3.2))
    else:
        fig = ax.figure
    if surface is not None:
        s = np.asarray(surface, dtype=np.float64)
        s = s - (np.median(s) if surface_centre is None else surface_centre)
        vmax = max(float(np.percentile(np.abs(s), 98)), 1e-6)
        ax.imshow(s, origin="lower", extent=tuple(extent), cmap="RdBu_r", vmin=-vmax, vmax=vmax, alpha=0.8)
    if centres is not None:  # drawn first, so samples sitting exactly on a mode stay visible
        c = np.asarray(centres)
        ax.scatter(c[:, 0], c[:, 1], s=60, c="tab:red", marker="+", linewidths=1.2, alpha=0.8)
    pts = np.asarray(samples)[:max_points]
    ax.scatter(pts[:, 0], pts[:, 1], s=3, c="k", alpha=0.6, linewidths=0)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return fig
