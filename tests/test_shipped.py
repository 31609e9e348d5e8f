"""The shipped checkpoints: present, hash-checked, small, and as good as their manifest says (re-measured here)."""
import pytest
import torch

from course_lib import checkpoints, config, data, encoder, makeup, metrics, models, train, tryon

SHIPPED = ("encoder", "dcgan64", "cgan64", "tryon64", "beautygan64", "layered64")


def test_every_shipped_checkpoint_is_listed_present_and_verified():
    entries = checkpoints.read_manifest()
    assert set(SHIPPED) <= set(entries)
    for name in SHIPPED:
        entry = entries[name]
        assert checkpoints.sha256_file(config.CHECKPOINT_DIR / entry.file) == entry.sha256
        assert entry.command.startswith("python tools/train_checkpoints.py") and entry.metrics
    total = sum((config.CHECKPOINT_DIR / e.file).stat().st_size for e in entries.values())
    assert total <= 25 * 2**20, f"checkpoints take {total / 2**20:.1f} MB; the budget is 25 MB"
    tracked = {p.name for p in config.CHECKPOINT_DIR.glob("*.pt")}
    assert tracked == {e.file for e in entries.values()}, "a checkpoint file without a manifest entry (or the reverse)"


@pytest.fixture(scope="module")
def enc():
    return encoder.load_shipped().model


def _generator(name: str):
    state, entry = checkpoints.load(name)
    if name.startswith("cgan"):
        G = models.ConditionalGenerator.from_config(entry.config)
    else:
        G = models.DCGANGenerator.from_config(entry.config)
    G.load_state_dict(state["G_ema"])
    return G.eval(), entry


def test_dcgan64_samples_are_realistic_and_varied(enc):
    G, entry = _generator("dcgan64")
    real = data.face_batches(400, size=64, seed=5, makeup=0.5)(0)
    fake = train.generate(G, 400, generator=torch.Generator().manual_seed(5))
    report = metrics.face_report(enc, real, fake)
    # regression guards set from this 400-sample measurement (precision rises as the sample shrinks: the
    # manifest's figures, 1,000 samples on three held-out seeds, are P 0.71, R 0.82), far above an untrained G
    # (recall about 0); the DCGAN shipped before the recipe ladder (P 0.78, R 0.24 here) fails the recall line
    assert report["precision"] > 0.65 and report["recall"] > 0.6 and report["tone_tv"] < 0.25, report  # here: P 0.81, R 0.84
    # (the model trained with batches of 64 before it: P 0.80, R 0.81)


def test_cgan64_obeys_its_condition_and_keeps_identity(enc):
    G, _ = _generator("cgan64")
    report = metrics.obedience_report(enc, G, n=130, seed=3)
    # regression guards for these 130 requests, here 4.45 dE2000 and drift 0.227 (the manifest's 1,000 requests: 4.48
    # and 0.228; before its batch-norm statistics were re-estimated: 4.51 and 0.234; targets
    # 5.0 and 0.25; the model on the 15-number style vector measured 4.39 and 0.255 here); the model shipped before
    # the fast recipe (5.99 here) fails the first line, the one whose style entered every block (cond_from=0; drift
    # 0.29 here) the last
    assert report["lips_dE2000"] < 5.0, report
    assert report["lips_dE2000"] < 0.5 * report["lips_dE2000_mean_shade"], report
    assert report["lips_dE2000"] < 0.3 * report["lips_dE2000_zeroed"], report
    assert report["identity_drift_ratio"] < 0.28, report


@pytest.fixture(scope="module")
def transfer_scores():
    """Scores on 240 triplets of data seed 98 (the manifest used seed 99; training used seed 0)."""
    nets = tryon.load_models()
    held = data.transfer_triplets(240, seed=98)
    hist = makeup.transfer_batch(makeup.histogram_transfer, held["source"], held["reference"], held["masks"], held["reference_masks"])
    with torch.no_grad():
        outputs = {"shade": nets.G(held["source"], held["style"]), "histogram": hist,
                   "reference": tryon.apply_reference(held["source"], held["reference"], nets=nets),
                   "beautygan": tryon.apply_reference(held["source"], held["reference"], method="beautygan", nets=nets),
                   "layered": tryon.apply_reference(held["source"], held["reference"], method="layered", nets=nets),
                   "nothing": held["source"]}
    return {name: metrics.transfer_scores(out, held) for name, out in outputs.items()}


def _lips(scores, group=None):
    rows = metrics.summarise(scores, by_group=group is not None)
    return next(r for r in rows if r["group"] == (group or "all"))


def _assert_lips_fair(scores):
    """The course's fairness target: the worst skin-tone group's lips error at most 1.25x the best group's."""
    groups = [_lips(scores, g)["lips"] for g in metrics.TONE_GROUPS]
    assert max(groups) <= 1.25 * min(groups), groups


def test_tryon64_meets_the_try_on_targets(transfer_scores):
    shade, hist = _lips(transfer_scores["shade"]), _lips(transfer_scores["histogram"])
    # issue 7's targets, for the product path (a shade, no masks at inference); measured here: lips 0.74 against
    # histogram matching's 11.0, SSIM 0.9997, worst / best tone group 1.04
    assert shade["lips"] <= 3.0 and shade["lips"] <= 0.7 * hist["lips"], (shade, hist)
    assert shade["ssim_outside"] >= 0.95, shade
    _assert_lips_fair(transfer_scores["shade"])


# Lips error as a share of doing nothing, guards above the values measured here on seed 98 (reference 0.13,
# BeautyGAN-style 0.90): an untrained or broken model scores about 1.
REF_GUARD = {"reference": 0.25, "beautygan": 0.95}


def test_tryon64_meets_the_reference_targets(transfer_scores):
    """Try-on from a reference face, G(x, E(y)): lips <= 3.0, eyeshadow <= 3.5, cheeks <= 2.0 dE2000, SSIM outside
    >= 0.98 (the manifest: 2.07 / 2.05 / 0.81 / 0.999 on seed 99; measured here on seed 98: 2.09 / 2.14 / 0.84), and
    the course's fairness target on the lips, worst / best skin-tone group <= 1.25 (1.17 here; 1.05 on seed 99)."""
    got = _lips(transfer_scores["reference"])
    for region, target in {"lips": 3.0, "eyeshadow": 3.5, "cheeks": 2.0}.items():
        assert got[region] <= target, (region, got)
    assert got["ssim_outside"] >= 0.98, got
    _assert_lips_fair(transfer_scores["reference"])


def test_reference_transfer_beats_doing_nothing(transfer_scores):
    nothing = _lips(transfer_scores["nothing"])
    for name in ("reference", "beautygan"):
        got = _lips(transfer_scores[name])
        assert got["lips"] < REF_GUARD[name] * nothing["lips"] and got["ssim_outside"] > 0.9, (name, got, nothing)


def test_layered64_meets_the_unpaired_targets(transfer_scores):
    """Unpaired (no target, no style label in training): better than doing nothing in every region, lips at most
    0.7x doing nothing and below histogram matching given the true masks, SSIM outside the makeup >= 0.95."""
    got, nothing, hist = (_lips(transfer_scores[k]) for k in ("layered", "nothing", "histogram"))
    for region in metrics.transfer.REGIONS:
        assert got[region] < nothing[region], (region, got, nothing)
    assert got["lips"] <= 0.7 * nothing["lips"] and got["lips"] < hist["lips"], (got, nothing, hist)
    assert got["ssim_outside"] >= 0.95, got


@pytest.mark.parametrize("name", ["dcgan64", "cgan64"])
def test_shipped_gans_sample_with_standing_statistics(name):
    """The file's batch-norm statistics are train.standing_statistics of its own weights (as the manifest says how),
    not the ones training left, which the file keeps beside them."""
    state, entry = checkpoints.load(name)
    G, _ = _generator(name)
    how = entry.config["standing_statistics"]
    cond = None
    if name == "cgan64":  # real styles of the data seed the manifest names, as tools/train_checkpoints.py draws them
        cond = data.face_batches(2048, size=64, seed=how["styles_seed"], makeup=0.85, with_style=True)(0)[1]
    again = train.standing_statistics(G, how["batches"], how["batch_size"], seed=how["seed"], cond=cond).state_dict()
    keys = [k for k in state["G_ema_training_stats"] if k.endswith(("running_mean", "running_var"))]
    assert keys
    for key in keys:  # the file holds fp16
        torch.testing.assert_close(again[key], state["G_ema"][key], rtol=2e-3, atol=2e-3, msg=key)
    assert any(not torch.allclose(state["G_ema_training_stats"][k], state["G_ema"][k], rtol=0.05, atol=0.05) for k in keys)
