"""Atomic writes, the streaming PNG writer, the runtime's install checks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cppnart.errors import UserError
from cppnart.io.atomic import atomic_output
from cppnart.io.metadata import read_recipe
from cppnart.io.png import quantize, write_png
from cppnart.render import runtime

from ..conftest import files_in


def test_interrupted_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    out = tmp_path / "poster.png"
    out.write_bytes(b"the previous poster")

    def bands():
        yield np.zeros((2, 8, 3), np.float32)
        raise KeyboardInterrupt  # Ctrl-C in the middle of a render

    with pytest.raises(KeyboardInterrupt):
        write_png(out, 8, 4, 3, bands())
    assert files_in(tmp_path) == ["poster.png"]
    assert out.read_bytes() == b"the previous poster"


def test_too_few_rows_is_an_error_not_a_short_file(tmp_path):
    with pytest.raises(RuntimeError):
        write_png(tmp_path / "x.png", 8, 4, 3, [np.zeros((3, 8, 3), np.float32)])
    assert files_in(tmp_path) == []


def test_streamed_png_matches_the_bands_and_carries_text(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.random((37, 23, 3), dtype=np.float32)
    bands = [image[i : i + 5] for i in range(0, 37, 5)]
    path = write_png(tmp_path / "x.png", 23, 37, 3, bands, text={"cppnart": '{"z": [1.0]}', "Software": "cppnart"})
    with Image.open(path) as read:
        assert np.array_equal(np.asarray(read), quantize(image))
        assert read.info["Software"] == "cppnart"


def test_own_posters_open_past_pillows_bomb_guard(tmp_path, monkeypatch):
    path = write_png(
        tmp_path / "big.png",
        64,
        64,
        1,
        [np.ones((64, 64, 1), np.float32) / 2],
        text={"cppnart": '{"z": [0.5], "seed": 1}'},
    )
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 4096 px is a "bomb" now
    with pytest.raises(Image.DecompressionBombError):
        Image.open(path)
    assert read_recipe(path)["seed"] == 1
    assert Image.MAX_IMAGE_PIXELS == 100  # the guard is restored for everyone else


def test_atomic_output_refuses_missing_folders(tmp_path):
    with pytest.raises(UserError, match="does not exist"), atomic_output(tmp_path / "no" / "file.png"):
        pass


@pytest.mark.parametrize("cpu, gpu, words", [(True, True, "both"), (False, False, "no onnxruntime")])
def test_runtime_install_problems_name_the_fix(monkeypatch, cpu, gpu, words):
    monkeypatch.setattr(runtime, "_installed", lambda dist: {"onnxruntime": cpu, "onnxruntime-gpu": gpu}[dist])
    if not (cpu or gpu):
        monkeypatch.setitem(__import__("sys").modules, "onnxruntime", None)
    with pytest.raises(UserError, match=words) as err:
        runtime.import_onnxruntime()
    assert "pip" in str(err.value)


@pytest.mark.parametrize("dist", ["onnxruntime", "onnxruntime-gpu", "numpy", "pillow", "no-such-dist"])
def test_the_install_check_agrees_with_importlib_metadata(dist):
    """runtime._installed reads dist-info folder names (importlib.metadata costs a render 12 ms):
    the same answer importlib.metadata gives, for installed and missing distributions."""
    import importlib.metadata

    try:
        importlib.metadata.version(dist)
        expected = True
    except importlib.metadata.PackageNotFoundError:
        expected = False
    assert runtime._installed(dist) is expected


def test_cuda_request_without_cuda_is_a_clear_error():
    with pytest.raises(UserError, match="onnxruntime-gpu"):
        runtime.providers_for("cuda", ["CPUExecutionProvider"])
    assert runtime.providers_for("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert (
        runtime.providers_for("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"])[0] == "CUDAExecutionProvider"
    )
