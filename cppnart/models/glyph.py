"""Glyph generator and decoder modules, each built from a GlyphConfig (no I/O).

    gen = build_generator(config)      # ConvGlyphGenerator or CPPNGlyphGenerator
    images = gen.images(messages)      # [B, M] -> [B, C, S, S] in [0, 1]
    dec = GlyphDecoder(config)         # [B, C, S, S] -> [B, M]

Exported interfaces (DESIGN.md): the conv generator's ``forward(z)`` returns [B, C, S, S]
("image" interface); the CPPN generator's ``forward(coords, z)`` returns [B, N, C] ("coords"
interface) and computes r from the coordinates itself, so a trained glyph renders at any size.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..coords import grid
from ..glyph_config import GlyphConfig

_ACTIVATIONS = {
    "sin": torch.sin,
    "tanh": torch.tanh,
    "softplus": nn.functional.softplus,
    "gaussian": lambda x: torch.exp(-x * x),
    "relu": torch.relu,
}


class ConvGlyphGenerator(nn.Module):
    """The reference stack: message as a 1x1 map, ConvTranspose2d(k5, s2, p1) + BatchNorm +
    LeakyReLU per hidden layer, a last ConvTranspose2d to the image channels, sigmoid."""

    def __init__(self, config: GlyphConfig) -> None:
        super().__init__()
        gen = config.generator
        sizes = [config.message_size, *gen.channels]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(sizes, sizes[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 5, stride=2, padding=1),
                       nn.BatchNorm2d(c_out), nn.LeakyReLU(gen.negative_slope)]
        layers += [nn.ConvTranspose2d(sizes[-1], config.channels, 5, stride=2, padding=1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])  # [B, M] -> [B, M, 1, 1] -> [B, C, S, S]

    def images(self, z: torch.Tensor) -> torch.Tensor:
        return self(z)


class CPPNGlyphGenerator(nn.Module):
    """f(x, y, r | message) -> colour. Layer 1 mixes scaled (x, y, r) with a projection of the
    message; each later hidden layer is FiLM-modulated: act((1 + gamma(m)) * (W h + b) + beta(m))."""

    def __init__(self, config: GlyphConfig) -> None:
        super().__init__()
        gen = config.generator
        width, m = gen.width, config.message_size
        self.activations = tuple(gen.activations)
        self.scale = float(gen.scale)
        self.coords_in = nn.Linear(3, width, bias=False)
        self.message_in = nn.Linear(m, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in self.activations[1:])
        self.film = nn.ModuleList(nn.Linear(m, 2 * width) for _ in self.activations[1:])
        self.out = nn.Linear(width, config.channels)
        self.size = config.image_size
        # The training grid is exactly the grid `cppnart render` uses at image_size x image_size.
        self.register_buffer("grid", torch.from_numpy(grid(self.size, self.size)), persistent=False)

    def forward(self, coords: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r = torch.sqrt((coords * coords).sum(dim=1, keepdim=True))  # [N, 1]
        xyr = torch.cat([coords, r], dim=1) * self.scale  # [N, 3]
        h = self.coords_in(xyr)[None] + self.message_in(z)[:, None]  # [B, N, W]
        h = _ACTIVATIONS[self.activations[0]](h)
        for act, layer, film in zip(self.activations[1:], self.hidden, self.film):
            gamma, beta = film(z)[:, None].chunk(2, dim=-1)  # [B, 1, W] each
            h = _ACTIVATIONS[act]((1 + gamma) * layer(h) + beta)
        return torch.sigmoid(self.out(h))  # [B, N, C]

    def images(self, z: torch.Tensor) -> torch.Tensor:
        rgb = self(self.grid, z)  # [B, S*S, C], rows top to bottom
        return rgb.unflatten(1, (self.size, self.size)).permute(0, 3, 1, 2)  # [B, C, S, S]


class GlyphDecoder(nn.Module):
    """Conv2d(k5, s2, p2) + BatchNorm + LeakyReLU per entry, flatten, linear head to the message."""

    def __init__(self, config: GlyphConfig) -> None:
        super().__init__()
        dec = config.decoder
        sizes = [config.channels, *dec.channels]
        layers: list[nn.Module] = []
        side = config.image_size
        for c_in, c_out in zip(sizes, sizes[1:]):
            layers += [nn.Conv2d(c_in, c_out, 5, stride=2, padding=2), nn.BatchNorm2d(c_out),
                       nn.LeakyReLU(dec.negative_slope)]
            side = (side + 1) // 2  # k5 s2 p2 halves, rounding up
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(sizes[-1] * side * side, config.message_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def build_generator(config: GlyphConfig) -> nn.Module:
    if config.generator.type == "conv":
        return ConvGlyphGenerator(config)
    return CPPNGlyphGenerator(config)
