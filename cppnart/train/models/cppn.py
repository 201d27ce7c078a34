"""THE torch CPPN: one module for the ganvae generator, the image fit and the CPPN glyph generator.

    net = CPPN(z_dim=32, channels=1, width=128, activations=("softplus", "tanh"), scale=8.0)
    rgb = net(coords, z)                      # coords [N, 2], z [B, Z] -> [B, N, C] in [0, 1]
    images = net.images(z, 26, 26)            # [B, C, 26, 26] on the renderer's pixel-centre grid
    weights = net.to_weights()                # graph.weights.CPPNWeights -> the numpy ONNX builder

Layer 0 reads the coordinate features — ``scale * (x, y, r)``, or with ``fourier_features = m``
the 2m features sin(B [x, y] + phase) of Tancik et al.'s [Fourier features] (each random
frequency once with phase 0 and once with pi/2) — plus ``z_in(z)`` (times ``scale`` too when
``scale_z``). Each later hidden layer is ``act(W h + b)``, or with ``film`` the message-driven
``act((1 + gamma(z)) * (W h + b) + beta(z))``. With ``layout`` the latent also places the
picture: a linear map of z gives an offset, a scale and a rotation applied to the coordinates
first, so glyphs of different messages sit at different places, sizes and angles instead of all
being centred on the origin. Without FiLM or layout the module is exactly a ``CPPNWeights``
network, so it exports through the same builder random CPPNs use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ...configs.activations import OUTPUTS, check_backend
from ...graph.weights import CPPNWeights
from ...render.coords import grid

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "softplus": F.softplus,
    "sin": torch.sin,
    "cos": torch.cos,
    "gaussian": lambda x: torch.exp(-x * x),
    "abs": torch.abs,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "identity": lambda x: x,
}
check_backend("torch", ACTIVATIONS)


LAYOUT_INIT = 1.0  # std of a layout output for z ~ N(0, I) at init: messages start spread out
LAYOUT_OFFSET = 0.5  # offsets stay within half the canvas' half side
LAYOUT_LOG_SCALE = 0.5  # scales stay within exp(+-0.5): 0.6x to 1.65x


def activate(name: str, x: torch.Tensor) -> torch.Tensor:
    """A hidden activation of the table, in torch."""
    return ACTIVATIONS[name](x)


def squash(name: str, x: torch.Tensor) -> torch.Tensor:
    """An output activation of the table (onto [0, 1]), in torch."""
    spec = OUTPUTS[name]
    for step in spec.chain:
        x = activate(step, x)
    return 0.5 + 0.5 * x if spec.half else x


def pixel_coords(width: int, height: int) -> torch.Tensor:
    """[H*W, 2] pixel-centre coordinates, the same grid `cppnart render` uses at that size."""
    return torch.from_numpy(grid(width, height))


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32).copy()


class CPPN(nn.Module):
    """f(coords [N, 2], z [B, Z]) -> colour [B, N, C] in [0, 1]; see the module docstring."""

    # Buffers, declared so the type checker sees tensors (nn.Module.__getattr__ says Tensor | Module).
    freqs: torch.Tensor
    phase: torch.Tensor
    grid: torch.Tensor

    def __init__(
        self,
        *,
        z_dim: int,
        channels: int,
        width: int,
        activations: tuple[str, ...],
        output: str = "sigmoid",
        scale: float = 1.0,
        scale_z: bool = True,
        coords_bias: bool = False,
        fourier_features: int = 0,
        fourier_scale: float = 10.0,
        film: bool = False,
        layout: bool = False,
        train_size: int | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.activations, self.output = tuple(activations), output
        self.scale, self.z_scale = float(scale), float(scale) if scale_z else 1.0
        m = fourier_features
        if m:
            freqs = torch.randn(2, m, generator=generator) * fourier_scale
            self.register_buffer("freqs", torch.cat([freqs, freqs], dim=1))  # [2, 2m]
            self.register_buffer("phase", torch.cat([torch.zeros(m), torch.full((m,), math.pi / 2)]))
        self.fourier = bool(m)
        self.coords_in = nn.Linear(2 * m if m else 3, width, bias=coords_bias)
        self.z_in = nn.Linear(z_dim, width) if z_dim else None
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in self.activations[1:])
        self.film = nn.ModuleList(nn.Linear(z_dim, 2 * width) for _ in self.activations[1:]) if film else None
        self.layout = nn.Linear(z_dim, 4) if layout and z_dim else None  # offset x, y; log scale; angle
        if self.layout is not None:
            nn.init.normal_(self.layout.weight, std=LAYOUT_INIT / math.sqrt(z_dim), generator=generator)
            nn.init.zeros_(self.layout.bias)
        self.out = nn.Linear(width, channels)
        self.train_size = train_size
        if train_size:  # the training grid is exactly the grid `cppnart render` uses at that size
            self.register_buffer("grid", pixel_coords(train_size, train_size), persistent=False)
        self._register_load_state_dict_pre_hook(_rename_legacy_keys)

    @classmethod
    def shaped_like(cls, arch: Any, *, z_dim: int, channels: int, **options: Any) -> CPPN:
        """A CPPN with ``arch``'s width, activations, output and scale (a config table or ``CPPNWeights``)."""
        return cls(
            z_dim=z_dim,
            channels=channels,
            width=arch.width,
            activations=arch.activations,
            output=getattr(arch, "output", "sigmoid"),
            scale=arch.scale,
            **options,
        )

    @classmethod
    def from_weights(cls, weights: CPPNWeights) -> CPPN:
        """The torch twin of a numpy CPPN (no residual layers): the inverse of ``to_weights``."""
        if weights.residual:
            raise ValueError("residual CPPNs have no torch twin")
        net = cls.shaped_like(weights, z_dim=weights.z_dim, channels=weights.channels)
        assert net.z_in is not None  # shaped_like gives a z input to every CPPNWeights network
        pairs = [
            (net.coords_in.weight, weights.w_coords.T),
            (net.z_in.weight, weights.w_z.T),
            (net.z_in.bias, weights.b0),
            (net.out.weight, weights.w_out.T),
            (net.out.bias, weights.b_out),
        ]
        for layer, (w, b) in zip(net.linear_hidden(), weights.hidden):
            pairs += [(layer.weight, w.T), (layer.bias, b)]
        with torch.no_grad():
            for param, value in pairs:
                param.copy_(torch.from_numpy(np.ascontiguousarray(value)))
        return net

    def linear_hidden(self) -> list[nn.Linear]:
        """The hidden layers, typed as what they are (a ModuleList yields plain Modules)."""
        return [layer for layer in self.hidden if isinstance(layer, nn.Linear)]

    def features(self, coords: torch.Tensor) -> torch.Tensor:
        """Layer 0's coordinate input [..., N, F] for coordinates [..., N, 2]."""
        if self.fourier:
            return torch.sin(coords @ self.freqs + self.phase)
        r = torch.sqrt((coords * coords).sum(dim=-1, keepdim=True))
        return torch.cat([coords, r], dim=-1) * self.scale

    def place(self, coords: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Coordinates [N, 2] seen from each latent's layout, [B, N, 2]: c' = R(-angle) (c - offset) / scale."""
        assert self.layout is not None
        p = self.layout(z)  # [B, 4]
        offset = LAYOUT_OFFSET * torch.tanh(p[:, None, :2])
        scale = torch.exp(LAYOUT_LOG_SCALE * torch.tanh(p[:, 2:3]))[:, None]  # [B, 1, 1]
        angle = math.pi * torch.tanh(p[:, 3])
        cos, sin = torch.cos(angle)[:, None], torch.sin(angle)[:, None]
        rel = (coords[None] - offset) / scale
        x, y = rel[..., 0], rel[..., 1]
        return torch.stack([cos * x + sin * y, cos * y - sin * x], dim=-1)

    def forward(self, coords: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """Colours [B, N, C] at coordinates [N, 2] for latents ``z`` [B, Z] (the ONNX "coords"
        interface); without ``z``, the one picture of the coordinates alone, [1, N, C]."""
        if self.layout is not None and z is not None:
            h = self.coords_in(self.features(self.place(coords, z)))  # [B, N, W]
        else:
            h = self.coords_in(self.features(coords))[None]  # [1, N, W]
        if self.z_in is not None and z is not None:
            h = h + self.z_in(z * self.z_scale)[:, None, :]  # [B, N, W]
        h = activate(self.activations[0], h)
        for i, (name, layer) in enumerate(zip(self.activations[1:], self.hidden)):
            y = layer(h)
            if self.film is not None and z is not None:
                gamma, beta = self.film[i](z)[:, None].chunk(2, dim=-1)  # [B, 1, W] each
                y = (1 + gamma) * y + beta
            h = activate(name, y)
        out = squash(self.output, self.out(h))
        batch = 1 if z is None else z.shape[0]
        return out.expand(batch, -1, -1)

    def images(
        self, z: torch.Tensor, width: int | None = None, height: int | None = None, coords: torch.Tensor | None = None
    ) -> torch.Tensor:
        """[B, C, H, W] images for latents z [B, Z] (default: the training size)."""
        width = width or self.train_size
        height = height or width
        assert width is not None and height is not None, "a CPPN without a training size needs a width"
        if coords is None:
            coords = self.grid if (width, height) == (self.train_size,) * 2 else pixel_coords(width, height)
            coords = coords.to(z.device)
        out = self(coords, z)  # [B, H*W, C], rows top to bottom
        return out.transpose(1, 2).reshape(z.shape[0], -1, height, width)

    def to_weights(self) -> CPPNWeights:
        """The same function as numpy weights for ``graph.export.cppn_model`` (no FiLM)."""
        if self.film is not None or self.layout is not None:
            raise ValueError(
                "a FiLM- or layout-conditioned CPPN is not a plain CPPNWeights network; export it with torch"
            )
        width_first = self.coords_in.in_features if self.fourier else self.coords_in.out_features
        b_z: np.ndarray | np.float32
        if self.z_in is not None:  # z enters as z_in(z * z_scale); the numpy net scales z by `scale`
            w_z = _numpy(self.z_in.weight.T) * np.float32(self.z_scale / self.scale)
            b_z = _numpy(self.z_in.bias)
        else:
            w_z, b_z = np.zeros((1, self.coords_in.out_features), np.float32), np.float32(0.0)
        b_coords = _numpy(self.coords_in.bias) if self.coords_in.bias is not None else np.float32(0.0)
        hidden = [(_numpy(layer.weight.T), _numpy(layer.bias)) for layer in self.linear_hidden()]
        first: dict[str, Any]
        if self.fourier:  # the sin features are a first CPPN layer of their own, with fixed weights
            first = dict(
                scale=1.0,
                activations=("sin", *self.activations),
                w_coords=np.concatenate([_numpy(self.freqs), np.zeros((1, width_first), np.float32)]),
                w_z=np.zeros((w_z.shape[0], width_first), np.float32),
                b0=_numpy(self.phase),
            )
            if self.z_in is not None:
                raise ValueError("a Fourier-feature CPPN with a latent has no CPPNWeights form")
            hidden = [
                (
                    _numpy(self.coords_in.weight.T),
                    np.asarray(b_coords + np.zeros(self.coords_in.out_features), np.float32),
                )
            ] + hidden
        else:
            first = dict(
                scale=self.scale,
                activations=self.activations,
                w_coords=_numpy(self.coords_in.weight.T),
                w_z=w_z,
                b0=np.asarray(b_coords + b_z + np.zeros(self.coords_in.out_features), np.float32),
            )
        return CPPNWeights(
            output=self.output,
            residual=False,
            hidden=tuple(hidden),
            w_out=_numpy(self.out.weight.T),
            b_out=_numpy(self.out.bias),
            **first,
        )


def _rename_legacy_keys(state: dict, prefix: str, *args: object) -> None:
    """Checkpoints written before the CPPNs were one module: message_in -> z_in, fit's layers."""
    for key in list(state):
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        if rest.startswith("message_in."):
            state[prefix + "z_in." + rest[len("message_in.") :]] = state.pop(key)
        elif rest.startswith("layers."):
            index, tail = rest[len("layers.") :].split(".", 1)
            fourier = prefix + "freqs" in state
            i = int(index) - (1 if fourier else 0)
            state[prefix + (f"hidden.{i}." if i >= 0 else "coords_in.") + tail] = state.pop(key)
