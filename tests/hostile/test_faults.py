"""Fault injection on the render side: signals at random points, kill -9 then a second run, and a
full disk (a tiny tmpfs, mounted when the tests run as root; skipped elsewhere).

Every fault must end in the documented way: a signal -> exit 128+n, nothing under the final name
and no temporary left (or the complete output, when the command finished first or the signal
landed after the output was renamed into place); a full disk ->
one line, exit 2, nothing left. ``FAULTS`` collects one row per injected fault; the last test
prints the table.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from PIL import Image

from cppnart.cli import app
from cppnart.io.atomic import atomic_output, clean_stale_temps

from ..conftest import TINY_PRESET, files_in

FAULTS: list[tuple[str, str, str]] = []
REPO = Path(__file__).resolve().parents[2]
SLOW_PRESET = (
    TINY_PRESET.replace("width = 8", "width = 64")
    .replace("depth = 2", "depth = 6")
    .replace('activations = ["tanh", "sin"]', 'activations = "sin"')
)


def cli(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "cppnart", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "slow.toml").write_text(SLOW_PRESET)
    np.save(tmp_path / "a.npy", np.full(4, -0.5, np.float32))
    np.save(tmp_path / "b.npy", np.array([0.5, -0.2, 0.9, 0.1], np.float32))
    return tmp_path


# Each command renders for a second or more on one core, so a signal lands mid-work.
COMMANDS = {
    "render": (["render", "slow.toml", "--seed", "1", "--res", "1024x1024", "-q"], "out.png"),
    "morph gif": (["morph", "a.npy", "b.npy", "-m", "slow.toml", "--seed", "1", "--res", "256x256", "-q"], "out.gif"),
    "morph mp4": (["morph", "a.npy", "b.npy", "-m", "slow.toml", "--seed", "1", "--res", "256x256", "-q"], "out.mp4"),
    "morph webp": (["morph", "a.npy", "b.npy", "-m", "slow.toml", "--seed", "1", "--res", "256x256", "-q"], "out.webp"),
    "morph frames": (["morph", "a.npy", "b.npy", "-m", "slow.toml", "--seed", "1", "--res", "256x256", "-q"], "out"),
    "grid": (["grid", "-m", "slow.toml", "--seeds", "1-9", "--cell", "256x256", "-q"], "out.png"),
}
SIGNALS = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT]
MORPH_FRAMES = 31  # 30 frames per transition, then the last keyframe


def frames_in(path: Path) -> int:
    """Frames a second reader finds in a finished output; a truncated file raises instead."""
    if path.is_dir():
        for png in path.iterdir():
            with Image.open(png) as image:
                image.load()
        return len(list(path.iterdir()))
    if path.suffix == ".mp4":
        reader = imageio.get_reader(path)
        try:
            return sum(1 for _ in reader)
        finally:
            reader.close()
    with Image.open(path) as image:
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            image.load()
        return getattr(image, "n_frames", 1)


@pytest.mark.parametrize("index,name", list(enumerate(COMMANDS)))
def test_a_signal_at_a_random_point_leaves_nothing(index, name, work):
    args, out = COMMANDS[name]
    sig = SIGNALS[index % len(SIGNALS)]
    delay = random.Random(index).uniform(0.8, 2.5)  # from late start-up to mid-render
    proc = cli(*args, "-o", out, cwd=work)
    time.sleep(delay)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    left = [f for f in files_in(work) if f not in ("slow.toml", "a.npy", "b.npy")]
    if proc.returncode == 0:
        outcome = "finished first: complete output"
        assert left == [out]
        assert frames_in(work / out) == (1 if name in ("render", "grid") else MORPH_FRAMES)
    elif left == [out]:
        # The signal landed after the output was renamed into place (the last milliseconds of
        # the command): the exit code reports the signal, and the file under the final name must
        # be the whole output, never a part of one.
        outcome = f"exit {proc.returncode} after the commit: complete output"
        assert proc.returncode in (128 + sig, -sig), err.decode()
        assert frames_in(work / out) == (1 if name in ("render", "grid") else MORPH_FRAMES)
    else:
        outcome = f"exit {proc.returncode}, nothing left"
        assert proc.returncode in (128 + sig, -sig), err.decode()
        assert left == [], left
        assert err.decode().count("\n") <= 1, err.decode()
    FAULTS.append((f"{sig.name} after {delay:.1f} s", name, outcome))


def test_a_truncated_output_is_not_taken_for_a_complete_one(work):
    args, out = COMMANDS["morph mp4"]
    small = [a if a != "256x256" else "32x32" for a in args]
    assert cli(*small, "-o", out, cwd=work).wait(timeout=60) == 0
    assert frames_in(work / out) == MORPH_FRAMES
    data = (work / out).read_bytes()
    (work / out).write_bytes(data[: len(data) // 2])
    try:
        found = frames_in(work / out)
    except Exception:  # the reader gave up: also not taken for complete
        found = -1
    assert found != MORPH_FRAMES


def test_an_error_a_signal_caused_exits_as_the_signal():
    """onnxruntime's import catches the Terminated raised inside it and raises its own error; CI saw
    "no onnxruntime is installed", exit 2, for a SIGTERM that landed during that import."""
    import typer

    from cppnart.cli.output import user_errors
    from cppnart.errors import SIGNALS_RECEIVED, Terminated, UserError

    @user_errors
    def command(error: Exception, signal_first: bool) -> None:
        try:
            if signal_first:
                SIGNALS_RECEIVED.append(signal.SIGTERM)
                raise Terminated(signal.SIGTERM)
        except KeyboardInterrupt:
            raise error from None
        raise error

    try:
        for error in (UserError("no onnxruntime is installed"), RuntimeError("partially initialised module")):
            with pytest.raises(typer.Exit) as stop:
                command(error, signal_first=True)
            assert stop.value.exit_code == 128 + signal.SIGTERM
    finally:
        SIGNALS_RECEIVED.clear()
    with pytest.raises(typer.Exit) as stop:  # with no signal, an error is the error it is
        command(UserError("no onnxruntime is installed"), signal_first=False)
    assert stop.value.exit_code == 2
    with pytest.raises(RuntimeError):
        command(RuntimeError("a bug"), signal_first=False)


SWALLOWING_COMMAND = """
import os, signal, sys, time
from cppnart.cli import app, main
from cppnart.cli.output import user_errors
from cppnart.errors import UserError

SIGNUM = int(sys.argv[1])

@app.command("swallow")
@user_errors
def swallow() -> None:  # what onnxruntime's import did with the signal that landed in it
    try:
        os.kill(os.getpid(), SIGNUM)
        time.sleep(5)
    except KeyboardInterrupt:
        raise UserError("no onnxruntime is installed") from None

sys.argv = ["cppnart", "swallow"]
main()
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_the_cli_records_every_stop_signal(sig, tmp_path):
    """Through the console script's own handlers: Ctrl-C, SIGTERM and SIGHUP swallowed by a library
    still exit as the signal, with one line and no 'error:'."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", SWALLOWING_COMMAND, str(int(sig))],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 128 + sig, proc.stderr.decode()
    assert proc.stderr.decode().splitlines() == [
        ("interrupted" if sig == signal.SIGINT else f"stopped by signal {int(sig)}")
        + "; no partial output was left behind"
    ]


def test_kill_9_then_a_second_run(work):
    args, out = COMMANDS["render"]
    proc = cli(*args, "-o", out, cwd=work)
    deadline = time.time() + 30
    while not any(".tmp-" in f for f in files_in(work)) and time.time() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    stale = [f for f in files_in(work) if ".tmp-" in f]
    assert stale and not (work / out).exists()  # SIGKILL cannot clean up; the temp never has the final name
    second = cli("render", "slow.toml", "--seed", "2", "--res", "32x32", "-q", "-o", "other.png", cwd=work)
    assert second.wait(timeout=60) == 0
    assert [f for f in files_in(work) if ".tmp-" in f] == []  # the next run in the folder removed it
    FAULTS.append(("SIGKILL while writing, then a second run", "render", "temp removed by the second run"))


def test_temps_of_live_writers_are_kept(tmp_path):
    with atomic_output(tmp_path / "a.png") as tmp:
        tmp.write_bytes(b"x")
        assert clean_stale_temps(tmp_path) == []  # our own, still being written
    dead = tmp_path / ".b.tmp-999999999-0123abcd.png"
    dead.write_bytes(b"x")
    assert clean_stale_temps(tmp_path) == [dead] and files_in(tmp_path) == ["a.png"]


MORPH = ["morph", "a.npy", "b.npy", "-m", "noisy.toml", "--res", "128x128", "--frames", "12", "-o"]
DISK_CASES = {
    "render png": ["render", "noisy.toml", "--seed", "1", "--res", "256x256", "-o", "{d}/a.png"],
    "render png, clearly too big": ["render", "noisy.toml", "--seed", "1", "--res", "4000x4000", "-o", "{d}/b.png"],
    "morph gif": [*MORPH, "{d}/a.gif"],
    "morph mp4": [*MORPH, "{d}/a.mp4"],
    "morph webp": [*MORPH, "{d}/a.webp"],
    "morph frames": [*MORPH, "{d}/f"],
    "grid": ["grid", "-m", "noisy.toml", "--seeds", "1-16", "--cell", "64x64", "-o", "{d}/g.png"],
    "z sample": ["z", "sample", "--dim", "8", "--count", "20000", "-o", "{d}/z.npy"],
}  # fmt: skip


def test_a_full_disk_is_one_line_and_leaves_nothing(full_disk, runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    noisy = TINY_PRESET.replace("scale = 3.0", "scale = 60.0").replace("width = 8", "width = 32")
    (tmp_path / "noisy.toml").write_text(noisy)  # fine detail deflates badly
    np.save("a.npy", np.full(4, -1.0, np.float32))
    np.save("b.npy", np.array([1.0, -0.3, 0.8, 0.2], np.float32))
    # Fill the disk but for 24 kB: every output starts writing, none can finish.
    filler = full_disk / "filler"
    with open(filler, "wb") as f:
        f.write(bytes(shutil.disk_usage(full_disk).free - (24 << 10)))
    for name, args in DISK_CASES.items():
        result = runner.invoke(app, [a.format(d=full_disk) for a in args])
        assert result.exit_code == 2, (name, result.output)
        assert result.output.count("\n") == 1 and "space" in result.output, (name, result.output)
        assert files_in(full_disk) == ["filler"], (name, files_in(full_disk))
        when = "refused before work" if "free some" in result.output and "needs about" in result.output else "ENOSPC"
        FAULTS.append(("full disk (tmpfs, 24 kB free)", name, f"{when}: one line, exit 2, nothing left"))


def test_zz_print_the_fault_table(capsys):
    with capsys.disabled():
        print("\n| fault | target | outcome |\n|---|---|---|")
        for row in FAULTS:
            print("| " + " | ".join(row) + " |")
