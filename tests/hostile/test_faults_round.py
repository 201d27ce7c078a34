"""Fault injection for the commands added this round (issue 31): SIGTERM/SIGINT/SIGHUP at a random
moment of loop (GIF, MP4), draw, mesh and breed; a full disk (the tmpfs fixture) for loop, draw,
mesh, breed and morph --audio; SIGKILL then a second run.

The contract is test_faults.py's: a signal -> exit 128+n, one line, nothing under the final name and
no temporary (or the whole output when the command finished first); a full disk -> one line, exit 2,
nothing left. breed is the one command that keeps something: its resumable state, which it says,
and which a second run with --resume continues. ``FAULTS`` rows are printed as a table at the end.
"""

from __future__ import annotations

import random
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from cppnart.cli import app

from ..conftest import TINY_PRESET, files_in
from .test_faults import SLOW_PRESET, cli, frames_in
from .test_hostile_round2 import _wav

FAULTS: list[tuple[str, str, str]] = []
INPUTS = {"slow.toml", "a.npy", "b.npy", "song.wav"}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "slow.toml").write_text(SLOW_PRESET)
    return tmp_path


# Each runs for a few seconds on one core, so a signal from 0.8 s to 2.5 s lands mid-work.
COMMANDS = {
    "loop gif": (
        ["loop", "slow.toml", "--seed", "1", "--res", "128x128", "--seconds", "4", "--fps", "15", "-q"],
        "o.gif",
    ),
    "loop mp4": (
        ["loop", "slow.toml", "--seed", "1", "--res", "128x128", "--seconds", "4", "--fps", "15", "-q"],
        "o.mp4",
    ),
    "draw": (["draw", "slow.toml", "--seed", "1", "--paper", "60x60mm", "--style", "hatch", "-q"], "o.svg"),
    "mesh": (["mesh", "--seed", "1", "--res", "128", "-q"], "o.glb"),
    "breed": (["breed", "--generations", "40", "--population", "8", "--size", "32", "--cell", "32", "-q"], "o.png"),
}
# Every signal on two commands or more, every command once or more (breed thrice: it keeps a state).
TERM, INT, HUP = signal.SIGTERM, signal.SIGINT, signal.SIGHUP
CASES = [
    ("loop gif", TERM),
    ("loop mp4", INT),
    ("draw", HUP),
    ("mesh", TERM),
    ("mesh", INT),
    ("breed", HUP),
    ("breed", TERM),
]


def _missing(command: str) -> list[str]:
    """The extras a command needs that this install lacks (a render-only install: no draw, no mesh)."""
    import importlib.util

    needs = {"draw": ["skimage", "shapely", "vpype"], "mesh": ["skimage", "trimesh"]}.get(command.split()[0], [])
    return [m for m in needs if importlib.util.find_spec(m) is None]


def _complete(path: Path, name: str) -> None:
    """A second reader takes the whole output."""
    if name.startswith("loop"):
        assert frames_in(path) == 60
    elif name == "draw":
        assert path.read_text(encoding="utf-8").rstrip().endswith("</svg>")
    elif name == "mesh":
        import trimesh

        assert len(trimesh.load(path, force="mesh").faces) > 0
    else:
        frames_in(path)


@pytest.mark.parametrize("name,sig", CASES, ids=[f"{n} {s.name}" for n, s in CASES])
def test_a_signal_at_a_random_moment_leaves_nothing_or_says_what_it_kept(name, sig, work: Path) -> None:
    if _missing(name):
        pytest.skip(f"{name} needs {', '.join(_missing(name))}, which this install lacks")
    args, out = COMMANDS[name]
    delay = random.Random(f"{name} {sig}").uniform(0.8, 2.5)
    proc = cli(*args, "-o", out, cwd=work)
    time.sleep(delay)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    text = err.decode()
    left = [f for f in files_in(work) if f not in INPUTS]
    state = "o.breed.json"
    if proc.returncode == 0:
        outcome = "finished first: complete output"
        assert out in left and set(left) <= {out, state}, left
        _complete(work / out, name)
    else:
        assert proc.returncode in (128 + sig, -sig), text
        assert text.count("\n") <= 1 and "Traceback" not in text, text
        if out in left:  # the signal landed after the rename: the whole output, never a part
            outcome = f"exit {proc.returncode} after the commit: complete output"
            _complete(work / out, name)
        elif state in left:
            assert left == [state] and "kept the breeding state" in text and "--resume" in text, (left, text)
            again = cli(*args, "--generations", "1", "--resume", "-o", out, cwd=work)
            assert again.wait(timeout=120) == 0, again.stderr.read().decode()  # type: ignore[union-attr]
            outcome = f"exit {proc.returncode}, state kept and said; --resume finished it"
        else:
            assert left == [], left
            outcome = f"exit {proc.returncode}, nothing left"
    FAULTS.append((f"{sig.name} after {delay:.1f} s", name, outcome))


def test_kill_9_then_a_second_run_removes_the_temp(work: Path) -> None:
    args, out = COMMANDS["loop mp4"]
    proc = cli(*args, "-o", out, cwd=work)
    deadline = time.time() + 60
    while not any(".tmp-" in f for f in files_in(work)) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    stale = [f for f in files_in(work) if ".tmp-" in f]
    assert stale and not (work / out).exists(), files_in(work)  # the temp never has the final name
    second = cli("render", "slow.toml", "--seed", "2", "--res", "16x16", "-q", "-o", "d.png", cwd=work)
    assert second.wait(timeout=60) == 0, second.stderr.read().decode()  # type: ignore[union-attr]
    assert [f for f in files_in(work) if ".tmp-" in f] == [] and (work / "d.png").is_file()
    FAULTS.append(("SIGKILL while writing, then a second run (render)", "loop mp4", "temp removed by the second run"))


LOOP = ["loop", "noisy.toml", "--seed", "1", "--res", "128x128", "--seconds", "2", "--fps", "10"]
MORPH = ["morph", "a.npy", "b.npy", "-m", "noisy.toml", "--seed", "1", "--res", "128x128"]
DISK_CASES = {
    "loop gif": [*LOOP, "-o", "{d}/l.gif"],
    "loop mp4": [*LOOP, "-o", "{d}/l.mp4"],
    "loop frames": [*LOOP, "-o", "{d}/frames"],
    "draw": ["draw", "noisy.toml", "--seed", "1", "--paper", "A5", "--style", "hatch", "-o", "{d}/d.svg"],
    "mesh glb": ["mesh", "--seed", "1", "--res", "48", "-o", "{d}/m.glb"],
    "mesh obj": ["mesh", "--seed", "1", "--res", "48", "-o", "{d}/m.obj"],
    "mesh stl": ["mesh", "--seed", "1", "--res", "48", "-o", "{d}/m.stl"],
    "mesh relief ply": ["mesh", "noisy.toml", "--relief", "--seed", "1", "--res", "96", "-o", "{d}/r.ply"],
    "breed": ["breed", "--generations", "2", "--population", "4", "--size", "16", "--cell", "128", "-o", "{d}/b.png"],
    "morph --audio": [*MORPH, "--audio", "song.wav", "-o", "{d}/a.mp4"],
}


def test_a_full_disk_is_one_line_and_leaves_nothing(full_disk: Path, runner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    noisy = TINY_PRESET.replace("scale = 3.0", "scale = 60.0").replace("width = 8", "width = 32")
    (tmp_path / "noisy.toml").write_text(noisy)  # fine detail deflates badly
    np.save("a.npy", np.full(4, -1.0, np.float32))
    np.save("b.npy", np.array([1.0, -0.3, 0.8, 0.2], np.float32))
    (tmp_path / "song.wav").write_bytes(_wav(2.0))
    filler = full_disk / "filler"
    with open(filler, "wb") as f:  # every output starts writing, none can finish
        f.write(bytes(shutil.disk_usage(full_disk).free - (24 << 10)))
    for name, args in DISK_CASES.items():
        if _missing(args[0]):
            continue  # a render-only install: the hostile table checks that command's one-line refusal
        result = runner.invoke(app, [a.format(d=full_disk) for a in args])
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2, (name, result.output)
        assert len(lines) == 1 and lines[0].startswith("error: ") and "space" in lines[0], (name, result.output)
        left = [f for f in files_in(full_disk) if f != "filler"]
        if name == "breed" and left:  # the state of a whole generation fitted; the sheet did not
            assert left == ["b.breed.json"] and "kept the breeding state" in lines[0], (left, lines[0])
            (full_disk / "b.breed.json").unlink()
            outcome = "ENOSPC: one line, exit 2, the state kept and said"
        else:
            assert left == [], (name, left, lines[0])
            assert "kept" not in lines[0], lines[0]
            when = "refused before work" if "needs about" in lines[0] else "ENOSPC"
            outcome = f"{when}: one line, exit 2, nothing left"
        FAULTS.append(("full disk (tmpfs, 24 kB free)", name, outcome))


def test_zz_print_the_fault_table(capsys) -> None:
    with capsys.disabled():
        print(f"\nfaults injected (round 2): {len(FAULTS)}\n| fault | target | outcome |\n|---|---|---|")
        for row in FAULTS:
            print("| " + " | ".join(row) + " |")
