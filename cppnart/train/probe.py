"""The glyph post's experiments on data: a linear probe on the decoder, and images through the model.

A linear probe on a glyph decoder's representation, trained decoder against a random one.

The glyph post asks what a decoder trained only to read glyphs back has learned about other
images: freeze it, take its features (the flattened conv stack, before the message head) of a
labelled data set, fit a linear classifier on part of it and score the rest. The same probe on a
randomly initialised decoder of the same shape is the baseline (random conv features are a
strong one, so the gap is the finding, not the accuracy alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import UserError
from ..io.images import images_at
from .models.glyph import GlyphDecoder, GlyphGenerator

RIDGE = 1e-2  # ridge on standardised features: stable with more features than images
TRAIN_SHARE = 0.8


@dataclass(frozen=True)
class ProbeReport:
    """Linear-probe accuracy on the trained and a random decoder's features: whether training taught
    the decoder anything about real images beyond what a random net gives."""

    trained: float  # held-out accuracy of the probe on the trained decoder's features
    random: float  # the same on a random decoder of the same shape
    chance: float  # 1 / number of classes
    train_count: int
    test_count: int


def linear_probe_accuracy(features: np.ndarray, labels: np.ndarray, train_count: int) -> float:
    """Ridge regression onto one-hot labels, fitted on the first ``train_count`` rows, scored on the rest.

    >>> x = np.array([[0.0], [1.0], [0.1], [0.9]]); y = np.array([0, 1, 0, 1])
    >>> linear_probe_accuracy(x, y, 2)
    1.0
    """
    x = np.asarray(features, np.float64)
    mean, std = x[:train_count].mean(0), x[:train_count].std(0) + 1e-8
    x = np.concatenate([(x - mean) / std, np.ones((len(x), 1))], axis=1)
    classes = int(labels.max()) + 1
    onehot = np.eye(classes)[labels[:train_count]]
    a = x[:train_count]
    weights = np.linalg.solve(a.T @ a + RIDGE * len(a) * np.eye(a.shape[1]), a.T @ onehot)
    predicted = (x[train_count:] @ weights).argmax(1)
    return float((predicted == labels[train_count:]).mean())


def decoder_features(decoder: GlyphDecoder, images: np.ndarray, batch: int = 256) -> np.ndarray:
    """The frozen decoder's representation [N, F] of images [N, C, S, S] (eval mode: running statistics)."""
    was_training = decoder.training
    decoder.eval()
    try:
        with torch.no_grad():
            device = next(decoder.parameters()).device
            chunks = [
                decoder.features(torch.from_numpy(c).to(device)).cpu()
                for c in np.array_split(images, max(1, len(images) // batch))
            ]
    finally:
        decoder.train(was_training)
    return torch.cat(chunks).numpy()


def probe_decoders(
    trained: GlyphDecoder, random: GlyphDecoder, source: str, channels: int, size: int, count: int
) -> ProbeReport:
    """Probe both decoders on ``count`` labelled images of ``source`` (shuffled with a fixed seed)."""
    data = images_at([source], channels, size, count)
    images, labels = data.images, data.labels
    if labels is None:
        raise UserError(f"'{source}' has no labels; the probe needs a labelled set (builtin:digits, IDX with labels)")
    order = np.random.default_rng(0).permutation(len(images))
    images, labels = images[order], labels[order].astype(np.int64)
    train_count = int(TRAIN_SHARE * len(images))
    if train_count < 10 or len(images) - train_count < 10:
        raise UserError(f"the probe needs at least 50 labelled images, got {len(images)}")
    scores = [linear_probe_accuracy(decoder_features(d, images), labels, train_count) for d in (trained, random)]
    return ProbeReport(scores[0], scores[1], 1.0 / (int(labels.max()) + 1), train_count, len(images) - train_count)


@dataclass(frozen=True)
class Reconstruction:
    """Real images sent through decoder then generator, by the trained and a random model, with each
    model's mean squared error against the images."""

    images: np.ndarray  # [N, S, S, C] the data, resized to the glyph size
    trained: np.ndarray  # generator(decoder(image)) of the trained model, same shape
    random: np.ndarray  # the same through a random model
    mse_trained: float
    mse_random: float


def reconstruct(
    models: tuple[GlyphDecoder, GlyphGenerator],
    random: tuple[GlyphDecoder, GlyphGenerator],
    images: np.ndarray,
) -> Reconstruction:
    """Images through the inverted auto-encoder: decoder (image -> message), then generator (-> image)."""
    outs = []
    for decoder, generator in (models, random):
        modes = decoder.training, generator.training
        decoder.eval(), generator.eval()
        try:
            with torch.no_grad():
                device = next(decoder.parameters()).device
                outs.append(generator.images(decoder(torch.from_numpy(images).to(device))).cpu().numpy())
        finally:
            decoder.train(modes[0]), generator.train(modes[1])
    mse = [float(np.mean((o - images) ** 2)) for o in outs]
    last = (0, 2, 3, 1)
    return Reconstruction(images.transpose(last), outs[0].transpose(last), outs[1].transpose(last), *mse)
