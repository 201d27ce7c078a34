"""Very wide images: a row that alone exceeds the band budget is rendered in tiles of columns, so
memory grows with the width only by the finished row of pixels; tiles equal a single render."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from cppnart.configs.view import View
from cppnart.io.png import quantize, write_png
from cppnart.render import canvas as canvas_module
from cppnart.render.bands import render_array, render_bands
from cppnart.render.canvas import Canvas, chunk_for
from cppnart.render.model import load_model


class RecordingSession:
    """A real onnxruntime session that notes the largest coordinate array it is given."""

    def __init__(self, session):
        self.session, self.largest = session, 0

    def run(self, names, feeds):
        self.largest = max(self.largest, feeds["coords"].shape[0])
        return self.session.run(names, feeds)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from ..conftest import TINY_PRESET

    path = tmp_path_factory.mktemp("preset") / "tiny.toml"
    path.write_text(TINY_PRESET)
    return load_model(path, seed=5)


def test_tiles_equal_a_single_render_pixel_for_pixel(tiny, monkeypatch):
    z = tiny.sample_z(2)
    view = View(zoom=1.7, center=(0.3, -0.2))
    whole = render_array(tiny.session, z, Canvas(997, 3, view, supersample=3, chunk=1 << 16))
    monkeypatch.setattr(canvas_module, "BAND_COORDS", 500)  # one row is 997*9 samples: 18 tiles a row
    session = RecordingSession(tiny.session)
    tiled = render_array(session, z, Canvas(997, 3, view, supersample=3, chunk=256))
    assert session.largest <= 256
    assert np.array_equal(quantize(tiled, 16), quantize(whole, 16))
    np.testing.assert_allclose(tiled, whole, atol=1e-6)


def peak_bytes(run) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_of_a_one_row_image_grows_only_by_its_row_of_pixels(tiny):
    z = tiny.sample_z(1)

    def render(width: int) -> None:
        for band in render_bands(tiny.session, z, Canvas(width, 1, supersample=4, chunk=4096)):
            assert band.shape == (1, 1, width, 3)

    narrow, wide = peak_bytes(lambda: render(50_000)), peak_bytes(lambda: render(200_000))
    row_of_pixels = 150_000 * 3 * 4  # float32 RGB: what the extra width must cost, once
    # Without tiles the extra 150,000 columns would hold 16 sub-pixel samples each, coordinates and
    # outputs: 150,000 * 16 * 20 bytes = 48 MB more.
    assert wide - narrow < 2 * row_of_pixels


def test_a_very_wide_poster_streams_to_png(tiny, tmp_path):
    import png

    z = tiny.sample_z(3)
    width = 300_000
    path = write_png(tmp_path / "wide.png", width, 2, 3, (b[0] for b in tiny.bands(z, width, 2, supersample=2)))
    w, h, rows, _ = png.Reader(filename=str(path)).asDirect()
    assert (w, h) == (width, 2)
    assert np.array_equal(np.vstack(list(rows)).reshape(2, width, 3), quantize(tiny.render(z, width, 2, supersample=2)))


def test_default_chunk_follows_the_networks_width(tiny):
    assert tiny.layer_width == 8 and tiny.default_chunk == chunk_for(8) == canvas_module.DEFAULT_CHUNK
    assert chunk_for(128) < chunk_for(32) <= canvas_module.DEFAULT_CHUNK
    assert load_model("classic", 1).default_chunk == chunk_for(32)
