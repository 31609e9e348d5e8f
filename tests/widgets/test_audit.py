"""The audit explorer of 06_evaluation_fairness: its logic on constructed data, and the widget headless."""
import numpy as np
import pytest
import torch

from course_lib.widgets import audit

TONES = np.array([1.0, 2.2, 5.0, 6.4, 8.0, 9.6, 10.0, 3.4])  # light, light, medium, medium, deep, deep, deep, light


def samples():
    g = torch.Generator().manual_seed(0)
    return {"data": (torch.rand(8, 3, 16, 16, generator=g) * 2 - 1, TONES),
            "G": (torch.rand(4, 3, 16, 16, generator=g) * 2 - 1, np.array([2.0, 2.0, 5.0, 8.4]))}


def fake_triplets():
    g = torch.Generator().manual_seed(1)
    x = lambda: torch.rand(4, 3, 16, 16, generator=g) * 2 - 1  # noqa: E731  (a one-line factory)
    return {"source": x(), "reference": x(), "target": x(), "tone": torch.tensor([1.5, 8.0, 9.0, 5.0])}


def fake_scores():
    tone = np.array([1.5, 8.0, 9.0, 5.0])
    return {"histogram": {"lips": np.array([1.0, 4.0, 6.0, 2.0]), "eyeshadow": np.array([1, 1, 1, 1.0]),
                          "cheeks": np.array([2, np.nan, 4, 1.0]), "tone": tone}}


def test_group_indices_follow_the_tone_groups():
    np.testing.assert_array_equal(audit.group_indices(TONES, "light"), [0, 1, 7])
    np.testing.assert_array_equal(audit.group_indices(TONES, "deep"), [4, 5, 6])
    with pytest.raises(ValueError, match="group must be one of"):
        audit.group_indices(TONES, "dark")


def test_group_summary_counts_shares_and_averages_errors():
    s = audit.group_summary("deep", samples(), fake_scores())
    assert s["share"] == {"data": 3 / 8, "G": 1 / 4} and s["n"] == {"data": 3, "G": 1}
    assert s["errors"]["histogram"] == {"lips": 5.0, "eyeshadow": 1.0, "cheeks": 4.0, "n": 2}  # NaN skipped
    text = audit.summary_text(s)
    assert text.startswith("deep: share of faces: data 38%, G 25%") and "histogram 5.0" in text and "(2 triplets)" in text
    with pytest.raises(ValueError, match="samples"):
        audit.group_summary("deep", {"data": (torch.zeros(2, 3, 4, 4), TONES)})


def test_audit_figure_draws_a_row_per_sample_set_and_the_group_triplets():
    import matplotlib.pyplot as plt

    tr = fake_triplets()
    fig = audit.audit_figure("deep", samples(), tr, {"histogram": tr["source"]}, fake_scores(), n=4, examples=3)
    titles = [ax.get_title(loc="left") or ax.get_title() for ax in fig.get_axes()]
    assert titles[:2] == ["data: 3 of 8 faces (38%)", "G: 1 of 4 faces (25%)"]
    assert len(fig.get_axes()) == 2 + 2 * 4  # two deep triplets, four columns (source, reference, truth, method)
    assert "lips 4.0" in titles[2 + 3] and "lips 6.0" in titles[2 + 4 + 3]
    plt.close(fig)
    fig = audit.audit_figure("medium", samples())  # no transfer: only the sample rows
    assert len(fig.get_axes()) == 2
    plt.close(fig)


def test_audit_explorer_redraws_and_reports():
    tr = fake_triplets()
    view = audit.audit_explorer(samples(), tr, {"histogram": tr["source"]}, fake_scores(), n=4)
    first = view.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and view.status.value.startswith("deep:") and " ms" in view.status.value
    assert "redrawn in" in view.status.value and not view.status.value.startswith("drawing")  # the busy message is gone
    view.group.value = "light"
    assert view.image.value != first and view.status.value.startswith("light: share of faces: data 38%")
    assert view.last_ms > 0
