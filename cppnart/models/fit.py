"""A CPPN that fits one image, optionally through random Fourier features; no I/O.

Without Fourier features it is the plain CPPN f(scale * (x, y, r)) -> colour. With ``m``
features the first layer is sin(B [x, y] + phase) with a fixed random B [2, m] (each
frequency once with phase 0 and once with phase pi/2, i.e. sin and cos): Tancik et al.'s
"Fourier features let networks learn high frequency functions". That first layer is itself
a CPPN layer (fixed weights, sin activation), so the whole model still converts to
``cppnart.cppn.CPPNWeights`` and exports with the shared coords + z ONNX interface. The
latent ``z`` is a dummy of size 1 (zero weights): one image has nothing to vary.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..cppn import CPPNWeights
from ..ganvae_config import FitConfig
from .ganvae import _numpy, activate, squash


class FitCPPN(nn.Module):
    """forward(coords [N, 2], z [B, 1]) -> colour [B, N, C]; z is ignored (zero weights)."""

    def __init__(self, config: FitConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        m = config.fourier_features
        if m:
            freqs = torch.randn(2, m, generator=generator) * config.fourier_scale
            self.register_buffer("freqs", torch.cat([freqs, freqs], dim=1))  # [2, 2m]
            self.register_buffer("phase", torch.cat([torch.zeros(m), torch.full((m,), math.pi / 2)]))
            first = 2 * m
            layers = [nn.Linear(first, config.width)] + [nn.Linear(config.width, config.width)
                                                          for _ in range(config.depth - 1)]
        else:
            self.coords_in = nn.Linear(3, config.width)
            layers = [nn.Linear(config.width, config.width) for _ in range(config.depth - 1)]
        self.layers = nn.ModuleList(layers)
        self.out = nn.Linear(config.width, config.channels)

    def forward(self, coords: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        acts = self.config.activations
        if self.config.fourier_features:
            h = torch.sin(coords @ self.freqs + self.phase)
            names = acts
        else:
            r = torch.sqrt((coords * coords).sum(dim=1, keepdim=True))
            h = activate(acts[0], self.coords_in(torch.cat([coords, r], dim=1) * self.config.scale))
            names = acts[1:]
        for name, layer in zip(names, self.layers):
            h = activate(name, layer(h))
        out = squash(self.config.output, self.out(h))  # [N, C]
        batch = 1 if z is None else z.shape[0]
        return out[None].expand(batch, -1, -1)

    def to_weights(self) -> CPPNWeights:
        width_first = self.freqs.shape[1] if self.config.fourier_features else self.config.width
        w_z = np.zeros((1, width_first), np.float32)  # the dummy latent changes nothing
        if self.config.fourier_features:
            w_coords = np.concatenate([_numpy(self.freqs), np.zeros((1, width_first), np.float32)])  # r unused
            first = dict(scale=1.0, w_coords=w_coords, b0=_numpy(self.phase))
            activations = ("sin",) + tuple(self.config.activations)
            hidden = self.layers
        else:
            first = dict(scale=float(self.config.scale), w_coords=_numpy(self.coords_in.weight.T),
                         b0=_numpy(self.coords_in.bias))
            activations = tuple(self.config.activations)
            hidden = self.layers
        return CPPNWeights(
            activations=activations, output=self.config.output, residual=False, w_z=w_z,
            hidden=tuple((_numpy(layer.weight.T), _numpy(layer.bias)) for layer in hidden),
            w_out=_numpy(self.out.weight.T), b_out=_numpy(self.out.bias), **first,
        )
