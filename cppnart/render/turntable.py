"""Turntables: a mesh of ``render.mesh`` filmed turning once round its vertical axis, as an MP4,
GIF, WebP or a folder of PNG frames (``cppnart mesh solid -o spin.mp4``)::

    request = resolve_turntable("solid", seed=3, seconds=4, fps=30)
    save_turntable(request, "spin.mp4")

The mesh is built once (its own bounded memory: ``render.mesh``), then each frame is drawn by
``render.raster`` and streamed into the file, which appears only when complete. The frame after
the last is the first, so the file loops without a jump. The animation carries the mesh's recipe
and the turntable's options: ``info`` reads them, and ``--from`` makes the file (or the mesh) again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..configs.schema import Range, check_param
from ..errors import ParamError
from .mesh import MeshRequest, ReliefRequest, mesh_arrays, resolve_mesh, same_mesh_recipe
from .raster import CANDIDATES, MeshView

TURNTABLE_RANGES = {
    "seconds": Range(0.04, 600.0, "seconds of turning; every frame is drawn"),
    "fps": Range(1.0, 120.0, "frames per second"),
    "frame": Range(16, 4096, "pixels a side of a frame"),
    "elevation": Range(-90.0, 90.0, "degrees above the horizon the camera looks from"),
    "turns": Range(1, 100, "times round in one file"),
}
TURNTABLE_DEFAULTS: dict[str, Any] = {
    "seconds": 4.0, "fps": 30.0, "width": 480, "height": 480, "elevation": 25.0, "turns": 1,
}  # fmt: skip
RELIEF_ELEVATION = 40.0  # a relief is mostly its top: its default camera looks from higher up
SUPERSAMPLE = 2  # 2x2 samples a pixel: smooth silhouettes at 4x the work of one
BYTES_PER_SAMPLE = 32  # the z-buffer (8) and the colour buffer (24) per supersampled pixel


@dataclass(frozen=True, eq=False)
class TurntableRequest:
    """The ``mesh`` seen from ``elevation`` degrees while it turns ``turns`` times in ``seconds``
    at ``fps``, in frames of ``width`` x ``height``."""

    mesh: MeshRequest
    seconds: float = TURNTABLE_DEFAULTS["seconds"]
    fps: float = TURNTABLE_DEFAULTS["fps"]
    width: int = TURNTABLE_DEFAULTS["width"]
    height: int = TURNTABLE_DEFAULTS["height"]
    elevation: float = TURNTABLE_DEFAULTS["elevation"]
    turns: int = TURNTABLE_DEFAULTS["turns"]

    def __post_init__(self) -> None:
        for name in ("seconds", "fps", "elevation", "turns"):
            check_param(name, getattr(self, name), TURNTABLE_RANGES[name])
        check_param("frame", self.width, TURNTABLE_RANGES["frame"])
        check_param("frame", self.height, TURNTABLE_RANGES["frame"])

    @property
    def frame_count(self) -> int:
        """Frames in the file: ``seconds`` x ``fps``, at least one."""
        return max(1, round(self.seconds * self.fps))

    def azimuths(self) -> np.ndarray:
        """Each frame's turn in degrees: evenly round, so the frame after the last is the first."""
        return (360.0 * self.turns * np.arange(self.frame_count) / self.frame_count) % 360.0

    def options(self) -> dict[str, Any]:
        """The turntable's own part of the recipe."""
        names = ("seconds", "fps", "width", "height", "elevation", "turns")
        return {name: getattr(self, name) for name in names}

    def recipe(self) -> dict[str, Any]:
        """The mesh's recipe with the turntable's options, written as an animation's recipe (its
        first keyframe is the mesh's latent), so the animation readers read it back."""
        mesh = self.mesh.recipe()
        return {**mesh, "keyframes": [mesh.get("z", [0.0])], "turntable": self.options()}

    def check_output(self, out: str | Path, force: bool = False) -> str:
        """Before the mesh is built: the output's kind and limits, the frames' memory and size
        within budget, and no different animation replaced unless ``force``. Returns the kind."""
        from ..io.animation import check_animation_output
        from ..io.budget import check_budget
        from ..io.metadata import read_animation_recipe
        from ..io.names import refuse_replacing
        from .request import ANIMATION_BEST_RATIO

        kind = check_animation_output(out, self.width, self.height, self.fps)
        self.mesh.check()
        pixels = float(self.width) * self.height
        check_budget(
            f"{self.frame_count} turntable frames of {self.width}x{self.height}",
            memory=pixels * SUPERSAMPLE**2 * BYTES_PER_SAMPLE + CANDIDATES * 60.0,
            output=(pixels * self.frame_count * 3 / ANIMATION_BEST_RATIO[kind], out),
        )
        if kind != "frames":
            recipe = self.recipe()

            def same() -> bool:
                there = read_animation_recipe(out)
                return there.get("turntable") == recipe["turntable"] and same_mesh_recipe(there, recipe)

            refuse_replacing(out, same, force, "a different animation")
        return kind


def resolve_turntable(
    model: Any = None,
    *,
    recipe: dict[str, Any] | None = None,
    seconds: float | None = None,
    fps: float | None = None,
    frame: tuple[int, int] | None = None,
    elevation: float | None = None,
    turns: int | None = None,
    **mesh_options: Any,
) -> TurntableRequest:
    """The turntable these arguments ask for: the mesh by ``resolve_mesh`` (``mesh_options`` are its
    keywords), each turntable option the argument's, else the ``recipe``'s, else the default;
    ``frame`` is (width, height) in pixels."""
    recipe = recipe or {}
    found = recipe.get("turntable")
    saved: dict[str, Any] = found if isinstance(found, dict) else {}
    mesh = resolve_mesh(model, recipe=recipe, **mesh_options)
    defaults = dict(TURNTABLE_DEFAULTS)
    if isinstance(mesh, ReliefRequest):
        defaults["elevation"] = RELIEF_ELEVATION
    if frame is not None and len(frame) != 2:
        raise ParamError("frame", f"must be (width, height), got {frame!r}")
    width, height = frame if frame is not None else (None, None)
    given = {"seconds": seconds, "fps": fps, "width": width, "height": height, "elevation": elevation, "turns": turns}
    chosen: dict[str, Any] = {}
    for name, value in given.items():  # the recipe's values are untrusted: checked like arguments
        param = "frame" if name in ("width", "height") else name
        value = value if value is not None else saved.get(name, defaults[name])
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ParamError(param, f"must be a finite number, got {str(value)[:40]!r}")
        whole = name in ("width", "height", "turns")
        if whole and value != int(value):
            raise ParamError(param, f"must be a whole number, got {value}")
        chosen[name] = int(value) if whole else float(value)
    return TurntableRequest(mesh, **chosen)


@dataclass(frozen=True)
class TurntableResult:
    """What ``save_turntable`` wrote: the file, its frames, and the mesh's vertex and face counts."""

    path: Path
    frames: int
    vertices: int
    faces: int


def turntable_view(request: TurntableRequest, on_planes: Callable[[int], None] | None = None) -> MeshView:
    """The request's mesh, built (``render.mesh.mesh_arrays``) and ready to be drawn from any side."""
    verts, faces, colours, _ = mesh_arrays(request.mesh, on_planes)
    return MeshView.of(verts, faces, colours)


def turntable_frames(
    request: TurntableRequest, view: MeshView, on_frame: Callable[[int], None] | None = None
) -> Iterator[np.ndarray]:
    """The request's frames of ``view``, uint8 [H, W, 3], one at a time."""
    for azimuth in request.azimuths():
        yield view.frame(request.width, request.height, float(azimuth), request.elevation, supersample=SUPERSAMPLE)
        if on_frame is not None:
            on_frame(1)


def save_turntable(
    request: TurntableRequest,
    out: str | Path,
    *,
    force: bool = False,
    on_planes: Callable[[int], None] | None = None,
    on_frame: Callable[[int], None] | None = None,
) -> TurntableResult:
    """Build the request's mesh and stream its turntable into ``out`` (.mp4, .gif, .webp, or a new
    folder of numbered PNGs), atomically, carrying the recipe. Everything about the output is
    checked before the mesh is built; a different animation at ``out`` is refused unless ``force``.
    ``on_planes(n)`` reports grid planes sampled, ``on_frame(n)`` frames drawn."""
    from ..io.animation import save_animation
    from ..io.metadata import animation_comment

    request.check_output(out, force)
    view = turntable_view(request, on_planes)
    path = save_animation(
        out,
        turntable_frames(request, view, on_frame),
        request.width,
        request.height,
        3,
        request.fps,
        comment=animation_comment(request.recipe()),
        frame_count=request.frame_count,
    )
    return TurntableResult(path, request.frame_count, len(view.verts), len(view.faces))
