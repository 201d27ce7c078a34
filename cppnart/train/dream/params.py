"""Image parameterisations: what the optimiser changes to change the picture.

- ``CPPNStack``: one small CPPN per solution (the project's one torch CPPN module), N of them
  stacked with ``torch.func.stack_module_state`` and run with ``vmap``; each exports as a
  ``model.onnx`` that renders at any size;
- ``PixelStack``: sigmoid(logits) per pixel (``pixel``), or through a 1/f-scaled spectrum
  (``fft``); baselines at the optimisation size only.

Every parameterisation is called with no arguments and returns images [N, C, H, W] in [0, 1];
``take(index)`` keeps the chosen members (the probe's winners), in that order.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from ..models.cppn import CPPN, pixel_coords
from .settings import DreamSettings

NOISE_GRIDS = (3, 7, 14, 28)  # the series' start: pixel noise on these grids ...
NOISE_WEIGHTS = (1.0, 0.5, 0.25, 0.125)  # ... with a weight per scale
CPPN_SCALES = (0.5, 1.0, 2.0, 3.0)  # probe pool of CPPN starts, coarse to fine


class ImageParam(nn.Module):
    """N images as a function of parameters: ``param()`` -> [N, C, H, W] in [0, 1]."""

    def take(self, index: torch.Tensor) -> ImageParam:
        """A copy that keeps the members ``index`` (in that order)."""
        raise NotImplementedError

    def images(self) -> torch.Tensor:
        """The N images, [N, C, H, W] in [0, 1] (the same as calling the module)."""
        out: torch.Tensor = self()
        return out


class CPPNStack(ImageParam):
    """N independent CPPNs (the shared module), trained together through ``torch.func``."""

    coords: torch.Tensor

    def __init__(self, nets: list[CPPN], width: int, height: int) -> None:
        super().__init__()
        from torch.func import stack_module_state

        self.template = copy.deepcopy(nets[0])
        params, _ = stack_module_state(nets)  # type: ignore[arg-type]
        self.params = nn.ParameterDict(
            {k.replace(".", "__"): nn.Parameter(v.detach().clone()) for k, v in params.items()}
        )
        self.register_buffer("coords", pixel_coords(width, height), persistent=False)
        self.width, self.height = width, height

    def __len__(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    def stacked(self) -> dict[str, torch.Tensor]:
        """The members' parameters, stacked along a first axis of N, under their module names."""
        return {k.replace("__", "."): v for k, v in self.params.items()}

    def forward(self) -> torch.Tensor:
        """[N, C, H, W]: every member drawn on the pixel-centre grid `cppnart render` uses."""
        from torch.func import functional_call, vmap

        def one(params: dict[str, torch.Tensor]) -> torch.Tensor:
            out: torch.Tensor = functional_call(self.template, params, (self.coords,))
            return out[0]  # [P, C]

        out = vmap(one)(self.stacked())  # [N, P, C]
        return out.transpose(1, 2).reshape(out.shape[0], -1, self.height, self.width)

    def take(self, index: torch.Tensor) -> CPPNStack:
        new = copy.deepcopy(self)
        for value in new.params.values():
            value.data = value.data[index].clone()
        return new

    def member(self, i: int) -> CPPN:
        """Member ``i`` as a plain torch CPPN (on the CPU)."""
        net = copy.deepcopy(self.template).cpu()
        net.load_state_dict({k: v[i].detach().cpu() for k, v in self.stacked().items()})
        return net


class PixelStack(ImageParam):
    """Images as sigmoid(logits) per pixel (``pixel``), or through a 1/f-scaled spectrum (``fft``)."""

    freq_scale: torch.Tensor

    def __init__(self, start: torch.Tensor, fft: bool) -> None:
        super().__init__()
        self.fft = fft
        n, c, h, w = start.shape
        if fft:
            fy = torch.fft.fftfreq(h)[:, None]
            fx = torch.fft.rfftfreq(w)[None, :]
            scale = 1.0 / torch.sqrt(fx * fx + fy * fy).clamp(min=1.0 / max(h, w))
            self.register_buffer("freq_scale", scale / scale.max() * math.sqrt(h * w))
            spectrum = torch.fft.rfft2(start) / self.freq_scale
            self.values = nn.Parameter(torch.view_as_real(spectrum).contiguous())
        else:
            self.values = nn.Parameter(start.clone())
        self.size = (h, w)

    def forward(self) -> torch.Tensor:
        """[N, C, H, W] in [0, 1]."""
        if self.fft:
            spectrum = torch.view_as_complex(self.values) * self.freq_scale
            logits = torch.fft.irfft2(spectrum, s=self.size)
        else:
            logits = self.values
        return torch.sigmoid(logits)

    def take(self, index: torch.Tensor) -> PixelStack:
        new = copy.deepcopy(self)
        new.values.data = new.values.data[index].clone()
        return new


def multiscale_noise(count: int, channels: int, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """The series' start: noise on 3x3 .. 28x28 grids, upsampled and summed with a weight per scale (logits)."""
    from torch.nn import functional as F

    total = torch.zeros(count, channels, *size)
    for grid, weight in zip(NOISE_GRIDS, NOISE_WEIGHTS):
        noise = torch.randn(count, channels, grid, grid, generator=generator)
        total += weight * F.interpolate(noise, size=size, mode="bilinear", align_corners=False)
    return total


def build_cppn(settings: DreamSettings, channels: int, scale: float, seed: int) -> CPPN:
    """One random CPPN start: (x, y, r) times ``scale`` -> ``depth`` hidden layers -> sigmoid."""
    torch.manual_seed(seed)
    net = CPPN(
        z_dim=0,
        channels=channels,
        width=settings.width,
        activations=(settings.activation,) * settings.depth,
        output="sigmoid",
        scale=1.0,
        coords_bias=True,
    )
    with torch.no_grad():  # the input scale lives in the weights, so starts of every scale stack together
        net.coords_in.weight.normal_(0.0, scale)
        for layer in net.hidden:
            layer.weight.normal_(0.0, 1.0 / math.sqrt(settings.width) * 1.6)  # type: ignore[operator]
        net.out.weight.normal_(0.0, 1.0 / math.sqrt(settings.width) * 2.0)
    return net


def probe_pool(settings: DreamSettings, channels: int, size: tuple[int, int]) -> ImageParam:
    """``probe`` random starts of the chosen parameterisation, seeded."""
    count = settings.probe
    if settings.param == "cppn":
        rng = np.random.default_rng([settings.seed, 3])
        scales = rng.choice(CPPN_SCALES, size=count)
        seeds = rng.integers(0, 2**31 - 1, size=count)
        nets = [build_cppn(settings, channels, float(s), int(k)) for s, k in zip(scales, seeds)]
        return CPPNStack(nets, size[1], size[0])
    generator = torch.Generator().manual_seed(settings.seed)
    return PixelStack(multiscale_noise(count, channels, size, generator), fft=settings.param == "fft")
