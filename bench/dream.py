"""`cppnart dream` quality and speed on a classifier trained with the shipped preset on builtin digits.

    python bench/dream.py --run runs/clf          # train the classifier there first if it is missing
    python bench/dream.py --run runs/clf --steps 512 --threads 2

Quality (the issue's bars):
- every class logit of the `logits` layer, visualised, rendered from its model.onnx by onnxruntime at
  the input size and classified by the same classifier's classifier.onnx: p(target) >= 0.9 for >= 9 of 10;
- every channel of `conv3` (128, batched in one run): the optimised activation beats the 99th
  percentile of that channel over the held-out images for >= 90% of the channels that respond.
Speed: one channel, 512 steps, CPPN parameterisation, on ``--threads`` CPU threads; and the whole
128-channel layer batched, as seconds per channel. Times on a shared machine are inflated.

    python bench/dream.py --packaged svhn --gallery examples/gallery/dream-svhn.png

A classifier someone else trained and published (ccexam's SVHN net, RGB 32x32, 10 digits;
``pip install --no-deps ccexam onnx2torch``), exported to ONNX and dreamed from that file: one
class, 512 steps, on ``--threads`` threads with the cppn, fft and maco parameterisations (target
for cppn: within 60 s on 2 cores); then every class logit with each, each render read back by
onnxruntime from the exported model (bar: p(class) >= 0.9 for every class), and a sheet of the
three parameterisations' classes, one row each.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=Path("runs/clf"))
    parser.add_argument("--steps", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--layer", default="conv3")
    parser.add_argument("--skip-layer", action="store_true", help="only the classes and the one-channel timing")
    parser.add_argument("--packaged", choices=["svhn", "mnist", "usps"], help="a published classifier instead")
    parser.add_argument("--gallery", type=Path, help="with --packaged: write the classes' sheet here")
    args = parser.parse_args()
    if args.packaged:
        packaged(args)
        return

    import onnxruntime as ort
    import torch

    from cppnart.train.dream import DreamSettings, dream
    from cppnart.train.targets import load_target

    torch.set_num_threads(args.threads)
    if not (args.run / "classifier.onnx").is_file():
        cmd = [
            sys.executable,
            "-m",
            "cppnart",
            "train",
            "classifier",
            "--out",
            str(args.run),
            "--threads",
            str(args.threads),
        ]
        print("training:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    summary = json.loads((args.run / "summary.json").read_text())
    print(f"classifier: held-out accuracy {summary['holdout_accuracy']:.4f} on {summary['holdout_images']} images")
    target = load_target(args.run)
    tmp = Path(tempfile.mkdtemp(prefix="dream-bench-"))

    # speed: one channel, on 1 thread and on --threads (small tensors: more threads can be slower)
    single = float("inf")
    for threads in sorted({1, args.threads}):
        torch.set_num_threads(threads)
        t0, c0 = time.perf_counter(), time.process_time()
        one = dream(target, DreamSettings(layer=args.layer, units=(5,), steps=args.steps), tmp / f"one-{threads}")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        single = min(single, wall)
        print(
            f"one channel, {args.steps} steps, {threads} thread(s): {wall:.1f} s wall (with export), {cpu:.1f} s CPU; "
            f"activation {one.report['solutions'][0]['start_activation']:.3f} -> "
            f"{one.report['solutions'][0]['final_activation']:.3f}",
            flush=True,
        )
    torch.set_num_threads(args.threads)

    # quality: class logits
    t0 = time.perf_counter()
    classes = dream(target, DreamSettings(layer="logits", steps=args.steps), tmp / "classes", all_channels=True)
    session = ort.InferenceSession(str(args.run / "classifier.onnx"), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"images": classes.images.astype(np.float32)})[0]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    own = p[np.arange(len(p)), np.arange(len(p))]
    print(
        f"classes ({time.perf_counter() - t0:.0f} s): p(target) "
        + " ".join(f"{v:.3f}" for v in own)
        + f" -> {int((own >= 0.9).sum())}/10 at >= 0.9 (bar: 9)"
    )
    print(f"  sheet: {tmp / 'classes' / 'sheet.png'}")

    if args.skip_layer:
        return
    t0 = time.perf_counter()
    layer = dream(target, DreamSettings(layer=args.layer, steps=args.steps), tmp / "layer", all_channels=True)
    whole = time.perf_counter() - t0
    sols = layer.report["solutions"]
    responders = [s for s in sols if s["responded"]]
    beat = sum(s["final_activation"] > s["data_p99"] for s in responders)
    print(
        f"{args.layer}: {len(responders)}/{len(sols)} channels respond; {beat}/{len(responders)} "
        f"({beat / max(1, len(responders)):.0%}) beat the held-out 99th percentile (bar: 90%)"
    )
    print(
        f"  batched: {whole:.0f} s for {len(sols)} channels = {whole / len(sols):.2f} s/channel "
        f"vs {single:.1f} s alone: {single / (whole / len(sols)):.1f}x per channel"
    )
    print(f"  sheet: {tmp / 'layer' / 'sheet.png'}")


def packaged(args: argparse.Namespace) -> None:
    """The published classifier's speed and class quality, cppn beside fft and maco."""
    import onnxruntime as ort
    import torch

    from cppnart.render.sheets import save_sheet
    from cppnart.train.dream import DreamSettings, dream
    from cppnart.train.packaged import packaged_onnx
    from cppnart.train.targets import load_target

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="dream-packaged-"))
    path = packaged_onnx(args.packaged, tmp / f"{args.packaged}.onnx")
    target = load_target(path)
    last = list(target.layers)[-1]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    mean, std = (np.array(v, np.float32).reshape(1, -1, 1, 1) for v in target.normalise or ((0.0,), (1.0,)))
    print(f"{args.packaged}: {path} ({target.channels}x{target.size[0]}x{target.size[1]}), layer {last}")
    lrs = {"cppn": 0.01, "fft": 0.05, "maco": 0.05}
    times = {}
    for param, lr in lrs.items():
        t0 = time.perf_counter()
        one = dream(
            target, DreamSettings(layer=last, units=(3,), steps=args.steps, param=param, lr=lr), tmp / f"one-{param}"
        )
        times[param] = time.perf_counter() - t0
        sol = one.report["solutions"][0]
        print(
            f"one class, {args.steps} steps, {param:4s}, {args.threads} thread(s): {times[param]:.1f} s wall; "
            f"logit {sol['start_activation']:.2f} -> {sol['final_activation']:.2f}",
            flush=True,
        )
    print(f"  cppn / fft: {times['cppn'] / times['fft']:.2f}x, cppn / maco: {times['cppn'] / times['maco']:.2f}x")
    rows = []
    for param, lr in lrs.items():
        t0 = time.perf_counter()
        every = dream(
            target, DreamSettings(layer=last, steps=args.steps, param=param, lr=lr), tmp / param, all_channels=True
        )
        logits = session.run(None, {session.get_inputs()[0].name: (every.images - mean) / std})[0]
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        own = p[np.arange(len(p)), np.arange(len(p))]
        print(
            f"classes, {param} ({time.perf_counter() - t0:.0f} s): p(class) "
            + " ".join(f"{v:.3f}" for v in own)
            + f" -> {int((own >= 0.9).sum())}/{len(own)} at >= 0.9",
            flush=True,
        )
        rows.append(every.images)
    if args.gallery:
        labels = [f"{param} {k}" for param in lrs for k in range(len(rows[0]))]
        save_sheet(args.gallery, np.concatenate(rows), cols=len(rows[0]), upscale=3, labels=labels, channels_last=False)
        print(f"sheet (rows: cppn, fft, maco): {args.gallery}")


if __name__ == "__main__":
    main()
