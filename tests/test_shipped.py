"""The shipped checkpoints: present, hash-checked, small, and as good as their manifest says (re-measured here)."""
import pytest
import torch

from course_lib import checkpoints, config, data, encoder, metrics, models, train

SHIPPED = ("encoder", "dcgan64", "cgan64")


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
    keys = ("z_dim", "cond_dim", "size", "width") if name.startswith("cgan") else ("z_dim", "size", "width")
    cls = models.ConditionalGenerator if name.startswith("cgan") else models.DCGANGenerator
    G = cls(**{k: entry.config[k] for k in keys})
    G.load_state_dict(state["G_ema"])
    return G.eval(), entry


def test_dcgan64_samples_are_realistic_and_varied(enc):
    G, entry = _generator("dcgan64")
    real = data.face_batches(400, size=64, seed=5, makeup=0.5)(0)
    fake = train.generate(G, 400, generator=torch.Generator().manual_seed(5))
    report = metrics.face_report(enc, real, fake)
    # regression guards set from this 400-sample measurement (precision rises as the sample shrinks: the
    # manifest's 2,000-sample figures are P 0.43, R 0.16), far above an untrained G (about 0)
    assert report["precision"] > 0.6 and report["recall"] > 0.15 and report["tone_tv"] < 0.25, report  # here: P 0.78, R 0.24


def test_cgan64_obeys_its_condition_and_keeps_identity(enc):
    G, _ = _generator("cgan64")
    report = metrics.obedience_report(enc, G, n=130, seed=3)
    # regression guards below the manifest's 1,000-sample figures (a G that ignores c fails them)
    assert report["lips_dE2000"] < 0.85 * report["lips_dE2000_mean_shade"], report
    assert report["lips_dE2000"] < 0.6 * report["lips_dE2000_zeroed"], report
    assert report["identity_drift_ratio"] < 0.5, report
