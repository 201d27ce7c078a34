"""The kornia channel noise: built from the preset, differentiable, a fresh draw every batch."""

from __future__ import annotations

from dataclasses import replace

import kornia.augmentation as K
import pytest
import torch

from cppnart.configs.glyph import NoiseConfig
from cppnart.train.models.glyph import build_generator
from cppnart.train.noise import build_noise

from ..glyph_fixtures import tiny_config


def test_blog_noise_is_built_with_explicit_probabilities():
    steps = list(build_noise(NoiseConfig(), 32))
    kinds = [type(s) for s in steps]
    assert kinds == [K.RandomGaussianNoise, K.RandomAffine, K.RandomPerspective]
    # RandomAffine defaults to p=0.5 in kornia; the blog warps every image.
    assert steps[1].p == 1.0
    assert steps[2].p == 0.5
    assert steps[0].p == 1.0


def test_all_off_is_identity():
    noise = build_noise(NoiseConfig(gaussian=0, affine_p=0, perspective=0), 16)
    x = torch.rand(2, 1, 16, 16)
    assert torch.equal(noise(x), x)


@pytest.mark.parametrize(
    "extra", [{}, {"elastic": 1.0, "elastic_p": 1.0, "crop": 0.2, "crop_p": 1.0, "blur": 1.0, "blur_p": 1.0}]
)
def test_gradients_reach_generator_weights(extra):
    torch.manual_seed(0)
    config = tiny_config()
    config = replace(config, noise=replace(config.noise, **extra))
    generator = build_generator(config)
    noise = build_noise(config.noise, config.image_size)
    images = generator.images(torch.randn(4, config.message_size))
    disturbed = noise(images)
    assert disturbed.shape == images.shape
    (disturbed**2).mean().backward()
    for name, param in generator.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_noise_is_random_per_batch_and_per_image():
    torch.manual_seed(0)
    noise = build_noise(NoiseConfig(), 16)
    x = torch.rand(1, 1, 16, 16).expand(4, 1, 16, 16).contiguous()
    first, second = noise(x), noise(x)
    assert not torch.allclose(first, second)  # a new draw every call
    assert not torch.allclose(first[0], first[1])  # and a different one for each image of a batch


def test_noise_is_seeded_by_torch_global_rng():
    noise = build_noise(NoiseConfig(), 16)
    x = torch.rand(3, 1, 16, 16)
    torch.manual_seed(5)
    a = noise(x)
    torch.manual_seed(5)
    b = noise(x)
    assert torch.equal(a, b)
