"""Reading makeup off a face by fitting the layer model (makeup.bare_estimate, makeup.fit_style), the style
read-out of the unpaired, layered transfer (05_makeup_transfer, section 3)."""
import numpy as np
import pytest
import torch

from course_lib import data, faces, makeup
from course_lib.colour import srgb_to_linear


@pytest.fixture(scope="module")
def worn():
    """12 made-up faces of data seed 5, the same people bare, and their masks and styles."""
    people = faces.sample_faces(5, range(12), makeup=True)
    styles = [p[1] for p in people]
    made = faces.render([p[0] for p in people], styles, size=64)
    bare = faces.render([p[0] for p in people], size=64)
    vectors = torch.from_numpy(np.stack([s.to_vector() for s in styles]))
    return made.images, bare.images, made.masks, vectors


def _colour_error(fitted, true, product):
    """Mean |error| of a product's fitted sRGB colour over the faces that wear it."""
    wear = true[:, makeup.OPACITY_INDEX[product]] > 0
    sl = makeup.COLOUR_SLICE[product]
    return (fitted[wear, sl] - true[wear, sl]).abs().mean().item()


def test_fit_style_recovers_the_renderers_style_given_the_bare_face(worn):
    made, bare, masks, true = worn
    fitted = makeup.fit_style(made, bare, masks)
    start = torch.full_like(true, 0.5)
    # measured here: lipstick 0.022 (from 0.26 at the start), eyeshadow 0.054 (0.21), blush 0.016 (0.20): the
    # eyeshadow's colour trades off against its extent, the lipstick's is read best (its opacity is highest)
    errors = {p: (_colour_error(fitted, true, p), _colour_error(start, true, p)) for p in ("lipstick", "eyeshadow", "blush")}
    assert errors["lipstick"][0] < 0.04, errors
    assert all(err < 0.4 * err0 for err, err0 in errors.values()), errors
    lip_opacity = makeup.OPACITY_INDEX["lipstick"]
    wear = true[:, lip_opacity] > 0
    assert (fitted[wear, lip_opacity] - true[wear, lip_opacity]).abs().mean() < 0.1
    # what it fits reproduces the face: the re-made face is close to the real one
    zones = {k: masks[k] for k in makeup.MAKEUP_MASKS}
    remade = makeup.composite((bare + 1) / 2, zones, fitted) * 2 - 1
    assert (remade - made).abs().mean() < 0.01


def test_fit_style_is_deterministic_and_works_under_no_grad_and_inference_mode(worn):
    made, bare, masks, _ = worn
    three = {k: v[:3] for k, v in masks.items()}
    a = makeup.fit_style(made[:3], bare[:3], three, steps=20)
    with torch.no_grad():
        b = makeup.fit_style(made[:3], bare[:3], three, steps=20)
    with torch.inference_mode():  # even tensors made in inference mode
        c = makeup.fit_style(made[:3].clone(), bare[:3].clone(), {k: v.clone() for k, v in three.items()}, steps=20)
    assert torch.equal(a, b) and torch.equal(a, c) and a.shape == (3, 18) and not a.requires_grad
    assert ((a >= 0) & (a <= 1)).all()


def test_fit_style_refines_a_reading_it_is_given(worn):
    """``init`` starts the fit from a reading: from the truth, a short fit stays near it; from 0.5 it cannot get
    there in as few steps; a wrong start is pulled towards the face (the re-made face gets closer)."""
    made, bare, masks, true = worn
    products = ("lipstick", "eyeshadow", "blush")
    near = makeup.fit_style(made, bare, masks, steps=10, init=true)
    cold = makeup.fit_style(made, bare, masks, steps=10)
    for product in products:
        assert _colour_error(near, true, product) < 0.5 * _colour_error(cold, true, product), product
    zones = {k: masks[k] for k in makeup.MAKEUP_MASKS}
    gap = lambda s: (makeup.composite((bare + 1) / 2, zones, s) * 2 - 1 - made).abs().mean().item()  # noqa: E731
    wrong = (true + 0.3 * torch.rand(true.shape, generator=torch.Generator().manual_seed(0)) - 0.15).clamp(0, 1)
    assert gap(makeup.fit_style(made, bare, masks, steps=40, init=wrong)) < 0.6 * gap(wrong)
    with pytest.raises(ValueError, match=r"init must be style vectors \(12, 18\)"):
        makeup.fit_style(made, bare, masks, init=true[:3])
    with pytest.raises(TypeError, match=r"init must be a tensor of style vectors \(12, 18\), got list"):
        makeup.fit_style(made, bare, masks, init=true.tolist())
    with pytest.raises(ValueError, match=r"init must hold style vectors with values in \[0, 1\]"):
        makeup.fit_style(made, bare, masks, init=true * 2)
    nan = true.clone()
    nan[0, 0] = float("nan")
    with pytest.raises(ValueError, match="init holds 1 NaN"):
        makeup.fit_style(made, bare, masks, init=nan)


def test_bare_estimate_fills_the_made_up_area_with_the_skin_around_it(worn):
    made, _, masks, _ = worn
    est = makeup.bare_estimate(made, masks)
    area = torch.cat([masks[k] for k in makeup.MAKEUP_MASKS], 1).amax(1, keepdim=True)
    assert est.shape == made.shape
    outside = (area == 0).expand_as(made)
    assert (est - made)[outside].abs().max() < 1e-4  # untouched where no product can be
    skin = masks["skin"] * (area < makeup.layers.WORN_THRESHOLD)
    lin = srgb_to_linear((made + 1) / 2)
    mean = (lin * skin).sum((2, 3)) / skin.sum((2, 3))  # (B, 3)
    full = (area >= 0.999).expand_as(made)  # where a mask is 1 the estimate is exactly the skin mean
    got = srgb_to_linear((est + 1) / 2)
    for i in range(len(made)):
        if full[i].any():
            assert torch.allclose(got[i][full[i]].view(3, -1), mean[i][:, None].expand(3, int(full[i, 0].sum())), atol=1e-4)
    numpy_kind = makeup.bare_estimate(((made[0] + 1) / 2).permute(1, 2, 0).numpy(), {k: v[0, 0] for k, v in masks.items()})
    assert numpy_kind.shape == (64, 64, 3)


def test_histogram_loss_optimum_copies_the_references_skin_but_the_layer_cycle_does_not():
    """The lesson of notebook 05, section 3, on 24 held-out triplets: fitting the 18 numbers to the histogram
    loss makes the cheeks worse than doing nothing; re-making the reference from its bare estimate does not."""
    from course_lib import losses, metrics, models

    tri = data.transfer_triplets(24, seed=96)
    zones = lambda m: {k: m[k] for k in models.MASK_REGIONS}  # noqa: E731
    paint = lambda s: makeup.composite((tri["source"] + 1) / 2, zones(tri["masks"]), s) * 2 - 1  # noqa: E731
    theta = torch.zeros(24, 18, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=0.05)
    for _ in range(60):
        loss = losses.region_histogram_loss(paint(torch.sigmoid(theta)), tri["reference"], tri["masks"], tri["reference_masks"])
        opt.zero_grad(), loss.backward(), opt.step()
    s_fit = makeup.fit_style(tri["reference"], makeup.bare_estimate(tri["reference"], tri["reference_masks"]), tri["reference_masks"])
    rows = {name: metrics.summarise(metrics.transfer_scores(out, tri))[0] for name, out in
            {"nothing": tri["source"], "hist": paint(torch.sigmoid(theta)).detach(), "cycle": paint(s_fit)}.items()}
    assert rows["hist"]["cheeks"] > rows["nothing"]["cheeks"], rows
    for region in metrics.transfer.REGIONS:
        assert rows["cycle"][region] < rows["nothing"][region], (region, rows)


def test_lip_tint_is_measured_on_bare_faces_and_paints_the_bare_lips(worn):
    made, bare, masks, _ = worn
    tint = makeup.lip_tint(bare, masks)
    assert tint.shape == (3,) and (tint > 0.3).all() and (tint < 1.2).all() and tint[0] > tint[1]  # redder than skin
    est, flat = makeup.bare_estimate(made, masks, tint), makeup.bare_estimate(made, masks)
    lips = (masks["lips"] > 0.99).expand_as(made)
    truth = bare[lips]  # the true bare lips: the tinted estimate is closer to them than skin-coloured lips
    assert (est[lips] - truth).abs().mean() < 0.8 * (flat[lips] - truth).abs().mean()
    assert torch.equal(makeup.bare_estimate(made, masks, torch.ones(3)), flat)
    with pytest.raises(ValueError, match="tint must be 3 positive numbers"):
        makeup.bare_estimate(made, masks, torch.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="at least 4 pixels of lips"):
        makeup.lip_tint(bare, {**masks, "lips": torch.zeros_like(masks["lips"])})
