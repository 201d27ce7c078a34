"""`dream` as a package: composable objectives, honest batch reports, and hostile or careless use
(NaN numbers, a damaged holdout.npz, stop signals, a full disk, sizes torch cannot allocate) —
each one line, exit 2 (or 128+n for a signal) and nothing left in the out folder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cppnart.cli import app
from cppnart.errors import ParamError, UserError
from cppnart.train.classifier import train_classifier
from cppnart.train.dream import DreamSettings, channel, diversity, dream, goal_for, neuron
from cppnart.train.dream.objectives import own
from cppnart.train.targets import load_target

from ..conftest import one_error_line
from .test_dream import CPU, bars, tiny_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ROOT = Path(__file__).resolve().parents[2]
FALLS = ["--layer", "conv2", "--channel", "1", "--batch", "4", "--diversity", "10000", "--steps", "20"]


@pytest.fixture(scope="module")
def clf(tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("clf")
    train_classifier(tiny_config(), bars(), out, device=CPU)
    return out


def tiny(**kw) -> list[str]:
    """The CLI flags of a tiny, fast CPPN (the library's defaults are for real runs)."""
    return ["--probe", "4", *[f"--{k}={v}" for k, v in kw.items()]]


# --- objectives -----------------------------------------------------------------------------


def test_objectives_compose_as_values():
    torch.manual_seed(0)
    acts = {"conv": torch.randn(4, 3, 5, 5), "dense": torch.randn(4, 6)}
    mean = acts["conv"].flatten(2).mean(2)  # [4, 3]
    flat = acts["conv"].flatten(1)
    flat = flat - flat.mean(1, keepdim=True)
    flat = flat / (flat.norm(dim=1, keepdim=True) + 1e-8)
    sims = flat @ flat.T
    alike = (sims.sum(1) - sims.diagonal()) / 3  # each image's mean similarity to the other three

    combined = channel("conv", 2) - 0.5 * diversity("conv")  # one expression
    assert torch.allclose(combined(acts), mean[:, 2] - 0.5 * alike, atol=1e-6)
    assert combined.layers == {"conv"}
    # a unit per solution: image i climbs units[i]; its table is every image against every unit
    per = channel("conv", [0, 1, 2, 0])
    assert per.table(acts).shape == (4, 4)
    assert torch.allclose(per(acts), mean[torch.arange(4), torch.tensor([0, 1, 2, 0])])
    assert torch.allclose((-per).table(acts), -per.table(acts)) and torch.allclose(own(per.table(acts)), per(acts))
    assert torch.allclose(neuron("conv", 1, 2, 3)(acts), acts["conv"][:, 1, 2, 3])
    mixed = channel("dense", 4) + 2 * channel("conv", 0)
    assert mixed.layers == {"conv", "dense"} and torch.allclose(mixed(acts), acts["dense"][:, 4] + 2 * mean[:, 0])
    with pytest.raises(TypeError, match="no per-unit table"):
        combined.table(acts)
    # two groups: similarity only within each
    grouped = diversity("conv", [[0, 1], [2, 3]])(acts)
    assert torch.allclose(grouped, torch.stack([sims[0, 1], sims[0, 1], sims[2, 3], sims[2, 3]]), atol=1e-6)
    # dream's objective: the goal's sign once, the diversity weight relative to the goal's size
    goal = goal_for("conv", [2, 2, 2, 2], minimise=True, diversity_weight=0.5, groups=[[0, 1, 2, 3]])
    assert torch.allclose(goal.goal(acts), -mean[:, 2])
    assert torch.allclose(goal.total(acts), -mean[:, 2] - 0.5 * alike * mean[:, 2].abs().mean(), atol=1e-6)


# --- honest reports -------------------------------------------------------------------------


def test_a_batch_counts_only_what_rose_and_its_main_model_is_the_best(clf, runner, tmp_path):
    out = tmp_path / "falls"
    done = runner.invoke(app, ["dream", str(clf), *FALLS, *tiny(), "--out", str(out)])
    assert done.exit_code == 0, done.output
    report = json.loads((out / "report.json").read_text())
    sols = report["solutions"]
    rose = [s["final_activation"] > s["start_activation"] for s in sols]
    assert not all(rose) and any(rose)  # this seed: some solutions fall below their start
    assert report["responded"] == sum(rose) and [s["responded"] for s in sols] == rose
    assert [s["outcome"] for s in sols] == ["rose" if r else "fell" for r in rose]
    fell = ", ".join(f"{i} (" for i in range(4) if not rose[i]).split(" (")[0]
    assert f"{sum(rose)} of 4 solutions responded" in done.output, done.output
    assert f"fell below their start: {fell} (" in done.output, done.output
    best = max((i for i in range(4) if rose[i]), key=lambda i: sols[i]["final_activation"])
    assert report["best"] == best
    assert (out / "model.onnx").read_bytes() == (out / "solutions" / f"s{best:02d}.onnx").read_bytes()
    assert sorted(p.name for p in (out / "solutions").iterdir()) == [f"s{i:02d}.onnx" for i in range(4) if rose[i]]
    assert (out / "weights.npz").is_file()
    # the sheet shows the fallen solution dimmed under a red cross, not as a result
    sheet = np.asarray(Image.open(out / "sheet.png").convert("RGB")).astype(int)
    reddish = (sheet[..., 0] > 200) & (sheet[..., 1] < 120)
    assert reddish.sum() > 20


def test_main_model_is_the_best_solution_not_the_first(clf, tmp_path):
    result = dream(load_target(clf), settings(layer="logits", units=(0,), steps=20), tmp_path / "b", batch=4)
    finals = [s["final_activation"] for s in result.report["solutions"]]
    assert result.report["best"] == int(np.argmax(finals)) != 0  # this seed's best is not solution 0
    best = result.report["best"]
    assert (tmp_path / "b" / "model.onnx").read_bytes() == (tmp_path / "b" / f"solutions/s{best:02d}.onnx").read_bytes()


def test_a_lone_solution_that_fell_is_said_to_have_fallen(tmp_path):
    """The summary of a lone solution that fell says so and that no picture was written."""
    from cppnart.train.dream.report import summary_line

    report = {
        "layer": "conv2", "seconds": 1.0, "settings": {"probe": 4}, "best": None, "responded": False,
        "solutions": [{"unit": 1, "outcome": "fell", "start_activation": 0.5, "final_activation": 0.2}],
    }  # fmt: skip
    line = summary_line(report, tmp_path)
    assert "did not respond" in line and "0.5 -> 0.2" in line and "no picture" in line


def settings(**kw) -> DreamSettings:
    base = dict(layer="conv2", units=(1,), steps=40, probe=4, width=8, depth=3, lr=0.03)
    base.update(kw)
    return DreamSettings(**base)  # type: ignore[arg-type]


# --- careless and hostile input --------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--lr", "nan"], "--lr must be a finite number"),
        (["--tol", "nan"], "--tol must be a finite number"),
        (["--lr", "inf"], "--lr must be a finite number"),
        (["--lr", "0"], "--lr must be at least"),
        (["--diversity", "-1"], "--diversity must be at least 0"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--batch", "3", "--probe", "2"], "--probe must be at least batch (3)"),
        (["--class", "1", "--layer", "conv2"], "--class is a unit of the last layer ('logits')"),
        (["--class", "5"], "--class 5 is out of range"),
        (["--channel", "x"], "--channel 'x' is not a channel number"),
        ([], "--layer is missing: name one of conv1, conv2, dense1, logits"),
    ],
)
def test_bad_numbers_are_one_line_and_leave_nothing(clf, runner, tmp_path, flags, expected):
    out = tmp_path / "d"
    layer = [] if "--class" in flags or not flags else ["--layer", "conv2"]
    line = one_error_line(runner.invoke(app, ["dream", str(clf), *layer, *flags, "--out", str(out)]))
    assert expected in line, line
    assert not out.exists()


def test_library_errors_name_parameters_not_flags(clf):
    target = load_target(clf)
    with pytest.raises(ParamError, match="^lr must be a finite number"):
        dream(target, settings(lr=float("nan")))
    with pytest.raises(ParamError, match="^units 9 is out of range"):
        dream(target, settings(units=(9,)))
    from cppnart.train.dream import dream_request

    with pytest.raises(ParamError, match="^target_class is a unit of the last layer"):
        dream_request(target, None, layer="conv2", target_class=1)


@pytest.mark.parametrize(
    "damage",
    [b"", b"not a zip file at all", "truncated", "wrong shape", "no images", "float images"],
)
def test_a_damaged_holdout_is_one_line_before_any_work(clf, runner, tmp_path, damage):
    run = tmp_path / "clf"
    shutil.copytree(clf, run)
    holdout = run / "holdout.npz"
    if damage == "truncated":
        holdout.write_bytes((clf / "holdout.npz").read_bytes()[:300])
    elif damage == "wrong shape":
        np.savez_compressed(holdout, images=np.zeros((5, 3, 12, 12), np.uint8), labels=np.zeros(5))
    elif damage == "no images":
        np.savez_compressed(holdout, labels=np.zeros(5))
    elif damage == "float images":
        np.savez_compressed(holdout, images=np.zeros((5, 1, 12, 12), np.float64), labels=np.zeros(5))
    else:
        holdout.write_bytes(damage)  # type: ignore[arg-type]
    out = tmp_path / "d"
    for args in (["layers", str(run)], ["dream", str(run), "--layer", "conv2", *tiny(), "--out", str(out)]):
        started = time.perf_counter()
        line = one_error_line(runner.invoke(app, args))
        assert "holdout.npz' is damaged" in line and "delete it" in line, line
        assert time.perf_counter() - started < 30  # refused at load, not after the optimisation
    assert not out.exists()


def _dream_process(tmp_path: Path, clf: Path, out: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "cppnart", "dream", str(clf), "--layer", "conv2", "--steps", "1000000"]
    args += ["--probe", "4", "--threads", "1", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(args, cwd=tmp_path, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_exits_128_plus_n_and_keeps_nothing(clf, tmp_path, sig):
    out = tmp_path / "d"
    proc = _dream_process(tmp_path, clf, out)
    deadline = time.time() + 120
    while not (out / "progress.png").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert (out / "progress.png").exists()  # the run is under way and has written its strip
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    text = err.decode().strip()
    assert proc.returncode == 128 + sig, text
    assert text.count("\n") == 0 and "nothing was kept" in text, text
    assert not out.exists()


def test_a_full_disk_leaves_nothing_and_says_so(clf, runner, full_disk):
    with open(full_disk / "filler", "wb") as f:  # a few kB: the run starts, then the disk fills
        f.write(bytes(os.statvfs(full_disk).f_bavail * os.statvfs(full_disk).f_frsize - (6 << 10)))
    out = full_disk / "d"
    line = one_error_line(runner.invoke(app, ["dream", str(clf), *FALLS, *tiny(), "--out", str(out)]))
    assert "no space left" in line and "nothing was left behind" in line, line
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]  # true: no folder, no progress.png


def test_sizes_are_checked_before_any_work(clf, runner, tmp_path, monkeypatch):
    monkeypatch.setenv("CPPNART_MAX_MEMORY", "100000")
    out = tmp_path / "d"
    line = one_error_line(runner.invoke(app, ["dream", str(clf), "--layer", "conv2", "--out", str(out)]))
    assert "dream of 1 solution(s) at 12x12 would hold about" in line and "CPPNART_MAX_MEMORY" in line, line
    assert not out.exists()


def test_an_allocation_torch_cannot_make_is_one_line(clf, tmp_path, monkeypatch):
    """Past the budget (raised here), torch's failed allocation (a RuntimeError) is a UserError; the
    first tensor asked for here is ~275 GB, which the kernel refuses at once."""
    monkeypatch.setenv("CPPNART_MAX_MEMORY", str(10**15))
    huge = settings(size=1024, width=1024, depth=1, probe=64, steps=1)
    with pytest.raises(UserError, match=r"torch could not allocate the memory \(\d+\.\d [GT]B at once\)"):
        dream(load_target(clf), huge, tmp_path / "d")
    assert not (tmp_path / "d").exists()
