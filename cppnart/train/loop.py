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


class Interrupted(Exception):
    """Training stopped by Ctrl-C after ``step`` completed steps (a checkpoint was written)."""

    def __init__(self, step: int) -> None:
        super().__init__(f"interrupted after step {step}")
        self.step = step


@dataclass(frozen=True)
class Every:
    """Call ``action(step)`` after every ``steps``-th step (and after the last one if ``at_end``)."""

    steps: int
    action: Callable[[int], None]
    at_end: bool = True


class _StopFlag:
    def __init__(self) -> None:
        self.requested = False


@contextlib.contextmanager
def stop_on_interrupt() -> Iterator[_StopFlag]:
    """First SIGINT sets ``flag.requested``; the second raises KeyboardInterrupt as usual."""
    flag = _StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signals only reach the main thread; Ctrl-C then behaves as Python's default
        return

    def handler(signum, frame):
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


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
                raise Interrupted(step)
    return step
