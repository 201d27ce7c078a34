"""onnxruntime in one place: which package is installed, provider choice, session options.

onnxruntime and onnxruntime-gpu install into the same ``onnxruntime/`` folder, so having both
(or neither) is an install problem we name with the pip command that fixes it.
"""

from __future__ import annotations

import os
from importlib import metadata
from typing import Any

from ..configs.devices import check_device
from ..errors import UserError


def _installed(dist: str) -> bool:
    try:
        metadata.version(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


def import_onnxruntime() -> Any:
    cpu, gpu = _installed("onnxruntime"), _installed("onnxruntime-gpu")
    if cpu and gpu:
        raise UserError(
            "both onnxruntime and onnxruntime-gpu are installed and overwrite each other; keep one: "
            'pip uninstall -y onnxruntime onnxruntime-gpu, then from the cppnart folder pip install ".[cpu]" '
            '(or ".[gpu]")'
        )
    try:
        import onnxruntime
    except ImportError:
        raise UserError(
            'no onnxruntime is installed; from the cppnart folder: pip install ".[cpu]" (or ".[gpu]" with CUDA)'
        ) from None
    return onnxruntime


def cpu_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def providers_for(device: str, available: list[str]) -> list[str]:
    device = check_device(device)
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise UserError(
            "--device cuda needs onnxruntime-gpu: pip uninstall -y onnxruntime, then "
            "pip install '.[gpu]' from the cppnart folder"
        )
    return ["CPUExecutionProvider"]


def create_session(model: bytes | str, device: str = "auto", threads: int | None = None) -> Any:
    """An InferenceSession on the chosen device; CUDA falls back to CPU under ``auto`` only."""
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or cpu_threads()
    options.inter_op_num_threads = 1
    # Idle onnxruntime threads sleep instead of spinning: the PNG encoder's threads share these cores
    # (and on a busy machine other processes do); spinning made a 2880x1800 render to an array 1.8x
    # slower on a loaded 2-core machine and starved the encoder (bench/render.py).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # onnxruntime-gpu logs an error when CUDA libraries are missing; we check what actually ran.
    options.log_severity_level = 3
    providers = providers_for(device, ort.get_available_providers())
    try:
        session = ort.InferenceSession(model, sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        label = model if isinstance(model, str) else "model"
        raise UserError(f"onnxruntime cannot load {label}: {str(exc).splitlines()[0]}") from None
    if device == "cuda" and "CUDAExecutionProvider" not in session.get_providers():
        raise UserError(
            "--device cuda was asked for but CUDA could not start (drivers or CUDA libraries missing); "
            "use --device cpu, or install the CUDA 12/13 runtime: pip install 'onnxruntime-gpu[cuda,cudnn]'"
        )
    return session
