"""Plumbing shared by the widgets: ipywidgets is imported only when a widget is built."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("The course widgets need ipywidgets >= 8: run `make lab`, or pip install 'ipywidgets>=8'") from err
    return ipywidgets


@dataclass
class SliderView:
    """A built widget: the box to display, and its parts (so tests can move the slider and read the result)."""

    box: Any
    slider: Any
    image: Any
    status: Any
    last_ms: float = 0.0
