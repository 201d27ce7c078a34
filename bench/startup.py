"""How long does cppnart take to start? Whole processes against a bare interpreter, in one run.

Each round starts, in turn: the bare import every render needs (``python -c "import numpy,
onnxruntime, PIL.Image"``), a tiny render (``cppnart render --res 8x8``), ``cppnart --help``,
shell completion of ``cppnart re<TAB>`` and ``cppnart info`` of the PNG the render wrote. Medians
over the rounds, and each command's ratio to the bare import (targets: render 1.8x, --help 1.5x;
issue 32). Rounds interleave the commands, so load from elsewhere touches all of them alike.

    python bench/startup.py [--rounds 15] [--pythonpath TREE]

``--pythonpath`` runs another checkout's cppnart (e.g. main before a change) with this script.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"render --res 8x8": 1.8, "--help": 1.5}


def commands(folder: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    # The console script, as users run it (completion keys its variable on the program's name).
    script = Path(sys.executable).with_name("cppnart")
    cli = [str(script)] if script.is_file() else [sys.executable, "-m", "cppnart"]
    png = str(folder / "tiny.png")
    complete = {"_CPPNART_COMPLETE": "complete_bash", "COMP_WORDS": "cppnart re", "COMP_CWORD": "1"}
    return {
        "bare import": ([sys.executable, "-c", "import numpy, onnxruntime, PIL.Image"], {}),
        "render --res 8x8": ([*cli, "render", "--res", "8x8", "--seed", "1", "-o", png, "--force"], {}),
        "--help": ([*cli, "--help"], {}),
        "completion": ([*cli], complete),
        "info PNG": ([*cli, "info", png], {}),
    }


def run_once(argv: list[str], extra_env: dict[str, str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env={**env, **extra_env}, capture_output=True, timeout=120)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--pythonpath", help="a cppnart checkout to measure instead of the importable one")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([args.pythonpath, env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as tmp:
        todo = commands(Path(tmp))
        times: dict[str, list[float]] = {name: [] for name in todo}
        run_once(*todo["render --res 8x8"], env)  # warm the page cache and write the PNG info reads
        for _ in range(args.rounds):
            for name, (argv, extra) in todo.items():
                times[name].append(run_once(argv, extra, env))
    where = subprocess.run(
        [sys.executable, "-c", "import cppnart; print(cppnart.__file__)"], env=env, capture_output=True, text=True
    ).stdout.strip()
    print(f"cppnart from {where}; {args.rounds} rounds; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")
    bare = statistics.median(times["bare import"])
    print(f"{'command':<20} {'median s':>9} {'min s':>7} {'x bare':>7}  target")
    for name, values in times.items():
        ratio = statistics.median(values) / bare
        target = f"{TARGETS[name]}x {'ok' if ratio <= TARGETS[name] else 'MISSED'}" if name in TARGETS else ""
        print(f"{name:<20} {statistics.median(values):>9.3f} {min(values):>7.3f} {ratio:>7.2f}  {target}")


if __name__ == "__main__":
    main()
