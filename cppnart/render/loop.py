"""Seamless loops: ``LoopRequest``, ``resolve_loop``, ``loop_frames`` and ``save_loop``.

A loop walks a closed curve through latent space at constant speed (``latent.loops``), so the
frame after the last is the first; or, with ``time``, it holds the latent and shifts the
coordinates of a seamless tile by one period in x and y, so the picture drifts and comes back.
With ``audio`` the pace follows the song's onsets and the sound is muxed into the MP4::

    request = resolve_loop("classic", seed=7, seconds=8, fps=30)
    save_loop(request, "loop.webp")

Frames are streamed into the file (memory holds one batch), which appears only when complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Unpack

import numpy as np

from ..configs.schema import Range, check_param
from ..configs.view import View
from ..errors import ParamError, UserError
from ..io.audio import AudioTiming
from ..io.metadata import morph_recipe
from .canvas import Canvas
from .model import Model
from .renderer import Renderer
from .request import (
    CanvasArgs,
    MorphRequest,
    PictureRequest,
    check_animation_work,
    check_gif_palette,
    resolve_canvas,
    resolve_model,
    resolve_seed,
    resolve_tile,
    split_canvas_args,
)

DEFAULT_SECONDS = 8.0
DEFAULT_FPS = 30.0
DEFAULT_LOOP_RES = (512, 512)
MAX_LOOP_FRAMES = 1_000_000  # two hours at 120 fps
LOOP_RANGES = {
    "seconds": Range(0.01, 7200.0, "seconds of animation; every frame is rendered"),
    "laps": Range(1, 1000, "times round the loop in one file"),
}
# With music, frames with no onset still creep at this fraction of the clip's mean pace, so a
# quiet bridge drifts instead of freezing; a silent clip has no pace at all and stays still.
QUIET_PACE = 0.05


@dataclass(frozen=True, eq=False)
class LoopRequest:
    """A loop of ``frames`` frames at ``fps`` of one model on one canvas. The curve is drawn from
    ``seed`` (a great circle or a box curve, by the model's prior) or passes ``through`` [K, Z];
    with ``time`` the latent ``z`` is held and the tile's coordinates go round instead. ``audio``
    times the pace (and is muxed into an MP4); ``laps`` is how often the file goes round."""

    model: Model
    canvas: Canvas
    frames: int
    fps: float = DEFAULT_FPS
    seed: int = 0
    through: np.ndarray | None = None
    time: bool = False
    z: np.ndarray | None = None
    audio: AudioTiming | None = None
    laps: int = 1
    batch: int | None = None
    gif_palette: str = field(default="")

    def __post_init__(self) -> None:
        check_param("fps", self.fps)
        check_param("frames", self.frames, Range(1, MAX_LOOP_FRAMES, "frames of a loop; each one is rendered"))
        check_param("laps", self.laps, LOOP_RANGES["laps"])
        if self.batch is not None:
            check_param("batch", self.batch)
        if self.through is not None:
            object.__setattr__(self, "through", self.model.check_z(np.asarray(self.through), "the loop's latents"))
        if self.time:
            if not self.model.metadata.get("tile"):
                raise ParamError("time", "loops the coordinates of a seamless tile: ask for tile=True too")
            z = self.z if self.z is not None else self.model.sample_z(self.seed)
            object.__setattr__(self, "z", self.model.check_z(np.asarray(z), "z")[:1])
        object.__setattr__(self, "gif_palette", check_gif_palette(self.gif_palette))

    @property
    def frame_count(self) -> int:
        """Frames in the file: ``frames`` (the name every animation request shares)."""
        return self.frames

    @property
    def curve_name(self) -> str:
        """What goes round: 'time' (the coordinates), 'spline' (through latents), 'great-circle' or 'box'."""
        if self.time:
            return "time"
        if self.through is not None:
            return "spline"
        return "great-circle" if self.model.z_prior == "normal" else "box"

    def positions(self) -> np.ndarray:
        """Where along the loop each frame is, in laps from the start [frames]: i / frames x laps at
        constant speed; with audio, the summed pace (onset envelope) up to that frame."""
        if self.audio is None:
            return np.arange(self.frames) * self.laps / self.frames
        envelope = np.asarray(self.audio.envelope[: self.frames], np.float64)
        envelope = np.pad(envelope, (0, self.frames - len(envelope)))
        if envelope.max() <= 0:  # silence: nothing to follow, the picture stays
            return np.zeros(self.frames)
        pace = envelope + QUIET_PACE * envelope.mean()
        return np.concatenate([[0.0], np.cumsum(pace)[:-1]]) / pace.sum() * self.laps

    def latents(self) -> np.ndarray:
        """The latent of every frame [frames, Z]."""
        from ..latent.loops import loop_curve, loop_path

        if self.time:
            return np.repeat(self.z, self.frames, axis=0)  # type: ignore[arg-type]
        curve = loop_curve(self.model.z_dim, self.seed, self.model.z_prior, self.through)
        return loop_path(curve, self.frames, self.positions() % 1.0)

    def canvases(self) -> Iterator[Canvas]:
        """With ``time``, each frame's canvas: the view's centre moved by one period in x and y per lap."""
        from .seamless import periods_of

        px, py = periods_of(self.canvas)
        cx, cy = self.canvas.view.center
        for phase in self.positions() % 1.0:
            view = View(self.canvas.view.zoom, (cx + px * phase, cy + py * phase))
            yield replace(self.canvas, view=view)

    def frame_canvases(self) -> list[Canvas]:
        """The canvas of every frame: with ``time`` each its own (``canvases``), else the request's."""
        return list(self.canvases()) if self.time else [self.canvas] * self.frames

    def frame_stream(self, on_frame: Callable[[int], None] | None, renderer: Renderer | None) -> Iterator[np.ndarray]:
        """The uint8 frames [H, W, C] of the loop, streamed one batch at a time (``loop_frames``)."""
        from .frames import render_frames

        if self.time:  # one latent, each frame its own shifted canvas
            return _time_frames(self, on_frame, renderer or Renderer())
        return render_frames(self.model, self.latents(), self.canvas, self.batch, on_frame, renderer)

    def recipe(self) -> dict[str, Any]:
        """The recipe the file carries: a morph recipe (model, view, first latent) plus ``cycle``."""
        keys = self.through if self.through is not None else self.z if self.time else None
        keys = keys if keys is not None else self.latents()[:1]
        cycle = {
            "curve": self.curve_name,
            "seed": self.seed,
            "frames": self.frames,
            "laps": self.laps,
            "through": self.through is not None,
            "time": self.time,
        }
        options: dict[str, Any] = {"fps": self.fps, "cycle": cycle}
        if self.audio is not None:
            options["audio"] = self.audio.recipe()
        return morph_recipe(self.model, keys, self.canvas, options)

    def check_output(self, out: str | Path, force: bool = False) -> str:
        """Before any frame: the output's kind and limits, the work within budget, no different
        animation replaced unless ``force``, and sound only into an MP4. Returns the kind."""
        from ..io.animation import check_animation_output

        kind = check_animation_output(out, self.canvas.width, self.canvas.height, self.fps)
        if self.audio is not None and kind != "mp4":
            raise UserError(
                f"sound goes into an MP4 only; write '{Path(out).with_suffix('.mp4')}' (GIF and WebP are silent)"
            )
        check_animation_work(out, kind, self.canvas, self.frames, self.recipe, force)
        return kind


def _cycle_of(recipe: dict[str, Any], where: str) -> dict[str, Any]:
    """A recipe's ``cycle`` table, checked (untrusted input)."""
    cycle = recipe.get("cycle") or {}
    if not isinstance(cycle, dict):
        raise UserError(f"{where}: 'cycle' must be a table")
    for key, high in (("seed", 2**63 - 1), ("frames", MAX_LOOP_FRAMES), ("laps", 1000)):
        value = cycle.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high):
            raise UserError(f"{where}: 'cycle.{key}' must be a whole number from 0 to {high}")
    return cycle


def _recipe_latents(recipe: dict[str, Any]) -> np.ndarray:
    """A recipe's keyframes as an array [K, Z]; a ragged or non-numeric list is a one-line error."""
    try:
        keys = np.asarray(recipe["keyframes"], np.float32)
    except (TypeError, ValueError):
        raise UserError("the recipe's keyframes are damaged") from None
    if keys.ndim != 2 or not np.isfinite(keys).all():
        raise UserError("the recipe's keyframes are damaged")
    return keys


class LoopArgs(CanvasArgs, total=False):
    """``resolve_loop``'s keyword options: the canvas, and the ``LoopRequest`` fields it passes on."""

    batch: int | None
    gif_palette: str


def resolve_loop(
    model: str | Path | Model | None = None,
    *,
    recipe: dict[str, Any] | None = None,
    seed: int | None = None,
    through: Sequence[str | Path] | np.ndarray | None = None,
    seconds: float | None = None,
    fps: float | None = None,
    time: bool | None = None,
    audio: str | Path | None = None,
    laps: int | None = None,
    device: str = "auto",
    **options: Unpack[LoopArgs],
) -> LoopRequest:
    """The loop these arguments ask for, each one given, else the ``recipe``'s (a checked ``--from``
    recipe), else the defaults (8 s at 30 fps, 512x512, a curve drawn from ``seed``). ``through``
    are latent files or an array [K, Z]; ``time`` implies ``tile``; ``audio`` (a WAV, FLAC, MP3 ...)
    sets the length (its first ``seconds`` when given) and the pace. ``options`` are ``LoopArgs``:
    the canvas (``render.request.CanvasArgs``), batch and gif_palette."""
    from ..io.audio import analyse_audio, timing_from_recipe
    from ..latent.files import read_latents

    recipe = recipe or {}
    asked, output = split_canvas_args(options)
    cycle = _cycle_of(recipe, "the recipe")
    chosen = resolve_seed(recipe, seed)  # a preset's weights, and the curve's unless the recipe has one
    net = resolve_model(model, recipe, chosen, device)
    loop_seed = int(seed if seed is not None else cycle.get("seed", chosen))
    fps = float(fps if fps is not None else recipe.get("fps", DEFAULT_FPS))
    check_param("fps", fps)
    if seconds is not None:
        check_param("seconds", seconds, LOOP_RANGES["seconds"])
    timing = None
    if audio is not None:
        timing = analyse_audio(audio, fps, seconds)
    elif recipe.get("audio") is not None and seconds is None:
        timing = timing_from_recipe(recipe["audio"], "the recipe")
    if timing is not None:
        frames = timing.frames
    elif seconds is not None:
        frames = max(1, int(round(seconds * fps)))
    else:
        frames = int(cycle.get("frames") or round(DEFAULT_SECONDS * fps))
    keys = None
    if isinstance(through, np.ndarray):
        keys = through
    elif through:
        keys = np.concatenate([read_latents(k, net.z_dim) for k in through])
    elif cycle.get("through") and recipe.get("keyframes"):
        keys = _recipe_latents(recipe)
    looping_time = bool(time if time is not None else cycle.get("time", False))
    res = asked.get("res")
    width, height = res if res is not None else tuple(recipe.get("res") or DEFAULT_LOOP_RES)
    canvas = resolve_canvas(net, int(width), int(height), recipe, asked)
    net = resolve_tile(net, canvas, True if looping_time else asked.get("tile"), recipe)
    z = _recipe_latents(recipe)[:1] if looping_time and recipe.get("keyframes") else None
    return LoopRequest(
        net, canvas, frames, fps, loop_seed, keys, looping_time, z, timing,
        int(laps if laps is not None else cycle.get("laps", 1)), **output,
    )  # fmt: skip


def loop_frames(
    request: LoopRequest, on_frame: Callable[[int], None] | None = None, renderer: Renderer | None = None
) -> Iterator[np.ndarray]:
    """The uint8 frames [H, W, C] of a loop, streamed one batch at a time."""
    return request.frame_stream(on_frame, renderer)


def _time_frames(
    request: LoopRequest, on_frame: Callable[[int], None] | None, renderer: Renderer
) -> Iterator[np.ndarray]:
    """Frames of a coordinate loop: one latent, each frame its own shifted canvas."""
    z = request.z
    assert z is not None
    for canvas in request.canvases():
        batch = next(iter(renderer.frame_batches([(request.model, z)], canvas)))
        yield batch[0]
        if on_frame is not None:
            on_frame(1)


def save_loop(
    request: LoopRequest | MorphRequest,
    out: str | Path,
    renderer: Renderer | None = None,
    on_frame: Callable[[int], None] | None = None,
    force: bool = False,
) -> Path:
    """Render every frame of ``request`` (a loop, or a morph: ``render.morph.save_morph`` is this
    function) into ``out`` (.gif, .mp4, .webp, or a new folder of numbered PNGs, each carrying its
    own recipe), with the request's recipe in the file. Everything that can fail about the output
    is checked before the first frame; a different animation already at ``out`` is refused unless
    ``force``. ``renderer`` as for ``save_poster``. A request with ``audio``
    (``resolve_morph(..., audio="song.wav")``) moves with the song, and the MP4 carries its sound,
    as long as the video."""
    from ..io.animation import save_animation
    from ..io.metadata import animation_comment, png_text
    from .frames import palette_sample, render_frames

    kind = request.check_output(out, force)
    latents = request.latents()
    canvas = request.canvas
    canvases = request.frame_canvases() if kind == "frames" else []  # a time loop's frames have their own view

    def frame_text(i: int) -> dict[str, str]:  # every PNG frame can be re-rendered with --from
        return png_text(PictureRequest(request.model, latents[i], canvases[i], 8, None).recipe())

    if isinstance(request, LoopRequest):
        frames = request.frame_stream(on_frame, renderer)
    else:
        frames = render_frames(request.model, latents, canvas, request.batch, on_frame=on_frame, renderer=renderer)
    # Files always repeat; a morph's ``loop`` shapes the path so that the repeat is seamless.
    return save_animation(
        out,
        frames,
        canvas.width,
        canvas.height,
        request.model.channels,
        request.fps,
        loop=True,
        comment=animation_comment(request.recipe()),
        frame_text=frame_text if kind == "frames" else None,
        frame_count=request.frame_count,
        gif_strategy=request.gif_palette,
        palette_sample=lambda: palette_sample(request.model, latents, canvas),
        audio=request.audio,
    )
