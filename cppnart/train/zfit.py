"""``z fit``: optimise latents so a frozen generator draws given images.

"Which z of this net looks most like my photo": gradient descent on the latents alone, the
generator's weights fixed. The glyph post runs the same experiment against a frozen *random*
generator of the same architecture; ``fit_latents`` is run on both so the gap says how much the
training put the targets within the generator's reach.

Generators: a glyph run (its generator), a ganvae run (its CPPN generator), a CPPN preset with
a weight seed (its random network, the numpy weights turned into the torch CPPN), or a genome with
z inputs (a bred picture: its genome file, a PNG whose recipe carries it, a genome model .onnx or a
`train fit --init` run), its z being its ``z`` inputs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..configs.cppn import CPPNConfig
from ..configs.ganvae import GanVaeConfig
from ..configs.glyph import GlyphConfig
from ..configs.presets import load_preset
from ..errors import ParamError, UserError
from ..graph.weights import random_weights
from ..io.budget import check_budget
from .checkpoint import checkpoint_config, load_checkpoint, restore
from .device import allocation_errors
from .models.cppn import CPPN
from .resolve import capped_steps
from .run_folder import CHECKPOINT

if TYPE_CHECKING:
    from ..graph.genome import Genome

MAX_SIZE = 512  # z fit draws every target at this side on every step: larger is hours on a CPU
RANDOM_TWIN_SEED = 1  # a run's twin: a generator of its architecture, freshly initialised from this seed
RANDOM_TWIN_SEED_OFFSET = 1  # a preset's twin: the network of the next weight seed
# Floats a pixel of one start holds for backward, across the generator's layers: a generous bound for
# the CPPN and glyph generators z fit takes (widest hidden layers of 128 to 512 units).
ACTIVATIONS_PER_PIXEL = 1024


@dataclass
class Generator:
    """A frozen generator as z fit sees it: latents [N, Z] -> images [N, C, H, W] at ``size``."""

    draw: Callable[[torch.Tensor], torch.Tensor]
    z_dim: int
    channels: int
    size: int  # the side it draws (its training size; any size for a preset's CPPN)
    name: str


@dataclass(frozen=True)
class LatentFit:
    """What ``fit_latents`` found."""

    z: np.ndarray  # [N, Z] float32
    images: np.ndarray  # [N, H, W, C] in [0, 1], what the generator draws from z
    loss: float  # final mean squared error against the targets
    losses: list[float]  # per step


M = TypeVar("M", bound=nn.Module)


def _frozen(module: M) -> M:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def _cppn_generator(net: CPPN, size: int, name: str) -> Generator:
    net = _frozen(net)
    assert net.z_in is not None
    return Generator(lambda z: net.images(z, size, size), net.z_in.in_features, net.out.out_features, size, name)


def _run_generators(run: Path, size: int | None) -> tuple[Generator, Generator]:
    from .models.ganvae import build_generator as build_ganvae_generator
    from .models.glyph import build_generator as build_glyph_generator

    path = run / CHECKPOINT if run.is_dir() else run
    payload = load_checkpoint(path)
    kind = payload["config"].get("kind")
    config: GlyphConfig | GanVaeConfig
    build: Callable[[], nn.Module]  # a fresh generator of the run's architecture
    if kind == "glyph":
        glyph: GlyphConfig = checkpoint_config(payload, GlyphConfig, str(path))
        config, z_dim, native = glyph, glyph.message_size, glyph.image_size
        build = functools.partial(build_glyph_generator, glyph)
    elif kind == "ganvae":
        ganvae: GanVaeConfig = checkpoint_config(payload, GanVaeConfig, str(path))
        config, z_dim, native = ganvae, ganvae.z_dim, ganvae.crop
        build = functools.partial(build_ganvae_generator, ganvae)
    else:
        raise UserError(f"'{run}' is a '{kind}' run; z fit needs a glyph or ganvae run, or a CPPN preset")
    trained = build()
    restore(payload, states={"generator": trained}, where=str(path), rng=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_TWIN_SEED)
        untrained = build()
    if isinstance(trained, CPPN) and isinstance(untrained, CPPN):
        side = native if size is None else size
        return _cppn_generator(trained, side, f"{run}"), _cppn_generator(untrained, side, f"{run} (untrained)")
    if size not in (None, native):
        raise ParamError("size", f"this conv generator draws {native}x{native} only, got {size}")
    trained, untrained = _frozen(trained), _frozen(untrained)
    return (
        Generator(trained, z_dim, config.channels, native, str(run)),
        Generator(untrained, z_dim, config.channels, native, f"{run} (untrained)"),
    )


def _genome_of(path: Path) -> Genome | None:
    """The genome ``path`` holds: a genome file, a PNG whose recipe carries one, a genome model
    .onnx, or a run folder with the genome a `train fit --init` run exported; else None."""
    from ..graph.genome_io import is_genome_path
    from ..render.genome_morph import genome_of_file
    from .fit import FITTED_GENOME

    if path.is_dir():
        path = path / FITTED_GENOME
        return genome_of_file(path) if path.is_file() else None
    if path.suffix.lower() == ".onnx" and path.is_file():
        from ..render.model import load_model

        return load_model(path, device="cpu").genome
    return genome_of_file(path) if path.suffix.lower() == ".png" or is_genome_path(str(path)) else None


def _genome_generators(genome: Genome, source: str, seed: int, size: int) -> tuple[Generator, Generator]:
    """The genome drawing from its z inputs, and its twin: the same graph with every link's weight
    drawn afresh (normal, as spread as the genome's own), from weight seed ``seed + 1``."""
    from dataclasses import replace

    from .genome_torch import GenomeModule
    from .models.cppn import pixel_coords

    if genome.z_inputs == 0:
        raise UserError(f"the genome of '{source}' has no z inputs: there is no latent to fit")
    weights = np.array([k.weight for k in genome.links])
    spread = max(0.5, float(weights.std()) if len(weights) else 1.0)
    rng = np.random.default_rng(seed + RANDOM_TWIN_SEED_OFFSET)
    twin = genome.with_links(replace(k, weight=float(rng.normal(0, spread))) for k in genome.links)
    coords = pixel_coords(size, size)

    def generator(g: Genome, name: str) -> Generator:
        net = _frozen(GenomeModule(g))
        draw = lambda z: net(coords, z).reshape(len(z), size, size, g.channels).permute(0, 3, 1, 2)
        return Generator(draw, g.z_inputs, g.channels, size, name)

    return generator(genome, source), generator(twin, f"{source} (weights of seed {seed + RANDOM_TWIN_SEED_OFFSET})")


def load_generators(model: str | Path, seed: int = 0, size: int | None = None) -> tuple[Generator, Generator]:
    """The generator ``model`` names and its frozen random twin of the same architecture.

    ``model``: a glyph or ganvae run folder (or its checkpoint.pt): the twin is a freshly
    initialised generator of the run's architecture. A CPPN preset: the network of weight seed
    ``seed``, the twin another seed's. A genome with z inputs (see ``_genome_of``): the twin is its
    graph with weights drawn from seed ``seed + 1``.
    """
    if size is not None and not 1 <= size <= MAX_SIZE:
        raise ParamError("size", f"must be between 1 and {MAX_SIZE} pixels, got {size}")
    path = Path(model)
    genome = _genome_of(path)
    if genome is not None:
        return _genome_generators(genome, str(model), seed, 64 if size is None else size)
    if path.is_dir() or path.suffix == ".pt":
        return _run_generators(path, size)
    config = load_preset(str(model))
    if not isinstance(config, CPPNConfig):
        raise UserError(f"preset '{model}' is a training recipe; train it and pass the run folder")
    side = 64 if size is None else size
    nets = [CPPN.from_weights(random_weights(config, s)) for s in (seed, seed + RANDOM_TWIN_SEED_OFFSET)]
    return (
        _cppn_generator(nets[0], side, f"{model} --seed {seed}"),
        _cppn_generator(nets[1], side, f"{model} --seed {seed + RANDOM_TWIN_SEED_OFFSET}"),
    )


def fit_latents(
    generator: Generator,
    targets: np.ndarray,
    steps: int = 300,
    lr: float = 0.05,
    prior: float = 1e-3,
    seed: int = 0,
    restarts: int = 4,
    on_step: Callable[[int, float], None] | None = None,
) -> LatentFit:
    """Latents that make ``generator`` draw ``targets`` [N, C, H, W] (at its size) most closely.

    Adam on z alone; ``prior`` weights a pull towards N(0, I) so z stays where the generator was
    trained (and renders sensibly elsewhere); ``restarts`` random starts per target, the best kept,
    because a CPPN's loss surface in z has many basins. ``on_step(step, loss)`` after every step
    (steps done, the best restarts' mean MSE), for a front end's progress.
    """
    for name, value in (("steps", steps), ("restarts", restarts)):
        if value < 1:
            raise ParamError(name, f"must be at least 1, got {value}")
    steps = capped_steps(steps)  # CPPNART_TEST_STEPS, for tests
    if not (math.isfinite(lr) and lr > 0):
        raise ParamError("lr", f"must be a positive number, got {lr}")
    want = torch.as_tensor(targets, dtype=torch.float32)
    if want.ndim != 4 or want.shape[1] != generator.channels or want.shape[2:] != (generator.size,) * 2:
        raise ParamError(
            "targets",
            f"must be [N, {generator.channels}, {generator.size}, {generator.size}], got {tuple(want.shape)}",
        )
    n = want.shape[0]
    # Sized before torch allocates: every start draws a whole image, and backward keeps each layer's
    # activations (up to ACTIVATIONS_PER_PIXEL floats a pixel); torch's own failure is one line too.
    per_start = float(generator.size) ** 2 * (generator.channels + ACTIVATIONS_PER_PIXEL) * 4
    what = f"z fit of {n} image(s) x {restarts} start(s) at {generator.size}x{generator.size}"
    check_budget(what, memory=restarts * n * per_start)
    gen = torch.Generator().manual_seed(seed)
    z = (0.5 * torch.randn(restarts * n, generator.z_dim, generator=gen)).requires_grad_(True)
    goal = want.repeat(restarts, 1, 1, 1)
    optimiser = torch.optim.Adam([z], lr=lr)
    losses = []
    with allocation_errors(what):
        for step in range(steps):
            optimiser.zero_grad()
            per_image = F.mse_loss(generator.draw(z), goal, reduction="none").mean(dim=(1, 2, 3))
            loss = per_image.mean() + prior * (z**2).mean()
            loss.backward()
            optimiser.step()
            losses.append(float(per_image.detach().view(restarts, n).min(0).values.mean()))
            if on_step is not None:
                on_step(step + 1, losses[-1])
        with torch.no_grad():
            drawn = generator.draw(z)
            errors = F.mse_loss(drawn, goal, reduction="none").mean(dim=(1, 2, 3)).view(restarts, n)
    best = errors.argmin(0)
    pick = best * n + torch.arange(n)
    images = drawn[pick].permute(0, 2, 3, 1).clamp(0, 1).numpy()
    return LatentFit(z[pick].detach().numpy().astype(np.float32), images, float(errors.min(0).values.mean()), losses)
