"""`cppnart grid`: contact sheets whose cells can be found again."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cppnart.cli import app
from cppnart.io.metadata import read_grid
from cppnart.render.sheets import cell_origin

from ..conftest import files_in

CW, CH = 32, 24


def run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def work(tmp_path: Path, tiny_preset: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    return tmp_path


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def crop(sheet: np.ndarray, index: int, cols: int, labelled: bool = True, gap: int = 4) -> np.ndarray:
    x, y = cell_origin(index, cols, CW, CH, gap, labelled)
    return sheet[y : y + CH, x : x + CW]


def test_seed_cells_are_the_renders_of_those_seeds(runner, work):
    result = run(
        runner, "grid", "--model", "tiny.toml", "--seeds", "3-6", "--cell", f"{CW}x{CH}", "-o", "out/sheet.png"
    )
    assert result.exit_code == 0, result.output
    assert "cppnart render" in result.output and "--seed 5" in result.output  # the printed legend
    sheet = pixels(work / "out/sheet.png")
    cells = read_grid(work / "out/sheet.png")["cells"]
    assert [c["seed"] for c in cells] == [3, 4, 5, 6] and [c["label"] for c in cells] == [
        f"seed {s}" for s in range(3, 7)
    ]
    for index, seed in ((0, 3), (3, 6)):  # each cell is exactly `cppnart render MODEL --seed S`
        result = run(runner, "render", "tiny.toml", "--seed", seed, "--res", f"{CW}x{CH}", "--out", f"s{seed}.png")
        assert result.exit_code == 0, result.output
        assert np.abs(crop(sheet, index, cols=2) - pixels(work / f"s{seed}.png")).max() <= 1
    assert not np.array_equal(crop(sheet, 0, 2), crop(sheet, 1, 2))  # different seeds, different art


def test_latent_cells_are_recoverable_with_z_get(runner, work):
    z = np.random.default_rng(1).uniform(-1, 1, (3, 4)).astype(np.float32)
    np.save("many.npy", z)
    np.save("one.npy", z[0] * 0.5)
    result = run(
        runner,
        "grid",
        "many.npy",
        "one.npy",
        "--model",
        "tiny.toml",
        "--seed",
        2,
        "--cell",
        f"{CW}x{CH}",
        "--cols",
        4,
        "--save-z",
        "out/cells.npy",
        "-o",
        "out/sheet.png",
    )
    assert result.exit_code == 0, result.output
    assert "many.npy[2]" in result.output and "z get" in result.output
    result = run(runner, "z", "get", "out/sheet.png", "--cell", 2, "-o", "cell2.npy")
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load("cell2.npy"), z[2], atol=1e-7)
    np.testing.assert_allclose(np.load("out/cells.npy")[3], z[0] * 0.5, atol=1e-7)
    # and the cell re-renders from its latent with the sheet's weights seed
    result = run(
        runner, "render", "tiny.toml", "--seed", 2, "--z", "cell2.npy", "--res", f"{CW}x{CH}", "--out", "c2.png"
    )
    assert result.exit_code == 0, result.output
    assert np.abs(crop(pixels(work / "out/sheet.png"), 2, cols=4) - pixels(work / "c2.png")).max() <= 1


def test_info_describes_a_sheet_cell_by_cell(runner, work):
    result = run(
        runner, "grid", "--model", "tiny.toml", "--seeds", "3,8", "--cell", f"{CW}x{CH}", "-o", "out/sheet.png"
    )
    assert result.exit_code == 0, result.output
    result = run(runner, "info", "out/sheet.png")
    assert result.exit_code == 0, result.output
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in result.output.splitlines())  # "key  value"
    assert rows["cells"].startswith("2 (take one with `cppnart z get")
    assert (rows["cell 0"], rows["cell 1"], rows["cell"], rows["preset"]) == (
        "seed 3",
        "seed 8",
        f"[{CW}, {CH}]",
        "tiny",
    )


def test_fixed_weights_explore_one_network(runner, work):
    result = run(
        runner,
        "grid",
        "--model",
        "tiny.toml",
        "--seed",
        9,
        "--seeds",
        "1,2",
        "--cell",
        f"{CW}x{CH}",
        "--no-labels",
        "-o",
        "out/sheet.png",
    )
    assert result.exit_code == 0, result.output
    cells = read_grid(work / "out/sheet.png")["cells"]
    assert [c["weights_seed"] for c in cells] == [9, 9]
    labelled = run(
        runner,
        "grid",
        "--model",
        "tiny.toml",
        "--seed",
        9,
        "--seeds",
        "1,2",
        "--cell",
        f"{CW}x{CH}",
        "-o",
        "out/labelled.png",
    )
    assert labelled.exit_code == 0
    plain, with_labels = pixels(work / "out/sheet.png"), pixels(work / "out/labelled.png")
    assert with_labels.shape[0] > plain.shape[0]  # a label strip under each row
    strip = with_labels[4 + CH : 4 + CH + 12, 4 : 4 + CW]
    assert strip.max() > 150  # light text on the dark strip


@pytest.mark.parametrize(
    "args,message",
    [
        (["--seeds", "6-2"], "backwards"),
        (["--seeds", "one"], "list of seeds"),
        (["a.npy", "--seeds", "1-2"], "not both"),
        (["--seeds", "1-2", "-o", "out/sheet.jpg"], "must end in .png"),
        (["--seeds", "1-2", "-o", "missing/sheet.png"], "does not exist"),
        (["--seeds", "1-2", "--cols", "0"], "--cols"),
        (["--seeds", "1-2", "--cell", "0x5"], "at least 1"),
        (["wrong.npy"], "6 values"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_file(runner, work, args, message):
    np.save("a.npy", np.zeros(4, np.float32))
    np.save("wrong.npy", np.zeros(6, np.float32))
    before = files_in(work)
    out = [] if "-o" in args else ["-o", "out/sheet.png"]
    size = [] if "--cell" in args else ["--cell", f"{CW}x{CH}"]
    result = run(runner, "grid", *args, *out, "--model", "tiny.toml", *size)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert files_in(work) == before and files_in(work / "out") == []
