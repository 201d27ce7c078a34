"""The models one viewer serves, and the checks every request's parameters go through.

Requests name models from this catalogue only (the model the user started the viewer with, plus
the bundled random-CPPN presets), never a path, so a request cannot make the server read a file.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..configs.cppn import CPPNConfig
from ..configs.presets import load_preset, preset_names
from ..configs.view import View
from ..errors import UserError
from ..render.model import Model, load_model

MAX_FRAME_SIDE = 4096  # server-rendered frames: a window's worth of pixels
MAX_POSTER_SIDE = 16384  # posters: 268 Mpx at most through the chunked renderer
MAX_SUPERSAMPLE = 8
MAX_SEED = 2**32 - 1
SHEET_CELLS = 64


class RequestError(UserError):
    """A request the server refuses: a one-line message and an HTTP status (400 or 404)."""

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

    @classmethod
    def around(cls, model: Model, name: str, presets: bool = True) -> Catalogue:
        """``model`` under ``name`` first, then every bundled random-CPPN preset not already there."""
        models: dict[str, Model | None] = {name: model}
        if presets:
            for preset in coordinate_presets():
                models.setdefault(preset, None)  # loaded on first use
        return cls(models, name)

    def names(self) -> list[str]:
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


def get_int(params: Any, key: str, default: int | None = None, low: int = 0, high: int = MAX_SEED) -> int:
    """An integer parameter within [low, high]; a one-line error naming it otherwise."""
    text = params.get(key)
    if text is None or text == "":
        if default is None:
            raise RequestError(f"'{key}' is missing")
        return default
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise RequestError(f"'{key}' must be a whole number, got '{text}'") from None
    if not low <= value <= high:
        raise RequestError(f"'{key}' must be between {low} and {high}, got {value}")
    return value


def get_float(params: Any, key: str, default: float) -> float:
    text = params.get(key)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise RequestError(f"'{key}' must be a number, got '{text}'") from None
    if not math.isfinite(value):
        raise RequestError(f"'{key}' must be a finite number, got '{text}'")
    return value


def get_view(params: Any) -> View:
    zoom = get_float(params, "zoom", 1.0)
    if zoom <= 0:
        raise RequestError(f"'zoom' must be positive, got {zoom:g}")
    return View(zoom=zoom, center=(get_float(params, "cx", 0.0), get_float(params, "cy", 0.0)))


def get_size(params: Any, limit: int) -> tuple[int, int]:
    return (
        get_int(params, "width", low=1, high=limit),
        get_int(params, "height", low=1, high=limit),
    )


def get_z(params: Any, model: Model) -> np.ndarray:
    """The latent [1, Z]: ``z`` as comma-separated numbers, else the one ``render --seed zseed`` draws."""
    text = params.get("z")
    if text is None or text == "":
        return model.sample_z(get_int(params, "zseed", 0))
    values = text if isinstance(text, list) else str(text).split(",")
    try:
        z = np.asarray([float(v) for v in values], np.float32)
    except (TypeError, ValueError):
        raise RequestError("'z' must be comma-separated numbers") from None
    if z.size != model.z_dim:
        raise RequestError(f"'z' has {z.size} values but the model's latent has {model.z_dim}")
    if not np.isfinite(z).all():
        raise RequestError("'z' must be finite numbers")
    return z[None]
