"""SynthFaces: determinism, masks, skin-tone range, makeup visibility on every tone, bad input."""
import numpy as np
import pytest
import torch

from course_lib import colour, config, faces, makeup

LIP_STYLE = makeup.MakeupStyle(lipstick="plum", lip_opacity=1.0, finish="satin")
# faces.face_uniforms(0, [0, 7])[:, :3], recorded when the hash was written (exact in float64)
PINNED_DRAWS = [[0.5079605879681605, 0.4224192380508798, 0.37718133861678727],
                [0.48014954511059993, 0.503149444001444, 0.7914116705354748]]


@pytest.fixture(scope="module")
def batch():
    return faces.render_indices(range(24), seed=3, size=64)


def test_same_seed_and_index_give_identical_pixels(batch):
    again = faces.render_indices(range(24), seed=3, size=64)
    assert torch.equal(batch.images, again.images)
    for name in faces.MASKS:
        assert torch.equal(batch.masks[name], again.masks[name])


def test_a_face_does_not_depend_on_its_batch(batch):
    # Every shape ends at its own box, not at the (wider) window its chunk shares, so a face rendered alone
    # matches the same face in a batch: identical parameters, masks to float rounding, pixels to at most one
    # 8-bit step (vectorised and scalar maths may differ in the last bit).
    for i in (0, 5, 17, 23):
        alone = faces.render_indices([i], seed=3, size=64)
        assert alone.identities[0] == batch.identities[i] and alone.makeups[0] == batch.makeups[i]
        assert (alone.images[0] - batch.images[i]).abs().max() <= 1 / 127.5 + 1e-6
        for name in faces.MASKS:
            assert (alone.masks[name][0] - batch.masks[name][i]).abs().max() <= 1e-5, name


def test_a_bare_face_and_its_masks_do_not_depend_on_its_batch():
    """The shader's inputs for a face (parameters, linear colours) are the same alone and in a batch to the last
    bit, so bare faces and every mask are too (a vectorised sRGB curve once gave the colours in a SIMD block and
    those in its tail different last bits)."""
    from course_lib.faces import drawing

    ids = [faces.sample_face(5, i, makeup=False)[0] for i in range(96)]
    params, colours, _ = drawing.identity_table(ids)
    for i in range(0, 96, 7):
        alone = drawing.identity_table([ids[i]])
        assert np.array_equal(params[i], alone[0][0]) and np.array_equal(colours[i], alone[1][0]), i
    bare = faces.render_indices(range(40), seed=6, size=32, makeup=False)
    for start in (0, 16, 33):
        part = faces.render_indices(range(start, start + 7), seed=6, size=32, makeup=False)
        assert torch.equal(part.images, bare.images[start:start + 7])
        for name in faces.MASKS:
            assert torch.equal(part.masks[name], bare.masks[name][start:start + 7]), name


def test_other_seeds_and_indices_give_other_faces(batch):
    other = faces.render_indices(range(24), seed=4, size=64)
    assert (other.images - batch.images).abs().mean() > 0.05
    assert len({i.texture for i in batch.identities}) == 24


def test_identity_does_not_depend_on_makeup():
    with_makeup = faces.sample_face(7, 11, makeup=True)
    without = faces.sample_face(7, 11, makeup=False)
    assert with_makeup[0] == without[0] and without[1].is_bare and not with_makeup[1].is_bare


def test_images_are_8_bit_and_in_range(batch):
    x = (batch.images + 1) / 2 * 255
    assert batch.images.shape == (24, 3, 64, 64) and batch.images.dtype == torch.float32
    assert batch.images.min() >= -1 and batch.images.max() <= 1
    torch.testing.assert_close(x, x.round(), atol=1e-3, rtol=0)


def test_regions_partition_every_pixel(batch):
    total = sum(batch.masks[name] for name in faces.REGIONS)
    torch.testing.assert_close(total, torch.ones_like(total), atol=1e-5, rtol=0)
    for name in faces.MASKS:
        m = batch.masks[name]
        assert m.shape == (24, 1, 64, 64) and m.min() >= 0 and m.max() <= 1 + 1e-6, name


def test_every_face_has_every_region(batch):
    for name in ("skin", "lips", "eyes", "brows", "background", "eyeshadow", "cheeks", "liner"):
        area = batch.masks[name].sum((1, 2, 3))
        assert (area > 3).all(), f"{name} is missing on some face: areas {area.tolist()}"


def test_makeup_zones_lie_on_skin_and_features_do_not_overlap(batch):
    m = batch.masks
    assert (m["eyeshadow"] <= m["skin"] + 1e-6).all() and (m["cheeks"] <= m["skin"] + 1e-6).all()
    assert (m["liner"] <= m["skin"] + m["eyes"] + 1e-6).all()
    assert (m["lips"] * m["eyes"]).max() < 1e-6 and (m["lips"] * m["brows"]).max() < 1e-6
    # Lips sit below the eyes, eyes below the brows, on every face.
    rows = torch.arange(64.0).view(1, 1, 64, 1)
    centre = {k: (m[k] * rows).sum((1, 2, 3)) / m[k].sum((1, 2, 3)) for k in ("brows", "eyes", "lips")}
    assert (centre["brows"] < centre["eyes"]).all() and (centre["eyes"] < centre["lips"]).all()


def test_makeup_changes_no_pixel_outside_its_regions():
    ids = [faces.sample_face(1, i)[0] for i in range(12)]
    styles = [faces.sample_face(1, i)[1] for i in range(12)]
    bare, made_up = faces.render(ids, size=64), faces.render(ids, styles, size=64)
    zones = sum(bare.masks[k] for k in ("lips", "eyeshadow", "cheeks", "liner"))
    outside = (zones == 0).expand_as(bare.images)
    assert (made_up.images - bare.images)[outside].abs().max() <= 1 / 255 * 2 + 1e-6  # [-1, 1] scale: 1/255 in [0, 1]
    assert (made_up.images - bare.images).abs().max() > 0.2  # and it does change the made-up regions


@pytest.mark.parametrize("size", [32, 64, 128, 256])
def test_every_supported_size_renders(size):
    f = faces.render(faces.Identity(), LIP_STYLE, size=size)
    assert f.images.shape == (1, 3, size, size) and f.masks["lips"].sum() > 0


def test_skin_tones_span_light_to_deep():
    f = faces.render_indices(range(60), seed=0, size=32, makeup=False)
    skin = f.masks["skin"][:, 0] > 0.99
    lstar = [colour.rgb_to_lab(f.image(i)[skin[i].numpy()])[:, 0].mean() for i in range(len(f))]
    assert max(lstar) - min(lstar) > 50, f"skin L* spans only {max(lstar) - min(lstar):.1f}"
    tones = [i.tone for i in f.identities]
    assert min(tones) < 2 and max(tones) > 9
    assert {faces.tone_group(t) for t in tones} == {"light", "medium", "deep"}


def _mean_colour(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return img[mask > 0.95].mean(0)


@pytest.mark.parametrize("tone", [1.0, 3.0, 5.0, 7.0, 9.0, 10.0])
def test_lipstick_shows_its_shade_on_every_skin_tone(tone):
    """Fairness of the data itself: the requested shade is what the lips show, light or deep."""
    ident = faces.Identity(tone=tone)
    f = faces.render(ident, LIP_STYLE, size=128)
    got = _mean_colour(f.image(0), f.mask("lips"))
    want = np.asarray(makeup.shade("plum", "lipstick"))
    assert colour.delta_e2000(got, want) < 6, f"tone {tone}: lips {got} vs plum {want}"


@pytest.mark.parametrize("tone", [1.0, 5.5, 10.0])
@pytest.mark.parametrize("product, zone", [("eyeshadow", "eyeshadow"), ("blush", "cheeks"), ("eyeliner", "liner")])
def test_every_product_is_visible_on_every_skin_tone(tone, product, zone):
    """Averaged over the catalogue, each product changes its zone clearly (dE2000 > 6) on light and deep skin."""
    ident = faces.Identity(tone=tone)
    styles = [makeup.MakeupStyle(**{product: name}) for name in makeup.CATALOGUE[product]]
    bare, made = faces.render([ident] * len(styles), size=128), faces.render([ident] * len(styles), styles, size=128)
    m = bare.mask(zone) > 0.5
    diff = np.mean([colour.delta_e2000(bare.image(i)[m], made.image(i)[m]).mean() for i in range(len(styles))])
    assert diff > 6, f"{product} on tone {tone}: mean dE2000 only {diff:.1f}"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tone": 11}, r"tone must be a number in \[1, 10\]"),
        ({"eye_size": 3.0}, r"eye_size must be a number in \[0.8, 1.25\]"),
        ({"hair_style": "mohawk"}, "hair_style must be one of short, long"),
        ({"iris": "purple"}, "iris must be one of"),
        ({"background": (1.2, 0, 0)}, "background must be an sRGB triple"),
        ({"texture": -1}, "texture must be a non-negative int"),
    ],
)
def test_bad_identity_parameters_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        faces.Identity(**kwargs)


def test_bad_render_arguments_are_named():
    with pytest.raises(ValueError, match="size must be one of 32, 64, 128, 256"):
        faces.render(faces.Identity(), size=100)
    with pytest.raises(TypeError, match="identity must be an Identity"):
        faces.render({"tone": 3})
    with pytest.raises(ValueError, match="makeup must be a MakeupStyle or a list of 2"):
        faces.render([faces.Identity()] * 2, [LIP_STYLE] * 3)
    with pytest.raises(ValueError, match=r"seed and index must be in \[0, 2\*\*31\)"):
        faces.sample_face(0, -1)


def test_sampled_identities_are_valid_and_varied():
    pairs = [faces.sample_face(0, i) for i in range(300)]
    styles = {p[0].hair_style for p in pairs}
    assert styles == set(faces.HAIR_STYLES)
    tones = np.array([p[0].tone for p in pairs])
    counts = np.histogram(tones, bins=np.arange(0.5, 11.5))[0]
    assert counts.min() > 10  # every Monk tone is drawn (uniformly: ~30 each)
    worn = [p[1] for p in pairs]
    assert all(not s.is_bare for s in worn) and np.mean([s.lipstick is not None for s in worn]) > 0.7


def test_gallery_tool_writes_a_png_of_the_faces(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("gallery", config.REPO_ROOT / "tools" / "gallery.py")
    gallery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gallery)
    out = tmp_path / "gallery.png"
    assert gallery.main([str(out), "--n", "4", "--size", "32"]) == 0
    from PIL import Image

    with Image.open(out) as img:
        assert img.format == "PNG" and img.size == (2 * 32 + 3 * 2, 2 * 32 + 3 * 2)  # 2 x 2 faces, 2 px padding
    assert "wrote 4 faces" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # not a PNG name
        gallery.main([str(tmp_path / "gallery.jpg")])


def test_compile_command_readies_the_renderer(capsys):
    from course_lib.faces.__main__ import main

    assert main(["--compile"]) == 0
    assert "renderer ready" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # the one task must be asked for
        main([])


def test_sampler_output_passes_validation():
    """The sampler builds identities without re-validating them: check that it never needs to."""
    for identity, style in faces.sample_faces(9, range(300), makeup=0.7):
        assert faces.Identity(**identity.as_dict()) == identity
        assert makeup.MakeupStyle(**style.as_dict()) == style


def test_face_draws_are_pinned():
    """Face i of seed s must stay the same person across machines and releases: pin the hash's output."""
    np.testing.assert_array_equal(faces.face_uniforms(0, [0, 7])[:, :3], np.array(PINNED_DRAWS))
    # batch independence: the numbers of face 7 do not depend on which faces come with it
    np.testing.assert_array_equal(faces.face_uniforms(0, [7]), faces.face_uniforms(0, [3, 7, 9])[1:2])


# Per-face channel means of faces 0-5 of seed 0 (64 px, made up) and their lip and hair areas, recorded with the
# renderer before it was compiled with Numba (torch, batched): the pixels may move by one 8-bit level, no more.
PINNED_MEANS = [[0.1449, 0.0042, -0.0793], [0.3366, 0.301, 0.2344], [0.0134, -0.054, -0.0571],
                [0.0647, 0.0526, -0.0305], [0.2335, 0.1117, -0.064], [0.1192, 0.1014, 0.0295]]
PINNED_LIPS = [0.0088, 0.0046, 0.0088, 0.0059, 0.0055, 0.0043]
PINNED_HAIR = [0.1752, 0.1884, 0.0585, 0.1891, 0.1908, 0.2275]


def test_rendered_faces_are_pinned():
    """The same faces as every earlier release: the shipped checkpoints were trained on them."""
    f = faces.render_indices(range(6), seed=0, size=64)
    np.testing.assert_allclose(f.images.mean((2, 3)).numpy(), PINNED_MEANS, atol=2e-4)
    np.testing.assert_allclose(f.masks["lips"].mean((1, 2, 3)).numpy(), PINNED_LIPS, atol=1e-4)
    np.testing.assert_allclose(f.masks["hair"].mean((1, 2, 3)).numpy(), PINNED_HAIR, atol=1e-4)


def test_threads_do_not_change_a_pixel():
    """The batch is split between threads: one thread or two must draw exactly the same faces."""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = faces.render_indices(range(40), seed=5, size=32)
        torch.set_num_threads(2)
        two = faces.render_indices(range(40), seed=5, size=32)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one.images, two.images)
    for name in faces.MASKS:
        assert torch.equal(one.masks[name], two.masks[name]), name


def test_big_outputs_own_their_memory():
    """Big renders live in their own (huge-page) memory map: views must outlive the tensor they came from."""
    from course_lib.faces.renderer import _empty

    big = _empty((40, 10, 64, 64))  # 6.5 MB: over the huge-page threshold
    assert big.shape == (40, 10, 64, 64) and big.dtype == torch.float32 and big.is_contiguous()
    view = big[:, 3:4]
    big.fill_(0.25)
    del big
    import gc

    gc.collect()
    assert float(view.sum()) == 0.25 * view.numel()
    f = faces.render_indices(range(64), seed=2, size=64, makeup=False)  # 10.5 MB of masks
    masks = f.masks["skin"]
    del f
    gc.collect()
    assert 0.1 < float(masks.mean()) < 0.6
