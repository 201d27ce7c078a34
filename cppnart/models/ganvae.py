"""The CPPN-GAN-VAE networks (seed 002), each built from one config; no I/O.

    gen = CPPNGenerator(config.generator, z_dim=32, channels=1)
    images = gen.images(z, 26, 26)          # [B, C, 26, 26] on the renderer's pixel-centre grid
    weights = gen.to_weights()              # cppnart.cppn.CPPNWeights -> cppnart.export.cppn_model

The generator has exactly the structure of ``cppnart.cppn.CPPNWeights`` (the reference's
FC(z) + FC(x) + FC(y) + FC(r), coordinates without bias, all inputs times ``scale``), so a
trained generator is exported by the numpy ONNX builder every random CPPN uses, and renders
through `cppnart render` at any size.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..coords import grid
from ..cppn import CPPNWeights
from ..ganvae_config import DiscriminatorConfig, EncoderConfig, GeneratorConfig


def activate(name: str, x: torch.Tensor) -> torch.Tensor:
    """The hidden activations of cppnart.cppn.activate, in torch."""
    if name == "gaussian":
        return torch.exp(-x * x)
    if name == "identity":
        return x
    return {"tanh": torch.tanh, "softplus": F.softplus, "sin": torch.sin, "cos": torch.cos, "abs": torch.abs,
            "relu": torch.relu, "sigmoid": torch.sigmoid}[name](x)


def squash(name: str, x: torch.Tensor) -> torch.Tensor:
    """The output activations of cppnart.cppn.squash (onto [0, 1]), in torch."""
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "sin":
        return 0.5 + 0.5 * torch.sin(x)
    if name == "tanh":
        return 0.5 + 0.5 * torch.tanh(x)
    if name == "gaussian":
        return torch.exp(-x * x)
    if name == "abs":
        return torch.abs(torch.tanh(x))
    raise ValueError(f"unknown output activation {name}")


def pixel_coords(width: int, height: int) -> torch.Tensor:
    """[H*W, 2] pixel-centre coordinates, the same grid `cppnart render` uses at that size."""
    return torch.from_numpy(grid(width, height))


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32).copy()


class CPPNGenerator(nn.Module):
    """f(scale * (x, y, r), scale * z) -> colour; forward(coords [N, 2], z [B, Z]) -> [B, N, C]."""

    def __init__(self, config: GeneratorConfig, z_dim: int, channels: int) -> None:
        super().__init__()
        self.config = config
        width = config.width
        self.coords_in = nn.Linear(3, width, bias=False)  # x, y, r: no bias, as in the reference
        self.z_in = nn.Linear(z_dim, width)  # its bias is the first layer's bias
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(config.depth - 1))
        self.out = nn.Linear(width, channels)

    def forward(self, coords: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        scale = self.config.scale
        r = torch.sqrt((coords * coords).sum(dim=1, keepdim=True))
        xyr = torch.cat([coords, r], dim=1)  # [N, 3]
        h = self.coords_in(xyr * scale)[None] + self.z_in(z * scale)[:, None, :]  # [B, N, W]
        h = activate(self.config.activations[0], h)
        for name, layer in zip(self.config.activations[1:], self.hidden):
            h = activate(name, layer(h))
        return squash(self.config.output, self.out(h))  # [B, N, C]

    def images(self, z: torch.Tensor, width: int, height: int, coords: torch.Tensor | None = None) -> torch.Tensor:
        """[B, C, H, W] images for latents z [B, Z]."""
        if coords is None:
            coords = pixel_coords(width, height).to(z.device)
        out = self(coords, z)  # [B, H*W, C]
        return out.transpose(1, 2).reshape(z.shape[0], -1, height, width)

    def to_weights(self) -> CPPNWeights:
        """The same function as numpy weights for cppnart.export.cppn_model (scale kept separate)."""
        return CPPNWeights(
            scale=float(self.config.scale),
            activations=tuple(self.config.activations),
            output=self.config.output,
            residual=False,
            w_coords=_numpy(self.coords_in.weight.T),
            w_z=_numpy(self.z_in.weight.T),
            b0=_numpy(self.z_in.bias),
            hidden=tuple((_numpy(layer.weight.T), _numpy(layer.bias)) for layer in self.hidden),
            w_out=_numpy(self.out.weight.T),
            b_out=_numpy(self.out.bias),
        )


class Encoder(nn.Module):
    """image [B, C, H, W] -> (mu, log sigma^2), each [B, Z]: ``layers`` x ``width`` softplus MLP."""

    def __init__(self, config: EncoderConfig, pixels: int, z_dim: int) -> None:
        super().__init__()
        sizes = [pixels] + [config.width] * config.layers
        self.body = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.mu = nn.Linear(config.width, z_dim)
        self.logvar = nn.Linear(config.width, z_dim)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = images.flatten(1)
        for layer in self.body:
            h = F.softplus(layer(h))
        return self.mu(h), self.logvar(h)


class Discriminator(nn.Module):
    """image [B, C, H, W] -> one logit per image: strided 5x5 convs (leaky ReLU) + linear."""

    def __init__(self, config: DiscriminatorConfig, channels: int, size: int) -> None:
        super().__init__()
        norm = nn.utils.parametrizations.spectral_norm if config.spectral_norm else (lambda m: m)
        convs, c_in = [], channels
        for c_out in config.channels:
            convs.append(norm(nn.Conv2d(c_in, c_out, kernel_size=5, stride=2, padding=2)))
            c_in = c_out
            size = (size + 1) // 2  # 'same' padding, stride 2
        self.convs = nn.ModuleList(convs)
        self.head = norm(nn.Linear(c_in * size * size, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = images * 2 - 1  # centre the [0, 1] pixels
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
        return self.head(h.flatten(1)).squeeze(1)
