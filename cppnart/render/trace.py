"""Lines from a raster, for pen plotters: iso-contours traced band by band and stitched, hatching
whose density follows brightness, and streamlines along the gradient. Pure numpy plus
scikit-image's ``find_contours`` (marching squares); coordinates are (row, col) pixel centres.

Contours are traced on each band of rows together with the last row of the band before, so a
line that crosses from one band into the next ends in the first at exactly the point (same row,
same edge values, same interpolation) where it begins in the second; joining those ends gives the
whole picture's contours, and ``canonical`` puts every line in one form (closed loops start at
their least point), so a chunked trace and a whole one draw the same SVG.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

Line = np.ndarray  # [n, 2] float64 (row, col)


def rebanded(bands: Iterable[np.ndarray], rows: int | None) -> Iterator[np.ndarray]:
    """The same rows cut into bands of ``rows`` (None: as they come)."""
    if rows is None:
        yield from bands
        return
    held: list[np.ndarray] = []
    count = 0
    for band in bands:
        held.append(band)
        count += len(band)
        while count >= rows:
            block = np.concatenate(held)
            yield block[:rows]
            held, count = [block[rows:]], count - rows
    if count:
        yield np.concatenate(held)


def _is_closed(line: Line) -> bool:
    return len(line) > 2 and bool(np.array_equal(line[0], line[-1]))


def _join(pieces: list[Line]) -> list[Line]:
    """Join pieces whose tail is another's head (contours cut at band boundaries): open chains
    from their first piece, then the rings that close on themselves."""
    done = [p for p in pieces if _is_closed(p)]
    rest = [p for p in pieces if not _is_closed(p)]
    heads = {tuple(p[0]): i for i, p in enumerate(rest)}
    tails = {tuple(p[-1]) for p in rest}
    used = [False] * len(rest)

    def chain(i: int) -> Line:
        parts = [rest[i]]
        used[i] = True
        while (j := heads.get(tuple(parts[-1][-1]))) is not None and not used[j]:
            used[j] = True
            parts.append(rest[j][1:])
        return np.concatenate(parts)

    starts = [i for i, p in enumerate(rest) if tuple(p[0]) not in tails]
    done += [chain(i) for i in starts]
    done += [chain(i) for i in range(len(rest)) if not used[i]]
    return done


def canonical(line: Line) -> Line:
    """A closed loop rotated to start at its least (row, col) point; open lines as they are."""
    if len(line) > 2 and np.array_equal(line[0], line[-1]):
        ring = line[:-1]
        start = int(np.lexsort((ring[:, 1], ring[:, 0]))[0])
        ring = np.roll(ring, -start, axis=0)
        return np.concatenate([ring, ring[:1]])
    return line


def sort_lines(lines: list[Line]) -> list[Line]:
    """Lines in one order whatever order they were found in: by first point, then length."""
    return sorted(lines, key=lambda p: (float(p[0, 0]), float(p[0, 1]), len(p), float(p[-1, 0]), float(p[-1, 1])))


def trace_contours(bands: Iterable[np.ndarray], levels: list[float]) -> dict[float, list[Line]]:
    """Iso-lines of a scalar raster given as bands of rows [rows, W], at each level; each line in
    ``canonical`` form, the whole set in ``sort_lines`` order."""
    from skimage.measure import find_contours

    pieces: dict[float, list[Line]] = {level: [] for level in levels}
    previous: np.ndarray | None = None
    start = 0
    for band in bands:
        block = band if previous is None else np.concatenate([previous, band])
        offset = start - (0 if previous is None else 1)
        if len(block) >= 2:
            for level in levels:
                for line in find_contours(block, level):
                    line[:, 0] += offset
                    pieces[level].append(line)
        previous = band[-1:].copy()
        start += len(band)
    return {level: sort_lines([canonical(p) for p in _join(found)]) for level, found in pieces.items()}


def hatch_lines(bright: np.ndarray, threshold: float, angle_deg: float, spacing_px: float) -> list[Line]:
    """Segments of parallel lines ``spacing_px`` apart at ``angle_deg`` over the pixels darker than
    ``threshold`` (sampled every half pixel, nearest pixel)."""
    h, w = bright.shape
    theta = np.deg2rad(angle_deg)
    u, n = np.array([np.sin(theta), np.cos(theta)]), np.array([np.cos(theta), -np.sin(theta)])  # (row, col)
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    half = 0.5 * float(np.hypot(h, w))
    offsets = np.arange(-half, half + spacing_px, spacing_px)
    steps = np.arange(-half, half + 0.5, 0.5)
    out: list[Line] = []
    for off in offsets:
        pts = centre + off * n + steps[:, None] * u
        r, c = np.rint(pts[:, 0]).astype(int), np.rint(pts[:, 1]).astype(int)
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        dark = np.zeros(len(pts), bool)
        dark[inside] = bright[r[inside], c[inside]] < threshold
        edges = np.flatnonzero(np.diff(np.concatenate([[0], dark.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2]):
            if b - a >= 2:
                out.append(pts[[a, b - 1]])
    return out


def flow_lines(bright: np.ndarray, spacing_px: float, max_steps: int) -> list[Line]:
    """Streamlines along the gradient of ``bright``, seeded every ``spacing_px`` and kept at least
    half a spacing from each other (an occupancy grid; flat areas stay blank)."""
    gy, gx = (np.asarray(g) for g in np.gradient(bright.astype(np.float64)))
    h, w = bright.shape
    rows, cols = np.meshgrid(
        np.arange(spacing_px / 2, h, spacing_px), np.arange(spacing_px / 2, w, spacing_px), indexing="ij"
    )
    seeds = np.stack([rows.ravel(), cols.ravel()], 1)
    tracks = _tracks(seeds, gy, gx, max_steps)
    cell = max(spacing_px / 2, 1.0)
    occupied = np.zeros((int(h / cell) + 1, int(w / cell) + 1), bool)
    out: list[Line] = []
    for forward, backward in tracks:
        line = np.concatenate([backward[::-1], forward[1:]])
        if len(line) < 3:
            continue
        cells = (line / cell).astype(int)
        free = ~occupied[cells[:, 0], cells[:, 1]]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], free.astype(np.int8), [0]])))
        runs = list(zip(edges[::2], edges[1::2]))
        if not runs:
            continue
        a, b = max(runs, key=lambda ab: ab[1] - ab[0])
        if (b - a) * 0.5 < 2 * spacing_px:
            continue
        kept = line[a:b]
        occupied[cells[a:b, 0], cells[a:b, 1]] = True
        out.append(kept)
    return out


FLOW_BATCH = (
    2048  # seeds integrated at once: their tracks, not all 48,000 of an A4, are held (bench/draw.py peak 754 -> 307 MB)
)


def _tracks(seeds: np.ndarray, gy: np.ndarray, gx: np.ndarray, max_steps: int) -> Iterator[tuple[Line, Line]]:
    """Each seed's (forward, backward) track, in seed order, integrated FLOW_BATCH seeds at a time."""
    for i in range(0, len(seeds), FLOW_BATCH):
        part = seeds[i : i + FLOW_BATCH]
        yield from zip(_integrate(part, gy, gx, 1.0, max_steps), _integrate(part, gy, gx, -1.0, max_steps))


def _integrate(seeds: np.ndarray, gy: np.ndarray, gx: np.ndarray, sign: float, max_steps: int) -> list[Line]:
    """Every seed's track along +-gradient (half-pixel Euler steps), stopped at flat ground or the edge."""
    h, w = gy.shape
    pos = seeds.astype(np.float64).copy()
    alive = np.ones(len(pos), bool)
    history = [pos.astype(np.float32)]
    lengths = np.ones(len(pos), int)
    floor = 1e-4 * max(float(np.abs(gy).max()), float(np.abs(gx).max()), 1e-12)
    for _ in range(max_steps):
        r, c = np.clip(np.rint(pos[:, 0]).astype(int), 0, h - 1), np.clip(np.rint(pos[:, 1]).astype(int), 0, w - 1)
        g = np.stack([gy[r, c], gx[r, c]], 1)
        norm = np.hypot(g[:, 0], g[:, 1])
        alive &= norm > floor
        step = np.where(alive[:, None], sign * 0.5 * g / np.maximum(norm, 1e-30)[:, None], 0.0)
        pos = pos + step
        alive &= (pos[:, 0] >= 0) & (pos[:, 0] <= h - 1) & (pos[:, 1] >= 0) & (pos[:, 1] <= w - 1)
        lengths += alive
        history.append(pos.astype(np.float32))
        if not alive.any():
            break
    stack = np.stack(history, 1)  # [seeds, steps, 2]
    return [stack[i, : lengths[i]].astype(np.float64) for i in range(len(seeds))]
