"""`cppnart view PYRAMID`: a Deep Zoom pyramid in the vendored OpenSeadragon, served by the viewer's
server. Plain HTTP for the refusals (path traversal, bad paths), a real chromium for the page: the
first view loads, zooming fetches the deepest level, and the pixels drawn are the render's."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from PIL import Image
from typer.testing import CliRunner

from cppnart.cli import app as cli
from cppnart.view.pyramid import STATIC, find_pyramid, pyramid_app
from cppnart.view.server import ViewerServer

from ..conftest import TINY_PRESET, one_error_line

try:
    from playwright import sync_api
except ImportError:  # the browser test skips; the server tests still run
    sync_api = None

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
W, H = 2000, 1400  # deepest level 11; a 640-pixel-wide page shows level 10 until zoomed in


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pyramid")
    (folder / "tiny.toml").write_text(TINY_PRESET)
    runner = CliRunner()
    base = ["render", str(folder / "tiny.toml"), "--seed", "5", "--res", f"{W}x{H}", "--zoom", "0.08"]
    for args in ([*base, "--tiles", str(folder / "poster")], [*base, "-o", str(folder / "direct.png")]):
        result = runner.invoke(cli, [*args, "-q"])
        assert result.exit_code == 0, result.output
    (folder / "secret.txt").write_text("outside the pyramid")
    return folder


@pytest.fixture(scope="module")
def server(rendered):
    with ViewerServer(pyramid_app(find_pyramid(rendered / "poster")), port=0) as running:
        yield running


def raw_get(server, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """A GET with the path sent exactly as written (no client-side normalisation of '..')."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("GET", path, skip_accept_encoding=True)
    for key, value in (headers or {}).items():
        connection.putheader(key, value)
    connection.endheaders()
    answer = connection.getresponse()
    status, body = answer.status, answer.read()
    connection.close()
    return status, body


def test_the_page_its_scripts_the_descriptor_and_the_recipe_are_served(server, rendered):
    status, page = raw_get(server, "/")
    assert status == 200 and b"/static/openseadragon/openseadragon.min.js" in page
    sources = re.findall(rb'(?:src|href)="([^"]+)"', page)
    assert len(sources) == 4 and all(s.startswith((b"/", b"data:")) for s in sources)  # nothing from a CDN
    for path in sources:
        assert path.startswith(b"data:") or raw_get(server, path.decode())[0] == 200, path
    assert raw_get(server, "/static/openseadragon/images/zoomin_rest.png")[0] == 200
    token = re.search(rb'<meta name="cppnart-token" content="([^"]+)">', page).group(1).decode()
    status, body = raw_get(server, "/api/pyramid", {"X-Cppnart-Token": token})
    info = json.loads(body)
    assert status == 200 and info["dzi"] == "/pyramid/poster.dzi" and (info["width"], info["height"]) == (W, H)
    assert f"Seed: 5, Size: {W}x{H}, Zoom: 0.08" in info["caption"]
    assert info["command"].startswith("cppnart render ")
    assert f"--seed 5 --res {W}x{H} --zoom 0.08 --tiles poster" in info["command"]
    assert raw_get(server, "/pyramid/poster.dzi") == (200, (rendered / "poster" / "poster.dzi").read_bytes())
    assert raw_get(server, "/pyramid/poster_files/11/0_0.png")[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        "/pyramid/../secret.txt",
        "/pyramid/..%2fsecret.txt",
        "/pyramid/%2e%2e/secret.txt",
        "/pyramid/poster_files/../../secret.txt",
        "/pyramid/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/pyramid//etc/passwd",
        "/static/..%2fpyramid.py",
        "/pyramid/link/secret.txt",
    ],
)
def test_paths_that_leave_the_pyramid_are_refused(server, rendered, path):
    link = rendered / "poster" / "link"
    if not link.exists():
        link.symlink_to(rendered, target_is_directory=True)  # a link inside that points outside
    status, body = raw_get(server, path)
    assert status in (400, 404) and b"outside the pyramid" not in body and b"root:" not in body
    assert b"import" not in body  # no Python source either


def test_bad_pyramid_paths_are_one_line_and_exit_2(rendered, tmp_path):
    runner = CliRunner()
    args = ["--no-browser", "--port", "0"]
    assert "no Deep Zoom pyramid" in one_error_line(runner.invoke(cli, ["view", str(tmp_path / "no.dzi"), *args]))
    (tmp_path / "lone.dzi").write_text((rendered / "poster" / "poster.dzi").read_text())
    assert "no tile folder" in one_error_line(runner.invoke(cli, ["view", str(tmp_path / "lone.dzi"), *args]))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bad_files").mkdir()
    (tmp_path / "bad" / "bad.dzi").write_text("<Image><Size Width='x'/></Image>")
    assert "not a Deep Zoom descriptor" in one_error_line(runner.invoke(cli, ["view", str(tmp_path / "bad"), *args]))
    one_error_line(runner.invoke(cli, ["view", str(rendered / "poster"), "--seed", "3", *args]))


def test_package_data_ships_the_vendored_openseadragon():
    """Every file of the page (OpenSeadragon, its licence, its button images) is matched by package-data."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["cppnart"]
    package = ROOT / "cppnart"
    files = [p.relative_to(package) for p in STATIC.rglob("*") if p.is_file()]
    assert any(p.name == "openseadragon.min.js" for p in files) and any(p.name == "LICENSE.txt" for p in files)
    unmatched = [str(p) for p in files if not any(p.match(pattern) and len(p.parts) == len(Path(pattern).parts)
                                                  for pattern in patterns)]  # fmt: skip
    assert unmatched == []


@pytest.mark.skipif(sync_api is None, reason='no playwright (pip install ".[browser-test]")')
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")
def test_openseadragon_shows_the_pyramid_and_its_deepest_pixels(server, rendered, tmp_path):
    levels: list[int] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 640, "height": 480})
        page.on("request", lambda r: levels.extend(int(m) for m in re.findall(r"/poster_files/(\d+)/", r.url)))
        page.goto(server.url)
        info = page.evaluate("window.cppnart.ready")
        assert page.inner_text("#caption") == info["caption"] and "Seed: 5" in info["caption"]
        home_levels = set(levels)
        page.screenshot(path=tmp_path / "home.png")
        # Zoom to one picture pixel per screen pixel with the picture's pixel (x0, y0) at the top left.
        x0, y0 = 700, 500
        box = page.locator("#osd").bounding_box()
        w, h = int(box["width"]), int(box["height"])
        page.evaluate(
            """([x, y, w, h]) => { const v = window.cppnart.viewer.viewport;
            v.zoomTo(v.imageToViewportZoom(1), null, true);
            v.panTo(v.imageToViewportCoordinates(x + w / 2, y + h / 2), true); }""",
            [x0, y0, w, h],
        )
        page.wait_for_function("window.cppnart.viewer.world.getItemAt(0).getFullyLoaded()", timeout=30_000)
        page.wait_for_timeout(300)  # the frame after the last tile arrived
        shot = page.screenshot(clip={"x": box["x"], "y": box["y"], "width": w, "height": h})
        (tmp_path / "deep.png").write_bytes(shot)
        if shots := os.environ.get("CPPNART_SHOTS"):  # to look at: the page zoomed to the deepest level
            page.screenshot(path=Path(shots) / "pyramid.png")
        errors = page.inner_text("#caption")
        browser.close()
    assert home_levels and max(home_levels) < 11  # the first view did not fetch the full-size tiles
    assert max(levels) == 11  # zoomed in, the deepest level was fetched
    assert errors == info["caption"]  # no tile failed
    drawn = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
    direct = np.asarray(Image.open(rendered / "direct.png").convert("RGB")).astype(int)[y0 : y0 + h, x0 : x0 + w]
    # The centre: the navigation buttons and the navigator sit in the corners.
    cy, cx = slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4)
    diff = np.abs(drawn[cy, cx] - direct[cy, cx])
    # Exact here (tiles drawn 1:1 at whole-pixel offsets); the slack is for other browsers' drawers.
    assert diff.mean() < 0.25 and np.mean(diff.max(axis=-1) <= 1) > 0.99, (diff.mean(), np.mean(diff <= 1))
    shifted = np.abs(drawn[cy, cx][:, 1:] - direct[cy, cx][:, :-1]).mean()  # one pixel off
    assert shifted > 4 * max(diff.mean(), 0.1)  # so the comparison can fail
