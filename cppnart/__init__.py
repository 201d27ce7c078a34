"""cppnart: neural generative art with compositional pattern-producing networks.

A small API for notebooks; the CLI is a thin layer over it. Nothing here imports torch::

    import cppnart
    net = cppnart.load_model("classic", seed=7)        # preset name, .toml, .onnx or run folder
    z = net.sample_z(seed=7)                           # [1, 8], the z `cppnart render --seed 7` draws
    pixels = net.render(z, 720, 450, supersample=2)    # float32 [450, 720, 3] in [0, 1]
    net.render_image(z, 720, 450).save("art.png")      # a PIL image
    cppnart.save_poster(net, z, 2880, 1800, "poster.png")  # streamed PNG with its recipe
"""

from __future__ import annotations

from .__about__ import __version__
from .config import load_preset, preset_names
from .coords import View
from .errors import UserError
from .latent import load_z, sample_z, save_z
from .model import Model, load_model

__all__ = [
    "Model",
    "UserError",
    "View",
    "__version__",
    "load_model",
    "load_preset",
    "load_z",
    "preset_names",
    "sample_z",
    "save_poster",
    "save_z",
]


def save_poster(model: Model, z, width: int, height: int, path, view: View = View(), supersample: int = 1,
                bits: int = 8, chunk: int | None = None):
    """Render straight into a PNG (bounded memory at any size) that carries its recipe for ``--from``."""
    import numpy as np

    from .recipe import make_recipe, png_text
    from .render import DEFAULT_CHUNK
    from .writers import write_png

    z = model.check_z(np.asarray(z))[:1]
    text = png_text(make_recipe(model, z[0], width, height, view, supersample, bits))
    bands = (band[0] for band in model.bands(z, width, height, view, supersample, chunk or DEFAULT_CHUNK))
    return write_png(path, width, height, model.channels, bands, bits=bits, text=text)
