"""The README runs top to bottom: every command of its ```bash blocks, in order, in one fresh folder.

The folder is a clone's root as far as the commands can tell (the repository's ``examples/`` and
``cppnart/presets/`` are copied in), the shell is ``bash -e`` with this venv's ``bin`` first on
``PATH`` and this tree on ``PYTHONPATH``, and every command must exit 0. The README stays literal:
the only thing the test changes is the environment, where ``CPPNART_TEST_STEPS=20`` makes every
training, sweep run, dream and z fit stop after 20 steps (``cppnart.train.resolve.capped_steps``).

Skipped, each with its reason in the report: installs (``pip``, ``apt-get``), the test suite itself,
``cppnart view`` servers, ``--cluster`` commands (Ray), GPU-only commands (``--device cuda``),
benchmarks (``python bench/...``), and lines whose trailing comment starts with ``slow`` (minutes
even with few steps) or ``external`` (needs a file from elsewhere), the convention in
CONTRIBUTING.md. A command whose comment starts with ``refused`` shows a refusal: it must exit 2.
The run is marked ``slow`` and ``torch`` (it takes minutes; the default run deselects it); run it
with ``python -m pytest -q -s -m slow tests/test_readme.py`` (``.ci/run`` does).

Run as a script to see the plan, or to run it in a folder of your own and keep the files:
``python tests/test_readme.py --list`` / ``python tests/test_readme.py --run DIR [--start N]``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TEST_STEPS = "20"
COPIED = ("examples", "cppnart/presets")  # what the README's commands read from the clone
HAVE_TORCH = importlib.util.find_spec("torch") is not None and importlib.util.find_spec("kornia") is not None

FENCE = re.compile(r"^```(\w*)\s*$")
# (reason, pattern on the command without its comment); the first that matches skips the line.
SKIP_RULES = (
    ("install", re.compile(r"\b(pip|apt-get)\s+install\b")),
    ("the test suite itself", re.compile(r"\bpytest\b")),
    ("server (cppnart view)", re.compile(r"\bcppnart view\b")),
    ("cluster (--cluster, Ray)", re.compile(r"--cluster\b")),
    ("GPU only", re.compile(r"--device cuda\b|bench/gpu\.py")),
    ("benchmark (python bench/...)", re.compile(r"\bpython3? bench/")),
)
TAGS = {"slow": "marked slow", "external": "needs a file from elsewhere"}
REFUSED = "refused"  # a comment starting so: the command shows a refusal, and must exit 2


@dataclass(frozen=True)
class Command:
    """One shell command of the README: its text, its trailing comment and its line number."""

    line: int
    text: str
    comment: str

    @property
    def skip(self) -> str | None:
        """Why the test does not run it, or None."""
        for reason, pattern in SKIP_RULES:
            if pattern.search(self.text):
                return reason
        return TAGS.get(self.tag)

    @property
    def tag(self) -> str:
        """The first word of the trailing comment (``slow``, ``external``, ``refused``, ...)."""
        word = re.match(r"(\w+)", self.comment)
        return word.group(1) if word else ""


def split_comment(line: str) -> tuple[str, str]:
    """(command, comment): the comment starts at the first ``#`` outside quotes after a blank."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def readme_commands(text: str) -> list[Command]:
    """Every command of the ```bash (and ```sh) blocks, in order; continuation lines joined."""
    commands: list[Command] = []
    shell, pending, start = False, "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        fence = FENCE.match(raw)
        if fence:
            shell = not shell and fence.group(1) in ("bash", "sh")
            continue
        if not shell:
            continue
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        command, comment = split_comment(pending + raw.strip())
        pending = ""
        if command:
            commands.append(Command(start, command, comment))
    return commands


def script(commands: list[Command], marks: Path) -> str:
    """One ``bash -e`` script: before each command its index and the time go to ``marks``."""
    lines = ["set -e"]
    for index, command in enumerate(commands):
        lines.append(f"printf '%s %s\\n' {index} \"$EPOCHREALTIME\" >> '{marks}'")
        # A refusal must be one: exit 2 (and not 0, which would leave the script with 97).
        lines.append(f"{{ {command.text}\n}} && exit 97 || [ $? -eq 2 ]" if command.tag == REFUSED else command.text)
    lines.append(f"printf 'end %s\\n' \"$EPOCHREALTIME\" >> '{marks}'")
    return "\n".join(lines) + "\n"


def prepare(folder: Path) -> None:
    """Make ``folder`` look like a clone's root to the commands: the files they read from it."""
    for part in COPIED:
        if not (folder / part).exists():
            shutil.copytree(ROOT / part, folder / part, ignore=shutil.ignore_patterns("__pycache__"))


def environment() -> dict[str, str]:
    """This venv's bin first on PATH, this tree on PYTHONPATH, trainings capped at TEST_STEPS."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["CPPNART_TEST_STEPS"] = TEST_STEPS
    return env


def run_in(folder: Path, start: int = 0, timeout: float = 3600) -> tuple[list[Command], list[Command], str]:
    """Run the README's commands (from the ``start``-th runnable one) in ``folder``.

    Returns (run, skipped, report); fails with the command, its README line and the output's tail
    when one exits non-zero."""
    every = readme_commands(README.read_text(encoding="utf-8"))
    runnable = [c for c in every if c.skip is None]
    skipped = [c for c in every if c.skip is not None]
    prepare(folder)
    marks = folder / ".readme-marks"
    marks.unlink(missing_ok=True)
    todo = runnable[start:]
    started = time.perf_counter()
    done = subprocess.run(
        ["bash", "-e", "-c", script(todo, marks)],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    total = time.perf_counter() - started
    stamps = [line.split() for line in marks.read_text().splitlines()] if marks.exists() else []
    if done.returncode != 0:
        failed = todo[int(stamps[-1][0])] if stamps and stamps[-1][0] != "end" else None
        where = f"README line {failed.line}: {failed.text}" if failed else "before the first command"
        tail = (done.stdout + done.stderr)[-3000:]
        expected = " (a refusal that exits 0 or other than 2)" if failed and failed.tag == REFUSED else ""
        pytest.fail(f"exit {done.returncode}{expected} at {where}\n{tail}")
    times = [float(b[1]) - float(a[1]) for a, b in zip(stamps, stamps[1:])]
    slowest = sorted(zip(times, todo), key=lambda pair: -pair[0])[:8]
    reasons: dict[str, int] = {}
    for command in skipped:
        reasons[command.skip or ""] = reasons.get(command.skip or "", 0) + 1
    report = [
        f"README: {len(every)} commands, {len(todo)} run in order in {total:.0f} s, {len(skipped)} skipped",
        *(f"  skipped {count}: {reason}" for reason, count in sorted(reasons.items())),
        "  slowest:",
        *(f"  {seconds:6.1f} s  line {c.line}: {c.text[:90]}" for seconds, c in slowest),
    ]
    return todo, skipped, "\n".join(report)


def test_commands_are_found_and_skips_are_explained():
    """The extractor sees the README's blocks: renders, trainings and the skip rules all occur."""
    commands = readme_commands(README.read_text(encoding="utf-8"))
    texts = [c.text for c in commands]
    assert len(commands) > 50
    assert any(t.startswith("cppnart render") for t in texts)
    assert any(t.startswith("cppnart train glyph") and c.skip is None for t, c in zip(texts, commands))
    reasons = {c.skip for c in commands}
    assert {"install", "server (cppnart view)", "cluster (--cluster, Ray)", "marked slow"} <= reasons


def test_comment_split_respects_quotes():
    assert split_comment('cppnart z mix "a.npy + b.npy" -o c.npy   # slow: hours') == (
        'cppnart z mix "a.npy + b.npy" -o c.npy',
        "slow: hours",
    )
    assert split_comment("python -c \"print('#1')\"") == ("python -c \"print('#1')\"", "")
    assert Command(1, "cppnart render --res 8x8", "slow, minutes").skip == "marked slow"
    assert Command(1, "pip install -e '.[cpu]'", "").skip == "install"


@pytest.mark.torch
@pytest.mark.skipif(not HAVE_TORCH, reason="the train layer needs torch")
def test_test_steps_caps_a_training_and_only_when_set(tmp_path, monkeypatch):
    """CPPNART_TEST_STEPS=N caps the resolved steps at N; unset or not a positive number, nothing."""
    from cppnart.configs.presets import load_preset
    from cppnart.train.families import FAMILIES
    from cppnart.train.resolve import capped_steps, resolve_run

    preset = load_preset("glyph-quick")
    steps = FAMILIES["glyph"].steps

    def resolved(**flags):
        return steps(resolve_run(type(preset), preset, tmp_path / "run", resume=False, **flags)[0])

    monkeypatch.delenv("CPPNART_TEST_STEPS", raising=False)
    assert capped_steps(4000) == 4000 and resolved() == steps(preset) > 20
    for value in ("0", "-3", "abc", ""):
        monkeypatch.setenv("CPPNART_TEST_STEPS", value)
        assert capped_steps(4000) == 4000
    monkeypatch.setenv("CPPNART_TEST_STEPS", "20")
    assert capped_steps(4000) == 20 and capped_steps(7) == 7
    assert resolved() == 20 and resolved(steps=4000) == 20 and resolved(steps=5) == 5


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.skipif(not HAVE_TORCH, reason="the README trains models: needs torch and kornia")
def test_readme_runs_top_to_bottom(tmp_path):
    """Every runnable command, in order, in one fresh folder, exits 0 (trainings capped at 20 steps)."""
    _, _, report = run_in(tmp_path)
    print("\n" + report)


def main(argv: list[str]) -> None:
    """``--list``: the plan; ``--run DIR [--start N]``: run it in DIR and keep the files."""
    if argv[:1] == ["--list"]:
        runnable = 0
        for command in readme_commands(README.read_text(encoding="utf-8")):
            mark = f"skip ({command.skip})" if command.skip else f"run {runnable}"
            runnable += command.skip is None
            print(f"{command.line:5d} {mark:38s} {command.text}")
    elif argv[:1] == ["--run"] and len(argv) in (2, 4):
        folder = Path(argv[1])
        folder.mkdir(parents=True, exist_ok=True)
        print(run_in(folder, start=int(argv[3]) if len(argv) == 4 else 0)[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
