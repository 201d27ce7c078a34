"""`cppnart train ganvae`, `cppnart train fit`, `cppnart eval ganvae` and `cppnart z encode`.

torch is imported inside the training commands only; `z encode` runs on onnxruntime alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UserError
from .common import Device, check_output, user_errors
from .latent import z_app
from ..train.run_folder import check_run_folder
from .train import ThreadsOption, TorchDeviceOption, eval_app, require_torch, train_app, train_with_view

DIGITS_PRESET = "ganvae-digits"
FIT_PRESET = "fit"


def _load_config(preset: str, kind: str, checkpoint: Path | None, config_from_checkpoint, steps: Optional[int],
                 seed: Optional[int]):
    import dataclasses

    from ..config import load_preset

    if checkpoint is not None:
        config, payload = config_from_checkpoint(checkpoint)
    else:
        config, payload = load_preset(preset), None
        if getattr(config, "kind", None) != kind:
            raise UserError(f"preset '{preset}' is of kind '{config.kind}'; `train {kind}` needs a '{kind}' preset")
    if seed is not None and payload is None:
        config = dataclasses.replace(config, seed=seed)
    if steps is not None:
        if steps < 1:
            raise UserError(f"--steps must be at least 1, got {steps}")
        if kind == "ganvae":
            config = dataclasses.replace(config, schedule=dataclasses.replace(config.schedule, steps=steps))
        else:
            config = dataclasses.replace(config, steps=steps)
    return config, payload


def _live(title: str, total: int, start: int):
    from ..train.live import LiveView

    return LiveView(title, total=total, start=start)


ECHO_EVERY = 100  # plain progress lines when not on a terminal


def register(app: typer.Typer) -> None:
    @train_app.command("ganvae", epilog="Example: cppnart train ganvae --data builtin:digits --out runs/digits")
    @user_errors
    def train_ganvae_cmd(
        out: Annotated[Path, typer.Option("--out", "-o", help="Run folder (checkpoint, samples, model.onnx, encoder.onnx).")],
        data: Annotated[Optional[str], typer.Option(help="Image folder, MNIST IDX file (.gz or not) or builtin:digits. \\[default: the run's data with --resume, else builtin:digits]", show_default=False)] = None,
        preset: Annotated[str, typer.Option(help="Training recipe (kind ganvae).")] = DIGITS_PRESET,
        steps: Annotated[Optional[int], typer.Option(help="Train up to this many batches (overrides the preset).")] = None,
        resume: Annotated[bool, typer.Option(help="Continue the run in --out from its checkpoint.")] = False,
        resize: Annotated[bool, typer.Option(help="Centre-crop and resize every image (folders of mixed sizes).")] = False,
        seed: Annotated[Optional[int], typer.Option(help="Seed for weights, batches and noise (overrides the preset).")] = None,
        device: TorchDeviceOption = Device.auto,
        threads: ThreadsOption = None,
    ) -> None:
        """Train a CPPN generator as a VAE+GAN on images (seed 002) and export it to ONNX."""
        require_torch(threads)
        from ..train.device import choose_device, describe_device
        from ..train.ganvae import config_from_checkpoint, load_training_images, train_ganvae
        from ..train.loop import Every

        check_run_folder(out, resume)
        config, payload = _load_config(preset, "ganvae", out / "checkpoint.pt" if resume else None,
                                       config_from_checkpoint, steps, seed)
        if payload is not None and data is None:
            data = payload["extra"].get("data")
        images = load_training_images(data or "builtin:digits", config, resize)
        dev = choose_device(device)
        start = int(payload["step"]) if payload else 0
        typer.echo(f"{config.name}: {len(images.images)} images from {images.source} · {describe_device(dev)} · "
                   f"steps {start} -> {config.schedule.steps}", err=True)
        view = _live(f"train ganvae · {out}", config.schedule.steps, start)
        result = train_with_view(view, lambda: train_ganvae(
            config, images, out, device=dev, payload=payload, on_metrics=view.update, on_note=view.note,
            every=[Every(ECHO_EVERY, view.echo)]), "ganvae", out)
        typer.echo(f"{result.steps} steps in {result.seconds:.0f} s · reconstruction MSE {result.recon_mse:.4f} "
                   f"(untrained {result.recon_mse_untrained:.4f}) -> {out / 'model.onnx'}")

    @train_app.command("fit", epilog="Example: cppnart train fit photo.jpg --out runs/fit")
    @user_errors
    def train_fit_cmd(
        image: Annotated[Optional[Path], typer.Argument(help="The image to fit (optional with --resume).", show_default=False)] = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="Run folder (checkpoint, samples, model.onnx, render.png).")] = Path("runs/fit"),
        preset: Annotated[str, typer.Option(help="Fit recipe (kind fit): architecture, Fourier features, steps.")] = FIT_PRESET,
        steps: Annotated[Optional[int], typer.Option(help="Train up to this many steps (overrides the preset).")] = None,
        resume: Annotated[bool, typer.Option(help="Continue the run in --out from its checkpoint.")] = False,
        seed: Annotated[Optional[int], typer.Option(help="Seed (overrides the preset).")] = None,
        device: TorchDeviceOption = Device.auto,
        threads: ThreadsOption = None,
    ) -> None:
        """Fit a CPPN to one image, export it, and render it at render_scale times the size."""
        require_torch(threads)
        import numpy as np

        from ..train.device import choose_device
        from ..train.fit import config_from_checkpoint, fit_image, load_target
        from ..train.loop import Every

        check_run_folder(out, resume)
        config, payload = _load_config(preset, "fit", out / "checkpoint.pt" if resume else None,
                                       config_from_checkpoint, steps, seed)
        if image is None:
            if payload is None or not (out / "target.npy").is_file():
                raise UserError("give the IMAGE to fit")
            target = np.load(out / "target.npy", allow_pickle=False)
        else:
            target = load_target(image, config)
        dev = choose_device(device)
        out.mkdir(parents=True, exist_ok=True)
        if payload is None:
            from ..writers import atomic_output

            with atomic_output(out / "target.npy") as tmp, open(tmp, "wb") as f:
                np.save(f, target, allow_pickle=False)
        start = int(payload["step"]) if payload else 0
        view = _live(f"train fit · {out}", config.steps, start)
        result = train_with_view(view, lambda: fit_image(
            config, target, out, device=dev, payload=payload, on_metrics=view.update, on_note=view.note,
            every=[Every(ECHO_EVERY, view.echo)]), "fit", out)
        h, w = target.shape[:2]
        typer.echo(f"{result.steps} steps in {result.seconds:.0f} s · PSNR {result.psnr:.2f} dB at {w}x{h} -> "
                   f"{out / 'model.onnx'}, {out / 'render.png'}")

    @eval_app.command("ganvae", epilog="Example: cppnart eval ganvae runs/digits")
    @user_errors
    def eval_ganvae_cmd(
        run: Annotated[Path, typer.Argument(help="A `train ganvae` run folder.")],
        data: Annotated[Optional[str], typer.Option(help="Images to reconstruct. \\[default: the run's data]", show_default=False)] = None,
        count: Annotated[int, typer.Option(help="How many images.")] = 1000,
    ) -> None:
        """Reconstruction error (MSE per pixel, encoder mean -> generator) through the exported ONNX files."""
        from ..encoder import reconstruction_mse

        mse, used, source = reconstruction_mse(run, data, count)
        typer.echo(f"reconstruction MSE {mse:.4f} on {used} images of {source}")

    @z_app.command("encode", epilog="Example: cppnart z encode digit.png --model runs/digits -o z.npy")
    @user_errors
    def encode_cmd(
        images: Annotated[list[Path], typer.Argument(help="Image file(s); several give z of shape [B, Z].")],
        model: Annotated[Path, typer.Option(help="A `train ganvae` run folder (or its model.onnx).")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output .npy file.")],
        invert: Annotated[Optional[bool], typer.Option("--invert/--no-invert", help="Swap dark and light (training digits are white on black). \\[default: when the border is bright]", show_default=False)] = None,
    ) -> None:
        """Encode images to latent vectors with a trained run's encoder (its mean)."""
        import numpy as np

        from ..encoder import RunEncoder
        from ..latent import save_z

        check_output(out, (".npy",))
        encoder = RunEncoder(model)
        z = encoder.encode(np.stack([encoder.load(path, invert) for path in images]))
        save_z(out, z)
        typer.echo(f"{len(images)} image(s) -> z {list(z.shape) if len(z) > 1 else [z.shape[1]]} -> {out}")
