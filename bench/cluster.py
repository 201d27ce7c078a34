"""Rendering on Ray vs here: the overhead on one machine, the driver's memory, two simulated
nodes, and the throughput N nodes would reach on paper.

1. frames/s of a morph and bands/s of a poster rendered here (Renderer) and on a local
   Ray cluster of this machine's CPUs (RayRenderer), in one process: the overhead ratio;
2. the driver's peak RSS (sampled from /proc) while a short and a 4x longer morph stream
   through the cluster into a GIF: flat means the window bounds it;
3. the same morph on a cluster of two simulated nodes (ray.cluster_utils, one CPU each);
4. on paper: N nodes of C CPUs, from the measured per-task time, the result size and the
   driver's per-frame writer cost.

    python bench/cluster.py [--frames 96] [--res 256]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cppnart.io.animation import save_animation
from cppnart.render.canvas import Canvas
from cppnart.render.frames import frames_per_call, render_frames
from cppnart.render.model import Model, load_model
from cppnart.render.poster import save_poster


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        match = re.search(r"VmRSS:\s+(\d+)", f.read())
    return int(match[1]) / 1024 if match else 0.0


class PeakRss:
    """Peak RSS of this process while the block runs, sampled every 20 ms."""

    def __enter__(self) -> PeakRss:
        self.start, self.peak, self._stop = rss_mib(), rss_mib(), False
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, rss_mib())
            time.sleep(0.02)

    def __exit__(self, *exc) -> None:
        self._stop = True
        self._thread.join()


def timed(function, repeat: int = 2) -> float:
    """Best of ``repeat`` wall times (the machine is shared: the best is the least disturbed)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def morph_latents(net, frames: int) -> np.ndarray:
    from cppnart.latent.paths import plan_path

    return plan_path(net.sample_z(1, count=4), max(1, frames // 3), 0, False, "smooth", "slerp")[:frames]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--res", type=int, default=256)
    parser.add_argument("--poster", type=int, default=2048)
    args = parser.parse_args()

    import ray

    from cppnart.cluster.connect import connected
    from cppnart.cluster.renderer import RayRenderer
    from cppnart.render.renderer import Renderer

    net = load_model("classic", seed=7)
    size, cpus = args.res, len(os.sched_getaffinity(0))
    latents = morph_latents(net, args.frames)
    batch = frames_per_call(Canvas(size, size))
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    poster_bands = -(-args.poster // max(1, (1 << 18) // args.poster))

    def morph(renderer, model=net) -> None:
        for _ in render_frames(model, latents, model.canvas(size, size), batch=batch, renderer=renderer):
            pass

    def poster(renderer, model=net) -> None:
        save_poster(model, net.sample_z(7), args.poster, args.poster, tmp / "p.png", renderer=renderer)

    print(f"machine: {cpus} CPUs (shared with other work: times are inflated and noisy)")
    print(f"morph: classic, {args.frames} frames {size}x{size}, {batch} frames per task; "
          f"poster {args.poster}x{args.poster}, {poster_bands} bands\n")  # fmt: skip
    local = Renderer()
    t_morph_local, t_poster_local = timed(lambda: morph(local)), timed(lambda: poster(local))
    one_thread = Model(net.onnx_bytes, net.metadata, net.source, threads=1)  # what each Ray task uses
    t_morph_one, t_poster_one = timed(lambda: morph(local, one_thread)), timed(lambda: poster(local, one_thread))

    started = time.perf_counter()
    with connected("local", num_cpus=cpus):
        start_s = time.perf_counter() - started
        cluster = RayRenderer()
        morph(cluster)  # warm: workers start, fetch the model, make their sessions
        t_morph_ray, t_poster_ray = timed(lambda: morph(cluster)), timed(lambda: poster(cluster))

        # Per task: one batch of frames on a warm worker, and the bytes it sends back.
        task = cluster.remote(__import__("cppnart.cluster.tasks", fromlist=["frames_task"]).frames_task)
        handle = cluster.handle(net)
        one = [task.remote(handle, latents[:batch], Canvas(size, size)) for _ in range(cpus)]
        ray.get(one)
        t0 = time.perf_counter()
        _, frames = ray.get(task.remote(handle, latents[:batch], Canvas(size, size)))
        t_task = time.perf_counter() - t0
        result_bytes = frames.nbytes

        writer_s = timed(lambda: save_animation(tmp / "w.gif", (frames[0] for _ in range(32)), size, size), 1) / 32

        rss = {}
        for count in (args.frames, 4 * args.frames):
            long_latents = morph_latents(net, count)
            frames_iter = render_frames(net, long_latents, net.canvas(size, size), batch=batch, renderer=cluster)
            with PeakRss() as peak:
                save_animation(tmp / f"long{count}.gif", frames_iter, size, size)
            rss[count] = (peak.start, peak.peak)

    print(f"{'':22s} {'here':>10s} {'Ray, 1 node':>12s} {'ratio':>7s}")
    f_local, f_ray = args.frames / t_morph_local, args.frames / t_morph_ray
    b_local, b_ray = poster_bands / t_poster_local, poster_bands / t_poster_ray
    print(f"{'morph frames/s':22s} {f_local:10.1f} {f_ray:12.1f} {f_ray / f_local:7.2f}")
    f_one = args.frames / t_morph_one
    print(f"{'  here, 1 thread':22s} {f_one:10.1f} {'':12s} Ray / ({cpus} x 1 thread) = {f_ray / (cpus * f_one):.2f}")
    print(f"{'poster bands/s':22s} {b_local:10.1f} {b_ray:12.1f} {b_ray / b_local:7.2f}")
    b_one = poster_bands / t_poster_one
    print(f"{'  here, 1 thread':22s} {b_one:10.1f} {'':12s} Ray / ({cpus} x 1 thread) = {b_ray / (cpus * b_one):.2f}")
    print("(Ray runs one single-threaded session per CPU: 'Ray / (CPUs x 1 thread)' below 1 is its overhead)")
    print(f"Ray start-up (local cluster of {cpus} CPUs): {start_s:.1f} s, paid once per command\n")
    for count, (start, peak) in rss.items():
        print(f"driver RSS, {count:5d}-frame morph to GIF on Ray: {start:.0f} MiB before, {peak:.0f} MiB peak")

    from ray.cluster_utils import Cluster

    sim = Cluster(initialize_head=True, connect=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        sim.add_node(num_cpus=1)
        sim.wait_for_nodes()
        two = RayRenderer()
        morph(two)
        t_two = timed(lambda: morph(two))
        print(f"\ntwo simulated nodes x 1 CPU (on this same machine): {args.frames / t_two:.1f} frames/s, "
              f"tasks ran on {len(two.stats.nodes)} nodes")  # fmt: skip
    finally:
        ray.shutdown()
        sim.shutdown()

    print(
        f"\non paper: one task = {batch} frames {size}x{size} in {t_task * 1000:.0f} ms on one CPU, returns "
        f"{result_bytes / 1e6:.2f} MB; the driver writes a GIF frame in {writer_s * 1000:.1f} ms"
    )
    per_cpu = batch / t_task
    frame_bytes = result_bytes / batch
    head = ["nodes x 16 CPUs", "render frames/s", "1 GbE cap", "10 GbE cap", "GIF writer cap"]
    print(" ".join(f"{h:>16s}" for h in head))
    for nodes in (1, 4, 16, 64):
        row = [nodes * 16 * per_cpu, 125e6 / frame_bytes, 1.25e9 / frame_bytes, 1 / writer_s]
        print(f"{nodes:>16d} " + " ".join(f"{v:16.0f}" for v in row))
    # The ten-minute 4K morph at 60 fps: cost and bytes scale with the pixels.
    scale = 3840 * 2160 / (size * size)
    frames_4k, bytes_4k = 36_000, frame_bytes * scale
    print(f"\n10-minute 4K60 morph (36,000 frames, {bytes_4k / 1e6:.1f} MB each to the driver):")
    for nodes in (1, 4, 16, 64):
        render_h = frames_4k * scale / per_cpu / (nodes * 16) / 3600
        link_h = frames_4k * bytes_4k / 1.25e9 / 3600
        print(f"  {nodes:3d} nodes x 16 CPUs: render {render_h:6.2f} h, 10 GbE to the driver {link_h:4.2f} h "
              f"-> {max(render_h, link_h):6.2f} h")  # fmt: skip
    print("(the driver's link and its one writer bound a long morph; MP4 and PNG folders write faster than GIF)")


if __name__ == "__main__":
    main()
