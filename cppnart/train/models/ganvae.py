"""The CPPN-GAN-VAE networks of [Large images], each built from one config; no I/O.

    gen = build_generator(config)           # the shared torch CPPN
    images = gen.images(z, 26, 26)          # [B, C, 26, 26] on the renderer's pixel-centre grid
    weights = gen.to_weights()              # graph.weights.CPPNWeights -> graph.export.cppn_model

The generator has exactly the structure of ``CPPNWeights`` (the reference's FC(z) + FC(x) +
FC(y) + FC(r), coordinates without bias, all inputs times ``scale``), so a trained generator is
exported by the numpy ONNX builder every random CPPN uses, and renders at any size.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ...configs.ganvae import DiscriminatorConfig, EncoderConfig, GanVaeConfig
from .cppn import CPPN


def build_generator(config: GanVaeConfig) -> CPPN:
    """The generator: a torch CPPN shaped like ``CPPNWeights`` with unbiased coordinates (as the
    reference), so it exports through the same ONNX builder as random CPPNs."""
    return CPPN.shaped_like(
        config.generator, z_dim=config.z_dim, channels=config.channels, coords_bias=False, train_size=config.crop
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
        """The posterior's (mu, log sigma^2) [B, Z] each, for images [B, C, H, W] flattened."""
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
        """One real-vs-fake logit [B] per image [B, C, H, W] in [0, 1]."""
        h = images * 2 - 1  # centre the [0, 1] pixels
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
        return self.head(h.flatten(1)).squeeze(1)
