import numpy as np
import pytest
import torch

from course_lib import viz


def test_round_trip_between_tensor_and_numpy():
    x = torch.rand(2, 3, 5, 7) * 2 - 1
    arr = viz.to_numpy_image(x)
    assert arr.shape == (2, 5, 7, 3) and arr.min() >= 0 and arr.max() <= 1
    torch.testing.assert_close(viz.to_tensor_image(arr), x)
    single = viz.to_numpy_image(x[0])
    assert single.shape == (5, 7, 3)


def test_known_values_map_correctly():
    x = torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1)
    np.testing.assert_allclose(viz.to_numpy_image(x)[0, 0, 0], [0.0, 0.5, 1.0])
    u8 = np.array([[[0, 255, 51]]], dtype=np.uint8)
    torch.testing.assert_close(viz.to_tensor_image(u8)[:, 0, 0], torch.tensor([-1.0, 1.0, -0.6]))


def test_grey_and_rgba_are_converted():
    assert viz.to_tensor_image(np.zeros((4, 4))).shape == (3, 4, 4)
    assert viz.to_tensor_image(np.zeros((4, 4, 4), np.float32)).shape == (3, 4, 4)


@pytest.mark.parametrize(
    "bad, match",
    [(np.zeros((4, 4, 5)), r"\(H, W, 3\)"), (np.full((2, 2, 3), 2.0), r"in \[0, 1\]"), (np.zeros((2, 2, 3), np.int32), "dtype")],
)
def test_bad_numpy_images_are_named(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        viz.to_tensor_image(bad)


def test_bad_tensor_shapes_are_named():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        viz.to_numpy_image(torch.zeros(2, 5, 4, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        viz.to_numpy_image(np.zeros((3, 4, 4)))


def test_make_grid_places_images_in_rows():
    batch = torch.stack([torch.full((3, 2, 2), v) for v in (-1.0, 1.0, -1.0)])
    grid = viz.make_grid(batch, nrow=2, padding=1, pad_value=0.5)
    assert grid.shape == (2 * 2 + 3, 2 * 2 + 3, 3)
    assert (grid[1:3, 1:3] == 0).all() and (grid[1:3, 4:6] == 1).all() and (grid[4:6, 1:3] == 0).all()
    assert (grid[4:6, 4:6] == 0.5).all()  # the empty fourth slot stays padding
    with pytest.raises(ValueError, match="nrow"):
        viz.make_grid(batch, nrow=0)


def test_png_bytes_and_plots():
    png = viz.to_png_bytes(np.zeros((4, 4, 3)), upscale=3)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    fig = viz.show_grid(torch.zeros(4, 3, 8, 8), nrow=2, title="t")
    assert fig.axes[0].get_title() == "t"
    fig = viz.plot_curves({"step": [0, 1], "d_loss": [1.0, 0.5], "g_loss": [2.0, 1.0]})
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(KeyError, match="available"):
        viz.plot_curves({"d_loss": [1.0]}, keys=["nope"])


def test_live_plot_draws_curves_and_samples_without_a_notebook():
    from course_lib import models, train

    G = models.DCGANGenerator(size=32, width=8)
    run = train.Run("fit", 2, nets={"G": G}, views={"G_ema": G})
    run.history, run.step = {"step": [1, 2], "d_loss": [1.0, 0.9], "g_loss": [2.0, 1.5], "d_real": [0.6, 0.7],
                             "d_fake": [0.4, 0.3]}, 2
    plot = viz.LivePlot(torch.randn(4, 100), nrow=2)
    plot(run)
    plot(run)  # updates the same figure
    axes = plot.figure.axes
    assert len(axes) == 3 and len(axes[0].lines) == 2 and "step 2" in axes[2].get_title()
