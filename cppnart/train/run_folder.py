"""The run folder every training command writes: checked before any work, never overwritten.

A run holds ``checkpoint.pt`` (see checkpoint.py), samples/ and, at the end, ``model.onnx``.
Starting a run where one exists needs ``--resume``; resuming needs a checkpoint. No torch here,
so the CLI can refuse a bad --out before importing it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import PARAM, ParamError

CHECKPOINT = "checkpoint.pt"


def check_run_folder(out: Path, resume: bool) -> Path:
    """Refuse a run folder we cannot or must not write, without side effects."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ParamError("out", f"'{out}' is a file; give a folder for the run")
    if resume:
        if not (out / CHECKPOINT).is_file():
            raise ParamError("resume", f"'{out}' holds no {CHECKPOINT} to resume from; start the run without {PARAM}")
    elif (out / CHECKPOINT).exists() or (out / "model.onnx").exists():
        raise ParamError(
            "resume", f"'{out}' already holds a training run; pass {PARAM} to continue it or train elsewhere"
        )
    existing = out
    while not existing.exists():  # the nearest ancestor that exists is where mkdir will start
        existing = existing.parent
    if not existing.is_dir():
        raise ParamError("out", f"cannot create run folder '{out}': '{existing}' is a file; choose another {PARAM}")
    if not os.access(existing, os.W_OK):
        raise ParamError("out", f"cannot write to '{existing}' (permission denied); choose another {PARAM}")
    return out


def make_run_folder(out: Path, resume: bool) -> Path:
    """check_run_folder, then create the folder and its samples/ subfolder."""
    check_run_folder(out, resume)
    try:
        (out / "samples").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParamError("out", f"cannot create run folder '{out}': {exc.strerror}; choose another {PARAM}") from None
    return out
