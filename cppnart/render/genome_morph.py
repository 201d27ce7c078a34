"""Morph between bred pictures by their genomes: every frame is ``graph.evolve.lerp_genomes`` of
the two keyframe genomes it lies between, compiled to ONNX and rendered like any genome model.

    request = resolve_genome_morph(["a.genome.json", "b.png"], 256, 256, frames=48, loop=True)
    save_genome_morph(request, "out.gif")          # render.morph

A keyframe is a genome file (.genome.json, Picbreeder .xml/.zip) or a PNG whose recipe carries a
genome (what `cppnart render` of a genome writes). The graphs align by innovation number; a link
only one genome has fades in or out, so the first and last frames are exactly their genomes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParamError, UserError
from ..graph.evolve import lerp_genomes
from ..graph.genome import Genome, genome_from_dict, genome_to_dict
from ..graph.genome_io import is_genome_path
from ..io.png import quantize
from ..latent.paths import EASINGS, path_length


def genome_of_file(path: str | Path) -> Genome | None:
    """The genome of a file: a genome file's, or the one a PNG's recipe carries (with the recipe's z
    as its own); None otherwise (a .npy latent, a PNG of another model, a run folder)."""
    from ..graph.genome_io import read_genome
    from ..io.metadata import read_recipe

    path = Path(path)
    if not path.is_file():
        return None
    if path.suffix.lower() == ".png":
        try:
            recipe = read_recipe(path)
        except UserError:  # not a picture cppnart made: the latent morph says what is wrong
            return None
        if not isinstance(recipe.get("genome"), dict):
            return None
        genome = genome_from_dict(recipe["genome"], f"the genome in '{path}'")
        z = recipe.get("z")
        if genome.z_inputs and isinstance(z, list) and len(z) >= genome.z_inputs:
            try:  # the picture is the genome at the recipe's z (a --z render moves a genome's own)
                genome = replace(genome, z=tuple(float(v) for v in z[: genome.z_inputs]))
            except (TypeError, ValueError):
                raise UserError(f"the recipe in '{path}' has a damaged 'z'") from None
        return genome
    return read_genome(path) if is_genome_path(str(path)) else None


def genomes_of_keyframes(paths: Sequence[str | Path]) -> list[Genome] | None:
    """The keyframes' genomes when every keyframe is a genome (file or PNG carrying one), else None."""
    if not paths or not all(Path(p).is_file() for p in paths):
        return None
    genomes = []
    for path in paths:
        genome = genome_of_file(path)
        if genome is None:
            return None
        genomes.append(genome)
    return genomes


@dataclass(frozen=True)
class GenomeMorphRequest:
    """A morph through keyframe ``genomes`` (read from ``sources``) on a ``width`` x ``height``
    canvas, with the path's plan (``frames`` per transition, ``hold``, ``loop``, ``ease``) and ``fps``."""

    genomes: tuple[Genome, ...]
    sources: tuple[str, ...]
    width: int
    height: int
    frames: int = 30
    hold: int = 0
    loop: bool = False
    ease: str = "smooth"
    fps: float = 25.0
    device: str = "auto"
    gif_palette: str | None = None

    @property
    def frame_count(self) -> int:
        """Frames in the file (transitions, holds and the loop's way back)."""
        return path_length(len(self.genomes), self.frames, self.hold, self.loop)

    @property
    def channels(self) -> int:
        """1 for grey genomes, 3 for colour (every keyframe has the same outputs: lerp_genomes checks)."""
        return self.genomes[0].channels

    def recipe(self) -> dict[str, Any]:
        """What the animation carries: the keyframe files under ``genomes``, the path's options, and
        the first keyframe as a render recipe (its genome inline), so ``--from`` draws it again."""
        from ..io.metadata import genome_morph_recipe

        options = {
            "frames": self.frames,
            "hold": self.hold,
            "loop": self.loop,
            "ease": self.ease,
            "fps": self.fps,
            "res": [self.width, self.height],
        }
        return genome_morph_recipe(list(self.sources), options, genome_to_dict(self.genomes[0]))

    def check_output(self, out: str | Path, force: bool = False) -> str:
        """Before any frame: the output's kind and limits, the work and the file within budget, and
        no different animation replaced unless ``force``. Returns the kind (gif, mp4, webp, frames)."""
        from ..io.animation import check_animation_output
        from ..io.budget import check_budget
        from ..io.metadata import read_animation_recipe
        from ..io.names import refuse_replacing
        from .request import ANIMATION_BEST_RATIO

        kind = check_animation_output(out, self.width, self.height, self.fps)
        total = float(self.frame_count) * self.width * self.height
        check_budget(
            f"{self.frame_count} frames of {self.width}x{self.height}",
            samples=total,
            output=(total * 3 / ANIMATION_BEST_RATIO[kind], out),
        )
        if kind != "frames":  # a frame folder must be new or empty already
            refuse_replacing(out, lambda: read_animation_recipe(out) == self.recipe(), force)
        return kind

    @cached_property
    def steps(self) -> list[tuple[int, int, float]]:
        """Each frame as (keyframe a, keyframe b, t): ``plan_path``'s timing (transitions of
        ``frames`` counting their start, ``hold`` repeats, ``loop`` heading back to the first
        keyframe one step short), kept as pairs so the way back mixes the last and first genomes."""
        from ..latent.paths import ease

        count = len(self.genomes)
        stops = list(range(count)) + ([0] if self.loop else [])
        weights = ease(self.ease, np.arange(self.frames) / self.frames)
        steps: list[tuple[int, int, float]] = []
        for a, b in zip(stops, stops[1:]):
            steps += [(a, a, 0.0)] * self.hold + [(a, b, float(w)) for w in weights]
        if not self.loop:
            steps += [(count - 1, count - 1, 0.0)] * (self.hold + 1)
        assert len(steps) == self.frame_count
        return steps

    def genome_at(self, a: int, b: int, t: float) -> Genome:
        """The genome ``t`` of the way from keyframe ``a`` to keyframe ``b``."""
        return lerp_genomes(self.genomes[a], self.genomes[b], t)

    def frame_recipe(self, index: int) -> dict[str, Any]:
        """The render recipe of frame ``index`` (its mixed genome inline): what each PNG of a frame
        folder carries, so ``render --from frame.png`` draws that frame again."""
        from ..configs.view import View
        from ..io.metadata import make_recipe
        from .model import model_from_genome

        genome = self.genome_at(*self.steps[index])
        z = np.asarray(genome.z or [0.0] * genome.z_dim, np.float32)
        return make_recipe(model_from_genome(genome, "genome morph"), z, self.width, self.height, View(), 1, 8)

    def frames_stream(self, on_frame: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
        """uint8 frames [H, W, C], one mixed genome at a time (memory holds one frame)."""
        from .model import model_from_genome

        for a, b, t in self.steps:
            genome = self.genome_at(a, b, t)
            model = model_from_genome(genome, "genome morph", self.device)
            z = np.asarray([genome.z or [0.0] * genome.z_dim], np.float32)
            yield quantize(model.render(z, self.width, self.height)[None])[0]
            if on_frame is not None:
                on_frame(1)


def resolve_genome_morph(
    keyframes: Sequence[str | Path],
    width: int,
    height: int,
    genomes: Sequence[Genome] | None = None,
    **plan: Any,
) -> GenomeMorphRequest:
    """The request for a genome morph through ``keyframes`` (their ``genomes`` when already read),
    every pair checked to align (``lerp_genomes``' one-line error otherwise) before any frame."""
    if genomes is None:
        genomes = genomes_of_keyframes(keyframes)
        if genomes is None:
            raise UserError("every keyframe of a genome morph must be a genome file or a PNG whose recipe has one")
    if len(genomes) < 2:
        raise UserError("a genome morph needs at least two keyframe genomes")
    frames = plan.get("frames", 30)
    if isinstance(frames, bool) or not isinstance(frames, int) or not 1 <= frames <= 100_000:
        raise ParamError("frames", f"must be an integer from 1 to 100000, got {frames!r}")
    hold = plan.get("hold", 0)
    if isinstance(hold, bool) or not isinstance(hold, int) or not 0 <= hold <= 100_000:
        raise ParamError("hold", f"must be an integer from 0 to 100000, got {hold!r}")
    if plan.get("ease", "smooth") not in EASINGS:
        raise UserError(f"unknown easing '{plan['ease']}'; choose {', '.join(EASINGS)}")
    request = GenomeMorphRequest(tuple(genomes), tuple(str(k) for k in keyframes), width, height, **plan)
    pairs = list(zip(request.genomes, request.genomes[1:]))
    if request.loop:
        pairs.append((request.genomes[-1], request.genomes[0]))
    for a, b in pairs:
        lerp_genomes(a, b, 0.5)  # raises the one-line 'not aligned' error before any output exists
    return request
