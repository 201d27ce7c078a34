"""Fitting a CPPN to one image (a neural "vectorisation"), then rendering it at poster size.

    result = fit_image(config, target, Path("runs/fit"), device=torch.device("cpu"))
    model = build_fit_cppn(config)        # the shared torch CPPN, optionally with Fourier features

``target`` is float [H, W, C]; the model learns colour(x, y) on the renderer's own pixel-centre
grid for a W x H image, so `cppnart render runs/fit --res {k*W}x{k*H}` draws the same picture
larger. Each step fits a random subset of ``batch_pixels`` pixels (MSE, Adam, cosine learning
rate). The run folder gets ``checkpoint.pt`` (every K steps and on Ctrl-C; exact resume),
``target.npy`` (the fitted image, so ``--resume`` needs no image), ``samples/step-NNNNNN.png``,
``model.onnx`` (coords + dummy z of size 1), ``render.png`` at ``render_scale`` times the fitted
size, and ``summary.json`` with the PSNR at training size.

With a starting genome (`train fit photo.png --init bred.genome.json`: a bred picture's genome,
or a PNG whose recipe carries one) the genome's weights are fitted instead, its structure fixed
(``train.genome_torch.GenomeModule``): the run keeps it as ``init.genome.json`` (so ``--resume``
needs nothing else) and exports a genome model (``model.onnx`` of kind genome) and the fitted
``genome.genome.json``, which breeds, morphs and renders like any genome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..configs.ganvae import FitConfig
from ..configs.schema import to_dict
from ..errors import UserError
from ..graph.export import cppn_model, model_proto, save_model
from ..io.atomic import atomic_output
from ..render.sheets import save_sheet
from .loop import Every
from .models.cppn import CPPN, pixel_coords
from .onnx_export import verify_onnx
from .run import Callbacks, Session, set_lr

if TYPE_CHECKING:
    from ..graph.genome import Genome
    from .genome_torch import GenomeModule


def build_fit_cppn(config: FitConfig, generator: torch.Generator | None = None) -> CPPN:
    """The plain CPPN f(scale * (x, y, r)), or sin Fourier features of (x, y) first; no latent."""
    return CPPN.shaped_like(
        config,
        z_dim=0,
        channels=config.channels,
        coords_bias=True,
        fourier_features=config.fourier_features,
        fourier_scale=config.fourier_scale,
        generator=generator,
    )


def load_target(path: str | Path, config: FitConfig) -> np.ndarray:
    """The image as float [H, W, C] in [0, 1], shrunk so its longer side is at most ``max_side``."""
    from PIL import Image

    from ..io.images import open_image

    image = open_image(path, config.channels)
    w, h = image.size
    k = config.max_side / max(w, h)
    if k < 1:
        image = image.resize((max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.LANCZOS)
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    return pixels[..., None] if pixels.ndim == 2 else pixels


TARGET = "target.npy"  # the fitted image as float [H, W, C], kept in the run folder for --resume
INIT_GENOME = "init.genome.json"  # the genome a --init run started from (its structure), for --resume
FITTED_GENOME = "genome.genome.json"  # the fitted genome a --init run exports beside model.onnx


def start_genome(init: str | Path | None, out: Path, payload: dict[str, Any] | None) -> Genome | None:
    """The genome a fit starts from: ``init`` (a genome file, or a PNG whose recipe carries one),
    kept in the run folder as ``init.genome.json``; on resume the run's own; None for a plain CPPN."""
    from ..errors import ParamError
    from ..graph.genome import write_genome

    kept = Path(out) / INIT_GENOME
    if init is None:
        return run_genome(out) if payload is not None else None
    if payload is not None:
        raise ParamError("init", "a resumed run keeps the genome it started from; resume it without one")
    from .genome_torch import load_start_genome

    genome = load_start_genome(init)
    Path(out).mkdir(parents=True, exist_ok=True)
    write_genome(genome, kept)
    return genome


def run_genome(out: Path) -> Genome | None:
    """The genome a run in ``out`` started from (its ``init.genome.json``), None for a plain CPPN run."""
    from ..graph.genome_io import read_genome

    kept = Path(out) / INIT_GENOME
    return read_genome(kept) if kept.is_file() else None


def fit_target(config: FitConfig, image: str | Path | None, out: Path, channels: int | None = None) -> np.ndarray:
    """What a fit run fits: ``image`` (``load_target``, as ``channels`` when given: a starting
    genome's), or with none the run's own ``target.npy``."""
    if image is not None:
        from dataclasses import replace

        return load_target(image, config if channels is None else replace(config, channels=channels))
    path = Path(out) / TARGET
    if not path.is_file():
        raise UserError(f"'{out}' holds no {TARGET}; give the IMAGE to fit")
    from ..io.npy import load_npy

    target = load_npy(path)
    if target.ndim != 3 or target.shape[-1] not in (1, 3) or not np.isfinite(target).all():
        raise UserError(f"'{path}' is not an image array [H, W, 1 or 3]; give the IMAGE to fit")
    return target


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two images in [0, 1] (infinite when they are equal)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


@dataclass
class FitResult:
    """What ``fit_image`` returns: steps reached, seconds, the PSNR of the fit and the run folder."""

    steps: int
    seconds: float
    psnr: float  # of the exported ONNX model rendered at the training size
    out: Path
    psnr_start: float | None = None  # of the starting genome (a --init run), at the training size


def fit_image(
    config: FitConfig,
    target: np.ndarray,
    out: Path,
    *,
    device: torch.device,
    payload: dict[str, Any] | None = None,
    callbacks: Callbacks = Callbacks(),
    export: bool = True,
    genome: Genome | None = None,
) -> FitResult:
    """Fit ``target`` [H, W, C] (or continue from ``payload``, a loaded checkpoint); with ``genome``
    fit its weights (its structure fixed) instead of a new CPPN's."""
    note = callbacks.note
    height, width, channels = target.shape
    want = genome.channels if genome is not None else config.channels
    if channels != want:
        raise UserError(
            f"the image has {channels} channels but the {'genome draws' if genome else 'preset fits'} {want}"
        )
    rng = Session.seed_torch(config.seed)
    model: torch.nn.Module
    if genome is not None:
        from .genome_torch import GenomeModule

        model = GenomeModule(genome).to(device)
    else:
        model = build_fit_cppn(config, generator=torch.Generator().manual_seed(config.seed + 2)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    states = {"model": model, "optimizer": optimizer}
    session = Session(config, out, callbacks, states, {"pixels": rng}, {"size": [width, height]})
    if payload is not None and tuple(payload["extra"].get("size", ())) != (width, height):
        raise UserError(
            f"the checkpoint fitted a {payload['extra'].get('size')} image but this one is "
            f"{[width, height]}; resume with the same image"
        )

    coords = pixel_coords(width, height).to(device)  # [H*W, 2]
    colours = torch.from_numpy(target.reshape(-1, channels)).to(device)
    batch = config.batch_pixels if 0 < config.batch_pixels < len(coords) else 0
    start = session.start(payload)
    if payload is None:  # the run's own copy of what it fits: --resume needs no image
        with atomic_output(out / TARGET) as tmp, open(tmp, "wb") as f:
            np.save(f, target, allow_pickle=False)

    def step_fn(step: int) -> dict[str, float]:
        set_lr(optimizer, config.lr_at(step))
        if batch:
            idx = torch.randint(0, len(coords), (batch,), generator=rng).to(device)
            pred, want = model(coords[idx])[0], colours[idx]
        else:
            pred, want = model(coords)[0], colours
        loss = torch.mean((pred - want) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"mse": loss.item(), "psnr_batch": 10 * math.log10(1 / max(loss.item(), 1e-12))}

    @torch.no_grad()
    def render_now() -> np.ndarray:
        return (
            torch.cat([model(part)[0] for part in coords.split(65536)]).reshape(height, width, channels).cpu().numpy()
        )

    def samples(step: int) -> None:
        save_sheet(out / "samples" / f"step-{step:06d}.png", render_now()[None], gap=0)
        note(f"samples/step-{step:06d}.png")

    steps, seconds = session.run(step_fn, start, config.steps, [Every(config.sample_every, samples)])
    result = FitResult(steps, seconds, psnr(render_now(), target), out)
    scores: dict[str, Any] = {}
    if genome is not None:
        from ..graph.genome import evaluate

        start_image = evaluate(genome, coords.cpu().numpy())[0].reshape(height, width, channels)
        result.psnr_start = scores["psnr_start"] = psnr(start_image, target)
    if export:
        if genome is not None:
            result.psnr = export_genome_fit(config, model, target, out)  # type: ignore[arg-type]
        else:
            result.psnr = export_fit(config, model, target, out)  # type: ignore[arg-type]
        summary = {"psnr_training_size": result.psnr, "size": [width, height], **scores}
        session.summary(steps, seconds, device, summary)
    return result


def export_genome_fit(config: FitConfig, model: GenomeModule, target: np.ndarray, out: Path) -> float:
    """Write the fitted genome (``genome.genome.json``), its genome model (model.onnx, verified
    against torch) and render.png; returns the PSNR of the ONNX model at the training size."""
    from ..graph.genome import write_genome
    from ..graph.genome_onnx import genome_graph, genome_metadata

    height, width, _ = target.shape
    genome = model.cpu().to_genome()
    metadata = {**genome_metadata(genome, config.name), "train_size": f"{width}x{height}"}
    proto = model_proto(genome_graph(genome), metadata)
    z = torch.tensor([list(genome.z or [0.0] * genome.z_dim)] * 2)
    verify_onnx(proto, model, {"coords": pixel_coords(min(width, 64), min(height, 48)), "z": z})
    write_genome(genome, out / FITTED_GENOME)
    save_model(proto, out / "model.onnx")
    return _render_export(config, target, out, z[:1].numpy())


def export_fit(config: FitConfig, model: CPPN, target: np.ndarray, out: Path) -> float:
    """Write model.onnx (verified against torch) and render.png; returns the PSNR of the ONNX
    model at the training size."""
    height, width, channels = target.shape
    proto = cppn_model(
        model.cpu().to_weights(),
        preset=config.name,
        seed=config.seed,
        config=to_dict(config),
        z_prior="normal",
        kind="fit",
        extra={"train_size": f"{width}x{height}"},
    )
    verify_onnx(proto, model, {"coords": pixel_coords(min(width, 64), min(height, 48)), "z": torch.zeros(2, 1)})
    save_model(proto, out / "model.onnx")
    return _render_export(config, target, out, np.zeros((1, 1), np.float32))


def _render_export(config: FitConfig, target: np.ndarray, out: Path, z: np.ndarray) -> float:
    """render.png of the exported model.onnx at ``render_scale`` times the size; the PSNR of the
    model at the training size."""
    from ..io.png import write_png
    from ..render.model import load_model

    height, width, channels = target.shape
    net = load_model(out / "model.onnx", device="cpu")
    fitted = net.render(z, width, height)
    k = config.render_scale
    bands = (band[0] for band in net.bands(z, width * k, height * k))
    write_png(out / "render.png", width * k, height * k, channels, bands)
    return psnr(fitted, target)
