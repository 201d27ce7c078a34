"""Every bundled glyph preset loads, validates and builds models that draw and read its images."""

from __future__ import annotations

import pytest
import torch

from cppnart.configs.glyph import GlyphConfig
from cppnart.configs.presets import load_preset, preset_names
from cppnart.train.models.glyph import GlyphDecoder, build_generator

SIZES = (32, 64, 128, 512, 1024, 2048)
FAMILIES = {"glyph-{}": ("conv", 1), "glyph-colour-{}": ("conv", 3), "glyph-cppn-{}": ("cppn", 3)}
GLYPH_PRESETS = sorted(name for name in preset_names() if name.startswith("glyph"))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_has_every_message_size(family):
    kind, channels = FAMILIES[family]
    for size in SIZES:
        config = load_preset(family.format(size))
        assert (config.message_size, config.generator.type, config.channels) == (size, kind, channels)


@pytest.mark.parametrize("name", GLYPH_PRESETS)
def test_preset_builds_models_of_its_shape(name, one_torch_thread):
    config = load_preset(name)
    assert isinstance(config, GlyphConfig)
    torch.manual_seed(0)
    generator, decoder = build_generator(config).eval(), GlyphDecoder(config).eval()
    with torch.no_grad():
        images = generator.images(torch.randn(2, config.message_size))
        assert images.shape == (2, config.channels, config.image_size, config.image_size)
        assert decoder(images).shape == (2, config.message_size)
