"""Real-photo masks from the shipped face-mesh landmarks of the bundled portraits."""
import json

import numpy as np
import pytest

from course_lib import config, landmarks

# Boxes read by eye from the photos (zoomed, with a pixel grid): (x0, y0, x1, y1), generous and tight.
LIPS_OUTER_BOX = {"astronaut": (196, 132, 254, 160), "grace_hopper": (222, 260, 312, 298)}
LIPS_CENTRE_BOX = {"astronaut": (215, 140, 235, 152), "grace_hopper": (255, 271, 285, 287)}


@pytest.mark.parametrize("name", landmarks.PORTRAITS)
def test_lips_mask_is_where_the_lips_are(name):
    p = landmarks.load_portrait(name)
    lips = p.masks["lips"]
    x0, y0, x1, y1 = LIPS_OUTER_BOX[name]
    assert lips[y0:y1, x0:x1].sum() / lips.sum() > 0.97
    ys, xs = np.mgrid[0 : lips.shape[0], 0 : lips.shape[1]]
    cx, cy = (xs * lips).sum() / lips.sum(), (ys * lips).sum() / lips.sum()
    bx0, by0, bx1, by1 = LIPS_CENTRE_BOX[name]
    assert bx0 <= cx <= bx1 and by0 <= cy <= by1, (cx, cy)
    assert lips.sum() > 150  # a real area, not a sliver


@pytest.mark.parametrize("name", landmarks.PORTRAITS)
def test_portrait_masks_have_the_synthfaces_regions(name):
    p = landmarks.load_portrait(name)
    h, w = p.image.shape[:2]
    for key in ("background", "skin", "lips", "eyes", "brows", "eyeshadow", "cheeks", "liner"):
        m = p.masks[key]
        assert m.shape == (h, w) and m.dtype == np.float32 and m.min() >= 0 and m.max() <= 1, key
        assert m.sum() > 20, key
    # eyes above lips, brows above eyes; zones sit on skin
    row = lambda m: (np.arange(h)[:, None] * m).sum() / m.sum()  # noqa: E731
    assert row(p.masks["brows"]) < row(p.masks["eyes"]) < row(p.masks["cheeks"]) < row(p.masks["lips"])
    assert (p.masks["eyeshadow"] <= p.masks["skin"] + 1e-6).all() and (p.masks["cheeks"] <= p.masks["skin"] + 1e-6).all()


def test_shipped_files_record_their_provenance():
    for name in landmarks.PORTRAITS:
        record = json.loads((config.REAL_DIR / f"{name}.landmarks.json").read_text())
        assert len(record["landmarks"]) == landmarks.N_LANDMARKS
        assert "public domain" in record["licence"] and "mediapipe" in record["made_by"].lower()
    assert "Grace Hopper" in (config.DATA_DIR / "README.md").read_text()


def test_portraits_are_copies():
    a = landmarks.load_portrait("astronaut")
    a.masks["lips"][:] = 0
    a.image[:] = 0
    b = landmarks.load_portrait("astronaut")
    assert b.masks["lips"].sum() > 0 and b.image.max() > 0


def test_face_box_is_square_inside_and_around_the_face():
    p = landmarks.load_portrait("grace_hopper")
    top, left, bottom, right = p.face_box()
    assert bottom - top == right - left and 0 <= top and 0 <= left and bottom <= 600 and right <= 512
    lips = p.masks["lips"]
    assert lips[top:bottom, left:right].sum() == pytest.approx(lips.sum())


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown portrait 'mona_lisa'; bundled portraits: astronaut, grace_hopper"):
        landmarks.load_portrait("mona_lisa")
    with pytest.raises(ValueError, match=r"landmarks must be a finite array of shape \(468, 2\)"):
        landmarks.masks_from_landmarks(np.zeros((68, 2)), (100, 100))
    with pytest.raises(ValueError, match="shape must be the image's"):
        landmarks.masks_from_landmarks(np.zeros((468, 2)), (8, 8))


def test_detecting_on_a_new_photo_explains_the_optional_extra():
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"pip install -e '\.\[photo\]'"):
            landmarks.detect_landmarks(np.zeros((64, 64, 3)))
    else:  # with the extra installed, a blank image has no face: a clear error, not a crash
        with pytest.raises(ValueError, match="no face found"):
            landmarks.detect_landmarks(np.zeros((64, 64, 3)))
