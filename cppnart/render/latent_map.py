"""The map of a trained auto-encoder's latent space: where its data lies, where the gaps are, and
what the gaps decode to ("Autoencoders and latent space fragmentation").

    found = latent_map("runs/fashion", data=None, count=2000, grid=12)
    write_latent_map(found, Path("runs/fashion-map"))   # map.png, grid.png, map.json

The encoder's latents of the data are projected to 2-D by PCA (numpy's SVD; the projection is
linear, so a point of the map is also a latent: the mean plus its two coordinates along the two
components, the other components at the mean). ``map.png`` draws every latent as a dot, coloured by
class where the data has labels, over a Gaussian kernel density estimate (Scott's bandwidth); a
grid of ``grid`` x ``grid`` points spans the map with a margin, and ``grid.png`` holds what the
generator draws at each of them, the empty cells (the gaps) included, each labelled with the
density there as a fraction of the densest cell. UMAP or t-SNE would separate clusters better
but are not invertible, so they cannot say what a point of the map decodes to; neither installs
here without its own dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParamError
from ..io.atomic import atomic_output

# ten well-separated colours (Tableau 10), one per class; more classes repeat them
PALETTE = np.array(
    [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
     (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)], np.uint8,
)  # fmt: skip
MAP_SIDE = 512  # pixels of map.png
MARGIN = 0.1  # the grid reaches this fraction of the data's range beyond it on every side


@dataclass(frozen=True)
class LatentMap:
    """The projected latents [N, 2], their labels, the PCA (mean [Z], components [2, Z], the
    variance each explains), the grid's map coordinates [G*G, 2], its latents [G*G, Z], the
    density at each grid point and what the generator drew there [G*G, C, S, S]."""

    points: np.ndarray
    labels: np.ndarray | None
    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray
    grid_points: np.ndarray
    grid_latents: np.ndarray
    grid_density: np.ndarray
    decoded: np.ndarray
    recipe: dict[str, Any]


def pca(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean [Z], the two leading components [2, Z], the fraction of variance each explains)."""
    mean = z.mean(0)
    _, s, vt = np.linalg.svd(z - mean, full_matrices=False)
    variance = s**2
    comps = vt[:2] if len(vt) >= 2 else np.vstack([vt, np.zeros_like(vt)])
    explained = (variance / max(variance.sum(), 1e-12))[:2]
    return mean, comps, np.pad(explained, (0, 2 - len(explained)))


def kde(points: np.ndarray, at: np.ndarray) -> np.ndarray:
    """A Gaussian kernel density estimate of ``points`` [N, 2] at ``at`` [M, 2] (Scott's rule per axis)."""
    n = len(points)
    bandwidth = np.maximum(points.std(0) * n ** (-1.0 / 6.0), 1e-9)
    out = np.zeros(len(at))
    for start in range(0, len(at), 4096):
        d = (at[start : start + 4096, None, :] - points[None]) / bandwidth  # [m, N, 2]
        out[start : start + 4096] = np.exp(-0.5 * (d**2).sum(-1)).sum(1)
    return out / (n * 2 * np.pi * bandwidth.prod())


def latent_map(model: str | Path, data: str | None = None, *, count: int = 2000, grid: int = 12) -> LatentMap:
    """The map of ``count`` images of ``data`` (default: the run's own) through the run's encoder,
    and the generator's pictures of a ``grid`` x ``grid`` grid over it."""
    from .encoder import data_latents
    from .model import load_model

    if not 2 <= grid <= 64:
        raise ParamError("grid", f"must be 2..64 points a side, got {grid}")
    z, labels, source, encoder = data_latents(model, data, count)
    if len(z) < 3:
        raise ParamError("count", f"must give at least 3 images to map, got {len(z)}")
    mean, comps, explained = pca(z)
    points = (z - mean) @ comps.T
    low, high = points.min(0), points.max(0)
    pad = (high - low) * MARGIN + 1e-6
    us = np.linspace(low[0] - pad[0], high[0] + pad[0], grid)
    vs = np.linspace(high[1] + pad[1], low[1] - pad[1], grid)  # row 0 at the top, as the map shows it
    grid_points = np.array([(u, v) for v in vs for u in us])
    grid_latents = mean + grid_points @ comps
    density = kde(points, grid_points)
    generator = load_model(encoder.folder / "model.onnx", device="cpu")
    side = encoder.crop
    drawn = generator.render(grid_latents.astype(np.float32), side, side)
    decoded = np.asarray(drawn).reshape(len(grid_latents), side, side, -1).transpose(0, 3, 1, 2)
    recipe = {
        "kind": "latent-map",
        "model": str(encoder.folder),
        "data": source,
        "count": int(len(z)),
        "grid": grid,
        "projection": "pca",
        "explained_variance": [float(v) for v in explained],
    }
    return LatentMap(points, labels, mean, comps, explained, grid_points, grid_latents, density, decoded, recipe)


def map_picture(found: LatentMap, side: int = MAP_SIDE) -> np.ndarray:
    """[side, side, 3] uint8: the density as a dark-to-light background, every latent a dot in
    its class's colour (white without labels), the grid's points as small grey crosses; with
    labels, a legend strip under it."""
    u = found.grid_points[:, 0]
    v = found.grid_points[:, 1]
    lo, hi = np.array([u.min(), v.min()]), np.array([u.max(), v.max()])
    axis_u = np.linspace(lo[0], hi[0], side // 4)
    axis_v = np.linspace(hi[1], lo[1], side // 4)
    field = kde(found.points, np.array([(a, b) for b in axis_v for a in axis_u])).reshape(side // 4, side // 4)
    field = np.sqrt(field / max(field.max(), 1e-12))  # square root: the thin regions stay visible
    field = np.kron(field, np.ones((4, 4)))
    picture = (np.stack([0.10 + 0.35 * field, 0.10 + 0.35 * field, 0.16 + 0.45 * field], -1) * 255).astype(np.uint8)

    def pixel(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.clip(((p[:, 0] - lo[0]) / (hi[0] - lo[0]) * (side - 1)).round().astype(int), 0, side - 1)
        y = np.clip(((hi[1] - p[:, 1]) / (hi[1] - lo[1]) * (side - 1)).round().astype(int), 0, side - 1)
        return x, y

    x, y = pixel(found.points)
    colours = np.full((len(x), 3), 255, np.uint8) if found.labels is None else PALETTE[found.labels % len(PALETTE)]
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            picture[np.clip(y + dy, 0, side - 1), np.clip(x + dx, 0, side - 1)] = colours
    gx, gy = pixel(found.grid_points)
    for d in range(-3, 4):
        picture[np.clip(gy + d, 0, side - 1), gx] = 200
        picture[gy, np.clip(gx + d, 0, side - 1)] = 200
    return picture if found.labels is None else with_legend(picture, np.unique(found.labels))


LEGEND_HEIGHT = 24  # pixels of the strip under a labelled map


def with_legend(picture: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The map with a strip under it naming each class beside a square of its colour (classes
    past the palette's ten share colours, so the strip says which)."""
    from PIL import Image, ImageDraw

    from .sheets import label_font

    side = picture.shape[1]
    strip = Image.new("RGB", (side, LEGEND_HEIGHT), (20, 20, 28))
    draw = ImageDraw.Draw(strip)
    font = label_font(12)
    x = 6
    for c in classes:
        colour = tuple(int(v) for v in PALETTE[int(c) % len(PALETTE)])
        text = str(int(c))
        width = 14 + int(draw.textlength(text, font=font)) + 10
        if x + width > side:  # more classes than fit: the rest are in map.json's class_centres
            draw.text((x, 5), "...", fill=(200, 200, 200), font=font)
            break
        draw.rectangle((x, 7, x + 9, 16), fill=colour)
        draw.text((x + 13, 5), text, fill=(220, 220, 220), font=font)
        x += width
    return np.concatenate([picture, np.asarray(strip)], axis=0)


def write_latent_map(found: LatentMap, out: Path) -> dict[str, Any]:
    """map.png, grid.png (the decoded grid, each cell labelled with its relative density) and
    map.json (the recipe, the PCA and the grid) into ``out``, each atomically; returns map.json's content."""
    import json

    from ..io.png import encode_small_png
    from .sheets import save_sheet

    out.mkdir(parents=True, exist_ok=True)
    with atomic_output(out / "map.png") as tmp:
        tmp.write_bytes(encode_small_png(map_picture(found), compress_level=6))
    relative = found.grid_density / max(float(found.grid_density.max()), 1e-300)
    grid = found.recipe["grid"]
    labels = [f"{r:.2f}" for r in relative]
    upscale = max(1, 48 // found.decoded.shape[-1])
    save_sheet(
        out / "grid.png", found.decoded, cols=grid, labels=labels, upscale=upscale, channels_last=False, background=0.1
    )
    classes = None
    if found.labels is not None:
        classes = {
            str(int(c)): [float(v) for v in found.points[found.labels == c].mean(0)] for c in np.unique(found.labels)
        }
    report = {
        **found.recipe,
        "mean": found.mean.tolist(),
        "components": found.components.tolist(),
        "class_centres": classes,
        "grid_points": found.grid_points.tolist(),
        "grid_density": relative.tolist(),
        "gaps": int((relative < 0.05).sum()),  # grid cells with under 5% of the densest cell's density
        "files": ["map.png", "grid.png", "map.json"],
    }
    with atomic_output(out / "map.json") as tmp:
        tmp.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


def map_run(
    model: str | Path, out: Path, *, data: str | None = None, count: int = 2000, grid: int = 12
) -> dict[str, Any]:
    """`cppnart z map`: check ``out`` (a folder that holds no map yet), map, write; map.json's content."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ParamError("out", f"'{out}' is a file; give a folder for the map")
    if (out / "map.json").exists():
        raise ParamError("out", f"'{out}' already holds a latent map; choose another folder")
    return write_latent_map(latent_map(model, data, count=count, grid=grid), out)
