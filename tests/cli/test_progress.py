"""The one progress component (cli/live.py): a rich bar with step, speed, loss and ETA on a
terminal, paced plain lines off a terminal, nothing with --quiet; and the long work that uses it."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from rich.console import Console

from cppnart.cli.live import LiveView, counted, drawing_progress, eta_text

PLAIN = re.compile(r"^step (\d+)/5000 \((\d+)%\) ([\d.]+) steps/s loss [\d.]+ r2 0\.5 (eta \S+|in \S+)$")


class Clock:
    """A clock the test moves by hand: the pacing is checked without waiting or timing anything."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def train_like(view: LiveView, clock: Clock, steps: int, seconds_per_step: float) -> None:
    with view:
        for step in range(1, steps + 1):
            clock.now += seconds_per_step
            view.update(step, {"loss": 0.0123 + step * 1e-7, "r2": 0.5})


def test_plain_lines_off_a_terminal_every_tenth_and_at_the_end():
    clock, out = Clock(), io.StringIO()
    view = LiveView("train glyph · tiny → run", 5000, console=Console(file=out, width=80), clock=clock)
    assert not view.interactive
    train_like(view, clock, 5000, 0.01)  # 50 s in all: the 10% mark comes before the 30 s heartbeat
    lines = out.getvalue().splitlines()
    matches = [PLAIN.match(line) for line in lines]
    assert all(matches), lines
    steps = [int(m.group(1)) for m in matches if m]
    assert steps[-1] == 5000 and lines[-1].endswith("in 50s")
    assert 9 <= len(lines) <= 11  # one a tenth, plus the last
    assert all(b - a >= 500 for a, b in zip(steps, steps[1:-1]))
    assert matches[0] is not None and matches[0].group(3) == "100"  # 0.01 s a step
    assert "eta 45s" in lines[0]  # 500 done in 5 s, 4500 to go


def test_a_heartbeat_line_when_a_tenth_takes_long():
    clock, out = Clock(), io.StringIO()
    view = LiveView("slow", 5000, console=Console(file=out, width=80), clock=clock)
    train_like(view, clock, 1000, 1.0)  # 1 step/s: a tenth is 500 s, so the 30 s heartbeat paces
    steps = [int(PLAIN.match(line).group(1)) for line in out.getvalue().splitlines()]  # type: ignore[union-attr]
    assert steps[:3] == [30, 60, 90] and len(steps) > 30
    assert "eta 1h22m" in out.getvalue().splitlines()[0]  # 4970 steps at 1 step/s


def test_quiet_prints_nothing_anywhere():
    for terminal in (False, True):
        clock, out = Clock(), io.StringIO()
        view = LiveView("quiet", 5000, quiet=True, console=Console(file=out, force_terminal=terminal), clock=clock)
        train_like(view, clock, 5000, 0.01)
        assert out.getvalue() == ""


def test_short_work_off_a_terminal_prints_nothing_but_a_runs_last_line():
    clock, out = Clock(), io.StringIO()
    with counted(100, "rendering 8x8", True, console=Console(file=out), clock=clock) as advance:
        for _ in range(100):
            clock.now += 0.001
            advance(1)
    assert out.getvalue() == ""  # a small grid or render: 0.1 s, no line
    with counted(100, "rendering 30000x30000", True, unit="row", console=Console(file=out), clock=clock) as advance:
        for _ in range(100):
            clock.now += 1.0
            advance(1)
    lines = out.getvalue().splitlines()
    assert lines[0] == "rendering 30000x30000: row 10/100 (10%) 1 rows/s eta 1m30s"
    assert lines[-1] == "rendering 30000x30000: row 100/100 (100%) 1 rows/s in 1m40s"
    clock, out = Clock(), io.StringIO()
    train_like(LiveView("t", 5000, console=Console(file=out), clock=clock), clock, 20, 0.001)
    assert out.getvalue().startswith("step 20/5000 (0%)")  # a short training still says where it ended


def test_the_terminal_bar_has_steps_speed_loss_and_eta():
    clock = Clock()
    console = Console(file=io.StringIO(), force_terminal=True, record=True, width=100)
    view = LiveView("train glyph · glyph-64 → runs/glyphs", 5000, console=console, clock=clock)
    assert view.interactive
    with view:
        for step in range(1, 1201):
            clock.now += 0.19
            view.update(step, {"loss": 0.0123, "lr": 0.001})
        view.note("wrote samples/step-001000.png")
        row = Console(file=io.StringIO(), record=True, width=100)
        row.print(view._progress.get_renderable())  # type: ignore[union-attr]
    bar = row.export_text().strip()
    assert re.fullmatch(r"━+╸? +step 1200/5000 +24% 5\.26 steps/s loss 0\.0123 lr 0\.001 eta 12m", bar), bar
    text = console.export_text()
    assert "train glyph · glyph-64 → runs/glyphs" in text and "wrote samples/step-001000.png" in text


def test_a_narrow_terminal_drops_metrics_rather_than_wrap():
    clock = Clock()
    console = Console(file=io.StringIO(), force_terminal=True, width=80)
    with LiveView("t", 5000, console=console, clock=clock) as view:
        for step in range(1, 101):
            clock.now += 0.2
            view.update(step, {"loss": 0.0123, "lr": 0.001, "r2": 0.91234, "cosine": 0.95})
        row = Console(file=io.StringIO(), record=True, width=80)
        row.print(view._progress.get_renderable())  # type: ignore[union-attr]
    lines = row.export_text().strip().splitlines()
    assert len(lines) == 1 and "loss 0.0123" in lines[0] and "cosine" not in lines[0] and "eta" in lines[0]


def test_eta_text():
    assert [eta_text(s) for s in (0, 59.4, 61, 599, 3599, 3600, 7500)] == [
        "0s",
        "59s",
        "1m01s",
        "9m59s",
        "60m",
        "1h00m",
        "2h05m",
    ]
    assert eta_text(float("inf")) == "?"


def test_drawing_digits_reports_progress(tmp_path, monkeypatch):
    from cppnart.io.digits import reporting_progress, synthetic_digits

    monkeypatch.setenv("CPPNART_CACHE", str(tmp_path))
    calls: list[tuple[int, int]] = []
    images, _ = synthetic_digits(250, seed=3, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(100, 250), (200, 250), (250, 250)] and images.shape == (250, 28, 28)
    calls.clear()
    again, _ = synthetic_digits(250, seed=3, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [] and np.array_equal(again, images)  # from the cache: nothing drawn, nothing said
    with reporting_progress(lambda done, total: calls.append((done, total))):
        synthetic_digits(30, seed=3)
    assert calls == [(30, 30)]


def test_drawing_progress_shows_a_line_per_draw_off_a_terminal(tmp_path, monkeypatch, capsys):
    from cppnart.io.digits import synthetic_digits

    monkeypatch.setenv("CPPNART_CACHE", str(tmp_path))
    monkeypatch.setattr("cppnart.cli.live.QUIET_FOR_S", 0.0)  # every draw here is short
    with drawing_progress(True):
        synthetic_digits(120, seed=4)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(r"drawing 120 builtin digits \(once; cached after\): digit 120/120 \(100%\) .* in \S+", last)
    with drawing_progress(False):
        synthetic_digits(121, seed=4)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("quiet", [False, True])
def test_z_fit_progress_off_a_terminal_and_quiet(tmp_path, monkeypatch, quiet):
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from cppnart.cli import app

    monkeypatch.setenv("CPPNART_CACHE", str(tmp_path / "cache"))
    args = ["z", "fit", "builtin:digits", "--count", "2", "--model", "classic", "--size", "16"]
    args += ["--steps", "6", "--restarts", "1", "-o", str(tmp_path / "z.npy")] + (["--quiet"] if quiet else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    if quiet:
        assert result.stderr == "" and result.stdout == ""
    else:
        assert re.search(
            r"^step 12/12 \(100%\) [\d.]+ steps/s loss [\d.]+ fitting random twin in \S+$", result.stderr, re.M
        )


@pytest.mark.parametrize("quiet", [False, True])
def test_training_progress_in_a_pipe_and_quiet(tmp_path, quiet):
    """`cppnart train glyph` as a subprocess whose stderr is a pipe: the plain form, or nothing with --quiet."""
    pytest.importorskip("torch")
    import os
    import subprocess
    import sys

    from ..glyph_fixtures import TINY_GLYPH, write_tiny

    preset = write_tiny(tmp_path, TINY_GLYPH.replace("steps = 40", "steps = 12"))
    args = ["train", "glyph", "--preset", str(preset), "--out", str(tmp_path / "run"), "--device", "cpu"]
    args += ["--threads", "1"] + (["--quiet"] if quiet else [])
    env = {**os.environ, "CPPNART_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "cppnart", *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    if quiet:
        assert done.stderr == ""
    else:
        assert re.search(r"^step 12/12 \(100%\) [\d.]+ steps/s loss [\d.]+ lr \S+ .*in \S+$", done.stderr, re.M), (
            done.stderr
        )


def test_no_last_line_when_the_work_fails():
    """A failure's one-line error stays the only line: no progress line before it."""
    clock, out = Clock(), io.StringIO()
    with pytest.raises(OSError), LiveView("t", 50, console=Console(file=out), clock=clock) as view:
        view.update(10, {"loss": 0.5})
        raise OSError("disk full")
    assert out.getvalue() == ""
