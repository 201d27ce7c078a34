"""The training contract every family (glyph, ganvae, fit, classifier; see ``families``) follows.

    config, payload = resolve_run(GlyphConfig, preset, out, resume=False, steps=None, seed=None)
    callbacks = Callbacks(on_metrics=view.update, on_note=view.note, every=[Every(100, view.echo)])

- one resolver for the run folder, ``--resume``, ``--steps`` and ``--seed`` (``resolve.resolve_run``);
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
from typing import TYPE_CHECKING, Any, Required, TypedDict

from ..configs.schema import to_dict
from .loop import Every, run_steps
from .run_folder import CHECKPOINT

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Callbacks:
    """What a training loop reports, and periodic actions of the caller's."""

    on_metrics: Callable[[int, dict[str, float]], None] | None = None
    on_note: Callable[[str], None] | None = None
    every: Sequence[Every] = field(default_factory=tuple)

    def note(self, text: str) -> None:
        """Pass one line of progress to ``on_note``, if the caller gave one."""
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


class RunOptions(TypedDict, total=False):
    """The keywords an image family's train function takes after ``(config, data, out)``
    (``train_ganvae``, ``train_classifier``: ``**options: Unpack[RunOptions]``), listed once so
    the families cannot drift apart; ``RunArgs`` gives the defaults of those left out."""

    device: Required[torch.device]
    payload: dict[str, Any] | None  # a loaded checkpoint to continue from
    callbacks: Callbacks
    export: bool  # write the run's ONNX files and summary at the end


@dataclass(frozen=True)
class RunArgs:
    """``RunOptions`` with their defaults: a fresh run (no payload), no callbacks, files exported."""

    device: torch.device
    payload: dict[str, Any] | None = None
    callbacks: Callbacks = Callbacks()
    export: bool = True


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

    def run(
        self, step_fn: Callable[[int], dict[str, float]], start: int, stop: int, every: Sequence[Every]
    ) -> tuple[int, float]:
        """``Callbacks.run`` up to step ``stop`` (the config's steps), with the family's periodic
        actions, then a checkpoint every ``checkpoint_every`` steps. Returns (step reached, seconds)."""
        periodic = [*every, Every(self.config.checkpoint_every, self.save)]
        return self.callbacks.run(step_fn, start, stop, periodic, self.save)

    def summary(self, steps: int, seconds: float, device: Any, scores: dict[str, Any]) -> Path:
        """``summary.json``: steps, this session's seconds, the family's ``scores`` and the device."""
        from ..io.run_files import write_summary

        table = {"steps": steps, "train_seconds_this_session": round(seconds, 1), **scores, "device": str(device)}
        return write_summary(self.out, table)


def set_lr(optimizer: Any, lr: float) -> None:
    """Set every parameter group's rate: the schedule is a function of the step, not optimiser state."""
    for group in optimizer.param_groups:
        group["lr"] = lr
