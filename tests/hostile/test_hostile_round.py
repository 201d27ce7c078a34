"""Hostile and careless inputs found in this round's commands (issue 31's smaller classes): each is
one line, exit 2, and nothing left behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from cppnart.cli import app
from cppnart.errors import UserError
from cppnart.render.encoder import RunEncoder

from ..conftest import files_in, one_error_line


@pytest.mark.parametrize("folder", [".", "", "..", "/", "sub/.."])
def test_a_tile_pyramid_needs_a_folder_name_of_its_own(folder: str, tmp_path: Path, runner, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    line = one_error_line(runner.invoke(app, ["render", "--res", "64x64", "--seed", "1", "--tiles", folder]))
    assert "names no new folder" in line
    assert files_in(tmp_path) == []


def test_a_shader_too_large_to_compile_is_refused_before_writing(tmp_path: Path, runner) -> None:
    preset = tmp_path / "huge.toml"
    preset.write_text('kind = "cppn"\nwidth = 1100\ndepth = 2\nactivations = ["tanh"]\n')
    out = tmp_path / "huge.glsl"
    line = one_error_line(
        runner.invoke(app, ["export", str(preset), "--seed", "1", "--format", "glsl", "-o", str(out)])
    )
    assert "MB of GLSL" in line and "cppnart view" in line
    assert files_in(tmp_path) == ["huge.toml"]


def _encoder(folder: Path, side: int, claimed: int, fixed: bool = True) -> Path:
    """A run folder whose encoder reads side x side images but whose metadata claims ``claimed``."""
    folder.mkdir()
    dims = ["batch", 1, side, side] if fixed else ["batch", 1, "h", "w"]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 2])
    weights = numpy_helper.from_array(np.ones((side * side, 2), np.float32), "w")
    shape = numpy_helper.from_array(np.array([-1, side * side], np.int64), "shape")
    nodes = [
        helper.make_node("Reshape", ["image", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["z"]),
    ]
    graph = helper.make_graph(nodes, "encoder", [image], [z], [weights, shape])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    for key, value in {"channels": 1, "crop": claimed, "data_size": max(side, claimed), "z_dim": 2}.items():
        proto.metadata_props.add(key=key, value=str(value))
    onnx.save(proto, folder / "encoder.onnx")
    return folder


def test_an_encoder_whose_metadata_lies_about_its_side_is_refused(tmp_path: Path, runner) -> None:
    run = _encoder(tmp_path / "run", side=4, claimed=3)
    with pytest.raises(UserError, match="says it reads 3x3 images but its graph takes"):
        RunEncoder(run)
    Image.new("L", (8, 8), 200).save(tmp_path / "digit.png")
    out = tmp_path / "z.npy"
    line = one_error_line(
        runner.invoke(app, ["z", "encode", str(tmp_path / "digit.png"), "-m", str(run), "-o", str(out)])
    )
    assert "metadata is wrong" in line and not out.exists()


def test_an_encoder_with_free_sides_that_cannot_read_its_claimed_side_is_one_line(tmp_path: Path) -> None:
    encoder = RunEncoder(_encoder(tmp_path / "run", side=4, claimed=3, fixed=False))
    assert encoder.encode(np.zeros((1, 1, 4, 4), np.float32)).shape == (1, 2)  # what its graph takes
    with pytest.raises(UserError, match="cannot read 3x3 images as its metadata says"):
        encoder.encode(np.zeros((1, 1, 3, 3), np.float32))
