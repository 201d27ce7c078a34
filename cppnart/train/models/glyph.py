"""Glyph generator and decoder modules, each built from a GlyphConfig (no I/O).

    gen = build_generator(config)      # ConvGlyphGenerator, or the shared CPPN with FiLM
    images = gen.images(messages)      # [B, M] -> [B, C, S, S] in [0, 1]
    dec = GlyphDecoder(config)         # [B, C, S, S] -> [B, M]

Exported interfaces (docs/design.md): the conv generator's ``forward(z)`` returns [B, C, S, S]
("image" interface); the CPPN generator's ``forward(coords, z)`` returns [B, N, C] ("coords"
interface) and computes r from the coordinates itself, so a trained glyph renders at any size.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from ...configs.glyph import GlyphConfig
from .cppn import CPPN
from .strokes import StrokeGlyphGenerator


class ConvGlyphGenerator(nn.Module):
    """The reference stack: message as a 1x1 map, ConvTranspose2d(k5, s2, p1) + BatchNorm +
    LeakyReLU per hidden layer, a last ConvTranspose2d to the image channels, sigmoid."""

    def __init__(self, config: GlyphConfig) -> None:
        super().__init__()
        gen = config.generator
        sizes = [config.message_size, *gen.channels]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(sizes, sizes[1:]):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 5, stride=2, padding=1),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(gen.negative_slope),
            ]
        layers += [nn.ConvTranspose2d(sizes[-1], config.channels, 5, stride=2, padding=1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Glyphs [B, C, S, S] in [0, 1] for messages [B, M] (the ONNX "image" interface)."""
        return self.net(z[:, :, None, None])  # [B, M] -> [B, M, 1, 1] -> [B, C, S, S]

    def images(self, z: torch.Tensor) -> torch.Tensor:
        """The same as ``forward``: the name every glyph generator answers to, so the training loop
        draws glyphs the same way whichever generator the config names."""
        return self(z)


class InkGlyphGenerator(nn.Module):
    """Marks of ink on white paper: message -> 4x4 map -> (bilinear x2, Conv2d k3, BN, LeakyReLU)*
    -> bilinear x2, Conv2d k3 -> ink opacity (and, in colour, the ink's colour) -> image.

    Resize-then-convolve instead of a strided transposed convolution: every output pixel sees the
    same kernel taps, so no period-2 checkerboard is left to unlearn ([Checkerboard]). The image
    is paper (white) where the opacity is 0; the ink budget of training counts opacity (``paint``).
    """

    BASE = 4  # side of the first feature map

    def __init__(self, config: GlyphConfig) -> None:
        super().__init__()
        gen = config.generator
        first, *rest = gen.channels
        self.channels = config.channels
        self.first = first
        self.project = nn.Linear(config.message_size, first * self.BASE * self.BASE)
        layers: list[nn.Module] = [nn.BatchNorm2d(first), nn.LeakyReLU(gen.negative_slope)]
        for c_in, c_out in zip([first, *rest], rest):
            layers += [
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(c_in, c_out, 3, padding=1),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(gen.negative_slope),
            ]
        ink_outputs = 1 if config.channels == 1 else 1 + config.channels  # opacity (+ colour)
        layers += [
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.Conv2d(gen.channels[-1], ink_outputs, 3, padding=1),
        ]
        self.net = nn.Sequential(*layers)
        last = layers[-1]
        assert isinstance(last, nn.Conv2d) and last.bias is not None
        with torch.no_grad():  # every pixel starts at opacity ink_start
            last.bias[0].fill_(math.log(gen.ink_start / (1.0 - gen.ink_start)))

    def paint(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The glyph images [B, C, S, S] and their ink opacity [B, 1, S, S] (what the ink budget counts)."""
        maps = self.project(z).view(z.shape[0], self.first, self.BASE, self.BASE)
        out = self.net(maps)
        opacity = torch.sigmoid(out[:, :1])
        if self.channels == 1:
            return 1.0 - opacity, opacity
        colour = torch.sigmoid(out[:, 1:])
        return 1.0 - opacity * (1.0 - colour), opacity  # white paper under ink of that colour

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Glyphs [B, C, S, S] in [0, 1] for messages [B, M], without the opacity ``paint`` also gives."""
        return self.paint(z)[0]

    def images(self, z: torch.Tensor) -> torch.Tensor:
        """The same as ``forward``: the name every glyph generator answers to, so the training loop
        draws glyphs the same way whichever generator the config names."""
        return self(z)


class GlyphDecoder(nn.Module):
    """Conv2d(k5, s2, p2) + BatchNorm + LeakyReLU per entry, flatten, linear head to the message."""

    def __init__(self, config: GlyphConfig) -> None:
        super().__init__()
        dec = config.decoder
        sizes = [config.channels, *dec.channels]
        layers: list[nn.Module] = []
        side = config.image_size
        for c_in, c_out in zip(sizes, sizes[1:]):
            layers += [
                nn.Conv2d(c_in, c_out, 5, stride=2, padding=2),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(dec.negative_slope),
            ]
            side = (side + 1) // 2  # k5 s2 p2 halves, rounding up
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(sizes[-1] * side * side, config.message_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The message [B, M] read back from glyph images [B, C, S, S]."""
        return self.head(self.features(images))


# The generators a glyph config can name; they share no base class beyond nn.Module (whose
# __getattr__ would type their methods as Tensor | Module), so the union says what they offer.
GlyphGenerator = ConvGlyphGenerator | InkGlyphGenerator | StrokeGlyphGenerator | CPPN


def build_generator(config: GlyphConfig) -> GlyphGenerator:
    """conv: the reference stack; ink: resize-then-convolve marks on paper; strokes: Bezier strokes;
    cppn: layer 1 mixes scaled (x, y, r) with a projection of the message, and every later hidden
    layer is FiLM-modulated by the message."""
    gen = config.generator
    if gen.type == "conv":
        return ConvGlyphGenerator(config)
    if gen.type == "strokes":
        return StrokeGlyphGenerator(config)
    if gen.type == "ink":
        return InkGlyphGenerator(config)
    return CPPN.shaped_like(
        gen,
        z_dim=config.message_size,
        channels=config.channels,
        scale_z=False,
        film=True,
        layout=gen.layout,
        train_size=config.image_size,
    )
