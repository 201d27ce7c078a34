"""The GLSL backend and the weights it reads back from ONNX files (no browser needed here;
tests/test_view_browser.py compiles and runs the shader in Chromium)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from cppnart.cli import app
from cppnart.configs.activations import HIDDEN, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, check_backend
from cppnart.configs.cppn import CPPNConfig
from cppnart.graph import glsl
from cppnart.graph.export import cppn_model
from cppnart.graph.numpy_forward import forward
from cppnart.graph.onnx_weights import weights_from_onnx
from cppnart.graph.weights import random_weights
from cppnart.render.parity import probe_inputs, probe_weights
from tests.conftest import files_in


def test_glsl_backend_covers_exactly_the_table():
    assert set(glsl.ACTIVATIONS) == set(HIDDEN)
    with pytest.raises(RuntimeError, match="GLSL"):
        check_backend("GLSL", list(glsl.ACTIVATIONS)[:-1])


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("output", OUTPUT_ACTIVATIONS)
def test_weights_read_back_from_onnx(activation, output):
    weights = probe_weights(activation, output)
    back = weights_from_onnx(cppn_model(weights, preset="t", seed=0, config={}))
    assert back is not None and back.activations == weights.activations and back.output == output
    coords, z = probe_inputs()
    np.testing.assert_allclose(forward(back, coords, z), forward(weights, coords, z), atol=1e-6)


def test_residual_and_mixed_layers_read_back():
    config = CPPNConfig(z_dim=2, width=6, depth=4, activations=("softplus", "abs", "sin", "gaussian"), residual=True)
    weights = random_weights(config, 5)
    back = weights_from_onnx(cppn_model(weights, preset="t", seed=5, config={}))
    assert back is not None and back.residual and back.activations == config.activations


def test_other_graphs_are_not_misread():
    proto = cppn_model(probe_weights("tanh", "sigmoid"), preset="t", seed=0, config={})
    proto.graph.node.append(onnx.helper.make_node("Identity", ["rgb"], ["extra"]))
    assert weights_from_onnx(proto) is None


def test_float_literals_round_trip():
    values = np.random.default_rng(0).standard_normal(500).astype(np.float32) * 10.0 ** np.arange(-20, 20, 0.08)
    for v in values.astype(np.float32):
        text = glsl.glsl_float(float(v))
        assert np.float32(text) == v and any(c in text for c in ".e")


def test_shader_layout_indexes_every_array():
    weights = replace(random_weights(CPPNConfig(z_dim=3, width=5, depth=3, channels=1), 2))
    layout = glsl.WeightLayout.of(weights)
    flat = layout.buffer
    np.testing.assert_array_equal(flat[layout.w_out : layout.w_out + weights.w_out.size], weights.w_out.reshape(-1))
    data, width, height = layout.texture()
    assert width == glsl.TEXTURE_WIDTH and data.size == width * height >= flat.size
    source = glsl.fragment_shader(weights)
    assert "vec3(o[0])" in source and "uniform float u_z[3];" in source


def test_export_glsl_writes_a_shadertoy_shader(tmp_path: Path):
    out = tmp_path / "classic.glsl"
    result = CliRunner().invoke(app, ["export", "classic", "--seed", "7", "--format", "glsl", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "void mainImage(out vec4 fragColor, in vec2 fragCoord)" in text and "const float WEIGHTS[" in text
    assert "#version" not in text  # ShaderToy adds its own header


def test_export_glsl_of_an_onnx_file_and_refusals(tmp_path: Path):
    runner = CliRunner()
    model = tmp_path / "m.onnx"
    assert runner.invoke(app, ["export", "classic", "--seed", "1", "-o", str(model)]).exit_code == 0
    glsl_out = str(tmp_path / "m.glsl")
    result = runner.invoke(app, ["export", str(model), "--format", "glsl", "--seed", "2", "-o", glsl_out])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.onnx"
    proto = onnx.load(model)
    proto.graph.node.append(onnx.helper.make_node("Identity", ["rgb"], ["extra"]))
    onnx.save(proto, bad)
    before = files_in(tmp_path)
    result = runner.invoke(app, ["export", str(bad), "--format", "glsl", "-o", str(tmp_path / "bad.glsl")])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1 and "GLSL" in result.output
    result = runner.invoke(app, ["export", "classic", "--format", "glsl", "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 2 and ".glsl" in result.output
    assert files_in(tmp_path) == before
