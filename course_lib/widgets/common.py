"""Plumbing shared by the widgets: ipywidgets is imported only when a widget is built.

Layout rules every widget follows, so that nothing on screen moves when a redraw changes the text:
- the picture sits in a pane of fixed size and keeps its aspect inside it (``picture``: ``object-fit: contain``);
- the status line has its own full-width row and wraps there (``status_line``): a plain ``Label`` in a row
  with the picture makes the row as wide as the text, and cuts long text with an ellipsis;
- controls live in a column of fixed width (``controls_column``), so long values do not squeeze them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib import viz

# One style sheet for every widget (a <style> element applies wherever it sits in the page).
_CSS = """<style>
.course-status { white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  height: auto !important; min-height: 1.4em; line-height: 1.4 !important; overflow-wrap: anywhere; }
.course-status.course-error { color: #b3261e; }
</style>"""
PLACEHOLDER_GREY = 0.93  # the empty picture shown while an input is wrong


def load_ipywidgets():
    """Import ipywidgets, or say how to install it.

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("The course widgets need ipywidgets >= 8: run `make lab`, or pip install 'ipywidgets>=8'") from err
    return ipywidgets


def picture(W, width: int, height: int) -> Any:
    """An ``Image`` in a pane of ``width`` x ``height`` CSS pixels; the PNG keeps its aspect inside (contain).

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    return W.Image(format="png", layout=W.Layout(width=f"{width}px", height=f"{height}px", object_fit="contain",
                                                 flex="0 0 auto"))


def status_line(W) -> Any:
    """A status ``Label`` that fills its own row and wraps there (see the module docstring).

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    label = W.Label(layout=W.Layout(width="auto", align_self="stretch"))  # the row's width, less the widget margin
    label.add_class("course-status")
    return label


def style_sheet(W) -> Any:
    """The widgets' style sheet, as an invisible widget to put in a view's box.

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    return W.HTML(_CSS, layout=W.Layout(display="none"))


def controls_column(W, children: list, width: int = 380) -> Any:
    """A column of controls of fixed width; each control fills it (values and read-outs are not clipped).

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    for child in children:
        if hasattr(child, "style") and hasattr(child.style, "description_width"):
            child.style.description_width = "90px"
        if not isinstance(child, (W.Box, W.ToggleButtons)):  # a row of buttons keeps its own width (100% wraps it)
            child.layout.width = "100%"
    return W.VBox(children, layout=W.Layout(width=f"{width}px", flex="0 0 auto"))


def placeholder_png(width: int, height: int) -> bytes:
    """A plain light-grey PNG: what the picture pane shows while the input is wrong (never a stale result).

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    return viz.to_png_bytes(np.full((max(1, height // 8), max(1, width // 8), 3), PLACEHOLDER_GREY, dtype=np.float32))


def set_status(status: Any, text: str, error: bool = False) -> None:
    """Set the status text; an error is shown in red (the ``course-error`` class).

    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    if error:
        status.add_class("course-error")
    else:
        status.remove_class("course-error")
    status.value = text


@dataclass
class ControlsView:
    """A built widget with several controls: the box to display, the controls by name, the picture, the status
    label, and how long its last redraw took (tests move the controls and read the result).

    Not in the notebooks: a part of a notebook widget, tested headless.
    """

    box: Any
    controls: dict
    image: Any
    status: Any
    last_ms: float = 0.0


@dataclass
class SliderView:
    """A built widget: the box to display, and its parts (so tests can move the slider and read the result).

    Not in the notebooks: a part of a notebook widget, tested headless.
    """

    box: Any
    slider: Any
    image: Any
    status: Any
    last_ms: float = 0.0
