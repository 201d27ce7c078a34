"""Foreign ONNX classifiers as `dream` targets: torch.onnx's own exports (both exporters) convert
through onnx2torch beside a CPU torch with no working torchvision, match onnxruntime, pass
gradients to the input and dream; an op that cannot convert, and a converter that does not
import, are one line with the fix."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from cppnart.cli import app
from cppnart.errors import UserError
from cppnart.train.dream import DreamSettings, dream
from cppnart.train.targets import load_target

from ..conftest import one_error_line

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    # not importorskip: onnx2torch's own import fails without torchvision, which is what is tested
    pytest.mark.skipif(importlib.util.find_spec("onnx2torch") is None, reason='needs pip install -e ".[onnx]"'),
]
ROOT = Path(__file__).resolve().parents[2]


def export(path: Path, dynamo: bool) -> Path:
    """A tiny RGB classifier of 16x16 images, seeded, exported by torch.onnx (``dynamo``: the
    default exporter since torch 2.9, opset 18; else the TorchScript one)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5),
    ).eval()  # fmt: skip
    x = torch.rand(2, 3, 16, 16)
    if dynamo:
        shapes = ({0: torch.export.Dim("batch")},)
        torch.onnx.export(net, (x,), path, input_names=["images"], dynamo=True, dynamic_shapes=shapes)
    else:
        axes = {"images": {0: "batch"}}
        torch.onnx.export(net, (x,), path, input_names=["images"], dynamo=False, dynamic_axes=axes)
    return path


@pytest.fixture(scope="module", params=[False, True], ids=["torchscript", "dynamo"])
def exported(request, tmp_path_factory) -> Path:
    return export(tmp_path_factory.mktemp("onnx") / "net.onnx", request.param)


def test_exports_convert_with_parity_and_gradients(exported):
    import onnxruntime as ort

    target = load_target(exported)
    assert target.kind == "onnx" and target.channels == 3 and target.size == (16, 16)
    shapes = [layer.shape for layer in target.layers.values()]
    assert shapes == [(6, 16, 16), (6, 16, 16), (8, 8, 8), (8, 8, 8), (5,)], target.layers
    x = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    expected = ort.InferenceSession(str(exported)).run(None, {"images": x.numpy()})[0]
    with torch.no_grad():
        got = target.module(x).numpy()  # type: ignore[misc]
    assert np.abs(got - expected).max() < 1e-5
    images = x.clone().requires_grad_(True)
    target.run(images, list(target.layers)[-1])[:, 2].sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0  # gradients reach the image


def test_a_foreign_classifier_dreams_and_lists_its_layers(exported, runner, tmp_path):
    target = load_target(exported)
    conv = list(target.layers)[2]
    settings = DreamSettings(layer=conv, units=(3,), steps=30, probe=4, width=8, depth=3, lr=0.03)
    result = dream(target, settings, tmp_path / "d")
    sol = result.report["solutions"][0]
    assert sol["responded"] and sol["final_activation"] > sol["start_activation"]
    assert (tmp_path / "d" / "model.onnx").is_file()
    listed = runner.invoke(app, ["layers", str(exported)])
    assert listed.exit_code == 0 and conv in listed.stdout and "input 3x16x16" in listed.stdout, listed.output


def _graph_with(path: Path, op: str, domain: str = "") -> Path:
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node(op, ["images"], ["y"], domain=domain)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["B", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )  # fmt: skip
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    onnx.save(helper.make_model(graph, opset_imports=opsets), path)
    return path


def test_ops_that_cannot_convert_are_named_in_one_line(runner, tmp_path):
    odd = _graph_with(tmp_path / "odd.onnx", "Frobnicate", "com.example")
    with pytest.raises(UserError, match=r"cannot convert here: Frobnicate \(opset 1\)"):
        load_target(odd)
    line = one_error_line(runner.invoke(app, ["layers", str(_graph_with(tmp_path / "dft.onnx", "DFT"))]))
    assert "DFT (opset 17)" in line


def _python(tmp_path: Path, *args: str, shadow: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m cppnart ARGS`` with packages shadowed by ones whose import fails as ``shadow`` says."""
    for name, error in shadow.items():
        (tmp_path / "shadow" / name).mkdir(parents=True, exist_ok=True)
        (tmp_path / "shadow" / name / "__init__.py").write_text(f"raise {error}\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "shadow"), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "cppnart", *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )


def test_a_broken_torchvision_does_not_stop_the_conversion(tmp_path):
    """The CUDA torchvision beside a CPU torch raises RuntimeError on import: worked around."""
    net = export(tmp_path / "net.onnx", dynamo=False)
    broken = {"torchvision": 'RuntimeError("operator torchvision::nms does not exist")'}
    done = _python(tmp_path, "layers", str(net), shadow=broken)
    assert done.returncode == 0 and "0/Conv" in done.stdout, done.stderr[-2000:]
    nms = _graph_with(tmp_path / "nms.onnx", "NonMaxSuppression")
    done = _python(tmp_path, "layers", str(nms), shadow=broken)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr[-2000:]
    assert "NonMaxSuppression (opset 17)" in done.stderr


@pytest.mark.parametrize("error", ['ImportError("no onnx2torch")', 'RuntimeError("a broken build")'])
def test_a_converter_that_does_not_import_is_one_line_with_the_fix(tmp_path, error):
    net = export(tmp_path / "net.onnx", dynamo=False)
    done = _python(tmp_path, "layers", str(net), shadow={"onnx2torch": error})
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr[-2000:]
    assert 'pip install -e ".[onnx]"' in done.stderr, done.stderr


def test_an_old_opset_model_zoo_graph_is_moved_to_an_opset_the_converter_knows(tmp_path, runner):
    """An opset-9, IR-3 graph as Caffe2's model-zoo exports are (initializers listed as inputs, a
    Dropout kept in the inference graph, which onnx2torch has no opset-9 form of): it converts at
    opset 17, with parity against onnxruntime on the file as given, and dreams."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.normal(0, 0.5, (6, 3, 3, 3)).astype(np.float32), "conv1_w_0"),
        numpy_helper.from_array(rng.normal(0, 0.1, 6).astype(np.float32), "conv1_b_0"),
        numpy_helper.from_array(rng.normal(0, 0.5, (4, 6)).astype(np.float32), "fc_w_0"),
        numpy_helper.from_array(rng.normal(0, 0.1, 4).astype(np.float32), "fc_b_0"),
    ]
    nodes = [
        helper.make_node("Conv", ["data_0", "conv1_w_0", "conv1_b_0"], ["conv1_1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv1_1"], ["conv1_2"]),
        helper.make_node("Dropout", ["conv1_2"], ["drop_1", "_mask"], ratio=0.5),
        helper.make_node("GlobalAveragePool", ["drop_1"], ["pool_1"]),
        helper.make_node("Flatten", ["pool_1"], ["flat_1"]),
        helper.make_node("Gemm", ["flat_1", "fc_w_0", "fc_b_0"], ["fc_1"], transB=1),
    ]
    inputs = [helper.make_tensor_value_info("data_0", TensorProto.FLOAT, [1, 3, 12, 12])]
    inputs += [helper.make_tensor_value_info(w.name, TensorProto.FLOAT, list(w.dims)) for w in weights]
    outputs = [helper.make_tensor_value_info("fc_1", TensorProto.FLOAT, [1, 4])]
    model = helper.make_model(
        helper.make_graph(nodes, "zoo", inputs, outputs, weights), opset_imports=[helper.make_opsetid("", 9)]
    )
    model.ir_version = 3
    path = tmp_path / "zoo.onnx"
    onnx.save(model, path)

    target = load_target(path)
    assert target.channels == 3 and target.size == (12, 12)
    shapes = {name: layer.shape for name, layer in target.layers.items()}
    assert shapes == {"conv1_1/Conv": (6, 12, 12), "conv1_2/Relu": (6, 12, 12), "fc_1/Gemm": (4,)}  # by their outputs
    x = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    expected = ort.InferenceSession(str(path)).run(None, {"data_0": x.numpy()})[0]
    with torch.no_grad():
        got = target.module(x).numpy()  # type: ignore[misc]
    assert np.abs(got - expected).max() < 1e-5
    out = tmp_path / "d"
    done = runner.invoke(app, ["dream", str(path), "--class", "2", "--steps", "12", "--probe", "2", "--out", str(out)])
    assert done.exit_code == 0, done.output
    solution = json.loads((out / "report.json").read_text())["solutions"][0]
    assert solution["final_activation"] > solution["start_activation"]


def test_a_graph_of_unnamed_nodes_gets_readable_layer_names(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.default_rng(0).random((4, 3, 3, 3), np.float32), "W")
    nodes = [
        helper.make_node("Conv", ["images", "W"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["b"]),
        helper.make_node("Conv", ["b", "W2"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["d"]),
        helper.make_node("GlobalAveragePool", ["d"], ["e"]),
        helper.make_node("Flatten", ["e"], ["y"]),
    ]  # no node has a name, as some frameworks write them
    second = numpy_helper.from_array(np.random.default_rng(1).random((5, 4, 3, 3), np.float32), "W2")
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["B", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weight, second],
    )  # fmt: skip
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "unnamed.onnx")
    layers = load_target(tmp_path / "unnamed.onnx").layers
    assert list(layers) == ["a/Conv", "b/Relu", "c/Conv", "d/Relu"]  # each node by its output, then its op
    assert [layer.shape for layer in layers.values()] == [(4, 8, 8), (4, 8, 8), (5, 8, 8), (5, 8, 8)]
