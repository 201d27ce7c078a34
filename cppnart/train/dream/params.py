"""Image parameterisations: what the optimiser changes to change the picture.

- ``CPPNStack``: one small CPPN per solution (the project's one torch CPPN module), N of them
  stacked with ``torch.func.stack_module_state`` and run with ``vmap``; each exports as a
  ``model.onnx`` that renders at any size. Started from a genome (``dream --init``: a bred
  picture) the members are that genome's network (``train.genome_torch.GenomeModule``), its
  structure fixed and its weights optimised, and each exports as a genome that breeds further;
- ``PixelStack``: sigmoid(logits) per pixel (``pixel``), or through a 1/f-scaled spectrum
  (``fft``); baselines at the optimisation size only;
- ``PhaseStack``: MACO (Fel et al. 2023, "Unlocking feature visualization for deeper networks
  with magnitude constrained optimization"): only the phase of the spectrum is optimised, its
  magnitude is fixed to a natural one (the mean spectrum of the target's real images where it
  has some, else 1/f), so every image keeps natural-image statistics.

For three-channel (RGB) images ``pixel``, ``fft`` and ``maco`` optimise in a decorrelated colour
space (lucid's and lucent's: the square root of ImageNet's colour correlation), so one step moves
brightness and the two colour-opponent axes apart instead of the correlated R, G and B.

Every parameterisation is called with no arguments and returns images [N, C, H, W] in [0, 1];
``take(index)`` keeps the chosen members (the probe's winners), in that order.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..models.cppn import CPPN, pixel_coords
from .settings import DreamSettings

if TYPE_CHECKING:
    from ...graph.genome import Genome

NOISE_GRIDS = (3, 7, 14, 28)  # the series' start: pixel noise on these grids ...
NOISE_WEIGHTS = (1.0, 0.5, 0.25, 0.125)  # ... with a weight per scale
CPPN_SCALES = (0.5, 1.0, 2.0, 3.0)  # probe pool of CPPN starts, coarse to fine
# A genome's probe pool: the genome itself and children with their weights nudged by this much
# (the breeder's weight mutation): near enough to be the bred picture still, apart enough that a
# batch's solutions start at different pictures.
INIT_STRENGTH = 0.3


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
    """N independent CPPNs of one structure (the shared CPPN module, or one genome's
    ``GenomeModule``), trained together through ``torch.func``."""

    coords: torch.Tensor

    def __init__(self, nets: list[nn.Module], width: int, height: int) -> None:
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
        """A copy holding only the solutions at ``index`` (the batch narrowed to what is kept)."""
        new = copy.deepcopy(self)
        for value in new.params.values():
            value.data = value.data[index].clone()
        return new

    def member(self, i: int) -> nn.Module:
        """Member ``i`` as a plain torch module (on the CPU): a ``CPPN``, or a ``GenomeModule``."""
        net = copy.deepcopy(self.template).cpu()
        state = net.state_dict()  # a genome's link masks are buffers every member shares
        state.update({k: v[i].detach().cpu() for k, v in self.stacked().items()})
        net.load_state_dict(state)
        return net


# lucid's ``color_correlation_svd_sqrt`` (ImageNet's colour covariance, square-rooted by SVD)
COLOUR_CORRELATION = ((0.26, 0.09, 0.02), (0.27, 0.00, -0.05), (0.27, -0.09, 0.03))


def colour_matrix(channels: int) -> torch.Tensor:
    """[C, C]: decorrelated colour -> RGB for 3 channels (each column scaled to the largest
    column's norm, as lucid does), the identity otherwise."""
    if channels != 3:
        return torch.eye(channels)
    m = torch.tensor(COLOUR_CORRELATION)
    return m / m.norm(dim=0).max()


def to_rgb(logits: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] logits in the decorrelated space -> the same in RGB."""
    return torch.einsum("ij,njhw->nihw", matrix, logits)


class PixelStack(ImageParam):
    """Images as sigmoid(logits) per pixel (``pixel``), or through a 1/f-scaled spectrum (``fft``)."""

    freq_scale: torch.Tensor
    colours: torch.Tensor

    def __init__(self, start: torch.Tensor, fft: bool) -> None:
        super().__init__()
        self.fft = fft
        n, c, h, w = start.shape
        self.register_buffer("colours", colour_matrix(c))
        start = to_rgb(start, torch.linalg.inv(self.colours))  # the same start, in the decorrelated space
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
        return torch.sigmoid(to_rgb(logits, self.colours))

    def take(self, index: torch.Tensor) -> PixelStack:
        """A copy holding only the solutions at ``index`` (the batch narrowed to what is kept)."""
        new = copy.deepcopy(self)
        new.values.data = new.values.data[index].clone()
        return new


class PhaseStack(ImageParam):
    """MACO: images from a fixed magnitude [C, H, W//2+1] and an optimised phase per image; the
    inverse transform is standardised per image (its scale would otherwise follow the magnitude's
    units), taken to RGB from the decorrelated space and squashed by a sigmoid."""

    magnitude: torch.Tensor
    colours: torch.Tensor

    def __init__(self, magnitude: torch.Tensor, phase: torch.Tensor, width: int) -> None:
        super().__init__()
        self.register_buffer("magnitude", magnitude)
        self.register_buffer("colours", colour_matrix(magnitude.shape[0]))
        self.phase = nn.Parameter(phase.clone())
        self.size = (int(magnitude.shape[1]), width)  # the width: an rfft of W//2+1 bins does not say it

    @classmethod
    def start(cls, count: int, magnitude: torch.Tensor, width: int, generator: torch.Generator) -> PhaseStack:
        """``count`` starts: uniform random phases in (-pi, pi]."""
        phase = (torch.rand(count, *magnitude.shape, generator=generator) * 2 - 1) * math.pi
        return cls(magnitude, phase, width)

    def forward(self) -> torch.Tensor:
        """[N, C, H, W] in [0, 1]."""
        spectrum = torch.polar(self.magnitude.expand_as(self.phase), self.phase)
        logits = torch.fft.irfft2(spectrum, s=self.size)
        flat = logits.flatten(1)
        logits = (logits - flat.mean(1).view(-1, 1, 1, 1)) / (flat.std(1).view(-1, 1, 1, 1) + 1e-8)
        return torch.sigmoid(to_rgb(logits, self.colours) * MACO_CONTRAST)

    def take(self, index: torch.Tensor) -> PhaseStack:
        """A copy holding only the solutions at ``index`` (the batch narrowed to what is kept)."""
        new = copy.deepcopy(self)
        new.phase.data = new.phase.data[index].clone()
        return new


MACO_CONTRAST = 2.0  # standardised logits times this: about 1.7% of the pixels saturate past 0.02 / 0.98


def natural_magnitude(channels: int, size: tuple[int, int], data: np.ndarray | None) -> torch.Tensor:
    """[C, H, W//2+1]: the mean magnitude spectrum of ``data`` (real images [N, C, H, W], each
    less its mean) at ``size``; without data (or of another shape) 1/f, the spectrum natural
    images follow on average. DC is zero (the standardisation removes it anyway)."""
    h, w = size
    if data is not None and data.shape[1:] == (channels, h, w):
        images = torch.from_numpy(np.asarray(data[:512], np.float32))
        images = images - images.mean(dim=(2, 3), keepdim=True)
        magnitude = torch.fft.rfft2(images).abs().mean(0)
    else:
        fy = torch.fft.fftfreq(h)[:, None]
        fx = torch.fft.rfftfreq(w)[None, :]
        magnitude = (1.0 / torch.sqrt(fx * fx + fy * fy).clamp(min=1.0 / max(h, w))).expand(channels, -1, -1).clone()
    magnitude[:, 0, 0] = 0.0
    return magnitude


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


def genome_starts(genome: Genome, count: int, seed: int) -> list[nn.Module]:
    """``count`` starts from a genome: the genome itself, then children with its structure and
    their weights nudged (``graph.evolve.mutate``'s weights, strength ``INIT_STRENGTH``), seeded."""
    from ...graph.evolve import mutate
    from ..genome_torch import GenomeModule

    rng = np.random.default_rng([seed, 5])
    genomes = [genome] + [mutate(genome, rng, "weights", INIT_STRENGTH) for _ in range(count - 1)]
    return [GenomeModule(g) for g in genomes]


def probe_pool(
    settings: DreamSettings,
    channels: int,
    size: tuple[int, int],
    data: np.ndarray | None = None,
    genome: Genome | None = None,
) -> ImageParam:
    """``probe`` random starts of the chosen parameterisation, seeded (``data``: the target's real
    images, whose spectrum is MACO's magnitude; ``genome``: a CPPN start to begin from)."""
    count = settings.probe
    if genome is not None:
        return CPPNStack(genome_starts(genome, count, settings.seed), size[1], size[0])
    if settings.param == "cppn":
        rng = np.random.default_rng([settings.seed, 3])
        scales = rng.choice(CPPN_SCALES, size=count)
        seeds = rng.integers(0, 2**31 - 1, size=count)
        nets: list[nn.Module] = [build_cppn(settings, channels, float(s), int(k)) for s, k in zip(scales, seeds)]
        return CPPNStack(nets, size[1], size[0])
    generator = torch.Generator().manual_seed(settings.seed)
    if settings.param == "maco":
        return PhaseStack.start(count, natural_magnitude(channels, size, data), size[1], generator)
    return PixelStack(multiscale_noise(count, channels, size, generator), fft=settings.param == "fft")
