import contextlib

import numpy as np
import pytest
import torch

from course_lib import device as dev


def test_auto_picks_cpu_without_accelerators():
    d = dev.get_device()
    if not torch.cuda.is_available() and not dev._mps_available():
        assert d == torch.device("cpu")
    assert dev.get_device(None) == d and dev.get_device("AUTO") == d


def test_explicit_cpu_and_device_objects():
    assert dev.get_device("cpu") == torch.device("cpu")
    assert dev.get_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("name", ["tpu", "gpu", "cpu:1", "cuda:x", "mps:0"])
def test_unknown_device_lists_valid_choices(name):
    with pytest.raises(ValueError, match="valid choices are auto, cpu, cuda, cuda:N, mps"):
        dev.get_device(name)


def test_non_string_device_is_a_type_error():
    with pytest.raises(TypeError, match="expects a string"):
        dev.get_device(3)


def test_missing_cuda_says_so(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no usable CUDA GPU"):
        dev.get_device("cuda")


def test_set_seed_makes_every_library_repeat():
    dev.set_seed(123)
    a = (np.random.rand(3), torch.rand(3))
    gen = dev.set_seed(123)
    b = (np.random.rand(3), torch.rand(3))
    np.testing.assert_array_equal(a[0], b[0])
    torch.testing.assert_close(a[1], b[1])
    assert torch.equal(torch.rand(2, generator=gen), torch.rand(2, generator=torch.Generator().manual_seed(123)))


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_set_seed_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="non-negative int"):
        dev.set_seed(seed)


def test_cpu_autocast_follows_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(dev, "cpu_supports_bf16", lambda: True)
    assert dev.amp_dtype("cpu") == torch.bfloat16
    with dev.autocast("cpu"):
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.is_autocast_enabled("cpu")
        y = torch.ones(4, 4) @ torch.ones(4, 4)
    assert y.dtype == torch.bfloat16
    monkeypatch.setattr(dev, "cpu_supports_bf16", lambda: False)
    assert dev.amp_dtype("cpu") is None
    assert isinstance(dev.autocast("cpu"), contextlib.nullcontext)
    assert not dev.needs_grad_scaler("cpu")


def test_autocast_can_be_switched_off(monkeypatch):
    monkeypatch.setattr(dev, "cpu_supports_bf16", lambda: True)
    assert isinstance(dev.autocast("cpu", enabled=False), contextlib.nullcontext)


def test_describe_device_reports_the_basics():
    info = dev.describe_device("cpu")
    assert info["device"] == "cpu" and info["torch"] == torch.__version__
    assert info["cpu threads (torch)"] >= 1


def test_check_environment_flags_missing_and_old(monkeypatch):
    rows = {r["package"]: r for r in dev.check_environment()}
    assert rows["torch"]["status"] == "ok" and rows["numpy"]["status"] == "ok"
    monkeypatch.setattr(dev, "_REQUIREMENTS", (("numpy", "numpy", "999.0", True), ("nopkg", "no-such-package-xyz", "1.0", True)))
    rows = {r["package"]: r for r in dev.check_environment()}
    assert rows["numpy"]["status"].startswith("TOO OLD") and "pip install" in rows["numpy"]["fix"]
    assert rows["no-such-package-xyz"]["status"] == "MISSING"


@pytest.mark.gpu
def test_cuda_autocast_dtype():
    assert dev.amp_dtype("cuda") in (torch.bfloat16, torch.float16)
    assert dev.get_device() == torch.device("cuda")
