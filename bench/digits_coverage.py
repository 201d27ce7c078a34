"""Class coverage of a trained digits run: how many of the 10 digits appear in 100 random samples.

    python bench/digits_coverage.py runs/digits [--samples 100] [--seed 0]

A small CNN is trained on builtin:digits drawn with a seed the run did not use (cached next
to the digits cache), checked on another unseen set, and then judges:
- 100 samples with z ~ N(0, I) (the prior `cppnart render` uses) and 100 from the gaussian
  fitted to the encoded training data (`z sample --from-data`): classes present (target
  10/10), the histogram, and the classifier's mean confidence;
- reconstructions of held-out digits (encoder mean -> generator): how often the classifier
  reads back the digit that went in.
Everything the run is judged through is its exported ONNX files (what users render).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from cppnart.io.digits import _cache_dir, synthetic_digits
from cppnart.latent.io import sample_z
from cppnart.render.encoder import RunEncoder, sample_from_data
from cppnart.render.model import load_model

CLASSIFIER_SEED, CHECK_SEED = 99, 98


def classifier() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 6 * 6, 128),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(128, 10),
    )


def crops(images: np.ndarray, rng: np.random.Generator | None) -> torch.Tensor:
    """26x26 windows of 28x28 digits: random (training, as the GAN saw them) or centred."""
    if rng is None:
        return torch.from_numpy(images[:, None, 1:27, 1:27].copy())
    out = np.empty((len(images), 1, 26, 26), np.float32)
    for i, (dy, dx) in enumerate(rng.integers(0, 3, (len(images), 2))):
        out[i, 0] = images[i, dy : dy + 26, dx : dx + 26]
    return torch.from_numpy(out)


def trained_classifier(count: int = 6000, epochs: int = 4) -> nn.Module:
    path = _cache_dir() / f"digit-classifier-{count}-{epochs}.pt"
    net = classifier()
    if path.is_file():
        net.load_state_dict(torch.load(path, weights_only=True))
        return net.eval()
    torch.manual_seed(0)
    images, labels = synthetic_digits(count, seed=CLASSIFIER_SEED)
    rng = np.random.default_rng(0)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    y = torch.from_numpy(labels)
    for _ in range(epochs):
        order = rng.permutation(count)
        for start in range(0, count, 100):
            idx = order[start : start + 100]
            loss = F.cross_entropy(net(crops(images[idx], rng)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    return net.eval()


@torch.no_grad()
def classify(net: nn.Module, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probs = F.softmax(net(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))), dim=1).numpy()
    return probs.argmax(1), probs.max(1)


def render_batch(model, z: np.ndarray, size: int = 26) -> np.ndarray:
    out = model.render(z, size, size)  # [B, H, W, 1]
    return out.reshape(len(z), size, size, 1).transpose(0, 3, 1, 2)


def report(name: str, classes: np.ndarray, confidence: np.ndarray) -> int:
    counts = np.bincount(classes, minlength=10)
    present = int((counts > 0).sum())
    print(f"{name:<22} classes {present}/10  histogram {counts.tolist()}  mean confidence {confidence.mean():.2f}")
    return present


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    net = trained_classifier()
    check, check_labels = synthetic_digits(1000, seed=CHECK_SEED)
    predicted, _ = classify(net, crops(check, None).numpy())
    print(
        f"classifier accuracy on unseen synthetic digits: {(predicted == check_labels).mean():.3f} "
        f"({time.perf_counter() - t0:.0f} s incl. training)"
    )

    model = load_model(args.run, device="cpu")
    prior = sample_z(model.z_dim, args.seed, "normal", args.samples)
    report("samples z ~ N(0, I)", *classify(net, render_batch(model, prior)))
    from_data = sample_from_data(args.run, args.seed, args.samples)
    report("samples --from-data", *classify(net, render_batch(model, from_data)))

    encoder = RunEncoder(args.run, device="cpu")
    held, held_labels = check[:500], check_labels[:500]
    recon = render_batch(model, encoder.encode(crops(held, None).numpy()))
    read_back, _ = classify(net, recon)
    mse = float(((recon - crops(held, None).numpy()) ** 2).mean())
    print(f"reconstructions of 500 unseen digits: recognised {(read_back == held_labels).mean():.2f}, MSE {mse:.4f}")


if __name__ == "__main__":
    main()
