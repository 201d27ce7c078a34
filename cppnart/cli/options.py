"""The options and choices commands share, each defined once."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..configs.cppn import Z_PRIORS
from ..configs.devices import DEVICES
from ..configs.presets import DEFAULT_PRESET
from ..io.animation import GIF_STRATEGIES
from ..latent.paths import EASINGS, PATHS

# Choices as str Enums for Typer, built from the library's own tuples so the two cannot drift.
Device = Enum("Device", {v: v for v in DEVICES}, type=str)  # type: ignore[misc]
Ease = Enum("Ease", {v: v for v in EASINGS}, type=str)  # type: ignore[misc]
PathKind = Enum("PathKind", {v: v for v in PATHS}, type=str)  # type: ignore[misc]
GifPalette = Enum("GifPalette", {v.replace("-", "_"): v for v in GIF_STRATEGIES}, type=str)  # type: ignore[misc]
Prior = Enum("Prior", {v: v for v in Z_PRIORS}, type=str)  # type: ignore[misc]

# --- models and views -------------------------------------------------------------------------
MODEL_HELP = "Preset name (see `cppnart presets`), preset .toml, .onnx file or training run folder."
ModelArg = Annotated[
    Optional[str], typer.Argument(help=f"{MODEL_HELP} \\[default: {DEFAULT_PRESET}]", show_default=False)
]
ModelOption = Annotated[
    Optional[str], typer.Option("--model", "-m", help=f"{MODEL_HELP} \\[default: {DEFAULT_PRESET}]", show_default=False)
]
FromOption = Annotated[
    Optional[Path],
    typer.Option(
        "--from", help="Use the model, weights seed and view of a PNG cppnart rendered; other options override it."
    ),
]
SeedOption = Annotated[
    Optional[int], typer.Option(help="Seed for a preset's random weights (and z); drawn and printed when omitted.")
]
ZoomOption = Annotated[
    Optional[float], typer.Option(help="Zoom factor: 2 shows half the extent. \\[default: 1]", show_default=False)
]
CenterOption = Annotated[
    Optional[str],
    typer.Option(help="View centre X,Y (the shorter side spans [-1, 1]). \\[default: 0,0]", show_default=False),
]
SupersampleOption = Annotated[
    Optional[int],
    typer.Option(help="Average KxK sub-pixels per pixel (antialiasing). \\[default: 1]", show_default=False),
]
ChunkOption = Annotated[
    Optional[int],
    typer.Option(
        help="Coordinates per onnxruntime call (bounds memory). \\[default: by the network's width, 4096-32768]",
        show_default=False,
    ),
]
OnnxDeviceOption = Annotated[Device, typer.Option(help="Where onnxruntime runs.")]  # type: ignore[valid-type]

PathOption = Annotated[
    PathKind,  # type: ignore[valid-type]
    typer.Option("--path", help="slerp keeps latents at a typical length; lerp is the straight line."),
]

ClusterOption = Annotated[
    Optional[str],
    typer.Option(
        "--cluster",
        help="Render on a Ray cluster (the same bytes as here): auto (RAY_ADDRESS, else the cluster started on "
        "this machine, else a new local one), local (a new one here), ray://HOST:PORT or HOST:PORT. "
        "Needs the ray extra.",
        show_default=False,
    ),
]

# --- outputs and reporting ------------------------------------------------------------------
NpyOut = Annotated[Path, typer.Option("--out", "-o", help="Output .npy file.")]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object (paths, seed, z, metrics) instead of prose, for scripts.")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]

# --- training ------------------------------------------------------------------------------
TorchDeviceOption = Annotated[
    Device,
    typer.Option(  # type: ignore[valid-type]
        help="auto takes CUDA when torch sees a GPU, else the CPU."
    ),
]
ThreadsOption = Annotated[
    Optional[int],
    typer.Option(
        help="CPU threads for torch (1 is fastest on a busy, shared machine). \\[default: all cores]",
        show_default=False,
    ),
]
RunOut = Annotated[Path, typer.Option("--out", "-o", help="Run folder (checkpoint, samples/, model.onnx, ...).")]
PresetOption = Annotated[
    Optional[str],
    typer.Option(
        help="Training preset name (see `cppnart presets`) or .toml path. \\[default: the family's]", show_default=False
    ),
]
StepsOption = Annotated[
    Optional[int],
    typer.Option(
        help="Train to this many steps in all (overrides the preset; extends a resumed run, stretching its lr "
        "schedule).",
        show_default=False,
    ),
]
ResumeOption = Annotated[
    bool, typer.Option("--resume/--no-resume", help="Continue the run in --out from its checkpoint.")
]
TrainSeedOption = Annotated[
    Optional[int],
    typer.Option(
        help="Seed for weights, batches and noise (overrides the preset; fresh runs only).", show_default=False
    ),
]
