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
from .output import emit, user_errors

F = TypeVar("F", bound=Callable[..., Any])

train_app = typer.Typer(help="Train models (needs the train extra: torch, kornia).", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate trained models.", no_args_is_help=True)

ECHO_EVERY = 100  # plain progress lines when not on a terminal
DEFAULT_PRESETS = {"glyph": "glyph-quick", "ganvae": "ganvae-digits", "fit": "fit", "classifier": "classifier-digits"}


def require_torch(threads: Optional[int] = None) -> Any:
    """Import torch or say how to install it; then use ``threads`` CPU threads when given."""
    if threads is not None and threads < 1:
        raise UserError(f"--threads must be at least 1, got {threads}")
    try:
        import torch
    except ImportError:
        raise UserError(
            "training needs torch and kornia: from the cppnart folder, pip install torch (the CPU "
            'build: --index-url https://download.pytorch.org/whl/cpu) && pip install ".[train]"'
        ) from None
    if threads is not None:
        torch.set_num_threads(threads)
    return torch


def start_run(kind: str, out: Path, run: RunFlags, flags: TorchFlags) -> tuple[Any, Any]:
    """The same first steps for every family: preset, run folder, resume, --steps, --seed, torch."""
    from ..configs.presets import KINDS, load_preset

    config = load_preset(run.preset) if run.preset is not None else None
    if config is None and not run.resume:
        config = load_preset(DEFAULT_PRESETS[kind])
    require_torch(flags.threads)
    from ..train.run import resolve_run

    return resolve_run(KINDS[kind], config, out, resume=run.resume, steps=run.steps, seed=run.seed)


def run_live(kind: str, config: Any, payload: Any, out: Path, quiet: bool, train: Callable[[Any], Any]) -> Any:
    """Run ``train(callbacks)`` inside the live view; Ctrl-C (a checkpoint was saved) -> a hint, exit 130."""
    from ..train.loop import Every, Interrupted
    from ..train.run import Callbacks, total_steps
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
    checkpoint leaves no half run folder behind; one with a checkpoint is kept for --resume."""

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


def train_on_data(
    kind: str,
    config: Any,
    payload: Any,
    out: Path,
    data: Optional[str],
    load: Callable[[str], Any],
    train: Callable[..., Any],
    flags: TorchFlags,
) -> Any:
    """The body every data-set family shares: the data (the run's own on --resume), the device, a
    line saying what trains on what, then the live run."""
    from ..train.device import choose_device, describe_device
    from ..train.run import total_steps

    if payload is not None and data is None:
        data = payload["extra"].get("data")
    images = load(data or "builtin:digits")
    dev = choose_device(flags.device.value)
    if not flags.silent:
        start = int(payload["step"]) if payload else 0
        typer.echo(
            f"{config.name}: {len(images.images)} images from {images.source} · {describe_device(dev)} · "
            f"steps {start} -> {total_steps(config)}",
            err=True,
        )
    return run_live(
        kind,
        config,
        payload,
        out,
        flags.silent,
        lambda cb: train(config, images, out, device=dev, payload=payload, callbacks=cb),
    )


def emit_run(
    out: Path, result: Any, scores: dict[str, Any], files: dict[str, Path], text: str, flags: TorchFlags
) -> None:
    """What every train command prints at the end: with --json the run folder, steps, seconds, the
    family's ``scores`` and the ``files`` it wrote; else ``text``."""
    paths = {key: str(path) for key, path in files.items()}
    data = {"out": str(out), "steps": result.steps, "seconds": round(result.seconds, 1), **scores, **paths}
    emit(data, text, flags.as_json, flags.quiet)


def trained_for(result: Any) -> str:
    """'N steps in S s', the start of every train command's closing line."""
    return f"{result.steps} steps in {result.seconds:.0f} s"


@train_app.command("glyph", epilog="Example: cppnart train glyph --preset glyph-quick --out runs/glyphs")
@user_errors
@no_half_run
@option_groups
def train_glyph(out: RunOut, run: RunFlags = RunFlags(), flags: TorchFlags = TorchFlags()) -> None:
    """Train a glyph generator + decoder through differentiable kornia noise ([Glyphs]); export model.onnx."""
    config, payload = start_run("glyph", out, run, flags)
    from ..train.device import choose_device, describe_device
    from ..train.glyph import train_glyph as train

    start = int(payload["step"]) if payload else 0
    if not flags.silent:
        typer.echo(
            f"training {config.name}: message {config.message_size}, {config.generator.type} generator, "
            f"{config.image_size}x{config.image_size}x{config.channels}, {config.train.describe_lr()}, on "
            f"{describe_device(choose_device(flags.device.value))}" + (f", resuming at step {start}" if start else ""),
            err=True,
        )
    result = run_live(
        "glyph",
        config,
        payload,
        out,
        flags.silent,
        lambda cb: train(config, out, payload=payload, device=flags.device.value, callbacks=cb),
    )
    score = {"r2": result.final.r2, "cosine": result.final.cosine} if result.final else {}
    done = (
        f"already at step {start}; nothing to train (pass a larger --steps to go on)"
        if result.steps == start
        else f"trained to step {result.steps} in {result.seconds:.0f} s ({result.steps_per_second:.1f} steps/s)"
        + (f", R² {result.final.r2:.3f}, cosine {result.final.cosine:.3f}" if result.final else "")
    )
    files = {"model": result.model, "sheet": out / "sheet.png"}
    emit_run(out, result, score, files, f"{done}\nmodel: {result.model}  sheet: {out / 'sheet.png'}", flags)


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
    config, payload = start_run("ganvae", out, run, flags)
    from ..train.ganvae import load_training_images, train_ganvae

    load = lambda source: load_training_images(source, config, resize)
    result = train_on_data("ganvae", config, payload, out, data, load, train_ganvae, flags)
    scores = {"recon_mse": result.recon_mse, "recon_mse_untrained": result.recon_mse_untrained}
    text = (
        f"{trained_for(result)} · reconstruction MSE {result.recon_mse:.4f} "
        f"(untrained {result.recon_mse_untrained:.4f}) -> {out / 'model.onnx'}"
    )
    emit_run(out, result, scores, {"model": out / "model.onnx"}, text, flags)


@train_app.command("fit", epilog="Example: cppnart train fit photo.jpg --out runs/fit")
@user_errors
@no_half_run
@option_groups
def train_fit(
    image: Annotated[
        Optional[Path], typer.Argument(help="The image to fit (optional with --resume).", show_default=False)
    ] = None,
    out: RunOut = Path("runs/fit"),
    run: RunFlags = RunFlags(),
    flags: TorchFlags = TorchFlags(),
) -> None:
    """Fit a CPPN to one image, export it, and render it at render_scale times the size."""
    if image is None and not run.resume:
        raise UserError("give the IMAGE to fit")
    config, payload = start_run("fit", out, run, flags)
    import numpy as np

    from ..io.atomic import atomic_output
    from ..train.device import choose_device
    from ..train.fit import fit_image, load_target

    if image is None:
        if not (out / "target.npy").is_file():
            raise UserError(f"'{out}' holds no target.npy; give the IMAGE to fit")
        from ..io.npy import load_npy

        target = load_npy(out / "target.npy")
        if target.ndim != 3 or target.shape[-1] not in (1, 3) or not np.isfinite(target).all():
            raise UserError(f"'{out / 'target.npy'}' is not an image array [H, W, 1 or 3]; give the IMAGE to fit")
    else:
        target = load_target(image, config)
    dev = choose_device(flags.device.value)
    out.mkdir(parents=True, exist_ok=True)
    if payload is None:
        with atomic_output(out / "target.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, target, allow_pickle=False)
    result = run_live(
        "fit",
        config,
        payload,
        out,
        flags.silent,
        lambda cb: fit_image(config, target, out, device=dev, payload=payload, callbacks=cb),
    )
    h, w = target.shape[:2]
    files = {"model": out / "model.onnx", "render": out / "render.png"}
    text = f"{trained_for(result)} · PSNR {result.psnr:.2f} dB at {w}x{h} -> {files['model']}, {files['render']}"
    emit_run(out, result, {"psnr": result.psnr}, files, text, flags)


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
    config, payload = start_run("classifier", out, run, flags)
    from ..train.classifier import load_labelled_images, train_classifier

    load = lambda source: load_labelled_images(source, config)
    result = train_on_data("classifier", config, payload, out, data, load, train_classifier, flags)
    scores = {"accuracy": result.accuracy, "accuracy_untrained": result.accuracy_untrained, "holdout": result.holdout}
    text = (
        f"{trained_for(result)} · held-out accuracy {result.accuracy:.4f} on {result.holdout} images "
        f"(untrained {result.accuracy_untrained:.4f}) -> {out / 'classifier.onnx'}"
    )
    emit_run(out, result, scores, {"model": out / "classifier.onnx"}, text, flags)


@eval_app.command("glyph", epilog="Example: cppnart eval glyph runs/glyphs")
@user_errors
def eval_glyph(
    run: Annotated[Path, typer.Argument(help="Run folder (or its checkpoint.pt).")],
    count: Annotated[int, typer.Option(help="Fresh messages to send through the noise.")] = 1024,
    seed: Annotated[int, typer.Option(help="Seed for the messages and the noise draws.")] = 12345,
    probe: Annotated[
        Optional[str],
        typer.Option(
            help="Labelled images (builtin:digits, IDX with labels, class folders): a linear probe on the "
            "decoder's features, trained vs random decoder.",
            show_default=False,
        ),
    ] = None,
    probe_count: Annotated[int, typer.Option(help="Labelled images for the probe (80% fit, 20% scored).")] = 2000,
    reconstruct: Annotated[
        Optional[str],
        typer.Option(
            help="Images (builtin:digits, IDX, a folder) sent through decoder then generator; writes "
            "RUN/reconstruction.png (rows: images, trained, random model) and the MSE.",
            show_default=False,
        ),
    ] = None,
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
    import numpy as np

    from ..train.glyph import evaluate_run

    report = evaluate_run(
        run,
        count=count,
        seed=seed,
        device=device.value,
        probe=probe,
        probe_count=probe_count,
        reconstruct_from=reconstruct,
    )
    extra: dict[str, Any] = {}
    if report.reconstruction is not None:
        from ..render.sheets import save_sheet

        recon = report.reconstruction
        sheet = (run if run.is_dir() else run.parent) / "reconstruction.png"
        stacked = np.concatenate([recon.images, recon.trained, recon.random])
        save_sheet(sheet, stacked, cols=len(recon.images), upscale=max(1, 64 // recon.images.shape[1]))
        extra["reconstruction"] = {"sheet": str(sheet), "mse": recon.mse_trained, "mse_random": recon.mse_random}
    rows = {
        "trained": (report.trained, report.trained_look),
        "untrained": (report.untrained, report.untrained_look),
    }
    text = "\n".join(
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
    emit(
        {
            "preset": report.config.name,
            "step": report.step,
            "count": count,
            **{label: {**asdict(r), **asdict(look)} for label, (r, look) in rows.items()},
            **({"probe": asdict(report.probe)} if report.probe else {}),
            **extra,
        },
        text + _probe_text(report.probe) + _reconstruction_text(extra.get("reconstruction")),
        as_json,
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
