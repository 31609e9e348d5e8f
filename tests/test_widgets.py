import numpy as np
import pytest

from course_lib import widgets


def test_noise_to_image_ends_are_noise_and_portrait():
    a, b = widgets.noise_to_image(0.0, size=32), widgets.noise_to_image(1.0, size=32)
    assert a.shape == b.shape == (32, 32, 3)
    np.testing.assert_allclose(b, widgets._portrait(32), atol=1e-6)
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
