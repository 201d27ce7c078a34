"""The run folder every training command writes: checked before any work, never overwritten.

A run holds ``checkpoint.pt`` (see checkpoint.py), samples/ and, at the end, ``model.onnx``.
Starting a run where one exists needs ``--resume``; resuming needs a checkpoint. No torch here,
so the CLI can refuse a bad --out before importing it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError

CHECKPOINT = "checkpoint.pt"


def check_run_folder(out: Path, resume: bool) -> Path:
    """Refuse a run folder we cannot or must not write, without side effects."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out '{out}' is a file; give a folder for the run")
    if resume:
        if not (out / CHECKPOINT).is_file():
            raise UserError(f"--resume: '{out}' holds no {CHECKPOINT}; start the run without --resume")
    elif (out / CHECKPOINT).exists() or (out / "model.onnx").exists():
        raise UserError(f"'{out}' already holds a training run; pass --resume to continue it or choose another --out")
    existing = out
    while not existing.exists():  # the nearest ancestor that exists is where mkdir will start
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"cannot create run folder '{out}': '{existing}' is a file; choose another --out")
    if not os.access(existing, os.W_OK):
        raise UserError(f"cannot write to '{existing}' (permission denied); choose another --out")
    return out


def make_run_folder(out: Path, resume: bool) -> Path:
    """check_run_folder, then create the folder and its samples/ subfolder."""
    check_run_folder(out, resume)
    try:
        (out / "samples").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create run folder '{out}': {exc.strerror}; choose another --out") from None
    return out
