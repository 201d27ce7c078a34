"""The GPU path's render side, checked on the CPU: TF32 off in the CUDA provider's options, the
padded fixed-shape calls of ``BoundSession`` equal the plain render bit for bit, the fp16 model
keeps its first layer and output in fp32 and renders close to fp32, and fp16 is refused for
16-bit PNGs. The tests marked ``gpu`` run on CUDA and skip without it."""

from __future__ import annotations

import importlib.util

import numpy as np
import onnx
import pytest
from onnx import TensorProto, shape_inference

from cppnart.cli import app
from cppnart.errors import ParamError
from cppnart.io.png import quantize
from cppnart.render import runtime
from cppnart.render.bands import render_array
from cppnart.render.canvas import Canvas
from cppnart.render.model import load_model
from cppnart.render.renderer import OnnxRenderer

# fp16 against fp32 (classic 32x4 and wide 128x8 presets, seeds 3 and 5; measured: max 0.0103-0.014,
# mean 0.0004-0.0014 of the [0, 1] range). Presets with sine or abs layers differ more (max 0.13).
FP16_MAX, FP16_MEAN = 0.03, 0.003


def cuda_onnxruntime() -> bool:
    return "CUDAExecutionProvider" in runtime.import_onnxruntime().get_available_providers()


def test_cuda_provider_options_turn_tf32_off():
    for graph in (True, False):
        options = runtime.cuda_provider_options(graph)
        assert options["use_tf32"] == "0"
        assert options["enable_cuda_graph"] == ("1" if graph else "0")


@pytest.mark.parametrize("chunk, batch, supersample", [(1000, 1, 1), (4096, 2, 1), (777, 1, 2), (64, 3, 1)])
def test_padded_fixed_shape_calls_give_the_same_pixels(chunk, batch, supersample):
    model = load_model("classic", seed=3)
    z = model.sample_z(1, batch)
    canvas = Canvas(97, 33, supersample=supersample, chunk=chunk)
    plain = render_array(model.session, z, canvas)
    bound = runtime.BoundSession(model.session)  # IO binding on the CPU: the CUDA path's logic
    padded = render_array(bound, z, canvas)
    assert np.array_equal(plain, padded)
    assert len(bound._shapes) == 1  # every call had one shape: the last was padded, not shortened
    assert (97 * 33 * supersample**2) % max(1, chunk // batch) != 0  # so a last call was padded


def test_min_points_makes_one_call_per_band():
    model = load_model("classic", seed=3)
    z = model.sample_z(1)
    bound = runtime.BoundSession(model.session, min_points=1 << 18)
    canvas = Canvas(120, 40, chunk=512)
    assert np.array_equal(render_array(bound, z, canvas), render_array(model.session, z, canvas))
    assert list(bound._shapes) == [(1 << 18, 1)]


def float_types(model: onnx.ModelProto) -> dict[str, int]:
    inferred = shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type for v in [*inferred.graph.value_info, *inferred.graph.input]}
    types.update({o.name: o.type.tensor_type.elem_type for o in inferred.graph.output})
    types.update({t.name: t.data_type for t in inferred.graph.initializer})
    return types


@pytest.mark.parametrize("preset", ["classic", "wide", "residual"])
def test_fp16_keeps_the_first_layer_and_the_output_in_fp32(preset):
    model = load_model(preset, seed=3)
    original = onnx.load_from_string(model.onnx_bytes)
    blocked = runtime.fp16_blocked_nodes(original.graph)
    converted = onnx.load_from_string(runtime.convert_fp16(model.onnx_bytes))
    onnx.checker.check_model(converted)
    types = float_types(converted)
    nodes = {n.name: n for n in converted.graph.node}
    floats = (TensorProto.FLOAT, TensorProto.FLOAT16)
    for name in blocked:  # every tensor a kept node reads or writes is fp32
        node = nodes[name]
        for tensor in [*node.input, *node.output]:
            if tensor and types.get(tensor) in floats:
                assert types[tensor] == TensorProto.FLOAT, (name, tensor)
    # the coordinates reach the first layer without a cast (no fp16 round trip)
    readers = [n for n in converted.graph.node if "coords" in n.input]
    assert readers and all(n.op_type != "Cast" for n in readers)
    hidden = [n for n in converted.graph.node if n.op_type == "MatMul" and n.name not in blocked]
    assert hidden and all(types[n.input[1]] == TensorProto.FLOAT16 for n in hidden)
    assert [i.type.tensor_type.elem_type for i in converted.graph.input] == [TensorProto.FLOAT] * 2
    assert converted.graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT


@pytest.mark.parametrize("preset, seed", [("classic", 3), ("wide", 5)])
def test_fp16_renders_close_to_fp32(preset, seed):
    model = load_model(preset, seed=seed)
    z = model.sample_z(seed)
    canvas = Canvas(160, 100, chunk=4096)
    fp32 = render_array(model.session, z, canvas)
    fp16 = render_array(runtime.create_session(model.onnx_bytes, "cpu", precision="fp16"), z, canvas)
    diff = np.abs(fp32 - fp16)
    assert 0 < diff.max() <= FP16_MAX and diff.mean() <= FP16_MEAN


def test_fp16_through_the_renderer_writes_a_poster(tmp_path):
    from cppnart.render.poster import save_poster

    model = load_model("classic", seed=3)
    z = model.sample_z(3)
    save_poster(model, z, 80, 50, tmp_path / "a.png")
    save_poster(model, z, 80, 50, tmp_path / "b.png", renderer=OnnxRenderer("fp16"))
    from PIL import Image

    a, b = (np.asarray(Image.open(tmp_path / f"{n}.png")).astype(int) for n in "ab")
    assert 0 < np.abs(a - b).max() <= FP16_MAX * 255 + 1


def test_fp16_is_refused_for_16_bit_pngs(runner, tmp_path):
    with pytest.raises(ParamError, match="^precision fp16 .*bits 16"):
        runtime.check_precision("fp16", bits=16)
    assert runtime.check_precision("fp16", bits=8) == "fp16"
    out = tmp_path / "x.png"
    result = runner.invoke(app, ["render", "--res", "32x32", "--bits", "16", "--precision", "fp16", "-o", str(out)])
    assert result.exit_code == 2 and "--precision fp16" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_fp16_of_an_image_model_is_a_parameter_error():
    from cppnart.graph.builder import GraphBuilder
    from cppnart.graph.export import model_proto

    g = GraphBuilder()
    g.rename(g.op("Sigmoid", "z"), "image")
    graph = g.graph(
        "img",
        [onnx.helper.make_tensor_value_info("z", TensorProto.FLOAT, ["B", 4])],
        [onnx.helper.make_tensor_value_info("image", TensorProto.FLOAT, ["B", 4])],
    )
    with pytest.raises(ParamError, match="^precision fp16 is for coordinate models"):
        runtime.convert_fp16(model_proto(graph, {}).SerializeToString())


def test_backend_choice():
    assert runtime.resolve_backend("auto", "cpu") == "onnxruntime"
    assert runtime.resolve_backend("onnxruntime", "cuda") == "onnxruntime"
    have_torch = importlib.util.find_spec("torch") is not None
    if have_torch:
        assert runtime.resolve_backend("torch", "cpu") == "torch"
    else:
        with pytest.raises(ParamError, match="^backend torch needs torch"):
            runtime.resolve_backend("torch", "cpu")
    expected = "onnxruntime" if cuda_onnxruntime() or not have_torch else "torch"
    assert runtime.resolve_backend("auto", "cuda") == expected
    with pytest.raises(ParamError, match="^backend 'tensorflow' is unknown"):
        runtime.check_backend("tensorflow")


def test_backend_and_precision_do_not_go_to_a_cluster():
    from cppnart.cli.options import Backend, Precision, RenderFlags
    from cppnart.errors import UserError

    for flags in (RenderFlags(precision=Precision.fp16), RenderFlags(backend=Backend.torch)):  # type: ignore[attr-defined]
        with pytest.raises(UserError, match="render here"):
            RenderFlags(**{**flags.__dict__, "cluster": "local"}).local_renderer()
    assert RenderFlags(cluster="local").local_renderer() is None
    assert isinstance(RenderFlags(precision=Precision.fp16).local_renderer(), OnnxRenderer)  # type: ignore[attr-defined]


# --- on a GPU ------------------------------------------------------------------------------------
needs_cuda = pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or not cuda_onnxruntime(), reason="onnxruntime has no CUDA"
)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("preset", ["classic", "wide"])
def test_cuda_render_matches_the_cpu(preset):
    cpu, gpu = load_model(preset, seed=3, device="cpu"), load_model(preset, seed=3, device="cuda")
    assert isinstance(gpu.session, runtime.BoundSession)
    assert "CUDAExecutionProvider" in gpu.session.get_providers()
    z = cpu.sample_z(3)
    canvas = Canvas(700, 300, chunk=4096)
    a, b = render_array(cpu.session, z, canvas), render_array(gpu.session, z, canvas)
    assert np.abs(quantize(a).astype(int) - quantize(b).astype(int)).max() <= 1


def test_warm_up_binds_the_poster_shape():
    model = load_model("classic", seed=3)
    bound = runtime.BoundSession(model.session, min_points=4096)
    bound.warm_up()
    assert list(bound._shapes) == [(4096, 1)]
    z = model.sample_z(3)
    canvas = Canvas(64, 64, chunk=4096)
    assert np.array_equal(render_array(bound, z, canvas), render_array(model.session, z, canvas))
    assert list(bound._shapes) == [(4096, 1)]  # the render reused the warmed-up buffers


def test_bound_session_run_answers_like_onnxruntime():
    model = load_model("wide", seed=3)
    from cppnart.render.coords import grid

    coords, z = grid(37, 11), model.sample_z(3, 2)
    bound = runtime.BoundSession(model.session, min_points=1024)
    expected = model.session.run(["rgb"], {"coords": coords, "z": z})[0]
    assert np.array_equal(bound.run(None, {"coords": coords, "z": z})[0], expected)
    assert list(bound._shapes) == [(512, 2)]  # through the bound buffers, padded
