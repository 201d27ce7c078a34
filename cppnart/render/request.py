"""One picture asked for, resolved once: ``PictureRequest``, and ``MorphRequest`` for an animation.

Every front end asks for pictures the same way. The CLI's options, the viewer's query and a
notebook's arguments become a request through ``resolve_picture`` / ``resolve_morph``, which apply
the one precedence rule: what was asked, then the ``--from`` recipe's, then the defaults. The
request then makes its recipe, its default file name and its budget and free-space checks, once,
so the three front ends give the same bytes and the same name for the same picture::

    request = resolve_picture("classic", seed=7, res=(2880, 1800))
    save_poster(request, request.default_name())          # classic-7-2880x1800.png

A request is a frozen value: the renderers (here or on a cluster) only ever read it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack, cast

import numpy as np

from ..configs.choices import GIF_DEFAULT_STRATEGY, GIF_STRATEGIES
from ..configs.presets import DEFAULT_PRESET
from ..configs.schema import Range, check_param
from ..configs.view import View
from ..errors import ParamError, UserError
from ..io.budget import check_budget
from ..io.metadata import make_recipe, morph_recipe
from ..io.names import check_replace, recipe_name, refuse_replacing
from .canvas import Canvas
from .model import Model, draw_seed, load_model, model_from_recipe

DEFAULT_RES = (1024, 1024)  # a poster's size when neither the options nor a recipe give one
DEFAULT_MORPH_RES = (512, 512)
MAX_CELLS = 1024  # cells of one contact sheet: each is rendered and held until the sheet is laid out
BIT_DEPTHS = (8, 16)
# PNGs of CPPN art deflate to between a half and a twentieth of their raw size: a poster is
# refused up front only when even the smallest of these cannot fit in its folder.
PNG_BEST_RATIO = 20
# Animation sizes at the best compression CPPN morphs see: refused only when clearly too big.
ANIMATION_BEST_RATIO = {"mp4": 400, "gif": 12, "webp": 40, "frames": 20}


def check_poster_space(width: int, height: int, channels: int, bits: int, path: str | Path) -> None:
    """Refuse a poster whose smallest plausible PNG exceeds the free space of its folder."""
    raw = float(width) * height * channels * bits / 8
    check_budget(f"a {width}x{height} PNG", output=(raw / PNG_BEST_RATIO, path))


@dataclass(frozen=True, eq=False)
class PictureRequest:
    """One picture: a model, one latent ``z`` [1, Z], a canvas, a PNG bit depth, and the seed that
    drew it (the weights' for a preset, z's for a model file; None when no seed was involved).

    >>> request = resolve_picture("classic", seed=7, res=(64, 48))
    >>> request.default_name()
    PosixPath('classic-7-64x48.png')
    """

    model: Model
    z: np.ndarray
    canvas: Canvas
    bits: int = 8
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.bits not in BIT_DEPTHS:
            raise ParamError("bits", f"must be 8 or 16, got {self.bits}")
        object.__setattr__(self, "z", self.model.check_z(np.asarray(self.z, dtype=np.float32))[:1])

    @property
    def width(self) -> int:
        """Width of the picture in pixels (the canvas's, before any supersampling)."""
        return self.canvas.width

    @property
    def height(self) -> int:
        """Height of the picture in pixels (the canvas's, before any supersampling)."""
        return self.canvas.height

    @property
    def tile(self) -> str | None:
        """How the picture tiles seamlessly ('torus' or 'reflect'), None when it does not."""
        return self.model.metadata.get("tile")

    @property
    def z_from_seed(self) -> bool:
        """The latent is the one ``seed`` draws (so the seed alone names the picture)."""
        return self.seed is not None and np.array_equal(self.z, self.model.sample_z(self.seed))

    def recipe(self) -> dict[str, Any]:
        """What the PNG carries so that ``--from`` renders it again."""
        c = self.canvas
        return make_recipe(self.model, self.z[0], c.width, c.height, c.view, c.supersample, self.bits)

    def default_name(self, suffix: str = ".png") -> Path:
        """``LABEL-SEED-WxH[-DIGEST].png`` (see ``io.names.recipe_name``): the name every front end gives."""
        return recipe_name(self.model.label, self.recipe(), suffix, self.z_from_seed, seed=self.seed)

    def check_output(self, path: str | Path, force: bool = False) -> None:
        """Before any work: the work within budget, the PNG's smallest size within the free space,
        and no different picture replaced unless ``force``."""
        self.canvas.check()
        check_replace(path, self.recipe(), force)
        check_poster_space(self.width, self.height, self.model.channels, self.bits, path)

    def resized(self, width: int, height: int) -> PictureRequest:
        """The same picture at another size (a preview, a pyramid level)."""
        return PictureRequest(self.model, self.z, self.canvas.resized(width, height), self.bits, self.seed)


def resolve_view(
    recipe: dict[str, Any],
    zoom: float | None = None,
    center: Sequence[float] | None = None,
    supersample: int | None = None,
) -> tuple[View, int]:
    """The view and supersampling: what was asked first, then the recipe's, then the defaults."""
    if zoom is not None:
        check_param("zoom", zoom)
    view = View(
        zoom=float(zoom) if zoom is not None else float(recipe.get("zoom", 1.0)),
        center=tuple(center) if center is not None else tuple(recipe.get("center", (0.0, 0.0))),  # type: ignore[arg-type]
    )
    supersample = supersample if supersample is not None else int(recipe.get("supersample", 1))
    check_param("supersample", supersample)
    return view, supersample


class CanvasArgs(TypedDict, total=False):
    """The canvas an animation request is drawn on, as keyword arguments of ``resolve_morph`` and
    ``resolve_loop`` (each left out or None: the recipe's, then the default): its size ``res``, the
    view (``zoom``, ``center``), ``supersample``, ``chunk`` (rows per band) and ``tile``
    (``resolve_tile``). One declaration, so the two resolvers cannot drift apart in what they take."""

    res: tuple[int, int] | None
    zoom: float | None
    center: Sequence[float] | None
    supersample: int | None
    chunk: int | None
    tile: bool | None


def split_canvas_args(options: Mapping[str, Any]) -> tuple[CanvasArgs, dict[str, Any]]:
    """A resolver's keyword ``options`` parted into its ``CanvasArgs`` and the rest (the request's own fields)."""
    canvas = {key: value for key, value in options.items() if key in CanvasArgs.__optional_keys__}
    rest = {key: value for key, value in options.items() if key not in CanvasArgs.__optional_keys__}
    return cast(CanvasArgs, canvas), rest


def resolve_canvas(net: Model, width: int, height: int, recipe: dict[str, Any], asked: CanvasArgs) -> Canvas:
    """The ``width`` x ``height`` canvas that ``net`` renders: the view and supersampling ``asked``
    as ``resolve_view`` takes them, its ``chunk`` checked (None: the model's default)."""
    view, supersample = resolve_view(recipe, asked.get("zoom"), asked.get("center"), asked.get("supersample"))
    chunk = asked.get("chunk")
    if chunk is not None:
        check_param("chunk", chunk)
    return net.canvas(width, height, view, supersample, chunk)


def resolve_seed(recipe: dict[str, Any], seed: int | None) -> int:
    """The seed asked for, else the recipe's, else a fresh one (which front ends print)."""
    if seed is None:
        seed = recipe.get("seed") if recipe else None
    return draw_seed() if seed is None else int(seed)


def resolve_model(model: str | Path | Model | None, recipe: dict[str, Any], seed: int, device: str = "auto") -> Model:
    """The model asked for (a ``Model``, or a name ``load_model`` takes), else the recipe's, else the
    default preset; a preset's weights come from ``seed``."""
    if isinstance(model, Model):
        return model
    if model is not None:
        return load_model(model, seed, device)
    if recipe:
        return model_from_recipe({**recipe, "seed": seed}, device)
    return load_model(DEFAULT_PRESET, seed, device)


def resolve_z(model: Model, z: Any, recipe: dict[str, Any], seed: int, seed_given: bool) -> np.ndarray:
    """The one latent [1, Z]: ``z`` (an array or a .npy path), else the recipe's unless a new seed
    was given (a new seed draws z again), else the one drawn from ``seed``."""
    from ..latent.io import load_z

    if isinstance(z, (str, Path)):
        latents = load_z(z, model.z_dim)
        if latents.shape[0] != 1:
            raise ParamError(
                "z", f"file '{z}' holds {latents.shape[0]} latents; a picture takes one (a grid takes many)"
            )
        return latents
    if z is not None:
        return model.check_z(np.asarray(z, dtype=np.float32))
    if recipe.get("z") is not None and not seed_given:
        return model.check_z(np.asarray(recipe["z"], dtype=np.float32), "the image's recipe z")
    return model.sample_z(seed)


def resolve_picture(
    model: str | Path | Model | None = None,
    *,
    recipe: dict[str, Any] | None = None,
    seed: int | None = None,
    z: Any = None,
    res: tuple[int, int] | None = None,
    zoom: float | None = None,
    center: Sequence[float] | None = None,
    supersample: int | None = None,
    chunk: int | None = None,
    bits: int | None = None,
    tile: bool | None = None,
    device: str = "auto",
) -> PictureRequest:
    """The picture these arguments ask for, with the precedence every front end keeps: an argument
    given, then the ``recipe``'s (a checked ``--from`` recipe: see ``read_recipe_file``), then the
    defaults. For a preset the seed picks the weights and z; for a model file it picks z only.
    Image-interface models (conv glyphs) keep their native size unless ``res`` asks for another.
    ``tile`` draws a picture that tiles seamlessly (``resolve_tile``)."""
    recipe = recipe or {}
    seed_given = seed is not None
    chosen_seed = resolve_seed(recipe, seed)
    net = resolve_model(model, recipe, chosen_seed, device)
    size = tuple(res) if res is not None else recipe.get("res")
    width, height = tuple(size) if size else (net.native_size or DEFAULT_RES)
    view, supersample = resolve_view(recipe, zoom, center, supersample)
    if chunk is not None:
        check_param("chunk", chunk)
    depth = bits if bits is not None else int(recipe.get("bits", 8))
    latent = resolve_z(net, z, recipe, chosen_seed, seed_given)
    # The seed that names the picture: a preset's weights seed; for a file, z's seed if z came from one.
    named_seed = net.seed if net.from_preset else (chosen_seed if net.seed_draws_z else None)
    canvas = net.canvas(int(width), int(height), view, supersample, chunk)
    return PictureRequest(resolve_tile(net, canvas, tile, recipe), latent, canvas, depth, named_seed)


def resolve_tile(net: Model, canvas: Canvas, tile: bool | None, recipe: dict[str, Any]) -> Model:
    """The model itself, or, when ``tile`` asks (else the recipe's ``tile``), the model that draws
    ``canvas`` as a seamless tile (``render.seamless``: a torus front for random CPPNs, reflection
    for other coordinate models)."""
    if not (tile if tile is not None else bool(recipe.get("tile"))):
        return net
    from .seamless import tiled_model

    return tiled_model(net, canvas)


def read_recipe_file(path: str | Path | None) -> dict[str, Any]:
    """The checked recipe of a PNG, GIF, MP4 or WebP cppnart made (``{}`` for None): untrusted input,
    every field checked, its model only a preset or a file beside it."""
    from ..configs.recipe import check_recipe
    from ..io.metadata import read_any_recipe

    if path is None:
        return {}
    path = Path(path)
    return check_recipe(read_any_recipe(path), f"the recipe in '{path}'", path.parent)


# --- animations ---------------------------------------------------------------------------------


def check_gif_palette(palette: str | None) -> str:
    """The GIF palette strategy an animation request asks for (empty: the default), checked."""
    palette = palette or GIF_DEFAULT_STRATEGY
    if palette not in GIF_STRATEGIES:
        raise ParamError("gif_palette", f"must be one of {', '.join(GIF_STRATEGIES)}, got {palette!r}")
    return palette


def check_animation_work(
    out: str | Path, kind: str, canvas: Canvas, frames: int, recipe: Callable[[], dict[str, Any]], force: bool
) -> None:
    """An animation's checks once its output's ``kind`` is known (``io.animation``): ``frames``
    frames of ``canvas`` within budget, and no different animation at ``out`` replaced unless
    ``force``; two animations are the same when their ``recipe`` is, whatever their first z."""
    from ..io.metadata import read_animation_recipe

    pixels = float(frames) * canvas.width * canvas.height
    check_budget(
        f"{frames} frames of {canvas.width}x{canvas.height}",
        samples=pixels * canvas.supersample**2,
        output=(pixels * 3 / ANIMATION_BEST_RATIO[kind], out),
    )
    if kind != "frames":  # a frame folder must be new or empty already
        new = {**recipe(), "z": None}
        refuse_replacing(out, lambda: {**read_animation_recipe(out), "z": None} == new, force)


@dataclass(frozen=True, eq=False)
class MorphRequest:
    """An animation through ``keyframes`` [K, Z] of one model on one canvas: the path's plan
    (``frames`` per transition, ``hold``, ``loop``, ``ease``, ``path``), ``fps`` and how frames are
    batched and quantised. It owns the output's budget and recipe."""

    model: Model
    keyframes: np.ndarray
    canvas: Canvas
    frames: int = 30
    hold: int = 0
    loop: bool = False
    ease: str = "smooth"
    path: str = "slerp"
    fps: float = 25.0
    batch: int | None = None
    gif_palette: str = field(default="")
    # A song's ``io.audio.AudioTiming``: keyframes on every ``beats_per_key``-th beat, the pace from
    # its onsets, as many frames as the clip lasts, and the sound muxed into the MP4.
    audio: Any = None
    beats_per_key: int = 4

    def __post_init__(self) -> None:
        from ..latent.paths import EASINGS, PATHS

        check_param("beats_per_key", self.beats_per_key, Range(1, 10_000, "beats between two keyframes"))

        object.__setattr__(self, "keyframes", self.model.check_z(np.asarray(self.keyframes), "the keyframes"))
        for name in ("frames", "hold", "fps"):
            check_param(name, getattr(self, name))
        if self.batch is not None:
            check_param("batch", self.batch)
        for name, value, allowed in (("ease", self.ease, EASINGS), ("path", self.path, PATHS)):
            if value not in allowed:
                raise ParamError(name, f"must be one of {', '.join(allowed)}, got {value!r}")
        object.__setattr__(self, "gif_palette", check_gif_palette(self.gif_palette))

    @property
    def frame_count(self) -> int:
        """Frames in the file (``latent.paths.path_length``)."""
        from ..latent.paths import path_length

        if self.audio is not None:
            return int(self.audio.frames)
        return path_length(len(self.keyframes), self.frames, self.hold, self.loop)

    def latents(self) -> np.ndarray:
        """The latent of every frame [N, Z], in order (with ``audio``: ``latent.music.beat_path``)."""
        from ..latent.paths import plan_path

        if self.audio is not None:
            from ..latent.music import beat_path

            return beat_path(self.keyframes, self.audio.beats, self.audio.envelope, self.beats_per_key, self.path)
        return plan_path(self.keyframes, self.frames, self.hold, self.loop, self.ease, self.path)

    def recipe(self) -> dict[str, Any]:
        """The morph recipe the file carries (``io.metadata.morph_recipe``), which ``--from`` reads."""
        options = {
            "frames": self.frames,
            "hold": self.hold,
            "loop": self.loop,
            "ease": self.ease,
            "path": self.path,
            "fps": self.fps,
        }
        if self.audio is not None:
            options.update(audio=self.audio.recipe(), beats_per_key=self.beats_per_key)
        return morph_recipe(self.model, self.keyframes, self.canvas, options)

    def frame_request(self, z: np.ndarray) -> PictureRequest:
        """One frame as a picture (every PNG frame of a folder carries its recipe)."""
        return PictureRequest(self.model, z, self.canvas, 8, None)

    def frame_canvases(self) -> list[Canvas]:
        """The canvas of every frame: the request's own, for each one."""
        return [self.canvas] * self.frame_count

    def check_output(self, out: str | Path, force: bool = False) -> str:
        """Before any frame: the output's kind and limits, the work and the file within budget, and
        no different animation replaced unless ``force``. Returns the kind (gif, mp4, webp, frames)."""
        from ..io.animation import check_animation_output

        kind = check_animation_output(out, self.canvas.width, self.canvas.height, self.fps)
        if self.audio is not None:
            from ..io.audio import check_sound_output

            check_sound_output(self.audio, out, kind)
        check_animation_work(out, kind, self.canvas, self.frame_count, self.recipe, force)
        return kind


class MorphArgs(CanvasArgs, total=False):
    """``resolve_morph``'s keyword options: the canvas, and the ``MorphRequest`` fields it passes on."""

    frames: int
    hold: int
    loop: bool
    ease: str
    path: str
    fps: float
    batch: int | None
    gif_palette: str
    beats_per_key: int


def resolve_morph(
    keyframes: Sequence[str | Path] | np.ndarray,
    model: str | Path | Model | None = None,
    *,
    recipe: dict[str, Any] | None = None,
    seed: int | None = None,
    audio: str | Path | None = None,
    seconds: float | None = None,
    device: str = "auto",
    **options: Unpack[MorphArgs],
) -> MorphRequest:
    """The animation these arguments ask for: ``keyframes`` are latent files (.npy of [Z] or [B, Z],
    PNGs cppnart made) or an array [K, Z]; the model and view follow ``resolve_picture``'s rule, the
    size is ``res`` (default 512x512); ``options`` are ``MorphArgs``: the canvas (``CanvasArgs``) and
    ``MorphRequest``'s path and output fields.
    ``audio`` (a song; its first ``seconds`` when given) times the morph to the music: the frame
    count follows the song (``MorphRequest.audio``); without it a ``--from`` recipe's analysis is
    used again when it has one."""
    from ..io.audio import analyse_audio, timing_from_recipe
    from ..latent.files import read_latents

    recipe = recipe or {}
    asked, plan = split_canvas_args(options)
    if audio is not None:
        plan["audio"] = analyse_audio(audio, float(plan.get("fps", 25.0)), seconds)
    elif recipe.get("audio") is not None and seconds is None:
        plan["audio"] = timing_from_recipe(recipe["audio"], "the recipe")
        plan["fps"] = plan["audio"].fps  # the analysis is per frame of the rate it was made at
    elif seconds is not None:
        raise ParamError("seconds", "cuts a song (audio=...) to its first seconds; give audio too")
    net = resolve_model(model, recipe, resolve_seed(recipe, seed), device)
    if isinstance(keyframes, np.ndarray):
        keys = keyframes
    else:
        if not keyframes:
            raise ParamError("keyframes", "must name at least one latent file")
        keys = np.concatenate([read_latents(k, net.z_dim) for k in keyframes])
    res = asked.get("res")
    width, height = res if res is not None else DEFAULT_MORPH_RES
    canvas = resolve_canvas(net, width, height, recipe, asked)
    return MorphRequest(resolve_tile(net, canvas, asked.get("tile"), recipe), keys, canvas, **plan)


def check_single_output(tiles: Path | None, out: Path | None, bits: int) -> None:
    """A tile pyramid or one PNG, not both; pyramids are 8-bit."""
    if tiles is None:
        return
    if out is not None:
        raise UserError("give one output: a PNG path or a tile pyramid folder, not both")
    if bits == 16:
        raise ParamError("bits", "must be 8 for a tile pyramid (its tiles are 8-bit PNGs); render one PNG for 16")


# --- contact sheets -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SheetRequest:
    """A contact sheet of one model: cells of ``seeds`` (each the z that seed draws; for a preset
    with ``own_weights`` also that seed's weights, exactly `cppnart render MODEL --seed S`) or of
    ``latents`` [N, Z] (one network), each cell a picture of ``canvas``; the layout is ``cols``
    (default about square), ``gap`` pixels and ``labelled`` strips."""

    model: Model
    canvas: Canvas
    seeds: tuple[int, ...] | None = None
    latents: np.ndarray | None = None
    labels: tuple[str, ...] | None = None
    own_weights: bool = True
    cols: int | None = None
    gap: int = 4
    labelled: bool = True

    def __post_init__(self) -> None:
        if (self.seeds is None) == (self.latents is None):
            raise UserError("give either seeds or latents for the grid")
        if self.seeds is not None and not self.seeds:
            raise ParamError("seeds", "must name at least one seed")
        if self.latents is not None:
            object.__setattr__(self, "latents", self.model.check_z(self.latents, "the grid's latents"))
        if self.cols is not None:
            check_param("cols", self.cols)
        check_param("gap", self.gap)
        check_param("width", self.canvas.width)
        check_param("height", self.canvas.height)


def resolve_sheet(
    model: str | Path | Model | None = None,
    *,
    recipe: dict[str, Any] | None = None,
    seed: int | None = None,
    seeds: Sequence[int] | None = None,
    latents: Sequence[str | Path] | np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    count: int = 16,
    cell: tuple[int, int] = (256, 256),
    zoom: float | None = None,
    center: Sequence[float] | None = None,
    supersample: int | None = None,
    chunk: int | None = None,
    tile: bool | None = None,
    device: str = "auto",
    **layout: Any,
) -> SheetRequest:
    """The sheet these arguments ask for: latent files (.npy, one cell per row; PNGs cppnart made)
    or an array, else ``seeds``, else ``count`` seeds drawn at random. ``seed`` pins a preset's
    weights (explore one network's latents); without it each seed's cell has that seed's weights."""
    from ..latent.files import read_latents

    recipe = recipe or {}
    if latents is not None and seeds is not None:
        raise UserError("give latents or seeds for the grid, not both")
    view, supersample = resolve_view(recipe, zoom, center, supersample)
    if latents is not None:
        net = resolve_model(model, recipe, resolve_seed(recipe, seed), device)
        if not isinstance(latents, np.ndarray):
            zs = [read_latents(path, net.z_dim) for path in latents]
            labels = [
                Path(p).name if len(z) == 1 else f"{Path(p).name}[{row}]"
                for p, z in zip(latents, zs)
                for row in range(len(z))
            ]
            latents = np.concatenate(zs)
        canvas = net.canvas(*cell, view, supersample, chunk)
        return SheetRequest(
            resolve_tile(net, canvas, tile, recipe), canvas, latents=latents,
            labels=tuple(labels) if labels is not None else None, **layout,
        )  # fmt: skip
    if seeds is None:
        if not 1 <= count <= MAX_CELLS:
            raise ParamError("count", f"must be between 1 and {MAX_CELLS}, got {count}")
        seeds = [draw_seed() for _ in range(count)]
    seeds = tuple(int(s) for s in seeds)
    net = resolve_model(model, recipe, resolve_seed(recipe, seed if seed is not None else (seeds or [None])[0]), device)
    canvas = net.canvas(*cell, view, supersample, chunk)
    return SheetRequest(
        resolve_tile(net, canvas, tile, recipe), canvas, seeds=seeds, own_weights=seed is None, **layout
    )
