"""tryon: the user's entry point. Bad input gets a clear message; uploads stay in memory; intensity and region
switches do what they say; photos are changed only inside the face crop."""
import builtins
import io
import os
import tempfile

import numpy as np
import pytest
import torch

from course_lib import data, models, tryon


@pytest.fixture(scope="module")
def nets():
    """Untrained networks with a visible residual: enough for shapes, conversions and error paths."""
    torch.manual_seed(0)
    G = models.TryOnGenerator().eval()
    torch.nn.init.normal_(G.rgb_head.weight)
    return tryon.TryOnModels(G, models.StyleEncoder().eval(), models.ReferenceTransferGenerator().eval(),
                             models.LayeredTransfer(fit_steps=5).eval())


@pytest.fixture(scope="module")
def faces():
    return data.transfer_triplets(3, seed=99)


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((arr * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _listing(*dirs) -> dict:
    return {d: sorted(os.listdir(d)) for d in dirs}


def test_upload_writes_no_file(tmp_path, monkeypatch):
    """The privacy promise of the studio: an uploaded photo is decoded in memory; no file is opened for writing."""
    img = np.random.default_rng(0).random((40, 50, 3)).astype(np.float32)
    payload = _png(img)
    monkeypatch.chdir(tmp_path)
    before = _listing(tmp_path, tempfile.gettempdir())
    real_open = builtins.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise AssertionError(f"load_upload tried to write {file!r}")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    decoded = tryon.load_upload(({"name": "me.png", "type": "image/png", "content": memoryview(payload)},))
    assert decoded.shape == (40, 50, 3) and np.abs(decoded - img).max() <= 1 / 255 + 1e-6
    assert _listing(tmp_path, tempfile.gettempdir()) == before


def test_upload_accepts_every_fileupload_shape():
    payload = _png(np.full((8, 8, 3), 0.5, dtype=np.float32))
    for value in (payload, bytearray(payload), {"me.png": {"content": payload}}, ({"content": memoryview(payload)},)):
        assert tryon.load_upload(value).shape == (8, 8, 3)


BAD = [
    ("empty upload", lambda n, f: tryon.load_upload(()), ValueError, "no file was uploaded"),
    ("not an image", lambda n, f: tryon.load_upload(b"%PDF-1.4 not a photo"), ValueError, "upload a PNG, JPEG, WEBP or BMP photo"),
    ("upload of the wrong type", lambda n, f: tryon.load_upload(3), TypeError, "image bytes"),
    ("tiny image", lambda n, f: tryon.apply_shade(np.zeros((10, 10, 3)), nets=n), ValueError, "between 32 and 4096"),
    ("huge image", lambda n, f: tryon.apply_shade(np.broadcast_to(np.uint8(0), (5000, 5000, 3)), nets=n), ValueError, "resize"),
    ("float out of range", lambda n, f: tryon.apply_shade(np.full((64, 64, 3), 2.0), nets=n), ValueError, r"\[0, 1\]"),
    ("four-channel tensor", lambda n, f: tryon.apply_shade(torch.zeros(1, 4, 64, 64), nets=n), ValueError, r"\(B, 3, H, W\)"),
    ("unknown shade", lambda n, f: tryon.apply_shade(f["source"], "glitter", nets=n), ValueError, "unknown lipstick shade 'glitter'"),
    ("intensity above 1", lambda n, f: tryon.apply_shade(f["source"], intensity=1.5, nets=n), ValueError, r"intensity must be a finite number in \[0, 1\], got 1.5"),
    ("intensity NaN", lambda n, f: tryon.apply_shade(f["source"], intensity=float("nan"), nets=n), ValueError, "intensity"),
    ("intensity not a number", lambda n, f: tryon.apply_shade(f["source"], intensity="a lot", nets=n), TypeError, r"intensity must be a number in \[0, 1\], got .a lot. \(str\)"),
    ("unknown region", lambda n, f: tryon.apply_shade(f["source"], regions=("skin",), nets=n), ValueError, "unknown region"),
    ("unknown method", lambda n, f: tryon.apply_reference(f["source"], f["reference"], method="psgan", nets=n), ValueError, "method"),
    ("reference not face-sized", lambda n, f: tryon.apply_reference(f["source"], np.zeros((10, 200, 3)), nets=n), ValueError, "reference is 10 x 200"),
    ("reference count", lambda n, f: tryon.apply_reference(f["source"], f["reference"][:2], nets=n), ValueError, "one per image"),
    ("batch of photos", lambda n, f: tryon.apply_shade(np.zeros((2, 100, 100, 3)), face_landmarks=np.zeros((468, 2)), nets=n),
     ValueError, "one at a time"),
    ("landmarks of the wrong shape", lambda n, f: tryon.apply_shade(np.zeros((100, 100, 3)), face_landmarks=np.zeros((5, 2)), nets=n),
     ValueError, r"\(468, 2\)"),
    ("degenerate landmarks", lambda n, f: tryon.apply_shade(np.zeros((100, 100, 3)), face_landmarks=np.zeros((468, 2)), nets=n),
     ValueError, "no usable face"),
    ("unknown portrait", lambda n, f: tryon.apply_shade("mona_lisa", nets=n), ValueError, "bundled portraits"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_gets_a_clear_message(case, nets, faces):
    _, call, error, message = case
    with pytest.raises(error, match=message):
        call(nets, faces)


def test_a_photo_without_a_face_is_explained(nets):
    """No landmarks given: with the [photo] extra, 'no face found'; without it, how to install it."""
    blank = np.full((120, 120, 3), 0.5, dtype=np.float32)
    try:
        import mediapipe  # noqa: F401
        expected = (ValueError, "no face found")
    except ImportError:
        expected = (ImportError, r"pip install -e '\.\[photo\]'")
    with pytest.raises(expected[0], match=expected[1]):
        tryon.apply_shade(blank, "plum", nets=nets)


def test_documented_conversions_keep_the_input_kind(nets, faces):
    x = faces["source"][:1]
    rgb01 = ((x[0] + 1) / 2).permute(1, 2, 0).numpy()
    assert tryon.apply_shade(x, nets=nets).shape == (1, 3, 64, 64)
    assert tryon.apply_shade(x[0], nets=nets).shape == (3, 64, 64)
    assert tryon.apply_shade(rgb01, nets=nets).shape == (64, 64, 3)
    assert tryon.apply_shade((rgb01 * 255).astype(np.uint8), nets=nets).dtype == np.float32
    assert tryon.apply_shade(rgb01.mean(-1), nets=nets).shape == (64, 64, 3)  # grey -> RGB
    rgba = np.concatenate([rgb01, np.ones((64, 64, 1), np.float32)], -1)
    assert tryon.apply_shade(rgba, nets=nets).shape == (64, 64, 3)  # alpha dropped


def test_intensity_zero_and_no_regions_return_the_source(nets, faces):
    x = faces["source"]
    for out in (tryon.apply_shade(x, "plum", intensity=0.0, nets=nets), tryon.apply_shade(x, "plum", regions=(), nets=nets),
                tryon.apply_reference(x, faces["reference"], intensity=0.0, nets=nets),
                tryon.apply_reference(x, faces["reference"], regions=(), method="beautygan", nets=nets),
                tryon.apply_reference(x, faces["reference"], intensity=0.0, method="layered", nets=nets),
                tryon.apply_reference(x, faces["reference"], regions=(), method="layered", nets=nets)):
        assert (out - x).abs().max() < 1e-3


def test_switch_scales_and_zeroes_the_right_opacities():
    style = torch.ones(1, 18)
    out = tryon.switch(style, 0.5, ("lips",))
    assert out[0, 3] == 0.5 and out[0, [8, 13, 17]].abs().sum() == 0 and out[0, 0] == 1  # colours untouched


def test_a_photo_changes_only_inside_the_face_crop(nets):
    from course_lib import landmarks

    portrait = landmarks.load_portrait("astronaut")
    out = tryon.apply_shade("astronaut", "plum", nets=nets)
    assert out.shape == portrait.image.shape and out.dtype == np.float32
    _, (top, left, side) = tryon.align("astronaut")
    outside = np.ones(out.shape[:2], dtype=bool)
    outside[max(top, 0) : top + side, max(left, 0) : left + side] = False
    assert np.array_equal(out[outside], portrait.image[outside]) and np.abs(out - portrait.image).max() > 0.01


def test_align_and_crop_like_cut_the_same_face():
    from course_lib import landmarks

    portrait = landmarks.load_portrait("grace_hopper")
    crop64, box = tryon.align("grace_hopper")
    again = tryon.crop_like(torch.from_numpy(portrait.image).permute(2, 0, 1)[None], box)
    assert crop64.shape == (1, 3, 64, 64) and (again * 2 - 1 - crop64).abs().max() < 1e-5
    lips = tryon.crop_like(portrait.masks["lips"], box)[0, 0]
    rows = lips.max(1).values > 0.5
    assert rows.any() and 36 <= rows.nonzero().float().mean() <= 54  # SynthFaces puts the lips at row ~45
    assert tryon.align(data.transfer_triplets(2, seed=1)["source"])[1] is None


def test_photos_use_the_landmark_masks_unless_asked_for_the_generators(nets):
    from course_lib import landmarks

    portrait = landmarks.load_portrait("astronaut")
    by_landmarks = tryon.apply_shade("astronaut", "plum", regions=("lips",), nets=nets)
    changed = np.abs(by_landmarks - portrait.image).max(-1) > 0.02
    assert changed.any() and (portrait.masks["lips"][changed] > 0).all()  # only the landmarks' lips change
    by_generator = tryon.apply_shade("astronaut", "plum", regions=("lips",), masks="generator", nets=nets)
    assert np.abs(by_generator - by_landmarks).max() > 0.02
    with pytest.raises(ValueError, match="masks must be one of landmarks, generator"):
        tryon.apply_shade("astronaut", masks="parsing", nets=nets)


def test_a_portrait_object_travels_with_its_landmarks_and_equals_its_name(nets):
    """A Portrait (image, landmarks, masks) is taken as it is: no second load, the same result as its name."""
    from course_lib import landmarks

    portrait = landmarks.load_portrait("astronaut")
    by_object = tryon.apply_shade(portrait, "plum", nets=nets)
    by_name = tryon.apply_shade("astronaut", "plum", nets=nets)
    np.testing.assert_array_equal(by_object, by_name)
    with pytest.raises(ValueError, match="a bundled portrait that comes with its own"):
        tryon.apply_shade(portrait, "plum", face_landmarks=portrait.landmarks, nets=nets)
