"""``save_poster``: a picture request rendered straight into a PNG that carries its recipe, at any size."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..configs.view import View
from ..io.metadata import png_text
from ..io.png import write_png
from .renderer import Renderer
from .request import PictureRequest, check_poster_space

if TYPE_CHECKING:
    from .model import Model

__all__ = ["check_poster_space", "save_poster"]


def save_poster(
    request: PictureRequest | Any,
    *args: Any,
    path: str | Path | None = None,
    renderer: Renderer | None = None,
    on_rows: Callable[[int], None] | None = None,
    force: bool = False,
    **loose: Any,
) -> Path:
    """Render ``request`` straight into the PNG ``path`` (bounded memory at any size); the PNG
    carries the recipe that ``--from`` renders again. ``path`` defaults to the request's name.

    ``renderer`` (default: this process) computes the bands; a cluster's renders them in
    parallel and hands them back in order, so the file is the same byte for byte.
    ``on_rows(n)`` is called after each band of n rows (progress; raising there stops the render
    and leaves no file). A different picture already at ``path`` is refused unless ``force``.

    The older loose form ``save_poster(model, z, width, height, path, view, supersample, bits,
    chunk, renderer, on_rows)`` still works for this release and warns.
    """
    if not isinstance(request, PictureRequest):
        request, path, renderer, on_rows = _from_loose(request, args, path, renderer, on_rows, loose)
    elif args or loose:
        raise TypeError("save_poster(request, path=..., renderer=..., on_rows=..., force=...) takes no other arguments")
    path = Path(path) if path is not None else request.default_name()
    request.check_output(path, force)
    text = png_text(request.recipe())
    bands = (band[0] for band in (renderer or Renderer()).bands(request.model, request.z, request.canvas, on_rows))
    return write_png(path, request.width, request.height, request.model.channels, bands, bits=request.bits, text=text)


_LOOSE = ("z", "width", "height", "path", "view", "supersample", "bits", "chunk", "renderer", "on_rows")


def _from_loose(model: Model, args: tuple, path: Any, renderer: Any, on_rows: Any, loose: dict[str, Any]) -> tuple:
    """The request of the loose-argument form (kept for one release), and its path, renderer, on_rows."""
    warnings.warn(
        "save_poster(model, z, width, height, path, ...) is deprecated: pass a request "
        "(cppnart.resolve_picture(...)) and path=",
        DeprecationWarning,
        stacklevel=3,
    )
    values: dict[str, Any] = dict(zip(_LOOSE, args))
    values.update(loose)
    values.setdefault("path", path)
    values.setdefault("renderer", renderer)
    values.setdefault("on_rows", on_rows)
    view = values.get("view") or View()
    request = PictureRequest(
        model,
        values["z"],
        model.canvas(values["width"], values["height"], view, values.get("supersample", 1), values.get("chunk")),
        values.get("bits", 8),
        model.seed,
    )
    return request, values["path"], values["renderer"], values["on_rows"]
