"""Morph throughput and memory, run through the real command in subprocesses.

1. frames per second of a 512x512, 60-frame morph (classic preset) to GIF, MP4 and WebP;
2. peak memory of a 1920x1080, 120-frame MP4: ru_maxrss of the cppnart process (os.wait4)
   and the peak summed RSS of its whole process tree (cppnart + ffmpeg), sampled from /proc.

    python bench/morph.py [--skip-big]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CLI = [sys.executable, "-c", "from cppnart.cli import main; main()"]


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            match = re.search(r"VmRSS:\s+(\d+)", f.read())
        return int(match[1]) if match else 0
    except OSError:
        return 0


def tree_rss_kib(root: int) -> int:
    """Summed VmRSS of ``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        total += rss_kib(pid)
    return total


def run(args: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(CLI + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0, 0]  # whole tree, cppnart process alone
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kib(proc.pid))
            peak[1] = max(peak[1], rss_kib(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"failed: {' '.join(args)}\n{out}{err}")
    inner = re.search(r"\(([\d.]+) s, ([\d.]+) frames/s\)", out)
    return {
        "wall": wall,
        "inner_s": float(inner[1]),
        "inner_fps": float(inner[2]),
        "maxrss_mib": usage.ru_maxrss / 1024,
        "tree_mib": peak[0] / 1024,
        "self_mib": peak[1] / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work slows every number)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, seed in (("a", 1), ("b", 2), ("c", 3)):
            subprocess.run(
                CLI + ["z", "sample", "--seed", str(seed), "-o", str(tmp / f"{name}.npy")],
                check=True,
                capture_output=True,
            )
        keys = [str(tmp / "a.npy"), str(tmp / "b.npy"), str(tmp / "c.npy")]
        common = ["--seed", "7", "--frames", "20", "--loop"]  # 3 keyframes x 20 = 60 frames
        print("512x512, 60 frames, classic preset (3 keyframes, --loop)")
        print(
            f"{'output':<8}{'wall s':>8}{'fps (wall)':>12}"
            f"{'fps (render+write)':>20}{'MiB file':>10}{'peak RSS MiB':>14}"
        )
        for ext in ("gif", "mp4", "webp"):
            out = tmp / f"m.{ext}"
            r = run(["morph"] + keys + [str(out), "--res", "512x512"] + common)
            print(
                f"{ext:<8}{r['wall']:8.2f}{60 / r['wall']:12.1f}{r['inner_fps']:20.1f}"
                f"{out.stat().st_size / 2**20:10.2f}{r['tree_mib']:14.0f}"
            )
        if not args.skip_big:
            out = tmp / "big.mp4"
            r = run(["morph"] + keys + [str(out), "--res", "1920x1080", "--seed", "7", "--frames", "40", "--loop"])
            print(
                f"\n1920x1080, 120 frames -> MP4: {r['wall']:.1f} s ({120 / r['wall']:.2f} fps), "
                f"{out.stat().st_size / 2**20:.1f} MiB file"
            )
            print(f"  peak RSS of the cppnart process alone (sampled /proc): {r['self_mib']:.0f} MiB")
            print(f"  ru_maxrss via wait4 (max over cppnart and the ffmpeg it reaped): {r['maxrss_mib']:.0f} MiB")
            print(f"  peak summed RSS of cppnart + ffmpeg (sampled /proc every 50 ms): {r['tree_mib']:.0f} MiB")
            print(
                f"  for scale: one 1920x1080 RGB frame is {1920 * 1080 * 3 / 2**20:.1f} MiB as uint8, "
                f"{1920 * 1080 * 3 * 4 / 2**20:.1f} MiB as float32; 120 of them {120 * 1920 * 1080 * 3 / 2**20:.0f} MiB"
            )


if __name__ == "__main__":
    main()
