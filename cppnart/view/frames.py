"""Server frames: one picture as PNG bytes, sized against the memory budget first.

Shared by the viewer's ``/api/frame`` and the breeding page's ``/api/breed/frame``.
"""

from __future__ import annotations

import io

import numpy as np

from ..configs.view import View
from ..io.budget import check_budget
from ..io.png import quantize
from ..render.model import Model


def frame_png(model: Model, z: np.ndarray, width: int, height: int, view: View) -> bytes:
    """One frame as PNG bytes, quantized band by band into one 8-bit image (no float copy of it)."""
    from PIL import Image

    pixels = np.empty((height, width, model.channels), np.uint8)
    row = 0
    for band in model.bands(z, width, height, view):  # [1, rows, W, C]
        pixels[row : row + band.shape[1]] = quantize(band[0])
        row += band.shape[1]
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def check_frame_budget(model: Model, width: int, height: int) -> None:
    """A frame holds its 8-bit pixels and its PNG (at most about as large) besides the band the
    renderer checks itself: refused before any work when that is over the memory budget."""
    pixels = float(width) * height
    check_budget(f"a {width}x{height} frame", samples=pixels, memory=2.0 * pixels * model.channels)
