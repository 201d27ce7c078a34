"""The viewer's tile toggle in a real browser (Playwright, headless Chromium, SwiftShader WebGL2):
3x3 copies of the model's seamless tile whose seams match, the tile the library draws (the torus
shader of a random CPPN; reflection frames from the server for a model file), and "Render poster"
with the tile on is `cppnart render --tile` by name and bytes.

Skips cleanly without playwright, the view extra or a chromium binary.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

from PIL import Image  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from cppnart.cli import app as cli  # noqa: E402
from cppnart.configs.view import View  # noqa: E402
from cppnart.io.metadata import read_recipe  # noqa: E402
from cppnart.io.png import quantize  # noqa: E402
from cppnart.render.request import resolve_picture  # noqa: E402
from cppnart.view.server import ViewerServer  # noqa: E402
from tests.view_fixtures import viewer_app  # noqa: E402

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "examples" / "gallery" / "viewer-tile.png"
W, H = 240, 180  # the canvas: 3x3 copies of an 80x60 tile


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("viewer-tile")
    app, _ = viewer_app(folder, heartbeat=5.0)
    with ViewerServer(app, port=0) as server:
        yield server, app, folder


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        args = ["--enable-unsafe-swiftshader", "--use-gl=angle", "--use-angle=swiftshader", "--ignore-gpu-blocklist"]
        b = p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield b
        b.close()


@pytest.fixture
def page(browser, viewer):
    pg = browser.new_page(viewport={"width": 900, "height": 700})
    pg.goto(f"{viewer[0].url}?size={W}x{H}&gl=1&model=classic&seed=7")  # the shader even on software WebGL
    pg.evaluate("window.cppnart.ready")
    yield pg
    pg.close()


def toggle(pg, on: bool) -> None:
    """Click the tile checkbox as a user does, and wait until the page has drawn with it."""
    if pg.is_checked("#tile") != on:
        pg.click("#tile")
    pg.wait_for_function(f"window.cppnart.state.tile === {json.dumps(on)} && window.cppnart.state.info")
    pg.evaluate("window.cppnart.nextFrame()")
    pg.evaluate("window.cppnart.nextFrame()")


def shot(pg) -> np.ndarray:
    """A screenshot of the canvas area, as the user sees it [H, W, 3]."""
    canvas = "#cpu" if pg.evaluate("window.cppnart.state.tile") else "#gl"
    return np.asarray(Image.open(io.BytesIO(pg.locator(canvas).screenshot())).convert("RGB")).astype(np.float64)


def seams(mosaic: np.ndarray) -> dict[str, float]:
    """The step across the copies' edges (mean over the edge, the worst of the two inner edges per
    axis) against the steps between neighbouring columns and rows inside one copy."""
    h, w = mosaic.shape[0] // 3, mosaic.shape[1] // 3
    copy = mosaic[:h, :w]
    inside_x = np.abs(np.diff(copy, axis=1)).mean(axis=(0, 2))
    inside_y = np.abs(np.diff(copy, axis=0)).mean(axis=(1, 2))
    across_x = max(np.abs(mosaic[:, c] - mosaic[:, c - 1]).mean() for c in (w, 2 * w))
    across_y = max(np.abs(mosaic[r] - mosaic[r - 1]).mean() for r in (h, 2 * h))
    return {
        "across_x": float(across_x), "inside_x": float(inside_x.max()), "typical_x": float(np.median(inside_x)),
        "across_y": float(across_y), "inside_y": float(inside_y.max()), "typical_y": float(np.median(inside_y)),
    }  # fmt: skip


def assert_three_by_three_copies_that_tile(mosaic: np.ndarray) -> np.ndarray:
    """Nine equal copies, and seams within the range of neighbouring-pixel steps inside; returns one copy."""
    assert mosaic.shape[:2] == (H, W), mosaic.shape
    h, w = H // 3, W // 3
    copy = mosaic[:h, :w]
    assert copy.std() > 10, "a flat tile proves nothing"
    for row in range(3):
        for col in range(3):
            other = mosaic[row * h : (row + 1) * h, col * w : (col + 1) * w]
            assert np.abs(other - copy).max() <= 2, (row, col)
    s = seams(mosaic)
    assert s["across_x"] <= s["inside_x"] and s["across_y"] <= s["inside_y"], s
    return copy


def test_the_toggle_shows_3x3_copies_of_the_torus_tile_whose_seams_match(page):
    assert "torus" in page.text_content("#tile-note")
    plain = shot(page)
    assert plain.shape[:2] == (H, W)
    toggle(page, True)
    assert page.evaluate("window.cppnart.state.mode") == "gl"  # the torus shader, drawn once, copied 9 times
    assert page.evaluate("window.cppnart.state.info.tile") == "torus"
    assert "3x3 copies" in page.text_content("#tile-note") and "torus" in page.text_content("#tile-note")
    assert page.is_hidden("#gl") and page.is_visible("#cpu")
    mosaic = shot(page)
    assert_three_by_three_copies_that_tile(mosaic)
    # The same check fails for the untiled picture laid 3x3: its edges do not meet.
    untiled = np.tile(np.asarray(Image.fromarray(plain.astype(np.uint8)).resize((W // 3, H // 3))), (3, 3, 1))
    s = seams(untiled.astype(np.float64))
    assert s["across_x"] > s["inside_x"] or s["across_y"] > s["inside_y"], s
    assert page.evaluate("window.cppnart.command()").endswith("--tile -o classic-7.png")

    toggle(page, False)
    assert page.evaluate("window.cppnart.state.mode") == "gl" and page.is_visible("#gl")
    assert np.abs(shot(page) - plain).max() <= 2  # back to the picture it was
    assert "--tile" not in page.evaluate("window.cppnart.command()")


def test_the_shaders_tile_is_the_librarys_and_follows_the_zoom(page):
    """The copy the shader draws equals `resolve_picture(..., tile=True)`'s render of the same view;
    a zoom builds the torus for the new span (the seams still match)."""
    toggle(page, True)
    for zoom, cx, cy in [(1.0, 0.0, 0.0), (1.7, 0.3, -0.2)]:
        page.evaluate("([z, x, y]) => window.cppnart.setView(z, x, y)", [zoom, cx, cy])
        page.evaluate("window.cppnart.nextFrame()")
        assert page.evaluate("window.cppnart.state.tileKey") == f"80x60@{zoom:g}"
        pixels = page.evaluate("window.cppnart.pixels()")
        mosaic = np.frombuffer(base64.b64decode(pixels["base64"]), np.uint8).reshape(H, W, 4)[..., :3]
        copy = assert_three_by_three_copies_that_tile(mosaic.astype(np.float64))
        z = np.asarray(page.evaluate("Array.from(window.cppnart.state.z)"), np.float32)
        size, view = (W // 3, H // 3), View(zoom, (cx, cy))
        request = resolve_picture("classic", seed=7, z=z[None], res=size, zoom=zoom, center=view.center, tile=True)
        want = quantize(request.model.render(request.z[0], *size, view=view))
        diff = np.abs(copy - want.astype(np.float64)) / 255
        assert diff.mean() < 1 / 255 and np.percentile(diff, 99) < 8 / 255, (zoom, diff.mean(), diff.max())


def test_a_model_file_tiles_by_reflection_in_server_frames(page):
    page.evaluate("window.cppnart.load('tiny.onnx', null)")
    assert "reflection" in page.text_content("#tile-note")
    toggle(page, True)
    assert page.evaluate("window.cppnart.state.mode") == "server"
    assert page.evaluate("window.cppnart.state.info.tile") == "reflect"
    assert "reflection" in page.text_content("#mode")
    copy = assert_three_by_three_copies_that_tile(shot(page))
    assert np.abs(copy - copy[:, ::-1]).mean() < 3  # mirrored at the view's centre


def test_render_poster_with_the_tile_on_is_cppnart_render_tile(page, viewer, tmp_path, monkeypatch):
    page.evaluate("window.cppnart.setView(1.25, -0.1, 0.05)")
    toggle(page, True)
    page.fill("#poster-size", "120x72")
    page.click("#poster")
    page.wait_for_selector("#poster-file:not([hidden])", timeout=60000)
    name = page.text_content("#poster-file").removeprefix("download ")
    poster = viewer[2] / "posters" / name
    assert read_recipe(poster)["tile"] == "torus"
    monkeypatch.chdir(tmp_path)
    args = ["render", "classic", "--seed", "7", "--res", "120x72", "--zoom", "1.25", "--center", "-0.1,0.05"]
    result = CliRunner().invoke(cli, [*args, "--tile", "--json"])
    assert result.exit_code == 0, result.output
    path = tmp_path / json.loads(result.output)["path"]
    assert name == path.name and poster.read_bytes() == path.read_bytes()


def test_screenshot_of_the_tiled_page(browser, viewer, tmp_path):
    """The page with a preset's tile 3x3 filling the window; with CPPNART_UPDATE_GALLERY=1 the shot
    replaces examples/gallery/viewer-tile.png (otherwise a test run leaves the checkout as it was)."""
    pg = browser.new_page(viewport={"width": 860, "height": 540})
    pg.goto(f"{viewer[0].url}?model=classic&seed=7&tile=1")
    pg.evaluate("window.cppnart.ready")
    pg.evaluate("window.cppnart.nextFrame()")
    time.sleep(0.2)
    shot_path = SCREENSHOT if os.environ.get("CPPNART_UPDATE_GALLERY") == "1" else tmp_path / "viewer-tile.png"
    pg.screenshot(path=str(shot_path))
    image = np.asarray(Image.open(shot_path).convert("RGB"))
    assert pg.evaluate("window.cppnart.state.tile") and image[:, :500].std() > 20  # the tiles, not a blank page
    pg.close()
