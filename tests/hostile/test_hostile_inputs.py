"""Hostile and careless inputs: every parser, checker and file reader either accepts a value or
raises one UserError; nothing else escapes (no traceback, no MemoryError, no hang).

Hypothesis draws the inputs; the tables name the cases the issue's probe found. Each property
counts the distinct inputs it tried in ``TRIED`` (printed by the last test, for the report).
"""

from __future__ import annotations

import gzip
import json
import math
import struct

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cppnart.cli import app
from cppnart.cli.output import parse_center, parse_res
from cppnart.configs.recipe import check_grid_sheet, check_recipe
from cppnart.configs.schema import MAX_SIDE, RANGES, check_param, json_depth, loads_bounded
from cppnart.configs.view import View
from cppnart.errors import UserError
from cppnart.io.images import read_idx
from cppnart.io.metadata import read_animation_recipe
from cppnart.io.npy import load_npy
from cppnart.render.model import load_model
from cppnart.render.onnx_checks import check_generator

from ..conftest import files_in

TRIED: dict[str, set[str]] = {}
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def tried(name: str, value: object) -> None:
    TRIED.setdefault(name, set()).add(repr(value)[:200])


def accepts_or_refuses(func, *args):
    """Call ``func``; a UserError is a refusal, anything else escaping fails the test."""
    try:
        return func(*args)
    except UserError as exc:
        assert "\n" not in str(exc), str(exc)  # one line
        return None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)
numbers = st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5), st.none())


@FAST
@given(name=st.sampled_from(sorted(RANGES)), value=numbers)
def test_every_range_accepts_or_names_the_parameter(name, value):
    tried("ranges", (name, value))
    try:
        assert check_param(name, value) == value
        assert RANGES[name].low <= value <= RANGES[name].high
    except UserError as exc:
        assert str(exc).startswith(name + " ")


@FAST
@given(zoom=numbers, x=numbers, y=numbers)
def test_views_are_finite_and_in_range(zoom, x, y):
    tried("views", (zoom, x, y))
    view = accepts_or_refuses(View, zoom, (x, y))
    if view is not None:
        assert math.isfinite(view.zoom) and view.zoom > 0 and all(math.isfinite(c) for c in view.center)


@FAST
@given(text=st.text(max_size=30))
def test_res_and_center_parsers(text):
    tried("res/center text", text)
    res = accepts_or_refuses(parse_res, text)
    if res is not None:
        assert min(res) >= 1 and max(res) <= MAX_SIDE
    center = accepts_or_refuses(parse_center, text)
    if center is not None:
        assert all(math.isfinite(c) for c in center)


@FAST
@given(recipe=json_values)
def test_recipes_are_checked_field_by_field(recipe, tmp_path):
    tried("recipes", recipe)
    checked = accepts_or_refuses(check_recipe, recipe, "the recipe", tmp_path)
    if checked is not None and "z" in checked:
        assert all(math.isfinite(v) for v in checked["z"])
    accepts_or_refuses(check_grid_sheet, recipe, "the sheet")


@FAST
@given(fields=st.fixed_dictionaries({}, optional={
    "seed": numbers, "supersample": numbers, "zoom": numbers, "bits": numbers,
    "res": st.lists(numbers, max_size=3), "center": st.lists(numbers, max_size=3),
    "z": st.lists(numbers, max_size=4), "model": st.text(max_size=20),
}))  # fmt: skip
def test_recipe_fields_of_the_right_names(fields, tmp_path):
    tried("recipe fields", fields)
    accepts_or_refuses(check_recipe, fields, "the recipe", tmp_path)


def test_recipe_models_stay_in_their_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for bad in ("/etc/passwd", "../../secret.onnx", "/tmp/../etc/shadow", "a" * 5000, "x\0.onnx"):
        tried("recipe models", bad)
        with pytest.raises(UserError):
            check_recipe({"model": bad}, "r", tmp_path / "sub")
    assert check_recipe({"model": "classic"}, "r", tmp_path)["model"] == "classic"
    assert check_recipe({"model": "runs/m.onnx"}, "r", tmp_path)["model"] == "runs/m.onnx"


@FAST
@given(text=st.text(alphabet='[]{}"\\:,0123456789a ', max_size=200))
def test_bounded_json(text):
    tried("json text", text)
    value = accepts_or_refuses(loads_bounded, text, "'x'")
    if value is not None:
        assert json_depth(value) <= 8


def test_deep_json_is_refused_without_recursion():
    for depth in (9, 100, 100_000):
        tried("json text", depth)
        with pytest.raises(UserError, match="deeper"):
            loads_bounded("[" * depth + "]" * depth, "'x'")


def _npy_header(shape, descr="<f4") -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * (63 - len(header) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


@FAST
@given(data=st.binary(max_size=200))
def test_npy_reader_on_random_bytes(data, tmp_path):
    tried("npy bytes", data)
    path = tmp_path / "z.npy"
    path.write_bytes(data)
    accepts_or_refuses(load_npy, path)


@pytest.mark.parametrize(
    "header",
    [
        _npy_header((100_000, 1_000_000)),  # claims 400 GB in 80 bytes
        _npy_header((2**62, 2)),
        _npy_header((3,), "|O"),  # pickled objects
        _npy_header((3,), "<U4"),
        _npy_header((1,) * 20),
        _npy_header((10,)),  # claims 40 bytes, holds none
        b"\x93NUMPY\x09\x00",
    ],
)
def test_npy_headers_are_checked_before_allocation(header, tmp_path):
    tried("npy headers", header)
    path = tmp_path / "z.npy"
    path.write_bytes(header)
    with pytest.raises(UserError):
        load_npy(path)


def _idx(shape, data=b"", dtype=0x08) -> bytes:
    return bytes([0, 0, dtype, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + data


@FAST
@given(data=st.binary(max_size=100), gz=st.booleans())
def test_idx_reader_on_random_bytes(data, gz, tmp_path):
    tried("idx bytes", (data, gz))
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    accepts_or_refuses(read_idx, path)


def test_gzip_idx_bomb_is_refused_before_inflating(tmp_path):
    # 8 MB of zeros claims 60000x1000x1000 bytes: the header alone is enough to refuse it.
    bomb = gzip.compress(_idx((60000, 1000, 1000)) + bytes(8 << 20), compresslevel=9)
    path = tmp_path / "bomb.gz"
    path.write_bytes(bomb)
    tried("idx bombs", "claims 60 GB")
    with pytest.raises(UserError, match="claims"):
        read_idx(path)
    ok = tmp_path / "ok.gz"
    ok.write_bytes(gzip.compress(_idx((2, 3, 3), bytes(18))))
    assert read_idx(ok).shape == (2, 3, 3)


@FAST
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".gif", ".webp"]))
def test_animation_recipe_reader_on_random_bytes(data, suffix, tmp_path):
    tried("animation bytes", (data, suffix))
    path = tmp_path / f"a{suffix}"
    path.write_bytes(b"RIFF\0\0\0\0WEBP" + data if suffix == ".webp" and data[:1] == b"R" else data)
    accepts_or_refuses(read_animation_recipe, path)


# --- ONNX files whose metadata lies ---------------------------------------------------------------


def _lie(proto: onnx.ModelProto, change) -> onnx.ModelProto:
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    change(copy)
    return copy


def _set_meta(key, value):
    def change(p):
        for prop in p.metadata_props:
            if prop.key == key:
                prop.value = value
                return
        p.metadata_props.add(key=key, value=value)

    return change


LIES = {
    "z_dim lies": _set_meta("z_dim", "5"),
    "z_dim huge": _set_meta("z_dim", "999999999"),
    "z_dim not a number": _set_meta("z_dim", "eight"),
    "channels lie": _set_meta("channels", "4"),
    "channels 1 for rgb": _set_meta("channels", "1"),
    "unknown interface": _set_meta("interface", "teapot"),
    "image without size": _set_meta("interface", "image"),
    "seed negative": _set_meta("seed", "-5"),
    "config not json": _set_meta("config", "{{{"),
    "config deep": _set_meta("config", "[" * 50 + "]" * 50),
    "output renamed": lambda p: setattr(p.graph.output[0], "name", "colour"),
    "input renamed": lambda p: setattr(p.graph.input[0], "name", "xy"),
    "extra input": lambda p: p.graph.input.append(onnx.helper.make_tensor_value_info("t", 1, [1])),
    "z rank 3": lambda p: p.graph.input[1].type.tensor_type.shape.dim.append(onnx.TensorShapeProto.Dimension()),
}


@pytest.mark.parametrize("lie", sorted(LIES))
def test_onnx_metadata_that_lies_is_refused(lie, tiny_preset, tmp_path):
    proto = onnx.load_from_string(load_model(tiny_preset, seed=1).onnx_bytes)
    check_generator(proto, "good.onnx")  # the honest file passes
    tried("onnx lies", lie)
    with pytest.raises(UserError):
        check_generator(_lie(proto, LIES[lie]), "bad.onnx")


# --- the CLI: one line, exit 2, nothing written ---------------------------------------------------

CLI_CASES = [
    ["render", "--res", "99999999x99999999"],
    ["render", "--res", "60000x60000", "--supersample", "16"],
    ["render", "--seed", "-1"],
    ["render", "--seed", str(2**64)],
    ["render", "--zoom", "0"],
    ["render", "--zoom", "nan"],
    ["render", "--zoom", "-1"],
    ["render", "--zoom", "1e-300"],
    ["render", "--center", "1e300,0"],
    ["render", "--supersample", "100"],
    ["render", "--chunk", "0"],
    ["render", "--bits", "12"],
    ["morph", "a.npy", "b.npy", "--frames", "1000000"],
    ["morph", "a.npy", "b.npy", "--hold", "-1"],
    ["morph", "a.npy", "b.npy", "--fps", "nan"],
    ["morph", "a.npy", "b.npy", "--batch", "0"],
    ["grid", "--cols", "0"],
    ["grid", "--gap", "-3"],
    ["grid", "--cell", "60000x60000", "--count", "4"],
    ["grid", "--count", "0"],
    ["z", "sample", "--dim", "0"],
    ["z", "sample", "--dim", "8", "--count", "0"],
    ["z", "sample", "--dim", "99999999"],
    ["z", "sample", "--dim", "8", "--seed", "-3"],
    ["z", "lerp", "a.npy", "b.npy", "--steps", "999999999"],
    ["grid", "--seeds", "1" * 5000],
    ["grid", "--seeds", "9999999999999999999"],
    ["render", "--res", "64x64\n\u2028x"],
]


@pytest.mark.parametrize("args", CLI_CASES, ids=[" ".join(a)[:60] for a in CLI_CASES])
def test_cli_refuses_out_of_range_numbers_in_one_line(args, runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("a.npy", np.zeros(8, np.float32))
    np.save("b.npy", np.ones(8, np.float32))
    before = files_in(tmp_path)
    out = {"render": "o.png", "morph": "o.gif", "grid": "o.png", "z": "o.npy"}[args[0]]
    result = runner.invoke(app, [*args, "-o", out])
    tried("cli", args)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error: "), result.output
    assert len(result.output) < 700 and len(result.output.splitlines()) == 1
    assert files_in(tmp_path) == before


def test_recipe_with_hostile_fields_is_one_line(runner, tmp_path, monkeypatch):
    """A PNG recipe made by someone else: huge sizes, wrong types, a path outside its folder."""
    from cppnart.io.png import write_png

    monkeypatch.chdir(tmp_path)
    cases = {
        "huge res": {"res": [99999999, 99999999]},
        "zero supersample": {"supersample": 0},
        "negative zoom": {"zoom": -1},
        "string seed": {"seed": "seven"},
        "float seed": {"seed": 1.5},
        "outside path": {"model": "/etc/passwd", "config": None},
        "nan z": {"z": [float("nan")] * 8},
        "deep config": {"config": json.loads("[" * 20 + "]" * 20)},
        "very deep z": {"z": "DEEP"},
        "config with huge depth": {"config": {"depth": 1_000_000}},
        "config with nan scale": {"config": {"scale": float("nan")}},
    }
    base = {"model": "classic", "preset": "classic", "seed": 1, "z": [0.1] * 8, "res": [8, 8], "zoom": 1.0,
            "center": [0.0, 0.0], "supersample": 1, "bits": 8, "version": "0"}  # fmt: skip
    for name, change in cases.items():
        recipe = {**base, **change}
        text = json.dumps(recipe, allow_nan=True).replace('"DEEP"', "[" * 100_000 + "]" * 100_000)
        write_png("r.png", 1, 1, 3, [np.zeros((1, 1, 3), np.float32)], text={"cppnart": text})
        before = files_in(tmp_path)
        result = runner.invoke(app, ["render", "--from", "r.png", "-o", "o.png"])
        tried("hostile recipes", name)
        assert result.exit_code == 2 and result.output.count("\n") == 1, (name, result.output)
        assert files_in(tmp_path) == before


def test_nan_or_empty_latents_are_never_saved(tmp_path):
    from cppnart.latent.io import save_z

    for bad in (np.array([np.nan, 1.0]), np.array([np.inf]), np.zeros((0, 8)), np.zeros((2, 0)), np.zeros((1, 1, 1))):
        tried("latents", bad.tolist())
        with pytest.raises(UserError):
            save_z(tmp_path / "z.npy", bad)
    assert files_in(tmp_path) == []


def test_non_finite_network_output_is_refused(tmp_path):
    """A preset whose weights overflow float32 would render black: it is refused instead."""
    from cppnart.configs.cppn import CPPNConfig
    from cppnart.render.model import model_from_config

    net = model_from_config(
        CPPNConfig(width=8, depth=12, activations=("identity",), init_scale=1e3, scale=1e6, output="sin"), 1, "x"
    )
    with pytest.raises(UserError, match="NaN or infinite"):
        net.render(None, 8, 8)


def test_decompression_bomb_is_one_line(tmp_path, monkeypatch):
    from PIL import Image

    from cppnart.io.images import open_image

    Image.new("L", (300, 300)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 90000 px > 2x the limit: a bomb to Pillow
    tried("images", "bomb")
    with pytest.raises(UserError, match="decompression bomb"):
        open_image(tmp_path / "big.png", 1)


def test_usage_errors_are_one_line_through_the_console_script(tmp_path):
    import subprocess
    import sys

    cases = [["render", "--bogus"], ["rendr"], ["render", "--supersample", "abc"], ["render", "--res"]]
    for args in cases:
        result = subprocess.run([sys.executable, "-m", "cppnart", *args], capture_output=True, text=True, cwd=tmp_path)
        tried("usage", args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith("error: ") and "╭" not in result.stderr


def test_zz_report_how_many_inputs_were_tried(capsys):
    with capsys.disabled():
        total = sum(len(v) for v in TRIED.values())
        print(f"\ndistinct hostile inputs tried: {total} " + str({k: len(v) for k, v in sorted(TRIED.items())}))
