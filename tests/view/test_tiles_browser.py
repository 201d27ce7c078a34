"""A DZI pyramid opens in a real OpenSeadragon in a real chromium: every tile it asks for loads,
at the first view and zoomed to the deepest level. Skips without playwright, chromium or the
OpenSeadragon script (the copy vendored in cppnart/view/static/; OPENSEADRAGON_JS names another)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from cppnart.cli import app

sync_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
OSD = Path(os.environ.get("OPENSEADRAGON_JS", ROOT / "cppnart/view/static/openseadragon/openseadragon.min.js"))
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)"),
    pytest.mark.skipif(not OSD.is_file(), reason=f"no OpenSeadragon script at {OSD}"),
]

PAGE = """<!doctype html><html><body style="margin:0"><div id="v" style="width:600px;height:400px"></div>
<script src="osd.js"></script><script>
window.loaded = 0; window.failed = []; window.opened = false;
window.viewer = OpenSeadragon({id: "v", tileSources: "pyr/pyr.dzi", animationTime: 0, immediateRender: true});
viewer.addHandler("open", () => { window.opened = true; });
viewer.addHandler("open-failed", (e) => window.failed.push("open: " + e.message));
viewer.addHandler("tile-loaded", (e) => {
  window.loaded += 1; window.level = Math.max(window.level || 0, e.tile.level); });
viewer.addHandler("tile-load-failed", (e) => window.failed.push(e.message + " " + e.tile.url));
</script></body></html>"""


def test_openseadragon_opens_the_pyramid_and_loads_the_deepest_level(runner, tiny_preset, tmp_path):
    result = runner.invoke(
        app, ["render", str(tiny_preset), "--seed", "5", "--res", "900x600", "--tiles", str(tmp_path / "pyr")]
    )
    assert result.exit_code == 0, result.output
    shutil.copy(OSD, tmp_path / "osd.js")
    (tmp_path / "index.html").write_text(PAGE)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    loaded = "window.opened && viewer.world.getItemAt(0) && viewer.world.getItemAt(0).getFullyLoaded()"
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 600, "height": 400})
            page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
            page.wait_for_function(loaded, timeout=30_000)
            first = page.evaluate("[window.loaded, window.failed]")
            page.evaluate("viewer.viewport.zoomTo(viewer.viewport.getMaxZoom(), null, true)")
            page.wait_for_function(loaded, timeout=30_000)
            deep = page.evaluate("[window.loaded, window.failed, window.level]")
            browser.close()
    finally:
        server.shutdown()
    assert first[0] > 0 and first[1] == []
    assert deep[1] == [] and deep[2] == 10  # level 10 is 900x600: the full-size tiles were shown
