"""Render the README's drawing and mesh pictures: plotter SVGs with their previews (rasterised
by cairosvg, a real SVG renderer) and shaded views of meshes (PLY files, z up, read back by trimesh).

    python examples/make_plots_and_meshes.py     # writes examples/gallery/plot-previews.png,
                                                 # plot-contours.svg, mesh-views.png, turntable.webp

Needs the draw, mesh and draw-test extras. The mesh views are drawn by cppnart's own rasteriser
(``render.raster``, the one `cppnart mesh -o spin.mp4` films with) from the files as trimesh reads
them: trimesh's own offscreen render needs an OpenGL context this machine does not have.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

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


def mesh_view(path: Path, size: int = 360, azimuth: float = 35.0, elevation: float = 35.0) -> Image.Image:
    """A shaded view of the mesh file at ``path``, as trimesh reads it."""
    import trimesh

    from cppnart.render.raster import MeshView

    mesh = trimesh.load(path, force="mesh", process=False)
    view = MeshView.of(mesh.vertices, mesh.faces, np.asarray(mesh.visual.vertex_colors)[:, :3])
    return Image.fromarray(view.frame(size, size, azimuth, elevation))


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
    views.append(mesh_view(relief, azimuth=20.0, elevation=45.0))
    sheet = Image.new("RGB", (sum(v.width for v in views), views[0].height), "white")
    for i, view in enumerate(views):
        sheet.paste(view, (i * view.width, 0))
    sheet.save(HERE / "mesh-views.png", optimize=True)


def turntable() -> None:
    """The README's turntable: `cppnart mesh solid --seed 1 --res 160 -o turntable.webp`, smaller."""
    request = cppnart.resolve_turntable("solid", seed=1, res=160, seconds=3, fps=15, frame=(240, 240))
    cppnart.save_turntable(request, HERE / "turntable.webp", force=True)


if __name__ == "__main__":
    plot_previews()
    mesh_views()
    turntable()
    print("wrote", *sorted(p.name for p in HERE.glob("plot-*")), "mesh-views.png", "turntable.webp")
