"""Interactive widgets for the notebooks (ipywidgets, imported lazily).

Each widget keeps its logic in plain functions (tested headless) and its widget code thin:
a control's observer calls the function, puts the picture in an ``Image`` widget and sets a status
``Label`` whose final text tells a person (or the browser test) that the redraw finished.

Modules: ``welcome`` (00: noise -> image slider, SynthFaces explorer), ``theory`` (01: sliders on p_g;
02: training scrubber), ``dcgan`` (03: sliders on the noise), ``conditional`` (04: sliders on the style), ``tryon`` (05: the try-on studio),
``audit`` (06: the audit explorer). Everything is re-exported here.
"""
from course_lib.widgets.audit import AuditView, audit_explorer, audit_figure, group_indices, group_summary, summary_text
from course_lib.widgets.conditional import StyleSliders, style_from_controls, style_sliders
from course_lib.widgets.dcgan import NoiseSliders, ganspace_directions, noise_sliders
from course_lib.widgets.theory import (
    PgSlidersView, minimax_figure, minimax_state, pg_sliders, snapshot_figure, training_scrubber,
)
from course_lib.widgets.tryon import Studio, StudioState, studio_render, tryon_studio
from course_lib.widgets.welcome import (
    MASK_COLOURS, ExplorerView, SliderView, explorer_picture, face_explorer, mask_overlay, noise_to_image, welcome_slider,
)

__all__ = [
    "audit_explorer", "audit_figure", "AuditView", "explorer_picture", "ExplorerView", "face_explorer",
    "ganspace_directions", "group_indices", "group_summary", "MASK_COLOURS", "mask_overlay", "minimax_figure",
    "minimax_state", "noise_sliders", "noise_to_image", "NoiseSliders", "pg_sliders", "PgSlidersView",
    "SliderView", "snapshot_figure", "Studio", "studio_render", "StudioState", "style_from_controls",
    "style_sliders", "StyleSliders", "summary_text", "training_scrubber", "tryon_studio", "welcome_slider"
]
