import pytest
import torch

from course_lib import models


def test_mlp_shapes_and_logits_are_one_per_sample():
    G, D = models.mlp_generator(3, 2, hidden=16, depth=2), models.mlp_discriminator(2, hidden=16, depth=2)
    x = G(torch.randn(8, 3))
    assert x.shape == (8, 2)
    assert D(x).shape == (8,)
    assert models.count_params(G) == (3 * 16 + 16) + (16 * 16 + 16) + (16 * 2 + 2)
    assert sum(isinstance(m, torch.nn.Linear) for m in D) == 3  # depth hidden layers + the output layer


def test_spectral_norm_bounds_every_weight_near_one():
    D = models.mlp_discriminator(2, hidden=16, depth=2, spectral_norm=True)
    for _ in range(30):  # power iteration converges over forward passes in train mode
        D(torch.randn(4, 2))
    D.eval()
    for layer in (m for m in D if isinstance(m, torch.nn.Linear)):
        assert abs(torch.linalg.matrix_norm(layer.weight, ord=2).item() - 1) < 0.05


@pytest.mark.parametrize("kwargs", [{"z_dim": 0, "out_dim": 2}, {"z_dim": 2, "out_dim": 2, "depth": 1.5},
                                    {"z_dim": 2, "out_dim": True}])
def test_bad_sizes_are_named(kwargs):
    with pytest.raises(ValueError, match="must be a positive int"):
        models.mlp_generator(**kwargs)
