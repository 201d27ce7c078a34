"""The torus front in GLSL, compiled and run by a real browser (headless Chromium, SwiftShader
WebGL2): the shader of a tiled CPPN draws what the numpy forward draws, and it tiles.

Skips cleanly without playwright or a chromium binary.
"""

from __future__ import annotations

import base64
import shutil

import numpy as np
import pytest

sync_api = pytest.importorskip("playwright.sync_api")

from cppnart.configs.presets import load_preset  # noqa: E402
from cppnart.graph.glsl import WeightLayout, fragment_shader  # noqa: E402
from cppnart.graph.numpy_forward import forward  # noqa: E402
from cppnart.graph.periodic import torus_weights  # noqa: E402
from cppnart.graph.weights import random_weights  # noqa: E402
from cppnart.latent.io import sample_z  # noqa: E402
from cppnart.render.coords import grid  # noqa: E402

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")

W, H = 96, 64

PAGE = """
<canvas id="c" width="WIDTH" height="HEIGHT"></canvas>
<script>
window.draw = (source, weights, texW, texH, z) => {
  const gl = document.getElementById('c').getContext('webgl2');
  const compile = (type, text) => {
    const s = gl.createShader(type); gl.shaderSource(s, text); gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
    return s;
  };
  const vs = '#version 300 es\\nin vec2 p; void main() { gl_Position = vec4(p, 0.0, 1.0); }';
  const prog = gl.createProgram();
  gl.attachShader(prog, compile(gl.VERTEX_SHADER, vs));
  gl.attachShader(prog, compile(gl.FRAGMENT_SHADER, source));
  gl.linkProgram(prog);
  if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog));
  gl.useProgram(prog);
  const buf = gl.createBuffer();
  gl.bindBuffer(gl.ARRAY_BUFFER, buf);
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
  const at = gl.getAttribLocation(prog, 'p');
  gl.enableVertexAttribArray(at); gl.vertexAttribPointer(at, 2, gl.FLOAT, false, 0, 0);
  const bytes = Uint8Array.from(atob(weights), c => c.charCodeAt(0));
  const tex = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, tex);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.R32F, texW, texH, 0, gl.RED, gl.FLOAT, new Float32Array(bytes.buffer));
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  gl.uniform1i(gl.getUniformLocation(prog, 'u_weights'), 0);
  gl.uniform1fv(gl.getUniformLocation(prog, 'u_z'), new Float32Array(z));
  gl.uniform1f(gl.getUniformLocation(prog, 'u_zoom'), 1.0);
  gl.uniform2f(gl.getUniformLocation(prog, 'u_center'), 0.0, 0.0);
  gl.uniform2f(gl.getUniformLocation(prog, 'u_size'), WIDTH, HEIGHT);
  gl.viewport(0, 0, WIDTH, HEIGHT);
  gl.drawArrays(gl.TRIANGLES, 0, 3);
  const out = new Uint8Array(WIDTH * HEIGHT * 4);
  gl.readPixels(0, 0, WIDTH, HEIGHT, gl.RGBA, gl.UNSIGNED_BYTE, out);
  let text = ''; for (let i = 0; i < out.length; i++) text += String.fromCharCode(out[i]);
  return btoa(text);
};
</script>
""".replace("WIDTH", str(W)).replace("HEIGHT", str(H))


def test_the_torus_shader_draws_the_numpy_picture_and_tiles():
    config = load_preset("classic")
    weights = torus_weights(random_weights(config, 3), (2 * W / H, 2.0), 3, config.init_scale)
    z = sample_z(config.z_dim, 3)
    layout = WeightLayout.of(weights)
    data, tex_w, tex_h = layout.texture()
    with sync_api.sync_playwright() as p:
        args = ["--enable-unsafe-swiftshader", "--use-gl=angle", "--use-angle=swiftshader", "--ignore-gpu-blocklist"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page()
            page.set_content(PAGE)
            shot = page.evaluate(
                "([s, w, tw, th, z]) => window.draw(s, w, tw, th, z)",
                [fragment_shader(weights), base64.b64encode(data.tobytes()).decode(), tex_w, tex_h, z[0].tolist()],
            )
        finally:
            browser.close()
    pixels = np.frombuffer(base64.b64decode(shot), np.uint8).reshape(H, W, 4)[::-1, :, :3]  # GL rows: bottom up
    want = forward(weights, grid(W, H), z)[0].reshape(H, W, 3)
    diff = np.abs(pixels / 255.0 - want)
    assert diff.mean() < 2 / 255 and np.percentile(diff, 99) < 8 / 255, (diff.mean(), diff.max())
    cols = np.abs(np.diff(pixels.astype(float), axis=1)).mean(axis=(0, 2))
    assert np.abs(pixels[:, 0].astype(float) - pixels[:, -1]).mean() < cols.max()  # the shader's picture tiles
