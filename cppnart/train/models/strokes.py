"""The strokes glyph generator: each message draws a few strokes of ink on a ground.

The conv generator of [Glyphs] learns textures (a lattice of blobs under a fine checkerboard),
and a message-conditioned CPPN learns pinwheels around the origin: both fill the canvas, because
nothing asks them to leave any of it empty. Here the glyph is marks by construction. An MLP maps
the message to ``strokes`` quadratic Bezier curves, each with a width (bounded, so ink stays a
minority of the canvas), an ink colour and an opacity; the strokes are painted in order over one
learned ground colour. It is a coordinate model, like the CPPN generator: ``forward(coords, z)``
gives [B, N, C], so a trained glyph exports with the coords interface and renders at any size.

Painting is differentiable: a pixel's coverage by a stroke is a sigmoid of (width - distance to
the stroke's polyline), with a soft edge of about half a training pixel.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ...configs.glyph import GlyphConfig
from .cppn import pixel_coords

SAMPLES = 9  # points along each curve: 8 straight segments, within a fraction of a pixel at 64 px
CONTROL_EXTENT = 0.85  # control points stay inside this fraction of the canvas' half side
SPREAD = 1.5  # initial bias spread of the control points' pre-activations: strokes start all over the canvas


class StrokeGlyphGenerator(nn.Module):
    """message [B, M] -> strokes -> colour at coords [B, N, C] in [0, 1]."""

    grid: torch.Tensor  # a buffer, declared so the type checker sees a tensor

    def __init__(self, config: GlyphConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        gen = config.generator
        self.strokes_per_glyph, self.channels = gen.strokes, config.channels
        self.width_low, self.width_high = (float(w) for w in gen.stroke_width)
        self.per_stroke = 6 + 1 + self.channels + 1  # 3 control points, width, ink colour, opacity
        self.head = nn.Sequential(
            nn.Linear(config.message_size, gen.width),
            nn.Tanh(),
            nn.Linear(gen.width, gen.width),
            nn.Tanh(),
            nn.Linear(gen.width, self.strokes_per_glyph * self.per_stroke),
        )
        with torch.no_grad():
            last = self.head[-1]
            assert isinstance(last, nn.Linear)
            bias = last.bias.view(self.strokes_per_glyph, self.per_stroke)
            bias[:, :6].uniform_(-SPREAD, SPREAD, generator=generator)
            bias[:, 7 : 7 + self.channels].uniform_(-3.0, 0.0, generator=generator)  # dark inks to start
            bias[:, -1].fill_(2.0)  # strokes start visible (opacity 0.88)
        self.ground = nn.Parameter(torch.full((self.channels,), 2.0))  # light paper to start
        t = torch.linspace(0.0, 1.0, SAMPLES)
        self.register_buffer("basis", torch.stack([(1 - t) ** 2, 2 * (1 - t) * t, t**2], dim=1))  # [T, 3]
        self.softness = 1.0 / config.image_size  # half a training pixel (pixels are 2 / size wide)
        self.train_size = config.image_size
        self.register_buffer("grid", pixel_coords(config.image_size, config.image_size), persistent=False)

    def strokes(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Each message's strokes: polyline points [B, K, T, 2], widths [B, K], inks [B, K, C], opacities [B, K]."""
        p = self.head(z).view(z.shape[0], self.strokes_per_glyph, self.per_stroke)
        control = CONTROL_EXTENT * torch.tanh(p[..., :6]).view(*p.shape[:2], 3, 2)
        points = torch.einsum("tj,bkjd->bktd", self.basis, control)
        width = self.width_low + (self.width_high - self.width_low) * torch.sigmoid(p[..., 6])
        ink = torch.sigmoid(p[..., 7 : 7 + self.channels])
        opacity = torch.sigmoid(p[..., -1])
        return points, width, ink, opacity

    def forward(self, coords: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Colours [B, N, C] at coordinates [N, 2]: each message's strokes painted in order over the
        paper, edges softened by half a training pixel so the drawing stays differentiable."""
        points, width, ink, opacity = self.strokes(z)
        start = points[:, :, :-1, None, :]  # [B, K, S, 1, 2]
        along = points[:, :, 1:, None, :] - start
        rel = coords[None, None, None] - start  # [B, K, S, N, 2]
        t = ((rel * along).sum(-1) / (along * along).sum(-1).clamp_min(1e-12)).clamp(0.0, 1.0)
        distance = (rel - t[..., None] * along).norm(dim=-1).amin(dim=2)  # [B, K, N] to the nearest segment
        cover = opacity[..., None] * torch.sigmoid((width[..., None] - distance) / self.softness)
        out = torch.sigmoid(self.ground).expand(z.shape[0], coords.shape[0], self.channels)
        for k in range(self.strokes_per_glyph):  # painted in order: later strokes cover earlier ones
            c = cover[:, k, :, None]
            out = out * (1 - c) + ink[:, k, None, :] * c
        return out

    def images(self, z: torch.Tensor, width: int | None = None, height: int | None = None) -> torch.Tensor:
        """[B, C, H, W] glyphs (default: the training size)."""
        width = width or self.train_size
        height = height or width
        coords = self.grid if (width, height) == (self.train_size,) * 2 else pixel_coords(width, height)
        out = self(coords.to(z.device), z)
        return out.transpose(1, 2).reshape(z.shape[0], -1, height, width)
