"""Learning-rate schedules as pure functions of the step, so a resumed run needs no scheduler state.

    lr = lr_at(step, steps=5000, lr=1e-3, lr_final=1e-5, schedule="cosine", warmup=200, decay=0.25)

Linear warm-up over ``warmup`` steps (at most a tenth of the run, so a short ``--steps`` still
reaches the full rate), the full rate until the last ``decay`` fraction of the run, then half a
cosine down to ``lr_final`` at ``steps`` (``decay=1``: a cosine over the whole run). A run resumed
with a different ``--steps`` follows the stretched curve from where it stands. Every training
family sets its optimiser's rate from ``lr_at`` before each step.

>>> lr_at(0, 100, 1.0, 0.0, "cosine")
1.0
>>> round(lr_at(50, 100, 1.0, 0.0, "cosine", decay=1.0), 3)
0.5
>>> lr_at(99, 100, 2.0, 0.0, "constant")
2.0
"""

from __future__ import annotations

import math

LR_SCHEDULES = ("cosine", "constant")


def cosine_factor(step: int, steps: int, floor: float, warmup: int = 0, decay: float = 1.0) -> float:
    """The lr multiplier at ``step`` (0-based: the step about to be taken).

    >>> cosine_factor(0, 100, floor=0.1, warmup=10)
    0.1
    >>> cosine_factor(100, 100, floor=0.1)
    0.1
    """
    steps = max(1, steps)
    warmup = min(warmup, steps // 10)
    ramp = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    decay_steps = max(1.0, decay * steps)
    t = min(1.0, max(0.0, (step - (steps - decay_steps)) / decay_steps))
    return ramp * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t)))


def lr_at(
    step: int, steps: int, lr: float, lr_final: float, schedule: str = "cosine", warmup: int = 0, decay: float = 1.0
) -> float:
    """The learning rate of (0-based) ``step``: ``lr`` throughout for ``constant``, else the cosine."""
    if schedule == "constant":
        return lr
    return lr * cosine_factor(step, steps, lr_final / lr, warmup, decay)


def describe_lr(lr: float, lr_final: float, schedule: str, decay: float) -> str:
    """One line for the start of a run.

    >>> describe_lr(1e-3, 1e-5, "cosine", 0.25)
    'lr 0.001, cosine to 1e-05 over the last 25%'
    """
    if schedule == "constant":
        return f"lr {lr:g}"
    return f"lr {lr:g}, cosine to {lr_final:g} over the last {decay:.0%}"
