"""The options and choices commands share, each defined once; and the option groups that several
commands take together, each also defined once (``option_groups``)."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from ..configs.choices import BACKENDS, EASINGS, GIF_STRATEGIES, PATHS, PRECISIONS
from ..configs.cppn import Z_PRIORS
from ..configs.devices import DEVICES, TRAIN_PRECISIONS
from ..configs.presets import DEFAULT_PRESET
from ..errors import UserError

# Choices as str Enums for Typer, built from the library's own tuples so the two cannot drift.
Device = Enum("Device", {v: v for v in DEVICES}, type=str)  # type: ignore[misc]
TrainPrecision = Enum("TrainPrecision", {v: v for v in TRAIN_PRECISIONS}, type=str)  # type: ignore[misc]
Ease = Enum("Ease", {v: v for v in EASINGS}, type=str)  # type: ignore[misc]
PathKind = Enum("PathKind", {v: v for v in PATHS}, type=str)  # type: ignore[misc]
GifPalette = Enum("GifPalette", {v.replace("-", "_"): v for v in GIF_STRATEGIES}, type=str)  # type: ignore[misc]
Prior = Enum("Prior", {v: v for v in Z_PRIORS}, type=str)  # type: ignore[misc]
Backend = Enum("Backend", {v: v for v in BACKENDS}, type=str)  # type: ignore[misc]
Precision = Enum("Precision", {v: v for v in PRECISIONS}, type=str)  # type: ignore[misc]


def noted_default(help: str, default: str, *param_decls: str, make: Callable[..., Any] = typer.Option) -> Any:
    """A Typer option (``make=typer.Argument``: an argument) whose Python default is None, so that
    a --from recipe, a preset or the library decides, with what that comes to written into its help
    as ``[default: DEFAULT]``: Typer can only show the None, so its own note stays off."""
    return make(*param_decls, help=f"{help} \\[default: {default}]", show_default=False)


# --- models and views -------------------------------------------------------------------------
MODEL_HELP = (
    "Preset name (see `cppnart presets`), preset .toml, .onnx file, training run folder, "
    "or genome (.genome.json, Picbreeder .xml or .zip)."
)
ModelArg = Annotated[Optional[str], noted_default(MODEL_HELP, DEFAULT_PRESET, make=typer.Argument)]
ModelOption = Annotated[Optional[str], noted_default(MODEL_HELP, DEFAULT_PRESET, "--model", "-m")]
FromOption = Annotated[
    Optional[Path],
    typer.Option(
        "--from", help="Use the model, weights seed and view of a PNG cppnart rendered; other options override it."
    ),
]
SeedOption = Annotated[
    Optional[int], typer.Option(help="Seed for a preset's random weights (and z); drawn and printed when omitted.")
]
ZoomOption = Annotated[Optional[float], noted_default("Zoom factor: 2 shows half the extent.", "1")]
CenterOption = Annotated[Optional[str], noted_default("View centre X,Y (the shorter side spans [-1, 1]).", "0,0")]
SupersampleOption = Annotated[Optional[int], noted_default("Average KxK sub-pixels per pixel (antialiasing).", "1")]
ChunkOption = Annotated[
    Optional[int],
    noted_default("Coordinates per onnxruntime call (bounds memory).", "by the network's width, 4096-32768"),
]

# --- where it runs ---------------------------------------------------------------------------
OnnxDeviceOption = Annotated[Device, typer.Option(help="Where onnxruntime runs.")]  # type: ignore[valid-type]
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
ClusterTimeoutOption = Annotated[
    float,
    typer.Option(
        "--cluster-timeout",
        help="Seconds the --cluster address has to answer before the command gives up with one line.",
    ),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", help="Let Ray's own messages (connection notes, warnings) through to stderr.")
]

# --- latent paths (morph, z interpolate) ------------------------------------------------------
EaseOption = Annotated[
    Ease,  # type: ignore[valid-type]
    typer.Option(
        help="Spacing along the path: linear; sine = sin(p·π/2), fast start and slow arrival ([Large images]); "
        "smooth = ease in and out."
    ),
]
PathOption = Annotated[
    PathKind,  # type: ignore[valid-type]
    typer.Option("--path", help="slerp keeps latents at a typical length; lerp is the straight line."),
]

# --- outputs and reporting ------------------------------------------------------------------
TileOption = Annotated[
    Optional[bool],
    noted_default(
        "A picture that tiles seamlessly in both directions: random CPPNs go round a torus, other "
        "models are mirrored at their edges (the output says which).",
        "the --from recipe's, else off",
        "--tile/--no-tile",
    ),
]
NpyOut = Annotated[Path, typer.Option("--out", "-o", help="Output .npy file.")]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object (paths, seed, z, metrics) instead of prose, for scripts.")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force", help="Replace an existing file that holds a different picture, sheet, animation or latent."
    ),
]

# --- training ------------------------------------------------------------------------------
TorchDeviceOption = Annotated[
    Device,
    typer.Option(  # type: ignore[valid-type]
        help="auto takes CUDA when torch sees a GPU, else the CPU."
    ),
]
ThreadsOption = Annotated[
    Optional[int], noted_default("CPU threads for torch (1 is fastest on a busy, shared machine).", "all cores")
]
RunOut = Annotated[Path, typer.Option("--out", "-o", help="Run folder (checkpoint, samples/, model.onnx, ...).")]
PresetOption = Annotated[
    Optional[str], noted_default("Training preset name (see `cppnart presets`) or .toml path.", "the family's")
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


# --- option groups --------------------------------------------------------------------------
F = TypeVar("F", bound=Callable[..., Any])


def option_groups(func: F) -> F:
    """Let a command take groups of options: a parameter annotated with a frozen dataclass whose
    fields are Typer-annotated (``TorchFlags``, ``RunFlags``) stands for those fields' options,
    in its place, and the command receives one value of the dataclass. So the flags that every
    training command shares are written once and mean the same thing on each."""
    signature = inspect.signature(func, eval_str=True)
    groups: dict[str, type] = {}
    params: list[inspect.Parameter] = []
    for param in signature.parameters.values():
        group = param.annotation
        if dataclasses.is_dataclass(group) and isinstance(group, type):
            groups[param.name] = group
            hints = typing.get_type_hints(group, include_extras=True)
            params += [
                inspect.Parameter(
                    f.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default,
                    annotation=hints[f.name],
                )
                for f in dataclasses.fields(group)
            ]
        else:
            params.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY))

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        for name, group in groups.items():
            kwargs[name] = group(**{f.name: kwargs.pop(f.name) for f in dataclasses.fields(group)})
        return func(**kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


class Reporting:
    """What a group with --json and --quiet can tell: whether prose goes to stderr."""

    as_json: bool
    quiet: bool

    @property
    def silent(self) -> bool:
        """No prose on stderr: --json or --quiet."""
        return self.as_json or self.quiet


@dataclass(frozen=True)
class TorchFlags(Reporting):
    """The flags of every command that runs torch: --device, --threads, --json, --quiet."""

    device: TorchDeviceOption = Device.auto  # type: ignore[attr-defined]
    threads: ThreadsOption = None
    as_json: JsonOption = False
    quiet: QuietOption = False


TrainPrecisionOption = Annotated[
    TrainPrecision,  # type: ignore[valid-type]
    typer.Option(
        "--precision",
        help="What the training steps compute in: fp32, or bf16 (torch autocast; on CUDA, TF32 stays off where "
        "coordinates feed a matrix product).",
    ),
]


@dataclass(frozen=True)
class RunFlags:
    """The flags of every `train` command that choose the run: --preset, --steps, --resume, --seed,
    --precision."""

    preset: PresetOption = None
    steps: StepsOption = None
    resume: ResumeOption = False
    seed: TrainSeedOption = None
    precision: TrainPrecisionOption = TrainPrecision.fp32  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ViewFlags:
    """The flags of every rendering command that say what is sampled and how finely: --zoom,
    --center, --supersample, --chunk (each None: the --from recipe's, else the default)."""

    zoom: ZoomOption = None
    center: CenterOption = None
    supersample: SupersampleOption = None
    chunk: ChunkOption = None

    def request_args(self) -> dict[str, Any]:
        """These flags as the library's request arguments (``render.request.resolve_picture``)."""
        from .output import parse_center

        center = parse_center(self.center) if self.center is not None else None
        return {"zoom": self.zoom, "center": center, "supersample": self.supersample, "chunk": self.chunk}


@dataclass(frozen=True)
class SourceFlags:
    """The flags of the rendering commands that start from a picture or a seed: --from (a PNG
    cppnart rendered) and --seed."""

    from_image: FromOption = None
    seed: SeedOption = None

    def request_args(self) -> dict[str, Any]:
        """These flags as the library's request arguments: the --from PNG's recipe and the seed."""
        from ..render.request import read_recipe_file

        return {"recipe": read_recipe_file(self.from_image), "seed": self.seed}


@dataclass(frozen=True)
class RenderFlags(Reporting):
    """The flags of every rendering command that say where it runs, what it may replace and what
    it prints: --device, --backend, --precision, --force, --cluster, --json, --quiet."""

    device: OnnxDeviceOption = Device.auto  # type: ignore[attr-defined]
    backend: Annotated[
        Backend,  # type: ignore[valid-type]
        typer.Option(
            help="What runs the model: onnxruntime, or torch on the same weights (for a GPU with torch and no "
            "onnxruntime-gpu). auto: onnxruntime unless only torch can reach the GPU."
        ),
    ] = Backend.auto  # type: ignore[attr-defined]
    precision: Annotated[
        Precision,  # type: ignore[valid-type]
        typer.Option(help="fp16 computes the hidden layers in half precision (a GPU's speed-up; not for --bits 16)."),
    ] = Precision.fp32  # type: ignore[attr-defined]
    force: ForceOption = False
    cluster: ClusterOption = None
    cluster_timeout: ClusterTimeoutOption = 5.0  # cluster.connect.DEFAULT_TIMEOUT (not imported: Ray-free --help)
    verbose: VerboseOption = False  # --cluster's: Ray's own messages
    as_json: JsonOption = False
    quiet: QuietOption = False

    def local_renderer(self, bits: int = 8) -> Any:
        """None (each model's own onnxruntime session), or the renderer --backend and --precision
        ask for (``render.runtime.resolve_backend`` decides what auto means); checked before work."""
        from ..render.runtime import check_backend, check_precision, resolve_backend

        precision = check_precision(self.precision.value, bits)
        if self.cluster is not None:
            if check_backend(self.backend.value) == "torch" or precision != "fp32":
                raise UserError("--backend torch and --precision fp16 render here; drop them or --cluster")
            return None
        if resolve_backend(self.backend.value, self.device.value) == "torch":
            from ..train.torch_render import TorchRenderer, torch_sees_cuda

            # auto on a driver without CUDA torch: onnxruntime's CPU session renders faster than torch's
            if self.backend.value == "torch" or self.device.value == "cuda" or torch_sees_cuda():
                return TorchRenderer(self.device.value, precision)
        if precision == "fp32":
            return None
        from ..render.renderer import OnnxRenderer

        return OnnxRenderer(precision)


@dataclass(frozen=True)
class ClusterFlags:
    """Where a command that can run elsewhere runs: --cluster, --cluster-timeout, --verbose."""

    cluster: ClusterOption = None
    cluster_timeout: ClusterTimeoutOption = 5.0
    verbose: VerboseOption = False
