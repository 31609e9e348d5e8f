"""Makeup: the shade catalogue, the style of one face, the layer model, and classic baselines.

``from course_lib import makeup``; then ``makeup.MakeupStyle(lipstick="plum")``,
``makeup.apply_makeup(image, masks, style)``, ``makeup.histogram_transfer(...)``.
"""
from course_lib.makeup.baselines import histogram_transfer, reinhard_transfer, transfer_batch
from course_lib.makeup.catalogue import (
    CATALOGUE, COLOUR_SLICE, EXTENT_INDEX, FINISH_SHINE, FINISHES, OPACITY_FIELD, OPACITY_INDEX, PRODUCTS, SHINE_INDEX,
    VECTOR_FIELDS, VECTOR_INDEX, MakeupStyle, shade, style_weights,
)
from course_lib.makeup.layers import (
    MAKEUP_MASKS, PRODUCT_MASK, apply_makeup, bare_estimate, composite, fit_style, from_batch01, lip_tint, mask_batch,
    params_from_vector, support_box, to_batch01,
)

__all__ = [
    "apply_makeup", "bare_estimate", "CATALOGUE", "COLOUR_SLICE", "composite", "EXTENT_INDEX", "FINISH_SHINE", "FINISHES",
    "fit_style", "from_batch01", "histogram_transfer", "lip_tint", "MAKEUP_MASKS", "MakeupStyle", "mask_batch", "OPACITY_FIELD", "OPACITY_INDEX",
    "params_from_vector", "PRODUCT_MASK", "PRODUCTS", "reinhard_transfer", "shade", "SHINE_INDEX",
    "style_weights", "support_box", "to_batch01", "transfer_batch", "VECTOR_FIELDS", "VECTOR_INDEX",
]
