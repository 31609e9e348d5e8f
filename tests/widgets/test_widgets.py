import datetime

import numpy as np
import pytest
import torch

from course_lib import widgets
from course_lib.widgets.common import placeholder_png


def test_noise_to_image_ends_are_noise_and_portrait():
    a, b = widgets.noise_to_image(0.0, size=32), widgets.noise_to_image(1.0, size=32)
    assert a.shape == b.shape == (32, 32, 3)
    np.testing.assert_allclose(b, widgets.welcome._portrait(32), atol=1e-6)
    assert np.abs(a - b).mean() > 0.1
    with pytest.raises(ValueError, match="mix"):
        widgets.noise_to_image(1.5)


def test_welcome_slider_redraws_and_reports():
    view = widgets.welcome_slider(size=32)
    first = view.image.value
    assert view.status.value == "slider at 0.0: redrawn"
    view.slider.value = 0.3
    assert view.image.value != first
    assert view.status.value == "slider at 0.3: redrawn"
    assert view.last_ms > 0


def test_minimax_state_holds_the_jsd_identity_and_its_minimum():
    from course_lib import data

    state = widgets.minimax_state(1.0, 0.8)
    assert state["value"] == pytest.approx(-np.log(4) + 2 * state["jsd"], abs=1e-6)
    same = widgets.minimax_state(0.0, 1.0, p_data=data.gaussian_1d(0.0, 1.0))  # p_g = p_data: D* = 1/2, JSD = 0
    assert same["jsd"] == pytest.approx(0.0, abs=1e-9) and same["value"] == pytest.approx(-np.log(4), abs=1e-6)
    np.testing.assert_allclose(same["d_star"].numpy(), 0.5)
    with pytest.raises(ValueError, match="width"):
        widgets.minimax_state(0.0, 0.0)


def test_pg_sliders_redraw_and_report_v_and_jsd():
    view = widgets.pg_sliders()
    first, label = view.image.value, view.status.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and label.endswith("redrawn") and "mean 3.0" in label
    view.mean.value = 0.0
    assert view.image.value != first and "mean 0.0" in view.status.value
    expected = widgets.minimax_state(0.0, 1.0)
    assert f"V(D*, G) = {expected['value']:.4f}" in view.status.value and f"JSD = {expected['jsd']:.4f}" in view.status.value
    second = view.image.value
    view.width.value = 2.0
    assert view.image.value != second and "width 2.0" in view.status.value


def test_training_scrubber_moves_between_snapshots():
    import torch

    snaps = [{"step": s, "samples": torch.randn(50, 2) * (s + 1) / 4, "surface": torch.randn(8, 8),
              "extent": (-3, 3, -3, 3), "scores": {"modes": s, "hq": 0.5}} for s in range(3)]
    view = widgets.training_scrubber(snaps, centres=torch.zeros(1, 2))
    first = view.image.value
    assert view.status.value == "snapshot 0 (step 0): redrawn" and view.slider.max == 2
    view.slider.value = 2
    assert view.image.value != first and view.status.value == "snapshot 2 (step 2): redrawn"
    with pytest.raises(ValueError, match="at least one"):
        widgets.training_scrubber([])
    with pytest.raises(KeyError, match="surface"):
        widgets.snapshot_figure({"step": 0, "samples": torch.zeros(3, 2), "extent": (0, 1, 0, 1)})


def test_face_explorer_redraws_on_every_control():
    from course_lib import makeup

    view = widgets.face_explorer(size=32, upscale=1)
    assert "face 0, tone 5.0" in view.status.value
    for name, value in [("tone", 9.0), ("lipstick", "plum"), ("finish", "gloss"), ("eyeshadow", "none"),
                        ("hair_style", "bun"), ("intensity", 0.5), ("face", 3)]:
        before = view.image.value
        view.controls[name].value = value
        assert view.image.value != before, f"moving {name} did not redraw"
    assert "face 3, tone 9.0" in view.status.value and makeup.CATALOGUE["lipstick"]["plum"] in view.status.value


def test_explorer_picture_shows_face_and_masks_side_by_side():
    from course_lib import faces, makeup

    pic = widgets.explorer_picture(faces.Identity(), makeup.MakeupStyle(lipstick="coral"), size=32)
    assert pic.shape == (32, 68, 3) and 0 <= pic.min() and pic.max() <= 1
    assert not np.allclose(pic[:, :32], pic[:, 36:])


def test_noise_sliders_move_the_face_and_the_button_gives_a_new_one():
    import torch

    from course_lib import models

    torch.manual_seed(0)
    G = models.DCGANGenerator(size=32, width=8)
    view = widgets.noise_sliders(G, n_directions=3, z_dims=(0,), seed=1, upscale=1)
    assert set(view.controls) == {"pc1", "pc2", "pc3", "z0"}
    for name in view.controls:
        before = view.image.value
        view.controls[name].value = 2.0
        assert view.image.value != before, name
    before = view.image.value
    view.new_face()
    assert view.image.value != before and view.status.value.startswith("face 2")
    dirs, std = widgets.ganspace_directions(G, n_directions=3, n_samples=300)
    assert dirs.shape == (3, 100) and (std[:-1] >= std[1:]).all()  # components in order of variance


def test_style_sliders_follow_the_controls_and_read_back_the_colour():
    import torch

    from course_lib import encoder, models

    torch.manual_seed(0)
    G = models.ConditionalGenerator(size=32, width=8)
    torch.nn.init.normal_(G.blocks[-1].film.gamma.weight)  # make the untrained G respond to the style
    enc = encoder.DomainEncoder().eval()
    view = widgets.style_sliders(G, enc=enc, seed=2, upscale=1)
    assert "lipstick read back as #" in view.status.value
    for name, value in [("lipstick", "plum"), ("lip_intensity", 0.3), ("finish", "matte"), ("eyeshadow", "gold"),
                        ("blush", "peach"), ("eyeliner", True)]:
        before = view.image.value
        view.controls[name].value = value
        assert view.image.value != before, name
    view.controls["lipstick"].value = "custom colour"
    view.controls["lip_colour"].value = "#2a7fd4"
    assert "lipstick #2a7fd4" in view.status.value
    view.new_face()
    assert view.status.value.startswith("face 3")


def test_style_from_controls_builds_the_requested_look():
    look = widgets.style_from_controls({"lipstick": "none", "lip_colour": "#000000", "lip_intensity": 1.0, "finish": "satin",
                                        "eyeshadow": "navy", "eyeshadow_intensity": 0.5, "blush": "none",
                                        "blush_intensity": 0.4, "eyeliner": False})
    assert look.lipstick is None and look.eyeshadow_opacity == 0.5 and look.blush is None and look.eyeliner is None


@pytest.fixture(scope="module")
def untrained_nets():
    import torch

    from course_lib import models, tryon

    torch.manual_seed(0)
    return tryon.TryOnModels(models.TryOnGenerator().eval(), models.StyleEncoder().eval(), models.ReferenceTransferGenerator().eval(),
                             models.LayeredTransfer(fit_steps=5).eval())


def test_studio_render_logic_headless(untrained_nets):
    state = widgets.StudioState()
    values = {"source": "SynthFace", "face": 2, "mode": "shade", "lipstick": "plum", "lip_colour": "#123456", "finish": "gloss",
              "eyeshadow": "gold", "blush": "none", "reference": 1, "method": "tryon", "intensity": 0.5,
              "lips": True, "eyes": False, "cheeks": True, "split": 0.5}
    before, after, text = widgets.studio_render(values, state, untrained_nets)
    assert before.shape == after.shape == (64, 64, 3) and "lips, cheeks" in text and "eyeshadow" in text
    before2, after2, text2 = widgets.studio_render({**values, "mode": "reference", "method": "beautygan"}, state, untrained_nets)
    assert np.array_equal(before, before2) and "beautygan" in text2
    with pytest.raises(ValueError, match="no photo uploaded"):
        widgets.studio_render({**values, "source": "upload"}, state, untrained_nets)
    from course_lib import viz

    split = viz.before_after(before, after, 0.25)
    assert np.array_equal(split[:, :15], before[:, :15]) and np.array_equal(split[:, 17:], after[:, 17:])
    with pytest.raises(ValueError, match="split"):
        viz.before_after(before, after, 1.5)


def test_tryon_studio_redraws_and_reports(untrained_nets):
    view = widgets.tryon_studio(nets=untrained_nets)
    assert "redrawn in" in view.status.value
    first = view.image.value
    view.controls["split"].value = 0.9
    assert view.image.value != first and "redrawn in" in view.status.value
    view.controls["source"].value = "upload"  # nothing uploaded yet: a message, not a crash
    assert view.status.value.startswith("cannot try on: no photo uploaded")
    assert view.image.value == placeholder_png(288, 288) and "course-error" in view.status._dom_classes  # no stale result
    view.controls["source"].value = "grace_hopper"
    assert "redrawn in" in view.status.value and view.last_ms > 0 and "course-error" not in view.status._dom_classes


def test_tryon_studio_shows_only_the_controls_that_apply_and_clears_a_bad_upload(untrained_nets):
    view = widgets.tryon_studio(nets=untrained_nets)
    hidden = {k for k, w in view.controls.items() if w.layout.display == "none"}
    assert hidden == {"lip_colour", "reference", "method"}  # shade mode, a catalogue lipstick
    view.controls["mode"].value = "reference"
    hidden = {k for k, w in view.controls.items() if w.layout.display == "none"}
    assert hidden == {"lipstick", "lip_colour", "finish", "eyeshadow", "blush"}
    upload = next(w for w in view.box.children[1].children[0].children if type(w).__name__ == "FileUpload")
    upload.value = ({"name": "notes.txt", "type": "text/plain", "size": 4, "content": memoryview(b"text"),
                     "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)
    assert view.status.value.startswith("cannot read the upload: the upload is not an image")
    assert " object at 0x" not in view.status.value and view.image.value == placeholder_png(288, 288)


def test_ganspace_components_match_the_full_svd():
    from course_lib.widgets.dcgan import _top_components

    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 40, generator=g) @ torch.diag(torch.linspace(5, 0.1, 40))  # a clear spectrum
    x = x - x.mean(0)
    fast = _top_components(x, 4, torch.Generator().manual_seed(1))
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    torch.testing.assert_close((fast @ v[:4].T).abs().diag(), torch.ones(4), atol=1e-4, rtol=0)
