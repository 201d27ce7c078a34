"""``RayRenderer``: bands, frames and tiles computed by Ray tasks, returned in order.

The split is the local renderer's (the same band rows, frame batches and tiles, the same
functions on the workers), so what is written is the same byte for byte; only where the work
runs changes. Each model is put in the object store once; each worker keeps its session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import UserError
from ..render.canvas import Canvas
from ..render.renderer import Renderer, TileJob
from . import tasks
from .connect import cluster_cpus, import_ray
from .ordered import in_order

if TYPE_CHECKING:
    from ..render.model import Model

MAX_RETRIES = 3  # a task whose worker (or node) dies is run again; the work is deterministic


@dataclass
class ClusterStats:
    """What ran where: tasks finished and the nodes that ran them."""

    tasks: int = 0
    nodes: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, int]:
        """{"tasks": ..., "nodes": ...} for --json."""
        return {"tasks": self.tasks, "nodes": len(self.nodes)}


class RayRenderer(Renderer):
    """Renders on the Ray cluster this process is connected to (see ``connect.connected``).

    ``window``: tasks in flight at once (default: twice the cluster's CPUs), the bound on the
    driver's memory. ``max_retries``: how often a task whose worker died runs again.
    """

    def __init__(self, window: int | None = None, max_retries: int = MAX_RETRIES) -> None:
        ray = import_ray()
        if not ray.is_initialized():
            raise UserError("not connected to a Ray cluster; render inside cluster.connected(...)")
        if window is not None and window < 1:
            raise UserError(f"window must be at least 1 task, got {window}")
        self.window = window or 2 * cluster_cpus()
        self.max_retries = max_retries
        self.stats = ClusterStats()
        self._handles: dict[str, tasks.ModelHandle] = {}
        self._remotes: dict[Callable[..., Any], Any] = {}

    # --- plumbing ---------------------------------------------------------------------------
    def handle(self, model: Model) -> tasks.ModelHandle:
        """The model in the object store, put there the first time this renderer sees it."""
        key = hashlib.sha256(model.onnx_bytes).hexdigest()[:32] + "/" + model.device
        if key not in self._handles:
            ray = import_ray()
            self._handles[key] = tasks.ModelHandle(
                key, [ray.put(model.onnx_bytes)], dict(model.metadata), model.source, model.device
            )
        return self._handles[key]

    def remote(self, function: Callable[..., Any]) -> Any:
        """``function`` as a Ray task: one CPU, retried when its worker dies, spread over the nodes
        (Ray's default packs a node before using the next; render tasks are alike, so spread them)."""
        if function not in self._remotes:
            ray = import_ray()
            self._remotes[function] = ray.remote(function).options(
                num_cpus=1, max_retries=self.max_retries, scheduling_strategy="SPREAD"
            )
        return self._remotes[function]

    def map(self, function: Callable[..., Any], argument_lists: Iterable[tuple[Any, ...]]) -> Iterator[Any]:
        """``function(*args)`` for each args on the cluster; the results in order."""
        task = self.remote(function)
        for node, value in in_order(lambda args: task.remote(*args), argument_lists, self.window):
            self.stats.tasks += 1
            self.stats.nodes.add(node)
            yield value

    # --- the Renderer methods, here as Ray tasks ------------------------------------------------
    def bands(self, model: Model, z: np.ndarray, canvas: Canvas, on_rows: Any = None) -> Iterator[np.ndarray]:
        """Float bands [B, rows, W, C] top to bottom: the local band rows, one task each."""
        if model.interface != "coords":  # a conv model draws its one small image in one call
            yield from super().bands(model, z, canvas, on_rows)
            return
        z = model.check_z(z)
        handle = self.handle(model)
        for band in self.map(tasks.band_task, ((handle, z, canvas, r) for r in canvas.band_ranges(z.shape[0]))):
            yield band
            if on_rows is not None:
                on_rows(band.shape[1])

    def frame_batches(self, jobs: Iterable[tuple[Any, np.ndarray]], canvas: Canvas) -> Iterator[np.ndarray]:
        """uint8 frames [b, H, W, C] for each (model, latents) job in order, one task per job."""
        yield from self.map(tasks.frames_task, ((self.handle(m), latents, canvas) for m, latents in jobs))

    def tiles(self, model: Model, z: np.ndarray, jobs: Iterable[TileJob], canvas: Canvas) -> Iterator[bytes]:
        """PNG bytes of each tile in order, one task per tile."""
        handle = self.handle(model)
        yield from self.map(tasks.tile_task, ((handle, z, job, canvas) for job in jobs))
