"""``save_morph``: a morph request streamed frame by frame into a GIF, MP4, WebP or PNG folder.

The CLI's `cppnart morph` and a notebook's ``cppnart.save_morph`` are this one function, so they
write the same file byte for byte; it is ``render.loop.save_loop`` too, the one writer of latent
animations (a ``MorphRequest`` answers ``check_output``, ``latents`` and ``frame_canvases`` as a
``LoopRequest`` does)::

    request = resolve_morph(["a.npy", "b.npy"], "classic", seed=7, frames=24, loop=True)
    save_morph(request, "out.gif")

Memory holds one batch of frames, never the animation; the file appears only when complete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from ..io.animation import save_animation
from ..io.metadata import animation_comment, png_text, weight_morph_recipe
from .loop import save_loop

if TYPE_CHECKING:
    from .genome_morph import GenomeMorphRequest
    from .weight_morph import WeightMorphPlan


# A morph is written as a loop is: one writer for every latent animation request.
save_morph = save_loop


def save_weight_morph(
    weights: list[Any],
    keyframes: Sequence[str | Path],
    out: str | Path,
    width: int,
    height: int,
    *,
    fps: float = 25.0,
    device: str = "auto",
    gif_palette: str | None = None,
    on_frame: Callable[[int], None] | None = None,
    **plan: Unpack[WeightMorphPlan],
) -> Path:
    """A morph between CPPN run folders (``keyframes``, whose ``weights`` are mixed frame by frame:
    ``render.weight_morph``, along ``plan``: ``WeightMorphPlan``) streamed into ``out``, carrying its recipe."""
    from ..io.animation import GIF_DEFAULT_STRATEGY, check_animation_output
    from ..latent.paths import path_length
    from .weight_morph import weight_morph_frames, weight_morph_plan

    path = weight_morph_plan("save_weight_morph", plan)
    check_animation_output(out, width, height, fps)
    options = {**path, "fps": fps, "res": [width, height]}
    recipe = weight_morph_recipe([str(k) for k in keyframes], options)
    stream = weight_morph_frames(weights, width, height, device=device, on_frame=on_frame, **path)
    return save_animation(
        out,
        stream,
        width,
        height,
        weights[0].channels,
        fps,
        loop=True,
        comment=animation_comment(recipe, compact=False),
        frame_count=path_length(len(weights), path["frames"], path["hold"], path["loop"]),
        gif_strategy=gif_palette or GIF_DEFAULT_STRATEGY,
    )


def save_genome_morph(
    request: GenomeMorphRequest,
    out: str | Path,
    on_frame: Callable[[int], None] | None = None,
    force: bool = False,
) -> Path:
    """A morph between bred pictures by their genomes (``render.genome_morph.resolve_genome_morph``)
    streamed into ``out`` (.gif, .mp4, .webp or a new folder of PNGs), carrying its recipe: every
    frame the two keyframe genomes it lies between mixed by ``graph.evolve.lerp_genomes``. A
    different animation already at ``out`` is refused unless ``force``."""
    from ..io.animation import GIF_DEFAULT_STRATEGY

    kind = request.check_output(out, force)

    def frame_text(i: int) -> dict[str, str]:  # every PNG frame can be re-rendered with --from
        return png_text(request.frame_recipe(i))

    return save_animation(
        out,
        request.frames_stream(on_frame),
        request.width,
        request.height,
        request.channels,
        request.fps,
        loop=True,
        comment=animation_comment(request.recipe()),
        frame_text=frame_text if kind == "frames" else None,
        frame_count=request.frame_count,
        gif_strategy=request.gif_palette or GIF_DEFAULT_STRATEGY,
    )
