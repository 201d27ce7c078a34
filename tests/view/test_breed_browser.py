"""The breeding grid in a real browser: Playwright driving headless Chromium (the distribution's
package), WebGL2 through SwiftShader. Clicks make generations, undo restores one, a child's poster
is `cppnart render` of its exported genome, and a reopened history shows the same generation.

Skips cleanly without playwright, the view extra or a chromium binary.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

from PIL import Image  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from cppnart.cli import app as cli  # noqa: E402
from cppnart.graph.evolve import random_genome  # noqa: E402
from cppnart.io.metadata import read_recipe  # noqa: E402
from cppnart.io.png import quantize  # noqa: E402
from cppnart.render.breed import render_genome  # noqa: E402
from cppnart.render.breeding import child_model, load_history, open_session  # noqa: E402
from cppnart.view.breed_api import BreedDesk  # noqa: E402
from cppnart.view.catalogue import Catalogue  # noqa: E402
from cppnart.view.server import ViewerServer, create_app, initial_state  # noqa: E402
from tests.view_fixtures import viewer_app  # noqa: E402

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "examples" / "gallery" / "breed-grid.png"
CELL = 96


def breeding_server(folder: Path, history: Path):
    """A viewer whose page opens on the breeding grid of a seeded random genome (or the history)."""
    session = open_session(None, history, seed=4)
    first = child_model(session, 0, -1)
    catalogue = Catalogue.around(first, first.label, presets=False)
    initial = initial_state(None, first.sample_z(0), None)
    app = create_app(catalogue, folder / "posters", initial, breeding=BreedDesk(session, history))
    return ViewerServer(app, port=0)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        args = ["--enable-unsafe-swiftshader", "--use-gl=angle", "--use-angle=swiftshader", "--ignore-gpu-blocklist"]
        b = p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield b
        b.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("breed")
    history = folder / "run.history.json"
    with breeding_server(folder, history) as server:
        yield server, folder, history


def open_page(browser, server, query: str = ""):
    pg = browser.new_page(viewport={"width": 1100, "height": 1000}, accept_downloads=True)
    pg.goto(f"{server.url}?cell={CELL}{query}")
    pg.evaluate("window.cppnart.breedReady")
    pg.wait_for_function("window.cppnart.breed.drawn() > 0")
    return pg


@pytest.fixture(scope="module")
def page(browser, served):
    pg = open_page(browser, served[0])  # SwiftShader: server frames, as the viewer does
    yield pg
    pg.close()


def cells(pg) -> np.ndarray:
    """Every child's pixels [N, H, W, 3] as the page shows them."""
    count = pg.evaluate("window.cppnart.breed.state().count")
    out = []
    for i in range(count):
        shot = pg.evaluate(f"window.cppnart.breed.pixels({i})")
        raw = np.frombuffer(base64.b64decode(shot["base64"]), np.uint8)
        out.append(raw.reshape(shot["height"], shot["width"], 4)[..., :3])
    return np.stack(out)


def click_child(pg, index: int, shift: bool = False) -> None:
    canvas = pg.locator(f'#breed-grid canvas[data-child="{index}"]')
    if shift:
        canvas.click(modifiers=["Shift"])
        return
    drawn = pg.evaluate("window.cppnart.breed.drawn()")
    canvas.click()
    pg.wait_for_function(f"window.cppnart.breed.drawn() > {drawn}")


def press(pg, button: str) -> None:
    drawn = pg.evaluate("window.cppnart.breed.drawn()")
    pg.click(f"#breed-{button}")
    pg.wait_for_function(f"window.cppnart.breed.drawn() > {drawn}")


def as_rgb(pixels: np.ndarray) -> np.ndarray:
    return np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels


def test_the_page_opens_on_a_grid_of_children_drawn_by_the_server(page):
    state = page.evaluate("window.cppnart.breed.state()")
    assert state["generation"] == 0 and state["count"] == 16 and not state["can_undo"]
    assert page.evaluate("window.cppnart.breed.mode()") == "server"
    grid = cells(page)
    assert grid.shape == (16, CELL, CELL, 3)
    assert all(c.std() > 2 for c in grid), "a flat child is a drawing bug"
    assert len({c.tobytes() for c in grid}) == 16, "every child differs from its siblings"
    # what the page shows is what the library draws
    session = open_session(None, None, seed=4)
    want = quantize(as_rgb(render_genome(session.children()[5], CELL, CELL)))
    assert np.array_equal(grid[5], want)


def test_a_click_breeds_children_closer_to_their_parent_than_strangers(page):
    parent = cells(page)[6].astype(np.float64)
    click_child(page, 6)
    state = page.evaluate("window.cppnart.breed.state()")
    assert state["generation"] == 1 and state["picked"] == [6] and state["can_undo"]
    children = cells(page).astype(np.float64)
    rng = np.random.default_rng(99)
    strangers = np.stack(
        [quantize(as_rgb(render_genome(random_genome(rng, "hsv"), CELL, CELL))) for _ in range(16)]
    ).astype(np.float64)
    to_children = np.abs(children - parent).mean(axis=(1, 2, 3))
    to_strangers = np.abs(strangers - parent).mean(axis=(1, 2, 3))
    print(
        f"\nmean pixel distance to the parent (0-255): children {to_children.mean():.1f} "
        f"(median {np.median(to_children):.1f}), random genomes {to_strangers.mean():.1f} "
        f"(median {np.median(to_strangers):.1f})"
    )
    assert (to_children > 0).sum() >= 12, f"children should differ from their parent: {to_children}"
    assert to_children.mean() < 0.8 * to_strangers.mean(), (to_children, to_strangers)
    assert np.median(to_children) < np.median(to_strangers)


def test_undo_restores_the_generation_exactly_and_redo_returns(page):
    before_state = page.evaluate("window.cppnart.breed.state()")
    before = cells(page)
    click_child(page, 2, shift=True)
    click_child(page, 9, shift=True)
    assert page.inner_text("#breed-picked") == "cross 2 picked"
    press(page, "picked")
    crossed = page.evaluate("window.cppnart.breed.state()")
    assert crossed["generation"] == before_state["generation"] + 1 and crossed["picked"] == [2, 9]
    after = cells(page)
    assert not np.array_equal(after, before)
    press(page, "undo")
    assert page.evaluate("window.cppnart.breed.state()")["generation"] == before_state["generation"]
    assert np.array_equal(cells(page), before), "undo must restore the previous generation exactly"
    press(page, "redo")
    assert np.array_equal(cells(page), after)
    lineage = page.locator("#breed-lineage canvas")
    assert lineage.count() == crossed["generations"]
    thumb = page.evaluate(
        "(() => { const c = document.querySelectorAll('#breed-lineage canvas')[0];"
        " return Array.from(c.getContext('2d').getImageData(0, 0, 48, 48).data); })()"
    )
    assert np.asarray(thumb).reshape(48, 48, 4)[..., :3].std() > 2, "the first ancestor's thumbnail is drawn"
    drawn = page.evaluate("window.cppnart.breed.drawn()")
    lineage.nth(before_state["generation"]).click()  # the lineage strip goes back too, keeping what is ahead
    page.wait_for_function(f"window.cppnart.breed.drawn() > {drawn}")
    assert np.array_equal(cells(page), before)
    assert page.evaluate("window.cppnart.breed.state().can_redo")
    press(page, "redo")


def test_a_child_s_poster_is_cppnart_render_of_its_exported_genome(page, served, tmp_path):
    _, folder, _ = served
    page.fill("#breed-poster-size", "120x80")
    generation = page.evaluate("window.cppnart.breed.state().generation")
    tools = page.locator(".breed-cell").nth(3).locator("figcaption a")
    with page.expect_download() as download:
        tools.filter(has_text="genome").click()
    genome_path = tmp_path / download.value.suggested_filename
    assert genome_path.name == f"bred-g{generation}-3.genome.json"
    download.value.save_as(genome_path)
    tools.filter(has_text="poster").click()
    page.wait_for_selector("#breed-poster:not([hidden])", timeout=60_000)
    poster = folder / "posters" / page.get_attribute("#breed-poster", "download")
    assert poster.is_file()
    out = tmp_path / "rendered.png"
    result = CliRunner().invoke(cli, ["render", str(genome_path), "--res", "120x80", "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.asarray(Image.open(poster)), np.asarray(Image.open(out)))
    recipe = read_recipe(poster)
    assert recipe["genome"]["format"] == "cppnart-genome"
    steps = recipe["lineage"]["steps"]
    assert [s["generation"] for s in steps] == list(range(generation + 1)) and recipe["lineage"]["child"] == 3
    # the other downloads: ONNX that renders the same picture, and a shader
    with page.expect_download() as download:
        tools.filter(has_text="onnx").click()
    onnx_path = tmp_path / download.value.suggested_filename
    download.value.save_as(onnx_path)
    again = tmp_path / "from-onnx.png"
    result = CliRunner().invoke(cli, ["render", str(onnx_path), "--res", "120x80", "-o", str(again), "--quiet"])
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(out)))
    with page.expect_download() as download:
        tools.filter(has_text="glsl").click()
    assert "void mainImage" in Path(download.value.path()).read_text()


def test_a_child_opens_in_the_slider_view(page):
    state = page.evaluate("window.cppnart.breed.state()")
    page.locator(".breed-cell").nth(1).locator("figcaption a", has_text="open").click()
    name = f"bred-g{state['generation']}-1"
    page.wait_for_function(f"window.cppnart.state.name === '{name}'")
    assert page.is_hidden("#breed") and page.is_visible("#panel")
    press(page, "open")  # back to the same breeding grid, drawn again
    assert page.is_visible("#breed")
    assert page.evaluate("window.cppnart.breed.state().generation") == state["generation"]


def test_a_reopened_history_shows_the_same_generation(browser, page, served, tmp_path):
    _, _, history = served
    shown = cells(page)
    state = page.evaluate("window.cppnart.breed.state()")
    assert history.is_file() and load_history(history).cursor == state["generation"]
    with breeding_server(tmp_path, history) as second:
        pg = open_page(browser, second)
        try:
            again = pg.evaluate("window.cppnart.breed.state()")
            assert (again["generation"], again["generations"]) == (state["generation"], state["generations"])
            assert np.array_equal(cells(pg), shown)
        finally:
            pg.close()


def test_children_drawn_by_their_shaders_match_server_frames(browser, served):
    pg = open_page(browser, served[0], "&gl=1")  # the shader even on software WebGL
    try:
        assert pg.evaluate("window.cppnart.breed.mode()") == "gl"
        shader = cells(pg).astype(np.float64)
        state = pg.evaluate("window.cppnart.breed.state()")
        session = load_history(served[2])
        want = np.stack(
            [quantize(as_rgb(render_genome(g, CELL, CELL))) for g in session.children(state["generation"])]
        ).astype(np.float64)
        diff = np.abs(shader - want)
        # as tests/test_genome_browser.py: the same sums in another order, a level or so apart
        assert diff.mean() < 1.0 and np.percentile(diff, 99.9) <= 4, (diff.mean(), diff.max())
    finally:
        pg.close()


def test_the_viewer_s_breed_button_breeds_the_picture_shown(browser, tmp_path):
    app, models = viewer_app(tmp_path)
    with ViewerServer(app, port=0) as server:
        pg = browser.new_page(viewport={"width": 1100, "height": 1000})
        try:
            pg.goto(f"{server.url}?cell=64&size=64x64")
            pg.evaluate("window.cppnart.breedReady")
            assert pg.is_hidden("#breed")
            pg.evaluate("window.cppnart.load('tanh-sigmoid', null, [0.3, -0.2, 0.5])")
            pg.click("#breed-open")
            pg.wait_for_function("window.cppnart.breed.drawn() > 0")
            assert pg.evaluate("window.cppnart.breed.state().count") == 16
            ancestor = app.state.breeding.session.steps[0].parents[0]
            want = quantize(models["tanh-sigmoid"].render(np.asarray([[0.3, -0.2, 0.5]], np.float32), 64, 64))
            assert np.abs(quantize(render_genome(ancestor, 64, 64)).astype(int) - want).max() <= 1
        finally:
            pg.close()


def test_screenshot_of_the_breeding_grid(browser, tmp_path):
    """A preset's genome bred two generations (breeding starts from any preset), two children picked."""
    session = open_session("classic", None, seed=7)
    session.pick([5])
    session.pick([11], what="colour", strength=0.6)
    first = child_model(session, 0, -1)
    catalogue = Catalogue.around(first, first.label, presets=False)
    app = create_app(catalogue, tmp_path, initial_state(None, first.sample_z(0), None), breeding=BreedDesk(session))
    with ViewerServer(app, port=0) as server:
        pg = browser.new_page(viewport={"width": 760, "height": 960})
        try:
            pg.goto(f"{server.url}?cell=128")
            pg.evaluate("window.cppnart.breedReady")
            pg.wait_for_function("window.cppnart.breed.drawn() > 0")
            click_child(pg, 2, shift=True)
            click_child(pg, 9, shift=True)
            # the gallery's copy is rewritten only when asked (as tests/test_view_browser.py does)
            path = SCREENSHOT if os.environ.get("CPPNART_UPDATE_GALLERY") == "1" else tmp_path / "breed-grid.png"
            pg.screenshot(path=str(path), full_page=True)
            shot = np.asarray(Image.open(path).convert("RGB"), np.float64)
            assert shot.std() > 20, "a blank screenshot"
        finally:
            pg.close()
