"""Output for pipes and notebooks (issue 32): presets one line each at any width and TSV when
piped, a Grid that displays itself, training in the lazy top-level API, install hints that work
from the clone, grids of model files without a made-up weights seed, a cut data set said so."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cppnart.cli import app

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def invoke(*args: object, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def test_presets_piped_are_tab_separated_one_line_each():
    from cppnart.configs.presets import preset_names

    result = invoke("presets")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    listed = json.loads(invoke("presets", "--json").stdout)["presets"]
    assert [r[0] for r in rows] == list(preset_names()) == [p["name"] for p in listed]
    assert rows == [[p["name"], p["kind"], p["description"]] for p in listed]  # whole descriptions


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_presets_on_a_terminal_fit_its_width_one_line_each(columns):
    from cppnart.configs.presets import preset_names

    result = invoke("presets", env={"FORCE_COLOR": "1", "COLUMNS": str(columns), "TTY_COMPATIBLE": "1"})
    assert result.exit_code == 0, result.output
    lines = ANSI.sub("", result.stdout).splitlines()
    assert len(lines) == 1 + len(preset_names())  # a header and one line a preset
    assert lines[0].startswith("preset ") and (columns < 80 or lines[0].split() == ["preset", "kind", "description"])
    assert max(len(line) for line in lines) <= columns
    assert lines[1].startswith("abs ") and " cppn " in lines[1]
    if columns == 80:
        assert any(line.endswith("…") for line in lines)  # long descriptions are cut, visibly


def test_a_grid_displays_itself_in_a_notebook():
    import cppnart

    sheet = cppnart.grid(cppnart.load_model("classic"), seeds=[1, 2], cell=(24, 16), labelled=False)
    png = sheet._repr_png_()
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (sheet.image.shape[1], sheet.image.shape[0])
        assert np.array_equal(np.asarray(image.convert("RGB")), sheet.image)


def test_import_cppnart_stays_light_and_training_is_reachable():
    code = (
        "import sys, cppnart\n"
        "names = dir(cppnart)\n"
        "assert {'train_glyph', 'train_ganvae', 'train_fit', 'train_classifier', 'dream'} <= set(names)\n"
        "assert 'torch' not in sys.modules and 'onnxruntime' not in sys.modules, 'heavy import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    pytest.importorskip("torch")
    import cppnart
    from cppnart.train.dream import dream
    from cppnart.train.fit import fit_image
    from cppnart.train.glyph import train_glyph

    assert cppnart.train_fit is fit_image and cppnart.train_glyph is train_glyph and cppnart.dream is dream
    assert callable(cppnart.train_ganvae) and callable(cppnart.train_classifier) and callable(cppnart.fit_latents)
    with pytest.raises(AttributeError):
        cppnart.train_everything  # noqa: B018


CLONE_HINT = re.compile(
    r'(?:from the cppnart folder, pip install -e "\.\[(\w+)\]")|(?:pip install -e "\.\[(\w+)\]" in the cppnart folder)'
)


def extra_named(hint: str) -> str | None:
    found = CLONE_HINT.search(hint)
    return None if found is None else found.group(1) or found.group(2)


def test_no_hint_names_an_index_install_of_cppnart_or_replaces_the_editable_one():
    """`pip install 'cppnart[...]'` fails (cppnart is on no index): every hint names the clone's extra,
    with -e, so that following it keeps the set-up's editable install instead of replacing it."""
    package = Path(__file__).resolve().parent.parent / "cppnart"
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in package.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"cppnart\[", line) or re.search(r"""pip install ["']\.\[""", line)
    ]
    assert offenders == []


def test_the_view_ray_and_digits_hints_name_the_clones_extras():
    from cppnart.cli.view import VIEW_EXTRA
    from cppnart.cluster.connect import RAY_MISSING

    assert extra_named(VIEW_EXTRA) == "view"
    assert extra_named(RAY_MISSING) == "ray"


def test_eval_ganvae_without_scipy_and_no_digits_cache_is_one_line_naming_the_fix(tmp_path):
    """A render-only install (no scipy, no torch) with an empty digits cache: one line, exit 2."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"data": "builtin:digits", "data_limit": 100}))
    from cppnart.graph.encoder import encoder_model  # a real encoder.onnx: the command gets as far as the data
    from cppnart.graph.export import save_model

    layers = [(np.zeros((16, 4), np.float32), np.zeros(4, np.float32))]
    mu = (np.zeros((4, 2), np.float32), np.zeros(2, np.float32))
    save_model(encoder_model(layers, mu, channels=1, crop=4, data_size=4, preset="t"), run / "encoder.onnx")
    code = (
        "import sys; sys.modules['scipy'] = None; sys.modules['torch'] = None\n"
        "from cppnart.cli import main; sys.argv = ['cppnart', 'eval', 'ganvae', sys.argv[1]]; main()"
    )
    env = {**os.environ, "CPPNART_CACHE": str(tmp_path / "empty-cache")}
    done = subprocess.run([sys.executable, "-c", code, str(run)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert extra_named(lines[0]) == "train"
    assert "scipy" in lines[0] and "IDX file or an image folder" in lines[0]


def test_a_grid_of_a_model_file_says_no_weights_seed(tmp_path):
    """An exported file holds its weights: its grid's legend and cell commands name no --seed W."""
    model = tmp_path / "c.onnx"
    assert invoke("export", "classic", "--seed", "7", "-o", model).exit_code == 0
    result = invoke("grid", "--model", model, "--seeds", "1,2", "--cell", "24x16", "-o", tmp_path / "g.png")
    assert result.exit_code == 0, result.output
    assert "seed 7" not in result.output and "--seed 7" not in result.output
    from cppnart.io.metadata import read_grid

    grid = read_grid(tmp_path / "g.png")
    assert grid is not None and [c["weights_seed"] for c in grid["cells"]] == [None, None]
    preset = invoke(
        "grid", "--model", "classic", "--seed", "7", "--seeds", "1,2", "--cell", "24x16", "-o", tmp_path / "p.png"
    )
    assert preset.exit_code == 0 and "seed 7 · " in preset.output  # one preset network: its seed is real


def write_idx(path: Path, array: np.ndarray) -> Path:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))
    return path


def test_a_set_cut_to_a_limit_says_how_many_it_held(tmp_path):
    from cppnart.io.images import load_images

    data = write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.random.default_rng(0).integers(0, 255, (50, 8, 8)))
    assert load_images(data, limit=20).available == 50 and len(load_images(data, limit=20).images) == 20
    assert load_images(data).available is None and load_images(data, limit=80).available is None


def test_fashion_preset_says_it_uses_a_third_of_the_images():
    from cppnart.configs.presets import load_preset

    config = load_preset("ganvae-fashion")
    assert config.data_limit == 20000 and "20,000 of the 60,000" in config.description


def test_a_ganvae_run_on_a_cut_set_says_so_in_its_summary(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from .test_ganvae_cli import TINY_GANVAE

    monkeypatch.setenv("CPPNART_CACHE", str(tmp_path / "cache"))
    images = np.random.default_rng(1).integers(0, 255, (90, 16, 16))
    data = write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_GANVAE.replace("data_limit = 120", "data_limit = 60").replace("steps = 12", "steps = 2"))
    result = invoke("train", "ganvae", "--data", data, "--preset", preset, "--out", tmp_path / "run", "--threads", 1)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["images_available"] == 90 and summary["data_limit"] == 60


def test_view_without_the_extra_says_how_to_install_it(tmp_path):
    """A Python where starlette is missing, as on an install without the view extra: one line, exit 2."""
    code = "import sys; sys.modules['starlette'] = None; from cppnart.cli import main; sys.argv[0] = 'cppnart'; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "view", "classic", "--no-browser"], capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: `cppnart view` needs starlette") and extra_named(line) == "view"
