"""torch module -> self-contained ONNX model with dynamic axes and cppnart metadata, verified by ORT.

    proto = export_onnx(generator, {"coords": coords, "z": z}, output_names=["rgb"],
                        dynamic={"coords": {0: "N"}, "z": {0: "B"}},
                        metadata={"kind": "glyph", "interface": "coords", ...})
    worst = verify_onnx(proto, generator, {"coords": coords, "z": z})   # max |ORT - torch|
    save_model(proto, run / "model.onnx")                               # graph.export

Uses the dynamo exporter (torch >= 2.9 default) with ``dynamic_shapes``, keeps the weights
inside the file (``external_data=False``: no ``.onnx.data`` side file) and hides the exporter's
progress prints and warnings. The module is exported in eval mode (BatchNorm uses its running
statistics) and its training flag is restored afterwards.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from typing import Any

import numpy as np

VERIFY_ATOL = 1e-4


@contextlib.contextmanager
def _quiet() -> Any:
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def export_onnx(
    module,
    inputs: dict[str, Any],
    *,
    output_names: list[str],
    dynamic: dict[str, dict[int, str]] | None = None,
    metadata: dict[str, Any] | None = None,
):
    """Export ``module(**inputs)``; ``inputs`` keys must be the forward's argument names.

    ``dynamic`` names the dynamic axes per input, e.g. ``{"z": {0: "B"}}``; dimensions that share
    a name share a symbol. Returns an ``onnx.ModelProto`` with ``metadata`` as metadata_props.
    """
    import json

    import onnx
    import torch
    from torch.export import Dim

    from ..__about__ import __version__

    dims: dict[str, Any] = {}
    dynamic_shapes: dict[str, Any] = {
        name: {axis: dims.setdefault(label, Dim(label)) for axis, label in axes.items()}
        for name, axes in (dynamic or {}).items()
    }
    for name in inputs:
        dynamic_shapes.setdefault(name, None)
    was_training = module.training
    module.eval()
    try:
        with _quiet(), torch.no_grad():
            program = torch.onnx.export(
                module,
                (),
                kwargs=dict(inputs),
                dynamo=True,
                input_names=list(inputs),
                output_names=output_names,
                dynamic_shapes=dynamic_shapes,
                external_data=False,
                optimize=True,
                verbose=False,
            )
        assert program is not None  # dynamo=True always returns its program
        proto = program.model_proto
    finally:
        module.train(was_training)
    meta = {"version": __version__, **(metadata or {})}
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()})
    proto.producer_name = "cppnart"
    return proto


def run_onnx(proto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Every output of the ONNX model ``proto`` for ``inputs`` (cast to float32), run by onnxruntime on the CPU."""
    from ..render.runtime import create_session

    session = create_session(proto.SerializeToString(), "cpu")
    return session.run(None, {k: np.asarray(v, dtype=np.float32) for k, v in inputs.items()})


def verify_onnx(proto, module, inputs: dict[str, Any], atol: float = VERIFY_ATOL) -> float:
    """Run the ONNX model in onnxruntime and the module in torch (eval mode) on ``inputs``.

    Returns the largest absolute difference of the first output; raises RuntimeError above
    ``atol`` (an exporter bug must not pass silently into a user's renders).
    """
    import torch

    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            expected = module(**{k: torch.as_tensor(v).float() for k, v in inputs.items()})
    finally:
        module.train(was_training)
    expected = expected.detach().cpu().numpy()
    got = run_onnx(proto, {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else v) for k, v in inputs.items()})[0]
    if got.shape != expected.shape:
        raise RuntimeError(f"ONNX output shape {got.shape} != torch {expected.shape}")
    worst = float(np.max(np.abs(got - expected))) if got.size else 0.0
    if worst > atol:
        raise RuntimeError(f"ONNX export differs from torch by {worst:.3g} (> {atol})")
    return worst
