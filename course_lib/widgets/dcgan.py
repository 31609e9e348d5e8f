"""03_dcgan_faces: sliders on a generator's noise (GANSpace directions and single z dimensions)."""
from __future__ import annotations

import time
from typing import Any

import torch

from course_lib import viz
from course_lib.widgets.common import ControlsView, controls_column, load_ipywidgets, picture, status_line, style_sheet


# --------------------------------------------------------------------------------------------------
# 03_dcgan_faces: sliders on the noise (GANSpace directions and single z dimensions)
# --------------------------------------------------------------------------------------------------
@torch.no_grad()
def ganspace_directions(G, n_directions: int = 5, n_samples: int = 2000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Find the main directions of G's latent space (Harkonen et al. 2020): PCA of its first-layer features.

    Returns (directions (k, z_dim) in z space, their standard deviations (k,)). Each direction is the
    least-squares map from the PCA coordinate back to z, so moving along it moves mostly one component.
    Not in the notebooks: a part of a notebook widget, tested headless.
    """
    g = torch.Generator().manual_seed(seed)
    G = G.eval()
    device = next(G.parameters()).device
    z = torch.randn(n_samples, G.z_dim, generator=g)
    first = G.net[0](z[:, :, None, None].to(device)).flatten(1).cpu()  # (N, C*4*4): the first layer's output
    centred = first - first.mean(0)
    v = _top_components(centred, n_directions, g)  # (k, C*4*4)
    coords = centred @ v.T  # (N, k) PCA coordinates
    dirs = torch.linalg.lstsq(coords, z).solution  # (k, z_dim): coords @ dirs ~ z
    std = coords.std(0)
    return dirs * std[:, None], std  # one unit of a slider = one standard deviation of that component


def _top_components(x: torch.Tensor, k: int, generator: torch.Generator, oversample: int = 20, iters: int = 4) -> torch.Tensor:
    """The top ``k`` right singular vectors of ``x`` (N, F), as rows (k, F), by randomised subspace iteration.

    Halko, Martinsson & Tropp (2011): project onto a random subspace of k + ``oversample`` directions, sharpen it
    with ``iters`` power iterations (each multiplies by x^T x), then take an exact SVD of the small projection.
    For 2,000 x 4,096 features it matches the full SVD's top 5 to float precision, about 40x faster.
    """
    q = torch.linalg.qr(x.T @ torch.randn(x.shape[0], k + oversample, generator=generator))[0]  # (F, k+p)
    for _ in range(iters):
        q = torch.linalg.qr(x.T @ (x @ q))[0]
    _, _, vh = torch.linalg.svd(x @ q, full_matrices=False)  # (k+p, k+p)
    return (q @ vh.T)[:, :k].T


class NoiseSliders(ControlsView):
    """The noise-sliders widget: controls "pc1".., "z0"... A ``ControlsView``.

    Not in the notebooks: a part of a notebook widget, tested headless.
    """


def noise_sliders(G, n_directions: int = 5, z_dims=(0, 1, 2), seed: int = 0, device=None, upscale: int = 3) -> NoiseSliders:
    """Build sliders on G's GANSpace directions and on single z dimensions, plus a "new face" button.

    Taught in 03_dcgan_faces, section 8.
    """
    W = load_ipywidgets()
    import torch as _torch

    G = G.eval()
    dirs, _ = ganspace_directions(G, n_directions, seed=seed)
    state = {"z": _torch.randn(G.z_dim, generator=_torch.Generator().manual_seed(seed)), "seed": seed}
    controls = {f"pc{i + 1}": W.FloatSlider(value=0.0, min=-3.0, max=3.0, step=0.25, description=f"direction {i + 1}")
                for i in range(n_directions)}
    controls.update({f"z{d}": W.FloatSlider(value=0.0, min=-3.0, max=3.0, step=0.25, description=f"z[{d}] + ") for d in z_dims})
    button = W.Button(description="new face", icon="refresh")
    size = getattr(G, "size", 64)
    image = picture(W, size * upscale, size * upscale)
    status = status_line(W)
    # Controls in a fixed column, the picture in a fixed pane, the status in its own row below: nothing moves.
    box = W.VBox([style_sheet(W), W.HBox([controls_column(W, [*controls.values(), button], width=340), image]), status])
    view = NoiseSliders(box, controls, image, status)
    device = next(G.parameters()).device if device is None else device

    def current_z():
        z = state["z"].clone()
        for i in range(n_directions):
            z += controls[f"pc{i + 1}"].value * dirs[i]
        for d in z_dims:
            z[d] += controls[f"z{d}"].value
        return z

    def redraw(change=None) -> None:
        t0 = time.perf_counter()
        with _torch.no_grad():
            x = G(current_z()[None].to(device)).float().cpu()
        image.value = viz.to_png_bytes(viz.to_numpy_image(x[0]), upscale=upscale)
        view.last_ms = (time.perf_counter() - t0) * 1000
        moved = ", ".join(f"{k}={c.value:+.2f}" for k, c in controls.items() if c.value) or "centre"
        status.value = f"face {state['seed']}: {moved} ({view.last_ms:.0f} ms)"

    def new_face(_button=None) -> None:
        state["seed"] += 1
        state["z"] = _torch.randn(G.z_dim, generator=_torch.Generator().manual_seed(state["seed"]))
        redraw()

    for c in controls.values():
        c.observe(redraw, names="value")
    button.on_click(new_face)
    view.new_face = new_face  # so tests and notebooks can press the button
    redraw()
    return view
