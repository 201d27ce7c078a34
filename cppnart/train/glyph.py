"""Training the glyph models (inverted auto-encoder): message -> generator -> noise -> decoder -> message.

    config, payload = resolve_run(GlyphConfig, load_preset("glyph-quick"), out, resume=False)
    result = train_glyph(config, out, payload=payload)           # payload: the checkpoint, on resume
    scores = evaluate_run(Path("runs/glyphs"))                    # R², cosine: trained vs untrained

A run folder holds: checkpoint.pt (config + states, atomic), samples/step-NNNNNN.png (glyphs of
the same fixed messages every `sample_every` steps), metrics.jsonl (loss, R², cosine over
steps), messages.npy (those fixed messages), and at the end model.onnx and sheet.png.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..configs.glyph import IMAGE_GENERATORS, GlyphConfig
from ..configs.schema import to_dict
from ..io.atomic import atomic_output
from ..io.images import images_at
from ..render.look import checkerboard_share, diversity, ink_coverage
from ..render.sheets import save_sheet
from .checkpoint import checkpoint_config, load_checkpoint, restore, save_checkpoint
from .device import choose_device
from .loop import Every, run_steps
from .models.cppn import CPPN
from .models.glyph import GlyphDecoder, GlyphGenerator, InkGlyphGenerator, build_generator
from .models.strokes import StrokeGlyphGenerator
from .noise import build_noise
from .probe import ProbeReport, Reconstruction, probe_decoders, reconstruct
from .run import Callbacks, set_lr
from .run_folder import CHECKPOINT, make_run_folder

EVAL_SEED_OFFSET = 1_000_003  # eval messages/noise never coincide with the training stream
SAMPLE_SEED_OFFSET = 7


@dataclass(frozen=True)
class Recovery:
    """How well the decoder reads messages back from noisy glyphs: the headline score of a glyph run."""

    r2: float  # 1 - MSE / var(message): 1 is perfect, 0 is "predict the mean"
    cosine: float  # mean cosine similarity between message and read-back message


@dataclass(frozen=True)
class TrainResult:
    """What ``train_glyph`` returns: the run folder, steps reached, time and speed, the last evaluation
    (None when none ran) and the exported ``model.onnx`` (None without export)."""

    out: Path
    steps: int
    seconds: float
    steps_per_second: float
    final: Recovery | None
    model: Path | None


@dataclass
class GlyphModels:
    """What one glyph run trains: built together from one config, on one device."""

    generator: GlyphGenerator
    decoder: GlyphDecoder
    noise: nn.Module

    def read_back(self, messages: torch.Tensor) -> torch.Tensor:
        """The decoder's reading of ``messages`` drawn as glyphs and passed through the channel noise."""
        return self.decoder(self.noise(self.generator.images(messages)))


def build_models(config: GlyphConfig, device: torch.device) -> GlyphModels:
    """Freshly initialised generator, decoder and noise pipeline for ``config``, on ``device``."""
    return GlyphModels(
        build_generator(config).to(device),
        GlyphDecoder(config).to(device),
        build_noise(config.noise, config.image_size).to(device),
    )


def config_from_checkpoint(payload: dict[str, Any], where: str) -> GlyphConfig:
    """The glyph config a checkpoint was trained with; another family's checkpoint is a ``UserError``."""
    return checkpoint_config(payload, GlyphConfig, where)


# --- evaluation ---------------------------------------------------------------------------


def recovery(models: GlyphModels, messages: torch.Tensor, batch: int = 256) -> Recovery:
    """Message recovery under the training noise, models in eval mode (BatchNorm running stats)."""
    modes = (models.generator.training, models.decoder.training)
    models.generator.eval()
    models.decoder.eval()
    try:
        with torch.no_grad():
            got = torch.cat([models.read_back(chunk) for chunk in messages.split(batch)])
    finally:
        models.generator.train(modes[0])
        models.decoder.train(modes[1])
    mse = torch.mean((got - messages) ** 2)
    r2 = 1.0 - float(mse / messages.var())
    cosine = float(nn.functional.cosine_similarity(got, messages, dim=1).mean())
    return Recovery(r2, cosine)


def seeded_recovery(models: GlyphModels, config: GlyphConfig, count: int, seed: int) -> Recovery:
    """Recovery on ``count`` fresh messages with fixed noise draws, leaving the training RNG untouched."""
    device = next(models.generator.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        messages = torch.randn(count, config.message_size, generator=torch.Generator().manual_seed(seed)).to(device)
        return recovery(models, messages)


def untrained_models(config: GlyphConfig, device: torch.device) -> GlyphModels:
    """Fresh models of the same shape, initialised as a run with this seed starts."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(config.train.seed)
        return build_models(config, device)


# --- the run folder -----------------------------------------------------------------------


def _append_metrics(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def _trim_metrics(path: Path, step: int) -> None:
    """Forget records past the checkpoint (a crash may have left some) so the log reads once through."""
    if not path.is_file():
        return
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        if isinstance(record, dict) and record.get("step", 0) <= step:
            keep.append(line)
    with atomic_output(path) as tmp:
        tmp.write_text("".join(line + "\n" for line in keep), encoding="utf-8")


# --- training -----------------------------------------------------------------------------


def ink_over_budget(opacity: torch.Tensor, budget: float, power: float = 0.5) -> torch.Tensor:
    """Mean over glyphs of how far each glyph's ink exceeds ``budget``; ink is the mean of opacity**power.

    A power below 1 makes ink concave in opacity: a pale wash over the whole canvas costs more than
    the same opacity gathered in full-strength marks (at 0.5 a 0.2 wash counts 0.45, a quarter of the
    canvas fully inked 0.25). With the plain mean, colour glyphs spread a pastel texture over
    everything; at 64x64 even the square root let a 0.12 wash fit a 0.35 budget, hence ``power``.
    Per glyph, not per batch: every glyph must leave most of its paper empty, not the batch on average.
    """
    ink = opacity.clamp_min(1e-6).pow(power).mean(dim=(1, 2, 3))
    return torch.relu(ink - budget).mean()


def train_glyph(
    config: GlyphConfig,
    out: Path,
    *,
    payload: dict[str, Any] | None = None,
    device: str = "auto",
    callbacks: Callbacks = Callbacks(),
    export: bool = True,
) -> TrainResult:
    """Train (or continue, given the loaded checkpoint ``payload``) a glyph run in ``out``.

    Ctrl-C: checkpoint, then ``loop.Interrupted``. ``train.resolve.resolve_run`` gives both arguments.
    """
    import time

    out = Path(out)
    make_run_folder(out, payload is not None)
    dev = choose_device(device)
    tc = config.train

    torch.manual_seed(tc.seed)
    models = build_models(config, dev)
    params = list(models.generator.parameters()) + list(models.decoder.parameters())
    optimizer = torch.optim.Adam(params, lr=tc.lr)
    message_rng = torch.Generator(device=dev).manual_seed(tc.seed)
    states = {"generator": models.generator, "decoder": models.decoder, "optimizer": optimizer}
    start = 0
    if payload is not None:
        start = restore(payload, states=states, generators={"messages": message_rng}, where=str(out / CHECKPOINT))
    metrics_path = out / "metrics.jsonl"
    _trim_metrics(metrics_path, start)

    # The same messages every sample sheet, so the glyphs can be watched taking shape.
    samples = torch.randn(
        tc.sample_count, config.message_size, generator=torch.Generator().manual_seed(tc.seed + SAMPLE_SEED_OFFSET)
    )
    with atomic_output(out / "messages.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, samples.numpy().astype(np.float32), allow_pickle=False)
    samples = samples.to(dev)

    def step_fn(step: int) -> dict[str, float]:
        lr = tc.lr_at(step)
        set_lr(optimizer, lr)
        messages = torch.randn(tc.batch_size, config.message_size, generator=message_rng, device=dev)
        if tc.ink_budget > 0:  # the config allows a budget only for the ink generator
            assert isinstance(models.generator, InkGlyphGenerator)
            images, opacity = models.generator.paint(messages)
        else:
            images = models.generator.images(messages)
        loss = nn.functional.mse_loss(models.decoder(models.noise(images)), messages)
        metrics = {"lr": lr}
        if tc.ink_budget > 0:
            over = ink_over_budget(opacity, tc.ink_budget, tc.ink_power)
            metrics["ink_over"] = float(over.detach())
            loss = loss + tc.ink_weight_at(step) * over
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": float(loss.detach()), **metrics}

    last_metrics = {"loss": math.nan}

    def remember(step: int, metrics: dict[str, float]) -> None:
        last_metrics.update(metrics)
        if callbacks.on_metrics is not None:
            callbacks.on_metrics(step, metrics)

    def checkpoint(step: int) -> None:
        save_checkpoint(
            out / CHECKPOINT, config=to_dict(config), step=step, states=states, generators={"messages": message_rng}
        )

    def sample_sheet(step: int) -> None:
        models.generator.eval()
        with torch.no_grad():
            images = models.generator.images(samples)
        models.generator.train()
        path = save_sheet(
            out / "samples" / f"step-{step:06d}.png",
            images,
            cols=8,
            upscale=max(1, 128 // config.image_size),
            channels_last=False,
        )
        callbacks.note(f"wrote {path}")

    final: dict[str, Recovery] = {}

    def evaluate(step: int) -> None:
        score = seeded_recovery(models, config, tc.eval_messages, tc.seed + EVAL_SEED_OFFSET)
        final["last"] = score
        _append_metrics(
            metrics_path,
            {
                "step": step,
                "loss": last_metrics["loss"],
                "lr": last_metrics.get("lr"),
                "r2": score.r2,
                "cosine": score.cosine,
            },
        )
        if callbacks.on_metrics is not None:
            callbacks.on_metrics(step, {"r2": score.r2, "cosine": score.cosine})

    t0 = time.perf_counter()
    every = [
        Every(tc.sample_every, sample_sheet),
        Every(tc.eval_every, evaluate),
        Every(tc.checkpoint_every, checkpoint),
        *callbacks.every,
    ]
    done = run_steps(step_fn, start=start, stop=tc.steps, every=every, on_metrics=remember, on_interrupt=checkpoint)
    seconds = time.perf_counter() - t0
    model_path = None
    if export:
        callbacks.note("exporting model.onnx")
        model_path = export_generator(models.generator, config, out / "model.onnx")
        render_sheet(model_path, out / "messages.npy", out / "sheet.png")
    return TrainResult(
        out, done, seconds, (done - start) / seconds if seconds > 0 else 0.0, final.get("last"), model_path
    )


# --- export -------------------------------------------------------------------------------


def export_generator(generator: GlyphGenerator, config: GlyphConfig, path: Path) -> Path:
    """Export to ONNX (verified against torch in onnxruntime) with the metadata `render` needs."""
    from ..graph.export import save_model
    from .onnx_export import export_onnx, verify_onnx

    gen = copy.deepcopy(generator).cpu().eval()
    metadata: dict[str, Any] = {
        "kind": "glyph",
        "z_dim": str(config.message_size),
        "channels": str(config.channels),
        "preset": config.name,
        "seed": str(config.train.seed),
        "z_prior": "normal",  # messages are standard normal vectors
        "config": to_dict(config),
    }
    z = torch.randn(2, config.message_size, generator=torch.Generator().manual_seed(0))
    if config.generator.type in IMAGE_GENERATORS:
        metadata.update(interface="image", image_size=[config.image_size, config.image_size])
        proto = export_onnx(gen, {"z": z}, output_names=["image"], dynamic={"z": {0: "B"}}, metadata=metadata)
        verify_onnx(proto, gen, {"z": torch.randn(3, config.message_size)})
    else:
        assert isinstance(gen, CPPN | StrokeGlyphGenerator)
        metadata.update(interface="coords", train_size=[config.image_size, config.image_size])
        proto = export_onnx(
            gen,
            {"coords": gen.grid.clone(), "z": z},  # a copy: an input aliasing a buffer can be frozen into the graph,
            output_names=["rgb"],
            dynamic={"coords": {0: "N"}, "z": {0: "B"}},
            metadata=metadata,
        )
        # Check a different N and B than exported with: the axes really are dynamic.
        from ..render.coords import grid

        verify_onnx(proto, gen, {"coords": torch.from_numpy(grid(7, 5)), "z": torch.randn(3, config.message_size)})
    return save_model(proto, path)


def render_sheet(model_path: Path, messages_path: Path, sheet_path: Path, size: int | None = None) -> Path:
    """The glyphs of the fixed messages, rendered from model.onnx (cppn: at 128 px each)."""
    from ..render.model import load_model

    model = load_model(model_path, device="cpu")
    from ..io.npy import load_npy

    messages = load_npy(messages_path)
    native = model.native_size
    if native is not None:
        width, height = native
        upscale = max(1, 128 // width)
    else:
        width = height = size or 128
        upscale = 1
    images = model.render(messages, width, height)
    return save_sheet(sheet_path, images, cols=8, upscale=upscale)


# --- eval of a finished run ---------------------------------------------------------------


@dataclass(frozen=True)
class Look:
    """How the glyphs look (``cppnart.render.look``): what R² cannot tell."""

    checkerboard: float  # share of image energy in period-2 patterns
    ink: float  # share of the canvas covered by marks
    diversity: float  # distance between messages' glyphs over distance under the noise


@dataclass(frozen=True)
class EvalReport:
    """What ``evaluate_run`` measures of a glyph run against an untrained model of the same config:
    recovery and look, plus the optional linear probe and reconstructions."""

    config: GlyphConfig
    step: int
    trained: Recovery
    untrained: Recovery
    trained_look: Look
    untrained_look: Look
    probe: ProbeReport | None = None
    reconstruction: Reconstruction | None = None


def glyph_look(models: GlyphModels, config: GlyphConfig, count: int, seed: int, copies: int = 4) -> Look:
    """The look of ``count`` glyphs of fresh messages (at most 256), each also under ``copies`` noise draws."""
    device = next(models.generator.parameters()).device
    count = min(count, 256)
    modes = (models.generator.training, models.noise.training)
    models.generator.eval()
    models.noise.train()  # kornia augmentations draw noise only in training mode
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.no_grad():
            torch.manual_seed(seed)
            gen = torch.Generator().manual_seed(seed + SAMPLE_SEED_OFFSET)
            clean = models.generator.images(torch.randn(count, config.message_size, generator=gen).to(device))
            noisy = torch.stack([models.noise(clean) for _ in range(copies)])
    finally:
        models.generator.train(modes[0])
        models.noise.train(modes[1])
    clean_np = clean.permute(0, 2, 3, 1).cpu().numpy()
    noisy_np = noisy.permute(0, 1, 3, 4, 2).cpu().numpy()
    return Look(checkerboard_share(clean_np), ink_coverage(clean_np), diversity(clean_np, noisy_np))


def evaluate_run(
    run: Path,
    count: int = 1024,
    seed: int = 12345,
    device: str = "auto",
    probe: str | None = None,
    probe_count: int = 2000,
    reconstruct_from: str | None = None,
    reconstruct_count: int = 16,
) -> EvalReport:
    """Trained vs untrained recovery on ``count`` fresh messages under the training noise, the
    glyphs' look; with ``probe`` (a labelled data source) a linear probe on the decoders; with
    ``reconstruct_from`` images of a data source sent through decoder then generator."""
    run = Path(run)
    path = run / CHECKPOINT if run.is_dir() else run
    payload = load_checkpoint(path)
    config = config_from_checkpoint(payload, str(path))
    dev = choose_device(device)
    trained = build_models(config, dev)
    restore(payload, states={"generator": trained.generator, "decoder": trained.decoder}, where=str(path), rng=False)
    untrained = untrained_models(config, dev)
    return EvalReport(
        config,
        int(payload["step"]),
        seeded_recovery(trained, config, count, seed),
        seeded_recovery(untrained, config, count, seed),
        glyph_look(trained, config, count, seed),
        glyph_look(untrained, config, count, seed),
        None
        if probe is None
        else probe_decoders(trained.decoder, untrained.decoder, probe, config.channels, config.image_size, probe_count),
        None
        if reconstruct_from is None
        else reconstruct(
            (trained.decoder, trained.generator),
            (untrained.decoder, untrained.generator),
            images_at([reconstruct_from], config.channels, config.image_size, reconstruct_count).images,
        ),
    )
