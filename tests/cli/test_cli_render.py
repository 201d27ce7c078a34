"""`cppnart render`, `export`, `info`, `presets`, `z sample` as a user runs them."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import png
import pytest
from PIL import Image

from cppnart.cli import app
from cppnart.io.metadata import read_recipe

from ..conftest import files_in


def run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:  # a second reader: Pillow, not our pypng writer
        return np.asarray(image)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_render_writes_a_poster_and_prints_seed_and_path(runner, tmp_path):
    out = tmp_path / "poster.png"
    result = run(runner, "render", "--res", "90x50", "--seed", 7, "--out", out)
    assert result.exit_code == 0, result.output
    assert "seed 7" in result.output and str(out) in result.output
    image = pixels(out)
    assert image.shape == (50, 90, 3) and image.dtype == np.uint8
    assert image.std() > 10
    assert files_in(tmp_path) == ["poster.png"]


def test_default_output_name_encodes_the_recipe(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(runner, "render", "grey", "--res", "16x16", "--seed", 3)
    assert result.exit_code == 0, result.output
    assert pixels(tmp_path / "grey-3-16x16.png").shape == (16, 16)  # greyscale PNG
    # another view of the same seed gets its own name instead of replacing the first picture
    assert run(runner, "render", "grey", "--res", "16x16", "--seed", 3, "--zoom", 2).exit_code == 0
    assert len(list(tmp_path.glob("grey-3-16x16*.png"))) == 2


def test_drawn_seed_is_printed_and_reproduces(runner, tmp_path):
    first = run(runner, "render", "--res", "20x12", "-o", tmp_path / "a.png")
    seed = int(first.output.split("seed ")[1].split()[0])
    run(runner, "render", "--res", "20x12", "--seed", seed, "-o", tmp_path / "b.png")
    assert np.array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "b.png"))


def test_same_seed_same_bytes_different_seed_different_image(runner, tmp_path):
    for name, seed in [("a", 5), ("b", 5), ("c", 6)]:
        assert (
            run(runner, "render", "sine", "--res", "40x30", "--seed", seed, "-o", tmp_path / f"{name}.png").exit_code
            == 0
        )
    assert digest(tmp_path / "a.png") == digest(tmp_path / "b.png")
    assert not np.array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "c.png"))


def test_chunk_option_does_not_change_pixels(runner, tmp_path):
    run(runner, "render", "--res", "33x21", "--seed", 1, "--chunk", 33, "-o", tmp_path / "rows.png")
    run(runner, "render", "--res", "33x21", "--seed", 1, "--chunk", 100000, "-o", tmp_path / "one.png")
    assert np.array_equal(pixels(tmp_path / "rows.png"), pixels(tmp_path / "one.png"))


def test_sixteen_bit_png_matches_eight_bit(runner, tmp_path):
    run(runner, "render", "--res", "24x16", "--seed", 2, "--bits", 16, "-o", tmp_path / "deep.png")
    run(runner, "render", "--res", "24x16", "--seed", 2, "-o", tmp_path / "flat.png")
    # Pillow reduces 16-bit RGB to 8 bits on read, so read the samples with pypng's decoder
    width, height, rows, info = png.Reader(filename=str(tmp_path / "deep.png")).asDirect()
    assert info["bitdepth"] == 16 and (width, height) == (24, 16)
    deep = np.array([np.frombuffer(np.asarray(row, dtype=np.uint16).tobytes(), np.uint16) for row in rows]).reshape(
        16, 24, 3
    )
    flat = pixels(tmp_path / "flat.png")
    assert len(np.unique(deep)) > len(np.unique(flat))
    assert np.abs(deep.astype(np.float64) / 65535 - flat.astype(np.float64) / 255).max() <= 0.5 / 255 + 1e-6


def test_from_reproduces_the_same_pixels_and_rerenders_larger(runner, tmp_path):
    first = tmp_path / "first.png"
    run(
        runner,
        "render",
        "softplus",
        "--res",
        "40x24",
        "--seed",
        9,
        "--zoom",
        1.5,
        "--center",
        "0.2,-0.1",
        "--supersample",
        2,
        "-o",
        first,
    )
    again = tmp_path / "again.png"
    result = run(runner, "render", "--from", first, "-o", again)
    assert result.exit_code == 0, result.output
    assert np.array_equal(pixels(first), pixels(again))
    recipe = read_recipe(first)
    assert recipe["seed"] == 9 and recipe["zoom"] == 1.5 and recipe["center"] == [0.2, -0.1]
    big = tmp_path / "big.png"
    assert run(runner, "render", "--from", first, "--res", "80x48", "-o", big).exit_code == 0
    small_again = np.asarray(Image.open(big).resize((40, 24), Image.Resampling.BOX), dtype=np.float64)
    assert np.abs(small_again - pixels(first)).mean() < 6  # the same picture, twice the size


def test_from_works_when_the_preset_file_is_gone(runner, tmp_path, tiny_preset):
    out = tmp_path / "tiny.png"
    run(runner, "render", tiny_preset, "--res", "20x20", "--seed", 4, "-o", out)
    tiny_preset.unlink()  # the architecture travels inside the image's recipe
    again = tmp_path / "again.png"
    assert run(runner, "render", "--from", out, "-o", again).exit_code == 0
    assert np.array_equal(pixels(out), pixels(again))


def test_z_sample_is_the_z_render_draws(runner, tmp_path):
    z = tmp_path / "z.npy"
    assert run(runner, "z", "sample", "--model", "classic", "--seed", 12, "-o", z).exit_code == 0
    assert np.load(z).shape == (8,)
    run(runner, "render", "--res", "20x12", "--seed", 12, "-o", tmp_path / "a.png")
    run(runner, "render", "--res", "20x12", "--seed", 12, "--z", z, "-o", tmp_path / "b.png")
    assert np.array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "b.png"))
    refused = run(runner, "z", "sample", "--dim", 8, "--seed", 13, "-o", z)  # other latents: the overwrite rule
    assert refused.exit_code == 2 and "pass --force to replace it" in refused.output
    assert run(runner, "z", "sample", "--dim", 8, "--seed", 13, "-o", z, "--force").exit_code == 0
    run(runner, "render", "--res", "20x12", "--seed", 12, "--z", z, "-o", tmp_path / "c.png")
    assert not np.array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "c.png"))


def test_export_writes_a_checked_onnx_that_renders_like_the_preset(runner, tmp_path):
    model = tmp_path / "classic.onnx"
    result = run(runner, "export", "classic", "--seed", 3, "-o", model)
    assert result.exit_code == 0, result.output
    proto = onnx.load(model)
    onnx.checker.check_model(proto, full_check=True)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["kind"] == "cppn" and meta["z_dim"] == "8" and meta["seed"] == "3" and meta["preset"] == "classic"
    run(runner, "render", model, "--res", "30x20", "--seed", 3, "-o", tmp_path / "from_onnx.png")
    run(runner, "render", "classic", "--res", "30x20", "--seed", 3, "-o", tmp_path / "from_preset.png")
    assert np.array_equal(pixels(tmp_path / "from_onnx.png"), pixels(tmp_path / "from_preset.png"))
    info = run(runner, "info", model)
    assert info.exit_code == 0 and "z_dim" in info.output and "classic" in info.output


def test_presets_info_version_and_help(runner):
    listing = run(runner, "presets")
    assert listing.exit_code == 0
    for name in ("classic", "sine", "grey"):
        assert name in listing.output
    assert "tanh" in run(runner, "info", "classic").output
    assert run(runner, "--version").output.startswith("cppnart ")
    for command in (["render"], ["export"], ["presets"], ["info"], ["z", "sample"]):
        help_text = run(runner, *command, "--help").output
        assert "Example:" in help_text


def _bad_inputs(tmp_path: Path) -> dict[str, list]:
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07this is not a protobuf at all" * 3)
    short_z = tmp_path / "short.npy"
    np.save(short_z, np.zeros(5, np.float32))
    nan_z = tmp_path / "nan.npy"
    np.save(nan_z, np.array([0, 1, np.nan, 0, 0, 0, 0, 0], np.float32))
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([{"z": 1}], dtype=object), allow_pickle=True)
    bad_key = tmp_path / "badkey.toml"
    bad_key.write_text('kind = "cppn"\ncolour = true\n')
    return {
        "res 0x10": ["--res", "0x10"],
        "res 10": ["--res", "10"],
        "res abcx10": ["--res", "abcx10"],
        "res -5x5": ["--res", "-5x5"],
        "missing model": [tmp_path / "missing.onnx"],
        "corrupt onnx": [corrupt],
        "short z": ["--z", short_z],
        "nan z": ["--z", nan_z],
        "pickled z": ["--z", pickled],
        "unknown preset": ["no-such-preset"],
        "unknown key": [bad_key],
        "missing folder": ["--out", tmp_path / "nowhere" / "x.png"],
        "chunk 0": ["--chunk", 0],
        "bits 12": ["--bits", 12],
        "zoom 0": ["--zoom", 0],
        "center": ["--center", "1;2"],
        "supersample 0": ["--supersample", 0],
        "not png": ["--out", tmp_path / "out" / "x.jpg"],
    }


BAD_CASES = [
    "res 0x10",
    "res 10",
    "res abcx10",
    "res -5x5",
    "missing model",
    "corrupt onnx",
    "short z",
    "nan z",
    "pickled z",
    "unknown preset",
    "unknown key",
    "missing folder",
    "chunk 0",
    "bits 12",
    "zoom 0",
    "center",
    "supersample 0",
    "not png",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_exits_2_with_one_line_and_no_file(runner, tmp_path, case):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    args = _bad_inputs(inputs)[case]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    if "--out" not in args:
        args = [*args, "--out", out_dir / "poster.png"]
    if "--res" not in args:
        args += ["--res", "16x16"]
    result = run(runner, "render", *args)
    assert result.exit_code == 2, (case, result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    assert files_in(out_dir) == []


def test_errors_name_the_problem(runner, tmp_path):
    z = tmp_path / "z.npy"
    np.save(z, np.zeros(5, np.float32))
    assert (
        "5 values but the model takes z of size 8" in run(runner, "render", "--z", z, "-o", tmp_path / "a.png").output
    )
    assert "pickled" in run(runner, "render", "--z", _pickle(tmp_path), "-o", tmp_path / "a.png").output
    assert "2880x1800" in run(runner, "render", "--res", "10", "-o", tmp_path / "a.png").output


def _pickle(tmp_path: Path) -> Path:
    path = tmp_path / "p.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array(f, np.array([{"z": [1, 2]}], dtype=object), allow_pickle=True)
    return path


TORCH_BLOCKED = """
import sys
sys.modules['torch'] = None  # any `import torch` now raises ImportError
sys.modules['kornia'] = None
from typer.testing import CliRunner
from cppnart.cli import app
r = CliRunner()
for args in (['render', '--res', '32x20', '--seed', '1', '-o', sys.argv[1] + '/a.png'],
             ['z', 'sample', '--seed', '1', '-o', sys.argv[1] + '/z.npy'],
             ['presets'], ['info', 'classic'],
             ['export', 'classic', '--seed', '1', '-o', sys.argv[1] + '/m.onnx'],
             ['render', sys.argv[1] + '/m.onnx', '--res', '32x20', '-o', sys.argv[1] + '/b.png']):
    result = r.invoke(app, args)
    assert result.exit_code == 0, (args, result.output, result.exception)
print('ok')
"""

NO_TORCH_IMPORTED = """
import sys
from typer.testing import CliRunner
from cppnart.cli import app
result = CliRunner().invoke(app, ['render', '--res', '16x16', '--seed', '1', '-o', sys.argv[1] + '/c.png'])
assert result.exit_code == 0, result.output
assert 'torch' not in sys.modules, 'the render path imported torch'
print('ok')
"""


@pytest.mark.parametrize("script", [TORCH_BLOCKED, NO_TORCH_IMPORTED], ids=["torch-unimportable", "torch-not-imported"])
def test_render_path_needs_no_torch(tmp_path, script):
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr


def test_device_cuda_without_cuda_is_a_one_line_error(runner, tmp_path):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has onnxruntime-gpu")
    result = run(runner, "render", "--res", "8x8", "--device", "cuda", "-o", tmp_path / "a.png")
    assert result.exit_code == 2 and "onnxruntime-gpu" in result.output
    assert result.output.startswith("error: --device cuda") and "{param}" not in result.output  # flags, in the CLI
    assert files_in(tmp_path) == []
