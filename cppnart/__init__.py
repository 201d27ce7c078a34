"""cppnart: neural generative art with compositional pattern-producing networks.

A small API for notebooks; the CLI is a thin layer over it. ``import cppnart`` is light (no
onnxruntime, no torch): names load on first use, training and dream (the ``train`` extra)
included: ``cppnart.train_glyph(cppnart.load_preset("glyph-quick"), "runs/glyphs")``,
``train_ganvae``, ``train_classifier``, ``train_fit``, ``fit_latents``, ``dream``. A ``Grid``
shows itself as a picture in a notebook::

    import cppnart
    net = cppnart.load_model("classic", seed=7)        # preset name, .toml, .onnx or run folder
    z = net.sample_z(seed=7)                           # [1, 8], the z `cppnart render --seed 7` draws
    pixels = net.render(z, 720, 450, supersample=2)    # float32 [450, 720, 3] in [0, 1]

    # One request per picture, resolved as the CLI resolves its options: same bytes, same names.
    poster = cppnart.resolve_picture("classic", seed=7, res=(2880, 1800))
    cppnart.save_poster(poster)                        # classic-7-2880x1800.png, streamed, with its recipe
    sheet = cppnart.grid(cppnart.resolve_sheet("classic", seeds=range(1, 17)))   # sheet.save("grid.png")
    morph = cppnart.resolve_morph(cppnart.sample_z(8, seed=1, count=3), "classic", seed=7, res=(256, 256))
    cppnart.save_morph(morph, "morph.gif")             # the file `cppnart morph` writes, byte for byte
    loop = cppnart.resolve_loop("classic", seed=7, seconds=8, fps=30, tile=True)
    cppnart.save_loop(loop, "loop.webp")               # a seamless loop of a seamless tile
    video = cppnart.resolve_morph(["a.npy", "b.npy"], "classic", seed=7, audio="song.wav")
    cppnart.save_morph(video, "video.mp4")             # moves on the song's beats, carries its sound
    cppnart.save_drawing(cppnart.resolve_drawing("classic", seed=7, style="hatch", paper="A4"), "plot.svg")
    cppnart.save_mesh(cppnart.resolve_mesh("solid", seed=7, res=256), "solid.glb")
    cppnart.save_turntable(cppnart.resolve_turntable("solid", seed=7, seconds=4), "spin.mp4")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .__about__ import __version__
from .errors import ParamError, UserError

# public name -> module that defines it (imported on first access)
_API = {
    # torch, on first use (the ``train`` extra); "module:attribute" where the names differ
    "train_glyph": "train.glyph",
    "train_ganvae": "train.ganvae",
    "train_classifier": "train.classifier",
    "train_fit": "train.fit:fit_image",
    "fit_latents": "train.zfit",
    "dream": "train.dream",
    "DreamSettings": "train.dream",
    # the render side
    "Model": "render.model",
    "load_model": "render.model",
    "View": "configs.view",
    "load_preset": "configs.presets",
    "preset_names": "configs.presets",
    "load_z": "latent.io",
    "sample_z": "latent.io",
    "save_z": "latent.io",
    "save_poster": "render.poster",
    "save_tiles": "render.tiles",
    "save_morph": "render.morph",
    "PictureRequest": "render.request",
    "MorphRequest": "render.request",
    "SheetRequest": "render.request",
    "resolve_picture": "render.request",
    "resolve_morph": "render.request",
    "resolve_sheet": "render.request",
    "read_recipe_file": "render.request",
    "grid": "render.sheets",
    "Grid": "render.sheets",
    "morph_frames": "render.frames",
    "save_animation": "io.animation",
    "LoopRequest": "render.loop",
    "resolve_loop": "render.loop",
    "loop_frames": "render.loop",
    "save_loop": "render.loop",
    "AudioTiming": "io.audio",
    "analyse_audio": "io.audio",
    "resolve_drawing": "render.draw",
    "save_drawing": "render.draw",
    "resolve_mesh": "render.mesh",
    "save_mesh": "render.mesh",
    "resolve_turntable": "render.turntable",
    "save_turntable": "render.turntable",
}

__all__ = ["ParamError", "UserError", "__version__", *_API]

if TYPE_CHECKING:
    from .configs.presets import load_preset as load_preset
    from .configs.presets import preset_names as preset_names
    from .configs.view import View as View
    from .io.animation import save_animation as save_animation
    from .io.audio import AudioTiming as AudioTiming
    from .io.audio import analyse_audio as analyse_audio
    from .latent.io import load_z as load_z
    from .latent.io import sample_z as sample_z
    from .latent.io import save_z as save_z
    from .render.draw import resolve_drawing as resolve_drawing
    from .render.draw import save_drawing as save_drawing
    from .render.frames import morph_frames as morph_frames
    from .render.loop import LoopRequest as LoopRequest
    from .render.loop import loop_frames as loop_frames
    from .render.loop import resolve_loop as resolve_loop
    from .render.loop import save_loop as save_loop
    from .render.mesh import resolve_mesh as resolve_mesh
    from .render.mesh import save_mesh as save_mesh
    from .render.model import Model as Model
    from .render.model import load_model as load_model
    from .render.morph import save_morph as save_morph
    from .render.poster import save_poster as save_poster
    from .render.request import MorphRequest as MorphRequest
    from .render.request import PictureRequest as PictureRequest
    from .render.request import SheetRequest as SheetRequest
    from .render.request import read_recipe_file as read_recipe_file
    from .render.request import resolve_morph as resolve_morph
    from .render.request import resolve_picture as resolve_picture
    from .render.request import resolve_sheet as resolve_sheet
    from .render.sheets import Grid as Grid
    from .render.sheets import grid as grid
    from .render.tiles import save_tiles as save_tiles
    from .render.turntable import resolve_turntable as resolve_turntable
    from .render.turntable import save_turntable as save_turntable
    from .train.classifier import train_classifier as train_classifier
    from .train.dream import DreamSettings as DreamSettings
    from .train.dream import dream as dream
    from .train.fit import fit_image as train_fit  # noqa: F401 (in __all__ through _API)
    from .train.ganvae import train_ganvae as train_ganvae
    from .train.glyph import train_glyph as train_glyph
    from .train.zfit import fit_latents as fit_latents


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'cppnart' has no attribute {name!r}")
    module, _, attribute = _API[name].partition(":")
    try:
        imported = importlib.import_module(f".{module}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name not in ("torch", "kornia"):
            raise
        raise ImportError(
            f"cppnart.{name} trains with torch, which is not installed; from the cppnart folder: "
            'pip install torch==2.13.0 && pip install -e ".[train]" (the README says which torch to take)'
        ) from None
    value = getattr(imported, attribute or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
