"""Tiny seeded glyph models for tests: message 8, 16x16 images, width 16, a few dozen steps."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cppnart.configs.glyph import GlyphConfig
from cppnart.configs.presets import parse_preset

TINY_GLYPH = """
description = "tiny test glyphs"
kind = "glyph"
message_size = 8
channels = 1
image_size = 16

[generator]
type = "cppn"
width = 16
activations = ["sin", "tanh"]
scale = 3.0

[decoder]
channels = [8, 16]

[train]
steps = 40
batch_size = 32
lr = 3e-3
seed = 0
sample_every = 20
checkpoint_every = 20
eval_every = 20
eval_messages = 128
sample_count = 8
"""

# The reference conv stack, shrunk: 2 hidden ConvTranspose layers draw 15x15.
TINY_CONV = TINY_GLYPH.replace('type = "cppn"', 'type = "conv"\nchannels = [16, 8]').replace(
    "image_size = 16", "image_size = 15"
)

# Strokes: 3 Bezier strokes per message, 16x16.
TINY_STROKES = TINY_GLYPH.replace('type = "cppn"', 'type = "strokes"\nstrokes = 3').replace(
    'activations = ["sin", "tanh"]\n', ""
)

# Ink on paper: a 4x4 map upsampled twice (16 -> 8 maps) to 16x16, under an ink budget.
TINY_INK = (
    TINY_GLYPH.replace('type = "cppn"', 'type = "ink"\nchannels = [16, 8]')
    .replace('activations = ["sin", "tanh"]\n', "")
    .replace("seed = 0\n", "seed = 0\nink_budget = 0.3\n")
)


def tiny_config(text: str = TINY_GLYPH, **train) -> GlyphConfig:
    config = parse_preset(text, "tiny", "tiny.toml")
    return replace(config, train=replace(config.train, **train)) if train else config


def write_tiny(folder: Path, text: str = TINY_GLYPH, name: str = "tiny.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path
