"""One dream run, end to end: check, size, probe, climb, judge, write.

``dream(target, settings, out)`` is the library's call; ``run_dream(source, out, layer=...,
channel=...)`` is what the front ends ask (it resolves a class, a neuron or every channel to
settings, loads the target and picks the device and threads).

Everything is checked before the first byte: the settings against the target, the memory the
run would hold against ``CPPNART_MAX_MEMORY``, the out folder. A run that fails or is stopped
leaves nothing in the out folder (what it had written, such as progress.png, is removed), and an
allocation torch cannot make is one line, not a traceback.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ...errors import ParamError, UserError
from ...io.atomic import atomic_output
from ...io.budget import check_budget, human
from ..loop import Interrupted
from ..resolve import capped_steps
from ..run import Callbacks
from ..targets import Target, load_target, with_data
from .climb import Stop, Trace, climb
from .export import Candidate, candidates, final_images, model_path, save_main
from .objectives import Acts, Goal, goal_for
from .params import CPPNStack, ImageParam, probe_pool
from .pictures import ROSE, write_progress, write_sheet
from .report import Measured, alive, best_of, build_report, outcomes
from .settings import DreamSettings, check_batch

if TYPE_CHECKING:
    from ...graph.genome import Genome

DEFAULT_EXAMPLES = 4  # real images beside each solution when the user brings data
ONE_THREAD_UP_TO = 8  # solutions: a few tiny CPPNs run faster on one CPU thread than on several (bench/dream.py)


@dataclass
class DreamResult:
    """A finished run: its report (report.json's content), the final images [N, C, H, W] at the
    optimisation size (drawn from each model.onnx for cppn), which solutions responded, the model
    file of each (None where none was written), the out folder and the optimised parameterisation."""

    report: dict[str, Any]
    images: np.ndarray
    responded: list[bool]
    models: list[Path | None] = field(default_factory=list)
    out: Path | None = None
    param: ImageParam | None = None  # a CPPNStack for cppn: ``param.member(i)`` is solution i's torch module


def check_out(out: Path) -> None:
    """Refuse an out folder that holds a dream already, or cannot be created; no side effects."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ParamError("out", f"'{out}' is a file; give a folder for the dream")
    if (out / "report.json").exists():
        raise ParamError("out", f"'{out}' already holds a dream; choose another folder")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise ParamError("out", f"cannot create '{out}' ('{existing}' is not a writable folder); choose another")


@dataclass(frozen=True)
class Plan:
    """What a checked run will do: its settings, the unit and group of every solution, the
    optimisation size and the objectives."""

    settings: DreamSettings
    batch: int
    units: list[int]  # the unit of every solution
    size: tuple[int, int]
    goal: Goal
    genome: Genome | None = None  # the genome the CPPN solutions start from (settings.init's)

    @property
    def what(self) -> str:
        """The run in words, for messages."""
        return f"dream of {len(self.units)} solution(s) at {self.size[1]}x{self.size[0]}"

    @classmethod
    def of(cls, target: Target, settings: DreamSettings, batch: int) -> Plan:
        """Check ``settings`` and ``batch`` against ``target`` and size the run; errors name parameters."""
        settings.check(target)
        genome = settings.start_genome(target)
        check_batch(batch)
        if settings.probe < batch:
            raise ParamError("probe", f"must be at least batch ({batch}): each solution of a unit starts apart")
        size = (settings.size, settings.size) if settings.size else target.size
        units = [u for u in settings.units for _ in range(batch)]
        groups = [list(range(i * batch, (i + 1) * batch)) for i in range(len(settings.units))]
        goal = goal_for(
            settings.layer, units, neuron_at=settings.neuron, minimise=settings.minimise,
            diversity_weight=settings.diversity, groups=groups,
        )  # fmt: skip
        plan = cls(settings, batch, units, size, goal, genome)
        hidden = None if genome is None else len(genome.nodes) - len(genome.inputs)
        check_budget(plan.what, memory=memory_estimate(target, settings, len(units), size, hidden))
        return plan

    def layer_outputs(self, target: Target) -> Callable[[torch.Tensor], Acts]:
        """images -> the outputs of every layer the objectives read."""
        names = sorted(self.goal.layers)
        return lambda images: {name: target.run(images, name) for name in names}


def memory_estimate(
    target: Target, settings: DreamSettings, solutions: int, size: tuple[int, int], genome_nodes: int | None = None
) -> float:
    """Bytes a run holds at once, roughly: per solution the CPPN's hidden activations, the image
    and the target's layer outputs, each kept for the backward pass with its gradient (3 copies),
    and per probe start the same drawn once (2: the output and its temporaries). float32. Measured
    on a 12x12 classifier, 64 -> 512 solutions (and starts): 0.32 MB more per solution, estimated 0.37.
    ``genome_nodes``: the hidden and output nodes of a starting genome, each a value per pixel."""
    pixels = size[0] * size[1]
    scale = pixels / max(1, target.size[0] * target.size[1])  # layer outputs grow with the input
    cppn = settings.width * settings.depth * pixels if settings.param == "cppn" else 3 * target.channels * pixels
    if genome_nodes is not None:
        cppn = genome_nodes * pixels
    layers = scale * sum(math.prod(layer.shape) for layer in target.layers.values())
    image = 4 * target.channels * pixels  # the image, its transformed copy and their gradients
    return 4.0 * (3 * solutions + 2 * settings.probe) * (cppn + layers + image)


_ALLOCATION = re.compile(r"can't allocate memory|out of memory|not enough memory", re.I)


@contextlib.contextmanager
def allocation_errors(what: str) -> Iterator[None]:
    """torch's failed allocation (a RuntimeError, not a MemoryError) as one UserError line."""
    try:
        yield
    except RuntimeError as exc:
        if not (isinstance(exc, torch.OutOfMemoryError) or _ALLOCATION.search(str(exc))):
            raise
        asked = re.search(r"allocate (\d+) bytes", str(exc))
        size = f" ({human(int(asked[1]))} at once)" if asked else ""
        raise UserError(
            f"{what}: torch could not allocate the memory{size}; ask for fewer solutions (batch, channels), "
            "fewer probe starts or a smaller size"
        ) from None


class RunFolder:
    """The out folder of one run: on any failure or stop, what the run added to it is removed (the
    folder too when the run created it), so nothing is ever left half written."""

    def __init__(self, out: Path | None) -> None:
        self.out = None if out is None else Path(out)
        self.created = self.out is not None and not self.out.exists()
        self.before = set() if self.out is None or self.created else {p.name for p in self.out.iterdir()}

    def __enter__(self) -> RunFolder:
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None or self.out is None:
            return
        if self.created:
            shutil.rmtree(self.out, ignore_errors=True)
            return
        for path in self.out.iterdir():
            if path.name not in self.before:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


@dataclass
class Start:
    """The probe's outcome: the chosen starts and their objectives."""

    param: ImageParam
    pool_values: torch.Tensor  # [P, N]: every probe start against every solution's unit
    start_values: torch.Tensor  # [N]
    alive: list[bool]


def probe_start(plan: Plan, target: Target, device: torch.device) -> Start:
    """The precursor probe: every start of the pool against every unit, without transforms; each
    solution starts from the start its unit responds to most (the k-th best for the k-th of a batch)."""
    outputs = plan.layer_outputs(target)
    pool = probe_pool(plan.settings, target.channels, plan.size, target.data, plan.genome).to(device)
    with torch.no_grad():
        pool_values = plan.goal.goal.table(outputs(pool.images()))  # [P, N]
    order = pool_values.argsort(dim=0, descending=True)
    solutions = torch.arange(len(plan.units))
    param = pool.take(order[solutions % plan.batch, solutions]).to(device)
    with torch.no_grad():
        start_values = plan.goal.goal(outputs(param.images()))
    return Start(param, pool_values, start_values, alive(pool_values))


class Progress:
    """The progress strip: the images at the log-spaced steps, written to progress.png as they come."""

    def __init__(self, param: ImageParam, out: Path | None, callbacks: Callbacks) -> None:
        self.param, self.out, self.callbacks = param, out, callbacks
        self.strips = [self.now()]

    def now(self) -> np.ndarray:
        """The images as they are."""
        with torch.no_grad():
            return param_images(self.param)

    def snapshot(self, step: int) -> None:
        """Add the images of ``step`` and rewrite the strip."""
        self.strips.append(self.now())
        if self.out is not None:
            write_progress(self.out / "progress.png", self.strips)
            self.callbacks.note(f"progress.png: step {step}")


def param_images(param: ImageParam) -> np.ndarray:
    """A parameterisation's images as a float32 array [N, C, H, W]."""
    return param.images().detach().cpu().numpy().astype(np.float32)


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
    folder when ``out`` is given. Returns the report (also report.json) and the final images.
    A stop signal raises ``train.loop.Interrupted`` once the folder is cleaned up."""
    if all_channels:
        settings = replace(settings, units=tuple(range(target.layer(settings.layer).channels)))
    plan = Plan.of(target, settings, batch)
    if out is not None:
        check_out(out)
    device = torch.device(device)
    if target.module is not None:
        target.module.to(device)
    with RunFolder(out), allocation_errors(plan.what):
        started = time.perf_counter()
        start = probe_start(plan, target, device)
        progress = Progress(start.param, out, callbacks)
        outputs = plan.layer_outputs(target)
        stop, trace = climb(
            start.param, outputs, plan.goal, settings, plan.size, callbacks=callbacks, on_snapshot=progress.snapshot
        )
        if stop.reason == "interrupted":
            raise Interrupted(stop.step, stop.signum)
        trace.seconds = time.perf_counter() - started
        trace.logged = {0: start.start_values.tolist(), **trace.logged}
        return finish(plan, target, start, (stop, trace), progress, out)


def finish(
    plan: Plan, target: Target, start: Start, ended: tuple[Stop, Trace], progress: Progress, out: Path | None
) -> DreamResult:
    """Judge every solution on what the user gets, write what responded, the pictures and the report."""
    param, settings = start.param, plan.settings
    found: dict[int, Candidate] = {}
    if isinstance(param, CPPNStack):
        found = candidates(param, settings, target.source, plan.units, start.alive)
    final = final_images(param, found)
    with torch.no_grad():
        final_values = plan.goal.goal(plan.layer_outputs(target)(torch.from_numpy(final).to(start.start_values.device)))
    outcome = outcomes(start.alive, start.start_values, final_values)
    best = best_of(outcome, final_values) if len(settings.units) == 1 else None
    models = write_models(out, plan, found, outcome, best)
    measured = Measured(
        plan.units, plan.batch, start.pool_values, start.start_values, final_values, outcome, models, best
    )
    report = build_report(target, settings, plan.goal, measured, ended[1], ended[0], out)
    if out is not None:
        shown = [[e["index"] for e in sol.get("examples", [])] for sol in report["solutions"]]
        named = [sol["name"] for sol in report["solutions"]]
        write_pictures(out, plan, progress, final, outcome, examples_of(target, shown), named)
        with atomic_output(out / "report.json") as tmp:
            tmp.write_text(json_text(report), encoding="utf-8")
    return DreamResult(report, final, measured.responded, models, out, param)


def write_models(
    out: Path | None, plan: Plan, found: dict[int, Candidate], outcome: list[str], best: int | None
) -> list[Path | None]:
    """Every solution that rose as its model file; the best one of a one-unit run as model.onnx."""
    from ...graph.export import save_model

    models: list[Path | None] = [None] * len(plan.units)
    if out is None:
        return models
    many = len(plan.settings.units) > 1
    for i, candidate in found.items():
        if outcome[i] == ROSE and (many or plan.batch > 1):
            path = model_path(out, i, candidate.unit, plan.batch, many)
            path.parent.mkdir(parents=True, exist_ok=True)
            models[i] = save_model(candidate.proto, path)
    if best is not None and best in found:
        main = save_main(out, found[best])
        models[best] = models[best] or main
    return models


def examples_of(target: Target, shown: list[list[int]]) -> np.ndarray | None:
    """[N, k, C, H, W]: the real images listed for each solution (None when none are)."""
    if target.data is None or not any(shown):
        return None
    return np.stack([target.data[index] for index in shown])


def write_pictures(
    out: Path,
    plan: Plan,
    progress: Progress,
    final: np.ndarray,
    outcome: list[str],
    examples: np.ndarray | None,
    unit_names: list[str | None] | None = None,
) -> None:
    """progress.png; sheet.png for several solutions, or for any run with dataset examples (each
    solution's row: its picture, then the real images that excite its unit most); image.png for
    one pixel, fft or maco solution that rose."""
    from ...render.sheets import save_sheet

    write_progress(out / "progress.png", progress.strips)
    if examples is not None and examples.shape[3:] != final.shape[2:]:
        examples = None  # optimised at another size than the data's: report.json lists them, the sheet cannot
    if len(plan.units) > 1 or examples is not None:
        write_sheet(out / "sheet.png", final, outcome, plan.units, plan.batch, examples, unit_names)
    elif plan.settings.param != "cppn" and outcome[0] == ROSE:
        save_sheet(out / "image.png", final, gap=0, channels_last=False)


def json_text(report: dict[str, Any]) -> str:
    """report.json's text: strict JSON (a NaN or infinity becomes null)."""
    import json

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(report), indent=1, allow_nan=False) + "\n"


def resolve_units(
    target: Target, layer: str | None, channel: int | str, neuron: tuple[int, int, int] | None, target_class: int | None
) -> tuple[str, tuple[int, ...], tuple[int, int] | None, bool, str]:
    """(layer, units, (y, x) or None, all channels, the parameter that named the unit) from what a
    front end asks: a class of the last layer, a neuron C,Y,X, a channel or "all"."""
    if target_class is not None:
        last = list(target.layers)[-1]
        if layer is not None and layer != last:
            raise ParamError(
                "target_class", f"is a unit of the last layer ('{last}'); leave out the layer or ask for a channel"
            )
        return last, (target_class,), None, False, "target_class"
    if layer is None:
        if not target.layers:
            raise ParamError(
                "layer", "has nothing to name: the model has no hidden layers to visualise; ask for a class"
            )
        raise ParamError("layer", f"is missing: name one of {', '.join(target.layers)} (or ask for a class)")
    if neuron is not None:
        return layer, (neuron[0],), (neuron[1], neuron[2]), False, "neuron"
    if channel == "all":
        return layer, (0,), None, True, "channel"
    return layer, (int(channel),), None, False, "channel"


@dataclass(frozen=True)
class DreamRequest:
    """A checked dream run, not yet started: the target, the settings and where it goes."""

    target: Target
    settings: DreamSettings
    out: Path | None
    batch: int
    all_channels: bool
    device: torch.device

    @property
    def title(self) -> str:
        """The run in words, for a live view."""
        s = self.settings
        unit = "all" if self.all_channels else f"{s.units[0]}" + ("" if s.neuron is None else f" at {s.neuron}")
        return f"dream {s.layer} · {unit}" + ("" if self.out is None else f" → {self.out}")

    def run(self, callbacks: Callbacks = Callbacks()) -> DreamResult:
        """``dream`` with these settings."""
        return dream(
            self.target, self.settings, self.out, device=self.device, callbacks=callbacks,
            all_channels=self.all_channels, batch=self.batch,
        )  # fmt: skip


def dream_request(
    source: str | Path | Target,
    out: Path | None,
    *,
    layer: str | None = None,
    channel: int | str = 0,
    neuron: tuple[int, int, int] | None = None,
    target_class: int | None = None,
    batch: int = 1,
    device: str = "auto",
    threads: int | None = None,
    input_size: tuple[int, int] | None = None,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
    data: str | Path | None = None,
    examples: int | None = None,
    **search: Any,
) -> DreamRequest:
    """What `cppnart dream` asks, checked before any work: load the target, resolve the unit
    (``target_class``, ``neuron`` as (c, y, x), ``channel`` as a number or "all"), build the
    settings from ``search`` (the other ``DreamSettings`` fields), size the run, check ``out``
    and pick the device and CPU threads. Errors about the unit name the parameter that asked.
    ``input_size`` (height, width), ``mean`` and ``std`` go to ``load_target`` (foreign models);
    ``data`` (an image folder, IDX file or builtin:digits) replaces the target's real images, and
    ``examples`` of them are shown beside each solution (default: 4 when ``data`` is given, else 0)."""
    from ..device import choose_device

    if out is not None:
        check_out(out)
    if isinstance(source, Target):
        target = source
    else:
        try:
            target = load_target(source, size=input_size, mean=mean, std=std)
        except ParamError as exc:
            raise ParamError("input_size", exc.problem) if exc.param == "size" else exc from None
    if data is not None:
        target = with_data(target, data)
    search["examples"] = (DEFAULT_EXAMPLES if data is not None else 0) if examples is None else examples
    if search["examples"] and target.data is None:
        raise ParamError("examples", "needs real images: give data (the target has none of its own)")
    name, units, position, every, origin = resolve_units(target, layer, channel, neuron, target_class)
    settings = DreamSettings(layer=name, units=units, neuron=position, **search)
    settings = replace(settings, steps=capped_steps(settings.steps))  # CPPNART_TEST_STEPS, for tests
    try:
        full = replace(settings, units=tuple(range(target.layer(name).channels))) if every else settings
        Plan.of(target, full, batch)
    except ParamError as exc:
        raise ParamError(origin, exc.problem) if exc.param == "units" else exc from None
    dev = choose_device(device)
    if threads is not None:
        torch.set_num_threads(threads)
    elif len(full.units) * batch <= ONE_THREAD_UP_TO and dev.type == "cpu":
        torch.set_num_threads(1)
    return DreamRequest(target, settings, out, batch, every, dev)


def run_dream(
    source: str | Path | Target, out: Path | None, *, callbacks: Callbacks = Callbacks(), **ask: Any
) -> DreamResult:
    """``dream_request(source, out, **ask).run(callbacks)``: a dream in one call, as a notebook asks."""
    return dream_request(source, out, **ask).run(callbacks)
