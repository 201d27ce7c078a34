"""The viewer's speed in headless Chromium: shader frames per second at 1920x1080 and the time from
a slider move to the new frame, against onnxruntime rendering the same frame on the server.

python bench/view.py [--preset classic] [--frames 5]

Chromium here draws WebGL2 with SwiftShader (software, on the CPU), so these numbers are a floor;
a browser on a GPU draws the same shader far faster. Needs the view extra, playwright and the
chromium package (apt), as the browser tests do.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time

from playwright.sync_api import sync_playwright

from cppnart.render.model import load_model
from cppnart.view.catalogue import Catalogue
from cppnart.view.server import ViewerServer, create_app, initial_state

SLIDER_MOVE = """async () => {
  const input = document.querySelector('#sliders input');
  const t = performance.now();
  input.value = String(-parseFloat(input.value) || 0.5);
  input.dispatchEvent(new Event('input'));
  await window.cppnart.nextFrame();
  window.cppnart.finish();
  return performance.now() - t;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="classic")
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    model = load_model(args.preset, seed=7, device="cpu")
    z = model.sample_z(7)

    started = time.perf_counter()
    model.render(z, width, height)
    ort_seconds = time.perf_counter() - started

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    app = create_app(Catalogue.around(model, args.preset, presets=False), tempfile.mkdtemp(), initial_state(7, z, 7))
    with ViewerServer(app, port=0) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--enable-unsafe-swiftshader", "--use-gl=angle", "--use-angle=swiftshader"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{server.url}?size={width}x{height}&gl=1")
        page.evaluate("window.cppnart.ready")
        renderer = page.evaluate(
            "(() => { const gl = document.querySelector('#gl').getContext('webgl2');"
            " const i = gl.getExtension('WEBGL_debug_renderer_info');"
            " return i ? gl.getParameter(i.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER); })()"
        )
        page.evaluate("window.cppnart.drawNow()")  # warm-up: shader compile, texture upload
        draws = [page.evaluate("window.cppnart.drawNow()") / 1000 for _ in range(args.frames)]
        moves = [page.evaluate(SLIDER_MOVE) / 1000 for _ in range(args.frames)]
        browser.close()

    shader = statistics.median(draws)
    latency = statistics.median(moves)
    print(f"model {args.preset} (seed 7) at {width}x{height}; Chromium WebGL renderer: {renderer}")
    print(f"shader frame      {shader * 1000:9.1f} ms  = {1 / shader:7.2f} fps   (median of {args.frames})")
    print(f"slider -> frame   {latency * 1000:9.1f} ms                 (median of {args.frames})")
    print(f"onnxruntime frame {ort_seconds * 1000:9.1f} ms  = {1 / ort_seconds:7.2f} fps   (server fallback, CPU)")
    print(f"shader / onnxruntime speed: {ort_seconds / shader:.2f}x")


if __name__ == "__main__":
    main()
