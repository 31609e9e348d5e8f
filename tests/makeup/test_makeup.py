"""The makeup layer model, the catalogue, the style vector and the classic baselines."""
import numpy as np
import pytest
import torch

from course_lib import colour, faces, makeup


@pytest.fixture(scope="module")
def face():
    return faces.render(faces.Identity(tone=4), size=64)


STYLE = makeup.MakeupStyle(lipstick="coral", eyeshadow="navy", blush="rose", eyeliner="black", finish="gloss")


def test_intensity_zero_is_the_identity(face):
    out = makeup.apply_makeup(face.images, face.masks, STYLE, intensity=0.0)
    assert torch.equal(out, face.images)


def test_intensity_interpolates_monotonically(face):
    lips = face.masks["lips"] > 0.95
    dists = []
    for t in (0.25, 0.5, 1.0):
        out = makeup.apply_makeup(face.images, face.masks, STYLE, intensity=t)
        dists.append((out - face.images).abs()[lips.expand_as(out)].mean().item())
    assert dists[0] < dists[1] < dists[2]


def test_pixels_outside_every_mask_are_bit_exact(face):
    out = makeup.apply_makeup(face.images, face.masks, STYLE)
    zones = sum(face.masks[k] for k in ("lips", "eyeshadow", "cheeks", "liner"))
    outside = (zones == 0).expand_as(out)
    assert torch.equal(out[outside], face.images[outside])


def test_lipstick_takes_the_shade_and_keeps_the_shading(face):
    style = makeup.MakeupStyle(lipstick="#2060c0", lip_opacity=1.0, finish="satin")
    out = makeup.apply_makeup(face.images, face.masks, style)
    lips = (face.masks["lips"][0, 0] > 0.95).numpy()
    img = ((out[0].permute(1, 2, 0) + 1) / 2).numpy()
    assert colour.delta_e2000(img[lips].mean(0), colour.hex_to_rgb("#2060c0")) < 5
    # Shading kept: lip pixels that were darker before are darker after (rank correlation of luminance).
    before = ((face.images[0].permute(1, 2, 0) + 1) / 2).numpy()[lips].mean(1)
    after = img[lips].mean(1)
    assert np.corrcoef(np.argsort(np.argsort(before)), np.argsort(np.argsort(after)))[0, 1] > 0.8


def test_finishes_differ_and_gloss_is_brightest(face):
    lips = face.masks["lips"] > 0.9
    peak = {}
    for finish in makeup.FINISHES:
        out = makeup.apply_makeup(face.images, face.masks, makeup.MakeupStyle(lipstick="ruby", finish=finish, lip_opacity=1.0))
        peak[finish] = out[lips.expand_as(out)].max().item()
    assert peak["gloss"] > peak["satin"] > peak["matte"]


def test_numpy_images_grey_rgba_and_uint8_are_converted(face):
    img = face.image(0)
    masks = {k: face.mask(k) for k in face.masks}
    out = makeup.apply_makeup(img, masks, STYLE)
    assert out.shape == img.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    rgba = np.concatenate([img, np.ones_like(img[..., :1])], -1)
    np.testing.assert_allclose(makeup.apply_makeup(rgba, masks, STYLE), out, atol=1e-6)
    u8 = np.round(img * 255).astype(np.uint8)
    np.testing.assert_allclose(makeup.apply_makeup(u8, masks, STYLE), out, atol=1e-5)
    grey = img.mean(-1)
    assert makeup.apply_makeup(grey, masks, STYLE).shape == img.shape


def test_one_style_per_image_in_a_batch():
    f = faces.render([faces.Identity(tone=2), faces.Identity(tone=9)], size=64)
    styles = [makeup.MakeupStyle(lipstick="plum"), makeup.MakeupStyle(lipstick="orange")]
    out = makeup.apply_makeup(f.images, f.masks, styles)
    lips = f.masks["lips"][:, 0] > 0.95
    means = [((out[i].permute(1, 2, 0) + 1) / 2)[lips[i]].mean(0).numpy() for i in range(2)]
    assert colour.delta_e2000(means[0], means[1]) > 20
    with pytest.raises(ValueError, match="got 3 styles for a batch of 2"):
        makeup.apply_makeup(f.images, f.masks, styles + styles[:1])


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda f: makeup.apply_makeup(f.images, {"eyes": f.masks["eyes"]}, STYLE), ValueError, "masks has no 'lips' region"),
        (lambda f: makeup.apply_makeup(f.images, {**f.masks, "lips": torch.zeros(1, 1, 32, 32)}, STYLE), ValueError, r"masks\['lips'\] must have shape"),
        (lambda f: makeup.apply_makeup(f.images, {**f.masks, "lips": f.masks["lips"] * 3}, STYLE), ValueError, r"values in \[0, 1\]"),
        (lambda f: makeup.apply_makeup(f.images * 3, f.masks, STYLE), ValueError, r"must lie in \[-1, 1\]"),
        (lambda f: makeup.apply_makeup(f.image(0) * 255, f.masks, STYLE), ValueError, "divide uint8 data by 255"),
        (lambda f: makeup.apply_makeup(np.zeros((64, 64, 5)), f.masks, STYLE), ValueError, r"\(H, W, 3\)"),
        (lambda f: makeup.apply_makeup(f.images, f.masks, STYLE, intensity=1.5), ValueError, r"intensity must be a number in \[0, 1\]"),
        (lambda f: makeup.apply_makeup(f.images, f.masks, "plum"), TypeError, "style must be a MakeupStyle"),
    ],
)
def test_bad_input_is_named(face, call, error, match):
    with pytest.raises(error, match=match):
        call(face)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lipstick": "mauvy"}, "unknown lipstick shade 'mauvy'; choose one of nude, rose"),
        ({"lipstick": "#12345"}, "hex string"),
        ({"eyeshadow": (1.0, 0.2)}, "sRGB triple"),
        ({"lip_opacity": 1.2}, r"lip_opacity must lie in \[0, 1\]"),
        ({"eyeshadow_extent": 0.0}, r"eyeshadow_extent must lie in \(0, 1\]"),
        ({"finish": "shiny"}, "finish must be one of matte, satin, gloss"),
    ],
)
def test_bad_styles_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        makeup.MakeupStyle(**kwargs)


def test_catalogue_names_and_hex_codes_resolve():
    assert makeup.shade("Plum", "lipstick") == colour.hex_to_rgb(makeup.CATALOGUE["lipstick"]["plum"])
    assert makeup.shade("#FF0000", "blush") == (1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="product must be one of"):
        makeup.shade("plum", "mascara")
    assert colour.rgb_to_hex(colour.hex_to_rgb("#c41e3a")) == "#c41e3a"


def test_style_vector_round_trips():
    v = STYLE.to_vector()
    assert v.shape == (len(makeup.VECTOR_FIELDS),) and v.dtype == np.float32
    back = makeup.MakeupStyle.from_vector(v)
    np.testing.assert_allclose(back.to_vector(), v, atol=1e-6)
    assert makeup.MakeupStyle.none().to_vector()[[3, 8, 13, 17]].sum() == 0
    # every product's colour is in the vector, the eyeliner's included (a navy liner does not come back black)
    navy = makeup.MakeupStyle(eyeliner="navy", eyeliner_opacity=0.6)
    assert makeup.MakeupStyle.from_vector(navy.to_vector()).eyeliner == pytest.approx(makeup.shade("navy", "eyeliner"))
    with pytest.raises(ValueError, match=r"shape \(18,\)"):
        makeup.MakeupStyle.from_vector(np.zeros(3))
    assert "lipstick #ee6352 gloss" in STYLE.describe()


def _triplet():
    src_id, ref = faces.Identity(tone=3), faces.Identity(tone=8, face_width=0.42)
    style = makeup.MakeupStyle(lipstick="berry", eyeshadow="gold", blush="peach", lip_opacity=1.0)
    return faces.render(src_id, size=64), faces.render(ref, style, size=64), faces.render(src_id, style, size=64)


@pytest.mark.parametrize("method", [makeup.histogram_transfer, makeup.reinhard_transfer])
def test_baselines_move_lips_towards_the_target(method):
    src, ref, target = _triplet()
    out = method(src.image(0), ref.image(0), {k: src.mask(k) for k in src.masks}, {k: ref.mask(k) for k in ref.masks})
    lips = src.mask("lips") > 0.95
    before = colour.delta_e2000(src.image(0)[lips], target.image(0)[lips]).mean()
    after = colour.delta_e2000(out[lips], target.image(0)[lips]).mean()
    assert after < 0.5 * before, (before, after)
    outside = sum(src.mask(k) for k in ("lips", "eyeshadow", "cheeks")) == 0
    np.testing.assert_allclose(out[outside], src.image(0)[outside], atol=1e-6)


def test_baselines_name_bad_input():
    src, ref, _ = _triplet()
    masks = {k: src.mask(k) for k in src.masks}
    with pytest.raises(ValueError, match="region 'lips' must be in both mask dicts"):
        makeup.histogram_transfer(src.image(0), ref.image(0), masks, {})
    with pytest.raises(ValueError, match=r"source must be a numpy image \(H, W, 3\)"):
        makeup.reinhard_transfer(src.image(0)[..., 0], ref.image(0), masks, masks)


def test_style_vectors_out_of_range_are_named():
    v = STYLE.to_vector()
    v[3] = 1.7
    with pytest.raises(ValueError, match="out of range: lip_opacity=1.7"):
        makeup.MakeupStyle.from_vector(v)


def test_srgb_to_lab_matches_scikit_image_and_has_gradients():
    x = torch.cat([torch.rand(2, 3, 6, 6, dtype=torch.float64), torch.rand(1, 3, 6, 6, dtype=torch.float64) * 0.02])  # dark too
    lab = colour.srgb_to_lab(x)
    assert lab.shape == x.shape
    np.testing.assert_allclose(lab.permute(0, 2, 3, 1).numpy(), colour.rgb_to_lab(x.permute(0, 2, 3, 1).numpy()), atol=1e-3)
    # on a blush shade, a redder, more saturated step (the smaller one in sRGB L1) and a lighter one: Lab sees the
    # change of colour far more, as dE2000 does
    # (why the style encoder's paint loss is measured in Lab)
    coral = torch.tensor(colour.hex_to_rgb("#ef7a66")).view(1, 3, 1, 1)
    hue, lighter = coral + torch.tensor([0.09, -0.09, 0.0]).view(1, 3, 1, 1), coral + torch.tensor([0.06, 0.06, 0.06]).view(1, 3, 1, 1)
    lab_gap = lambda c: float((colour.srgb_to_lab(c.clamp(0, 1)) - colour.srgb_to_lab(coral)).abs().sum())  # noqa: E731
    de = lambda c: float(colour.delta_e2000(c.clamp(0, 1).flatten().numpy(), coral.flatten().numpy()))  # noqa: E731
    assert lab_gap(hue) > 1.5 * lab_gap(lighter) and de(hue) > 1.5 * de(lighter)
    y = torch.full((1, 3, 2, 2), 0.0, requires_grad=True)  # black: the cube root's linear segment keeps gradients finite
    colour.srgb_to_lab(y).sum().backward()
    assert torch.isfinite(y.grad).all()


@pytest.mark.parametrize("bad", [torch.rand(3, 4, 4), torch.rand(1, 4, 4, 4), np.zeros((1, 3, 4, 4))])
def test_srgb_to_lab_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match="x must be a tensor"):
        colour.srgb_to_lab(bad)
