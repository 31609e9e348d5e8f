"""01_minimax_game (sliders on p_g) and 02_training_dynamics (the training scrubber)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from course_lib import data, metrics, viz
from course_lib.widgets.common import SliderView, load_ipywidgets

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# --------------------------------------------------------------------------------------------------
# 01_minimax_game: sliders on p_g's mean and width redraw p_data, p_g, D*, V(D*, G) and the JSD
# --------------------------------------------------------------------------------------------------
def minimax_state(mean: float, width: float, p_data: data.GaussianMixture | None = None,
                  lo: float = -15.0, hi: float = 15.0, n: int = 3001) -> dict[str, Any]:
    """Return the grid, both densities, D* and the numbers V(D*, G) and JSD for p_g = N(mean, width^2).

    ``p_data`` defaults to ``data.mixture_1d()``, the data of 01_minimax_game. The grid is wide (+-15) so
    that both densities integrate to 1 on it even for the widest p_g. Taught in 01_minimax_game, section 4.
    """
    if not width > 0:
        raise ValueError(f"width must be > 0, got {width}")
    p_data = p_data if p_data is not None else data.mixture_1d()
    x = torch.linspace(lo, hi, n, dtype=torch.float64)
    dx = float(x[1] - x[0])
    p, q = p_data.pdf(x).double(), data.gaussian_1d(mean, width).pdf(x).double()
    d_star = metrics.optimal_discriminator(p, q)
    return {
        "x": x, "p_data": p, "p_g": q, "d_star": d_star,
        "value": float(metrics.minimax_value_on_grid(d_star, p, q, dx)),
        "jsd": float(metrics.jsd_on_grid(p, q, dx)),
    }


def minimax_figure(state: dict[str, Any]) -> Figure:
    """Draw p_data, p_g and D* (right axis) for a ``minimax_state``; return a matplotlib Figure (not shown).

    Not in the notebooks by name: ``widgets.pg_sliders`` draws it (01_minimax_game, section 4).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.0))
    ax = fig.add_subplot()
    x = state["x"].numpy()
    ax.fill_between(x, state["p_data"].numpy(), alpha=0.3, color="tab:blue", label="p_data")
    ax.plot(x, state["p_g"].numpy(), color="tab:orange", lw=2, label="p_g")
    ax.set_xlim(-6, 6)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    right = ax.twinx()
    defined = (state["p_data"] + state["p_g"]) > 1e-12  # D* = p / (p + q) means nothing where both vanish
    right.plot(x, torch.where(defined, state["d_star"], torch.nan).numpy(), color="k", lw=1.5, ls="--", label="D*(x)")
    right.axhline(0.5, color="grey", lw=0.5)
    right.set_ylim(-0.02, 1.02)
    right.set_ylabel("D*(x)")
    lines = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(lines, [h.get_label() for h in lines], loc="upper left", fontsize=8)
    ax.set_title(f"V(D*, G) = {state['value']:.4f}   (-log 4 = {-np.log(4):.4f})   JSD = {state['jsd']:.4f} nats", fontsize=9)
    fig.tight_layout()
    return fig


@dataclass
class PgSlidersView:
    """The p_g sliders widget and its parts (tests move the sliders and read the image and label).

    Not in the notebooks: a part of a notebook widget, tested headless.
    """

    box: Any
    mean: Any
    width: Any
    image: Any
    status: Any
    state: dict
    last_ms: float = 0.0


def pg_sliders(p_data: data.GaussianMixture | None = None) -> PgSlidersView:
    """Build 01's widget: sliders on p_g's mean and width; the picture and V, JSD update live.

    Taught in 01_minimax_game, section 4.
    """
    W = load_ipywidgets()
    style = {"description_width": "initial"}
    mean = W.FloatSlider(value=3.0, min=-4.0, max=4.0, step=0.1, description="p_g mean", style=style)
    width = W.FloatSlider(value=1.0, min=0.2, max=3.0, step=0.1, description="p_g width", style=style)
    image = W.Image(format="png")
    status = W.Label(value="")
    view = PgSlidersView(box=W.VBox([W.HBox([mean, width]), image, status]), mean=mean, width=width,
                         image=image, status=status, state={})

    def redraw(change: dict | None = None) -> None:
        t0 = time.perf_counter()
        view.state = minimax_state(mean.value, width.value, p_data)
        image.value = viz.figure_to_png_bytes(minimax_figure(view.state))
        view.last_ms = (time.perf_counter() - t0) * 1000
        status.value = (f"mean {mean.value:.1f}, width {width.value:.1f}: V(D*, G) = {view.state['value']:.4f}, "
                        f"JSD = {view.state['jsd']:.4f} nats: redrawn")

    mean.observe(redraw, names="value")
    width.observe(redraw, names="value")
    redraw()
    return view


# --------------------------------------------------------------------------------------------------
# 02_training_dynamics: a slider over saved training snapshots (samples over D's surface)
# --------------------------------------------------------------------------------------------------
def snapshot_figure(snapshot: dict[str, Any], centres: torch.Tensor | None = None,
                    surface_centre: float | None = 0.0) -> Figure:
    """Draw one snapshot ``{"step", "samples", "surface", "extent"[, "scores"]}``; return a Figure (not shown).

    Not in the notebooks by name: ``widgets.training_scrubber`` draws it (02_training_dynamics, section 6).
    """
    from matplotlib.figure import Figure

    missing = {"step", "samples", "surface", "extent"} - set(snapshot)
    if missing:
        raise KeyError(f"snapshot lacks {sorted(missing)}; it needs step, samples (N, 2), surface (res, res), extent")
    fig = Figure(figsize=(4.4, 4.4))
    title = f"step {snapshot['step']}"
    if "scores" in snapshot:
        title += f": {snapshot['scores']['modes']} modes, {snapshot['scores']['hq']:.0%} high quality"
    viz.plot_toy_2d(snapshot["samples"], snapshot["surface"], snapshot["extent"], centres, ax=fig.add_subplot(),
                    title=title, surface_centre=surface_centre)
    return fig


def training_scrubber(snapshots: Sequence[dict[str, Any]], centres: torch.Tensor | None = None,
                      surface_centre: float | None = 0.0) -> SliderView:
    """Build 02's widget: a slider over training snapshots redraws the samples over D's decision surface.

    Taught in 02_training_dynamics, section 6.
    """
    if not snapshots:
        raise ValueError("training_scrubber needs at least one snapshot")
    W = load_ipywidgets()
    slider = W.IntSlider(value=0, min=0, max=len(snapshots) - 1, step=1, description="snapshot",
                         continuous_update=True, style={"description_width": "initial"})
    image = W.Image(format="png")
    status = W.Label(value="")
    view = SliderView(box=W.VBox([slider, image, status]), slider=slider, image=image, status=status)

    def redraw(change: dict | None = None) -> None:
        t0 = time.perf_counter()
        snap = snapshots[slider.value]
        image.value = viz.figure_to_png_bytes(snapshot_figure(snap, centres, surface_centre))
        view.last_ms = (time.perf_counter() - t0) * 1000
        status.value = f"snapshot {slider.value} (step {snap['step']}): redrawn"

    slider.observe(redraw, names="value")
    redraw()
    return view
