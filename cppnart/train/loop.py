"""A plain step loop with periodic actions and a Ctrl-C that stops *between* steps.

    def step(i: int) -> dict[str, float]:        # one optimisation step, returns metrics
        ...
    final = run_steps(step, start=0, stop=1000,
                      every=[Every(100, write_samples), Every(500, save)],
                      on_metrics=view.update,          # e.g. LiveView.update(step, metrics)
                      on_interrupt=save)               # Ctrl-C: save, then Interrupted is raised

No trainer object: the caller owns its models and state; the loop only counts steps, calls
back, and turns the first Ctrl-C into "finish this step, call on_interrupt, raise Interrupted"
so the checkpoint written then is consistent (never mid optimizer update). A second Ctrl-C
while that happens raises KeyboardInterrupt at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ..errors import Terminated
from .device import step_precision


class Interrupted(Exception):
    """Training stopped by Ctrl-C (or SIGTERM/SIGHUP: ``signum``) after ``step`` completed steps
    (a checkpoint was written)."""

    def __init__(self, step: int, signum: int = signal.SIGINT) -> None:
        super().__init__(f"interrupted after step {step}")
        self.step, self.signum = step, int(signum)


@dataclass(frozen=True)
class Every:
    """Call ``action(step)`` after every ``steps``-th step (and after the last one if ``at_end``)."""

    steps: int
    action: Callable[[int], None]
    at_end: bool = True


class _StopFlag:
    def __init__(self) -> None:
        self.requested = False
        self.signum = signal.SIGINT


# SIGTERM (kill, systemd, schedulers) and SIGHUP (a closed terminal) stop a run like Ctrl-C does.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def stop_on_interrupt() -> Iterator[_StopFlag]:
    """The first SIGINT, SIGTERM or SIGHUP sets ``flag.requested`` (and ``flag.signum``); a second
    raises KeyboardInterrupt (``Terminated`` for SIGTERM/SIGHUP) at once."""
    flag = _StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signals only reach the main thread; Ctrl-C then behaves as Python's default
        return

    def handler(signum, frame):
        if flag.requested:
            raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum)
        flag.requested, flag.signum = True, signum

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_steps(
    step_fn: Callable[[int], dict[str, float]],
    *,
    start: int,
    stop: int,
    every: Sequence[Every] = (),
    on_metrics: Callable[[int, dict[str, float]], None] | None = None,
    on_interrupt: Callable[[int], None] | None = None,
) -> int:
    """Run steps ``start`` .. ``stop - 1``; returns the number of completed steps (``stop``).

    ``step_fn(i)`` runs step i (0-based); after it, ``step = i + 1`` steps are complete and the
    periodic actions see that count, so an action at step 500 has seen exactly 500 updates.
    """
    step = start
    with stop_on_interrupt() as flag:
        while step < stop:
            with step_precision():  # bf16 autocast inside device.training_precision; else nothing
                metrics = step_fn(step)
            step += 1
            if on_metrics is not None:
                on_metrics(step, metrics)
            for item in every:
                if step % item.steps == 0 or (item.at_end and step == stop):
                    item.action(step)
            if flag.requested and step < stop:
                if on_interrupt is not None:
                    on_interrupt(step)
                raise Interrupted(step, flag.signum)
    return step
