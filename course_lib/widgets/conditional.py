"""04_conditional_gan: sliders on the style, with the identity (the noise) held fixed."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from course_lib import viz
from course_lib.widgets.common import ControlsView, controls_column, load_ipywidgets, picture, status_line, style_sheet

CUSTOM = "custom colour"


def style_from_controls(values: dict[str, Any]):
    """Build a MakeupStyle from the widget's control values (a plain function, tested headless).

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    from course_lib import makeup

    lip = values["lipstick"]
    lipstick = None if lip == "none" else (values["lip_colour"] if lip == CUSTOM else lip)
    pick = lambda key: None if values[key] == "none" else values[key]  # noqa: E731
    return makeup.MakeupStyle(
        lipstick=lipstick, lip_opacity=values["lip_intensity"], finish=values["finish"],
        eyeshadow=pick("eyeshadow"), eyeshadow_opacity=values["eyeshadow_intensity"],
        blush=pick("blush"), blush_opacity=values["blush_intensity"],
        eyeliner="black" if values["eyeliner"] else None,
    )


class StyleSliders(ControlsView):
    """The style-sliders widget: a control per style field. A ``ControlsView``.

    Not in the notebooks: a part of a notebook widget, tested headless.
    """


def style_sliders(G, enc=None, seed: int = 0, device=None, upscale: int = 3) -> StyleSliders:
    """Build the style widget for a conditional G: the face (noise) stays, the makeup follows the controls.

    With the domain encoder ``enc``, the status line also reads back the lipstick shade G produced.
    Taught in 04_conditional_gan, section 6.
    """
    W = load_ipywidgets()
    from course_lib import colour, makeup

    G = G.eval()
    device = next(G.parameters()).device if device is None else device
    state = {"seed": seed, "z": torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(seed))}
    c = {
        "lipstick": W.Dropdown(options=["none", *makeup.CATALOGUE["lipstick"], CUSTOM], value="coral", description="lipstick"),
        "lip_colour": W.ColorPicker(value="#c0182f", description="custom"),
        "lip_intensity": W.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="intensity"),
        "finish": W.ToggleButtons(options=list(makeup.FINISHES), value="satin", description="finish"),
        "eyeshadow": W.Dropdown(options=["none", *makeup.CATALOGUE["eyeshadow"]], value="none", description="eyeshadow"),
        "eyeshadow_intensity": W.FloatSlider(value=0.8, min=0.0, max=1.0, step=0.05, description="intensity"),
        "blush": W.Dropdown(options=["none", *makeup.CATALOGUE["blush"]], value="none", description="blush"),
        "blush_intensity": W.FloatSlider(value=0.4, min=0.0, max=1.0, step=0.05, description="intensity"),
        "eyeliner": W.Checkbox(value=False, description="eyeliner"),
    }
    button = W.Button(description="new face", icon="refresh")
    size = getattr(G, "size", 64)
    c["finish"].style.button_width = "78px"  # the three finishes on one line, at every redraw
    image = picture(W, size * upscale, size * upscale)
    status = status_line(W)
    box = W.VBox([style_sheet(W), W.HBox([controls_column(W, [*c.values(), button], width=380), image]), status])
    view = StyleSliders(box, c, image, status)

    def redraw(change=None) -> None:
        t0 = time.perf_counter()
        c["lip_colour"].layout.display = None if c["lipstick"].value == CUSTOM else "none"  # only when it applies
        style = style_from_controls({k: w.value for k, w in c.items()})
        cond = torch.from_numpy(style.to_vector())[None].to(device)
        with torch.no_grad():
            x = G(state["z"].to(device), cond).float().cpu()
        image.value = viz.to_png_bytes(viz.to_numpy_image(x[0]), upscale=upscale)
        view.last_ms = (time.perf_counter() - t0) * 1000
        text = f"face {state['seed']}: {style.describe()}"
        if enc is not None and style.lipstick is not None:
            from course_lib import encoder

            got = encoder.read_out(enc, x)["lipstick_rgb"][0]
            text += f" | lipstick read back as {colour.rgb_to_hex(got)} (dE2000 {colour.delta_e2000(got, np.asarray(style.lipstick)):.1f})"
        status.value = text

    def new_face(_button=None) -> None:
        state["seed"] += 1
        state["z"] = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(state["seed"]))
        redraw()

    for w in c.values():
        w.observe(redraw, names="value")
    button.on_click(new_face)
    view.new_face = new_face
    redraw()
    return view
