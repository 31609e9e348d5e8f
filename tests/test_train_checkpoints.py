"""tools/train_checkpoints.py: what follows training (standing statistics, scores, file) redone by ``--restat`` on a
checkpoint gives the very file a build wrote, and the re-estimated statistics are kept beside training's."""
import dataclasses
import importlib.util
import sys

import pytest
import torch

from course_lib import checkpoints, config

_spec = importlib.util.spec_from_file_location("train_checkpoints", config.REPO_ROOT / "tools" / "train_checkpoints.py")
tc = importlib.util.module_from_spec(_spec)
sys.modules["train_checkpoints"] = tc
_spec.loader.exec_module(tc)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    directory = tmp_path_factory.mktemp("checkpoints")
    tc.build_encoder(True, directory, "test")  # the tiny settings of --fast
    for name in ("dcgan64", "cgan64"):
        tc.TARGETS[name](True, directory, "test")
    return directory


@pytest.mark.parametrize("name", ["dcgan64", "cgan64"])
def test_restat_rewrites_the_same_file_a_build_wrote(built, name):
    before = (built / f"{name}.pt").read_bytes()
    trained_call = checkpoints.load(name, directory=built)[1].metrics["train_minutes_this_call"]
    tc.restat(name, True, built, "test")
    assert (built / f"{name}.pt").read_bytes() == before
    state, entry = checkpoints.load(name, directory=built)
    trained, standing = state["G_ema_training_stats"], state["G_ema"]
    means = [k for k in trained if k.endswith("running_mean")]
    assert means and all(not torch.equal(trained[k], standing[k]) for k in means)  # re-estimated, training's kept
    # the training call's minutes stay what they were, the restat's own are beside them
    assert entry.metrics["train_minutes_this_call"] == trained_call and "restat_minutes" in entry.metrics


@pytest.mark.parametrize("attr, value, key", [
    ("DCGAN64_RECIPE", dataclasses.replace(tc.train.recipes.FAST, cfg={**tc.train.recipes.FAST.cfg, "lr_G": 1e-3}), "lr_G"),
    ("DCGAN64", {**tc.DCGAN64, "width": 16}, "width"),
])
def test_restat_refuses_a_checkpoint_trained_with_another_config_or_architecture(built, monkeypatch, attr, value, key):
    monkeypatch.setattr(tc, attr, value)
    with pytest.raises(SystemExit, match=f"another config than this tool's --fast settings \\({key} differ"):
        tc.restat("dcgan64", True, built, "test")
    with pytest.raises(SystemExit, match="full settings"):  # full settings against a --fast checkpoint
        monkeypatch.undo()
        tc.restat("dcgan64", False, built, "test")
