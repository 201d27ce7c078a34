"""z fit on a random CPPN preset: latents found by gradient descent draw what was asked."""

import numpy as np
import pytest
import torch

from cppnart.errors import ParamError
from cppnart.train.zfit import fit_latents, load_generators

GENTLE = """
description = "a small, smooth CPPN: its z landscape has one basin per image, so the test is about z fit"
kind = "cppn"
z_dim = 4
channels = 3
width = 16
depth = 2
activations = "tanh"
scale = 2.0
"""


@pytest.fixture(scope="module")
def gentle(tmp_path_factory):
    preset = tmp_path_factory.mktemp("zfit") / "gentle.toml"
    preset.write_text(GENTLE)
    return load_generators(preset, seed=3, size=24)


def test_a_reachable_image_is_found_again(gentle):
    trained, twin = gentle
    z_true = torch.randn(2, trained.z_dim, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        targets = trained.draw(z_true).numpy()
    fit = fit_latents(trained, targets, steps=150, restarts=3, seed=1)
    other = fit_latents(twin, targets, steps=150, restarts=3, seed=1)
    assert fit.losses[-1] < 0.01 * fit.losses[0]
    assert fit.loss < 0.01 * other.loss  # the net that drew them reaches them; another random net does not
    assert fit.z.shape == (2, trained.z_dim) and fit.images.shape == (2, 24, 24, 3)


def test_shapes_and_parameters_are_checked(gentle):
    trained, _ = gentle
    with pytest.raises(ParamError, match="targets"):
        fit_latents(trained, np.zeros((1, 1, 24, 24), np.float32))
    with pytest.raises(ParamError, match="steps"):
        fit_latents(trained, np.zeros((1, 3, 24, 24), np.float32), steps=0)
