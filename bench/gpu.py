"""GPU benchmark in one go: render throughput, the GPU poster against the CPU's, training steps/s.

    python bench/gpu.py                  # on a CUDA machine: everything, under 8 minutes (each measure has a budget)
    python bench/gpu.py --quick          # small sizes, few steps; without CUDA the CPU stands in (checks the script)
    python bench/gpu.py --json out.json  # also write every number as JSON
    python -m pytest -q -m gpu tests/render/test_gpu_render.py tests/train/test_gpu_torch.py   # the GPU's own checks

Needs torch and numpy; onnxruntime-gpu where installed (its rows are skipped otherwise, and the
torch rows where torch sees no CUDA). Prints, in one run:
  * render throughput in Gpx/s of the 32x4 and 128x8 nets at 2880x1800 and 16384x16384 (streamed
    band by band, nothing kept), for onnxruntime CUDA and torch CUDA in fp32 and fp16, and the
    CPU's onnxruntime fp32 figure beside them (ratios printed). A measure that would pass its time
    budget stops after the bands done so far and says how many rows it timed. "in calls" is the
    share of the time spent inside the session calls (the rest: coordinates and copies on the host),
    and "calls alone" what the GPU's calls reach with inputs on the device and outputs left there;
  * the GPU's 2880x1800 poster against the CPU's: max and mean difference in 8-bit levels;
  * glyph-quick and ganvae training steps/s on the GPU (fp32 and bf16 autocast) against the CPU
    (median step time after three warm-up steps).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

BASELINE = "onnxruntime cpu fp32 (baseline)"
NETS = {"32x4": "classic", "128x8": "classic-128x8"}
SIZES = [(2880, 1800), (16384, 16384)]
QUICK_SIZES = [(256, 160), (512, 512)]
RENDER_BUDGET_S = 10.0  # per measure; the CPU at 16384^2 would take minutes, so it times the first bands
TRAIN_BUDGET_S = 20.0
FAMILIES = {"glyph-quick": "glyph-quick", "ganvae": "ganvae-digits"}
STAND_IN = False  # --quick without CUDA: the CPU stands in for the GPU rows
DEADLINE_S = 440.0  # past this, the remaining measures are skipped (the whole run stays under 8 minutes)
STARTED = time.perf_counter()


def net_model(name: str, device: str) -> Any:
    from cppnart.configs.presets import load_preset
    from cppnart.render.model import model_from_config

    config = load_preset("classic")
    if name == "128x8":  # as bench/render.py: the classic tanh net, wider and deeper
        config = dataclasses.replace(config, width=128, depth=8, activations=("tanh",) * 8, init_scale=0.25)
    return model_from_config(config, seed=1, source=NETS[name], device=device)


class Timed:
    """A session whose run_coords time is summed (the rest of a render is host work)."""

    def __init__(self, session: Any) -> None:
        self.session, self.seconds = session, 0.0

    def run_coords(self, coords: np.ndarray, z: np.ndarray, chunk: int) -> np.ndarray:
        from cppnart.render.bands import run_coords

        start = time.perf_counter()
        try:
            return run_coords(self.session, coords, z, chunk)
        finally:
            self.seconds += time.perf_counter() - start


def sessions(model: Any, cuda_ort: bool, cuda_torch: bool, stand_in: bool) -> dict[str, Any]:
    """label -> a function making the session (so each is built only when measured)."""
    from cppnart.render.runtime import create_session

    made: dict[str, Any] = {BASELINE: lambda: create_session(model.onnx_bytes, "cpu")}  # first: the ratios need it
    gpu = "cpu" if stand_in else "cuda"
    if cuda_ort or stand_in:
        for p in ("fp32", "fp16"):
            made[f"onnxruntime {gpu} {p}"] = lambda p=p: create_session(model.onnx_bytes, gpu, precision=p)
    if cuda_torch or stand_in:
        from cppnart.train.torch_render import torch_session

        for p in ("fp32", "fp16"):
            made[f"torch {gpu} {p}"] = lambda p=p: torch_session(model.onnx_bytes, gpu, p)
    return made


def measure_compute(session: Any, z: np.ndarray, seconds: float = 1.5) -> float | None:
    """Gpx/s of the session's calls alone, inputs already on the device and outputs left there:
    what the GPU could do if the host made no coordinates and took no floats back. None for the CPU."""
    from cppnart.render.runtime import GPU_POINTS, BoundSession

    calls = 0
    if isinstance(session, BoundSession) and (STAND_IN or session.device == "cuda"):
        binding, coords_buf, z_buf, rgb_buf, options = session._bound(GPU_POINTS, z, None)
        coords_buf.update_inplace(np.zeros((GPU_POINTS, 2), np.float32))
        z_buf.update_inplace(z)
        run = lambda: session.session.run_with_iobinding(binding, options)
        sync = lambda: None  # run_with_iobinding returns when the call is done
    elif hasattr(session, "_forward") and (STAND_IN or str(session.device).startswith("cuda")):
        import torch

        coords = torch.zeros(GPU_POINTS, 2, device=session.device)
        feeds = {"coords": coords, "z": torch.from_numpy(z).to(session.device)}

        def run() -> None:
            with torch.inference_mode():
                session._forward(feeds)

        sync = torch.cuda.synchronize if session.device.type == "cuda" else (lambda: None)
    else:
        return None
    run()
    sync()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        run()
        calls += 1
    sync()
    return calls * GPU_POINTS / (time.perf_counter() - start) / 1e9


def measure_render(session: Any, model: Any, width: int, height: int, keep: bool) -> dict[str, Any]:
    from cppnart.io.png import quantize
    from cppnart.render.bands import render_bands

    z = model.sample_z(1)
    canvas = model.canvas(width, height)
    timed = Timed(session)
    first = canvas.band_ranges()[0]
    list(render_bands(timed, z, canvas.resized(width, first[1])))  # warm-up: CUDA graph capture, kernels
    timed.seconds = 0.0
    kept, rows = [], 0
    start = time.perf_counter()
    for band in render_bands(timed, z, canvas):
        rows += band.shape[1]
        if keep:
            kept.append(quantize(band[0]))
        if time.perf_counter() - start > RENDER_BUDGET_S:
            break
    seconds = time.perf_counter() - start
    result = {
        "gpx_per_s": rows * width / seconds / 1e9,
        "seconds": round(seconds, 3),
        "rows": rows,
        "complete": rows == height,
        "in_calls": round(timed.seconds / seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    compute = measure_compute(session, z) if width == SIZES[0][0] or keep else None
    if compute is not None:
        result["compute_gpx_per_s"] = round(compute, 4)
    if keep and rows == height:
        result["pixels"] = np.concatenate(kept, axis=0)
    return result


def bench_render(
    sizes: list[tuple[int, int]], cuda_ort: bool, cuda_torch: bool, stand_in: bool
) -> list[dict[str, Any]]:
    rows = []
    for net in NETS:
        for width, height in sizes:
            model = net_model(net, "cpu")
            base = float("nan")
            posters: dict[str, np.ndarray] = {}
            for label, make in sessions(model, cuda_ort, cuda_torch, stand_in).items():
                if time.perf_counter() - STARTED > DEADLINE_S:
                    print(f"{net:6} {width}x{height:<6} {label:34} skipped: past the deadline", flush=True)
                    continue
                try:
                    result = measure_render(make(), model, width, height, keep=(width, height) == sizes[0])
                except Exception as exc:  # one backend failing must not lose the other numbers
                    rows.append({"net": net, "size": f"{width}x{height}", "backend": label, "error": str(exc)[:200]})
                    print(f"{net:6} {width}x{height:<6} {label:34} FAILED: {str(exc)[:120]}", flush=True)
                    continue
                pixels = result.pop("pixels", None)
                if pixels is not None:
                    posters[label] = pixels
                if label == BASELINE:
                    base = result["gpx_per_s"]
                result["x_cpu"] = round(result["gpx_per_s"] / base, 2)
                rows.append({"net": net, "size": f"{width}x{height}", "backend": label, **result})
                note = "" if result["complete"] else f" (first {result['rows']} rows)"
                if "compute_gpx_per_s" in result:
                    note += f"; calls alone {result['compute_gpx_per_s']:.3f} Gpx/s"
                print(
                    f"{net:6} {width}x{height:<6} {label:34} {result['gpx_per_s']:8.4f} Gpx/s  "
                    f"{result['x_cpu']:7.2f}x CPU  in calls {result['in_calls']:.0%}{note}",
                    flush=True,
                )
            cpu = posters.pop(BASELINE, None)
            for label, pixels in posters.items():
                if cpu is None:
                    break
                diff = np.abs(pixels.astype(np.int16) - cpu.astype(np.int16))
                entry = {"net": net, "size": f"{width}x{height}", "poster_vs_cpu": label}
                entry.update(max_levels=int(diff.max()), mean_levels=round(float(diff.mean()), 4))
                rows.append(entry)
                shown = f"poster vs CPU: max {diff.max()} levels, mean {diff.mean():.4f}"
                print(f"{net:6} {width}x{height:<6} {label:34} {shown}", flush=True)
    return rows


class Enough(Exception):
    """Stops a training run once the benchmark has its steps."""


def bench_train(device: str, precision: str, family: str, steps: int) -> dict[str, Any]:
    import torch

    from cppnart.configs.presets import KINDS, load_preset
    from cppnart.train.device import choose_device, training_precision
    from cppnart.train.run import Callbacks, resolve_run

    stamps: list[float] = []

    def tick(step: int, metrics: dict[str, float]) -> None:  # the budget counts from the first step, not set-up
        stamps.append(time.perf_counter())
        if len(stamps) >= steps or (len(stamps) >= 5 and stamps[-1] - stamps[0] > TRAIN_BUDGET_S):
            raise Enough

    preset = FAMILIES[family]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        base = load_preset(preset)
        config, _ = resolve_run(KINDS[base.kind], base, out, resume=False, steps=10_000)
        callbacks = Callbacks(on_metrics=tick)
        dev = choose_device(device)
        try:
            with training_precision(dev, precision):
                if base.kind == "glyph":
                    from cppnart.train.glyph import train_glyph

                    train_glyph(config, out, device=device, callbacks=callbacks, export=False)
                else:
                    from cppnart.train.ganvae import load_training_images, train_ganvae

                    images = load_training_images("builtin:digits", config, False)
                    train_ganvae(config, images, out, device=dev, callbacks=callbacks, export=False)
        except Enough:
            pass
    if dev.type == "cuda":
        torch.cuda.synchronize()
    gaps = np.diff(stamps[3:]) if len(stamps) > 5 else np.diff(stamps)
    per_step = float(np.median(gaps)) if len(gaps) else float("nan")
    return dict(family=family, device=device, precision=precision, steps=len(stamps), steps_per_s=1 / per_step)


def environment() -> dict[str, Any]:
    env: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine()}
    try:
        import torch

        env["torch"] = torch.__version__
        env["torch_cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        env["cpu_threads"] = torch.get_num_threads()
    except ImportError:
        env["torch"] = None
    if importlib.util.find_spec("onnxruntime"):
        import onnxruntime

        env["onnxruntime"] = onnxruntime.__version__
        env["providers"] = onnxruntime.get_available_providers()
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few steps (runs on a CPU too)")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args()
    global RENDER_BUDGET_S, TRAIN_BUDGET_S, STAND_IN
    started = STARTED
    env = environment()
    print(json.dumps(env), flush=True)
    cuda_ort = "CUDAExecutionProvider" in env.get("providers", [])
    cuda_torch = bool(env.get("torch_cuda"))
    stand_in = args.quick and not (cuda_ort or cuda_torch)
    STAND_IN = stand_in
    if not (cuda_ort or cuda_torch or stand_in):
        print("no CUDA: neither onnxruntime-gpu nor torch sees a GPU; run with --quick to check the script here")
        return
    if stand_in:
        print("--quick without CUDA: the CPU stands in for the GPU rows (checks the script, not a GPU)")
    if args.quick:
        RENDER_BUDGET_S, TRAIN_BUDGET_S = 3.0, 8.0
    report: dict[str, Any] = {"environment": env}
    report["render"] = bench_render(QUICK_SIZES if args.quick else SIZES, cuda_ort, cuda_torch, stand_in)
    train = []
    if not args.skip_train and env.get("torch"):
        gpu = "cuda" if cuda_torch else "cpu"
        steps = 8 if args.quick else 40
        for family in FAMILIES:
            runs = [(gpu, "fp32"), (gpu, "bf16")] if cuda_torch or stand_in else []
            for device, precision in [("cpu", "fp32"), *runs]:
                if time.perf_counter() - STARTED > DEADLINE_S:
                    print(f"train {family:12} {device:4} {precision}: skipped: past the deadline", flush=True)
                    continue
                try:
                    r = bench_train(device, precision, family, steps if device == "cuda" else max(6, steps // 4))
                except Exception as exc:
                    r = {"family": family, "device": device, "precision": precision, "error": str(exc)[:200]}
                train.append(r)
                shown = f"{r['steps_per_s']:.2f} steps/s ({r['steps']} steps)" if "steps_per_s" in r else r["error"]
                print(f"train {family:12} {device:4} {precision}: {shown}", flush=True)
            done = [t for t in train if t["family"] == family and "steps_per_s" in t]
            cpu = next((t for t in done if t["device"] == "cpu"), None)
            for t in train:
                if cpu and t["family"] == family and "steps_per_s" in t:
                    t["x_cpu"] = round(t["steps_per_s"] / cpu["steps_per_s"], 2)
    report["train"] = train
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(f"done in {report['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
