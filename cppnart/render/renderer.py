"""Where the pixels are computed: in this process (``Renderer``) or elsewhere (the Ray
cluster's ``cluster.RayRenderer``, a subclass), behind one small interface.

Posters, morphs, sheets and tile pyramids split their work the same way whoever renders it
(the same bands, the same batches of frames, the same tiles) and consume the results in order,
so a renderer changes where the work runs and never what is written. A ``SessionRenderer``
renders here with other sessions than the models' own: ``OnnxRenderer`` in another precision,
``train.torch_render.TorchRenderer`` with torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io.png import quantize
from .canvas import Canvas

if TYPE_CHECKING:
    from .model import Model


@dataclass(frozen=True)
class TileJob:
    """One tile: pixels ``rows`` x ``cols`` of its level's ``width`` x ``height`` render, and where it goes."""

    level: int
    col: int
    row: int
    width: int
    height: int
    rows: tuple[int, int]
    cols: tuple[int, int]


def render_frame_batch(model: Model, latents: np.ndarray, canvas: Canvas) -> np.ndarray:
    """uint8 frames [b, H, W, C] of latents [b, Z]: one onnxruntime call per band for the whole batch."""
    return quantize(np.concatenate(list(model.canvas_bands(latents, canvas)), axis=1))


def render_tile(model: Model, z: np.ndarray, job: TileJob, canvas: Canvas) -> bytes:
    """One tile of a pyramid level, rendered at that level's size and encoded as PNG."""
    from ..io.dzi import encode_tile
    from .bands import render_region

    pixels = render_region(model.session, z, canvas.resized(job.width, job.height), job.rows, job.cols)
    return encode_tile(quantize(pixels[0]))


class Renderer:
    """Computes the pieces here, one after another, when the consumer asks for them: the default
    everywhere, and the interface a renderer elsewhere (``cluster.RayRenderer``) overrides.
    Results always come back in order. ``canvas`` is the picture (a frame, a cell, the whole
    pyramid's deepest level) every piece belongs to."""

    def bands(self, model: Model, z: np.ndarray, canvas: Canvas, on_rows: Any = None) -> Iterator[np.ndarray]:
        """``Model.canvas_bands``, unchanged."""
        return iter(model.canvas_bands(z, canvas, on_rows))

    def frame_batches(self, jobs: Iterable[tuple[Any, np.ndarray]], canvas: Canvas) -> Iterator[np.ndarray]:
        """Each job's frames, rendered when the consumer asks for them."""
        for model, latents in jobs:
            yield render_frame_batch(model, latents, canvas)

    def tiles(self, model: Model, z: np.ndarray, jobs: Iterable[TileJob], canvas: Canvas) -> Iterator[bytes]:
        """Each tile, rendered when the consumer asks for it."""
        for job in jobs:
            yield render_tile(model, z, job, canvas)


class SessionRenderer(Renderer):
    """Renders here like ``Renderer``, each model through ``open_session(model)`` instead of its own
    onnxruntime session (another precision, another backend). The last model's session is kept,
    so a poster or a morph opens one; a weight morph's many models open one each, one at a time."""

    precision = "fp32"

    def __init__(self, open_session: Callable[[Any], Any]) -> None:
        self.open_session = open_session
        self._last: tuple[Any, Any] | None = None

    def prepared(self, model: Any) -> Any:
        """The model with this renderer's session in place of its own (a copy; the model is unchanged)."""
        if self._last is None or self._last[0] is not model:
            self._last = (model, replace(model, _session=self.open_session(model)))
        return self._last[1]

    def bands(self, model: Any, z: np.ndarray, canvas: Canvas, on_rows: Any = None) -> Iterator[np.ndarray]:
        """``Renderer.bands`` with this renderer's session."""
        return super().bands(self.prepared(model), z, canvas, on_rows)

    def frame_batches(self, jobs: Iterable[tuple[Any, np.ndarray]], canvas: Canvas) -> Iterator[np.ndarray]:
        """``Renderer.frame_batches`` with this renderer's sessions."""
        return super().frame_batches(((self.prepared(m), latents) for m, latents in jobs), canvas)

    def tiles(self, model: Any, z: np.ndarray, jobs: Iterable[TileJob], canvas: Canvas) -> Iterator[bytes]:
        """``Renderer.tiles`` with this renderer's session."""
        return super().tiles(self.prepared(model), z, jobs, canvas)


class OnnxRenderer(SessionRenderer):
    """Renders here with onnxruntime sessions in ``precision`` (fp16: ``runtime.convert_fp16``)."""

    def __init__(self, precision: str = "fp32") -> None:
        from .runtime import check_precision, create_session

        self.precision = check_precision(precision)
        super().__init__(lambda model: create_session(model.onnx_bytes, model.device, model.threads, self.precision))
