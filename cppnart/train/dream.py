"""Feature visualisation with CPPNs: find the input pattern a trained network's unit responds to.

    target = load_target("runs/clf")
    result = dream(target, DreamSettings(layer="conv3", units=(5,)), Path("runs/d5"))
    result.report["responded"], result.models           # report.json's content, model.onnx paths

The image is parameterised (``param``) by a small CPPN per solution (the one torch CPPN module,
N of them stacked and run with ``torch.func.vmap``), so the result exports through the numpy
ONNX builder into a ``model.onnx`` that `cppnart render` draws at any size; ``fft`` (a
decorrelated Fourier spectrum) and ``pixel`` are baselines at the optimisation size only.

Each step draws the image(s), applies kornia robustness transforms (pad, jitter, scale, rotate),
runs the target and climbs the objective (a channel's mean, one neuron, a class logit; or
descends with ``minimise``), with a diversity penalty between the solutions of one unit. The
start follows the filter-visualisation series: a pool of random starts at several scales
(CPPNs with coarse to fine input scales; for ``pixel`` and ``fft``, noise laid on 3x3, 7x7,
14x14 and 28x28 grids with a weight per scale) is probed first and each unit starts from the
start it responds to most; a unit that responds to none of them (a dead ReLU) is reported as
not responding, with the probe's evidence, never as a flat "result".
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..configs.schedule import lr_at
from ..errors import ParamError, UserError
from ..io.atomic import atomic_output
from .models.cppn import CPPN, pixel_coords
from .run import Callbacks, set_lr
from .targets import Layer, Target

PARAMS = ("cppn", "fft", "pixel")
NOISE_GRIDS = (3, 7, 14, 28)  # the series' start: pixel noise on these grids ...
NOISE_WEIGHTS = (1.0, 0.5, 0.25, 0.125)  # ... with a weight per scale
CPPN_SCALES = (0.5, 1.0, 2.0, 3.0)  # probe pool of CPPN starts, coarse to fine
RESPONSE_EPS = 1e-6


@dataclass(frozen=True)
class DreamSettings:
    """What to visualise and how. ``units``: the channel (or class) of every solution; ``None``
    with ``all_channels`` does every channel of ``layer`` once."""

    layer: str
    units: tuple[int, ...] = (0,)
    neuron: tuple[int, int] | None = None  # (y, x) of one neuron of units[0]
    minimise: bool = False
    diversity: float = 1.0  # weight of the similarity penalty between solutions of one unit
    param: str = "cppn"
    steps: int = 512
    lr: float = 0.01
    tol: float = 0.0  # stop when the objective's relative change over 64 steps is below this (0: never)
    seed: int = 0
    probe: int = 16  # random starts tried before optimising
    transforms: bool = True
    polish: float = 0.1  # the last fraction of the steps runs without transforms (the image as it will be seen)
    width: int = 24  # CPPN hidden width
    depth: int = 5  # CPPN hidden layers
    activation: str = "sin"  # sin layers reach higher activations than tanh (bench/dream.py)
    size: int | None = None  # optimisation size (default: the target's input size)

    def check(self, target: Target) -> Layer:
        """Validate against the target before any work: every error names the flag's parameter."""
        layer = target.layer(self.layer)
        if self.param not in PARAMS:
            raise ParamError("param", f"must be one of {', '.join(PARAMS)}, got '{self.param}'")
        for name, value, low in (("steps", self.steps, 1), ("probe", self.probe, 1), ("width", self.width, 1)):
            if value < low:
                raise ParamError(name, f"must be at least {low}, got {value}")
        if self.lr <= 0 or self.tol < 0 or self.diversity < 0:
            raise ParamError("lr", "lr must be positive; tol and diversity must not be negative")
        if not self.units:
            raise ParamError("channel", "no channel given")
        for unit in self.units:
            if not 0 <= unit < layer.channels:
                raise ParamError(
                    "channel", f"{unit} is out of range: layer '{self.layer}' has channels 0..{layer.channels - 1}"
                )
        if self.neuron is not None:
            if not layer.spatial:
                raise ParamError("neuron", f"needs a layer with a spatial map; '{self.layer}' has shape {layer.shape}")
            y, x = self.neuron
            if not (0 <= y < layer.shape[1] and 0 <= x < layer.shape[2]):
                raise ParamError(
                    "neuron", f"({y}, {x}) is outside the {layer.shape[1]}x{layer.shape[2]} map of '{self.layer}'"
                )
        return layer


# --- parameterisations ---------------------------------------------------------------------------


class CPPNStack(nn.Module):
    """N independent CPPNs (the shared module), trained together through ``torch.func``."""

    def __init__(self, nets: list[CPPN], width: int, height: int) -> None:
        super().__init__()
        from torch.func import stack_module_state

        self.template = copy.deepcopy(nets[0])
        params, _ = stack_module_state(nets)  # type: ignore[arg-type]
        self.params = nn.ParameterDict(
            {k.replace(".", "__"): nn.Parameter(v.detach().clone()) for k, v in params.items()}
        )
        self.register_buffer("coords", pixel_coords(width, height), persistent=False)
        self.width, self.height = width, height

    def stacked(self) -> dict[str, torch.Tensor]:
        return {k.replace("__", "."): v for k, v in self.params.items()}

    def forward(self) -> torch.Tensor:
        from torch.func import functional_call, vmap

        def one(params: dict[str, torch.Tensor]) -> torch.Tensor:
            return functional_call(self.template, params, (self.coords,))[0]  # [P, C]

        out = vmap(one)(self.stacked())  # [N, P, C]
        return out.transpose(1, 2).reshape(out.shape[0], -1, self.height, self.width)

    def take(self, index: torch.Tensor) -> CPPNStack:
        new = copy.deepcopy(self)
        for value in new.params.values():
            value.data = value.data[index].clone()
        return new

    def member(self, i: int) -> CPPN:
        net = copy.deepcopy(self.template)
        net.load_state_dict({k: v[i].detach() for k, v in self.stacked().items()})
        return net


class PixelStack(nn.Module):
    """Images as sigmoid(logits) per pixel (``pixel``), or through a 1/f-scaled spectrum (``fft``)."""

    def __init__(self, start: torch.Tensor, fft: bool) -> None:
        super().__init__()
        self.fft = fft
        n, c, h, w = start.shape
        if fft:
            fy = torch.fft.fftfreq(h)[:, None]
            fx = torch.fft.rfftfreq(w)[None, :]
            scale = 1.0 / torch.sqrt(fx * fx + fy * fy).clamp(min=1.0 / max(h, w))
            self.register_buffer("freq_scale", scale / scale.max() * math.sqrt(h * w))
            spectrum = torch.fft.rfft2(start) / self.freq_scale
            self.values = nn.Parameter(torch.view_as_real(spectrum).contiguous())
        else:
            self.values = nn.Parameter(start.clone())
        self.size = (h, w)

    def forward(self) -> torch.Tensor:
        if self.fft:
            spectrum = torch.view_as_complex(self.values) * self.freq_scale
            logits = torch.fft.irfft2(spectrum, s=self.size)
        else:
            logits = self.values
        return torch.sigmoid(logits)

    def take(self, index: torch.Tensor) -> PixelStack:
        new = copy.deepcopy(self)
        new.values.data = new.values.data[index].clone()
        return new


def multiscale_noise(count: int, channels: int, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """The series' start: noise on 3x3 .. 28x28 grids, upsampled and summed with a weight per scale (logits)."""
    from torch.nn import functional as F

    total = torch.zeros(count, channels, *size)
    for grid, weight in zip(NOISE_GRIDS, NOISE_WEIGHTS):
        noise = torch.randn(count, channels, grid, grid, generator=generator)
        total += weight * F.interpolate(noise, size=size, mode="bilinear", align_corners=False)
    return total


def build_cppn(settings: DreamSettings, channels: int, scale: float, seed: int) -> CPPN:
    """One random CPPN start: (x, y, r) times ``scale`` -> ``depth`` hidden layers -> sigmoid."""
    torch.manual_seed(seed)
    net = CPPN(
        z_dim=0,
        channels=channels,
        width=settings.width,
        activations=(settings.activation,) * settings.depth,
        output="sigmoid",
        scale=1.0,
        coords_bias=True,
    )
    with torch.no_grad():  # the input scale lives in the weights, so starts of every scale stack together
        net.coords_in.weight.normal_(0.0, scale)
        for layer in net.hidden:
            layer.weight.normal_(0.0, 1.0 / math.sqrt(settings.width) * 1.6)
        net.out.weight.normal_(0.0, 1.0 / math.sqrt(settings.width) * 2.0)
    return net


def probe_pool(settings: DreamSettings, target: Target, size: tuple[int, int]) -> nn.Module:
    """``probe`` random starts of the chosen parameterisation, seeded."""
    count = settings.probe
    if settings.param == "cppn":
        rng = np.random.default_rng([settings.seed, 3])
        scales = rng.choice(CPPN_SCALES, size=count)
        seeds = rng.integers(0, 2**31 - 1, size=count)
        nets = [build_cppn(settings, target.channels, float(s), int(k)) for s, k in zip(scales, seeds)]
        return CPPNStack(nets, size[1], size[0])
    generator = torch.Generator().manual_seed(settings.seed)
    return PixelStack(multiscale_noise(count, target.channels, size, generator), fft=settings.param == "fft")


# --- objective -----------------------------------------------------------------------------------


def unit_values(acts: torch.Tensor, units: torch.Tensor, neuron: tuple[int, int] | None) -> torch.Tensor:
    """[B, N]: unit ``units[j]`` of every image's layer output (a channel's mean, or one neuron)."""
    picked = acts[:, units]  # [B, N, ...]
    if neuron is not None:
        return picked[:, :, neuron[0], neuron[1]]
    return picked.flatten(2).mean(2) if picked.ndim > 2 else picked


def similarity(acts: torch.Tensor, groups: list[list[int]]) -> torch.Tensor:
    """Mean pairwise cosine similarity of the layer outputs of solutions that share a unit."""
    flat = acts.flatten(1)
    flat = flat - flat.mean(1, keepdim=True)
    flat = flat / (flat.norm(dim=1, keepdim=True) + 1e-8)
    total, pairs = flat.new_zeros(()), 0
    for group in groups:
        if len(group) > 1:
            sims = flat[group] @ flat[group].T
            total = total + (sims.sum() - sims.diagonal().sum())
            pairs += len(group) * (len(group) - 1)
    return total / max(1, pairs)


def robustness(size: tuple[int, int]) -> nn.Module:
    """kornia transforms every serious feature-visualisation tool uses: pad, jitter, scale, rotate."""
    import kornia.augmentation as K

    pad = max(2, size[0] // 10)
    return nn.Sequential(
        K.PadTo((size[0] + 2 * pad, size[1] + 2 * pad), pad_mode="reflect"),
        K.RandomAffine(degrees=8.0, translate=(0.04, 0.04), scale=(0.92, 1.08), padding_mode="border", p=1.0),
        K.RandomCrop(size),
    )


def log_steps(total: int, first: int = 9) -> list[int]:
    """0, 9, 18, 36, ... (doubling) and the last step: when the progress strip takes a picture.

    >>> log_steps(512)
    [0, 9, 18, 36, 72, 144, 288, 512]
    """
    steps, s = [0], first
    while s < total:
        steps.append(s)
        s *= 2
    return steps + [total]


# --- the run -------------------------------------------------------------------------------------


@dataclass
class DreamResult:
    report: dict[str, Any]
    images: np.ndarray  # [N, C, H, W] final images at the optimisation size (from model.onnx for cppn)
    responded: list[bool]
    models: list[Path | None] = field(default_factory=list)
    out: Path | None = None
    param: nn.Module | None = None  # the optimised parameterisation (a CPPNStack for cppn)


def check_out(out: Path) -> None:
    """Refuse an --out that holds a dream already, or cannot be created; no side effects."""
    import os

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out '{out}' is a file; give a folder for the dream")
    if (out / "report.json").exists():
        raise UserError(f"'{out}' already holds a dream; choose another --out")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise UserError(f"cannot create '{out}' ('{existing}' is not a writable folder); choose another --out")


def dream(
    target: Target,
    settings: DreamSettings,
    out: Path | None = None,
    *,
    device: torch.device | str = "cpu",
    callbacks: Callbacks = Callbacks(),
    all_channels: bool = False,
    batch: int = 1,
) -> DreamResult:
    """Optimise ``batch`` solutions per unit (every channel with ``all_channels``); write the run
    folder when ``out`` is given. Returns the report (also report.json) and the final images."""
    from .loop import Every, run_steps

    if all_channels:
        settings = DreamSettings(**{**asdict(settings), "units": tuple(range(target.layer(settings.layer).channels))})
    settings.check(target)
    if batch < 1:
        raise ParamError("batch", f"must be at least 1, got {batch}")
    if out is not None:
        check_out(out)
    device = torch.device(device)
    size = (settings.size, settings.size) if settings.size else target.size
    units = [u for u in settings.units for _ in range(batch)]
    groups = [list(range(i * batch, (i + 1) * batch)) for i in range(len(settings.units))]
    unit_index = torch.tensor(units, device=device)
    sign = -1.0 if settings.minimise else 1.0
    if target.module is not None:
        target.module.to(device)

    # 1. the precursor probe: every start of the pool against every unit, without transforms
    t0 = time.perf_counter()
    pool = probe_pool(settings, target, size).to(device)
    with torch.no_grad():
        pool_values = sign * unit_values(target.run(pool(), settings.layer), unit_index, settings.neuron)  # [P, N]
    order = pool_values.argsort(dim=0, descending=True)  # [P, N]
    choice = torch.stack([order[j % batch, i] for i, j in enumerate(list(range(batch)) * len(settings.units))])
    # a unit "responds" to a start when its activation moves off zero (a dead ReLU stays at exactly 0)
    spread = (pool_values.max(0).values - pool_values.min(0).values).abs()
    probe_responded = ((pool_values.abs().max(0).values > RESPONSE_EPS) & (spread > RESPONSE_EPS)).tolist()
    param = pool.take(choice).to(device)
    start_images = param().detach()
    with torch.no_grad():
        start_values = sign * unit_values(target.run(start_images, settings.layer), unit_index, settings.neuron)
    start_values = start_values.diagonal() if start_values.ndim == 2 else start_values

    # 2. the climb
    augment = robustness(size) if settings.transforms else nn.Identity()
    optimizer = torch.optim.Adam(param.parameters(), lr=settings.lr)
    snapshots = log_steps(settings.steps)
    strips: list[np.ndarray] = [start_images.cpu().numpy()]
    by_step: list[float] = []
    logged: dict[int, list[float]] = {0: start_values.tolist()}
    stopped = [settings.steps]
    torch.manual_seed(settings.seed + 1)  # the transforms' draws

    def step_fn(step: int) -> dict[str, float]:
        set_lr(optimizer, lr_at(step, settings.steps, settings.lr, settings.lr * 0.1, "cosine", decay=0.5))
        images = param()
        polishing = step >= settings.steps * (1 - settings.polish)
        acts = target.run(images if polishing else augment(images), settings.layer)
        values = unit_values(acts, unit_index, settings.neuron)  # [N, N]; solution j is row j, column j
        own = values.diagonal() if values.ndim == 2 else values
        objective = sign * own
        loss = -objective.sum()
        if batch > 1 and settings.diversity > 0:
            loss = loss + settings.diversity * similarity(acts, groups) * objective.detach().abs().mean() * len(units)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        by_step.append(float(objective.detach().mean()))
        if step + 1 in snapshots:
            logged[step + 1] = objective.tolist()
        return {"objective": by_step[-1], "activation": float(own.detach().mean())}

    def snapshot(step: int) -> None:
        if step in snapshots[1:]:
            strips.append(param().detach().cpu().numpy())
            if out is not None:
                write_progress(out / "progress.png", strips)
                callbacks.note(f"progress.png: step {step}")

    def converged(step: int) -> None:
        window = 64
        if settings.tol > 0 and step >= 2 * window and step < settings.steps:
            now = float(np.mean(by_step[-window:]))
            before = float(np.mean(by_step[-2 * window : -window]))
            if abs(now - before) <= settings.tol * max(abs(before), 1e-8):
                stopped[0] = step
                raise _Converged(step)

    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    try:
        run_steps(
            step_fn,
            start=0,
            stop=settings.steps,
            every=[Every(1, snapshot, at_end=False), Every(64, converged, at_end=False), *callbacks.every],
            on_metrics=callbacks.on_metrics,
        )
    except _Converged as stop:
        logged[stop.step] = [by_step[-1]] * len(units)
        strips.append(param().detach().cpu().numpy())
    seconds = time.perf_counter() - t0

    # 3. the result, measured on what the user gets: model.onnx rendered by onnxruntime (cppn)
    models: list[Path | None] = [None] * len(units)
    if out is not None and isinstance(param, CPPNStack):
        models = export_members(param, settings, target, out, probe_responded, batch, len(settings.units) > 1)
    final = render_members(param, models).astype(np.float32)
    with torch.no_grad():
        final_values = sign * unit_values(
            target.run(torch.from_numpy(final).to(device), settings.layer), unit_index, settings.neuron
        )
    final_values = final_values.diagonal() if final_values.ndim == 2 else final_values
    responded = [
        bool(probe_responded[i] or abs(float(final_values[i]) - float(start_values[i])) > RESPONSE_EPS)
        for i in range(len(units))
    ]
    measured = Measured(units, batch, pool_values, start_values, final_values, responded, models)
    report = build_report(target, settings, measured, Trace(by_step, logged, seconds, stopped[0]), out)
    if out is not None:
        write_progress(out / "progress.png", strips)
        if len(units) > 1:
            write_sheet(out / "sheet.png", final, responded, units, batch)
        if not isinstance(param, CPPNStack) and len(units) == 1:
            from ..render.sheets import save_sheet

            save_sheet(out / "image.png", final, gap=0, channels_last=False)
        with atomic_output(out / "report.json") as tmp:
            tmp.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return DreamResult(report, final, responded, models, out, param)


class _Converged(Exception):
    def __init__(self, step: int) -> None:
        super().__init__(f"converged at step {step}")
        self.step = step


def export_members(
    stack: CPPNStack,
    settings: DreamSettings,
    target: Target,
    out: Path,
    responded: list[bool],
    batch: int,
    many_units: bool,
) -> list[Path | None]:
    """Each responding solution as a CPPN model.onnx (verified against torch at the optimisation size)."""
    from ..configs.schema import to_dict  # noqa: F401 - settings are a plain dataclass
    from ..graph.export import cppn_model, save_model
    from ..graph.weights import save_weights
    from .onnx_export import verify_onnx

    paths: list[Path | None] = []
    stack = stack.cpu()
    for i in range(len(stack.params[next(iter(stack.params))])):
        if not responded[i]:
            paths.append(None)
            continue
        unit = settings.units[i // batch]
        if many_units:
            path = out / "channels" / f"c{unit:03d}{'' if batch == 1 else f'-{i % batch}'}.onnx"
        else:
            path = out / ("model.onnx" if i == 0 else f"solutions/s{i:02d}.onnx")
        member = stack.member(i)
        proto = cppn_model(
            member.to_weights(),
            preset="dream",
            seed=settings.seed,
            config={**asdict(settings), "units": [unit], "target": target.source},
            kind="dream",
            extra={
                "train_size": f"{stack.width}x{stack.height}",
                "target": target.source,
                "layer": settings.layer,
                "unit": str(unit),
            },
        )
        verify_onnx(proto, member, {"coords": pixel_coords(stack.width, stack.height), "z": torch.zeros(1, 1)})
        path.parent.mkdir(parents=True, exist_ok=True)
        paths.append(save_model(proto, path))
        if path.name == "model.onnx":  # `cppnart morph runs/d3 runs/d7 out.mp4` mixes these arrays
            save_weights(member.to_weights(), out / "weights.npz")
    return paths


def render_members(param: nn.Module, models: list[Path | None]) -> np.ndarray:
    """The final images [N, C, H, W]: rendered from each model.onnx by onnxruntime where one was
    written, else from the parameterisation."""
    with torch.no_grad():
        images = param().detach().cpu().numpy()
    if isinstance(param, CPPNStack):
        from ..render.model import load_model

        for i, path in enumerate(models):
            if path is not None:
                net = load_model(path, device="cpu")
                images[i] = net.render(np.zeros((1, 1), np.float32), param.width, param.height).transpose(2, 0, 1)
    return images


def percentile_among(target: Target, settings: DreamSettings, units: list[int], values: torch.Tensor) -> list[Any]:
    """Where each final activation ranks among the target's real images (percent), and their 99th percentile."""
    if target.data is None:
        return [None] * len(units)
    sign = -1.0 if settings.minimise else 1.0
    data = torch.from_numpy(target.data[:2000])
    device = values.device
    with torch.no_grad():
        real = torch.cat(
            [
                sign
                * unit_values(
                    target.run(x.to(device), settings.layer), torch.tensor(units, device=device), settings.neuron
                )
                for x in data.split(500)
            ]
        )  # [M, N]
    return [
        {
            "percentile": float((real[:, i] < values[i]).float().mean() * 100),  # beaten, in the objective's direction
            "data_p99": sign * float(torch.quantile(real[:, i], 0.99)),
        }
        for i in range(len(units))
    ]


@dataclass(frozen=True)
class Measured:
    """What a run measured of each of its N solutions, in the unit's objective (sign applied)."""

    units: list[int]  # the unit of every solution
    batch: int  # solutions per unit
    pool_values: torch.Tensor  # [P, N] of the probe starts
    start_values: torch.Tensor  # [N] where the optimisation started
    final_values: torch.Tensor  # [N] of what the user gets (model.onnx through onnxruntime for cppn)
    responded: list[bool]
    models: list[Path | None]  # each solution's model.onnx, None when not exported


@dataclass(frozen=True)
class Trace:
    """How the optimisation went: the loss each step, the objectives at the logged steps, time, last step."""

    by_step: list[float]
    logged: dict[int, list[float]]
    seconds: float
    stopped: int


def build_report(
    target: Target, settings: DreamSettings, measured: Measured, trace: Trace, out: Path | None
) -> dict[str, Any]:
    """report.json: the settings, the run's trace and each solution's activations and rank among real data."""
    units, responded = measured.units, measured.responded
    ranks = percentile_among(target, settings, units, measured.final_values)
    sign = -1.0 if settings.minimise else 1.0
    solutions = []
    for i, (unit, model) in enumerate(zip(units, measured.models)):
        solutions.append(
            {
                "unit": unit,
                "responded": responded[i],
                "start_activation": sign * float(measured.start_values[i]),  # the unit's own value, not the objective's
                "final_activation": sign * float(measured.final_values[i]),
                "probe_best": sign * float(measured.pool_values[:, i].max()),
                "probe_all_zero": bool(measured.pool_values[:, i].abs().max() <= RESPONSE_EPS),
                "data_percentile": None if ranks[i] is None else ranks[i]["percentile"],
                "data_p99": None if ranks[i] is None else ranks[i]["data_p99"],
                "model": None if model is None or out is None else str(Path(model).relative_to(out)),
            }
        )
    return {
        "target": target.source,
        "target_kind": target.kind,
        "layer": settings.layer,
        "objective": ("minimise " if settings.minimise else "maximise ")
        + ("neuron" if settings.neuron is not None else "unit mean"),
        "settings": asdict(settings),
        "batch": measured.batch,
        "responded": all(responded) if len(units) == 1 else sum(responded),
        "steps_run": trace.stopped,
        "seconds": round(trace.seconds, 2),
        "loss_by_step": [-v for v in trace.by_step],
        "objective_at_log_steps": {str(k): v for k, v in trace.logged.items()},
        "solutions": solutions,
    }


# --- pictures ------------------------------------------------------------------------------------


def write_progress(path: Path, strips: list[np.ndarray]) -> None:
    """The log-spaced steps side by side, one row per solution (at most 8 rows)."""
    from ..render.sheets import save_sheet

    frames = np.stack(strips, axis=1)[:8]  # [N, T, C, H, W]
    n, t = frames.shape[:2]
    upscale = max(1, 96 // frames.shape[-1])
    save_sheet(path, frames.reshape(n * t, *frames.shape[2:]), cols=t, upscale=upscale, channels_last=False, gap=2)


def write_sheet(path: Path, images: np.ndarray, responded: list[bool], units: list[int], batch: int) -> None:
    """Every solution in a grid, labelled by unit; a non-responding cell is dark red with a cross."""
    from ..render.sheets import save_sheet

    rgb = np.repeat(images, 3, axis=1) if images.shape[1] == 1 else images[:, :3].copy()
    h, w = rgb.shape[2:]
    cross = np.zeros((h, w), bool)
    idx = np.arange(min(h, w))
    cross[idx, idx * w // min(h, w)] = cross[idx, (w - 1 - idx * w // min(h, w))] = True
    for i, ok in enumerate(responded):
        if not ok:
            rgb[i] = np.array([0.35, 0.05, 0.05])[:, None, None]
            rgb[i][:, cross] = np.array([1.0, 0.3, 0.3])[:, None]
    labels = [f"{u}" + ("" if ok else " none") for u, ok in zip(units, responded)]
    upscale = max(1, 64 // w)
    cols = batch if batch > 1 else min(16, max(1, math.ceil(math.sqrt(len(units)))))
    save_sheet(path, rgb, cols=cols, labels=labels, upscale=upscale, channels_last=False, background=0.1)
