"""Checkpoints: manifest and hashes, fp16 round trip, refusal of damaged, misplaced or code-carrying files."""
import concurrent.futures
import json
import os
import pickle
import time

import pytest
import torch

from course_lib import checkpoints as ck


def small_state():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2))
    return {"G": net.state_dict()}


def test_save_then_load_round_trips_through_fp16(tmp_path):
    state = small_state()
    entry = ck.save("tiny", state, config={"width": 8}, command="python tools/x.py", metrics={"fid": 1.5}, directory=tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["tiny"]["sha256"] == ck.sha256_file(tmp_path / "tiny.pt") == entry.sha256
    assert manifest["tiny"]["config"] == {"width": 8} and manifest["tiny"]["metrics"] == {"fid": 1.5}
    loaded, got = ck.load("tiny", directory=tmp_path)
    for key, value in state["G"].items():
        assert loaded["G"][key].dtype == value.dtype  # fp16 on disk, back to fp32 (ints stay ints)
        torch.testing.assert_close(loaded["G"][key], value, atol=1e-3, rtol=1e-3)
    assert got.command == "python tools/x.py"


def test_fp32_files_are_exact_and_larger(tmp_path):
    state = small_state()
    half = ck.save("half", state, directory=tmp_path)
    full = ck.save("full", state, fp16=False, directory=tmp_path)
    assert full.bytes > half.bytes
    loaded, _ = ck.load("full", directory=tmp_path)
    for key, value in state["G"].items():
        assert torch.equal(loaded["G"][key], value)


def test_a_changed_file_is_refused(tmp_path):
    ck.save("tiny", small_state(), directory=tmp_path)
    path = tmp_path / "tiny.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ck.CheckpointError, match="sha256 .* manifest says .* refusing to load"):
        ck.load("tiny", directory=tmp_path)


def _register(tmp_path, name, path):
    entries = ck.read_manifest(tmp_path)
    entries[name] = ck.Entry(name=name, file=path.name, sha256=ck.sha256_file(path), bytes=path.stat().st_size)
    ck._write_manifest(entries, tmp_path)


def test_a_truncated_file_with_a_matching_manifest_is_reported_as_corrupt(tmp_path):
    ck.save("tiny", small_state(), directory=tmp_path)
    path = tmp_path / "tiny.pt"
    path.write_bytes(path.read_bytes()[:200])
    _register(tmp_path, "tiny", path)  # even if someone "fixes" the hash, the file cannot be read
    with pytest.raises(ck.CheckpointError, match="corrupt or truncated"):
        ck.load("tiny", directory=tmp_path)


class Payload:
    """Unpickling this would create a marker file: the attack a weights-only load must stop."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickled_payload_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"G": {"w": torch.zeros(2)}, "x": Payload(str(marker))}, path)
    _register(tmp_path, "evil", path)
    with pytest.raises(ck.CheckpointError, match="not plain weights; refusing"):
        ck.load("evil", directory=tmp_path)
    assert not marker.exists()
    # and the plain pickle module would have run it: the test's payload is real
    pickle.loads(pickle.dumps(Payload(str(marker)))).close()
    assert marker.exists()


def test_unknown_and_missing_checkpoints_are_named(tmp_path):
    ck.save("tiny", small_state(), directory=tmp_path)
    with pytest.raises(ck.CheckpointError, match="no checkpoint named 'big'.*known: tiny"):
        ck.load("big", directory=tmp_path)
    (tmp_path / "tiny.pt").unlink()
    with pytest.raises(ck.CheckpointError, match="is missing"):
        ck.load("tiny", directory=tmp_path)
    with pytest.raises(ValueError, match="name must be"):
        ck.save("../escape", small_state(), directory=tmp_path)


def test_train_or_load_trains_once_then_loads(tmp_path):
    calls = []

    def train():
        calls.append(1)
        return small_state(), {"loss": 0.5}

    first, entry = ck.train_or_load("run", train, config={"lr": 1e-3}, directory=tmp_path)
    second, _ = ck.train_or_load("run", train, config={"lr": 1e-3}, directory=tmp_path)
    assert len(calls) == 1 and entry.metrics == {"loss": 0.5}
    for key in first["G"]:
        assert torch.equal(first["G"][key], second["G"][key])
    with pytest.raises(ck.CheckpointError, match=r"different config \(differs in \['lr'\]\)"):
        ck.train_or_load("run", train, config={"lr": 1e-2}, directory=tmp_path)
    ck.train_or_load("run", train, config={"lr": 1e-2}, directory=tmp_path, retrain=True)
    assert len(calls) == 2


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "out.pt"
    target.write_bytes(b"old")

    def boom(fh):
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        ck.atomic_write(target, boom)
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]


def test_default_directory_is_the_shipped_one(tmp_path, monkeypatch):
    """save/load without ``directory`` use data/checkpoints (here redirected to a temp folder)."""
    monkeypatch.setattr(ck.course_config, "CHECKPOINT_DIR", tmp_path)
    ck.save("default", small_state(), config={"a": 1})
    assert (tmp_path / "default.pt").exists() and ck.exists("default")
    assert ck.load("default")[1].config == {"a": 1}


@pytest.mark.parametrize("text, message", [
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "must hold a JSON object of entries by name, got a list"),
    ('{"tiny": 3}', "entry 'tiny' must be a JSON object, got a int"),
    ('{"tiny": {"file": "tiny.pt"}}', r"entry 'tiny' lacks \['sha256', 'bytes'\]"),
    ('{"tiny": {"file": "tiny.pt", "sha256": "0", "bytes": 1, "weights": 2}}', r"unknown fields \['weights'\]"),
    ('{"tiny": {"file": "tiny.pt", "sha256": "0", "bytes": "1"}}', "field 'bytes' must be a int, got '1'"),
    ('{"tiny": {"file": 7, "sha256": "0", "bytes": 1}}', "field 'file' must be a str"),
])
def test_a_broken_manifest_is_a_checkpoint_error_naming_what_is_wrong(tmp_path, text, message):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ck.CheckpointError, match=message):
        ck.load("tiny", directory=tmp_path)


@pytest.mark.parametrize("file", ["../outside.pt", "sub/tiny.pt", "/etc/passwd", "..", ""])
def test_the_manifest_cannot_point_outside_its_folder(tmp_path, file):
    inner = tmp_path / "ckpt"
    ck.save("tiny", small_state(), directory=inner)
    torch.save(small_state(), tmp_path / "outside.pt")
    (inner / "sub").mkdir()
    torch.save(small_state(), inner / "sub" / "tiny.pt")
    entries = ck.read_manifest(inner)
    entries["tiny"].file = file
    ck._write_manifest(entries, inner)
    with pytest.raises(ck.CheckpointError, match="is not a file name inside .*refusing to read outside"):
        ck.load("tiny", directory=inner)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    inner = tmp_path / "ckpt"
    ck.save("tiny", small_state(), directory=inner)
    torch.save(small_state(), tmp_path / "outside.pt")
    (inner / "link.pt").symlink_to(tmp_path / "outside.pt")
    _register(inner, "link", inner / "link.pt")
    with pytest.raises(ck.CheckpointError, match="refusing to read outside"):
        ck.load("link", directory=inner)


def test_missing_keys_and_non_finite_weights_are_refused(tmp_path):
    ck.save("tiny", small_state(), directory=tmp_path)
    with pytest.raises(ck.CheckpointError, match=r"checkpoint 'tiny' lacks \['G_ema'\] \(it has \['G'\]\)"):
        ck.load("tiny", directory=tmp_path, keys=("G_ema",))
    assert ck.load("tiny", directory=tmp_path, keys=("G",))[0].keys() == {"G"}
    for bad in (float("nan"), float("inf")):
        state = small_state()
        state["G"]["0.weight"][1, 2] = bad
        ck.save("poisoned", state, directory=tmp_path)
        with pytest.raises(ck.CheckpointError, match=r"tensor 'G.0.weight' holds NaN or inf"):
            ck.load("poisoned", directory=tmp_path)
    path = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], path)
    _register(tmp_path, "list", path)
    with pytest.raises(ck.CheckpointError, match="holds a list, not a dict of weights"):
        ck.load("list", directory=tmp_path)


def test_temp_files_of_killed_writes_are_cleaned_but_fresh_ones_kept(tmp_path):
    target = tmp_path / "last.pt"
    stale, fresh, other = tmp_path / "last.ptab12.tmp", tmp_path / "last.ptcd34.tmp", tmp_path / "other.ptef56.tmp"
    for path in (stale, fresh, other):
        path.write_bytes(b"half a checkpoint")
    old = time.time() - ck.STALE_TMP_SECONDS - 5
    os.utime(stale, (old, old)), os.utime(other, (old, old))
    ck.atomic_write(target, lambda fh: fh.write(b"new"))
    assert target.read_bytes() == b"new"
    assert not stale.exists()  # left by a killed write of this file
    assert fresh.exists()  # may be a write in progress in another process
    assert other.exists()  # belongs to another file


def test_threads_starting_cold_share_one_load(monkeypatch):
    from course_lib import tryon

    calls = []
    real_load = ck.load

    def counting_load(name, *args, **kwargs):
        calls.append(name)
        time.sleep(0.05)  # widen the window in which a second thread would start its own load
        return real_load(name, *args, **kwargs)

    tryon._load_models.cache_clear()
    monkeypatch.setattr(ck, "load", counting_load)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        nets = list(pool.map(lambda _: tryon.load_models(), range(4)))
    tryon._load_models.cache_clear()
    assert sorted(calls) == ["beautygan64", "layered64", "tryon64"]
    assert all(n is nets[0] for n in nets)
