"""`cppnart train glyph|ganvae|fit|classifier` and `cppnart eval glyph|ganvae`.

Every train command takes the same flags (--preset, --out, --steps, --seed, --resume/--no-resume,
--device, --threads, --json, --quiet) and follows one contract (``train.run``): the run folder
and its resume are resolved before torch starts working, the live view is attached here, and
Ctrl-C checkpoints and says how to continue. torch is imported inside the commands only.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from ..errors import UserError
from .options import Device, JsonOption, RunFlags, RunOut, TorchDeviceOption, TorchFlags, option_groups
from .output import emit, system_error, user_errors

F = TypeVar("F", bound=Callable[..., Any])

train_app = typer.Typer(help="Train models (needs the train extra: torch, kornia).", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate trained models.", no_args_is_help=True)

ECHO_EVERY = 100  # plain progress lines when not on a terminal


def require_torch(threads: Optional[int] = None) -> Any:
    """Import torch or say how to install it; then use ``threads`` CPU threads when given."""
    if threads is not None and threads < 1:
        raise UserError(f"--threads must be at least 1, got {threads}")
    try:
        import torch
    except ImportError:
        raise UserError(
            "training needs torch and kornia: from the cppnart folder, pip install torch (the CPU "
            'build: --index-url https://download.pytorch.org/whl/cpu) && pip install -e ".[train]"'
        ) from None
    if threads is not None:
        torch.set_num_threads(threads)
    return torch


def start_run(kind: str, out: Path, run: RunFlags, flags: TorchFlags) -> tuple[Any, Any]:
    """The same first steps for every family: preset, run folder, resume, --steps, --seed, torch."""
    from ..configs.presets import load_preset
    from ..train.families import FAMILIES

    family = FAMILIES[kind]
    config = load_preset(run.preset) if run.preset is not None else None
    if config is None and not run.resume:
        config = load_preset(family.default_preset)
    require_torch(flags.threads)
    from ..train.resolve import resolve_run

    return resolve_run(family.config, config, out, resume=run.resume, steps=run.steps, seed=run.seed)


def run_live(kind: str, config: Any, payload: Any, out: Path, quiet: bool, train: Callable[[Any], Any]) -> Any:
    """Run ``train(callbacks)`` inside the live view; Ctrl-C (a checkpoint was saved) -> a hint, exit 130."""
    from ..train.families import total_steps
    from ..train.loop import Every, Interrupted
    from ..train.run import Callbacks
    from .live import LiveView

    start = int(payload["step"]) if payload else 0
    view = LiveView(f"train {kind} · {config.name} → {out}", total=total_steps(config), start=start, quiet=quiet)
    callbacks = Callbacks(on_metrics=view.update, on_note=view.note, every=[Every(ECHO_EVERY, view.echo)])
    try:
        with view:
            return train(callbacks)
    except Interrupted as stop:
        typer.echo(
            f"interrupted after step {stop.step}; checkpoint saved in {out}. "
            f"Continue with: cppnart train {kind} --out {out} --resume",
            err=True,
        )
        raise typer.Exit(128 + stop.signum) from None


def no_half_run(func: F) -> F:
    """A training command that fails (full disk, bad data, a second Ctrl-C) before its first
    checkpoint leaves no half run folder behind; one with a checkpoint is kept for --resume, and
    a fault of the machine (a full disk) then says so instead of "nothing was left behind"."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = Path(kwargs["out"])
        fresh = not out.exists()
        try:
            return func(*args, **kwargs)
        except BaseException as exc:
            failed = not (isinstance(exc, typer.Exit) and exc.exit_code == 0)
            if failed and fresh and out.is_dir() and not (out / "checkpoint.pt").exists():
                shutil.rmtree(out, ignore_errors=True)
            elif failed and (out / "checkpoint.pt").is_file() and (message := system_error(exc)) is not None:
                kept = f"kept the run in '{out}' with its last checkpoint; continue it with --resume"
                raise UserError(f"{message.split(' (nothing was left behind)')[0]}; {kept}") from None
            raise

    return wrapper  # type: ignore[return-value]


DataOption = Annotated[
    Optional[str],
    typer.Option(
        help="builtin:digits, an MNIST IDX images file (.gz or not; its labels file beside it for a classifier) or "
        "an image folder (one subfolder per class for a classifier). "
        "\\[default: the run's data with --resume, else builtin:digits]",
        show_default=False,
    ),
]


def train_family(
    kind: str, out: Path, run: RunFlags, flags: TorchFlags, source: Optional[str] = None, resize: bool = False,
    **load: Any,
) -> None:  # fmt: skip
    """The body of every `train` command: the run resolved, the family's inputs (``source``: its data
    or image; the run's own on --resume; ``load``: the family's own, e.g. fit's ``init``), its
    opening line, the live run and its closing line. What differs between families is their row
    in ``train.families``."""
    from ..train.device import allocation_errors, choose_device, training_precision
    from ..train.families import FAMILIES
    from .live import drawing_progress

    family = FAMILIES[kind]
    config, payload = start_run(kind, out, run, flags)
    start = int(payload["step"]) if payload else 0
    with allocation_errors(f"train {kind} {config.name}"):
        with drawing_progress(not flags.silent):  # the first builtin:digits draws 20,000 digits: say so
            inputs = family.load(config, source, out=out, payload=payload, resize=resize, **load)
        choose_device(flags.device.value)  # a device torch lacks is refused before the live view
        if family.banner is not None and not flags.silent:
            typer.echo(family.banner(config, inputs, flags.device.value, start), err=True)

        def train(callbacks: Any) -> Any:
            with training_precision(choose_device(flags.device.value), run.precision.value):
                return family.train(
                    config, inputs, out, device=flags.device.value, payload=payload, callbacks=callbacks
                )

        result = run_live(kind, config, payload, out, flags.silent, train)
    text = family.report(result, inputs, out, start)
    emit_run(out, result, family.scores(result), family.run_files(out), text, flags)


def emit_run(
    out: Path, result: Any, scores: dict[str, Any], files: dict[str, Path], text: str, flags: TorchFlags
) -> None:
    """What every train command prints at the end: with --json the run folder, steps, seconds, the
    family's ``scores`` and the ``files`` it wrote; else ``text``."""
    paths = {key: str(path) for key, path in files.items()}
    data = {"out": str(out), "steps": result.steps, "seconds": round(result.seconds, 1), **scores, **paths}
    emit(data, text, flags.as_json, flags.quiet)


@train_app.command("glyph", epilog="Example: cppnart train glyph --preset glyph-quick --out runs/glyphs")
@user_errors
@no_half_run
@option_groups
def train_glyph(out: RunOut, run: RunFlags = RunFlags(), flags: TorchFlags = TorchFlags()) -> None:
    """Train a glyph generator + decoder through differentiable kornia noise ([Glyphs]); export model.onnx."""
    train_family("glyph", out, run, flags)


@train_app.command("ganvae", epilog="Example: cppnart train ganvae --data builtin:digits --out runs/digits")
@user_errors
@no_half_run
@option_groups
def train_ganvae(
    out: RunOut,
    data: DataOption = None,
    run: RunFlags = RunFlags(),
    resize: Annotated[bool, typer.Option(help="Centre-crop and resize every image (folders of mixed sizes).")] = False,
    flags: TorchFlags = TorchFlags(),
) -> None:
    """Train a CPPN generator as a VAE+GAN on images ([Large images]) and export it to ONNX."""
    train_family("ganvae", out, run, flags, data, resize)


@train_app.command("fit", epilog="Example: cppnart train fit photo.jpg --out runs/fit")
@user_errors
@no_half_run
@option_groups
def train_fit(
    image: Annotated[
        Optional[Path], typer.Argument(help="The image to fit (optional with --resume).", show_default=False)
    ] = None,
    out: RunOut = Path("runs/fit"),
    init: Annotated[
        Optional[Path],
        typer.Option(
            help="Start from a bred picture: a genome file, or a PNG whose recipe carries one. Its weights are "
            "fitted, its structure kept; the run exports a genome model and genome.genome.json.",
            show_default=False,
        ),
    ] = None,
    run: RunFlags = RunFlags(),
    flags: TorchFlags = TorchFlags(),
) -> None:
    """Fit a CPPN (or, with --init, a bred genome's weights) to one image, export it, and render it larger."""
    if image is None and not run.resume:
        raise UserError("give the IMAGE to fit")
    extra = {"init": str(init)} if init is not None else {}
    train_family("fit", out, run, flags, None if image is None else str(image), False, **extra)


def _probe_text(probe: Any) -> str:
    if probe is None:
        return ""
    return (
        f"\nlinear probe on the decoder's features ({probe.train_count} fit, {probe.test_count} scored, "
        f"chance {probe.chance:.2f}): trained {probe.trained:.3f}, random {probe.random:.3f}"
    )


def _reconstruction_text(recon: dict[str, Any] | None) -> str:
    if recon is None:
        return ""
    return (
        f"\nimages through decoder -> generator: MSE {recon['mse']:.4f} (random model {recon['mse_random']:.4f})"
        f" -> {recon['sheet']}"
    )


@train_app.command("classifier", epilog="Example: cppnart train classifier --data builtin:digits --out runs/clf")
@user_errors
@no_half_run
@option_groups
def train_classifier(
    out: RunOut, data: DataOption = None, run: RunFlags = RunFlags(), flags: TorchFlags = TorchFlags()
) -> None:
    """Train the small CNN that `cppnart dream` visualises; held-out accuracy, classifier.onnx."""
    train_family("classifier", out, run, flags, data)


ProbeOption = Annotated[
    Optional[str],
    typer.Option(
        help="Labelled images (builtin:digits, IDX with labels, class folders): a linear probe on the "
        "decoder's features, trained vs random decoder.",
        show_default=False,
    ),
]
ReconstructOption = Annotated[
    Optional[str],
    typer.Option(
        help="Images (builtin:digits, IDX, a folder) sent through decoder then generator; writes "
        "RUN/reconstruction.png (rows: images, trained, random model) and the MSE.",
        show_default=False,
    ),
]


@eval_app.command("glyph", epilog="Example: cppnart eval glyph runs/glyphs")
@user_errors
def eval_glyph(
    run: Annotated[Path, typer.Argument(help="Run folder (or its checkpoint.pt).")],
    count: Annotated[int, typer.Option(help="Fresh messages to send through the noise.")] = 1024,
    seed: Annotated[int, typer.Option(help="Seed for the messages and the noise draws.")] = 12345,
    probe: ProbeOption = None,
    probe_count: Annotated[int, typer.Option(help="Labelled images for the probe (80% fit, 20% scored).")] = 2000,
    reconstruct: ReconstructOption = None,
    device: TorchDeviceOption = Device.auto,  # type: ignore[attr-defined]
    as_json: JsonOption = False,
) -> None:
    """Message recovery under the training noise (R², cosine) and the glyphs' look, trained vs untrained.

    The look: checkerboard = share of image energy in period-2 patterns (strided-conv artefacts);
    ink = share of the canvas that differs from the ground; diversity = distance between glyphs
    of different messages over the distance the training noise moves one glyph.
    """
    if count < 2:
        raise UserError(f"--count must be at least 2, got {count}")
    if not 50 <= probe_count <= 100_000:
        raise UserError(f"--probe-count must be between 50 and 100000, got {probe_count}")
    require_torch()
    from ..train.glyph import evaluate_run
    from .live import drawing_progress

    with drawing_progress(not as_json):
        report = evaluate_run(
            run,
            count=count,
            seed=seed,
            device=device.value,
            probe=probe,
            probe_count=probe_count,
            reconstruct_from=reconstruct,
        )
    extra = {} if report.reconstruction is None else {"reconstruction": _reconstruction_sheet(report, run)}
    rows = {
        "trained": (report.trained, report.trained_look),
        "untrained": (report.untrained, report.untrained_look),
    }
    emit(
        {
            "preset": report.config.name,
            "step": report.step,
            "count": count,
            **{label: {**asdict(r), **asdict(look)} for label, (r, look) in rows.items()},
            **({"probe": asdict(report.probe)} if report.probe else {}),
            **extra,
        },
        _eval_text(report, rows, count) + _probe_text(report.probe) + _reconstruction_text(extra.get("reconstruction")),
        as_json,
    )


def _reconstruction_sheet(report: Any, run: Path) -> dict[str, Any]:
    """RUN/reconstruction.png (rows: images, trained, random model) and its two MSEs."""
    import numpy as np

    from ..render.sheets import save_sheet

    recon = report.reconstruction
    sheet = (run if run.is_dir() else run.parent) / "reconstruction.png"
    stacked = np.concatenate([recon.images, recon.trained, recon.random])
    # each row says what it holds, under its first cell
    labels = [name if i == 0 else "" for name in ("data", "trained", "random") for i in range(len(recon.images))]
    upscale = max(1, 64 // recon.images.shape[1])
    save_sheet(sheet, stacked, cols=len(recon.images), upscale=upscale, labels=labels, background=0.1)
    return {"sheet": str(sheet), "mse": recon.mse_trained, "mse_random": recon.mse_random}


def _eval_text(report: Any, rows: dict[str, Any], count: int) -> str:
    """The table of `eval glyph`: recovery and look, trained and untrained."""
    return "\n".join(
        [
            f"{report.config.name}: message {report.config.message_size}, step {report.step}, "
            f"{count} fresh messages under the training noise",
            f"{'':10s} {'R²':>8s} {'cosine':>8s} {'checker':>8s} {'ink':>8s} {'diversity':>9s}",
        ]
        + [
            f"{label:10s} {r.r2:8.4f} {r.cosine:8.4f} {look.checkerboard:8.4f} {look.ink:8.3f} {look.diversity:9.2f}"
            for label, (r, look) in rows.items()
        ]
    )


@eval_app.command("ganvae", epilog="Example: cppnart eval ganvae runs/digits")
@user_errors
def eval_ganvae(
    run: Annotated[Path, typer.Argument(help="A `train ganvae` run folder.")],
    data: Annotated[
        Optional[str], typer.Option(help="Images to reconstruct. \\[default: the run's data]", show_default=False)
    ] = None,
    count: Annotated[int, typer.Option(help="How many images.")] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Reconstruction error (MSE per pixel, encoder mean -> generator) through the exported ONNX files."""
    from ..render.encoder import reconstruction_mse

    mse, used, source = reconstruction_mse(run, data, count)
    emit(
        {"recon_mse": mse, "images": used, "data": source},
        f"reconstruction MSE {mse:.4f} on {used} images of {source}",
        as_json,
    )
