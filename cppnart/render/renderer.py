"""Where the pixels are computed: in this process (``Renderer``) or elsewhere (the Ray
cluster's ``cluster.RayRenderer``, a subclass), behind one small interface.

Posters, morphs, sheets and tile pyramids split their work the same way whoever renders it
(the same bands, the same batches of frames, the same tiles) and consume the results in order,
so a renderer changes where the work runs and never what is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..configs.view import View
from ..io.png import quantize


@dataclass(frozen=True)
class TileJob:
    """One tile: pixels ``rows`` x ``cols`` of a ``width`` x ``height`` render, and where it goes."""

    level: int
    col: int
    row: int
    width: int
    height: int
    rows: tuple[int, int]
    cols: tuple[int, int]


def render_frame_batch(
    model: Any, latents: np.ndarray, width: int, height: int, view: View, supersample: int, chunk: int
) -> np.ndarray:
    """uint8 frames [b, H, W, C] of latents [b, Z]: one onnxruntime call per band for the whole batch."""
    bands = list(model.bands(latents, width, height, view, supersample, chunk))
    return quantize(np.concatenate(bands, axis=1))


def render_tile(model: Any, z: np.ndarray, job: TileJob, view: View, supersample: int, chunk: int) -> bytes:
    """One tile of a pyramid level, rendered at that level's size and encoded as PNG."""
    from ..io.dzi import encode_tile
    from .bands import render_region

    pixels = render_region(model.session, z, job.width, job.height, view, supersample, chunk, job.rows, job.cols)
    return encode_tile(quantize(pixels[0]))


class Renderer:
    """Computes the pieces here, one after another, when the consumer asks for them: the default
    everywhere, and the interface a renderer elsewhere (``cluster.RayRenderer``) overrides.
    Results always come back in order."""

    def bands(
        self,
        model: Any,
        z: np.ndarray,
        width: int,
        height: int,
        view: View,
        supersample: int,
        chunk: int,
        on_rows: Any = None,
    ) -> Iterator[np.ndarray]:
        """``Model.bands``, unchanged."""
        return iter(model.bands(z, width, height, view, supersample, chunk, on_rows=on_rows))

    def frame_batches(
        self,
        jobs: Iterable[tuple[Any, np.ndarray]],
        width: int,
        height: int,
        view: View,
        supersample: int,
        chunk: int,
    ) -> Iterator[np.ndarray]:
        """Each job's frames, rendered when the consumer asks for them."""
        for model, latents in jobs:
            yield render_frame_batch(model, latents, width, height, view, supersample, chunk)

    def tiles(
        self, model: Any, z: np.ndarray, jobs: Iterable[TileJob], view: View, supersample: int, chunk: int
    ) -> Iterator[bytes]:
        """Each tile, rendered when the consumer asks for it."""
        for job in jobs:
            yield render_tile(model, z, job, view, supersample, chunk)
