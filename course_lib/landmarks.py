"""Region masks for real photos, from face-mesh landmarks.

The 468-point face mesh (MediaPipe's, Kartynnik et al. 2019) outlines the lips, eyes, brows and face
oval. ``masks_from_landmarks`` turns those points into the same soft masks SynthFaces renders, so
``makeup.apply_makeup`` and the evaluation treat a photo like a rendered face. Finding landmarks on a
new photo needs the optional extra (``pip install -e '.[photo]'``); the bundled portraits ship their
landmarks in ``data/real/`` and need nothing. numpy only: no torch here.
Taught in 05_makeup_transfer, section 6 (real photos).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from course_lib import config

N_LANDMARKS = 468
# Face-mesh vertex indices of each outline, in order around the shape ("left" = the person's left).
LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)  # outer corner -> inner corner
RIGHT_EYE_LOWER = (133, 155, 154, 153, 145, 144, 163, 7, 33)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (362, 382, 381, 380, 374, 373, 390, 249, 263)
RIGHT_BROW_UPPER, RIGHT_BROW_LOWER = (70, 63, 105, 66, 107), (46, 53, 52, 65, 55)  # outer -> inner
LEFT_BROW_UPPER, LEFT_BROW_LOWER = (300, 293, 334, 296, 336), (276, 283, 282, 295, 285)
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
CHEEKS = (205, 425)  # cheek apexes (right, left)

PORTRAITS = ("astronaut", "grace_hopper")


def _poly(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Rasterise a polygon given as (N, 2) (x, y) pixel points into a float mask, with soft edges."""
    from skimage.draw import polygon2mask
    from skimage.filters import gaussian

    hard = polygon2mask(shape, points[:, ::-1]).astype(np.float32)  # polygon2mask wants (row, col)
    return np.clip(gaussian(hard, sigma=0.6, preserve_range=True), 0, 1).astype(np.float32)


def _curve_y(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The y of a left-to-right polyline at columns ``xs`` (flat beyond its ends)."""
    order = np.argsort(points[:, 0])
    return np.interp(xs, points[order, 0], points[order, 1])


def _eye_zones(lm: np.ndarray, upper: tuple, lower_brow: tuple, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Eyeshadow zone (1 at the lash line, fading to 0 under the brow) and eyeliner band for one eye."""
    from scipy.ndimage import distance_transform_edt
    from skimage.draw import line

    lid, brow = lm[list(upper)], lm[list(lower_brow)]
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    y_lid, y_brow = _curve_y(lid, xs[0]), _curve_y(brow, xs[0])
    fade = np.clip((ys - y_brow) / np.maximum(y_lid - y_brow, 1.0), 0, 1)  # 0 at the brow, 1 at the lid
    width = lid[:, 0].max() - lid[:, 0].min()
    x0, x1 = lid[:, 0].min() - 0.15 * width, lid[:, 0].max() + 0.15 * width
    across = np.clip(1 - ((xs - (x0 + x1) / 2) / ((x1 - x0) / 2)) ** 2, 0, 1) ** 0.5
    shadow = fade**0.6 * across * (ys <= y_lid + 1)
    # Liner: a band a few per cent of the eye's width along the upper lid.
    drawn = np.zeros(shape, bool)
    for (xa, ya), (xb, yb) in zip(lid[:-1], lid[1:]):
        rr, cc = line(int(round(ya)), int(round(xa)), int(round(yb)), int(round(xb)))
        ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        drawn[rr[ok], cc[ok]] = True
    dist = distance_transform_edt(~drawn)
    liner = np.clip(1 - dist / max(0.07 * width, 1.0), 0, 1) * (ys <= y_lid + 0.04 * width)
    return shadow.astype(np.float32), liner.astype(np.float32)


def masks_from_landmarks(landmarks: np.ndarray, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Build soft region masks ``{name: (H, W) float32 in [0, 1]}`` from 468 face-mesh landmarks.

    ``landmarks``: (468, 2) array of (x, y) pixel coordinates; ``shape``: the image's (H, W).
    Regions: skin (the face oval less the features), lips, eyes, brows, background (outside the oval),
    and the makeup zones eyeshadow, cheeks and liner. There is no hair mask: the mesh does not reach it.
    Not in the notebooks: how real photos are aligned for the try-on (behind ``tryon``).
    """
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape != (N_LANDMARKS, 2) or not np.isfinite(lm).all():
        raise ValueError(f"landmarks must be a finite array of shape ({N_LANDMARKS}, 2) in pixel (x, y), got {lm.shape}")
    if len(shape) != 2 or min(shape) < 16:
        raise ValueError(f"shape must be the image's (H, W), at least 16 x 16, got {shape}")
    shape = (int(shape[0]), int(shape[1]))
    face = _poly(lm[list(FACE_OVAL)], shape)
    lips = np.clip(_poly(lm[list(LIPS_OUTER)], shape) - _poly(lm[list(LIPS_INNER)], shape), 0, 1)
    eyes = np.maximum(_poly(lm[list(RIGHT_EYE_UPPER + RIGHT_EYE_LOWER)], shape), _poly(lm[list(LEFT_EYE_UPPER + LEFT_EYE_LOWER)], shape))
    brows = np.maximum(_poly(lm[list(RIGHT_BROW_UPPER + RIGHT_BROW_LOWER[::-1])], shape),
                       _poly(lm[list(LEFT_BROW_UPPER + LEFT_BROW_LOWER[::-1])], shape))
    skin = np.clip(face - lips - eyes - brows, 0, 1)
    shadow_r, liner_r = _eye_zones(lm, RIGHT_EYE_UPPER, RIGHT_BROW_LOWER, shape)
    shadow_l, liner_l = _eye_zones(lm, LEFT_EYE_UPPER, LEFT_BROW_LOWER, shape)
    # Cheeks: a soft blob at each cheek apex, about a fifth of the face's width across.
    face_w = lm[list(FACE_OVAL), 0].max() - lm[list(FACE_OVAL), 0].min()
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    cheeks = sum(np.exp(-(((xs - lm[i, 0]) ** 2 + (ys - lm[i, 1]) ** 2) / (2 * (0.09 * face_w) ** 2))) for i in CHEEKS)
    return {
        "background": 1 - face, "skin": skin, "lips": lips, "eyes": eyes, "brows": brows,
        "eyeshadow": np.maximum(shadow_r, shadow_l) * skin,
        "cheeks": np.clip(cheeks, 0, 1).astype(np.float32) * skin,
        "liner": np.maximum(liner_r, liner_l) * np.clip(skin + eyes, 0, 1),
    }


def detect_landmarks(image: np.ndarray) -> np.ndarray:
    """Find the 468 face-mesh landmarks of the largest face in ``image`` (H, W, 3); return (468, 2) pixels.

    Needs the optional extra: ``pip install -e '.[photo]'`` (MediaPipe <= 0.10.21, which ships its model).
    Raises ValueError when no face is found.
    Not in the notebooks: how real photos are aligned for the try-on (behind ``tryon``).
    """
    try:
        import mediapipe as mp
    except ImportError as err:
        raise ImportError(
            "Finding landmarks on a new photo needs MediaPipe's face mesh: pip install -e '.[photo]' "
            "(see README, 'Your own photos'). The bundled portraits work without it: landmarks.load_portrait(name)."
        ) from err
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
        raise ValueError(f"image must be (H, W, 3) RGB, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = np.clip(np.round(arr.astype(np.float64) * 255), 0, 255).astype(np.uint8)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False) as mesh:
        result = mesh.process(np.ascontiguousarray(arr[..., :3]))
    if not result.multi_face_landmarks:
        raise ValueError("no face found in the image: use a frontal photo with the face clearly visible")
    h, w = arr.shape[:2]
    pts = result.multi_face_landmarks[0].landmark
    return np.array([[p.x * w, p.y * h] for p in pts[:N_LANDMARKS]], dtype=np.float32)


@dataclass
class Portrait:
    """A bundled real photo: the image (H, W, 3) in [0, 1], its landmarks, masks and provenance.

    Not in the notebooks: how real photos are aligned for the try-on (behind ``tryon``).
    """

    name: str
    image: np.ndarray
    landmarks: np.ndarray
    masks: dict[str, np.ndarray] = field(repr=False)
    provenance: dict

    def face_box(self, margin: float = 0.25) -> tuple[int, int, int, int]:
        """Return a square (top, left, bottom, right) box around the face oval, enlarged by ``margin``."""
        return face_box(self.landmarks, self.image.shape[:2], margin)


def face_box(landmarks: np.ndarray, shape: tuple[int, int], margin: float = 0.25) -> tuple[int, int, int, int]:
    """A square (top, left, bottom, right) crop around the face oval, enlarged by ``margin``, inside the image.

    Not in the notebooks: how real photos are aligned for the try-on (behind ``tryon``).
    """
    oval = np.asarray(landmarks)[list(FACE_OVAL)]
    (x0, y0), (x1, y1) = oval.min(0), oval.max(0)
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    side = min(side, shape[0], shape[1])
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(np.clip(round(cx - side / 2), 0, shape[1] - side))
    top = int(np.clip(round(cy - side / 2), 0, shape[0] - side))
    return top, left, top + int(side), left + int(side)


def portrait_image(name: str) -> np.ndarray:
    """Return a bundled portrait as (H, W, 3) float32 in [0, 1] (from scikit-image or matplotlib).

    Not in the notebooks: how real photos are aligned for the try-on (behind ``tryon``).
    """
    if name == "astronaut":
        from skimage import data

        img = data.astronaut()
    elif name == "grace_hopper":
        import matplotlib.image as mpimg
        from matplotlib import cbook

        img = mpimg.imread(cbook.get_sample_data("grace_hopper.jpg"))
    else:
        raise ValueError(f"unknown portrait {name!r}; bundled portraits: {', '.join(PORTRAITS)}")
    img = np.asarray(img)
    return (img.astype(np.float32) / 255 if img.dtype == np.uint8 else img.astype(np.float32))[..., :3]


@lru_cache(maxsize=4)
def _load(name: str) -> Portrait:
    image = portrait_image(name)
    path = Path(config.REAL_DIR) / f"{name}.landmarks.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: it ships with the course (made by tools/make_landmarks.py)")
    record = json.loads(path.read_text())
    if tuple(record["image_shape"]) != image.shape[:2]:
        raise ValueError(f"{path.name} was made for a {record['image_shape']} image, but {name} is {image.shape[:2]}")
    lm = np.asarray(record["landmarks"], dtype=np.float32)
    provenance = {k: v for k, v in record.items() if k != "landmarks"}
    return Portrait(name, image, lm, masks_from_landmarks(lm, image.shape[:2]), provenance)


def load_portrait(name: str) -> Portrait:
    """Return a bundled portrait ("astronaut" or "grace_hopper") with its shipped landmarks and masks.

    Taught in 05_makeup_transfer, section 7.
    """
    if name not in PORTRAITS:
        raise ValueError(f"unknown portrait {name!r}; bundled portraits: {', '.join(PORTRAITS)}")
    p = _load(name)
    return Portrait(p.name, p.image.copy(), p.landmarks.copy(), {k: v.copy() for k, v in p.masks.items()}, dict(p.provenance))
