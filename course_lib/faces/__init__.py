"""SynthFaces: an offline renderer of stylised faces with region masks, skin tones and makeup.

``from course_lib import faces``; then ``faces.render(faces.Identity(tone=8), makeup.MakeupStyle(lipstick="plum"))``
or ``faces.render_indices(range(64), seed=0)``. Taught in 00_welcome, section 4.
"""
from __future__ import annotations

from typing import Iterable

from course_lib.faces.identity import (
    HAIR_COLOURS, HAIR_STYLES, IDENTITY_FIELDS, IRIS_COLOURS, MONK_TONES, RANGES, SIZES, TONE_GROUPS, Identity, check_size, face_uniforms,
    identity_from_uniforms, makeup_from_uniforms, sample_face, sample_faces, sample_identity, sample_makeup, skin_rgb,
    tone_group,
)
from course_lib.faces.drawing import MASKS, REGIONS, ZONES
from course_lib.faces.renderer import Faces, render, render_bare


def render_indices(indices: Iterable[int], seed: int = 0, size: int = 64, makeup: bool | float = True) -> Faces:
    """Render faces ``indices`` of data set ``seed`` (``makeup``: True, False, or the probability of wearing any).

    Taught in 00_welcome, section 4.
    """
    pairs = sample_faces(seed, list(indices), makeup=makeup)
    return render([p[0] for p in pairs], [p[1] for p in pairs], size=size)


__all__ = [
    "HAIR_COLOURS", "HAIR_STYLES", "IDENTITY_FIELDS", "IRIS_COLOURS", "MASKS", "MONK_TONES", "RANGES", "REGIONS",
    "SIZES", "TONE_GROUPS", "ZONES", "Faces", "Identity", "check_size", "face_uniforms", "identity_from_uniforms", "makeup_from_uniforms", "render",
    "render_bare", "render_indices", "sample_face", "sample_faces", "sample_identity", "sample_makeup", "skin_rgb",
    "tone_group",
]
