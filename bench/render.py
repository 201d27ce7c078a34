"""Render benchmark: naive torch full-frame forward vs cppnart, same CPPN, one run.

Each side runs in a fresh child process so its peak RSS (ru_maxrss) is its own. Prints time,
peak RSS and the ratios, the GFLOP/s of the 128x8 net against this machine's sgemm rate, and the
CLI writing a PNG against rendering the same picture to an array at 2880x1800 and 16384x16384.

    python bench/render.py            # full run (~10-15 minutes on 2 busy cores; the 16384^2 array is 3.2 GB)
    python bench/render.py --quick    # skips the 16384x16384 size
    python bench/render.py --e2e      # only the CLI vs array table (--repeats N: best of N, default 3)
    python bench/render.py --chunks   # CPU per pixel against --chunk, for a 32- and a 128-wide net
    python bench/render.py --quick --preset softplus   # also measure a bundled preset
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDTH, HEIGHT = 2880, 1800
# The classic tanh CPPN of [Abstract patterns] at two sizes. (The `wide` preset mixes in sin, which
# onnxruntime evaluates more slowly than tanh: pass --preset NAME to measure any preset too.)
NETS = {"32x4": "classic", "128x8": "classic-128x8"}
REPEATS = 3


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _weights(preset: str):
    import dataclasses

    from cppnart.configs.presets import load_preset
    from cppnart.graph.weights import random_weights

    if preset == "classic-128x8":
        config = dataclasses.replace(
            load_preset("classic"), width=128, depth=8, activations=("tanh",) * 8, init_scale=0.25
        )
    else:
        config = load_preset(preset)
    return random_weights(config, seed=1)


def child_naive_torch(preset: str) -> dict:
    """What a user writes without cppnart: every pixel through torch at once."""
    import numpy as np
    import torch

    from cppnart.latent.io import sample_z
    from cppnart.render.coords import grid

    w = _weights(preset)
    acts = {
        "tanh": torch.tanh,
        "softplus": torch.nn.functional.softplus,
        "sin": torch.sin,
        "gaussian": lambda x: torch.exp(-x * x),
        "abs": torch.abs,
        "cos": torch.cos,
        "relu": torch.relu,
    }
    params = [torch.from_numpy(a) for a in (w.w_coords * w.scale, w.w_z * w.scale, w.b0)]
    hidden = [(torch.from_numpy(a), torch.from_numpy(b)) for a, b in w.hidden]
    w_out, b_out = torch.from_numpy(w.w_out), torch.from_numpy(w.b_out)
    z = torch.from_numpy(sample_z(w.z_dim, 1))
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        with torch.no_grad():
            xy = torch.from_numpy(grid(WIDTH, HEIGHT))
            xyr = torch.cat([xy, xy.norm(dim=1, keepdim=True)], dim=1)
            h = acts[w.activations[0]](xyr @ params[0] + z @ params[1] + params[2])
            for act, (wi, bi) in zip(w.activations[1:], hidden):
                y = acts[act](h @ wi + bi)
                h = h + y if w.residual else y
            logits = h @ w_out + b_out
            image = (
                {
                    "sigmoid": torch.sigmoid,
                    "sin": lambda x: 0.5 + 0.5 * torch.sin(x),
                    "tanh": lambda x: 0.5 + 0.5 * torch.tanh(x),
                }[w.output](logits)
                .reshape(HEIGHT, WIDTH, -1)
                .numpy()
            )
        times.append(time.perf_counter() - start)
    return {"seconds": sorted(times)[len(times) // 2], "peak_mb": _peak_rss_mb(), "checksum": float(np.mean(image))}


def child_cppnart(preset: str, to_png: bool) -> dict:
    """cppnart's path: ONNX graph, onnxruntime in chunks; to an array or streamed to a PNG."""
    import numpy as np

    from cppnart.graph.export import cppn_model
    from cppnart.io.png import write_png
    from cppnart.latent.io import sample_z
    from cppnart.render.bands import render_array, render_bands
    from cppnart.render.canvas import Canvas
    from cppnart.render.runtime import create_session

    w = _weights(preset)
    session = create_session(cppn_model(w, preset=preset, seed=1, config={}).SerializeToString(), "cpu")
    z = sample_z(w.z_dim, 1)
    times, checksum = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(REPEATS):
            start = time.perf_counter()
            if to_png:
                bands = (band[0] for band in render_bands(session, z, Canvas(WIDTH, HEIGHT)))
                write_png(Path(tmp) / "poster.png", WIDTH, HEIGHT, w.channels, bands)
            else:
                checksum = float(np.mean(render_array(session, z, Canvas(WIDTH, HEIGHT))))
            times.append(time.perf_counter() - start)
    return {"seconds": sorted(times)[len(times) // 2], "peak_mb": _peak_rss_mb(), "checksum": checksum}


def child_sgemm() -> dict:
    """This machine's single-precision matmul rate (best of numpy and torch, 2048^3)."""
    import numpy as np

    n = 2048
    rates = {}
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    for name, mm in [("numpy", lambda: a @ a)] + _torch_mm(a):
        mm()
        start = time.perf_counter()
        for _ in range(10):
            mm()
        rates[name] = 10 * 2 * n**3 / (time.perf_counter() - start) / 1e9
    return rates


def _torch_mm(a):
    try:
        import torch
    except ImportError:
        return []
    t = torch.from_numpy(a)
    return [("torch", lambda: t @ t)]


def flops_per_pixel(preset: str) -> float:
    w = _weights(preset)
    width = w.width
    return 2.0 * (3 * width + sum(a.shape[0] * a.shape[1] for a, _ in w.hidden) + width * w.channels)


def run_child(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_array(size: str) -> dict:
    """The classic poster rendered to a float array in this process: what the CLI's PNG is measured against."""
    from cppnart.render.model import load_model

    width, height = map(int, size.split("x"))
    cpu = _cpu_seconds()
    net = load_model("classic", 1)
    z = net.sample_z(1)
    start = time.perf_counter()
    net.render(z, width, height)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu": _cpu_seconds() - cpu, "peak_mb": _peak_rss_mb()}


def child_cli(size: str) -> dict:
    """`cppnart render classic --seed 1 --res SIZE -o poster.png`, timed by the command itself (--json)."""
    from typer.testing import CliRunner

    from cppnart.cli import app

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "poster.png"
        args = ["render", "classic", "--seed", "1", "--res", size, "-o", str(out), "--json", "--quiet"]
        cpu = _cpu_seconds()
        result = CliRunner().invoke(app, args)
        cpu = _cpu_seconds() - cpu
        assert result.exit_code == 0, result.output
        seconds = json.loads(result.output.strip().splitlines()[-1])["seconds"]
        return {"seconds": seconds, "cpu": cpu, "peak_mb": _peak_rss_mb(), "file_mb": out.stat().st_size / 2**20}


def end_to_end(sizes: list[str], repeats: int = 3) -> None:
    """The CLI writing a PNG against rendering the same picture to an array; sides interleaved,
    each run in a fresh process, best of ``repeats`` (the minimum is the least disturbed by
    other work on a shared machine)."""
    print(f"CLI end to end (render + PNG) vs render to an array, classic 32x4, best of {repeats}, interleaved")
    print("(wall: the time each command reports for its work; CPU: user + system seconds of the process)")
    print(
        f"{'size':<13}{'array s':>9}{'CLI s':>9}{'ratio':>8}{'array CPU':>11}{'CLI CPU':>9}{'ratio':>8}"
        f"{'array MB':>10}{'CLI MB':>8}{'file MB':>9}"
    )
    for size in sizes:
        runs: dict[str, list[dict]] = {"array": [], "cli": []}
        for _ in range(repeats):
            runs["array"].append(run_child("array", size))
            runs["cli"].append(run_child("cli", size))
        array = min(runs["array"], key=lambda r: r["seconds"])
        cli = min(runs["cli"], key=lambda r: r["seconds"])
        array_cpu, cli_cpu = min(r["cpu"] for r in runs["array"]), min(r["cpu"] for r in runs["cli"])
        print(
            f"{size:<13}{array['seconds']:>9.2f}{cli['seconds']:>9.2f}{cli['seconds'] / array['seconds']:>8.2f}"
            f"{array_cpu:>11.2f}{cli_cpu:>9.2f}{cli_cpu / array_cpu:>8.2f}"
            f"{max(r['peak_mb'] for r in runs['array']):>10.0f}{max(r['peak_mb'] for r in runs['cli']):>8.0f}"
            f"{cli['file_mb']:>9.1f}"
        )


def chunk_sizes() -> None:
    """CPU nanoseconds per pixel against --chunk for a 32- and a 128-wide net (what canvas.chunk_for follows)."""
    import numpy as np

    from cppnart.graph.export import cppn_model
    from cppnart.latent.io import sample_z
    from cppnart.render.bands import render_array
    from cppnart.render.canvas import Canvas, chunk_for
    from cppnart.render.runtime import create_session

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    print("CPU ns per pixel by --chunk, best of 5 (CPU time: robust on a shared machine)")
    for label, preset, size in [("32x4", "classic", (1024, 1024)), ("128x8", "classic-128x8", (512, 256))]:
        w = _weights(preset)
        session = create_session(cppn_model(w, preset=preset, seed=1, config={}).SerializeToString(), "cpu")
        z = sample_z(w.z_dim, 1)
        best = {}
        for _ in range(5):
            for log in range(12, 17):
                start = cpu()
                render_array(session, z, Canvas(*size, chunk=1 << log))
                ns = (cpu() - start) / (size[0] * size[1]) * 1e9
                best[log] = min(best.get(log, np.inf), ns)
        row = "  ".join(f"2^{log} {ns:.0f}" for log, ns in best.items())
        print(f"{label:<7}{row}   (default for width {w.width}: {chunk_for(w.width)})")


def main(quick: bool, extra: list[str]) -> None:
    sgemm = run_child("sgemm")
    best_sgemm = max(sgemm.values())
    print("machine sgemm (2048^3 fp32): " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in sgemm.items()))
    print(f"\n{WIDTH}x{HEIGHT}, median of {REPEATS}, each side in a fresh process (peak RSS includes the interpreter)")
    print(f"{'net':<10}{'side':<26}{'time s':>8}{'peak MB':>9}{'GFLOP/s':>9}")
    for label, preset in {**NETS, **{name: name for name in extra}}.items():
        flops = flops_per_pixel(preset) * WIDTH * HEIGHT
        rows = {
            "naive torch, full frame": run_child("naive", preset),
            "cppnart, to array": run_child("cppnart", preset, "array"),
            "cppnart, streamed PNG": run_child("cppnart", preset, "png"),
        }
        for side, r in rows.items():
            print(f"{label:<10}{side:<26}{r['seconds']:>8.2f}{r['peak_mb']:>9.0f}{flops / r['seconds'] / 1e9:>9.0f}")
        naive, ours = rows["naive torch, full frame"], rows["cppnart, to array"]
        png = rows["cppnart, streamed PNG"]
        print(
            f"{label:<10}speed-up {naive['seconds'] / ours['seconds']:.1f}x (array), "
            f"{naive['seconds'] / png['seconds']:.1f}x (with PNG); "
            f"memory {ours['peak_mb'] / naive['peak_mb']:.3f} (array), {png['peak_mb'] / naive['peak_mb']:.3f} "
            f"(PNG) of naive; {flops / ours['seconds'] / 1e9 / best_sgemm:.2f} of sgemm rate; "
            f"checksums {naive['checksum']:.5f} / {ours['checksum']:.5f}\n"
        )
    end_to_end(["2880x1800"] if quick else ["2880x1800", "16384x16384"])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        if kind == "sgemm":
            result = child_sgemm()
        elif kind == "naive":
            result = child_naive_torch(rest[0])
        elif kind == "array":
            result = child_array(rest[0])
        elif kind == "cli":
            result = child_cli(rest[0])
        else:
            result = child_cppnart(rest[0], rest[1] == "png")
        print(json.dumps(result))
    else:
        extra = [sys.argv[i + 1] for i, arg in enumerate(sys.argv[:-1]) if arg == "--preset"]
        if "--chunks" in sys.argv:
            chunk_sizes()
        elif "--e2e" in sys.argv:
            repeats = int(sys.argv[sys.argv.index("--repeats") + 1]) if "--repeats" in sys.argv else 3
            end_to_end(["2880x1800"] if "--quick" in sys.argv else ["2880x1800", "16384x16384"], repeats)
        else:
            main(quick="--quick" in sys.argv, extra=extra)
