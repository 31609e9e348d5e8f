"""Makeup transfer: the differentiable layer model, the transfer networks, their losses and training loops,
and the ground-truth metrics (05_makeup_transfer)."""
import numpy as np
import pytest
import torch

from course_lib import data, losses, makeup, metrics, models
from course_lib.train import transfer


@pytest.fixture(scope="module")
def pairs():
    return data.paired_faces(12, seed=3)


def _zones(masks):
    return {k: masks[k] for k in models.MASK_REGIONS}


def test_composite_computes_what_apply_makeup_computes(pairs):
    styles = [makeup.MakeupStyle.from_vector(v.numpy()) for v in pairs["style"]]  # the eyeliner in its own colour
    expected = makeup.apply_makeup(pairs["bare"], _zones(pairs["masks"]), styles, intensity=0.7)
    got = makeup.composite((pairs["bare"] + 1) / 2, _zones(pairs["masks"]), pairs["style"], 0.7) * 2 - 1
    assert (got - expected).abs().max() < 1e-5


def test_composite_is_differentiable_in_the_masks(pairs):
    masks = {k: v.clone().requires_grad_(True) for k, v in _zones(pairs["masks"]).items()}
    style = pairs["style"].clone()
    style[:, 3] = 1.0  # everyone wears lipstick
    out = makeup.composite((pairs["bare"] + 1) / 2, masks, style)
    out.sum().backward()
    grad = masks["lips"].grad
    assert grad.abs().sum() > 0 and grad[pairs["masks"]["lips"] > 0.5].abs().mean() > grad[pairs["masks"]["lips"] == 0].abs().mean()


def test_params_from_vector_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match=r"\(B, 18\)"):
        makeup.params_from_vector(torch.zeros(2, 14))


def test_tryon_generator_shapes_and_exact_zero_opacity():
    G = models.TryOnGenerator().eval()
    torch.nn.init.normal_(G.rgb_head.weight)  # a residual that would show if it leaked
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    style = torch.rand(3, 18)
    out, masks = G(x, style, return_masks=True)
    assert out.shape == x.shape and set(masks) == set(models.MASK_REGIONS) and masks["lips"].shape == (3, 1, 64, 64)
    bare = style.clone()
    bare[:, [3, 8, 13, 17]] = 0  # no product worn: the face must come back unchanged
    assert (G(x, bare) - x).abs().max() < 1e-5
    assert (G(x, style, intensity=0.0) - x).abs().max() < 1e-5
    with pytest.raises(ValueError, match="style|cond"):
        G(x, torch.rand(3, 14))
    with pytest.raises(ValueError, match="64 x 64"):
        G(torch.rand(1, 3, 32, 32), torch.rand(1, 18))


def test_reference_generator_starts_as_the_identity_and_checks_inputs():
    R = models.ReferenceTransferGenerator().eval()
    x, y = torch.rand(2, 3, 64, 64) * 1.8 - 0.9, torch.rand(2, 3, 64, 64) * 1.8 - 0.9
    made, bare = R(x, y)
    assert (made - x).abs().max() < 1e-4 and (bare - y).abs().max() < 1e-4
    with pytest.raises(ValueError, match="same number"):
        R(x, y[:1])
    with pytest.raises(ValueError, match="reference"):
        R(x, torch.rand(2, 4, 64, 64))


def test_patch_discriminator_and_style_encoder_shapes():
    D = models.PatchDiscriminator(in_ch=21)
    assert D(torch.rand(2, 21, 64, 64)).shape == (2, 1, 14, 14)
    with pytest.raises(ValueError, match=r"\(B, 21, H, W\)"):
        D(torch.rand(2, 3, 64, 64))
    s = models.StyleEncoder()(torch.rand(4, 3, 64, 64) * 2 - 1)
    assert s.shape == (4, 18) and s.min() >= 0 and s.max() <= 1


def test_histogram_match_agrees_with_scikit_image_and_keeps_ranks():
    from skimage.exposure import match_histograms

    g = torch.Generator().manual_seed(0)
    v, r = torch.rand(3, 400, generator=g), torch.rand(3, 250, generator=g) ** 3
    got = losses.histogram_match(v, r)
    ref = match_histograms(v.T.numpy()[:, None], r.T.numpy()[:, None], channel_axis=-1)[:, 0].T
    assert np.abs(got.numpy() - ref).mean() < 0.005
    in_rank_order = got.gather(1, v.argsort(1))
    assert (in_rank_order.diff(dim=1) >= 0).all()  # each pixel keeps its rank (ties allowed)
    assert torch.allclose(got.sort(1).values[:, [0, -1]], r.sort(1).values[:, [0, -1]])  # and the reference's range
    with pytest.raises(ValueError, match="share C"):
        losses.histogram_match(v, r[:2])


def test_region_histogram_loss_is_zero_on_the_reference_and_falls_with_a_step(pairs):
    ref, masks = pairs["made_up"], pairs["masks"]
    assert losses.region_histogram_loss(ref, ref, masks, masks).item() < 1e-6
    out = pairs["bare"].clone().requires_grad_(True)
    loss = losses.region_histogram_loss(out, ref, masks, masks)
    loss.backward()
    with torch.no_grad():
        after = losses.region_histogram_loss(out - 20.0 * out.grad, ref, masks, masks)
    assert loss.item() > 0.001 and after.item() < loss.item()
    with pytest.raises(ValueError, match="region 'nose'"):
        losses.region_histogram_loss(out, ref, masks, masks, weights={"nose": 1.0})


def test_cycle_loss_values_and_errors():
    x = torch.rand(2, 3, 8, 8)
    assert losses.cycle_loss(x, x).item() == 0.0
    assert losses.cycle_loss(x + 0.5, x).item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same shape"):
        losses.cycle_loss(x, x[:1])


@pytest.mark.parametrize("trainer", ["tryon", "reference"])
def test_transfer_training_resumes_exactly(tmp_path, trainer):
    fn = transfer.train_tryon if trainer == "tryon" else transfer.train_reference
    cfg = transfer.TransferConfig.fast(steps=4, batch_size=4, checkpoint_every=2, log_every=1)
    full, _ = fn(cfg, run_dir=tmp_path / "a")
    cfg2 = transfer.TransferConfig.fast(steps=2, batch_size=4, checkpoint_every=2, log_every=1)
    fn(cfg2, run_dir=tmp_path / "b")
    resumed, history = fn(cfg, run_dir=tmp_path / "b")  # the same run, extended to step 4
    assert history["step"][-1] == 4
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)  # bit-exact: weights, optimisers, random streams and data position all resumed
    with pytest.raises(ValueError, match="another config"):
        fn(transfer.TransferConfig.fast(steps=5, batch_size=2), run_dir=tmp_path / "b")
    with pytest.raises(ValueError, match=r"is at step 4, past cfg.steps=3"):
        fn(transfer.TransferConfig.fast(steps=3, batch_size=4, checkpoint_every=2, log_every=1), run_dir=tmp_path / "b")


def test_style_encoder_training_resumes_exactly_after_a_crash(tmp_path, crash_at):
    cfg = transfer.TransferConfig.fast(steps=4, batch_size=4, checkpoint_every=2, log_every=2)
    full, full_history = transfer.train_style_encoder(cfg)
    with pytest.raises(crash_at.error):  # dies after the step-2 checkpoint, half way through its warm-up and cosine
        transfer.train_style_encoder(cfg, run_dir=tmp_path, callback=crash_at(2))
    resumed, history = transfer.train_style_encoder(cfg, run_dir=tmp_path)
    for key in ("step", "style_mse", "paint_l1"):  # (img_per_s is a timing)
        assert history[key] == full_history[key]
    assert all(v > 0 for v in history["paint_l1"])  # both terms trained on, logged
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)  # bit-exact: weights, optimiser, the learning-rate schedule, data position


def test_tryon_training_with_a_decaying_rate_resumes_exactly_after_a_crash(tmp_path, crash_at):
    cfg = transfer.TransferConfig.fast(steps=4, batch_size=4, checkpoint_every=2, log_every=2, lr_decay=True)
    full, full_history = transfer.train_tryon(cfg)
    constant, _ = transfer.train_tryon(transfer.TransferConfig.fast(steps=4, batch_size=4, checkpoint_every=2, log_every=2))
    assert any(not torch.equal(a, b) for a, b in zip(full.state_dict().values(), constant.state_dict().values()))
    with pytest.raises(crash_at.error):  # dies after the step-2 checkpoint, in the middle of both networks' schedules
        transfer.train_tryon(cfg, run_dir=tmp_path, callback=crash_at(2))
    resumed, history = transfer.train_tryon(cfg, run_dir=tmp_path)
    for key in ("step", "l1", "d_loss"):
        assert history[key] == full_history[key]
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)  # bit-exact: weights, optimisers, both schedules, data position


# ---------------------------------------------------------------------------------------------------------
# Ground-truth metrics
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def triplets():
    return data.transfer_triplets(16, seed=99)


def test_transfer_metrics_are_zero_for_the_target_and_positive_for_doing_nothing(triplets):
    perfect = metrics.transfer_scores(triplets["target"], triplets)
    assert np.nanmax(perfect["lips"]) == 0 and np.nanmin(perfect["ssim_outside"]) > 0.999
    nothing = metrics.transfer_scores(triplets["source"], triplets)
    worn = triplets["style"][:, 3].numpy() > 0.3
    assert np.nanmean(nothing["lips"][worn]) > 5
    rows = metrics.transfer_table({"target": triplets["target"], "nothing": triplets["source"]}, triplets, by_group=True)
    assert {r["group"] for r in rows} == {"light", "medium", "deep"} and sum(r["n"] for r in rows) == 2 * 16
    assert "lips" in metrics.format_table(rows)


def test_transfer_metrics_accept_numpy_and_reject_wrong_shapes(triplets):
    as_np = ((triplets["target"] + 1) / 2).permute(0, 2, 3, 1).numpy()
    de = metrics.region_delta_e(as_np, triplets["target"], triplets["masks"])
    assert np.nanmax(de["lips"]) < 0.01
    with pytest.raises(ValueError, match="one per triplet"):
        metrics.region_delta_e(triplets["target"][:3], triplets["target"], triplets["masks"])
    with pytest.raises(ValueError, match="no 'teeth' region"):
        metrics.region_delta_e(triplets["target"], triplets["target"], triplets["masks"], regions=("teeth",))
    with pytest.raises(ValueError, match="transfer_triplets"):
        metrics.transfer_scores(triplets["target"], {"target": triplets["target"]})


def test_summarise_gives_each_regions_mean_and_standard_error_ignoring_faces_without_it():
    lips = np.array([1.0, 2.0, 3.0, np.nan, 6.0])
    scores = {"lips": lips, "eyeshadow": np.full(5, 2.0), "cheeks": np.array([np.nan] * 4 + [1.0]),
              "ssim_outside": np.ones(5), "tone": np.array([1, 2, 5, 9, 10.0])}
    scores["group"] = metrics.tone_group(scores["tone"])
    row = metrics.summarise(scores)[0]
    assert row["n"] == 5 and row["lips"] == pytest.approx(3.0)
    assert row["lips_se"] == pytest.approx(np.std([1, 2, 3, 6], ddof=1) / 2)
    assert row["eyeshadow_se"] == 0.0 and np.isnan(row["cheeks_se"]) and row["cheeks"] == 1.0  # one face: no error bar
    deep = metrics.summarise(scores, by_group=True)[2]
    assert deep["group"] == "deep" and deep["lips"] == 6.0 and np.isnan(deep["lips_se"])


def test_tone_groups_cover_the_monk_scale():
    groups = metrics.tone_group(np.arange(1, 11))
    assert list(groups) == ["light"] * 3 + ["medium"] * 4 + ["deep"] * 3
    assert metrics.tone_group([0.2, 10.6]).tolist() == ["light", "deep"]


def test_dice_loss_scores_overlap_so_small_regions_count():
    t = torch.zeros(1, 1, 64, 64)
    t[..., 40:43, 27:37] = 1  # a lips-sized region: 30 of 4,096 pixels
    assert losses.dice_loss(t, t).item() < 1e-6
    nothing = torch.zeros_like(t)
    assert losses.dice_loss(nothing, t).item() > 0.95  # missing the lips entirely is nearly the worst score ...
    bce = torch.nn.functional.binary_cross_entropy(nothing.clamp(1e-6, 1 - 1e-6), t).item()
    assert bce < 0.11  # ... while a per-pixel loss barely notices
    with pytest.raises(ValueError, match="same shape"):
        losses.dice_loss(t, t[..., :32])


def test_dice_loss_is_smallest_at_the_soft_mask_itself():
    # An eyeshadow-like zone: 1 at the lash line, fading to 0 towards the brow. The loss must be 0 at the
    # mask itself and larger for a mask pushed towards 1 (the sum p + sum t form preferred the latter).
    t = torch.zeros(2, 1, 64, 64)
    t[..., 20:28, 16:48] = torch.linspace(1, 0.1, 8)[:, None]
    assert losses.dice_loss(t, t).item() < 1e-6
    for wrong in ((t > 0).float(), (t * 1.5).clamp(max=1), t ** 0.5, t * 0.6):
        assert losses.dice_loss(wrong, t).item() > losses.dice_loss(t, t).item() + 0.01


def test_transfer_batch_runs_a_baseline_image_by_image(triplets):
    got = makeup.transfer_batch(makeup.histogram_transfer, triplets["source"][:3], triplets["reference"][:3],
                                {k: v[:3] for k, v in triplets["masks"].items()}, {k: v[:3] for k, v in triplets["reference_masks"].items()})
    src = ((triplets["source"][1] + 1) / 2).permute(1, 2, 0).numpy()
    ref = ((triplets["reference"][1] + 1) / 2).permute(1, 2, 0).numpy()
    one = makeup.histogram_transfer(src, ref, {k: v[1, 0] for k, v in triplets["masks"].items()},
                                    {k: v[1, 0] for k, v in triplets["reference_masks"].items()})
    assert got.shape == (3, 64, 64, 3) and np.allclose(got[1], one)
    with pytest.raises(ValueError, match="same number"):
        makeup.transfer_batch(makeup.histogram_transfer, triplets["source"][:3], triplets["reference"][:2], {}, {})


def test_the_reference_gan_trains_with_losses_of_ones_own():
    """05_makeup_transfer trains its demo with the student's cycle and histogram losses: the same run as the library's."""
    calls = {"cycle": 0, "hist": 0}

    def cycle(G, x, y):
        calls["cycle"] += 1
        x_B, y_A = G(x, y)
        y_rec, x_rec = G(y_A, x_B)
        return (x_rec - x).abs().mean() + (y_rec - y).abs().mean()

    def hist(out, ref, m_out, m_ref):
        calls["hist"] += 1
        pixels = out[:, m_out]
        return (pixels - losses.histogram_match(pixels.detach(), ref[:, m_ref].detach())).abs().mean()

    cfg = transfer.TransferConfig.fast(steps=2, batch_size=4, log_every=1)
    _, library = transfer.train_reference(cfg)
    _, own = transfer.train_reference(cfg, cycle_fn=cycle, hist_fn=hist)
    assert calls["cycle"] == 2 and calls["hist"] > 0
    for key in ("cycle", "hist", "adv", "d_loss"):
        np.testing.assert_allclose(own[key], library[key], rtol=1e-4, err_msg=key)


def test_layered_transfer_shapes_and_what_it_changes():
    torch.manual_seed(0)
    L = models.LayeredTransfer(fit_steps=3).eval()
    tri = data.transfer_triplets(2, seed=5)
    with torch.no_grad():
        made, bare = L(tri["source"], tri["reference"])
        masks = L.parser.masks(tri["source"])
    assert made.shape == bare.shape == (2, 3, 64, 64) and set(masks) == set(models.PARSE_REGIONS)
    assert made.min() >= -1 and made.max() <= 1 and torch.isfinite(made).all()
    style, bare2 = L.read_style(tri["reference"], {k: tri["reference_masks"][k] for k in models.PARSE_REGIONS})
    assert style.shape == (2, 18) and bare2.shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match="reference must be 64 x 64"):
        L.read_style(torch.zeros(1, 3, 32, 32))


def test_layered_training_learns_the_regions_and_resumes_exactly(tmp_path):
    cfg = transfer.TransferConfig.fast(steps=4, batch_size=4, checkpoint_every=2, log_every=1, lr_G=1e-3)
    full, history = transfer.train_layered(cfg, run_dir=tmp_path / "a")
    assert len(history["mask_loss"]) == 4 and history["mask_loss"][-1] < history["mask_loss"][0]
    transfer.train_layered(transfer.TransferConfig.fast(steps=2, batch_size=4, checkpoint_every=2, log_every=1, lr_G=1e-3),
                           run_dir=tmp_path / "b")
    resumed, _ = transfer.train_layered(cfg, run_dir=tmp_path / "b")
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    fresh = models.LayeredTransfer()
    assert not all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), full.state_dict().values()))
    assert not torch.equal(full.lip_tint, torch.ones(3))  # measured on the bare sources after the parser
