"""Loop, music-video and turntable memory: flat in the length. Both sides in one run, through the real command.

Peak RSS (ru_maxrss of the cppnart process, os.wait4) of `cppnart loop` at 256x256 for a short and a
4x longer loop, of `cppnart loop --audio` for a short and a 4x longer synthetic song (made here), and
of a `cppnart mesh -o spin.mp4` turntable 4 s and 16 s long: the ratio long/short should stay near 1
(frames and samples are streamed, never held).

    python bench/loop.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

CLI = [sys.executable, "-c", "from cppnart.cli import main; main()"]


def peak_mib(args: list[str], cwd: Path) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one run of the command."""
    started = time.perf_counter()
    proc = subprocess.Popen([*CLI, *args, "-q", "--force"], cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"cppnart {' '.join(args)} failed ({status})")
    return usage.ru_maxrss / 1024, time.perf_counter() - started


def song(path: Path, seconds: float) -> None:
    rate = 22050
    t = np.arange(int(seconds * rate)) / rate
    beat = (np.sin(2 * np.pi * 2 * t) > 0.95).astype(np.float32)  # two clicks a second
    samples = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.3 + beat)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype("<i2").tobytes())


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        base = ["loop", "classic", "--seed", "1", "--res", "256x256", "--fps", "25"]
        rows = []
        for label, extra in (("loop", []),):
            short = peak_mib([*base, *extra, "--seconds", "4", "-o", "a.mp4"], cwd)
            long = peak_mib([*base, *extra, "--seconds", "16", "-o", "b.mp4"], cwd)
            rows.append((label, short, long))
        song(cwd / "short.wav", 4)
        song(cwd / "long.wav", 16)
        short = peak_mib([*base, "--audio", "short.wav", "-o", "c.mp4"], cwd)
        long = peak_mib([*base, "--audio", "long.wav", "-o", "d.mp4"], cwd)
        rows.append(("loop --audio", short, long))
        film = ["mesh", "solid", "--seed", "3", "--res", "64", "--frame", "256x256", "--fps", "25"]
        short = peak_mib([*film, "--seconds", "4", "-o", "e.mp4"], cwd)
        long = peak_mib([*film, "--seconds", "16", "-o", "f.mp4"], cwd)
        rows.append(("mesh turntable", short, long))
        print(f"{'command':<14} {'4 s: MiB':>9} {'16 s: MiB':>10} {'ratio':>6} {'4 s: s':>7} {'16 s: s':>8}")
        for label, (m1, t1), (m2, t2) in rows:
            print(f"{label:<14} {m1:9.1f} {m2:10.1f} {m2 / m1:6.2f} {t1:7.1f} {t2:8.1f}")


if __name__ == "__main__":
    main()
