"""Judge a ganvae run with a classifier trained on real images it never saw.

    cppnart train classifier --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --out runs/judge
    python bench/coverage.py runs/fashion --judge runs/judge \
        --data /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

The judge (`cppnart train classifier`, a small CNN) learns the data set's *other* split, so it
reads real images, not the generator's training images. Everything is judged through the run's
exported ONNX files (what users render) and the judge's classifier.onnx, with onnxruntime:
- ``--samples`` images from z ~ N(0, I): how many of the classes appear, the histogram, and the
  judge's mean confidence (targets: 10/10 classes, confidence >= 0.8); the same for latents drawn
  from one Gaussian fitted to the data's latents (``z sample --from-data``) and from a
  ``--mixture``-component Gaussian mixture fitted to them (``--from-data --mixture K``), beside it;
- reconstructions (encoder mean -> generator) of images of the run's data that the run did not
  train on (past its data_limit): how often the judge reads back the class that went in
  (target >= 90%), against the judge's accuracy on the same images themselves, and how often it
  reads the reconstruction as it reads the image (agreement: what the reconstruction kept, apart
  from the judge's own mistakes).
The generator trained on centred crops; samples are rendered at the judge's size with the view
widened by data_size / crop, so the crop sits where it sat in the training images.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from cppnart.configs.view import View
from cppnart.io.images import load_images
from cppnart.latent.io import sample_z
from cppnart.render.encoder import RunEncoder, sample_from_data, sample_from_mixture
from cppnart.render.model import load_model


def judge_session(run: Path) -> ort.InferenceSession:
    path = run / "classifier.onnx" if run.is_dir() else run
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def classify(session: ort.InferenceSession, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class and its probability for images [N, 1, S, S] in [0, 1]."""
    logits = np.concatenate(
        [session.run(None, {"images": chunk.astype(np.float32)})[0] for chunk in np.array_split(images, 10)]
    )
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    return probs.argmax(1), probs.max(1)


def report(name: str, classes: np.ndarray, confidence: np.ndarray, count: int) -> dict:
    histogram = np.bincount(classes, minlength=count)
    present = int((histogram > 0).sum())
    print(f"{name:<26} classes {present}/{count}  histogram {histogram.tolist()}  confidence {confidence.mean():.2f}")
    return {"classes": present, "histogram": histogram.tolist(), "confidence": float(confidence.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a `train ganvae` run folder")
    parser.add_argument("--judge", type=Path, required=True, help="a `train classifier` run on the other split")
    parser.add_argument("--data", required=True, help="the run's data source (its unseen images are reconstructed)")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--recon", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mixture", type=int, default=10, help="components of the fitted mixture")
    args = parser.parse_args()
    started = time.perf_counter()

    summary = json.loads((args.run / "summary.json").read_text())
    model = load_model(args.run, device="cpu")
    config = json.loads(model.metadata.get("config", "{}"))  # the run's GanVaeConfig, as exported
    data_size, crop = int(config.get("data_size", 28)), int(config.get("crop", 26))
    judge = judge_session(args.judge)
    side = judge.get_inputs()[0].shape[2]
    classes = judge.get_outputs()[0].shape[1]
    if not isinstance(classes, int):
        classes = 10

    view = View(zoom=crop / data_size)  # the crop's field of view inside a data_size image
    z = sample_z(model.z_dim, args.seed, "normal", args.samples)
    samples = model.render(z, side, side, view).transpose(0, 3, 1, 2)
    prior = report("samples z ~ N(0, I)", *classify(judge, samples), classes)
    fitted = {}
    for name, drawn in (
        ("one gaussian", sample_from_data(args.run, args.seed, args.samples)),
        (f"mixture of {args.mixture}", sample_from_mixture(args.run, args.seed, args.samples, args.mixture)),
    ):
        pictures = model.render(drawn, side, side, view).transpose(0, 3, 1, 2)
        fitted[name] = report(f"samples from {name}", *classify(judge, pictures), classes)

    limit = int(summary.get("data_limit", config.get("data_limit", 20000)))
    data = load_images(args.data, limit=limit + args.recon)
    unseen, labels = data.images[limit:], data.labels[limit:] if data.labels is not None else None
    if labels is None or len(unseen) == 0:
        raise SystemExit(f"{args.data} has no labelled images past the run's data_limit {limit}")
    margin = (data_size - crop) // 2
    encoder = RunEncoder(args.run, device="cpu")
    recon = model.render(encoder.encode(unseen[:, :, margin : margin + crop, margin : margin + crop]), side, side, view)
    read_back, _ = classify(judge, recon.transpose(0, 3, 1, 2))
    direct, _ = classify(judge, unseen)
    print(
        f"reconstructions of {len(unseen)} unseen images: recognised {(read_back == labels).mean():.3f} "
        f"(the judge on the images themselves: {(direct == labels).mean():.3f}; "
        f"reconstruction read as its image: {(read_back == direct).mean():.3f})"
    )
    print(f"({time.perf_counter() - started:.0f} s)")
    print(
        json.dumps(
            {
                "prior": prior,
                **fitted,
                "reconstructions_recognised": float((read_back == labels).mean()),
                "judge_on_images": float((direct == labels).mean()),
                "agreement_with_judge_on_images": float((read_back == direct).mean()),
            }
        )
    )


if __name__ == "__main__":
    main()
