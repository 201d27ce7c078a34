"""Learning-rate schedules as pure functions of the step, so a resumed run needs no scheduler state.

    factor = cosine_factor(step, steps, floor=0.01, warmup=200)   # multiply the base lr by this

Linear warm-up over ``warmup`` steps (at most a tenth of the run, so a short ``--steps`` still
reaches the full rate), then half a cosine from 1 down to ``floor`` at ``steps``.
A run resumed with a different ``--steps`` follows the stretched curve from where it stands.
"""

from __future__ import annotations

import math


def cosine_factor(step: int, steps: int, floor: float, warmup: int = 0) -> float:
    """The lr multiplier at ``step`` (0-based: the step about to be taken)."""
    warmup = min(warmup, steps // 10)
    ramp = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    t = min(1.0, step / max(1, steps))
    return ramp * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t)))
