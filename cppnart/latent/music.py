"""Latent paths timed by music (pure numpy): keyframes reached on beats, pace from onsets.

``beat_path`` walks keyframes in order (round again after the last), arriving at a new one on
every ``beats_per_key``-th beat. Between two arrivals the fraction of the way covered follows
the onset envelope summed frame by frame, so a frame on a loud onset moves far and a frame in a
quiet stretch barely moves; the frame-to-frame change peaks where the music hits.

>>> keys = np.array([[0.0], [1.0]])
>>> path = beat_path(keys, beats=(2, 6), envelope=np.array([0, 0, 1, 0, 0, 0, 1, 0]), beats_per_key=1, path="lerp")
>>> [round(float(v), 2) for v in path[:, 0]]
[0.0, 0.01, 1.0, 0.99, 0.98, 0.96, 0.0, 0.01]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ParamError
from .paths import interpolate

# Quiet frames still move at this fraction of the clip's mean pace, so a bar without onsets
# drifts toward its keyframe rather than jumping there on the next beat alone.
QUIET_PACE = 0.05


def beat_path(
    keyframes: np.ndarray,
    beats: Sequence[int],
    envelope: np.ndarray,
    beats_per_key: int = 4,
    path: str = "slerp",
) -> np.ndarray:
    """The latent of every frame [N, Z] (N = len(envelope)): keyframe 0 on the first frame, keyframe k
    on beat k x ``beats_per_key`` (the keyframes repeat in order), the pace in between from the
    ``envelope`` [N] (>= 0). In silence (an envelope of zeros) the path rests on the first keyframe."""
    keys = np.asarray(keyframes, np.float32)
    if keys.ndim != 2 or len(keys) < 1:
        raise ParamError("keyframes", "must hold at least one latent [K, Z]")
    if beats_per_key < 1:
        raise ParamError("beats_per_key", f"must be at least 1, got {beats_per_key}")
    env = np.maximum(np.asarray(envelope, np.float64), 0.0)
    frames = len(env)
    out = np.repeat(keys[:1], frames, axis=0)
    if frames == 0 or env.max() <= 0 or len(keys) < 2:
        return out
    pace = env + QUIET_PACE * env.mean()
    # Keyframe 0 at the first frame, keyframe k at beat k x beats_per_key: the first beat moves too.
    on_beats = [int(b) for b in list(beats)[beats_per_key - 1 :: beats_per_key] if 0 < b < frames]
    arrivals = [0] + on_beats
    # Segment j runs from arrival j (keyframe j) to arrival j + 1 (keyframe j + 1); the last one has no
    # end beat and covers the share of the way its frames' pace would at the clip's mean segment pace.
    starts = arrivals
    ends = arrivals[1:] + [frames - 1]
    sums = [pace[a + 1 : b + 1].sum() for a, b in zip(starts[:-1], ends[:-1])]
    typical = float(np.mean(sums)) if sums else float(pace[arrivals[0] + 1 :].sum()) or 1.0
    for j, (a, b) in enumerate(zip(starts, ends)):
        last = j == len(starts) - 1
        total = typical if last else max(sums[j], 1e-12)
        covered = np.minimum(np.cumsum(pace[a + 1 : b + 1]) / total, 1.0)
        start, end = keys[j % len(keys)], keys[(j + 1) % len(keys)]
        out[a] = start
        if len(covered):
            out[a + 1 : b + 1] = interpolate(start, end, covered, path)
    return out
