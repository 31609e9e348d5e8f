import math

import numpy as np

import pytest
import torch

from course_lib import data


def test_ring_and_grid_centres():
    ring = data.ring_of_8()
    assert ring.centres.shape == (8, 2) and ring.sigma == 0.02
    torch.testing.assert_close(ring.centres.norm(dim=1), torch.full((8,), 2.0))
    torch.testing.assert_close(ring.centres[2], torch.tensor([0.0, 2.0]), atol=1e-6, rtol=0)
    grid = data.grid_of_25()
    assert grid.centres.shape == (25, 2) and grid.n_modes == 25 and grid.dim == 2
    assert sorted(set(grid.centres[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_sampling_is_reproducible_and_has_the_right_spread():
    ring = data.ring_of_8()
    a, b = ring.sample(4000, torch.Generator().manual_seed(0)), ring.sample(4000, torch.Generator().manual_seed(0))
    assert a.shape == (4000, 2) and torch.equal(a, b)
    dist = torch.cdist(a, ring.centres).min(dim=1).values  # Rayleigh(sigma): mean sigma * sqrt(pi / 2)
    assert abs(dist.mean().item() - 0.02 * math.sqrt(math.pi / 2)) < 0.001


def test_pdf_integrates_to_one_and_matches_the_gaussian_formula():
    mix = data.mixture_1d((-1.0, 2.0), sigma=0.5, weights=(3, 1))
    x = torch.linspace(-6, 6, 2001)
    total = (mix.pdf(x) * (x[1] - x[0])).sum()
    torch.testing.assert_close(total, torch.tensor(1.0), atol=1e-4, rtol=0)
    g = data.gaussian_1d(1.0, 2.0)
    expected = math.exp(-0.5 * (0.5 / 2) ** 2) / (2 * math.sqrt(2 * math.pi))
    torch.testing.assert_close(g.pdf(torch.tensor([1.5])), torch.tensor([expected]))
    peak = data.ring_of_8().pdf(data.ring_of_8().centres[:1])
    torch.testing.assert_close(peak, torch.tensor([1 / 8 / (2 * math.pi * 0.02**2)]), rtol=1e-4, atol=0)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="n must be a positive int"):
        data.ring_of_8().sample(0)
    with pytest.raises(ValueError, match="sigma"):
        data.mixture_1d(sigma=0.0)
    with pytest.raises(ValueError, match="same length"):
        data.mixture_1d((0.0, 1.0), weights=(1.0,))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        data.ring_of_8().pdf(torch.zeros(3))


# --------------------------------------------------------------------------------------------------
# SynthFaces data sets, triplets and real faces
# --------------------------------------------------------------------------------------------------
def test_synthfaces_dataset_batches_through_a_dataloader():
    ds = data.SynthFaces(20, size=32, seed=2, makeup=0.5)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=8)))
    assert batch.shape == (8, 3, 32, 32) and len(ds) == 20
    torch.testing.assert_close(batch[3], ds[3])  # batched render = single render (8-bit images)
    with pytest.raises(IndexError, match="out of range for 20 faces"):
        ds[20]


def test_synthfaces_labels_and_cache():
    ds = data.SynthFaces(6, size=32, seed=2, with_labels=True, cache=True)
    item = ds[1]
    assert item["image"].shape == (3, 32, 32) and item["style"].shape == (18,) and 1 <= float(item["tone"]) <= 10
    assert item["masks"]["lips"].shape == (1, 32, 32)
    fresh = data.SynthFaces(6, size=32, seed=2, with_labels=True)[1]
    assert torch.equal(item["image"], fresh["image"])


@pytest.mark.parametrize("kwargs, match", [({"n": 0}, "n must be an int >= 1, got 0"), ({"n": 4, "size": 50}, "size must be one of"),
                                           ({"n": 4, "makeup": 2.0}, "makeup must be True, False or a probability")])
def test_synthfaces_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.SynthFaces(**kwargs)


def test_face_batches_are_a_pure_function_of_the_step():
    batch = data.face_batches(4, size=32, seed=1)
    assert torch.equal(batch(3), batch(3)) and not torch.equal(batch(3), batch(4))
    finite = data.face_batches(4, size=32, seed=1, n=6)
    seen = torch.cat([finite(s) for s in range(3)])  # 12 faces drawn from a data set of 6
    assert len({tuple(x.flatten()[:50].tolist()) for x in seen}) == 6


def test_face_batches_render_ahead_and_give_each_step_the_same_batch_in_any_order():
    """Batches come from chunks rendered several steps at a time (fixed by the step numbers), so reading the steps
    in another order, or resuming at a step, gives the same tensors; each holds the faces render_indices names."""
    from course_lib import faces

    batch = data.face_batches(16, size=32, seed=2)  # 32 steps a chunk at 32 px
    in_order = [batch(s) for s in range(40)]
    resumed = data.face_batches(16, size=32, seed=2)
    for s in (35, 3, 31, 32, 0):  # across the chunk boundary at 32, and backwards
        assert torch.equal(resumed(s), in_order[s]), s
    alone = faces.render_indices(range(16 * 33, 16 * 34), seed=2, size=32, makeup=0.5)  # the same faces, one call
    assert (alone.images - in_order[33]).abs().max() <= 1 / 127.5 + 1e-6
    assert (alone.images - in_order[33]).abs().mean() < 1e-4
    styled = data.face_batches(16, size=32, seed=2, with_style=True)
    images, styles = styled(33)
    assert torch.equal(images, in_order[33]) and styles.shape == (16, 18)
    assert np.allclose(styles.numpy(), np.stack([m.to_vector() for m in alone.makeups]))
    images.zero_(), styles.zero_()  # the caller owns its tensors: changing them leaves the chunk (still cached) alone
    again = styled(33)
    assert torch.equal(again[0], in_order[33]) and again[1].abs().sum() > 0


def test_face_batches_render_whole_chunks_fixed_by_the_step(monkeypatch):
    """Which faces one render call draws: the 32 batches of 16 around the step read (512 faces at 32 px), never
    more than the data set once with ``n``, and a big batch alone."""
    from course_lib import faces

    calls = []
    real = faces.render_indices
    monkeypatch.setattr(faces, "render_indices", lambda idx, **kw: calls.append(list(idx)) or real(idx, **kw))
    batch = data.face_batches(16, size=32, seed=2)
    for step in (33, 40, 2, 3, 63):
        batch(step)
    assert calls == [list(range(512, 1024)), list(range(0, 512)), list(range(512, 1024))]
    calls.clear()
    data.face_batches(4, size=32, seed=1, n=6)(0)  # 6 faces: two batches of 4 cover them
    assert len(calls) == 1 and len(calls[0]) == 8 and sorted(set(calls[0])) == list(range(6))
    calls.clear()
    data.face_batches(200, size=64, seed=1)(3)  # 200 faces of 64 px are more than a chunk: rendered alone
    assert calls == [list(range(600, 800))]


def test_face_batches_shard_the_faces_between_processes():
    """Under torchrun, rank r of `world` draws its own faces; together the ranks draw what one process would."""
    one = data.face_batches(2, size=32, seed=3)
    ranks = [data.face_batches(2, size=32, seed=3, rank=r, world=2) for r in range(2)]
    for step in range(2):  # step s of rank r is batch 2 s + r of a single process
        for r in range(2):
            assert torch.equal(ranks[r](step), one(2 * step + r))
    assert not torch.equal(ranks[0](0), ranks[1](0))
    with pytest.raises(ValueError, match=r"rank must be an int >= 0 and <= 1, got 2"):
        data.face_batches(2, rank=2, world=2)
    with pytest.raises(ValueError, match=r"world must be an int >= 1, got 0"):
        data.face_batches(2, world=0)


def test_triplet_targets_equal_direct_renders():
    from course_lib import faces, makeup

    t = data.transfer_triplets(3, size=32, seed=5)
    for i in range(3):
        source_id = faces.sample_face(5, 2 * i, makeup=False)[0]
        style = makeup.MakeupStyle.from_vector(t["style"][i].numpy())
        ref_id, ref_style = faces.sample_face(5, 2 * i + 1)
        assert abs(float(t["tone"][i]) - source_id.tone) < 1e-5 and abs(float(t["reference_tone"][i]) - ref_id.tone) < 1e-5
        direct = faces.render(source_id, ref_style, size=32).images[0]
        assert torch.equal(t["target"][i], direct)
        assert torch.equal(t["source"][i], faces.render(source_id, size=32).images[0])
        np.testing.assert_allclose(style.to_vector()[:3], ref_style.to_vector()[:3], atol=1e-6)
    # target = source person, reference's makeup: the target differs from the source only inside the makeup zones
    zones = sum(t["masks"][k] for k in ("lips", "eyeshadow", "cheeks", "liner")) > 0
    outside = (~zones).expand_as(t["source"])
    assert (t["target"] - t["source"])[outside].abs().max() <= 2 / 255 + 1e-6
    assert "reference_bare" not in t  # only when asked: it costs a third more rendering


def test_triplets_give_the_reference_bare_when_asked():
    from course_lib import faces

    t = data.transfer_triplets(3, size=32, seed=5, start=2, bare_reference=True)
    plain = data.transfer_triplets(3, size=32, seed=5, start=2)
    assert all(torch.equal(t[k], plain[k]) for k in ("source", "reference", "target", "style"))
    for i in range(3):
        ref_id, _ = faces.sample_face(5, 2 * (2 + i) + 1)
        assert torch.equal(t["reference_bare"][i], faces.render(ref_id, size=32).images[0])
    # the same person: outside the reference's makeup zones, the bare face is the reference's own pixels
    zones = sum(t["reference_masks"][k] for k in ("lips", "eyeshadow", "cheeks", "liner")) > 0
    outside = (~zones).expand_as(t["reference"])
    assert (t["reference_bare"] - t["reference"])[outside].abs().max() <= 2 / 255 + 1e-6
    assert (t["reference_bare"] - t["reference"])[zones.expand_as(t["reference"])].abs().mean() > 0.02
    with pytest.raises(TypeError, match="bare_reference must be True or False, got 1"):
        data.transfer_triplets(1, bare_reference=1)


def test_paired_faces_share_identity():
    p = data.paired_faces(4, size=32, seed=3)
    assert p["bare"].shape == p["made_up"].shape == (4, 3, 32, 32) and p["style"].shape == (4, 18)
    # bare skin outside every makeup zone (blush, eyeshadow, liner) is the same pixel in both faces
    skin = (p["masks"]["skin"] > 0.99) & (p["masks"]["cheeks"] == 0) & (p["masks"]["eyeshadow"] == 0) & (p["masks"]["liner"] == 0)
    assert (p["bare"] - p["made_up"])[skin.expand_as(p["bare"])].abs().max() <= 2 / 255 + 1e-6


def test_lfw_faces_and_portraits():
    lfw = data.lfw_faces()
    assert lfw.shape == (100, 3, 25, 25) and -1 <= lfw.min() and lfw.max() <= 1
    assert torch.equal(lfw[:, 0], lfw[:, 2])  # grey, repeated
    assert data.lfw_faces(size=32).shape == (100, 3, 32, 32)
    with pytest.raises(ValueError, match="size must be an int"):
        data.lfw_faces(size=4)
    portraits = data.portraits()
    assert set(portraits) == {"astronaut", "grace_hopper"} and portraits["astronaut"].image.shape == (512, 512, 3)
