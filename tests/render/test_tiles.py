"""DZI tile pyramids: the levels and tile sizes OpenSeadragon expects, every level a real render,
the deepest level the direct render; and --cluster's checks that need no Ray."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cppnart.cli import app
from cppnart.io.dzi import level_size, max_level, read_descriptor, tile_spans
from cppnart.render.canvas import Canvas
from cppnart.render.model import load_model
from cppnart.render.renderer import TileJob, render_tile

from ..conftest import files_in, one_error_line

W, H = 600, 280


def tiles_of(folder: Path, name: str) -> dict[int, dict[tuple[int, int], np.ndarray]]:
    levels: dict[int, dict[tuple[int, int], np.ndarray]] = {}
    for path in (folder / f"{name}_files").glob("*/*.png"):
        col, row = map(int, path.stem.split("_"))
        levels.setdefault(int(path.parent.name), {})[(col, row)] = np.asarray(Image.open(path))
    return levels


def assemble(tiles: dict[tuple[int, int], np.ndarray], width: int, height: int) -> np.ndarray:
    """Paste tiles back without their overlap (a second reader of the layout)."""
    image = np.zeros((height, width, 3), np.uint8)
    for (col, row), tile in tiles.items():
        x, y = col * 254, row * 254
        left, top = (1 if col else 0), (1 if row else 0)
        part = tile[top : top + min(254, height - y), left : left + min(254, width - x)]
        image[y : y + part.shape[0], x : x + part.shape[1]] = part
    return image


def test_pyramid_levels_tiles_and_the_deepest_level_equal_the_direct_render(runner, tiny_preset, tmp_path):
    base = [str(tiny_preset), "--seed", "5", "--res", f"{W}x{H}", "--zoom", "1.3", "--supersample", "2"]
    result = runner.invoke(app, ["render", *base, "--tiles", str(tmp_path / "pyr"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["path"] == str(tmp_path / "pyr" / "pyr.dzi")
    assert runner.invoke(app, ["render", *base, "-o", str(tmp_path / "direct.png"), "-q"]).exit_code == 0
    folder = tmp_path / "pyr"
    assert read_descriptor(folder / "pyr.dzi") == {
        "width": W, "height": H, "tile_size": 254, "overlap": 1, "format": "png"
    }  # fmt: skip
    levels = tiles_of(folder, "pyr")
    assert sorted(levels) == list(range(math.ceil(math.log2(W)) + 1))  # 0 (1x1) .. 10 (600x280)
    for level, tiles in levels.items():
        w, h = level_size(W, H, level)
        assert sorted(tiles) == [(c, r) for c in range(math.ceil(w / 254)) for r in range(math.ceil(h / 254))]
        for (col, row), tile in tiles.items():
            (x0, x1), (y0, y1) = tile_spans(w)[col], tile_spans(h)[row]
            assert tile.shape[:2] == (y1 - y0, x1 - x0)  # 254 plus 1 of overlap on each inner side
            assert tile.shape[0] <= 256 and tile.shape[1] <= 256
    direct = np.asarray(Image.open(tmp_path / "direct.png"))
    assert np.array_equal(assemble(levels[max_level(W, H)], W, H), direct)
    recipe = json.loads((folder / "recipe.json").read_text())
    assert recipe["res"] == [W, H] and recipe["tiles"] == {
        "format": "dzi",
        "tile_size": 254,
        "overlap": 1,
        "levels": 11,
    }


def test_each_level_is_a_real_render_at_its_size(tiny_preset):
    from cppnart.configs.view import View

    net = load_model(str(tiny_preset), seed=5)
    z = net.sample_z(5)
    view = View(zoom=1.3)
    w, h = level_size(W, H, 9)  # 300 x 140
    job = TileJob(9, 0, 0, w, h, (0, h), (0, 255))
    import io

    tile = np.asarray(Image.open(io.BytesIO(render_tile(net, z, job, Canvas(W, H, view, chunk=4096)))))
    direct = np.asarray(net.render_image(z, w, h, view=view))
    assert np.array_equal(tile, direct[:, :255])


def test_tiles_bad_input_is_one_line_and_no_folder(runner, tiny_preset, tmp_path):
    args = ["render", str(tiny_preset), "--seed", "5", "--res", "40x30"]
    one_error_line(runner.invoke(app, [*args, "--tiles", str(tmp_path / "t"), "-o", str(tmp_path / "x.png")]))
    one_error_line(runner.invoke(app, [*args, "--tiles", str(tmp_path / "t"), "--bits", "16"]))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    one_error_line(runner.invoke(app, [*args, "--tiles", str(tmp_path / "full")]))
    one_error_line(runner.invoke(app, [*args, "--cluster", "nowhere", "-o", str(tmp_path / "x.png")]))
    assert files_in(tmp_path) == ["full", "tiny.toml"]


def test_cluster_without_ray_says_how_to_install_it(tiny_preset, tmp_path):
    # A Python where `import ray` fails, as on an install without the extra.
    code = "import sys; sys.modules['ray'] = None; from cppnart.cli import main; sys.argv[0] = 'cppnart'; main()"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code, "render", str(tiny_preset), "--res", "8x8", "-o", "x.png", "--cluster", "auto"],
        capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(root), "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'error: --cluster needs Ray: from the cppnart folder, pip install -e ".[ray]" (or pip install "ray[client]"), '
        "on this machine and on every node"
    ]
    assert files_in(tmp_path) == ["tiny.toml"]


@pytest.mark.parametrize("size", [(1, 1), (254, 254), (255, 3), (1000, 1)])
def test_level_geometry(size):
    w, h = size
    assert level_size(w, h, max_level(w, h)) == (w, h)
    assert level_size(w, h, 0) == (1, 1)
    spans = tile_spans(w)
    assert spans[0][0] == 0 and spans[-1][1] == w and all(b - a <= 256 for a, b in spans)
