"""The models one viewer serves, and the checks every request's parameters go through.

Requests name models from this catalogue only (the model the user started the viewer with, plus
the bundled random-CPPN presets), never a path, so a request cannot make the server read a file.
Every number a request carries (query text or JSON) is checked by ``configs.schema.check_param``
against the library's ``RANGES``, narrowed where one request from the page may ask less
(``narrowed``): the viewer refuses the zoom, centre and seeds the CLI refuses, with its words.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..configs.cppn import CPPNConfig
from ..configs.presets import load_preset, preset_names
from ..configs.schema import RANGES, Range, check_param
from ..configs.view import View
from ..errors import ParamError, UserError
from ..render.canvas import Canvas
from ..render.model import Model, load_model

MAX_FRAME_SIDE = 4096  # server-rendered frames: a window's worth of pixels
MAX_POSTER_SIDE = 16384  # posters: 268 Mpx at most through the chunked renderer
MAX_SUPERSAMPLE = 8
SHEET_CELLS = 64
TILED_KEPT = 8  # seamless tiles kept built (each holds an onnxruntime session once it has drawn)


class RequestError(UserError):
    """A request the server refuses: a one-line message and an HTTP status (400, 404, 409, 413, 415, 503)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def coordinate_presets() -> list[str]:
    """The bundled presets that are random CPPNs (not training recipes)."""
    return [name for name in preset_names() if isinstance(load_preset(name), CPPNConfig)]


@dataclass
class Catalogue:
    """Named models; presets are re-drawn for each weight seed asked (a few kept in memory)."""

    models: dict[str, Model | None]  # None: a bundled preset not loaded yet
    default: str
    _cache: OrderedDict[tuple[str, int], Model] = field(default_factory=OrderedDict)
    _tiles: OrderedDict[tuple[Any, ...], tuple[Model, Model]] = field(default_factory=OrderedDict)
    _tiles_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def around(cls, model: Model, name: str, presets: bool = True) -> Catalogue:
        """``model`` under ``name`` first, then every bundled random-CPPN preset not already there."""
        models: dict[str, Model | None] = {name: model}
        if presets:
            for preset in coordinate_presets():
                models.setdefault(preset, None)  # loaded on first use
        return cls(models, name)

    def names(self) -> list[str]:
        """The model names the page may ask for, in menu order."""
        return list(self.models)

    def get(self, name: str, seed: int | None) -> Model:
        """The model ``name`` with weights from ``seed`` (presets) or as stored (model files)."""
        if name not in self.models:
            raise RequestError(f"unknown model '{name}'; this viewer serves {', '.join(self.models)}", 404)
        base = self.models[name]
        if base is None:
            base = self.models[name] = load_model(name, seed=0)
        if not base.from_preset or seed is None or seed == base.seed:
            return base
        key = (name, seed)
        if key not in self._cache:
            self._cache[key] = base.reseeded(seed)
            while len(self._cache) > 8:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]

    def tiled(self, model: Model, canvas: Canvas) -> Model:
        """``render.seamless.tiled_model(model, canvas)``, the model that draws ``canvas`` as a
        seamless tile, kept for the next frames of the same tile (a torus depends on the canvas's
        periods only, so a pan reuses it; a reflection also on the view's centre, where it folds)."""
        from ..render.seamless import periods_of, tile_method, tiled_model

        method = tile_method(model)  # refuses an image model, with the words `render --tile` uses
        key: tuple[Any, ...] = (id(model), method, periods_of(canvas))
        if method == "reflect":
            key += (tuple(canvas.view.center),)
        with self._tiles_lock:
            kept = self._tiles.get(key)
            if kept is not None and kept[0] is model:
                self._tiles.move_to_end(key)
                return kept[1]
        tile = tiled_model(model, canvas)
        with self._tiles_lock:
            self._tiles[key] = (model, tile)
            while len(self._tiles) > TILED_KEPT:
                self._tiles.popitem(last=False)
        return tile


def tiling_of(model: Model) -> str | None:
    """How ``model`` tiles ('torus' or 'reflect', ``render.seamless.tile_method``), None for an image model."""
    from ..render.seamless import tile_method

    return tile_method(model) if model.interface == "coords" else None


# Query keys -> the library range (configs.schema.RANGES) they are checked against.
LIBRARY_KEYS = {"cx": "center", "cy": "center", "zseed": "seed", "first": "seed"}
MAX_NUMBER_TEXT = 64  # characters: no number a page sends is longer


def narrowed(key: str, high: int, protects: str) -> Range:
    """The library's range for ``key``, with its upper bound lowered to what one viewer request may ask."""
    library = RANGES[key]
    return Range(library.low, min(library.high, high), protects)


FRAME_SIDE = narrowed("width", MAX_FRAME_SIDE, "a server-rendered frame is a window's worth of pixels")
POSTER_SIDE = narrowed("width", MAX_POSTER_SIDE, "a poster from the page; render larger with `cppnart render`")
POSTER_SUPERSAMPLE = narrowed("supersample", MAX_SUPERSAMPLE, "a poster from the page; `cppnart render` goes to 16")
SHEET_COUNT = narrowed("count", SHEET_CELLS, "cells of one contact sheet")


def _parsed(params: Any, key: str, integer: bool) -> Any:
    """The value of ``key`` as given: a JSON number stays as it is, query text becomes a number."""
    value = params.get(key)
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return None
    kind = "a whole number" if integer else "a number"
    if len(text) > MAX_NUMBER_TEXT:
        raise ParamError(key, f"must be {kind}, got {len(text)} characters")
    try:
        if integer:  # int() would also take '1_000' and other scripts' digits
            if not re.fullmatch(r"[+-]?[0-9]+", text):
                raise ValueError(text)
            return int(text)
        return float(text)
    except ValueError:
        raise ParamError(key, f"must be {kind}, got {text[:40]!r}") from None


def get_int(params: Any, key: str, default: int | None = None, spec: Range | None = None) -> int:
    """A whole-number parameter checked by ``check_param`` against ``spec`` (the library's range for
    the key unless given: ``RANGES``, through ``LIBRARY_KEYS``); a one-line ``ParamError`` otherwise."""
    value = _parsed(params, key, integer=True)
    if value is None:
        if default is None:
            raise RequestError(f"{key} is missing")
        return default
    return int(check_param(key, value, spec or RANGES[LIBRARY_KEYS.get(key, key)]))


def get_float(params: Any, key: str, default: float) -> float:
    """A number parameter checked against the library's range for the key (finite, in ``RANGES``)."""
    value = _parsed(params, key, integer=False)
    if value is None:
        return default
    return float(check_param(key, value, RANGES[LIBRARY_KEYS.get(key, key)]))


FLAG_TEXT = {"1": True, "true": True, "0": False, "false": False, "": False}


def get_flag(params: Any, key: str) -> bool:
    """A yes/no parameter: JSON true/false, or query text 1, 0, true, false (absent or empty: no)."""
    value = params.get(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in FLAG_TEXT:
        return FLAG_TEXT[value.strip().lower()]
    shown = value[:40] if isinstance(value, str) else type(value).__name__
    raise ParamError(key, f"must be 1 or 0 (true or false), got {shown!r}")


def get_view(params: Any) -> View:
    """``zoom``, ``cx`` and ``cy`` within the library's ranges for a zoom and a centre."""
    center = (get_float(params, "cx", 0.0), get_float(params, "cy", 0.0))
    return View(zoom=get_float(params, "zoom", 1.0), center=center)


def get_size(params: Any, side: Range) -> tuple[int, int]:
    """``width`` and ``height``, each within ``side`` (FRAME_SIDE or POSTER_SIDE)."""
    return get_int(params, "width", spec=side), get_int(params, "height", spec=side)


def get_z(params: Any, model: Model) -> np.ndarray:
    """The latent [1, Z]: ``z`` as numbers (a JSON list, or comma-separated), checked by the model
    (``Model.check_z``: its size, finite), else the one ``render --seed zseed`` draws."""
    text = params.get("z")
    if text is None or text == "":
        return model.sample_z(get_int(params, "zseed", 0))
    values = text if isinstance(text, list) else str(text).split(",")
    if len(values) > RANGES["z_dim"].high:
        raise ParamError("z", f"has {len(values)} values; the model's latent has {model.z_dim}")
    if any(isinstance(v, bool) or not isinstance(v, (int, float, str)) for v in values):
        raise ParamError("z", "must be numbers")
    try:
        z = np.asarray([float(v) for v in values], np.float64)
    except ValueError:
        raise ParamError("z", "must be comma-separated numbers") from None
    return model.check_z(z, "z")[:1]
