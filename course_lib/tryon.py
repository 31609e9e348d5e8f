"""Virtual makeup try-on: the entry point a user calls (05_makeup_transfer, sections 5-7).

    tryon.apply_shade(image, "plum", intensity=0.8, regions=("lips",), finish="gloss")
    tryon.apply_reference(image, reference_face, intensity=1.0, regions=("lips", "eyes", "cheeks"))

``image`` is a 64 x 64 aligned face (SynthFaces), a batch of them, or a photo (numpy (H, W, 3) in [0, 1] or uint8,
grey and RGBA converted; or a tensor in [-1, 1]; or a bundled portrait, by name or as the ``landmarks.Portrait``
that carries its landmarks). A photo is aligned to the face from its landmarks (the bundled portraits ship theirs; a
new photo needs the optional ``[photo]`` extra), and the makeup layers are applied to the photo at full resolution
inside the landmarks' regions (or, with ``masks="generator"``, the try-on generator's own, found on the 64 px crop).
Nothing is written to disk: ``load_upload`` decodes an uploaded file in memory.

Three models (``data/checkpoints``): ``tryon64`` (the shade-conditioned try-on generator and a style encoder
that reads a reference's makeup into a style vector), ``beautygan64`` (BeautyGAN-style, trained unpaired, free
pixels) and ``layered64`` (unpaired too, makeup as layers: a region parser, the style read by fitting the layer model).
"""
from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from course_lib import checkpoints, landmarks, makeup, models, validate

REGIONS = ("lips", "eyes", "cheeks")  # what a user switches on and off
# The products each region switches: lipstick; eyeshadow and eyeliner; blush (their opacities in the style vector).
REGION_PRODUCTS = {"lips": ("lipstick",), "eyes": ("eyeshadow", "eyeliner"), "cheeks": ("blush",)}
_REGION_MASKS = {"lips": ("lips",), "eyes": ("eyeshadow", "liner"), "cheeks": ("cheeks",)}
METHODS = ("tryon", "beautygan", "layered")
# Where the makeup goes on a photo: the face-mesh landmarks' region masks (default: the landmarks are needed to
# align the photo anyway), or the try-on generator's own masks, learned on SynthFaces only (notebook 05 measures
# how poorly they transfer to real faces). Aligned 64 px faces have no landmarks and always use the generator's.
MASK_SOURCES = ("landmarks", "generator")
SIZE = 64  # the generators' resolution
MIN_SIDE, MAX_SIDE = 32, 4096  # photos outside this range are refused with a message
# Where SynthFaces puts a face in its 64 px frame (measured over rendered faces): the outer eye corners are
# 21.8 px apart, centred at x = 31.4, y = 30.5. A photo is cropped so its face lands in the same place.
EYE_SPAN, EYE_X, EYE_Y = 21.8, 31.4, 30.5
_OUTER_EYE_CORNERS = (33, 263)  # face-mesh vertices


@dataclass
class TryOnModels:
    """The shipped networks in eval mode: ``G`` (try-on), ``E`` (style encoder), ``R`` (BeautyGAN-style), ``L``
    (unpaired, layered).

    Not in the notebooks: behind ``tryon.apply_shade`` and ``tryon.apply_reference``.
    """

    G: models.TryOnGenerator
    E: models.StyleEncoder
    R: models.ReferenceTransferGenerator
    L: models.LayeredTransfer


_LOAD_LOCK = threading.Lock()  # threads that start cold wait for one load instead of each loading


def load_models(directory: str | None = None) -> TryOnModels:
    """Load ``tryon64``, ``beautygan64`` and ``layered64`` (sha256-checked, weights only); cached after the first call.

    Thread-safe: several threads asking at once share one load.
    Taught in 05_makeup_transfer, section 3.
    """
    with _LOAD_LOCK:
        return _load_models(directory)


@lru_cache(maxsize=2)
def _load_models(directory: str | None) -> TryOnModels:
    state, entry = checkpoints.load("tryon64", directory, keys=("G", "E"))
    G = models.TryOnGenerator(width=entry.config["G"]["width"])
    E = models.StyleEncoder(width=entry.config["E"]["width"])
    G.load_state_dict(state["G"]), E.load_state_dict(state["E"])
    state_r, entry_r = checkpoints.load("beautygan64", directory, keys=("G",))
    R = models.ReferenceTransferGenerator(width=entry_r.config["width"])
    R.load_state_dict(state_r["G"])
    state_l, entry_l = checkpoints.load("layered64", directory, keys=("model",))
    L = models.LayeredTransfer(width=entry_l.config["width"])
    L.load_state_dict(state_l["model"])
    return TryOnModels(G.eval(), E.eval(), R.eval(), L.eval())


# --------------------------------------------------------------------------------------------------
# Inputs: uploads, photos, styles, switches
# --------------------------------------------------------------------------------------------------
UPLOAD_FORMATS = ("PNG", "JPEG", "WEBP", "BMP")  # decoded by Pillow itself, in memory (no external programs)
MAX_UPLOAD_PIXELS = MAX_SIDE * MAX_SIDE  # checked from the header, before anything is decoded


def load_upload(value) -> np.ndarray:
    """Decode an uploaded image **in memory** to (H, W, 3) float32 in [0, 1]; nothing touches the disk.

    ``value``: raw image bytes, or the ``value`` of an ipywidgets ``FileUpload`` (ipywidgets 8: a tuple of
    dicts with a ``content`` memoryview; 7: a dict of them). Only ``UPLOAD_FORMATS`` are opened (an EPS or PDF
    would need an outside program, which may write temp files); the pixel count is read from the header and
    checked before decoding; the EXIF orientation is applied (phones store portraits sideways); 16-bit grey
    and palette images are converted with their real range and colours; transparent pixels become white. Taught in 06_evaluation_fairness (privacy).
    Taught in 05_makeup_transfer, section 8.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(value, Mapping) and "content" not in value:
        value = tuple(value.values())  # ipywidgets 7: {filename: {"content": ...}}
    if isinstance(value, (tuple, list)):
        if not value:
            raise ValueError("no file was uploaded: choose a PNG or JPEG photo first")
        value = value[0]
    if isinstance(value, Mapping):
        value = value.get("content", b"")
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"upload must be image bytes or a FileUpload value, got {type(value).__name__}")
    raw = bytes(value)
    if not raw:
        raise ValueError("the uploaded file is empty")
    expected = f"a {', '.join(UPLOAD_FORMATS[:-1])} or {UPLOAD_FORMATS[-1]} photo"
    try:
        img = Image.open(io.BytesIO(raw), formats=list(UPLOAD_FORMATS))  # reads the header only
    except UnidentifiedImageError:
        raise ValueError(f"the upload is not an image this course reads: upload {expected}") from None
    except Image.DecompressionBombError:  # Pillow's own guard, for sizes far above ours
        raise ValueError(f"the upload's header announces far more than {MAX_UPLOAD_PIXELS:,} pixels ({MAX_SIDE} x "
                         f"{MAX_SIDE}); resize it first (it is refused before decoding, to spare your memory)") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise ValueError(f"the upload's header is damaged ({err}); upload {expected}") from None
    with img:
        w, h = img.size
        if w * h > MAX_UPLOAD_PIXELS:
            raise ValueError(f"the upload is {w} x {h} pixels, more than {MAX_UPLOAD_PIXELS:,} ({MAX_SIDE} x {MAX_SIDE}); "
                             f"resize it first (it is refused before decoding, to spare your memory)")
        try:
            img = ImageOps.exif_transpose(img)  # the orientation a phone recorded (a copy; no-op without EXIF)
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey: convert("RGB") would clip it to white
                grey = np.asarray(img, dtype=np.float32) / 65535.0
                rgb = np.repeat(grey.clip(0, 1)[..., None], 3, axis=-1)
            elif img.mode == "RGB":
                rgb = np.asarray(img, dtype=np.float32) / 255
            else:  # any other mode (palette, grey, CMYK, with or without alpha) through RGBA
                rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255
                rgb = rgba[..., :3] * rgba[..., 3:] + (1 - rgba[..., 3:])  # transparent pixels shown on white
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
            raise ValueError(f"the upload could not be decoded ({err}); upload {expected}") from None
    return np.ascontiguousarray(rgb, dtype=np.float32)


def style_for(shade=None, finish: str = "satin", eyeshadow=None, blush=None, eyeliner=None) -> makeup.MakeupStyle:
    """Build a ``MakeupStyle`` from a lipstick shade (catalogue name, hex or RGB), a finish and optional products.

    A ``MakeupStyle`` passed as ``shade`` is returned as it is (it carries its own finish).
    Not in the notebooks: behind ``tryon.apply_shade`` and ``tryon.apply_reference``.
    """
    if isinstance(shade, makeup.MakeupStyle):
        return shade
    return makeup.MakeupStyle(lipstick=shade, finish=finish, eyeshadow=eyeshadow, blush=blush, eyeliner=eyeliner)


def _check_regions(regions) -> tuple[str, ...]:
    if isinstance(regions, str):
        regions = (regions,)
    if not isinstance(regions, (tuple, list, set, frozenset)):
        raise TypeError(f"regions must be a list of region names from {', '.join(REGIONS)} (or () for none), "
                        f"got {type(regions).__name__}")
    regions = tuple(regions)
    unknown = [r for r in regions if r not in REGIONS]
    if unknown:
        raise ValueError(f"unknown region(s) {unknown}; choose from {', '.join(REGIONS)} (cheeks = blush)")
    return regions


def _check_intensity(intensity) -> float:
    """A number in [0, 1] (0 = no makeup, 1 = full strength); a string such as '0.5' is refused, not parsed."""
    return validate.number(intensity, "intensity", 0.0, 1.0)


def switch(style: torch.Tensor, intensity: float, regions: Sequence[str]) -> torch.Tensor:
    """Scale the style vectors' opacities by ``intensity`` and zero the products of regions switched off.

    Exact for the layer model: a layer's alpha is opacity x mask, so the opacity carries intensity and on/off.
    Not in the notebooks: behind ``tryon.apply_shade`` and ``tryon.apply_reference``.
    """
    out = style.clone()
    for region, products in REGION_PRODUCTS.items():
        for product in products:
            j = makeup.OPACITY_INDEX[product]
            out[:, j] = out[:, j] * (intensity if region in regions else 0.0)
    return out


@dataclass
class _Face:
    """An input converted for the networks: the full image (1 or B, 3, H, W) in [0, 1], the 64 px crop and
    where it came from."""

    full: torch.Tensor
    crop64: torch.Tensor  # (B, 3, 64, 64) in [-1, 1]
    box: tuple[int, int, int] | None  # (top, left, side) of the crop in the full image; None: already 64 px
    kind: str
    landmarks: np.ndarray | None = None  # (468, 2) pixels, for photos
    region_masks: dict | None = None  # the landmarks' masks, when already known (bundled portraits)


def _shape_of(image) -> tuple[int, ...]:
    return tuple(image.shape) if hasattr(image, "shape") else np.shape(image)


def _prepare(image, name: str, face_landmarks=None) -> _Face:
    """Convert ``image`` and align it to the generators' 64 px face frame."""
    region_masks = None
    if isinstance(image, (str, landmarks.Portrait)):
        what = image if isinstance(image, str) else image.name
        if face_landmarks is not None:  # they would be silently replaced by the portrait's own
            raise ValueError(f"landmarks were given for {name} {what!r}, a bundled portrait that comes with its own; "
                             f"to use yours, pass the image itself (landmarks.load_portrait({what!r}).image)")
        # a name is loaded here (unknown names raise, listing the bundled portraits); a Portrait travels as it is
        portrait = landmarks.load_portrait(image) if isinstance(image, str) else image
        image, face_landmarks, region_masks = portrait.image, portrait.landmarks, portrait.masks
    shape = _shape_of(image)
    if not isinstance(image, torch.Tensor) and len(shape) == 3 and shape[-1] not in (3, 4):
        raise ValueError(f"{name} must have shape (H, W, 3) (RGB; RGBA and grey (H, W) accepted), got {tuple(shape)}"
                         + ("; pass a one-channel image as (H, W)" if shape[-1] == 1 else ""))
    hw = shape[-2:] if isinstance(image, torch.Tensor) else (shape[-3:-1] if len(shape) >= 3 and shape[-1] in (3, 4) else shape[-2:])
    if len(hw) == 2 and (min(hw) < MIN_SIDE or max(hw) > MAX_SIDE):
        raise ValueError(f"{name} is {hw[0]} x {hw[1]} pixels; use a face image between {MIN_SIDE} and {MAX_SIDE} px "
                         f"on each side (resize large photos first)")
    x01, kind = makeup.to_batch01(image, name)
    b, _, h, w = x01.shape
    if (h, w) == (SIZE, SIZE) and face_landmarks is None:
        return _Face(x01, x01 * 2 - 1, None, kind)
    if b != 1:
        raise ValueError(f"{name}: a batch must hold {SIZE} x {SIZE} aligned faces; photos ({h} x {w}) go one at a time")
    if face_landmarks is None:
        face_landmarks = landmarks.detect_landmarks(x01[0].permute(1, 2, 0).numpy())  # needs the [photo] extra
    lm = np.asarray(face_landmarks, dtype=np.float64)
    if lm.shape != (landmarks.N_LANDMARKS, 2):
        raise ValueError(f"landmarks for {name} must be the (468, 2) face-mesh points in pixels, got shape {lm.shape}")
    validate.finite(lm, f"landmarks for {name}")
    margin = 0.1 * max(h, w)  # a face may touch the border; its landmarks then reach a little outside
    (x0, y0), (x1, y1) = lm.min(0), lm.max(0)
    if x0 < -margin or y0 < -margin or x1 > w + margin or y1 > h + margin:
        raise ValueError(f"landmarks for {name} reach x in [{x0:.0f}, {x1:.0f}], y in [{y0:.0f}, {y1:.0f}], outside the "
                         f"{h} x {w} image: they must be pixel positions in this image (x = column, y = row), "
                         f"not normalised to [0, 1] or made for another size")
    (x_r, y_r), (x_l, y_l) = lm[_OUTER_EYE_CORNERS[0]], lm[_OUTER_EYE_CORNERS[1]]
    span = float(np.hypot(x_l - x_r, y_l - y_r))
    if span < 4:
        raise ValueError(f"landmarks for {name} put the eyes {span:.1f} px apart: no usable face")
    side = max(int(round(span * SIZE / EYE_SPAN)), 8)
    left = int(round((x_r + x_l) / 2 - EYE_X / SIZE * side))
    top = int(round((y_r + y_l) / 2 - EYE_Y / SIZE * side))
    crop64 = crop_like(x01, (top, left, side))
    return _Face(x01, crop64.clamp(0, 1) * 2 - 1, (top, left, side), kind, lm.astype(np.float32), region_masks)


def _crop(x: torch.Tensor, top: int, left: int, side: int) -> torch.Tensor:
    """A square crop that may reach outside the image (edge pixels repeated there)."""
    h, w = x.shape[-2:]
    pad = (max(0, -left), max(0, left + side - w), max(0, -top), max(0, top + side - h))
    if any(pad):
        x = F.pad(x, pad, mode="replicate")
        top, left = top + pad[2], left + pad[0]
    return x[:, :, top : top + side, left : left + side]


def _paste(full: torch.Tensor, crop: torch.Tensor, top: int, left: int) -> torch.Tensor:
    """Write ``crop`` back into ``full`` where it overlaps the image."""
    out = full.clone()
    h, w = full.shape[-2:]
    side = crop.shape[-1]
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + side, h), min(left + side, w)
    out[:, :, t0:t1, l0:l1] = crop[:, :, t0 - top : t1 - top, l0 - left : l1 - left]
    return out


def align(image, face_landmarks=None) -> tuple[torch.Tensor, tuple[int, int, int] | None]:
    """The 64 px face crop the generators see, ``(B, 3, 64, 64)`` in [-1, 1], and its box (top, left, side) in
    the photo (None for an input that is already a 64 px face). Taught in 05_makeup_transfer, section 7."""
    face = _prepare(image, "image", face_landmarks)
    return face.crop64, face.box


def crop_like(maps: torch.Tensor | np.ndarray, box: tuple[int, int, int], size: int = SIZE) -> torch.Tensor:
    """Cut ``maps`` ``(H, W)`` or ``(B, C, H, W)`` (a mask, an image) with an ``align`` box, resized to ``size``.

    Taught in 05_makeup_transfer, section 7.
    """
    t = torch.as_tensor(np.asarray(maps, dtype=np.float32)) if not isinstance(maps, torch.Tensor) else maps.float()
    crop = _crop(t[None, None] if t.dim() == 2 else t, *box)
    if crop.shape[-1] == size:  # already the size asked for (e.g. landmark masks at the crop's own resolution)
        return crop
    return F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


# --------------------------------------------------------------------------------------------------
# The two entry points
# --------------------------------------------------------------------------------------------------
def _check_masks(masks: str) -> str:
    if masks not in MASK_SOURCES:
        raise ValueError(f"masks must be one of {', '.join(MASK_SOURCES)}, got {masks!r}")
    return masks


def _generator_masks(face: _Face, nets: TryOnModels, unpaired: bool = False) -> dict[str, torch.Tensor]:
    """The makeup regions the try-on generator (or, ``unpaired``, the layered model's parser) finds on the 64 px crop."""
    if not unpaired:
        return nets.G.predict_masks(face.crop64)
    found = nets.L.parser.masks(face.crop64)
    return {k: found[k] for k in models.MASK_REGIONS}


def _photo_masks(face: _Face, nets: TryOnModels, masks: str, side: int, unpaired: bool = False) -> dict[str, torch.Tensor]:
    """The makeup regions of a photo's face crop at ``side`` x ``side`` pixels, from the landmarks or the generator."""
    if masks == "landmarks":
        lm_masks = face.region_masks or landmarks.masks_from_landmarks(face.landmarks, tuple(face.full.shape[-2:]))
        return {k: crop_like(lm_masks[k], face.box, size=side).clamp(0, 1) for k in models.MASK_REGIONS}
    predicted = _generator_masks(face, nets, unpaired)
    return {k: F.interpolate(m, size=(side, side), mode="bilinear", align_corners=False) for k, m in predicted.items()}


@torch.no_grad()
def _apply_style(face: _Face, style: torch.Tensor, nets: TryOnModels, masks: str, unpaired: bool = False) -> torch.Tensor:
    """The try-on generator on a 64 px face (``unpaired``: the layer model inside the layered model's parser masks);
    on photos, the layers applied at full size inside the face crop."""
    if face.box is None:
        if unpaired:
            return makeup.composite(face.full, _generator_masks(face, nets, unpaired=True), style)
        return (nets.G(face.crop64, style) + 1) / 2
    top, left, side = face.box
    crop = _crop(face.full, top, left, side)
    return _paste(face.full, makeup.composite(crop, _photo_masks(face, nets, masks, side, unpaired), style), top, left)


def apply_shade(image, shade="classic red", intensity: float = 1.0, regions: Sequence[str] = REGIONS,
                finish: str = "satin", *, masks: str = "landmarks", face_landmarks=None, nets: TryOnModels | None = None):
    """Put a catalogue shade, a hex colour or a whole ``MakeupStyle`` on ``image``; return the same kind of image.

    ``shade``: a lipstick name (``makeup.CATALOGUE["lipstick"]``), a hex code, an RGB triple, or a ``MakeupStyle``
    (for eyeshadow and blush too). ``intensity`` in [0, 1] scales every product; ``regions`` switches lips,
    eyes and cheeks on or off; ``finish`` (matte, satin, gloss) applies to a lipstick shade. On photos, ``masks``
    says where the makeup goes (``MASK_SOURCES``).
    Taught in 05_makeup_transfer, section 5.
    """
    style = style_for(shade, finish=finish)
    intensity, regions, masks = _check_intensity(intensity), _check_regions(regions), _check_masks(masks)
    face = _prepare(image, "image", face_landmarks)
    nets = nets or load_models()
    vec = torch.from_numpy(style.to_vector()).expand(face.crop64.shape[0], -1)
    return makeup.from_batch01(_apply_style(face, switch(vec, intensity, regions), nets, masks), face.kind)


def apply_reference(image, reference, intensity: float = 1.0, regions: Sequence[str] = REGIONS, method: str = "tryon",
                    *, masks: str = "landmarks", face_landmarks=None, reference_landmarks=None, nets: TryOnModels | None = None):
    """Put the makeup worn by ``reference`` (another face) on ``image``; return the same kind of image.

    ``method="tryon"``: the style encoder reads the reference's makeup as a style vector and the try-on
    generator applies it (trained with SynthFaces' ground truth). ``method="beautygan"``: the BeautyGAN-style
    generator (trained unpaired); its change is gated by the try-on generator's region masks, so region
    switches work for it too. ``method="layered"``: unpaired too, makeup as layers (``models.LayeredTransfer``):
    the reference's style is read by fitting the layer model to it, then applied like a shade. ``reference`` is a 64 px face, a photo (with landmarks) or a portrait name. On
    photos, ``masks`` says where the makeup goes (``MASK_SOURCES``).
    Taught in 05_makeup_transfer, section 6.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    intensity, regions, masks = _check_intensity(intensity), _check_regions(regions), _check_masks(masks)
    face = _prepare(image, "image", face_landmarks)
    ref = _prepare(reference, "reference", reference_landmarks)
    b = face.crop64.shape[0]
    if ref.crop64.shape[0] not in (1, b):
        raise ValueError(f"reference must be one face or one per image ({b}), got {ref.crop64.shape[0]}")
    ref64 = ref.crop64.expand(b, -1, -1, -1)
    nets = nets or load_models()
    with torch.no_grad():
        if method == "tryon":
            out = _apply_style(face, switch(nets.E(ref64), intensity, regions), nets, masks)
        elif method == "layered":
            style, _ = nets.L.read_style(ref64)
            out = _apply_style(face, switch(style, intensity, regions), nets, masks, unpaired=True)
        else:
            made, _ = nets.R(face.crop64, ref64)
            where = nets.G.predict_masks(face.crop64) if face.box is None else _photo_masks(face, nets, masks, SIZE)
            gate = torch.zeros_like(made[:, :1])
            for region in regions:
                for key in _REGION_MASKS[region]:
                    gate = torch.maximum(gate, where[key])
            delta = (made - face.crop64) / 2 * gate * intensity  # in [0, 1] units
            if face.box is None:
                out = (face.full + delta).clamp(0, 1)
            else:
                top, left, side = face.box
                delta = F.interpolate(delta, size=(side, side), mode="bilinear", align_corners=False)
                out = _paste(face.full, (_crop(face.full, top, left, side) + delta).clamp(0, 1), top, left)
    return makeup.from_batch01(out, face.kind)


def predict_masks(image, *, face_landmarks=None, nets: TryOnModels | None = None) -> dict[str, np.ndarray]:
    """Where the try-on generator puts each product on ``image``'s 64 px face crop: region -> (B, 64, 64) in [0, 1].

    Taught in 05_makeup_transfer, section 5.
    """
    face = _prepare(image, "image", face_landmarks)
    nets = nets or load_models()
    with torch.no_grad():
        return {k: m[:, 0].numpy() for k, m in nets.G.predict_masks(face.crop64).items()}
