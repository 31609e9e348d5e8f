"""Makeup: the shade catalogue, the style of one face, the layer model, and classic baselines.

``from course_lib import makeup``; then ``makeup.MakeupStyle(lipstick="plum")``,
``makeup.apply_makeup(image, masks, style)``, ``makeup.histogram_transfer(...)``.
"""
from course_lib.makeup.baselines import histogram_transfer, reinhard_transfer, transfer_batch
from course_lib.makeup.catalogue import (
    CATALOGUE, FINISH_SHINE, FINISHES, PRODUCTS, VECTOR_FIELDS, MakeupStyle, shade,
)
from course_lib.makeup.layers import (
    PRODUCT_MASK, apply_makeup, composite, from_batch01, mask_batch, params_from_vector, support_box, to_batch01,
)

__all__ = [
    "apply_makeup", "CATALOGUE", "composite", "FINISH_SHINE", "FINISHES", "from_batch01", "histogram_transfer",
    "MakeupStyle", "mask_batch", "params_from_vector", "PRODUCT_MASK", "PRODUCTS", "reinhard_transfer", "shade",
    "support_box", "to_batch01", "transfer_batch", "VECTOR_FIELDS"
]
