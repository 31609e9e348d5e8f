"""00_welcome: the noise -> image slider and the SynthFaces data explorer."""
from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import numpy as np

from course_lib import viz
from course_lib.widgets.common import ControlsView, SliderView, controls_column, load_ipywidgets, picture, status_line, style_sheet


@lru_cache(maxsize=4)
def _portrait(size: int) -> np.ndarray:
    """Return scikit-image's astronaut portrait (ships with the package), resized to ``(size, size, 3)``."""
    from skimage import data, transform

    img = data.astronaut()[:400, 56:456]  # square crop around the face and shoulders
    return transform.resize(img, (size, size), anti_aliasing=True).astype(np.float32)


def noise_to_image(mix: float, size: int = 96, seed: int = 0) -> np.ndarray:
    """Blend fixed Gaussian noise (``mix=0``) into a portrait (``mix=1``); return ``(size, size, 3)`` in [0, 1].

    A first picture of what a generator learns: a map from noise to images. Taught in 00_welcome.
    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    if not 0.0 <= float(mix) <= 1.0:
        raise ValueError(f"mix must lie in [0, 1], got {mix}")
    img = _portrait(size)
    noise = np.random.default_rng(seed).normal(0.5, 0.25, img.shape).astype(np.float32)
    return np.clip((1 - mix) * noise + mix * img, 0, 1)


def welcome_slider(size: int = 96, upscale: int = 2) -> SliderView:
    """Build the welcome notebook's first widget: a slider from noise to image, with a status label.

    Taught in 00_welcome, section 3.
    """
    W = load_ipywidgets()
    slider = W.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.1, description="noise → image",
                           readout_format=".1f", continuous_update=True, style={"description_width": "initial"})
    image, status = picture(W, size * upscale, size * upscale), status_line(W)
    view = SliderView(box=W.VBox([style_sheet(W), slider, image, status]), slider=slider, image=image, status=status)

    def redraw(change: dict | None = None) -> None:
        t0 = time.perf_counter()
        image.value = viz.to_png_bytes(noise_to_image(slider.value, size=size), upscale=upscale)
        view.last_ms = (time.perf_counter() - t0) * 1000
        status.value = f"slider at {slider.value:.1f}: redrawn"

    slider.observe(redraw, names="value")
    redraw()
    return view


# --------------------------------------------------------------------------------------------------
# 00_welcome: the SynthFaces data explorer
# --------------------------------------------------------------------------------------------------
MASK_COLOURS = {"skin": (0.95, 0.75, 0.55), "lips": (0.9, 0.1, 0.2), "eyes": (0.1, 0.8, 0.2), "brows": (0.2, 0.3, 0.9),
                "hair": (0.45, 0.25, 0.1), "eyeshadow": (0.8, 0.2, 0.9), "cheeks": (1.0, 0.6, 0.0), "liner": (0.0, 0.9, 0.9)}


def mask_overlay(faces_batch, i: int = 0, regions=("lips", "eyes", "brows", "eyeshadow", "cheeks", "liner")) -> np.ndarray:
    """Colour each region of face ``i`` (a faces.Faces batch) on a grey copy of it: (H, W, 3) in [0, 1].

    Taught in 00_welcome, section 4.
    """
    img = faces_batch.image(i)
    out = np.repeat(img.mean(-1, keepdims=True), 3, -1) * 0.6
    for name in regions:
        m = faces_batch.mask(name, i)[..., None]
        out = out * (1 - 0.8 * m) + np.asarray(MASK_COLOURS[name]) * 0.8 * m
    return np.clip(out, 0, 1)


def explorer_picture(identity, style, intensity: float = 1.0, size: int = 128) -> np.ndarray:
    """Render ``identity`` wearing ``style`` and put its region masks beside it: (size, 2 size + 4, 3).

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    from course_lib import faces

    batch = faces.render(identity, style, size=size, intensity=intensity)
    gap = np.ones((size, 4, 3), np.float32)
    return np.concatenate([batch.image(0), gap, mask_overlay(batch)], axis=1)


class ExplorerView(ControlsView):
    """The data explorer: a control per face attribute. A ``ControlsView``.

    Not in the notebooks: a part of a notebook widget, tested headless.
    """


def face_explorer(size: int = 128, seed: int = 0, upscale: int = 2) -> ExplorerView:
    """Build the SynthFaces explorer: sliders on identity and makeup redraw a face and its masks live.

    Taught in 00_welcome, section 4.
    """
    W = load_ipywidgets()
    from course_lib import faces, makeup

    def pick(product: str, default: str) -> Any:
        return W.Dropdown(options=["none", *makeup.CATALOGUE[product]], value=default, description=product)

    c = {
        "face": W.IntSlider(value=0, min=0, max=999, description="face #"),
        "tone": W.FloatSlider(value=5.0, min=1.0, max=10.0, step=0.5, description="skin tone", readout_format=".1f"),
        "hair_style": W.Dropdown(options=list(faces.HAIR_STYLES), value="long", description="hair"),
        "lipstick": pick("lipstick", "coral"),
        "finish": W.ToggleButtons(options=list(makeup.FINISHES), value="satin", description="finish"),
        "eyeshadow": pick("eyeshadow", "bronze"),
        "blush": pick("blush", "peach"),
        "eyeliner": pick("eyeliner", "none"),
        "intensity": W.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="intensity"),
    }
    c["finish"].style.button_width = "70px"
    image, status = picture(W, (2 * size + 4) * upscale, size * upscale), status_line(W)
    controls = list(c.values())
    view = ExplorerView(W.VBox([style_sheet(W), W.HBox([controls_column(W, controls[:5], width=400),
                                                        controls_column(W, controls[5:], width=340)]), image, status]),
                        c, image, status)

    def redraw(change: dict | None = None) -> None:
        t0 = time.perf_counter()
        identity = faces.sample_face(seed, c["face"].value)[0].replace(tone=c["tone"].value, hair_style=c["hair_style"].value)
        chosen = {p: c[p].value for p in ("lipstick", "eyeshadow", "blush", "eyeliner") if c[p].value != "none"}
        style = makeup.MakeupStyle(**chosen, finish=c["finish"].value)
        image.value = viz.to_png_bytes(explorer_picture(identity, style, c["intensity"].value, size), upscale=upscale)
        view.last_ms = (time.perf_counter() - t0) * 1000
        status.value = f"face {c['face'].value}, tone {c['tone'].value:.1f}: {style.describe()}"

    for control in c.values():
        control.observe(redraw, names="value")
    redraw()
    return view
