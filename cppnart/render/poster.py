"""``save_poster``: a model rendered straight into a PNG that carries its recipe, at any size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..configs.view import View
from ..io.budget import check_budget
from ..io.metadata import make_recipe, png_text
from ..io.png import write_png
from .renderer import Renderer

# PNGs of CPPN art deflate to between a half and a twentieth of their raw size: a poster is
# refused up front only when even the smallest of these cannot fit in its folder.
PNG_BEST_RATIO = 20


def check_poster_space(width: int, height: int, channels: int, bits: int, path: str | Path) -> None:
    """Refuse a poster whose smallest plausible PNG exceeds the free space of its folder."""
    raw = float(width) * height * channels * bits / 8
    check_budget(f"a {width}x{height} PNG", output=(raw / PNG_BEST_RATIO, path))


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
    renderer: Renderer | None = None,
    on_rows: Any = None,
) -> Path:
    """Render straight into a PNG (bounded memory at any size) that carries its recipe for ``--from``.

    ``renderer`` (default: this process) computes the bands; a cluster's renders them in
    parallel and hands them back in order, so the file is the same byte for byte.
    ``on_rows(n)`` is called after each band of n rows (progress; raising there stops the render
    and leaves no file).
    """
    z = model.check_z(np.asarray(z))[:1]
    check_poster_space(width, height, model.channels, bits, path)
    text = png_text(make_recipe(model, z[0], width, height, view, supersample, bits))
    canvas = model.canvas(width, height, view, supersample, chunk)
    bands = (band[0] for band in (renderer or Renderer()).bands(model, z, canvas, on_rows))
    return write_png(path, width, height, model.channels, bands, bits=bits, text=text)
