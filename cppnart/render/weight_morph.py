"""Morph between CPPNs of one architecture by mixing their weights (e.g. two `dream` runs).

    frames = weight_morph_frames([load_weights("runs/d3/weights.npz"), load_weights("runs/d7/weights.npz")],
                                 256, 256, frames=48, ease="smooth", loop=True)

A latent morph walks through one model's inputs; this walks between models: every frame is the
CPPN whose arrays are (1 - t) a + t b, built into ONNX and rendered in bands like any model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypedDict, Unpack

import numpy as np

from ..errors import UserError
from ..graph.export import cppn_model
from ..graph.weights import CPPNWeights, lerp_weights, load_weights, same_architecture
from ..io.png import quantize
from ..latent.paths import path_length, plan_path
from .bands import render_array
from .canvas import Canvas
from .runtime import create_session

WEIGHTS_FILE = "weights.npz"


def weights_of_runs(folders: list[Path]) -> list[CPPNWeights] | None:
    """The CPPN weights of each folder when every keyframe is a run folder with weights.npz, else None."""
    if not folders or not all(Path(f).is_dir() and (Path(f) / WEIGHTS_FILE).is_file() for f in folders):
        return None
    weights = [load_weights(Path(f) / WEIGHTS_FILE) for f in folders]
    for folder, w in zip(folders[1:], weights[1:]):
        if not same_architecture(weights[0], w):
            raise UserError(f"'{folder}' has another CPPN architecture than '{folders[0]}'; weights cannot be mixed")
    return weights


class WeightMorphPlan(TypedDict, total=False):
    """A weight morph's path (``latent.paths.plan_path``'s), as keyword arguments: ``frames`` per
    transition, ``hold`` frames on each keyframe, ``loop`` back to the first, ``ease`` (a name)."""

    frames: int
    hold: int
    loop: bool
    ease: str


PLAN_DEFAULTS: WeightMorphPlan = {"frames": 30, "hold": 0, "loop": False, "ease": "smooth"}


def weight_morph_plan(function: str, plan: WeightMorphPlan) -> WeightMorphPlan:
    """``plan`` with the defaults for what it leaves out, in ``PLAN_DEFAULTS``' order; a key it
    does not know is the TypeError a call with a wrong keyword raises (``function`` names the call)."""
    for key in plan:
        if key not in PLAN_DEFAULTS:
            raise TypeError(f"{function}() got an unexpected keyword argument '{key}'")
    return {**PLAN_DEFAULTS, **plan}


def weight_morph_frames(
    weights: list[CPPNWeights],
    width: int,
    height: int,
    *,
    device: str = "auto",
    on_frame: Callable[[int], None] | None = None,
    **plan: Unpack[WeightMorphPlan],
) -> Iterator[np.ndarray]:
    """uint8 frames [H, W, C] through the keyframe CPPNs, ``frames`` per transition (``plan``:
    ``WeightMorphPlan``, each left out as in ``PLAN_DEFAULTS``)."""
    path = weight_morph_plan("weight_morph_frames", plan)  # refused on the call, as a wrong keyword is
    return _mixed_frames(weights, width, height, path, device, on_frame)


def _mixed_frames(
    weights: list[CPPNWeights], width: int, height: int, path: WeightMorphPlan, device: str,
    on_frame: Callable[[int], None] | None,
) -> Iterator[np.ndarray]:  # fmt: skip
    """``weight_morph_frames``' frames, one CPPN of mixed weights built and rendered per frame."""
    frames, hold, loop = path["frames"], path["hold"], path["loop"]
    keys = np.arange(len(weights), dtype=np.float32)[:, None]
    positions = plan_path(keys, frames, hold, loop, path["ease"], "lerp")[:, 0]
    assert len(positions) == path_length(len(weights), frames, hold, loop)
    z = np.zeros((1, weights[0].z_dim), np.float32)
    for p in positions:
        i = min(int(np.floor(p)), len(weights) - 2) if len(weights) > 1 else 0
        mixed = lerp_weights(weights[i], weights[min(i + 1, len(weights) - 1)], float(p - i))
        proto = cppn_model(mixed, preset="weight-morph", seed=None, config={})
        session = create_session(proto.SerializeToString(), device)
        yield quantize(render_array(session, z, Canvas(width, height)))[0]
        if on_frame is not None:
            on_frame(1)
