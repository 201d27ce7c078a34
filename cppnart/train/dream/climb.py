"""The optimisation loop: Adam on a parameterisation's images, climbing an objective.

    stop, trace = climb(param, layer_outputs, goal, settings, size, callbacks=..., on_snapshot=...)
    stop.reason          # "steps", "converged" (``tol``) or "interrupted" (a stop signal: ``stop.signum``)

The loop returns why it stopped; it raises nothing of its own. A stop signal (Ctrl-C, SIGTERM,
SIGHUP) ends it after the step in progress, so the caller can clean up and say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ...configs.schedule import lr_at
from ..loop import stop_on_interrupt
from ..run import Callbacks, set_lr
from .objectives import Acts, Goal
from .params import ImageParam
from .settings import DreamSettings
from .transforms import transforms_for

CONVERGENCE_WINDOW = 64  # steps per window of the ``tol`` test (two windows are compared)


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


@dataclass(frozen=True)
class Stop:
    """Why the loop ended: ``reason`` ("steps", "converged", "interrupted"), after ``step`` steps;
    ``signum`` is the stop signal's number when interrupted."""

    reason: str
    step: int
    signum: int = 0


@dataclass
class Trace:
    """How the optimisation went: the objective's mean each step, every solution's objective at
    the logged steps, the seconds taken and the last step run."""

    by_step: list[float] = field(default_factory=list)
    logged: dict[int, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    stopped: int = 0


class Climber:
    """One step of the climb at a time: the learning rate, the transforms, the objective and Adam."""

    def __init__(
        self,
        param: ImageParam,
        layer_outputs: Callable[[torch.Tensor], Acts],
        goal: Goal,
        settings: DreamSettings,
        size: tuple[int, int],
    ) -> None:
        self.param, self.layer_outputs, self.goal, self.settings = param, layer_outputs, goal, settings
        self.augment = transforms_for(settings.transforms, size)
        self.optimizer = torch.optim.Adam(param.parameters(), lr=settings.lr)
        self.snapshots = log_steps(settings.steps)
        self.trace = Trace()
        self.last: list[float] = []

    def step(self, step: int) -> dict[str, float]:
        """Step ``step`` (0-based): returns the metrics the live view shows."""
        s = self.settings
        set_lr(self.optimizer, lr_at(step, s.steps, s.lr, s.lr * 0.1, "cosine", decay=0.5))
        images = self.param.images()
        polishing = step >= s.steps * (1 - s.polish)
        acts = self.layer_outputs(images if polishing else self.augment(images))
        goal = self.goal.goal(acts)
        loss = -self.goal.total(acts).sum()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.last = goal.detach().tolist()
        self.trace.by_step.append(float(np.mean(self.last)))
        if step + 1 in self.snapshots:
            self.trace.logged[step + 1] = self.last
        return {"objective": self.trace.by_step[-1], "activation": float(self.goal.unit(acts).detach().mean())}

    def converged(self, step: int) -> bool:
        """The objective's mean moved less than ``tol`` (relative) between the last two windows."""
        window, by_step = CONVERGENCE_WINDOW, self.trace.by_step
        if not (self.settings.tol > 0 and 2 * window <= step < self.settings.steps):
            return False
        now, before = float(np.mean(by_step[-window:])), float(np.mean(by_step[-2 * window : -window]))
        return abs(now - before) <= self.settings.tol * max(abs(before), 1e-8)


def climb(
    param: ImageParam,
    layer_outputs: Callable[[torch.Tensor], Acts],
    goal: Goal,
    settings: DreamSettings,
    size: tuple[int, int],
    *,
    callbacks: Callbacks = Callbacks(),
    on_snapshot: Callable[[int], None] = lambda step: None,
) -> tuple[Stop, Trace]:
    """Run up to ``settings.steps`` steps; ``on_snapshot(step)`` at the log-spaced steps (and at
    convergence); the caller's metrics and periodic actions through ``callbacks``."""
    climber = Climber(param, layer_outputs, goal, settings, size)
    started = time.perf_counter()
    stop = Stop("steps", settings.steps)
    torch.manual_seed(settings.seed + 1)  # the transforms' draws
    with stop_on_interrupt() as flag:
        for index in range(settings.steps):
            metrics = climber.step(index)
            step = index + 1
            if callbacks.on_metrics is not None:
                callbacks.on_metrics(step, metrics)
            if step in climber.snapshots[1:]:
                on_snapshot(step)
            for item in callbacks.every:
                if step % item.steps == 0 or (item.at_end and step == settings.steps):
                    item.action(step)
            if step % CONVERGENCE_WINDOW == 0 and climber.converged(step):
                climber.trace.logged[step] = climber.last
                on_snapshot(step)
                stop = Stop("converged", step)
                break
            if flag.requested and step < settings.steps:
                stop = Stop("interrupted", step, flag.signum)
                break
    climber.trace.seconds, climber.trace.stopped = time.perf_counter() - started, stop.step
    return stop, climber.trace
