"""Contact sheets: a batch of images laid out in a grid and saved as one PNG (atomically).

    save_sheet(run / "samples" / "step-000500.png", images)   # images: [B, C, H, W] in [0, 1]
    save_sheet(path, images, cols=8, upscale=4)               # nearest-neighbour zoom for tiny glyphs

``images`` may be a torch tensor or a numpy array, channels first (the training layout);
pass ``channels_last=True`` for [B, H, W, C] arrays such as ``Model.render`` returns.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..writers import atomic_output, quantize


def _as_numpy(images: Any) -> np.ndarray:
    if hasattr(images, "detach"):
        images = images.detach().float().cpu().numpy()
    return np.asarray(images, dtype=np.float32)


def sheet_array(images: Any, cols: int | None = None, pad: int = 2, background: float = 1.0,
                upscale: int = 1, channels_last: bool = False) -> np.ndarray:
    """[B, C, H, W] (or [B, H, W, C]) -> one [rows*(H+pad)+pad, cols*(W+pad)+pad, C] float image."""
    array = _as_numpy(images)
    if array.ndim != 4:
        raise ValueError(f"expected a batch of images [B, C, H, W], got shape {array.shape}")
    if not channels_last:
        array = array.transpose(0, 2, 3, 1)
    if upscale > 1:
        array = array.repeat(upscale, axis=1).repeat(upscale, axis=2)
    count, height, width, channels = array.shape
    cols = cols or max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / cols)
    sheet = np.full((rows * (height + pad) + pad, cols * (width + pad) + pad, channels), background, np.float32)
    for index, image in enumerate(array):
        r, c = divmod(index, cols)
        top, left = pad + r * (height + pad), pad + c * (width + pad)
        sheet[top:top + height, left:left + width] = np.clip(image, 0.0, 1.0)
    return sheet


def save_sheet(path: str | Path, images: Any, cols: int | None = None, pad: int = 2, background: float = 1.0,
               upscale: int = 1, channels_last: bool = False) -> Path:
    from PIL import Image

    sheet = quantize(sheet_array(images, cols, pad, background, upscale, channels_last))
    image = Image.fromarray(sheet[..., 0] if sheet.shape[-1] == 1 else sheet)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        image.save(tmp, format="PNG", compress_level=6)
    return Path(path)
