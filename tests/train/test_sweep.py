"""`cppnart sweep`: a grid of tiny training runs, one folder each, a summary, resumed where it stopped,
here and on a real local Ray cluster."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cppnart.cli import app
from cppnart.train.sweep import load_spec, plan_runs

from ..conftest import files_in, one_error_line
from ..glyph_fixtures import TINY_GLYPH

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


RESUME_SPEC = """
presets = ["tiny.toml"]
seeds = [1]
steps = 240
"""
_UNINTERRUPTED: dict[str, dict] = {}


@pytest.mark.parametrize("where", ["here", "cluster"])
def test_an_interrupted_sweep_resumes_from_its_checkpoint(where, request, runner, spec, one_torch_thread):
    """Ctrl-C after the first checkpoint, the same command again: the run goes on from that
    checkpoint (on a cluster, the one its worker sent back) and ends as an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from cppnart.train.checkpoint import load_checkpoint
    from cppnart.train.sweep import train_run

    spec.write_text(RESUME_SPEC)
    preset = Path("tiny.toml")  # cheaper steps: fewer evaluations, smaller batches, a checkpoint every 40
    preset.write_text(
        preset.read_text()
        .replace("eval_every = 20", "eval_every = 120")
        .replace("batch_size = 32", "batch_size = 16")
        .replace("checkpoint_every = 20", "checkpoint_every = 40")
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    extra = []
    if where == "cluster":
        ray = request.getfixturevalue("ray_cluster")
        env["RAY_ADDRESS"] = ray.get_runtime_context().gcs_address
        extra = ["--cluster", "auto"]  # the subprocess joins the session's cluster, as the rerun here does
    command = [sys.executable, "-m", "cppnart", "sweep", str(spec), "--out", "sw", "--threads", "1", *extra]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    checkpoint = Path("sw/tiny-seed1/checkpoint.pt")
    deadline = time.monotonic() + 120
    while not checkpoint.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()[-2000:]
    assert not Path("sw/tiny-seed1/result.json").exists()
    stopped_at = load_checkpoint(checkpoint)["step"]
    assert 0 < stopped_at < 240

    again = runner.invoke(app, ["sweep", str(spec), "--out", "sw", "--threads", "1", *extra, "--json"])
    assert again.exit_code == 0, again.output
    (result,) = json.loads(again.output.splitlines()[-1])["runs"]
    assert result["resumed_from"] == stopped_at and result["steps"] == 240  # it went on, not from step 0

    if "ref" not in _UNINTERRUPTED:  # the same run, never stopped (glyph runs resume exactly)
        _UNINTERRUPTED["ref"] = train_run(plan_runs(load_spec(spec), Path("ref"))[0], "ref", threads=1)
    reference = _UNINTERRUPTED["ref"]
    assert (result["r2"], result["cosine"]) == (reference["r2"], reference["cosine"])


TINY_CLASSIFIER = """
kind = "classifier"
image_size = 12
classes = 10
conv = [4, 8]
dense = [16]
data_limit = 120
holdout = 0.25
steps = 4
batch = 16
eval_every = 100
checkpoint_every = 100
"""


def test_a_classifier_sweep_trains_and_ranks_its_runs(runner, spec, one_torch_thread):
    Path("clf.toml").write_text(TINY_CLASSIFIER)
    spec.write_text('presets = ["clf.toml"]\nseeds = [1, 2]\ndata = "builtin:digits"\n')
    result = runner.invoke(app, ["sweep", str(spec), "--out", "sw", "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.splitlines()[-1])
    assert [r["run"] for r in report["runs"]] == ["clf-seed1", "clf-seed2"]
    for run in report["runs"]:
        assert run["steps"] == 4 and 0 <= run["accuracy"] <= 1 and run["holdout"] == 30
        assert {"classifier.onnx", "holdout.npz", "result.json"} <= set(files_in(Path("sw") / run["run"]))
    best = max(report["runs"], key=lambda r: r["accuracy"])
    assert report["best"].startswith(f"{best['run']} (accuracy ")
    again = runner.invoke(app, ["sweep", str(spec), "--out", "sw"])
    assert again.exit_code == 0 and again.output.count("already finished") == 2, again.output
    assert "best: clf-seed" in again.output


def test_a_grid_too_large_is_refused_by_its_count_before_it_is_built(runner, spec, monkeypatch):
    keys = "\n".join(f'"train.{k}" = [{", ".join(str(v) for v in range(1, 11))}]' for k in "abcdefghij")
    spec.write_text(f'presets = ["tiny.toml"]\n[overrides]\n{keys}\n')  # 10^10 runs; unknown keys never looked at
    line = one_error_line(runner.invoke(app, ["sweep", str(spec), "--out", "sw"]))
    assert "10000000000 runs (limit 10000)" in line and "CPPNART_MAX_RUNS" in line
    spec.write_text(f'presets = ["tiny.toml"]\nseeds = [{", ".join(map(str, range(300_000)))}]\n')
    assert "300000 runs" in one_error_line(runner.invoke(app, ["sweep", str(spec), "--out", "sw"]))
    monkeypatch.setenv("CPPNART_MAX_RUNS", "1")  # the override, both ways
    spec.write_text(SPEC)
    assert "2 runs (limit 1)" in one_error_line(runner.invoke(app, ["sweep", str(spec), "--out", "sw"]))
    assert not Path("sw").exists()


@pytest.mark.parametrize(
    "text, words",
    [
        (SPEC.replace("seeds = [1]", "seeds = [1, -3]"), "'seeds' must be at least 0, got -3"),
        (SPEC + '"kind" = ["fit"]\n', "override 'kind' is not allowed"),
        (SPEC + '"train.seed" = [4, 5]\n', "set by the sweep's seeds"),
        (SPEC + '"train.steps" = [4, 5]\n', "both set the length"),
        (SPEC.replace("[1e-3, 3e-3]", "[1e-3, -1.0]"), "'train.lr' must be in (0, 10]"),  # the second run's config
        ('presets = ["fit"]\nimage = "missing.png"\n', "image '"),
    ],
)
def test_every_run_is_checked_before_the_first_trains(runner, spec, text, words):
    spec.write_text(text)
    line = one_error_line(runner.invoke(app, ["sweep", str(spec), "--out", "sw"]))
    assert words in line
    assert not Path("sw").exists()


def test_unreadable_inputs_are_one_line(runner, spec, one_torch_thread):
    spec.write_bytes(b'presets = ["tiny.toml"]\n# caf\xe9\n')
    assert "is not UTF-8 text" in one_error_line(runner.invoke(app, ["sweep", str(spec), "--out", "sw"]))
    spec.write_text(SPEC.replace("1e-3, 3e-3", "3e-3"))
    Path("a-file").write_text("x")
    assert "--out 'a-file' is a file" in one_error_line(runner.invoke(app, ["sweep", str(spec), "--out", "a-file"]))
    line = one_error_line(runner.invoke(app, ["sweep", str(spec), "--out", "a-file/sw"]))
    assert "under the file 'a-file'" in line
    first = runner.invoke(app, ["sweep", str(spec), "--out", "sw", "--threads", "1"])
    assert first.exit_code == 0, first.output
    result = Path("sw/tiny-seed1-lr0.003/result.json")
    for damaged in (b'{"run": "tiny-seed1', b"\xff\xfe", b'["a list"]', b'{"run": "another"}'):
        result.write_bytes(damaged)
        line = one_error_line(runner.invoke(app, ["sweep", str(spec), "--out", "sw"]))
        assert f"'{result}' is damaged; delete it" in line


def test_a_full_disk_says_what_the_sweep_kept(full_disk, runner, spec, one_torch_thread):
    spec.write_text(SPEC.replace("1e-3, 3e-3", "3e-3"))
    with open(full_disk / "filler", "wb") as f:  # a few kB left: the run starts, then the disk fills
        f.write(bytes(os.statvfs(full_disk).f_bavail * os.statvfs(full_disk).f_frsize - (8 << 10)))
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(full_disk / "sw"), "--threads", "1"])
    line = one_error_line(result)
    assert "no space left" in line and "nothing was left behind" not in line
    assert "no run was kept" in line
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]  # true: the half run folder went


def test_sigterm_stops_a_sweep_with_143_and_says_what_it_kept(spec):
    import signal
    import subprocess
    import sys
    import time

    spec.write_text(RESUME_SPEC.replace("steps = 240", "steps = 100000"))
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "cppnart", "sweep", str(spec), "--out", "sw", "--threads", "1"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    checkpoint = Path("sw/tiny-seed1/checkpoint.pt")
    deadline = time.monotonic() + 120
    while not checkpoint.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()[-2000:]
    assert "stopped by signal 15; kept 1 checkpoint to resume from in sw" in err.decode()
    assert checkpoint.is_file() and not Path("sw/tiny-seed1/result.json").exists()


def test_a_run_too_large_for_memory_is_refused_before_any_trains(runner, spec):
    Path("clf.toml").write_text(TINY_CLASSIFIER)
    spec.write_text('presets = ["clf.toml"]\n[overrides]\nimage_size = [12, 1024]\nbatch = [16, 4096]\n')
    line = one_error_line(runner.invoke(app, ["sweep", str(spec), "--out", "sw"]))
    assert "clf: training clf would hold about" in line and "CPPNART_MAX_MEMORY" in line  # the 4th run of 4
    assert not Path("sw").exists()


def test_the_summary_keeps_every_number_whole_at_80_columns_and_is_tsv_in_a_pipe():
    """A terminal of 80 columns folds the text columns, never a number; a pipe gets tab-separated lines."""
    from rich.console import Console

    from cppnart.cli.sweep import summary_table, summary_tsv

    results = [
        {"run": f"glyph-quick-seed{i}-train.lr=0.00{i + 1}", "preset": "glyph-quick", "seed": i, "steps": 4000,
         "r2": 0.91234567 - i / 100, "cosine": 0.95612, "checkerboard": 0.000412, "ink": 0.4911, "seconds": 5757.3}
        for i in range(3)
    ]  # fmt: skip
    console = Console(width=80, force_terminal=True, record=True, color_system=None)
    console.print(summary_table(results, "3 runs"))
    shown = console.export_text()
    assert "…" not in shown and "..." not in shown
    for value in ("0.9123", "0.9023", "0.000412", "5757"):
        assert value in shown, shown
    lines = summary_tsv(results).splitlines()
    assert lines[0].split("\t")[:3] == ["run", "preset", "seed"] and len(lines) == 4
    assert lines[1].split("\t")[4] == "0.9123"
