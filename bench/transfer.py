"""Visualisations that transfer: dream the ten classes of one digits classifier, judge them with another.

    python bench/transfer.py                    # a classifier-digits run dreams, ccexam's MNIST net judges
    python bench/transfer.py --dreamer usps      # ccexam's USPS net dreams instead
    python bench/transfer.py --dreamer runs/clf  # a classifier run (or .onnx) of your own

A class visualisation that only its own model reads is an adversarial pattern; one that a second
model also reads is a picture of the class. By default the dreamer is the project's own
``classifier-digits`` preset (three convs of 16, 32 and 128 maps and a dense layer, 28x28,
trained here on builtin:digits, the font-drawn digits, seed 0: about 45 s on 2 cores) and the
judge ccexam's MNIST classifier (two plain convs, 28x28, trained on real MNIST digits): another
architecture trained on other data, published in the ccexam wheel (``pip install --no-deps
ccexam onnx2torch``). ccexam's USPS net (two convs with batch norm and dropout, 16x16, USPS postal
digits) can dream or judge instead. Each class's CPPN is rendered from its model.onnx by
onnxruntime at each model's own size (a CPPN draws at any size). The MNIST net judges by default
because it reads real digits far better than the USPS net does across the domain gap (on 500
builtin:digits: 91% against 50% at 16x16). Reported: how many of the ten the judge reads as their
class (target: >= 8 of 10) and the judge's confidence in each.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    p = np.exp(logits - logits.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sheet", type=Path, help="write the ten renders (28x28) here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--dreamer",
        default="classifier-digits",
        help="classifier-digits (trained here first), mnist or usps (ccexam's), or a run folder or .onnx",
    )
    parser.add_argument("--judge", choices=["mnist", "usps"], default="mnist")
    args = parser.parse_args()

    import onnxruntime as ort
    import torch

    from cppnart.render.model import load_model
    from cppnart.render.sheets import save_sheet
    from cppnart.train.dream import DreamSettings, dream
    from cppnart.train.packaged import packaged_onnx
    from cppnart.train.targets import load_target

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="dream-transfer-"))
    t_train = time.perf_counter()
    if args.dreamer == "classifier-digits":  # the project's own preset, trained here (seeded)
        import subprocess
        import sys

        run = tmp / "classifier-digits"
        cli = [sys.executable, "-m", "cppnart", "train", "classifier", "--preset", "classifier-digits"]
        subprocess.run([*cli, "--seed", "0", "--out", str(run), "-q"], check=True)
        print(f"trained classifier-digits in {time.perf_counter() - t_train:.0f} s")
        args.dreamer = str(run)
    if args.dreamer in ("mnist", "usps"):
        dreamer_path = packaged_onnx(args.dreamer, tmp / f"{args.dreamer}.onnx")
    else:  # a run folder's exported classifier, or an .onnx
        dreamer_path = Path(args.dreamer)
        dreamer_path = dreamer_path / "classifier.onnx" if dreamer_path.is_dir() else dreamer_path
    judge_path = packaged_onnx(args.judge, tmp / f"{args.judge}-judge.onnx")
    dreamer = load_target(args.dreamer if Path(args.dreamer).is_dir() else dreamer_path)
    t0 = time.perf_counter()
    result = dream(
        dreamer,
        DreamSettings(layer=list(dreamer.layers)[-1], steps=args.steps, seed=args.seed),
        tmp / "classes",
        all_channels=True,
    )
    print(f"dreamed 10 classes of the {args.dreamer} net in {time.perf_counter() - t0:.0f} s ({args.steps} steps)")
    rows = {}
    sizes = {"mnist": 28, "usps": 16}
    for name, path, size in (
        (f"dreamer ({args.dreamer} net)", dreamer_path, dreamer.size[0]),
        (f"judge ({args.judge} net)", judge_path, sizes[args.judge]),
    ):
        target = load_target(path)
        mean, std = (np.array(v, np.float32).reshape(1, -1, 1, 1) for v in target.normalise or ((0.0,), (1.0,)))
        images = np.stack(
            [load_model(str(model)).render(np.zeros((1, 1), np.float32), size, size).transpose(2, 0, 1)
             for model in result.models]  # type: ignore[arg-type]
        )  # fmt: skip
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        p = softmax(session.run(None, {"images": (images - mean) / std})[0])
        own, read = p[np.arange(10), np.arange(10)], p.argmax(1)
        print(
            f"{name} at {size}x{size}: read as their class {int((read == np.arange(10)).sum())}/10; "
            f"p(class) " + " ".join(f"{v:.2f}" for v in own) + f"; read as {read.tolist()}"
        )
        rows[size] = images
    if args.sheet:
        save_sheet(args.sheet, rows[max(rows)], cols=10, upscale=3, channels_last=False)
        print(f"sheet: {args.sheet} (the renders at {max(rows)}x{max(rows)})")


if __name__ == "__main__":
    main()
