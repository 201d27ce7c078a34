"""``save_poster``: a model rendered straight into a PNG that carries its recipe, at any size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..configs.view import View
from ..io.metadata import make_recipe, png_text
from ..io.png import write_png
from .bands import DEFAULT_CHUNK


def save_poster(
    model: Any,
    z: Any,
    width: int,
    height: int,
    path: str | Path,
    view: View = View(),
    supersample: int = 1,
    bits: int = 8,
    chunk: int | None = None,
    on_rows: Any = None,
) -> Path:
    """Render straight into a PNG (bounded memory at any size) that carries its recipe for ``--from``.

    ``on_rows(n)`` is called after each band of n rows (progress; raising there stops the render
    and leaves no file).
    """
    z = model.check_z(np.asarray(z))[:1]
    text = png_text(make_recipe(model, z[0], width, height, view, supersample, bits))
    chunk = chunk or DEFAULT_CHUNK
    bands = (band[0] for band in model.bands(z, width, height, view, supersample, chunk, on_rows=on_rows))
    return write_png(path, width, height, model.channels, bands, bits=bits, text=text)
