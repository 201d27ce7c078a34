"""`cppnart sweep`: a grid of tiny training runs, one folder each, a summary, resumed where it stopped,
here and on a real local Ray cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cppnart.cli import app
from cppnart.train.sweep import load_spec, plan_runs

from .conftest import files_in, one_error_line
from .glyph_fixtures import TINY_GLYPH

SPEC = """
presets = ["tiny.toml"]
seeds = [1]
steps = 6
[overrides]
"train.lr" = [1e-3, 3e-3]
"""


@pytest.fixture
def spec(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    text = TINY_GLYPH.replace("sample_every = 20", "sample_every = 100").replace(
        "eval_messages = 128", "eval_messages = 64"
    )
    (tmp_path / "tiny.toml").write_text(text)
    (tmp_path / "sweep.toml").write_text(SPEC)
    return tmp_path / "sweep.toml"


def test_sweep_trains_every_run_once_and_resumes(runner, spec, one_torch_thread):
    result = runner.invoke(app, ["sweep", str(spec), "--out", "sw", "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.splitlines()[-1])
    names = ["tiny-seed1-lr0.001", "tiny-seed1-lr0.003"]
    assert [r["run"] for r in report["runs"]] == names
    assert all(r["steps"] == 6 and -1 <= r["r2"] <= 1 and r["train.lr"] in (1e-3, 3e-3) for r in report["runs"])
    for name in names:
        assert {"model.onnx", "result.json", "checkpoint.pt"} <= set(files_in(Path("sw") / name))
    assert json.loads(Path("sw/summary.json").read_text()) == report["runs"]

    again = runner.invoke(app, ["sweep", str(spec), "--out", "sw", "--threads", "1"])
    assert again.exit_code == 0, again.output
    assert again.output.count("already finished") == 2  # nothing trained twice
    assert "tiny-seed1-lr0.001" in again.output and "r2" in again.output  # the summary table


def test_a_bad_spec_is_one_line_before_any_run(runner, spec):
    spec.write_text(SPEC.replace('"train.lr"', '"train.learning_rate"'))
    assert "no key 'learning_rate'" in one_error_line(runner.invoke(app, ["sweep", str(spec), "--out", "sw"]))
    spec.write_text("colour = 1\n" + SPEC)
    assert "unknown key 'colour'" in one_error_line(runner.invoke(app, ["sweep", str(spec), "--out", "sw"]))
    assert not Path("sw").exists()


def test_sweep_on_the_cluster_skips_finished_runs(ray_cluster, runner, spec, one_torch_thread):
    from cppnart.train.sweep import train_run

    spec.write_text(SPEC.replace("seeds = [1]", "seeds = [1, 2]").replace("1e-3, 3e-3", "3e-3"))
    first = plan_runs(load_spec(spec), Path("sw"))[0]
    done_here = train_run(first, "sw", threads=1)  # one run finished before the sweep starts
    result = runner.invoke(app, ["sweep", str(spec), "--out", "sw", "--cluster", "auto", "--json"])
    assert result.exit_code == 0, result.output
    runs = json.loads(result.output.splitlines()[-1])["runs"]
    assert [r["run"] for r in runs] == ["tiny-seed1-lr0.003", "tiny-seed2-lr0.003"]
    assert runs[0] == done_here  # read back, not trained again
    assert (Path("sw") / runs[1]["run"] / "model.onnx").is_file() and runs[1]["steps"] == 6
