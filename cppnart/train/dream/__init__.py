"""Feature visualisation with CPPNs: find the input pattern a trained network's unit responds to.

    target = load_target("runs/clf")
    result = dream(target, DreamSettings(layer="conv3", units=(5,)), Path("runs/d5"))
    result.report["responded"], result.models           # report.json's content, model.onnx paths

Split the way lucid and lucent split feature visualisation:

- ``settings``: ``DreamSettings``, checked against the target with the project's ranges;
- ``params``: the image parameterisations (``cppn``: one small CPPN per solution, stacked and
  run with ``torch.func.vmap``, exported as a ``model.onnx`` that `cppnart render` draws at any
  size; ``fft`` and ``pixel``: baselines at the optimisation size only);
- ``objectives``: composable values, ``channel("conv3", 5) - 0.5 * diversity("conv3")``;
- ``transforms``: kornia's robustness transforms (pad, jitter, scale, rotate);
- ``climb``: the loop, which returns why it stopped (steps, converged, interrupted);
- ``export``, ``pictures``, ``report``: the model files, progress.png and sheet.png, report.json;
- ``run``: ``dream`` end to end; ``dream_request``, what the CLI asks, checked before any work.

The start follows the filter-visualisation series: a pool of random starts at several scales
(CPPNs with coarse to fine input scales; for ``pixel`` and ``fft``, noise laid on 3x3, 7x7,
14x14 and 28x28 grids with a weight per scale) is probed first and each unit starts from the
start it responds to most. A solution is judged on what the user gets (the model.onnx drawn by
onnxruntime): it responded when its objective beats its start; a unit that no start moves off
zero (a dead ReLU) is reported as dead, one that fell as fell, never as a "result".
"""

from __future__ import annotations

from .climb import Stop, Trace, climb, log_steps
from .objectives import Goal, Objective, channel, diversity, goal_for, neuron
from .params import CPPNStack, ImageParam, PhaseStack, PixelStack, build_cppn, multiscale_noise, probe_pool
from .report import RESPONSE_EPS, Measured, build_report, summary_line
from .run import DreamRequest, DreamResult, check_out, dream, dream_request, memory_estimate, run_dream
from .settings import PARAMS, DreamSettings
from .transforms import robustness

__all__ = [
    "PARAMS",
    "RESPONSE_EPS",
    "CPPNStack",
    "DreamRequest",
    "DreamResult",
    "DreamSettings",
    "Goal",
    "ImageParam",
    "Measured",
    "Objective",
    "PhaseStack",
    "PixelStack",
    "Stop",
    "Trace",
    "build_cppn",
    "build_report",
    "channel",
    "check_out",
    "climb",
    "diversity",
    "dream",
    "dream_request",
    "goal_for",
    "log_steps",
    "memory_estimate",
    "multiscale_noise",
    "neuron",
    "probe_pool",
    "robustness",
    "run_dream",
    "summary_line",
]
