"""Animations: turn a list of latents into frames, a few frames per onnxruntime call.

Frames are produced one at a time (a generator) so a writer can send each to its file before
the next exists: memory holds one batch of frames, never the animation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..configs.schema import check_param
from ..configs.view import View
from ..errors import ParamError
from ..io.budget import check_budget
from .canvas import Canvas
from .renderer import Renderer

if TYPE_CHECKING:
    from .model import Model

# Frames batched into one onnxruntime call share the coordinate grid and the per-call cost;
# on 2 CPU cores it is a wash above ~0.25 Mpx per frame, and it matters on GPUs and for small
# frames. The budget bounds memory: one batch holds at most this many pixels of output.
BATCH_PIXELS = 1 << 20
MAX_BATCH = 16


def frames_per_call(canvas: Canvas) -> int:
    """Frames per onnxruntime call: up to MAX_BATCH, holding at most BATCH_PIXELS samples."""
    return int(max(1, min(MAX_BATCH, BATCH_PIXELS // max(1, int(canvas.samples())))))


def render_frames(
    model: Model,
    latents: np.ndarray,
    canvas: Canvas,
    batch: int | None = None,
    on_frame: Callable[[int], None] | None = None,
    renderer: Renderer | None = None,
) -> Iterator[np.ndarray]:
    """Yield uint8 frames [H, W, C] of the canvas (see ``Model.canvas``), one per latent in ``latents`` [N, Z].

    A latent equal to the one before it (a held keyframe) reuses that frame instead of
    rendering it again. ``renderer`` (default: this process) renders the batches; a cluster's
    renders them in parallel and hands them back in the same order.
    """
    latents = model.check_z(latents, "the animation's latents")
    if batch is not None:
        check_param("batch", batch)
    batch = batch or frames_per_call(canvas)
    # Render only where the latent changes; holds point back at the frame they repeat.
    fresh = np.ones(len(latents), dtype=bool)
    fresh[1:] = np.any(latents[1:] != latents[:-1], axis=1)
    unique = np.flatnonzero(fresh)
    check_param("supersample", canvas.supersample)
    check_budget(f"{len(unique)} frames of {canvas.width}x{canvas.height}", samples=canvas.samples(len(unique)))
    starts = range(0, len(unique), batch)
    jobs = ((model, latents[unique[start : start + batch]]) for start in starts)
    batches = (renderer or Renderer()).frame_batches(jobs, canvas)
    last: Any = None
    try:
        for start, frames in zip(starts, batches):  # frames: [b, H, W, C] uint8
            todo = unique[start : start + batch]
            stop = unique[start + batch] if start + batch < len(unique) else len(latents)
            for index in range(todo[0], stop):
                if fresh[index]:
                    last = frames[np.searchsorted(todo, index)]
                yield last
                if on_frame is not None:
                    on_frame(1)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # a cluster's renderer cancels the batches still in flight


def palette_sample(
    model: Model, latents: np.ndarray, canvas: Canvas, count: int = 16, size: int = 96
) -> list[np.ndarray]:
    """Small renders of ``count`` latents spread along the path, for a GIF palette shared by all
    frames: a CPPN draws the same picture at any size, so 96 px shows the colours of 4K."""
    scale = min(1.0, size / max(canvas.width, canvas.height))
    small = canvas.resized(max(1, round(canvas.width * scale)), max(1, round(canvas.height * scale)))
    picks = latents[np.unique(np.linspace(0, len(latents) - 1, count).round().astype(int))]
    return list(render_frames(model, picks, small))


def morph_frames(
    model: Model,
    keyframes: np.ndarray | None = None,
    width: int = 512,
    height: int = 512,
    *,
    frames: int = 30,
    hold: int = 0,
    loop: bool = False,
    ease: str = "smooth",
    path: str = "slerp",
    view: View = View(),
    supersample: int = 1,
    chunk: int | None = None,
    batch: int | None = None,
    on_frame: Callable[[int], None] | None = None,
    renderer: Renderer | None = None,
) -> Iterator[np.ndarray]:
    """The uint8 frames [H, W, C] of a morph, streamed one at a time: of a ``MorphRequest`` (the
    frames ``save_morph`` writes), or, in the loose form, of ``model`` through ``keyframes`` [K, Z]
    (see ``latent.paths.plan_path`` for the frame count)."""
    from .request import MorphRequest

    if isinstance(model, MorphRequest):
        request = model
    else:
        if keyframes is None:
            raise ParamError("keyframes", "must be given with a model (or pass a MorphRequest)")
        canvas = model.canvas(width, height, view, supersample, chunk)  # one chunk, so a cluster's workers match
        request = MorphRequest(model, keyframes, canvas, frames, hold, loop, ease, path, batch=batch)
    return render_frames(request.model, request.latents(), request.canvas, request.batch, on_frame, renderer)
