"""`cppnart train ...` and `cppnart eval ...`: the groups training commands join.

Each model family adds its commands from its own module (train_glyph.py, train_ganvae.py);
torch is imported inside the commands, never at import time, so the CLI starts without it.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..errors import UserError
from .common import Device

train_app = typer.Typer(help="Train models (needs the train extra: torch, kornia).", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate trained models.", no_args_is_help=True)


# The options every torch command shares.
TorchDeviceOption = Annotated[Device, typer.Option(help="auto takes CUDA when torch sees a GPU, else the CPU.")]
ThreadsOption = Annotated[Optional[int], typer.Option(
    help="CPU threads for torch (1 is fastest on a busy, shared machine). \\[default: all cores]", show_default=False)]


def require_torch(threads: Optional[int] = None):
    """Import torch or say how to install it (the CPU wheel first, so pip does not pull CUDA);
    then use ``threads`` CPU threads when given."""
    if threads is not None and threads < 1:
        raise UserError(f"--threads must be at least 1, got {threads}")
    try:
        import torch
    except ImportError:
        raise UserError("training needs torch and kornia: pip install torch==2.13.0 && pip install 'cppnart[train]'") from None
    if threads is not None:
        torch.set_num_threads(threads)
    return torch


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
    app.add_typer(eval_app, name="eval")


def train_with_view(view, train, command: str, out):
    """Run ``train()`` inside the live view; Ctrl-C (a checkpoint was saved) becomes a hint and exit 130."""
    from ..train.loop import Interrupted

    try:
        with view:
            return train()
    except Interrupted as stop:
        typer.echo(f"interrupted after step {stop.step}; checkpoint saved in {out}. "
                   f"Continue with: cppnart train {command} --out {out} --resume", err=True)
        raise typer.Exit(130) from None
