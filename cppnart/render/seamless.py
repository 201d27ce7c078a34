"""Seamless tiles: the model a ``--tile`` render uses, and which way it tiles.

A random CPPN (a preset and a seed) gets a torus coordinate front whose periods are the
canvas's span, so its picture is one period in x and in y (``graph.periodic``); any other
coordinate model (a trained CPPN, a file) tiles by reflection, which changes no weight. The
periods follow the view only (span = 2 W / min(W, H) / zoom), never the pixel count, so a tiled
render at twice the size is the same picture.

Other generator kinds add their own torus front to ``TORUS_FRONTS`` (kind -> builder); bred
(NEAT) CPPNs are meant to register theirs here, and until then they tile by reflection.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ..errors import ParamError
from .canvas import Canvas
from .model import Model

TILE_METHODS = ("torus", "reflect")
Periods = tuple[float, float]


def periods_of(canvas: Canvas) -> Periods:
    """The picture's span in plane units along x and y: one period of a tile.

    >>> periods_of(Canvas(200, 100))
    (4.0, 2.0)
    """
    short = min(canvas.width, canvas.height)
    zoom = canvas.view.zoom
    return (2.0 * canvas.width / short / zoom, 2.0 * canvas.height / short / zoom)


def _torus_cppn(model: Model, periods: Periods) -> Model:
    """A preset's random CPPN rebuilt with the torus front (same seed, same weights, two rows more)."""
    from ..configs.cppn import CPPNConfig
    from ..configs.schema import from_dict
    from ..graph.export import cppn_model
    from ..graph.periodic import torus_weights
    from ..graph.weights import random_weights

    config = from_dict(CPPNConfig, json.loads(model.metadata["config"]), "the model's config")
    seed = int(model.seed or 0)
    weights = torus_weights(random_weights(config, seed), periods, seed, config.init_scale)
    extra = {"tile": "torus", "tile_periods": list(periods)}
    proto = cppn_model(
        weights, preset=config.name, seed=seed, config=json.loads(model.metadata["config"]),
        z_prior=config.z_prior, extra=extra,
    )  # fmt: skip
    return Model(proto.SerializeToString(), {p.key: p.value for p in proto.metadata_props}, model.source, model.device)


# kind -> builder of that kind's torus front; a kind not here (or a model not from a preset) reflects.
TORUS_FRONTS: dict[str, Callable[[Model, Periods], Model]] = {"cppn": _torus_cppn}


def tile_method(model: Model) -> str:
    """'torus' for a model whose coordinate inputs can be rebuilt (a preset's random CPPN, or a
    kind in ``TORUS_FRONTS``), 'reflect' for any other coordinate model; image models cannot tile."""
    if model.interface != "coords":
        raise ParamError(
            "tile",
            f"'{model.source}' draws a fixed-size image, not a function of coordinates, so it cannot tile; "
            "render it without {param}",
        )
    if model.from_preset and model.kind in TORUS_FRONTS and model.metadata.get("config"):
        return "torus"
    return "reflect"


def tiled_model(model: Model, canvas: Canvas) -> Model:
    """The model that draws ``canvas`` as a seamless tile (see the module docstring); a model that
    is already tiled is returned as it is."""
    if model.metadata.get("tile"):
        return model
    if tile_method(model) == "torus":
        return TORUS_FRONTS[model.kind](model, periods_of(canvas))
    import onnx

    from ..graph.periodic import reflect_graph

    proto = reflect_graph(onnx.load_from_string(model.onnx_bytes), canvas.view.center, periods_of(canvas))
    metadata = {**model.metadata, "tile": "reflect", "tile_periods": json.dumps(list(periods_of(canvas)))}
    return Model(proto.SerializeToString(), metadata, model.source, model.device)


def reseeded(model: Model, seed: int) -> Model:
    """``model.reseeded(seed)`` that stays a seamless tile when ``model`` is one (a sheet's cells)."""
    fresh = model.reseeded(seed)
    if model.metadata.get("tile") != "torus" or fresh is model:
        return fresh
    periods = json.loads(model.metadata["tile_periods"])
    return TORUS_FRONTS[model.kind](fresh, (float(periods[0]), float(periods[1])))
