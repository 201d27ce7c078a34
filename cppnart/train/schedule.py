"""Learning-rate schedules as pure functions of the step, so a resumed run needs no scheduler state.

    factor = cosine_factor(step, steps, floor=0.01, warmup=200, decay=0.25)   # multiply the base lr

Linear warm-up over ``warmup`` steps (at most a tenth of the run, so a short ``--steps`` still
reaches the full rate), the full rate until the last ``decay`` fraction of the run, then half a
cosine down to ``floor`` at ``steps`` (``decay=1``: a cosine over the whole run). A run resumed
with a different ``--steps`` follows the stretched curve from where it stands.
"""

from __future__ import annotations

import math


def cosine_factor(step: int, steps: int, floor: float, warmup: int = 0, decay: float = 1.0) -> float:
    """The lr multiplier at ``step`` (0-based: the step about to be taken)."""
    steps = max(1, steps)
    warmup = min(warmup, steps // 10)
    ramp = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    decay_steps = max(1.0, decay * steps)
    t = min(1.0, max(0.0, (step - (steps - decay_steps)) / decay_steps))
    return ramp * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t)))
