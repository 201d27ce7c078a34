"""Closed paths through latent space, walked at constant speed (pure numpy): seamless loops.

A loop of N frames samples a closed curve c(u), u in [0, 1), at N points equally spaced along
its length, so the frame after the last is the first one again and every step is the same
distance. Three curves:

- ``great_circle``: for gaussian priors, a circle through two random latents' plane with the
  typical norm, so every frame is a latent the network has seen (constant speed exactly);
- ``box_curve``: for uniform priors, a closed Fourier (Lissajous-like) curve kept inside
  [-1, 1] in every coordinate;
- ``spline_loop``: a closed Catmull-Rom spline through chosen latents (``--through``).

``timed_positions`` turns a per-frame speed (a song's onset strength) into where along the loop
each frame is, so the loop still closes while its pace follows the music.

>>> path = loop_path(great_circle(4, seed=1), 8)
>>> path.shape
(8, 4)
>>> steps = np.linalg.norm(np.diff(np.vstack([path, path[:1]]), axis=0), axis=1)
>>> bool(np.ptp(steps) / steps.mean() < 0.01)
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ParamError

Curve = Callable[[np.ndarray], np.ndarray]  # u [M] in [0, 1) -> points [M, Z], with c(u + 1) = c(u)

# Samples per frame when measuring a curve's length: the arc-length inverse is linear between
# samples, so the step error is O(1/DENSE^2); 16 kept every step within 1e-5 of the mean on the
# curves below (Z = 8 and 128, 30 to 2400 frames).
DENSE = 16
MIN_DENSE_SAMPLES = 4096
CHORD_ROUNDS = 20
CHORD_TOLERANCE = 1e-5
BOX_LIMIT = 0.95  # the box curve stays this far inside [-1, 1]
HARMONICS = 2


def great_circle(z_dim: int, seed: int, radius: float | None = None) -> Curve:
    """A circle through the origin-centred plane of two gaussian latents drawn from ``seed``, of
    ``radius`` (default sqrt(Z), the typical norm of a standard normal latent).

    >>> c = great_circle(3, seed=0)
    >>> bool(np.allclose(c(np.array([0.0])), c(np.array([1.0]))))
    True
    """
    rng = np.random.default_rng([seed, 2])
    u, v = rng.standard_normal((2, z_dim))
    e1 = u / np.linalg.norm(u)
    v = v - (v @ e1) * e1
    e2 = v / max(np.linalg.norm(v), 1e-12)
    r = float(np.sqrt(z_dim)) if radius is None else float(radius)

    def curve(t: np.ndarray) -> np.ndarray:
        angle = 2 * np.pi * np.asarray(t, np.float64)[:, None]
        return r * (np.cos(angle) * e1 + np.sin(angle) * e2)

    return curve


def box_curve(z_dim: int, seed: int, harmonics: int = HARMONICS, limit: float = BOX_LIMIT) -> Curve:
    """A closed curve inside [-limit, limit]^Z: each coordinate a centre plus a sum of
    ``harmonics`` sines and cosines of whole frequencies, scaled so it can never leave the box.

    >>> c = box_curve(5, seed=3)
    >>> points = c(np.linspace(0, 1, 1000))
    >>> bool(np.abs(points).max() <= 0.95)
    True
    """
    rng = np.random.default_rng([seed, 3])
    centre = rng.uniform(-0.4, 0.4, z_dim)
    coef = rng.standard_normal((2, harmonics, z_dim)) / np.arange(1, harmonics + 1)[None, :, None]
    bound = np.abs(coef).sum(axis=(0, 1))  # |sum a cos + b sin| <= sum |a| + |b|
    amplitude = (limit - np.abs(centre)) / np.maximum(bound, 1e-12)
    freqs = np.arange(1, harmonics + 1, dtype=np.float64)

    def curve(t: np.ndarray) -> np.ndarray:
        angle = 2 * np.pi * np.asarray(t, np.float64)[:, None] * freqs[None, :]  # [M, H]
        wave = np.cos(angle) @ coef[0] + np.sin(angle) @ coef[1]  # [M, Z]
        return centre + amplitude * wave

    return curve


def spline_loop(points: np.ndarray) -> Curve:
    """The closed uniform Catmull-Rom spline through ``points`` [K, Z] (K >= 2): point k at u = k/K,
    tangents continuous everywhere, so the loop has no corner where it closes.

    >>> keys = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> bool(np.allclose(spline_loop(keys)(np.arange(3) / 3), keys))
    True
    """
    keys = np.asarray(points, np.float64)
    if keys.ndim != 2 or len(keys) < 2:
        raise ParamError("through", f"a loop through latents needs at least 2 of them, got {len(keys)}")
    k = len(keys)

    def curve(t: np.ndarray) -> np.ndarray:
        s = (np.asarray(t, np.float64) % 1.0) * k
        seg = np.minimum(np.floor(s).astype(int), k - 1)
        f = (s - seg)[:, None]
        p0, p1, p2, p3 = (keys[(seg + d) % k] for d in (-1, 0, 1, 2))
        f2, f3 = f * f, f * f * f
        return 0.5 * (2 * p1 + (p2 - p0) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f2 + (3 * (p1 - p2) + p3 - p0) * f3)

    return curve


def arc_table(curve: Curve, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(u, s): the curve measured densely, s the length from u = 0 normalised to 1 at u = 1."""
    count = max(MIN_DENSE_SAMPLES, DENSE * frames)
    u = np.linspace(0.0, 1.0, count + 1)
    points = curve(u)
    length = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    if length[-1] <= 0:  # a curve that does not move (one latent): every position is the same
        return u, u.copy()
    return u, length / length[-1]


def loop_path(curve: Curve, frames: int, positions: np.ndarray | None = None) -> np.ndarray:
    """The latents [frames, Z] of a loop along ``curve``: at ``positions`` (fractions of its
    length in [0, 1), default i / frames: constant speed); frame 0 is c(0) and the frame after
    the last would be c(1) = c(0)."""
    if frames < 1:
        raise ParamError("frames", f"must be at least 1, got {frames}")
    u, s = arc_table(curve, frames)
    if positions is not None:
        # s is non-decreasing; np.interp inverts it (flat parts, where the curve pauses, map to their start)
        return curve(np.interp(np.asarray(positions, np.float64) % 1.0, s, u)).astype(np.float32)
    # Equal arcs give equal steps only as frames -> infinity (a chord is shorter than its arc where
    # the curve bends): a few rounds of stretching each arc by mean chord / its chord make the
    # chords themselves equal (20 frames of a box curve: spread of the steps 7% -> below 0.01%).
    arcs = np.full(frames, 1.0 / frames)
    for _ in range(CHORD_ROUNDS):
        at = np.concatenate([[0.0], np.cumsum(arcs)[:-1]])
        points = curve(np.interp(at, s, u))
        chords = np.linalg.norm(np.roll(points, -1, axis=0) - points, axis=1)
        if frames < 2 or chords.min() <= 0 or np.ptp(chords) <= CHORD_TOLERANCE * chords.mean():
            break
        arcs = arcs * chords.mean() / chords
        arcs /= arcs.sum()
    at = np.concatenate([[0.0], np.cumsum(arcs)[:-1]])
    return curve(np.interp(at, s, u)).astype(np.float32)


def loop_curve(z_dim: int, seed: int, prior: str, through: np.ndarray | None = None) -> Curve:
    """The loop a model gets: through given latents, else a great circle (gaussian prior) or a
    box curve (uniform prior)."""
    if through is not None:
        return spline_loop(through)
    return great_circle(z_dim, seed) if prior == "normal" else box_curve(z_dim, seed)


def timed_positions(speed: np.ndarray) -> np.ndarray:
    """Positions along a loop [N] in [0, 1) for a per-frame ``speed`` [N] (>= 0): frame i sits at
    the speed summed over the frames before it, the whole normalised to one lap, so the loop
    closes and faster frames step further. No speed at all gives constant speed.

    >>> timed_positions(np.array([1.0, 1.0, 2.0])).tolist()
    [0.0, 0.25, 0.5]
    """
    speed = np.maximum(np.asarray(speed, np.float64), 0.0)
    total = speed.sum()
    if total <= 0:
        return np.arange(len(speed)) / max(1, len(speed))
    return np.concatenate([[0.0], np.cumsum(speed)[:-1]]) / total
