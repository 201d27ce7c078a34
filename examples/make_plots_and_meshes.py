"""Render the README's drawing and mesh pictures: plotter SVGs with their previews (rasterised
by cairosvg, a real SVG renderer) and shaded views of meshes (PLY files, z up, read back by trimesh).

    python examples/make_plots_and_meshes.py     # writes examples/gallery/plot-previews.png,
                                                 # plot-contours.svg and mesh-views.png

Needs the draw, mesh and draw-test extras. The mesh views are a numpy + Pillow projection
(painter's algorithm, Lambert shading of the vertex colours): trimesh's own offscreen render needs
an OpenGL context this machine does not have.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import cppnart

HERE = Path(__file__).parent / "gallery"


def plot_previews() -> None:
    """Three A5 drawings of classic seed 7 and their previews side by side."""
    import cairosvg

    tiles = []
    for style, extra in (
        ("contours", {"levels": 10}),
        ("hatch", {"levels": 4, "spacing_mm": 1.2}),
        ("flow", {"spacing_mm": 1.5}),
    ):
        request = cppnart.resolve_drawing("classic", seed=7, style=style, paper="A5", margin_mm=10, **extra)
        # the contours' SVG is kept as a sample to open in Inkscape or vpype; the others are megabytes
        svg = HERE / "plot-contours.svg" if style == "contours" else Path(tempfile.mkdtemp()) / f"{style}.svg"
        cppnart.save_drawing(request, svg, force=True)
        png = Path(tempfile.mkdtemp()) / "p.png"
        cairosvg.svg2png(url=str(svg), write_to=str(png), output_width=340, background_color="white")
        tiles.append(Image.open(png).convert("RGB"))
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + 8 * (len(tiles) - 1), tiles[0].height), "#ddd")
    x = 0
    for tile in tiles:
        sheet.paste(tile, (x, 0))
        x += tile.width + 8
    sheet.save(HERE / "plot-previews.png", optimize=True)


def rotation(azimuth: float, elevation: float) -> np.ndarray:
    """The view's rotation: ``azimuth`` about z, then ``elevation`` about x (degrees)."""
    a, e = np.deg2rad(azimuth), np.deg2rad(elevation)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(e), -np.sin(e)], [0, np.sin(e), np.cos(e)]])
    return rx @ rz


def mesh_view(path: Path, size: int = 360, azimuth: float = 35.0, elevation: float = -60.0) -> Image.Image:
    """A shaded orthographic view of the mesh file at ``path``, as trimesh reads it."""
    import trimesh

    mesh = trimesh.load(path, force="mesh", process=False)
    verts = np.asarray(mesh.vertices, np.float64)
    verts = (verts - verts.mean(axis=0)) @ rotation(azimuth, elevation).T
    colours = np.asarray(mesh.visual.vertex_colors, np.float64)[:, :3] / 255.0
    tri = verts[mesh.faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    light = np.array([-0.4, 0.5, 0.77])
    light /= np.linalg.norm(light)
    shade = 0.3 + 0.7 * np.clip(normals @ light, 0, 1)
    rgb = np.clip(colours[mesh.faces].mean(axis=1) * shade[:, None] * 255, 0, 255).astype(np.uint8)
    scale = 2 * size * 0.9 / max(np.ptp(verts[:, 0]), np.ptp(verts[:, 1]))
    xy = verts[:, :2] * scale * [1, -1] + size  # image y runs down
    image = Image.new("RGB", (2 * size, 2 * size), "white")
    draw = ImageDraw.Draw(image)
    facing = normals[:, 2] > 0  # back faces hidden (the mesh is closed)
    for i in np.flatnonzero(facing)[np.argsort(tri[facing, :, 2].mean(axis=1))]:  # far to near
        draw.polygon([tuple(p) for p in xy[mesh.faces[i]]], fill=tuple(int(c) for c in rgb[i]))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def mesh_views() -> None:
    """Two solids and a relief, meshed and shown side by side."""
    folder = Path(tempfile.mkdtemp())
    views = []
    for seed in (3, 1):
        out = folder / f"solid-{seed}.ply"
        cppnart.save_mesh(cppnart.resolve_mesh("solid", seed=seed, res=160), out)
        views.append(mesh_view(out))
    relief = folder / "relief.ply"
    cppnart.save_mesh(cppnart.resolve_mesh("classic", seed=7, relief=True, res=200, depth_mm=10.0), relief)
    views.append(mesh_view(relief, azimuth=20.0, elevation=-50.0))
    sheet = Image.new("RGB", (sum(v.width for v in views), views[0].height), "white")
    for i, view in enumerate(views):
        sheet.paste(view, (i * view.width, 0))
    sheet.save(HERE / "mesh-views.png", optimize=True)


if __name__ == "__main__":
    plot_previews()
    mesh_views()
    print("wrote", *sorted(p.name for p in HERE.glob("plot-*")), "mesh-views.png")
