"""The training contract every family (glyph, ganvae, fit, classifier; see ``families``) follows.

    config, payload = resolve_run(GlyphConfig, preset, out, resume=False, steps=None, seed=None)
    callbacks = Callbacks(on_metrics=view.update, on_note=view.note, every=[Every(100, view.echo)])

- one resolver for the run folder, ``--resume`` (the checkpoint's config wins; a preset given too
  must describe the same model), ``--steps`` (extends a run, stretching its lr schedule) and
  ``--seed`` (a fresh run only);
- one set of callbacks, attached by the caller (the CLI's live view; a notebook's print);
- one stateless learning rate: ``set_lr(optimizer, config.lr_at(step))`` before each step;
- exports verified against torch when written (``onnx_export.verify_onnx``), and every run file
  written atomically.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..configs.schema import to_dict
from ..errors import ParamError, UserError
from .loop import Every, run_steps
from .run_folder import CHECKPOINT, check_run_folder


@dataclass(frozen=True)
class Callbacks:
    """What a training loop reports, and periodic actions of the caller's."""

    on_metrics: Callable[[int, dict[str, float]], None] | None = None
    on_note: Callable[[str], None] | None = None
    every: Sequence[Every] = field(default_factory=tuple)

    def note(self, text: str) -> None:
        if self.on_note is not None:
            self.on_note(text)

    def run(
        self,
        step_fn: Callable[[int], dict[str, float]],
        start: int,
        stop: int,
        every: Sequence[Every],
        save: Callable[[int], None],
    ) -> tuple[int, float]:
        """The loop call every family makes: its periodic actions and the caller's, metrics to
        ``on_metrics``, ``save`` on Ctrl-C or a signal. Returns (step reached, seconds)."""
        started = time.perf_counter()
        steps = run_steps(
            step_fn,
            start=start,
            stop=stop,
            every=[*every, *self.every],
            on_metrics=self.on_metrics,
            on_interrupt=save,
        )
        return steps, time.perf_counter() - started


@dataclass
class Session:
    """One training session of a family's run: what every family's train function shares.

    It seeds torch from the config (``seed_torch``), makes the run folder and restores the
    ``states`` and ``generators`` from a checkpoint (``start``), saves them with ``extra``
    on schedule, on Ctrl-C or a signal (``save``, ``run``) and writes ``summary.json``
    (``summary``). A family keeps only what is its own: its modules, its step, its scores.
    """

    config: Any
    out: Path
    callbacks: Callbacks
    states: dict[str, Any] = field(default_factory=dict)
    generators: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def seed_torch(seed: int) -> Any:
        """Seed torch's global RNG (initial weights) and return the run's own generator (batches,
        crops, noise: one stream, checkpointed), seeded one past it."""
        import torch

        torch.manual_seed(seed)
        return torch.Generator().manual_seed(seed + 1)

    def start(self, payload: dict[str, Any] | None) -> int:
        """Make the run folder; on resume load every state and generator back. The step to start from."""
        from .checkpoint import restore

        self.out.mkdir(parents=True, exist_ok=True)
        return 0 if payload is None else restore(payload, states=self.states, generators=self.generators)

    def save(self, step: int) -> None:
        """Write the checkpoint (atomically) and say so."""
        from .checkpoint import save_checkpoint

        save_checkpoint(
            self.out / CHECKPOINT,
            config=to_dict(self.config),
            step=step,
            states=self.states,
            generators=self.generators,
            extra=self.extra,
        )
        self.callbacks.note(f"checkpoint at step {step}")

    def run(self, step_fn: Callable[[int], dict[str, float]], start: int, every: Sequence[Every]) -> tuple[int, float]:
        """``Callbacks.run`` up to the config's steps, with the family's periodic actions, then a
        checkpoint every ``checkpoint_every`` steps. Returns (step reached, seconds)."""
        periodic = [*every, Every(self.config.checkpoint_every, self.save)]
        return self.callbacks.run(step_fn, start, total_steps(self.config), periodic, self.save)

    def summary(self, steps: int, seconds: float, device: Any, scores: dict[str, Any]) -> Path:
        """``summary.json``: steps, this session's seconds, the family's ``scores`` and the device."""
        from ..io.run_files import write_summary

        table = {"steps": steps, "train_seconds_this_session": round(seconds, 1), **scores, "device": str(device)}
        return write_summary(self.out, table)


def total_steps(config: Any) -> int:
    """The step a run of ``config`` trains to (its family knows where the config keeps it)."""
    from .families import FAMILIES

    return FAMILIES[config.kind].steps(config)


def resolve_run(
    cls: type[Any], preset: Any | None, out: Path, *, resume: bool, steps: int | None = None, seed: int | None = None
) -> tuple[Any, dict[str, Any] | None]:
    """The config to train in ``out`` and, on resume, the loaded checkpoint."""
    from .checkpoint import checkpoint_config, load_checkpoint
    from .families import family_for

    family = family_for(cls)
    kind = family.kind
    out = Path(out)
    check_run_folder(out, resume)
    if preset is not None and not isinstance(preset, cls):
        raise UserError(f"preset '{preset.name}' is of kind '{preset.kind}'; `train {kind}` needs a '{kind}' preset")
    payload = None
    if resume:
        payload = load_checkpoint(out / CHECKPOINT)
        config = checkpoint_config(payload, cls, str(out / CHECKPOINT))
        if preset is not None and (diff := _first_difference(_model_part(config), _model_part(preset))):
            key, theirs, mine = diff
            raise UserError(
                f"--resume: the run in '{out}' has {key.replace('_', ' ')} {theirs} but preset "
                f"'{preset.name}' has {mine}; resume without --preset or choose another --out"
            )
        if seed is not None and seed != family.seed(config):
            raise ParamError("seed", f"cannot change on --resume (the run uses seed {family.seed(config)})")
    elif preset is None:
        raise UserError("name a preset with --preset (see `cppnart presets`), or pass --resume")
    else:
        config = preset if seed is None else family.with_seed(preset, seed)
    if steps is not None:
        if steps < 1:
            raise ParamError("steps", f"must be at least 1, got {steps}")
        config = family.with_steps(config, steps)
    family.check_memory(config, str(out))
    return config, payload


def _model_part(config: Any) -> dict[str, Any]:
    """What defines the model (not the training length, schedule, seed or name)."""
    table = to_dict(config)
    for key in (
        "name",
        "description",
        "train",
        "schedule",
        "steps",
        "seed",
        "sample_every",
        "checkpoint_every",
        "eval_every",
        "batch",
        "holdout",
        "lr",
        "lr_final",
        "batch_pixels",
        "sample_count",
        "upscale_size",
        "render_scale",
        "data_limit",
    ):
        table.pop(key, None)
    return table


def _first_difference(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> tuple[str, Any, Any] | None:
    """(dotted key, value in a, value in b) of the first key where two config tables differ."""
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            found = _first_difference(x, y, f"{prefix}{key}.")
            if found:
                return found
        elif x != y:
            return f"{prefix}{key}", x, y
    return None


def set_lr(optimizer: Any, lr: float) -> None:
    """Set every parameter group's rate: the schedule is a function of the step, not optimiser state."""
    for group in optimizer.param_groups:
        group["lr"] = lr
