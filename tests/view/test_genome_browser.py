"""A genome's GLSL (graph.genome_glsl) in a real browser: Playwright driving headless Chromium,
WebGL2 through SwiftShader; each frame equals `cppnart render` of the same genome, z and view.

Skips cleanly without playwright or a chromium binary.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

sync_api = pytest.importorskip("playwright.sync_api")

from cppnart.configs.view import View  # noqa: E402
from cppnart.graph.evolve import mutate, random_genome  # noqa: E402
from cppnart.graph.genome_glsl import genome_fragment_shader  # noqa: E402
from cppnart.graph.picbreeder import parse_picbreeder  # noqa: E402
from cppnart.io.png import quantize  # noqa: E402
from cppnart.render.model import model_from_genome  # noqa: E402
from tests.genome_fixtures import GREY_XML, HSV_XML, every_activation  # noqa: E402

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")
SIZE = 96

# Compile a fragment shader, draw one frame with uniforms, read the pixels back top row first.
DRAW = """([source, size, z, zoom, cx, cy]) => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const gl = canvas.getContext('webgl2', {preserveDrawingBuffer: true});
  const compile = (type, text) => {
    const s = gl.createShader(type); gl.shaderSource(s, text); gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
    return s;
  };
  const program = gl.createProgram();
  gl.attachShader(program, compile(gl.VERTEX_SHADER, `#version 300 es
in vec2 p; void main() { gl_Position = vec4(p, 0.0, 1.0); }`));
  gl.attachShader(program, compile(gl.FRAGMENT_SHADER, source));
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
  gl.useProgram(program);
  gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
  const at = gl.getAttribLocation(program, 'p');
  gl.enableVertexAttribArray(at); gl.vertexAttribPointer(at, 2, gl.FLOAT, false, 0, 0);
  gl.uniform1fv(gl.getUniformLocation(program, 'u_z'), new Float32Array(z));
  gl.uniform1f(gl.getUniformLocation(program, 'u_zoom'), zoom);
  gl.uniform2f(gl.getUniformLocation(program, 'u_center'), cx, cy);
  gl.uniform2f(gl.getUniformLocation(program, 'u_size'), size, size);
  gl.viewport(0, 0, size, size);
  gl.drawArrays(gl.TRIANGLES, 0, 3);
  const pixels = new Uint8Array(size * size * 4);
  gl.readPixels(0, 0, size, size, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
  const rows = [];
  for (let y = size - 1; y >= 0; y--) rows.push(...pixels.subarray(y * size * 4, (y + 1) * size * 4));
  return rows;
}"""


def genomes() -> dict[str, object]:
    rng = np.random.default_rng(8)
    out: dict[str, object] = {"grey": parse_picbreeder(GREY_XML), "hsv": parse_picbreeder(HSV_XML)}
    for i, colour in enumerate(["grey", "rgb", "hsv", "rgb"]):
        g = random_genome(rng, colour, hidden=5, z_inputs=2, links=14)
        for _ in range(4):
            g = mutate(g, rng, "structure")
        out[f"random-{colour}-{i}"] = every_activation(g, 3 * i)
    return out


@pytest.fixture(scope="module")
def page():
    with sync_api.sync_playwright() as p:
        args = ["--enable-unsafe-swiftshader", "--use-gl=angle", "--use-angle=swiftshader", "--ignore-gpu-blocklist"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        pg = browser.new_page()
        yield pg
        browser.close()


def test_genome_shader_matches_render(page):
    view = View(zoom=1.3, center=(0.2, -0.1))
    worst = {}
    for name, genome in genomes().items():
        model = model_from_genome(genome, name)
        z = model.sample_z(5)[0]
        rgba = page.evaluate(DRAW, [genome_fragment_shader(genome), SIZE, z.tolist(), view.zoom, *view.center])
        got = np.asarray(rgba, np.uint8).reshape(SIZE, SIZE, 4)[..., :3].astype(np.float64) / 255
        want = quantize(model.render(z, SIZE, SIZE, view=view)).astype(np.float64) / 255
        if want.shape[-1] == 1:
            want = np.repeat(want, 3, axis=-1)
        assert want.std() > 0.01, f"{name}: a flat reference proves nothing"
        diff = np.abs(got - want)
        worst[name] = (round(diff.mean(), 4), round(diff.max(), 4))
    # measured: mean 0, max one 8-bit level (the same sums in another order); allow a few levels
    # for a pixel on a sharp edge where that rounding tips a steep activation
    bad = {k: v for k, v in worst.items() if v[0] > 1 / 255 or v[1] > 4 / 255}
    assert not bad, f"shader differs from render (mean, max): {worst}"
