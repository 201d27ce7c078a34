"""Cold start: a preset's render, `--help` and `info` import neither onnx nor torch, and the ONNX
bytes graph/proto.py writes are the bytes onnx.helper writes (bench/startup.py measures the time)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from PIL import Image

from cppnart.configs.cppn import CPPNConfig
from cppnart.configs.presets import load_preset, preset_names
from cppnart.configs.schema import to_dict
from cppnart.graph.encoder import encoder_model
from cppnart.graph.export import IR_VERSION, cppn_model_bytes
from cppnart.graph.proto import DecodeError, read_model
from cppnart.graph.weights import random_weights

CPPN_PRESETS = [name for name in preset_names() if isinstance(load_preset(name), CPPNConfig)]


def _preset_bytes(name: str, seed: int = 3) -> bytes:
    config = load_preset(name)
    weights = random_weights(config, seed)
    return cppn_model_bytes(weights, preset=config.name, seed=seed, config=to_dict(config), z_prior=config.z_prior)


def _with_onnx_helper(data: bytes) -> bytes:
    """The same model built again from its parts by onnx.helper and serialised by protobuf."""
    model = onnx.load_from_string(data)
    graph = model.graph
    nodes = [
        helper.make_node(n.op_type, n.input, n.output, **{a.name: helper.get_attribute_value(a) for a in n.attribute})
        for n in graph.node
    ]
    inits = [numpy_helper.from_array(numpy_helper.to_array(t), t.name) for t in graph.initializer]

    def value_info(v: onnx.ValueInfoProto) -> onnx.ValueInfoProto:
        dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in v.type.tensor_type.shape.dim]
        return helper.make_tensor_value_info(v.name, v.type.tensor_type.elem_type, dims)

    inputs, outputs = [value_info(v) for v in graph.input], [value_info(v) for v in graph.output]
    rebuilt = helper.make_model(
        helper.make_graph(nodes, graph.name, inputs, outputs, inits),
        opset_imports=[helper.make_opsetid("", model.opset_import[0].version)],
        producer_name=model.producer_name,
        producer_version=model.producer_version,
    )
    rebuilt.ir_version = IR_VERSION
    helper.set_model_props(rebuilt, {p.key: p.value for p in model.metadata_props})
    return rebuilt.SerializeToString()


@pytest.mark.parametrize("name", CPPN_PRESETS)
def test_preset_bytes_are_the_bytes_onnx_helper_writes(name):
    data = _preset_bytes(name)
    assert data == _with_onnx_helper(data)
    onnx.checker.check_model(onnx.load_from_string(data))


def test_encoder_graph_through_the_builder_is_unchanged():
    rng = np.random.default_rng(0)
    layers = [(rng.normal(size=(16, 8)).astype(np.float32), np.zeros(8, np.float32))]
    mu = (rng.normal(size=(8, 4)).astype(np.float32), np.zeros(4, np.float32))
    model = encoder_model(layers, mu, channels=1, crop=4, data_size=4, preset="t")
    data = model.SerializeToString()
    assert data == _with_onnx_helper(data)


@pytest.mark.parametrize("name", ["classic", "wide"])
def test_reader_sees_what_onnx_sees(name):
    data = _preset_bytes(name)
    model, info = onnx.load_from_string(data), read_model(data)
    assert info.metadata == {p.key: p.value for p in model.metadata_props}
    assert info.initializer_dims == [tuple(t.dims) for t in model.graph.initializer]

    def dims(v):
        return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in v.type.tensor_type.shape.dim]

    assert info.inputs == [(v.name, dims(v)) for v in model.graph.input]
    assert info.outputs == [(v.name, dims(v)) for v in model.graph.output]


def test_reader_takes_packed_dims_and_refuses_damaged_bytes():
    packed = b"\x0a\x02\x02\x05\x10\x01"  # a TensorProto: dims [2, 5] packed (field 1, wire 2), FLOAT
    graph = b"\x2a" + bytes([len(packed)]) + packed
    model = b"\x3a" + bytes([len(graph)]) + graph
    assert read_model(model).initializer_dims == [(2, 5)]
    data = _preset_bytes("classic")
    for damaged in (data[: len(data) // 2], data[:-3], b"\xff" * 40, b"\x0b\x00"):
        with pytest.raises(DecodeError):
            read_model(damaged)


def test_a_graph_given_twice_is_merged_as_protobuf_merges_it():
    """Two serialised messages one after the other are one merged message: a file may split its
    graph so, and the checks must see what onnxruntime sees."""
    model = onnx.load_from_string(_preset_bytes("classic"))
    first, second = onnx.ModelProto(), onnx.ModelProto()
    first.graph.input.extend(model.graph.input)
    second.graph.output.extend(model.graph.output)
    second.graph.initializer.extend(model.graph.initializer)
    second.metadata_props.extend(model.metadata_props)
    data = first.SerializeToString() + second.SerializeToString()
    merged, info = onnx.load_from_string(data), read_model(data)
    assert [v.name for v in merged.graph.input] == [name for name, _ in info.inputs] == ["coords", "z"]
    assert [v.name for v in merged.graph.output] == [name for name, _ in info.outputs] == ["rgb"]
    assert len(info.initializer_dims) == len(merged.graph.initializer) and info.metadata["preset"] == "classic"


# Each command runs through the console script's main() in a fresh interpreter; then sys.modules
# says what the command imported.
IMPORTS_OF = """
import sys
from cppnart.cli import main
sys.argv = ["cppnart", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
heavy = sorted(m for m in ("onnx", "torch", "kornia", "ml_dtypes") if m in sys.modules)
print("HEAVY", heavy)
print("NUMPY", "numpy" in sys.modules)
from cppnart.cli import GROUPS
print("GROUPS", sorted({g[0] for g in GROUPS if f"cppnart.cli.{g[0]}" in sys.modules}))
"""


def test_render_help_and_info_import_neither_onnx_nor_torch(tmp_path):
    png = tmp_path / "a.png"
    commands = [
        ["render", "classic", "--res", "8x8", "--seed", "1", "-o", str(png)],
        ["--help"],
        ["render", "--help"],
        ["info", str(png)],
        ["info", str(png), "--json"],
        ["info", "classic"],
        ["export", "classic", "--seed", "1", "-o", str(tmp_path / "m.onnx")],
        ["info", str(tmp_path / "m.onnx")],
        ["render", str(tmp_path / "m.onnx"), "--res", "8x8", "-o", str(tmp_path / "b.png")],
    ]
    for args in commands:
        done = subprocess.run([sys.executable, "-c", IMPORTS_OF, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (args, done.stderr)
        assert "HEAVY []" in done.stdout, (args, done.stdout)
        if args in (["--help"], ["render", "--help"]):  # the choices come from configs.choices
            assert "NUMPY False" in done.stdout, (args, done.stdout)
        groups = done.stdout.split("GROUPS ", 1)[1].strip()
        if args[0] in ("render", "export"):  # a named command loads its own group only (cli.GROUPS)
            assert groups == "['render']", (args, groups)
        elif args[0] == "info":
            assert groups == "['info']", (args, groups)
        elif args == ["--help"]:  # the root's help lists the commands from cli.SUMMARIES
            assert groups == "[]", (args, groups)


def test_the_command_table_names_every_command_its_module_defines():
    """cli.GROUPS (which module a command line's first word loads) against the whole app: the
    same commands in the same order, each group giving exactly the names the table says."""
    import typer.main

    from cppnart import cli

    whole = typer.main.get_command(cli.build_app())
    assert list(whole.commands) == [name for *_, names in cli.GROUPS for name in names]  # type: ignore[attr-defined]
    for module, attr, _, names in cli.GROUPS:
        alone = typer.main.get_command(cli.build_app(set(names)))
        assert set(alone.commands) == set(names), (module, attr)  # type: ignore[attr-defined]
    assert cli.commands_for(["dream", "--help"]) == {"dream"} and cli.commands_for(["z", "sample"]) == {"z"}
    assert cli.commands_for(["rendr"]) is None and cli.commands_for(["--help"]) is None


def test_the_root_help_from_summaries_is_the_whole_apps_help(monkeypatch):
    """`cppnart --help` (and `cppnart`, `-h`) lists the commands from cli.SUMMARIES without their
    modules: byte for byte the help of the whole app, so a changed docstring fails here."""
    from typer.testing import CliRunner

    from cppnart import cli

    monkeypatch.setenv("COLUMNS", "100")
    runner = CliRunner()
    whole = runner.invoke(cli.build_app(), ["--help"], prog_name="cppnart")
    assert whole.exit_code == 0 and "render" in whole.output
    assert list(cli.SUMMARIES) == [name for *_, names in cli.GROUPS for name in names]
    for argv in (["--help"], ["-h"]):
        assert cli.help_only(argv)
        quick = runner.invoke(cli.app_for(argv), argv, prog_name="cppnart")
        assert (quick.exit_code, quick.output) == (0, whole.output)
    assert cli.help_only([]) and cli.help_only(["--version"]) and not cli.help_only(["render", "--help"])
    monkeypatch.setenv("_CPPNART_COMPLETE", "complete_bash")  # completion needs the real commands
    assert not cli.help_only(["--help"])


# The console script's start-up, with its stop handlers installed as its first statement does
# (`cppnart.cli` installs them when sys.argv[0] is the script; here argv[0] is "-c"), then "up" so
# the test knows the interpreter itself has started: signals before that are Python's, not ours.
STARTING = """
import sys
from cppnart.errors import install_stop_handlers
install_stop_handlers()
sys.stdout.write("up\\n")
sys.stdout.flush()
from cppnart.cli import main
sys.argv = ["cppnart", *sys.argv[1:]]
main()
"""
STARTS = {  # what each start-up imports: onnx and onnxruntime (their C++ extensions), or the render path
    "export glsl": ["export", "classic", "--seed", "1", "--format", "glsl", "-o", "out.glsl"],
    "render": ["render", "classic", "--seed", "1", "--res", "8x8", "-o", "out.png", "-q"],
}
SIGNAL_POINTS: list[tuple[str, str, float, int]] = []


def _start(args: list[str], cwd) -> tuple[subprocess.Popen, float]:
    import time

    proc = subprocess.Popen(
        [sys.executable, "-c", STARTING, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"up\n", proc.communicate()
    return proc, time.perf_counter()


@pytest.mark.parametrize("name", list(STARTS))
def test_a_stop_signal_at_any_point_of_start_up_exits_as_the_signal(name, tmp_path):
    """SIGTERM or SIGINT at evenly spread instants of start-up, imports of C++ extensions included:
    exit 128 + n with one line and no file, or 0 with the whole file; never an abort (-6) or a kill."""
    import signal
    import time

    args = STARTS[name]
    proc, started = _start(args, tmp_path)
    assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    whole = time.perf_counter() - started
    (tmp_path / args[args.index("-o") + 1]).unlink()
    points = 10
    for k in range(points):
        sig = signal.SIGTERM if k % 2 == 0 else signal.SIGINT
        delay = whole * 1.1 * k / (points - 1)
        proc, started = _start(args, tmp_path)
        time.sleep(max(0.0, delay - (time.perf_counter() - started)))
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        SIGNAL_POINTS.append((name, sig.name, round(delay, 3), proc.returncode))
        left = sorted(p.name for p in tmp_path.iterdir())
        assert proc.returncode in (0, 128 + sig), (delay, proc.returncode, err.decode()[-600:])
        out = args[args.index("-o") + 1]
        if proc.returncode == 0:
            assert left == [out]
        else:  # nothing, or (a signal in the last instant, after the rename) the whole file
            assert left in ([], [out]), left
            assert len(err.decode().splitlines()) == 1, err.decode()
        if left:
            assert (tmp_path / out).stat().st_size > 0
            if out.endswith(".png"):
                with Image.open(tmp_path / out) as image:
                    image.load()
            (tmp_path / out).unlink()
    print(f"\n{name}: {points} start-up points over {whole:.2f} s:", [p[1:] for p in SIGNAL_POINTS if p[0] == name])
