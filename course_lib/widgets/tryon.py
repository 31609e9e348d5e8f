"""05_makeup_transfer: the try-on studio.

Pick a source (a SynthFace, a bundled portrait, or an uploaded photo, decoded in memory and never saved),
then a catalogue shade / custom colour or a reference face, intensity, region switches and finish; a split
slider shows before | after. ``studio_render`` holds the logic (tested headless); the widget calls it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from course_lib import landmarks, viz
from course_lib.widgets.common import (
    load_ipywidgets, controls_column, picture, placeholder_png, set_status, status_line, style_sheet,
)

PORTRAIT_SOURCES = landmarks.PORTRAITS  # the bundled portraits, in the studio's menu
SOURCES = ("SynthFace", *PORTRAIT_SOURCES, "upload")
CUSTOM = "custom colour"
DISPLAY = 288  # pixels: the picture's height in the notebook
SEED = 2024  # SynthFaces seed of the studio's faces (not a training seed)


def _synthface(index: int, made_up: bool) -> np.ndarray:
    from course_lib import faces

    x = faces.render_indices([int(index)], seed=SEED + int(made_up), size=64, makeup=made_up).images
    return viz.to_numpy_image(x[0])


def _display(img: np.ndarray) -> np.ndarray:
    """Resize to the display height (nearest-neighbour up for 64 px faces, smooth down for photos)."""
    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]
    h, w = img.shape[:2]
    size = (DISPLAY, max(1, round(w * DISPLAY / h)))
    mode = {"mode": "nearest"} if h < DISPLAY else {"mode": "bilinear", "antialias": True, "align_corners": False}
    return torch.nn.functional.interpolate(t, size=size, **mode)[0].permute(1, 2, 0).clamp(0, 1).numpy()


def _display_before(values: dict[str, Any], state: "StudioState", before: np.ndarray) -> np.ndarray:
    """``_display(before)``, kept while the source stays the same (it does not change with the makeup controls)."""
    src = values["source"]
    key = ("display", src, values["face"] if src == "SynthFace" else None)
    owner = state.upload if src == "upload" else None  # a new upload must not reuse the last one's picture
    hit = state.cache.get(key)
    if hit is None or hit[0] is not owner:
        hit = state.cache[key] = (owner, _display(before))
    return hit[1]


@dataclass
class StudioState:
    """What the studio remembers between redraws: the decoded upload (in memory only) and cached faces.

    Not in the notebooks: a part of a notebook widget, tested headless.
    """

    upload: np.ndarray | None = None
    cache: dict = field(default_factory=dict)


def studio_source(values: dict[str, Any], state: StudioState) -> np.ndarray:
    """The source image the controls select, (H, W, 3) in [0, 1].

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    src = values["source"]
    if src == "SynthFace":
        key = ("face", values["face"])
        if key not in state.cache:
            state.cache[key] = _synthface(values["face"], made_up=False)
        return state.cache[key]
    if src == "upload":
        if state.upload is None:
            raise ValueError("no photo uploaded yet: use the upload button (the photo stays in memory, never saved)")
        return state.upload
    return _portrait(src, state).image


def _portrait(name: str, state: StudioState):
    """The bundled portrait ``name``, loaded once per studio: the same object goes to the try-on each redraw."""
    from course_lib import landmarks

    key = ("portrait", name)
    if key not in state.cache:
        state.cache[key] = landmarks.load_portrait(name)
    return state.cache[key]


def studio_render(values: dict[str, Any], state: StudioState, nets=None) -> tuple[np.ndarray, np.ndarray, str]:
    """Apply the controls to the source: return (before, after, description). Raises on bad input.

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    from course_lib import makeup, tryon

    before = studio_source(values, state)
    regions = tuple(r for r in tryon.REGIONS if values[r])
    src = _portrait(values["source"], state) if values["source"] in PORTRAIT_SOURCES else before  # with its landmarks
    if values["mode"] == "shade":
        lip = values["lip_colour"] if values["lipstick"] == CUSTOM else values["lipstick"]
        pick = lambda key: None if values[key] == "none" else values[key]  # noqa: E731
        style = makeup.MakeupStyle(lipstick=lip, finish=values["finish"], eyeshadow=pick("eyeshadow"), blush=pick("blush"))
        after = tryon.apply_shade(src, style, intensity=values["intensity"], regions=regions, nets=nets)
        text = style.describe()
    else:
        key = ("reference", values["reference"])
        if key not in state.cache:
            state.cache[key] = _synthface(values["reference"], made_up=True)
        after = tryon.apply_reference(src, state.cache[key], intensity=values["intensity"], regions=regions,
                                      method=values["method"], nets=nets)
        text = f"makeup of reference face {values['reference']} ({values['method']})"
    return before, np.asarray(after), f"{text}, intensity {values['intensity']:.2f}, regions: {', '.join(regions) or 'none'}"


@dataclass
class Studio:
    """The built studio: box, controls by name, the picture, the reference thumbnail and the status label.

    Not in the notebooks: a part of a notebook widget, tested headless.
    """

    box: Any
    controls: dict
    image: Any
    reference: Any
    status: Any
    state: StudioState
    last_ms: float = 0.0


def tryon_studio(nets=None) -> Studio:
    """Build the try-on studio widget (needs ipywidgets; the shipped try-on checkpoints load on first use).

    Taught in 05_makeup_transfer, section 8.
    """
    W = load_ipywidgets()
    from course_lib import makeup, tryon

    nets = nets or tryon.load_models()
    c = {
        "source": W.Dropdown(options=list(SOURCES), value="SynthFace", description="source"),
        "face": W.IntSlider(value=0, min=0, max=199, description="face"),
        "mode": W.ToggleButtons(options=["shade", "reference"], value="shade", description="try on"),
        "lipstick": W.Dropdown(options=[*makeup.CATALOGUE["lipstick"], CUSTOM], value="coral", description="lipstick"),
        "lip_colour": W.ColorPicker(value="#6a1f48", description="custom"),
        "finish": W.ToggleButtons(options=list(makeup.FINISHES), value="satin", description="finish"),
        "eyeshadow": W.Dropdown(options=["none", *makeup.CATALOGUE["eyeshadow"]], value="none", description="eyeshadow"),
        "blush": W.Dropdown(options=["none", *makeup.CATALOGUE["blush"]], value="none", description="blush"),
        "reference": W.IntSlider(value=0, min=0, max=199, description="reference"),
        "method": W.ToggleButtons(options=list(tryon.METHODS), value="tryon", description="model"),
        "intensity": W.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="intensity"),
        "lips": W.Checkbox(value=True, description="lips"),
        "eyes": W.Checkbox(value=True, description="eyes"),
        "cheeks": W.Checkbox(value=True, description="cheeks"),
        "split": W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.02, description="before|after"),
    }
    upload = W.FileUpload(accept="image/*", multiple=False, description="upload photo")
    for name in ("mode", "finish", "method"):
        c[name].style.button_width = "96px"  # the options on one line, whole, at every redraw
    for name in ("lips", "eyes", "cheeks"):
        c[name].indent, c[name].layout.width = False, "auto"
    image, ref_image, status = picture(W, DISPLAY, DISPLAY), picture(W, 96, 96), status_line(W)
    state = StudioState()
    regions = W.HBox([W.Label("regions", layout=W.Layout(width="90px")), c["lips"], c["eyes"], c["cheeks"]])
    rows = [c[k] for k in ("source", "face", "mode", "lipstick", "lip_colour", "finish", "eyeshadow", "blush",
                           "reference", "method", "intensity")] + [regions, c["split"], upload]
    ref_row = W.HBox([W.Label("reference:"), ref_image])
    box = W.VBox([style_sheet(W), W.HBox([controls_column(W, rows, width=400), W.VBox([image, ref_row])]), status])
    view = Studio(box, c, image, ref_image, status, state)
    blank = placeholder_png(DISPLAY, DISPLAY)

    def show_only_what_applies(values: dict) -> None:
        """Hide the controls the current choices ignore (the studio stays short, and no control is a no-op)."""
        shade = values["mode"] == "shade"
        visible = {"face": values["source"] == "SynthFace", "lip_colour": shade and values["lipstick"] == CUSTOM,
                   **{k: shade for k in ("lipstick", "finish", "eyeshadow", "blush")},
                   **{k: not shade for k in ("reference", "method")}}
        for key, show in visible.items():
            c[key].layout.display = None if show else "none"
        ref_row.layout.display = None if not shade else "none"

    def fail(message: str) -> None:
        """An input failed: clear the picture (no stale result stays on screen) and say what to do."""
        image.value = blank
        ref_row.layout.display = "none"
        set_status(status, message, error=True)

    def redraw(change=None) -> None:
        t0 = time.perf_counter()
        values = {k: w.value for k, w in c.items()}
        show_only_what_applies(values)
        try:
            before, after, text = studio_render(values, state, nets)
        except (ValueError, TypeError, ImportError) as err:  # bad input or a missing extra: say so, clear the picture
            fail(f"cannot try on: {err}")
            return
        image.value = viz.to_png_bytes(viz.before_after(_display_before(values, state, before), _display(after), values["split"]))
        if values["mode"] == "reference":
            ref_image.value = viz.to_png_bytes(state.cache[("reference", values["reference"])], upscale=2)
        view.last_ms = (time.perf_counter() - t0) * 1000
        set_status(status, f"{text} | redrawn in {view.last_ms:.0f} ms")

    def on_upload(change=None) -> None:
        try:
            state.upload = tryon.load_upload(upload.value)  # decoded in memory; never written anywhere
        except (ValueError, TypeError) as err:
            state.upload = None
            fail(f"cannot read the upload: {err}")
            return
        if c["source"].value == "upload":
            redraw()
        else:
            c["source"].value = "upload"  # redraws

    for w in c.values():
        w.observe(redraw, names="value")
    upload.observe(on_upload, names="value")
    redraw()
    return view
