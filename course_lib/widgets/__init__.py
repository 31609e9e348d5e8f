"""Interactive widgets for the notebooks (ipywidgets, imported lazily).

Each widget keeps its logic in plain functions (tested headless) and its widget code thin:
a control's observer calls the function, puts the picture in an ``Image`` widget and sets a status
``Label`` whose final text tells a person (or the browser test) that the redraw finished.

Modules: ``welcome`` (00: noise -> image slider, SynthFaces explorer), ``theory`` (01: sliders on p_g;
02: training scrubber), ``dcgan`` (03: sliders on the noise), ``conditional`` (04: sliders on the style). Everything is re-exported here.
"""
from course_lib.widgets.conditional import StyleSliders, style_from_controls, style_sliders
from course_lib.widgets.dcgan import NoiseSliders, ganspace_directions, noise_sliders
from course_lib.widgets.theory import (
    PgSlidersView, minimax_figure, minimax_state, pg_sliders, snapshot_figure, training_scrubber,
)
from course_lib.widgets.welcome import (
    MASK_COLOURS, ExplorerView, SliderView, explorer_picture, face_explorer, mask_overlay, noise_to_image, welcome_slider,
)

__all__ = ["MASK_COLOURS", "ExplorerView", "NoiseSliders", "PgSlidersView", "SliderView", "StyleSliders", "explorer_picture",
           "face_explorer", "ganspace_directions", "mask_overlay", "minimax_figure", "minimax_state", "noise_sliders",
           "noise_to_image", "pg_sliders", "snapshot_figure", "style_from_controls", "style_sliders", "training_scrubber",
           "welcome_slider"]
