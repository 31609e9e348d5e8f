"""Shared test settings.

In CI (``CI=true``) a skipped test is a failure: a missing piece there must not pass as green.
The one exception is a ``@pytest.mark.gpu`` test on a machine without CUDA, which is reported by name.
"""
from __future__ import annotations

import os

import pytest
import torch

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    if not torch.cuda.is_available():
        for item in items:
            if item.get_closest_marker("gpu"):
                item.add_marker(skip_gpu)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not item.get_closest_marker("gpu"):
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in CI (CI=true), which counts as a failure: {reason}"


class Crash(Exception):
    """A training run killed mid-way (the resume tests)."""


@pytest.fixture
def crash_at():
    """``crash_at(step)``: a training callback that raises ``crash_at.error`` when the run reaches ``step`` (after
    that step's checkpoint, if one is due), to test that a killed run resumes exactly."""
    def make(step: int):
        def callback(run):
            if run.step == step:
                raise Crash
        return callback

    make.error = Crash
    return make
