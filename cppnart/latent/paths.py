"""Paths through latent space: easing, lerp, slerp, and keyframe animations.

>>> plan_path(np.eye(2), frames=4).shape
(5, 2)
>>> round(float(ease("smooth", 0.5)), 6)
0.5
>>> [round(float(v), 4) for v in slerp(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 0.5)]
[0.7071, 0.7071]
"""

from __future__ import annotations

import numpy as np

from ..configs.choices import EASINGS as EASINGS
from ..configs.choices import PATHS as PATHS
from ..configs.schema import check_param
from ..errors import UserError

MAX_KEYFRAMES = 10_000  # keyframes of one morph, all held in memory with their path


def ease(name: str, p: np.ndarray | float) -> np.ndarray:
    """Map progress p in [0, 1] to interpolation weight t in [0, 1].

    linear: t = p. sine: t = sin(p·π/2), the "sinusoid" morph of [Large images]: it leaves the start
    quickly and settles slowly onto the next keyframe. smooth: t = (1 - cos(p·π)) / 2, an
    ease-in-out that starts and stops at rest, so keyframes and loops show no jolt.
    """
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    if name == "linear":
        return p
    if name == "sine":
        return np.sin(p * np.pi / 2)
    if name == "smooth":
        return (1.0 - np.cos(p * np.pi)) / 2
    raise UserError(f"unknown easing '{name}'; choose {', '.join(EASINGS)}")


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Straight line a -> b. For t an array of shape [N], returns [N, Z]."""
    a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    t = np.asarray(t, np.float64)
    return (a + (b - a) * t[..., None]).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Great-circle path a -> b: the direction turns at constant angular speed while the length
    goes linearly from |a| to |b|.

    A straight line between two gaussian latents cuts through the middle of the ball, where
    the norm dips (to ~0.71 x at the midpoint for independent vectors) and the network sees
    latents it was never trained on; this path keeps every step at a typical norm.
    """
    a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    t = np.asarray(t, np.float64)[..., None]
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-12 or nb < 1e-12:  # a zero vector has no direction to turn from
        return lerp(a, b, t[..., 0])
    ua, ub = a / na, b / nb
    omega = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
    if omega < 1e-6:  # (nearly) parallel: the great circle is the straight line
        direction = ua + (ub - ua) * t
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    elif np.pi - omega < 1e-6:
        raise UserError(
            "the two latents point in opposite directions, so slerp has no unique path; interpolate with lerp instead"
        )
    else:
        direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    return (direction * (na + (nb - na) * t)).astype(np.float32)


def interpolate(a: np.ndarray, b: np.ndarray, t: np.ndarray | float, path: str = "lerp") -> np.ndarray:
    """The latents at ``t`` on the way from ``a`` to ``b`` along the path named by ``path`` (one of
    ``PATHS``); an unknown name is a ``UserError``."""
    if path == "lerp":
        return lerp(a, b, t)
    if path == "slerp":
        return slerp(a, b, t)
    raise UserError(f"unknown path '{path}'; choose {', '.join(PATHS)}")


# --- keyframe paths -----------------------------------------------------------------------


def path_length(keyframes: int, frames: int, hold: int = 0, loop: bool = False) -> int:
    """Frames in a keyframe animation (see ``plan_path``)."""
    transitions = keyframes if loop else keyframes - 1
    return transitions * frames + (0 if loop else 1) + keyframes * hold


def plan_path(
    keyframes: np.ndarray, frames: int, hold: int = 0, loop: bool = False, easing: str = "linear", path: str = "lerp"
) -> np.ndarray:
    """The latent of every frame of an animation through ``keyframes`` [K, Z] -> [N, Z].

    Each transition takes ``frames`` frames, counting its start keyframe but not its end one
    (which starts the next transition), so keyframe k is exactly frame k·frames (+ holds) and
    nothing is shown twice by accident. Without ``loop`` the last frame is the last keyframe:
    N = (K-1)·frames + 1 + K·hold. With ``loop`` a last transition heads back to the first
    keyframe and stops one step short, so playing the file on repeat is seamless:
    N = K·frames + K·hold. ``hold`` repeats each keyframe that many extra frames.
    """
    keyframes = np.asarray(keyframes, dtype=np.float32)
    if keyframes.ndim != 2 or keyframes.shape[0] < 2:
        count = keyframes.shape[0] if keyframes.ndim == 2 else 1
        raise UserError(f"a morph needs at least 2 keyframe latents, got {count}; give two or more .npy files")
    check_param("frames", frames)
    check_param("hold", hold)
    if keyframes.shape[0] > MAX_KEYFRAMES:
        raise UserError(f"a morph takes at most {MAX_KEYFRAMES} keyframes, got {keyframes.shape[0]}")
    if easing not in EASINGS:
        raise UserError(f"unknown easing '{easing}'; choose {', '.join(EASINGS)}")
    if path not in PATHS:
        raise UserError(f"unknown path '{path}'; choose {', '.join(PATHS)}")
    stops = list(keyframes) + ([keyframes[0]] if loop else [])
    weights = ease(easing, np.arange(frames) / frames)  # progress 0, 1/F, ..., (F-1)/F
    parts = []
    for i in range(len(stops) - 1):
        parts.append(np.repeat(stops[i][None], hold, axis=0))
        parts.append(interpolate(stops[i], stops[i + 1], weights, path))
    if not loop:
        parts.append(np.repeat(keyframes[-1][None], hold + 1, axis=0))
    out = np.concatenate(parts).astype(np.float32)
    return out
