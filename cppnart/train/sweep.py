"""Sweeps: a grid of training runs (presets x seeds x overrides), one run folder each.

    spec = load_spec("sweep.toml")
    runs = plan_runs(spec, Path("sweeps/lr"))      # every config built and checked before any work
    for run, result in run_sweep(runs, Path("sweeps/lr")):   # finished runs come back from disk
        print(run.name, result)

A spec is TOML::

    presets = ["glyph-quick", "my-glyph.toml"]   # training presets (paths are relative to the spec)
    seeds = [1, 2, 3]
    steps = 500                                  # optional: the same length for every run
    data = "builtin:digits"                      # ganvae and classifier runs
    image = "photo.jpg"                          # fit runs

    [overrides]                                  # dotted config keys, each with the values to try
    "train.lr" = [1e-3, 3e-3]

Any family of ``families.FAMILIES`` is swept from its row. The grid is counted before it is built
(``max_runs``, ``CPPNART_MAX_RUNS``), and every run's config is built, validated and sized
against the memory budget before the first trains.

A run is finished when its folder holds ``result.json`` (written last, atomically); running the
sweep again skips those and resumes a run that has a checkpoint. ``run_sweep`` takes the way to
run the pending ones (``map_runs``): one after another here, or Ray tasks (``cluster``), which
train in a worker's temporary folder and send the run folder back, so the nodes need no shared
disk: the unfinished folder goes to the worker, and each new checkpoint comes back while it
trains, so a sweep stopped on a cluster resumes too.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..configs.presets import load_preset
from ..configs.schema import RANGES, check_ranges, from_dict, loads_bounded, to_dict
from ..errors import ParamError, UserError
from ..io.atomic import atomic_output
from .families import FAMILIES, Family
from .loop import Interrupted
from .run_folder import CHECKPOINT

RESULT = "result.json"
SUMMARY = "summary.json"
SPEC_KEYS = {"presets", "seeds", "steps", "overrides", "data", "image"}
# A grid is counted before it is built: 10 keys of 10 values would plan 10^10 runs. The limit is
# far above any sweep one machine or a small cluster trains; CPPNART_MAX_RUNS raises it.
DEFAULT_MAX_RUNS = 10_000
# A key no override may set: the kind is the preset's (list a preset of another kind instead).
FIXED_KEYS = ("kind",)


@dataclass(frozen=True)
class SweepSpec:
    """What to try: presets x seeds x every combination of the override values."""

    presets: list[str]
    seeds: list[int]
    overrides: dict[str, list[Any]] = field(default_factory=dict)
    steps: int | None = None
    data: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class SweepRun:
    """One run of the grid: its folder name, its checked config as a table, and its inputs."""

    name: str
    preset: str
    seed: int
    overrides: dict[str, Any]
    config: dict[str, Any]
    data: str | None = None
    image: str | None = None

    @property
    def kind(self) -> str:
        """The family that trains it: its config's ``kind`` (which no override may change)."""
        return str(self.config["kind"])


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a sweep spec; relative preset, data and image paths are taken from its folder."""
    path = Path(path)
    table = _read_spec(path)
    if unknown := set(table) - SPEC_KEYS:
        raise UserError(f"{path}: unknown key '{sorted(unknown)[0]}'; a sweep has {', '.join(sorted(SPEC_KEYS))}")
    presets, seeds = table.get("presets"), table.get("seeds", [0])
    if not isinstance(presets, list) or not presets or not all(isinstance(p, str) for p in presets):
        raise UserError(f'{path}: presets must be a list of preset names or .toml paths, like presets = ["fit"]')
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise UserError(f"{path}: seeds must be a list of integers, like seeds = [1, 2, 3]")
    for seed in seeds:
        check_ranges(str(path), {"seeds": seed}, {"seeds": RANGES["seed"]})
    overrides = table.get("overrides", {})
    if not isinstance(overrides, dict) or not all(isinstance(v, list) and v for v in overrides.values()):
        raise UserError(f'{path}: each [overrides] key takes a list of values, like "train.lr" = [1e-3, 3e-3]')
    if fixed := [key for key in overrides if key.split(".")[-1] in FIXED_KEYS]:
        raise UserError(f"{path}: override '{fixed[0]}' is not allowed; list presets of the other kind instead")
    steps = table.get("steps")
    if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or steps < 1):
        raise UserError(f"{path}: steps must be a positive integer, got {steps!r}")

    def local(value: Any) -> Any:
        if isinstance(value, str) and (value.endswith(".toml") or "/" in value) and not value.startswith("builtin:"):
            return str((path.parent / value).resolve()) if not Path(value).is_absolute() else value
        return value

    return SweepSpec(
        [local(p) for p in presets], seeds, overrides, steps, local(table.get("data")), local(table.get("image"))
    )


def _read_spec(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read sweep spec '{path}': {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"sweep spec '{path}' is not UTF-8 text; a spec is a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None


def max_runs() -> int:
    """The most runs one sweep plans: ``CPPNART_MAX_RUNS``, else ``DEFAULT_MAX_RUNS``."""
    text = os.environ.get("CPPNART_MAX_RUNS")
    if not text:
        return DEFAULT_MAX_RUNS
    try:
        return max(1, int(text))
    except ValueError:
        raise UserError(f"CPPNART_MAX_RUNS='{text}' is not a whole number") from None


def count_runs(spec: SweepSpec) -> int:
    """How many runs the grid holds (presets x seeds x every combination of the override values),
    counted without building it."""
    return len(spec.presets) * len(spec.seeds) * math.prod(len(values) for values in spec.overrides.values())


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", f"{value:g}" if isinstance(value, float) else str(value))


def _set_dotted(table: dict[str, Any], key: str, value: Any, where: str) -> None:
    *parents, last = key.split(".")
    node = table
    for part in parents:
        if not isinstance(node.get(part), dict):
            raise UserError(f"{where}: override '{key}': the config has no table '{part}'")
        node = node[part]
    if last not in node:
        raise UserError(f"{where}: override '{key}': the config has no key '{last}'")
    node[last] = value


def check_sweep_folder(out: Path) -> Path:
    """Refuse a sweep folder that is a file (or sits under one), before any work."""
    out = Path(out)
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "is a file" if existing == out else f"is under the file '{existing}'"
        raise ParamError("out", f"'{out}' {where}; give a folder for the sweep")
    return out


def plan_runs(spec: SweepSpec, out: Path) -> list[SweepRun]:
    """Every run of the grid with its config built and validated, and its memory estimated, before
    any run trains: a bad override or a run too large for the memory budget fails here. A grid of
    more than ``max_runs()`` runs is refused before it is built."""
    check_sweep_folder(out)
    count, limit = count_runs(spec), max_runs()
    if count > limit:
        raise UserError(
            f"the sweep holds {count} runs (limit {limit}); list fewer presets, seeds or override values, "
            "or set CPPNART_MAX_RUNS to raise the limit"
        )
    keys = list(spec.overrides)
    runs: list[SweepRun] = []
    for preset in spec.presets:
        base = load_preset(preset)
        family = _family(base, preset, spec)
        label = Path(preset).stem
        for seed in spec.seeds:
            for values in itertools.product(*(spec.overrides[k] for k in keys)):
                chosen = dict(zip(keys, values))
                table = to_dict(base)
                for key, value in chosen.items():
                    _set_dotted(table, key, value, label)
                config = from_dict(family.config, table, label)
                config = family.with_seed(config, seed)
                if spec.steps is not None:
                    config = family.with_steps(config, spec.steps)
                config.validate(label)
                family.check_memory(config, label)
                name = "-".join([label, f"seed{seed}", *(f"{k.split('.')[-1]}{_slug(v)}" for k, v in chosen.items())])
                runs.append(SweepRun(name, label, seed, chosen, to_dict(config), spec.data, spec.image))
    if len({r.name for r in runs}) != len(runs):
        raise UserError("the sweep names two runs alike (a preset listed twice?); list each preset and value once")
    return runs


def _family(base: Any, preset: str, spec: SweepSpec) -> Family:
    """The family that trains ``preset``, and the inputs the spec must give it."""
    if base.kind not in FAMILIES:
        raise UserError(f"preset '{preset}' is of kind '{base.kind}'; a sweep trains {', '.join(FAMILIES)} presets")
    family = FAMILIES[base.kind]
    if family.source == "image" and spec.image is None:
        raise UserError(f"preset '{preset}' fits an image: add image = \"photo.jpg\" to the sweep spec")
    given = spec.image if family.source == "image" else spec.data if family.source == "data" else None
    if given is not None and not str(given).startswith("builtin:") and not Path(given).exists():
        raise UserError(f"the sweep's {family.source} '{given}' does not exist")
    seed_key, steps_key = (".".join(k for k in key if k) for key in (family.seed_key, family.steps_key))
    if seed_key in spec.overrides:  # the spec's seeds set it: an override would be lost
        raise UserError(f"override '{seed_key}' is set by the sweep's seeds; list them as seeds = [...]")
    if steps_key in spec.overrides and spec.steps is not None:
        raise UserError(f"override '{steps_key}' and steps = {spec.steps} both set the length; keep one")
    return family


def finished(run: SweepRun, out: Path) -> dict[str, Any] | None:
    """The result of a run that completed, from its folder; None if it has not."""
    return finished_name(out, run.name)


def finished_name(out: Path, name: str) -> dict[str, Any] | None:
    """``finished`` by the run's folder name."""
    path = Path(out) / name / RESULT
    if not path.is_file():
        return None
    damaged = f"'{path}' is damaged; delete it (or the run folder) and run the sweep again to retrain that run"
    try:
        result = loads_bounded(path.read_text(encoding="utf-8"), str(path))
    except (UserError, UnicodeDecodeError):
        raise UserError(damaged) from None
    if not isinstance(result, dict) or result.get("run") != name:
        raise UserError(damaged)
    return result


def train_run(run: SweepRun, out: str, device: str = "auto", threads: int | None = None) -> dict[str, Any]:
    """Train one run to the end (resuming its checkpoint if it has one) and write its result.json.

    A plain function of picklable arguments, so a Ray worker can run it as it is. A run that
    fails before its first checkpoint leaves no folder behind.
    """
    import time

    import torch

    from .device import allocation_errors
    from .run import Callbacks

    if threads is not None:
        torch.set_num_threads(threads)
    family = FAMILIES[run.kind]
    folder = Path(out) / run.name
    config = from_dict(family.config, run.config, run.name)
    payload = None
    if (folder / CHECKPOINT).is_file():  # an interrupted attempt: go on from its last checkpoint
        from .checkpoint import load_checkpoint

        payload = load_checkpoint(folder / CHECKPOINT)
    started = time.perf_counter()
    source = run.image if family.source == "image" else run.data
    fresh = not folder.exists()
    try:
        with allocation_errors(f"run {run.name}"):
            inputs = family.load(config, source, out=folder, payload=payload)
            trained = family.train(config, inputs, folder, device=device, payload=payload, callbacks=Callbacks())
    except BaseException as exc:
        if fresh and not isinstance(exc, Interrupted) and not (folder / CHECKPOINT).exists():
            shutil.rmtree(folder, ignore_errors=True)  # nothing to resume: no half folder
        raise
    result = {
        "run": run.name,
        "preset": run.preset,
        "seed": run.seed,
        **{key: value for key, value in run.overrides.items()},
        "steps": trained.steps,
        "resumed_from": int(payload["step"]) if payload is not None else 0,
        "seconds": round(time.perf_counter() - started, 2),
        **{key: _rounded(value) for key, value in family.scores(trained).items()},
    }
    with atomic_output(folder / RESULT) as tmp:
        tmp.write_text(json.dumps(result) + "\n", encoding="utf-8")
    return result


def _rounded(value: Any) -> Any:
    return value if isinstance(value, int) else round(float(value), 6)


def what_was_kept(runs: list[SweepRun], out: Path) -> str:
    """What a stopped or failed sweep leaves in ``out``, in words: finished runs and the checkpoints
    of unfinished ones (both taken up by running the sweep again), or nothing."""
    out = Path(out)
    done = sum((out / run.name / RESULT).is_file() for run in runs)
    resumable = sum((out / run.name / CHECKPOINT).is_file() and not (out / run.name / RESULT).is_file() for run in runs)
    if not done and not resumable:
        return "no run was kept"
    parts = [f"{done} finished run{'s' if done != 1 else ''}"] if done else []
    if resumable:
        parts.append(f"{resumable} checkpoint{'s' if resumable != 1 else ''} to resume from")
    return f"kept {' and '.join(parts)} in {out}; run the same command again to go on"


def pack_folder(folder: Path) -> bytes:
    """A run folder as .tar.gz bytes (hidden temporaries left out: they are another writer's)."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=folder.name, filter=lambda info: None if "/." in f"/{info.name}" else info)
    return buffer.getvalue()


class CheckpointWatcher:
    """Sends a run folder (packed) to ``send`` each time its checkpoint changes, from a thread.

    What lets a run on a cluster resume after its task is lost or the sweep is stopped: the
    machine the sweep runs on always holds the run's last checkpoint. ``stop`` looks once more,
    so the checkpoint a Ctrl-C saves goes back too.
    """

    def __init__(self, folder: Path, send: Callable[[bytes], None], every: float = 0.25) -> None:
        import threading

        self.folder, self.send, self.every = folder, send, every
        self.seen: tuple[int, int, int] | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="cppnart-checkpoints", daemon=True)
        self.thread.start()

    def _look(self) -> None:
        try:
            stat = (self.folder / CHECKPOINT).stat()
            key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if key != self.seen:
                data = pack_folder(self.folder)
                self.seen = key
                self.send(data)
        except OSError:  # no checkpoint yet, or a file replaced while packing: look again later
            pass

    def _watch(self) -> None:
        while not self.done.wait(self.every):
            self._look()

    def stop(self) -> None:
        """Stop watching after one last look."""
        self.done.set()
        self.thread.join()
        self._look()


def train_packed(
    run: SweepRun,
    device: str = "auto",
    threads: int | None = None,
    resume: bytes | None = None,
    inbox: Any = None,
) -> tuple[dict[str, Any], bytes]:
    """``train_run`` in a temporary folder, returned as (result, the run folder as .tar.gz bytes).

    What a cluster worker runs: the run folder comes back to the machine the sweep was started
    on, so no node needs to share a disk with it. ``resume`` is an unfinished run folder (packed)
    to go on from; ``inbox`` (anything with ``put``) receives ``(run name, packed folder)`` at
    every checkpoint, so an attempt that never finishes still leaves its progress behind.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cppnart-sweep-") as tmp:
        if resume is not None:
            unpack_run(Path(tmp), run.name, resume)
        watcher = None
        if inbox is not None:
            watcher = CheckpointWatcher(Path(tmp) / run.name, lambda data: inbox.put((run.name, data)))
        try:
            result = train_run(run, tmp, device, threads)
        finally:
            if watcher is not None:
                watcher.stop()
        return result, pack_folder(Path(tmp) / run.name)


def _train_job(
    job: tuple[SweepRun, bytes | None], device: str, threads: int | None, inbox: Any
) -> tuple[dict[str, Any], bytes]:
    run, resume = job
    return train_packed(run, device, threads, resume, inbox)


def unpack_run(out: Path, name: str, data: bytes) -> Path:
    """Put a run folder packed by ``train_packed`` at ``out/name`` (replacing an unfinished one)."""
    import io
    import os
    import shutil
    import tarfile
    import tempfile

    target = Path(out) / name
    with tempfile.TemporaryDirectory(dir=out, prefix=".unpack-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        if target.exists():
            shutil.rmtree(target)  # an attempt that never finished here; the finished run replaces it
        os.replace(Path(tmp) / name, target)
    return target


MapRuns = Callable[..., Iterator[tuple[Any, Any]]]  # (function, items, idle=) -> (item, result) as they finish


def one_by_one(
    function: Callable[..., dict[str, Any]], runs: Iterable[SweepRun]
) -> Iterator[tuple[SweepRun, dict[str, Any]]]:
    """Run ``function(run)`` for each run here, in order."""
    for run in runs:
        yield run, function(run)


def run_sweep(
    runs: list[SweepRun], out: Path, map_runs: MapRuns | None = None, device: str = "auto", threads: int | None = None
) -> Iterator[tuple[SweepRun, dict[str, Any], bool]]:
    """(run, result, fresh) for every run: finished ones first, read from disk (fresh False), then
    the rest as they complete: one after another in this process (resuming a run's checkpoint),
    or through ``map_runs`` (a cluster's), whose workers send each run folder back packed."""
    import functools

    Path(out).mkdir(parents=True, exist_ok=True)
    pending = []
    for run in runs:
        done = finished(run, out)
        if done is not None:
            yield run, done, False
        else:
            pending.append(run)
    if map_runs is None:
        train = functools.partial(train_run, out=str(out), device=device, threads=threads)
        for run, result in one_by_one(train, pending):
            yield run, result, True
        return
    from ..cluster.jobs import Inbox

    inbox = Inbox()

    def keep_progress() -> None:
        """Checkpoints the workers sent back: an unfinished run folder here is replaced by its newer state."""
        for name, data in inbox.drain():
            if finished_name(out, name) is None:
                unpack_run(out, name, data)

    def jobs() -> Iterator[tuple[SweepRun, bytes | None]]:
        for run in pending:  # lazily: only the runs in flight hold their packed folders
            folder = Path(out) / run.name
            yield run, pack_folder(folder) if (folder / CHECKPOINT).is_file() else None

    job = functools.partial(_train_job, device=device, threads=threads, inbox=inbox)
    try:
        for (run, _), (result, data) in map_runs(job, jobs(), idle=keep_progress):
            unpack_run(out, run.name, data)
            yield run, result, True
    finally:
        keep_progress()  # what arrived before a Ctrl-C or a failure: rerunning the sweep resumes from it
        inbox.close()


def write_summary(out: Path, results: list[dict[str, Any]]) -> Path:
    """summary.json: every run's result, in the order of the grid."""
    path = Path(out) / SUMMARY
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return path
