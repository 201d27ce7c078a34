"""Morph between CPPNs of one architecture by mixing their weights (e.g. two `dream` runs).

    frames = weight_morph_frames([load_weights("runs/d3/weights.npz"), load_weights("runs/d7/weights.npz")],
                                 256, 256, frames=48, ease="smooth", loop=True)

A latent morph walks through one model's inputs; this walks between models: every frame is the
CPPN whose arrays are (1 - t) a + t b, built into ONNX and rendered in bands like any model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

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


def weight_morph_frames(
    weights: list[CPPNWeights],
    width: int,
    height: int,
    *,
    frames: int = 30,
    hold: int = 0,
    loop: bool = False,
    ease: str = "smooth",
    device: str = "auto",
    on_frame: Callable[[int], None] | None = None,
) -> Iterator[np.ndarray]:
    """uint8 frames [H, W, C] through the keyframe CPPNs, ``frames`` per transition."""
    keys = np.arange(len(weights), dtype=np.float32)[:, None]
    positions = plan_path(keys, frames, hold, loop, ease, "lerp")[:, 0]
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
