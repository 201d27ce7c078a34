"""cppnart: neural generative art with compositional pattern-producing networks.

A small API for notebooks; the CLI is a thin layer over it. ``import cppnart`` is light (no
onnxruntime, no torch): names load on first use::

    import cppnart
    net = cppnart.load_model("classic", seed=7)        # preset name, .toml, .onnx or run folder
    z = net.sample_z(seed=7)                           # [1, 8], the z `cppnart render --seed 7` draws
    pixels = net.render(z, 720, 450, supersample=2)    # float32 [450, 720, 3] in [0, 1]
    cppnart.save_poster(net, z, 2880, 1800, "poster.png")  # streamed PNG with its recipe
    sheet = cppnart.grid(net, seeds=range(1, 17))      # a contact sheet; sheet.save("grid.png")
    frames = cppnart.morph_frames(net, cppnart.sample_z(8, seed=1, count=3), 256, 256)
    cppnart.save_animation("morph.gif", frames, 256, 256)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .__about__ import __version__
from .errors import ParamError, UserError

# public name -> module that defines it (imported on first access)
_API = {
    "Model": "render.model",
    "load_model": "render.model",
    "View": "configs.view",
    "load_preset": "configs.presets",
    "preset_names": "configs.presets",
    "load_z": "latent.io",
    "sample_z": "latent.io",
    "save_z": "latent.io",
    "save_poster": "render.poster",
    "grid": "render.sheets",
    "Grid": "render.sheets",
    "morph_frames": "render.frames",
    "save_animation": "io.animation",
}

__all__ = ["ParamError", "UserError", "__version__", *_API]

if TYPE_CHECKING:
    from .configs.presets import load_preset as load_preset
    from .configs.presets import preset_names as preset_names
    from .configs.view import View as View
    from .io.animation import save_animation as save_animation
    from .latent.io import load_z as load_z
    from .latent.io import sample_z as sample_z
    from .latent.io import save_z as save_z
    from .render.frames import morph_frames as morph_frames
    from .render.model import Model as Model
    from .render.model import load_model as load_model
    from .render.poster import save_poster as save_poster
    from .render.sheets import Grid as Grid
    from .render.sheets import grid as grid


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'cppnart' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
