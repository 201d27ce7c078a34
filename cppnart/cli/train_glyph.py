"""`cppnart train glyph` and `cppnart eval glyph`: the inverted auto-encoder of seeds 000/001."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UserError
from .common import Device, user_errors
from .train import ThreadsOption, TorchDeviceOption, eval_app, require_torch, train_app, train_with_view


def register(app: typer.Typer) -> None:
    @train_app.command("glyph", epilog="Example: cppnart train glyph --preset glyph-quick --out runs/glyphs")
    @user_errors
    def train_glyph_command(
        out: Annotated[Path, typer.Option("--out", "-o", help="Run folder: checkpoint, samples/, model.onnx, sheet.png.")],
        preset: Annotated[Optional[str], typer.Option(help="Glyph preset name (see `cppnart presets`) or .toml path.")] = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its checkpoint.")] = False,
        steps: Annotated[Optional[int], typer.Option(help="Total steps to train to (overrides the preset; extends a resumed run, stretching its cosine lr schedule over the new total).")] = None,
        device: TorchDeviceOption = Device.auto,
        threads: ThreadsOption = None,
    ) -> None:
        """Train a glyph generator + decoder through differentiable kornia noise; export model.onnx."""
        from ..config import load_preset
        from ..glyph_config import GlyphConfig

        config = None
        if preset is not None:
            config = load_preset(preset)
            if not isinstance(config, GlyphConfig):
                raise UserError(f"preset '{preset}' is kind '{config.kind}', not 'glyph'; pick a glyph-* preset")
        require_torch(threads)
        from rich.console import Console

        from ..train.device import choose_device, describe_device
        from ..train.glyph import resolve_config, train_glyph
        from ..train.run_folder import check_run_folder
        from ..train.live import LiveView

        out = Path(out)
        console = Console(stderr=True)
        # Resolve up front so the live view knows the step count; train_glyph reuses it.
        check_run_folder(out, resume)
        resolved, payload = resolve_config(config, out, resume, steps)
        start = int(payload["step"]) if payload else 0
        console.print(f"training {resolved.name}: message {resolved.message_size}, {resolved.generator.type} generator, "
                      f"{resolved.image_size}x{resolved.image_size}x{resolved.channels}, {resolved.train.describe_lr()}, on "
                      f"{describe_device(choose_device(device.value))}" + (f", resuming at step {start}" if start else ""),
                      highlight=False, soft_wrap=True)
        view = LiveView(f"glyph · {resolved.name} → {out}", total=resolved.train.steps, start=start,
                        console=console)
        result = train_with_view(view, lambda: train_glyph(
            config, out, device=device.value, resume=resume, steps=steps, view=view, on_event=view.note,
            resolved=(resolved, payload)), "glyph", out)
        if result.steps == start:
            typer.echo(f"already at step {start} of {resolved.train.steps}; nothing to train (pass a larger --steps to go on)")
        else:
            score = f", R² {result.final.r2:.3f}, cosine {result.final.cosine:.3f}" if result.final else ""
            typer.echo(f"trained to step {result.steps} in {result.seconds:.0f} s "
                       f"({result.steps_per_second:.1f} steps/s){score}")
        typer.echo(f"model: {result.model}  sheet: {out / 'sheet.png'}")

    @eval_app.command("glyph", epilog="Example: cppnart eval glyph runs/glyphs")
    @user_errors
    def eval_glyph_command(
        run: Annotated[Path, typer.Argument(help="Run folder (or its checkpoint.pt).")],
        count: Annotated[int, typer.Option(help="Fresh messages to send through the noise.")] = 1024,
        seed: Annotated[int, typer.Option(help="Seed for the messages and the noise draws.")] = 12345,
        device: TorchDeviceOption = Device.auto,
    ) -> None:
        """Message recovery under the training noise: R² and mean cosine, trained vs untrained."""
        if count < 2:
            raise UserError(f"--count must be at least 2, got {count}")
        require_torch()
        from ..train.glyph import evaluate_run

        report = evaluate_run(run, count=count, seed=seed, device=device.value)
        typer.echo(f"{report.config.name}: message {report.config.message_size}, step {report.step}, "
                   f"{count} fresh messages under the training noise")
        typer.echo(f"{'':10s} {'R²':>8s} {'cosine':>8s}")
        for label, score in (("trained", report.trained), ("untrained", report.untrained)):
            typer.echo(f"{label:10s} {score.r2:8.4f} {score.cosine:8.4f}")
