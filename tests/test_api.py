"""The notebook API: load, sample, render to numpy and PIL, save a poster."""

import numpy as np
from PIL import Image

import cppnart


def test_api_round_trip(tmp_path):
    net = cppnart.load_model("classic", seed=7)
    z = net.sample_z(seed=7)
    assert z.shape == (1, 8) and np.array_equal(z, cppnart.sample_z(8, 7))
    pixels = net.render(z, 30, 20)
    assert pixels.shape == (20, 30, 3) and pixels.dtype == np.float32
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0
    image = net.render_image(z, 30, 20)
    assert image.size == (30, 20) and image.mode == "RGB"
    assert np.abs(np.asarray(image) / 255.0 - pixels).max() <= 0.5 / 255 + 1e-6
    path = cppnart.save_poster(net, z, 30, 20, tmp_path / "p.png")
    assert np.array_equal(np.asarray(Image.open(path)), np.asarray(image))
    assert "cppnart" in Image.open(path).info
