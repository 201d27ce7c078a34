"""Posters for the page: one render at a time through ``render.poster.save_poster``, cancellable.

The page polls the job while it runs; a job nobody has polled for ``heartbeat`` seconds belongs
to a page that went away, and stops at the next band (as does one the page cancels). The file is
written through ``atomic_output``, so a stopped poster leaves nothing in the output folder.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..configs.view import View
from ..io.names import holds_picture
from ..render.model import Model
from ..render.poster import save_poster
from ..render.request import PictureRequest
from .catalogue import RequestError


def _holds(path: Path, request: PictureRequest) -> bool:
    try:
        return holds_picture(path, request.recipe())
    except Exception:  # not a cppnart PNG, damaged: another picture
        return False


class PosterStopped(Exception):
    """Raised inside the render to stop it: cancelled, or the page stopped polling."""


@dataclass
class PosterJob:
    """The state of one poster render, as the page sees it."""

    name: str
    height: int
    rows: int = 0
    state: str = "running"  # running | done | cancelled | failed
    message: str = ""
    polled: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)

    def as_json(self) -> dict[str, Any]:
        """The job as the page reads it: name, state, progress, message and the file's URL once done."""
        return {
            "name": self.name,
            "state": self.state,
            "progress": self.rows / max(1, self.height),
            "message": self.message,
            "url": f"/files/{self.name}" if self.state == "done" else None,
        }


class PosterDesk:
    """Runs posters one at a time in a worker thread, into ``out_dir``."""

    def __init__(self, out_dir: Path, heartbeat: float = 5.0) -> None:
        self.out_dir = out_dir
        self.heartbeat = heartbeat
        self.job: PosterJob | None = None
        self._busy = threading.Lock()

    def file_name(self, request: PictureRequest) -> str:
        """The request's own name (what `cppnart render` calls the same picture); ``-2``, ``-3``, ...
        only when that file already holds a different picture."""
        name = request.default_name().name
        base, n = name.removesuffix(".png"), 1
        while (self.out_dir / name).exists() and not _holds(self.out_dir / name, request):
            n += 1
            name = f"{base}-{n}.png"
        return name

    def start(
        self, model: Model, z: np.ndarray, width: int, height: int, view: View, supersample: int, seed: int | None
    ) -> PosterJob:
        """Start rendering the picture of ``model`` at ``z`` (``seed``: the preset's weights seed) in a
        worker thread; 409 while another poster renders."""
        request = PictureRequest(model, z, model.canvas(width, height, view, supersample), 8, seed)
        if not self._busy.acquire(blocking=False):
            raise RequestError("a poster is already rendering; wait for it or cancel it", 409)
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            job = PosterJob(self.file_name(request), height)
        except BaseException:
            self._busy.release()
            raise
        self.job = job

        def on_rows(rows: int) -> None:
            job.rows += rows
            if job.cancel.is_set() or time.monotonic() - job.polled > self.heartbeat:
                raise PosterStopped

        def run() -> None:
            try:
                # force: file_name chose a free name or one that already holds this very picture
                save_poster(request, path=self.out_dir / job.name, on_rows=on_rows, force=True)
                job.state = "done"
            except PosterStopped:
                job.state = "cancelled"
            except Exception as exc:  # shown on the page as one line
                job.state, job.message = "failed", str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            finally:
                self._busy.release()

        threading.Thread(target=run, name="cppnart-poster", daemon=True).start()
        return job

    def poll(self) -> PosterJob | None:
        """The current job, marked as polled now (a job nobody polls for ``heartbeat`` seconds stops)."""
        if self.job is not None:
            self.job.polled = time.monotonic()
        return self.job

    def stop(self) -> None:
        """Ask the running poster to stop at its next band."""
        if self.job is not None:
            self.job.cancel.set()

    def wait(self, timeout: float = 30.0) -> bool:
        """Until no poster runs (for shutdown and tests); False on timeout."""
        if self._busy.acquire(timeout=timeout):
            self._busy.release()
            return True
        return False
