"""Interactive widgets for the notebooks (ipywidgets, imported lazily).

Each widget keeps its logic in plain functions (tested headless) and its widget code thin:
a control's observer calls the function, puts the picture in an ``Image`` widget and sets a status
``Label`` whose final text tells a person (or the browser test) that the redraw finished.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from course_lib import viz


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("The course widgets need ipywidgets >= 8: run `make lab`, or pip install 'ipywidgets>=8'") from err
    return ipywidgets


@lru_cache(maxsize=4)
def _portrait(size: int) -> np.ndarray:
    """Return scikit-image's astronaut portrait (ships with the package), resized to ``(size, size, 3)``."""
    from skimage import data, transform

    img = data.astronaut()[:400, 56:456]  # square crop around the face and shoulders
    return transform.resize(img, (size, size), anti_aliasing=True).astype(np.float32)


def noise_to_image(mix: float, size: int = 96, seed: int = 0) -> np.ndarray:
    """Blend fixed Gaussian noise (``mix=0``) into a portrait (``mix=1``); return ``(size, size, 3)`` in [0, 1].

    A first picture of what a generator learns: a map from noise to images. Taught in 00_welcome.
    """
    if not 0.0 <= float(mix) <= 1.0:
        raise ValueError(f"mix must lie in [0, 1], got {mix}")
    img = _portrait(size)
    noise = np.random.default_rng(seed).normal(0.5, 0.25, img.shape).astype(np.float32)
    return np.clip((1 - mix) * noise + mix * img, 0, 1)


@dataclass
class SliderView:
    """A built widget: the box to display, and its parts (so tests can move the slider and read the result)."""

    box: Any
    slider: Any
    image: Any
    status: Any
    last_ms: float = 0.0


def welcome_slider(size: int = 96, upscale: int = 2) -> SliderView:
    """Build the welcome notebook's first widget: a slider from noise to image, with a status label."""
    W = _ipywidgets()
    slider = W.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.1, description="noise → image",
                           readout_format=".1f", continuous_update=True, style={"description_width": "initial"})
    image = W.Image(format="png", width=size * upscale, height=size * upscale)
    status = W.Label(value="")
    view = SliderView(box=W.VBox([slider, image, status]), slider=slider, image=image, status=status)

    def redraw(change: dict | None = None) -> None:
        t0 = time.perf_counter()
        image.value = viz.to_png_bytes(noise_to_image(slider.value, size=size), upscale=upscale)
        view.last_ms = (time.perf_counter() - t0) * 1000
        status.value = f"slider at {slider.value:.1f}: redrawn"

    slider.observe(redraw, names="value")
    redraw()
    return view
