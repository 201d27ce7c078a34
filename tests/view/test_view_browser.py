"""The viewer in a real browser: Playwright driving headless Chromium (the distribution's package),
WebGL2 through SwiftShader. One browser and one server for the module; pages are reused.

Skips cleanly without playwright, the view extra or a chromium binary.
"""

from __future__ import annotations

import base64
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
from cppnart.view.server import ViewerServer  # noqa: E402
from tests.view_fixtures import viewer_app  # noqa: E402

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "examples" / "gallery" / "viewer.png"
SIZE = 256


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("viewer")
    app, models = viewer_app(folder, heartbeat=2.0)
    with ViewerServer(app, port=0) as server:
        yield server, app, models, folder


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        # SwiftShader is Chromium's software WebGL: no GPU needed, and the same on every machine.
        args = ["--enable-unsafe-swiftshader", "--use-gl=angle", "--use-angle=swiftshader", "--ignore-gpu-blocklist"]
        b = p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser, viewer):
    server = viewer[0]
    pg = browser.new_page(viewport={"width": 900, "height": 700})
    pg.goto(f"{server.url}?size={SIZE}x{SIZE}&gl=1")  # the shader even on software WebGL
    pg.evaluate("window.cppnart.ready")
    yield pg
    pg.close()


def frame(pg) -> np.ndarray:
    """The canvas' pixels [H, W, 3] after the next drawn frame."""
    pg.evaluate("window.cppnart.nextFrame()")
    shot = pg.evaluate("window.cppnart.pixels()")
    raw = np.frombuffer(base64.b64decode(shot["base64"]), np.uint8)
    return raw.reshape(shot["height"], shot["width"], 4)[..., :3]


def test_canvas_is_drawn_by_the_shader_and_a_slider_moves_it(page):
    page.evaluate("window.cppnart.load('tiny.onnx', null)")
    assert page.evaluate("window.cppnart.state.mode") == "gl"
    before = frame(page)
    assert before.std() > 5 and len(np.unique(before.reshape(-1, 3), axis=0)) > 100
    slider = page.locator("#sliders input").first
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.95, box["y"] + box["height"] / 2)  # a user drags z0 right
    after = frame(page)
    assert np.abs(after.astype(int) - before.astype(int)).mean() > 1
    assert "--z z.npy" in page.evaluate("window.cppnart.command()")


def test_shader_matches_render_for_every_activation_and_output(page, viewer):
    """The browser's frame of each tiny model equals `cppnart render` of the same model, z and view
    (zoomed and off-centre, so the pixel-to-plane mapping is checked too)."""
    models, view = viewer[2], View(zoom=1.6, center=(0.3, -0.2))
    worst = {}
    for name, model in models.items():
        z = model.sample_z(9)[0]
        page.evaluate("([n, z]) => window.cppnart.load(n, 3, z, null)", [name, z.tolist()])
        page.evaluate("([zoom, cx, cy]) => window.cppnart.setView(zoom, cx, cy)", [view.zoom, *view.center])
        assert page.evaluate("window.cppnart.state.mode") == "gl", name
        got = frame(page).astype(np.float64) / 255
        want = quantize(model.render(z, SIZE, SIZE, view=view)).astype(np.float64) / 255
        if want.shape[-1] == 1:
            want = np.repeat(want, 3, axis=-1)
        diff = np.abs(got - want)
        worst[name] = (diff.mean(axis=(0, 1)).max(), diff.max())
        assert want.std() > 0.01, f"{name}: a flat reference proves nothing"
    page.evaluate("window.cppnart.setView(1, 0, 0)")
    bad = {k: v for k, v in worst.items() if v[0] > 1 / 255 or v[1] > 8 / 255}
    assert not bad, f"shader differs from render (mean, max): {bad}"


def test_render_poster_gives_a_png_whose_recipe_renders_the_same(page, viewer, tmp_path):
    page.evaluate("window.cppnart.load('cos-sigmoid', 5)")
    page.evaluate("window.cppnart.setView(1.25, -0.1, 0.05)")
    page.fill("#poster-size", "120x72")
    page.click("#poster")
    page.wait_for_selector("#poster-file:not([hidden])", timeout=30000)
    name = page.text_content("#poster-file").removeprefix("download ")
    poster = viewer[3] / "posters" / name
    assert page.evaluate("async (u) => (await fetch(u)).status", f"/files/{name}") == 200
    recipe = read_recipe(poster)
    assert recipe["res"] == [120, 72] and recipe["zoom"] == 1.25 and recipe["seed"] == 5
    again = tmp_path / "again.png"
    result = CliRunner().invoke(cli, ["render", "--from", str(poster), "-o", str(again)])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(poster)))


def test_bad_requests_are_refused_and_the_page_says_why(page):
    page.fill("#poster-size", "100000x100000")
    page.click("#poster")
    page.wait_for_function("document.querySelector('#message').textContent.includes('16384')")
    message = page.text_content("#message")
    assert "width must be at most 16384" in message and "\n" not in message
    ask = """async ([u, withToken]) => {
        const token = document.querySelector('meta[name="cppnart-token"]').content;
        const r = await fetch(u, { headers: withToken ? { "X-Cppnart-Token": token } : {} });
        return [r.status, await r.json()]; }"""
    for url, status in [("/api/model?model=nope", 404), ("/files/..%2Fsecret.png", 404), ("/api/frame?width=0", 400)]:
        answer = page.evaluate(ask, [url, True])
        assert answer[0] == status and answer[1]["error"]
    answer = page.evaluate(ask, ["/api/models", False])  # the page's own origin, but without the token
    assert answer[0] == 403 and "token" in answer[1]["error"]
    page.fill("#poster-size", "2880x1800")


def test_closing_the_page_cancels_its_poster(browser, viewer):
    server, app = viewer[0], viewer[1]
    pg = browser.new_page()
    pg.goto(f"{server.url}?size=64x64")
    pg.evaluate("window.cppnart.ready")
    # Large enough to outlast the 2 s heartbeat by far: a 4000x4000 one once finished first (done).
    pg.fill("#poster-size", "9000x9000")
    pg.click("#poster")
    pg.wait_for_selector("#poster-progress:not([hidden])")
    pg.close()
    assert app.state.desk.wait(timeout=60)
    assert app.state.desk.job.state == "cancelled"
    assert not list((viewer[3] / "posters").glob("*9000x9000*"))
    assert not list((viewer[3] / "posters").glob(".*"))


def test_software_webgl_uses_server_frames_unless_asked(browser, viewer):
    pg = browser.new_page()
    pg.goto(f"{viewer[0].url}?size=96x64")
    pg.evaluate("window.cppnart.ready")
    assert pg.evaluate("window.cppnart.state.mode") == "server"  # SwiftShader here
    assert "software WebGL" in pg.text_content("#mode")
    pg.close()


def test_server_frames_when_webgl_is_off(browser, viewer):
    pg = browser.new_page()
    pg.goto(f"{viewer[0].url}?gl=0&size=96x64")
    pg.evaluate("window.cppnart.ready")
    assert pg.evaluate("window.cppnart.state.mode") == "server"
    pixels = frame(pg)
    pg.wait_for_timeout(100)
    pixels = frame(pg)
    assert pixels.shape == (64, 96, 3) and pixels.std() > 5
    pg.close()


def test_screenshot_of_the_page(browser, viewer, tmp_path):
    """The page with a bundled preset filling the window; with CPPNART_UPDATE_GALLERY=1 the shot
    replaces examples/gallery/viewer.png, the one in the README (otherwise a test run leaves the
    checkout as it found it)."""
    pg = browser.new_page(viewport={"width": 860, "height": 540})
    pg.goto(f"{viewer[0].url}?model=classic&seed=7")
    pg.evaluate("window.cppnart.ready")
    pg.evaluate("document.querySelector('#sheet').click()")  # the page is busy drawing: no need to wait for it
    pg.wait_for_function(
        "[...document.querySelectorAll('#sheet-cells img')].filter((i) => i.complete).length === 12",
        polling=250,
        timeout=120000,
    )
    # Loaded, not broken: each thumbnail's <img src> carries the token (a refused one has no width).
    widths = pg.evaluate("[...document.querySelectorAll('#sheet-cells img')].map((i) => i.naturalWidth)")
    assert widths == [96] * 12, widths
    pg.evaluate("window.cppnart.nextFrame()")
    time.sleep(0.2)
    shot = SCREENSHOT if os.environ.get("CPPNART_UPDATE_GALLERY") == "1" else tmp_path / "viewer.png"
    pg.screenshot(path=str(shot))
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image[:, :500].std() > 20  # the picture, not a blank page
    pg.close()
