"""`cppnart layers TARGET` and `cppnart dream TARGET`: what a trained network's units respond to.

torch is imported inside the commands; every flag is checked against the target before the out
folder is created, so a bad flag leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import ParamError, UserError
from .options import JsonOption, TorchFlags, option_groups
from .output import emit, flag_for, stop_note, user_errors

app = typer.Typer()


@dataclass(frozen=True)
class SearchFlags:
    """How `dream` optimises: each flag named as the ``train.dream.DreamSettings`` field it sets."""

    minimise: Annotated[bool, typer.Option("--minimise", help="Descend instead of climbing.")] = False
    diversity: Annotated[float, typer.Option(help="Weight of the diversity term (with --batch > 1).")] = 1.0
    param: Annotated[
        str,
        typer.Option(
            help="cppn (exported, any size); fft, maco (phase only, natural magnitude) or pixel (optimisation size)."
        ),
    ] = "cppn"
    steps: Annotated[int, typer.Option(help="Optimisation steps.")] = 512
    lr: Annotated[float, typer.Option(help="Adam learning rate (cosine to a tenth over the last half).")] = 0.01
    tol: Annotated[
        float, typer.Option(help="Stop when the objective changes less than this (relative) in 64 steps.")
    ] = 0.0
    probe: Annotated[int, typer.Option(help="Random starts probed before optimising.")] = 16
    transforms: Annotated[bool, typer.Option(help="kornia robustness transforms (pad, jitter, scale, rotate).")] = True
    seed: Annotated[int, typer.Option(help="Seed of the starts and the transforms.")] = 0
    init: Annotated[
        Optional[str],
        typer.Option(
            help="Start from a bred picture: a genome file or a PNG carrying one (its weights climb, its "
            "structure stays; model.onnx and genome.genome.json breed further).",
            show_default=False,
        ),
    ] = None


@dataclass(frozen=True)
class InputFlags:
    """How a foreign .onnx classifier takes its images: --size, --mean, --std."""

    size: Annotated[
        Optional[str], typer.Option(help="Input size N or HxW, for an .onnx model that takes any size.")
    ] = None
    mean: Annotated[
        Optional[str],
        typer.Option(help="Input mean per channel, e.g. 0.485,0.456,0.406 (default: the model's metadata)."),
    ] = None
    std: Annotated[
        Optional[str],
        typer.Option(help="Input std per channel, e.g. 0.229,0.224,0.225 (default: the model's metadata)."),
    ] = None

    def asked(self) -> dict[str, Any]:
        """The flags as ``load_target``'s parameters (``input_size``, ``mean``, ``std``)."""
        return {
            "input_size": _size(self.size),
            "mean": _numbers("--mean", self.mean),
            "std": _numbers("--std", self.std),
        }


@dataclass(frozen=True)
class DataFlags:
    """Real images beside the visualisations: --data, --examples."""

    data: Annotated[
        Optional[str],
        typer.Option(
            help="Real images (a folder, an IDX file, builtin:digits) to rank against and show.", show_default=False
        ),
    ] = None
    examples: Annotated[
        Optional[int],
        typer.Option(help="Real images that excite each unit most, beside it in sheet.png (default 4 with --data)."),
    ] = None


def _numbers(flag: str, text: Optional[str]) -> Optional[tuple[float, ...]]:
    if text is None:
        return None
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise UserError(f"{flag} '{text}' is not comma-separated numbers, e.g. 0.485,0.456,0.406") from None


def _size(text: Optional[str]) -> Optional[tuple[int, int]]:
    if text is None:
        return None
    try:
        parts = [int(part) for part in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) < 1:
        raise UserError(f"--size '{text}' is not a size N or HxW, e.g. 224 or 224x224")
    return (parts[0], parts[-1])


TargetArg = Annotated[
    str,
    typer.Argument(
        help="A `train classifier`, `train ganvae` or `train glyph` run folder, or an .onnx image classifier.",
        show_default=False,
    ),
]


def _load(target: str, threads: Optional[int], inputs: InputFlags) -> Any:
    from .train import require_torch

    require_torch(threads)
    from ..train.targets import load_target

    asked = inputs.asked()
    try:
        return load_target(target, size=asked["input_size"], mean=asked["mean"], std=asked["std"])
    except ParamError as exc:
        raise UserError(exc.message_for(flag_for)) from None


def _neuron(text: Optional[str]) -> Optional[tuple[int, int, int]]:
    if text is None:
        return None
    try:
        c, y, x = (int(part) for part in text.split(","))
    except ValueError:
        raise UserError(f"--neuron '{text}' is not 3 comma-separated integers C,Y,X") from None
    return c, y, x


def _channel(text: str) -> int | str:
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise UserError(f"--channel '{text}' is not a channel number or 'all'") from None


@app.command("layers", epilog="Example: cppnart layers runs/clf")
@user_errors
@option_groups
def layers(target: TargetArg, inputs: InputFlags = InputFlags(), as_json: JsonOption = False) -> None:
    """The layers a target offers to `dream`, with channel counts and output sizes."""
    found = _load(target, None, inputs)
    rows = [
        (name, layer.channels, "x".join(str(s) for s in layer.shape[1:]) or "1") for name, layer in found.layers.items()
    ]
    h, w = found.size
    norm = found.normalise
    said = "" if norm is None else f", normalised by mean {list(norm[0])} std {list(norm[1])}"
    text = "\n".join(
        [
            f"{found.source} ({found.kind}): input {found.channels}x{h}x{w}{said}",
            f"{'layer':24s} {'channels':>8s}  size",
        ]
        + [f"{name:24s} {channels:8d}  {size}" for name, channels, size in rows]
    )
    emit(
        {
            "target": found.source,
            "kind": found.kind,
            "input": [found.channels, h, w],
            "normalise": None if norm is None else {"mean": list(norm[0]), "std": list(norm[1])},
            "layers": [{"name": n, "channels": c, "shape": list(found.layers[n].shape)} for n, c, _ in rows],
        },
        text,
        as_json,
    )


@app.command(
    "dream",
    epilog="Examples: cppnart dream runs/clf --layer conv3 --channel 5 --out runs/d5 · cppnart dream runs/clf "
    "--class 3 --out runs/three · cppnart dream runs/clf --layer conv3 --channel all --out runs/c3",
)
@user_errors
@option_groups
def dream_command(
    target: TargetArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder (model.onnx, progress.png, report.json).")],
    layer: Annotated[
        Optional[str], typer.Option(help="Layer to look into (see `cppnart layers`).", show_default=False)
    ] = None,
    channel: Annotated[str, typer.Option(help="Channel number, or 'all' for every channel into sheet.png.")] = "0",
    neuron: Annotated[
        Optional[str], typer.Option(help="One neuron C,Y,X of a spatial layer instead of a channel's mean.")
    ] = None,
    target_class: Annotated[
        Optional[int], typer.Option("--class", help="A class logit K (the last layer).", show_default=False)
    ] = None,
    batch: Annotated[int, typer.Option(help="Different solutions per unit, kept apart by a diversity term.")] = 1,
    search: SearchFlags = SearchFlags(),
    inputs: InputFlags = InputFlags(),
    real: DataFlags = DataFlags(),
    flags: TorchFlags = TorchFlags(),
) -> None:
    """Optimise a CPPN so that a unit of a trained network fires; export it as model.onnx."""
    from .train import require_torch

    position, unit = _neuron(neuron), _channel(channel)
    require_torch(flags.threads)  # before the dream package, which imports torch
    from ..train.dream import dream_request, summary_line
    from ..train.loop import Every, Interrupted
    from ..train.run import Callbacks
    from .live import LiveView

    try:
        request = dream_request(
            target, out, layer=layer, channel=unit, neuron=position, target_class=target_class, batch=batch,
            device=flags.device.value, threads=flags.threads, **inputs.asked(), **dataclasses.asdict(real),
            **dataclasses.asdict(search),
        )  # fmt: skip
    except ParamError as exc:
        raise UserError(exc.message_for(flag_for)) from None
    view = LiveView(request.title, total=search.steps, quiet=flags.silent)
    try:
        with view:
            result = request.run(Callbacks(on_metrics=view.update, on_note=view.note, every=[Every(64, view.echo)]))
    except Interrupted as stop:
        typer.echo(f"{stop_note(stop.signum)} after step {stop.step}; nothing was kept", err=True)
        raise typer.Exit(128 + stop.signum) from None
    report = result.report
    emit(
        {"out": str(out), **{k: report[k] for k in ("layer", "responded", "best", "seconds", "solutions")}},
        summary_line(report, out),
        flags.as_json,
        flags.quiet,
    )
