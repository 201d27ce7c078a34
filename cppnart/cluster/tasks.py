"""What runs on the workers: one band, one batch of frames, one tile, each by the very function
a local render calls, on a model fetched from the object store once per worker.

The model travels as a ``ModelHandle``: its ONNX bytes were put in Ray's object store once by
the driver, and the reference rides inside the handle (not as a top-level argument, which Ray
would resolve for every task). A worker fetches the bytes the first time it sees the handle's
key and keeps the model, with its onnxruntime session, for the tasks after.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..render.bands import render_band
from ..render.canvas import Canvas
from ..render.model import Model
from ..render.renderer import TileJob, render_frame_batch, render_tile

MODELS_KEPT = 16  # per worker: a grid of per-seed networks passes through many small models


@dataclass(frozen=True)
class ModelHandle:
    """A model in the object store: a key (the bytes' digest and the device), the reference in a
    list, and what a worker needs to rebuild the ``Model`` around the bytes."""

    key: str
    refs: list[Any]
    metadata: dict[str, str]
    source: str
    device: str


_models: OrderedDict[str, Model] = OrderedDict()


def worker_model(handle: ModelHandle) -> Model:
    """This worker's copy of the model, its session made on first use and kept."""
    model = _models.get(handle.key)
    if model is None:
        import ray

        data = ray.get(handle.refs[0])
        # One onnxruntime thread per task: Ray runs one task per CPU it counts.
        model = Model(data, handle.metadata, handle.source, handle.device, threads=1)
        _models[handle.key] = model
        while len(_models) > MODELS_KEPT:
            _models.popitem(last=False)
    else:
        _models.move_to_end(handle.key)
    return model


def _node() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()


def band_task(handle: ModelHandle, z: np.ndarray, canvas: Canvas, rows: tuple[int, int]) -> tuple[str, np.ndarray]:
    """(node id, float32 band [B, rows, W, C]) of rows ``rows``."""
    return _node(), render_band(worker_model(handle).session, z, canvas, rows)


def frames_task(handle: ModelHandle, latents: np.ndarray, canvas: Canvas) -> tuple[str, np.ndarray]:
    """(node id, uint8 frames [b, H, W, C]) of latents [b, Z]."""
    return _node(), render_frame_batch(worker_model(handle), latents, canvas)


def tile_task(handle: ModelHandle, z: np.ndarray, job: TileJob, canvas: Canvas) -> tuple[str, bytes]:
    """(node id, PNG bytes) of one pyramid tile."""
    return _node(), render_tile(worker_model(handle), z, job, canvas)
