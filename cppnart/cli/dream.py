"""`cppnart layers TARGET` and `cppnart dream TARGET`: what a trained network's units respond to.

torch is imported inside the commands; every flag is checked against the target before the out
folder is created, so a bad flag leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UserError
from .options import JsonOption, TorchFlags, option_groups
from .output import emit, user_errors

app = typer.Typer()


@dataclass(frozen=True)
class SearchFlags:
    """How `dream` optimises: each flag named as the ``train.dream.DreamSettings`` field it sets."""

    minimise: Annotated[bool, typer.Option("--minimise", help="Descend instead of climbing.")] = False
    diversity: Annotated[float, typer.Option(help="Weight of the diversity term (with --batch > 1).")] = 1.0
    param: Annotated[str, typer.Option(help="cppn (exported, any size), fft or pixel (optimisation size).")] = "cppn"
    steps: Annotated[int, typer.Option(help="Optimisation steps.")] = 512
    lr: Annotated[float, typer.Option(help="Adam learning rate (cosine to a tenth over the last half).")] = 0.01
    tol: Annotated[
        float, typer.Option(help="Stop when the objective changes less than this (relative) in 64 steps.")
    ] = 0.0
    probe: Annotated[int, typer.Option(help="Random starts probed before optimising.")] = 16
    transforms: Annotated[bool, typer.Option(help="kornia robustness transforms (pad, jitter, scale, rotate).")] = True
    seed: Annotated[int, typer.Option(help="Seed of the starts and the transforms.")] = 0


TargetArg = Annotated[
    str,
    typer.Argument(
        help="A `train classifier`, `train ganvae` or `train glyph` run folder, or an .onnx image classifier.",
        show_default=False,
    ),
]


def _load(target: str, threads: Optional[int]):
    from .train import require_torch

    require_torch(threads)
    from ..train.targets import load_target

    return load_target(target)


def _ints(text: str, count: int, flag: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != count:
        raise UserError(f"{flag} '{text}' is not {count} comma-separated integers")
    return values


@app.command("layers", epilog="Example: cppnart layers runs/clf")
@user_errors
def layers(target: TargetArg, as_json: JsonOption = False) -> None:
    """The layers a target offers to `dream`, with channel counts and output sizes."""
    found = _load(target, None)
    rows = [
        (name, layer.channels, "x".join(str(s) for s in layer.shape[1:]) or "1") for name, layer in found.layers.items()
    ]
    h, w = found.size
    text = "\n".join(
        [f"{found.source} ({found.kind}): input {found.channels}x{h}x{w}", f"{'layer':24s} {'channels':>8s}  size"]
        + [f"{name:24s} {channels:8d}  {size}" for name, channels, size in rows]
    )
    emit(
        {
            "target": found.source,
            "kind": found.kind,
            "input": [found.channels, h, w],
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
    flags: TorchFlags = TorchFlags(),
) -> None:
    """Optimise a CPPN so that a unit of a trained network fires; export it as model.onnx."""
    from ..train.dream import check_out

    check_out(out)
    found = _load(target, flags.threads)
    from ..train.device import choose_device
    from ..train.dream import DreamSettings, dream
    from ..train.loop import Every, Interrupted
    from ..train.run import Callbacks
    from .live import LiveView

    position = None
    all_channels = channel == "all"
    units: tuple[int, ...] = (0,)
    if target_class is not None:
        last = list(found.layers)[-1]
        if layer is not None and layer != last:
            raise UserError(f"--class K is a unit of the last layer ('{last}'); leave out --layer or use --channel")
        layer, units = last, (target_class,)
    elif neuron is not None:
        c, y, x = _ints(neuron, 3, "--neuron")
        units, position = (c,), (y, x)
    elif not all_channels:
        units = _ints(channel, 1, "--channel")
    if layer is None:
        raise UserError(f"name a --layer (or --class K); {found.source} has: {', '.join(found.layers)}")
    settings = DreamSettings(layer=layer, units=units, neuron=position, **dataclasses.asdict(search))
    dev = choose_device(flags.device.value)
    count = (found.layer(layer).channels if all_channels else 1) * max(batch, 1)
    view = LiveView(
        f"dream {layer} · {channel if target_class is None else f'class {target_class}'} → {out}",
        total=search.steps,
        quiet=flags.silent,
    )
    if flags.threads is None and count <= 8 and dev.type == "cpu":
        import torch

        torch.set_num_threads(1)  # a few tiny CPPNs: one thread is faster than several (bench/dream.py)
    created = not out.exists()
    try:
        with view:
            result = dream(
                found,
                settings,
                out,
                device=dev,
                callbacks=Callbacks(on_metrics=view.update, on_note=view.note, every=[Every(64, view.echo)]),
                all_channels=all_channels,
                batch=batch,
            )
    except Interrupted as stop:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        typer.echo(f"interrupted after step {stop.step}; nothing was kept", err=True)
        raise typer.Exit(130) from None
    report = result.report
    sols = report["solutions"]
    if count == 1:
        s = sols[0]
        if not s["responded"]:
            text = (
                f"unit {s['unit']} of {layer} never responded: its activation stayed at {s['final_activation']:.3g} "
                f"over {search.probe} probe starts (best {s['probe_best']:.3g}); no picture written -> "
                f"{out / 'report.json'}"
            )
        else:
            rank = "" if s["data_percentile"] is None else f", beyond {s['data_percentile']:.1f}% of held-out images"
            what = "model.onnx" if s["model"] else "image.png"
            text = (
                f"{layer} unit {s['unit']}: activation {s['start_activation']:.3g} -> "
                f"{s['final_activation']:.3g}{rank} in {report['seconds']:.0f} s -> {out / what}, progress.png"
            )
    else:
        text = (
            f"{report['responded']} of {len(sols)} solutions responded in {report['seconds']:.0f} s -> "
            f"{out / 'sheet.png'}, {out / 'report.json'}"
        )
    emit(
        {"out": str(out), **{k: report[k] for k in ("layer", "responded", "seconds", "solutions")}},
        text,
        flags.as_json,
        flags.quiet,
    )
