"""`train classifier`: the small CNN that `cppnart dream` visualises, trained on labelled images.

    data = load_labelled_images("builtin:digits", config)
    result = train_classifier(config, data, Path("runs/clf"), device=torch.device("cpu"))
    result.accuracy, result.accuracy_untrained          # on the held-out split

A seeded permutation keeps ``holdout`` of the images out of training. Each step trains on a
random batch under a light kornia affine jitter (so the net does not rely on exact positions,
which also makes its visualisations cleaner), with Adam and the config's stateless cosine rate.
The run folder gets ``checkpoint.pt`` (exact resume), ``classifier.onnx`` (images [B, C, S, S] in
[0, 1] -> logits [B, K], verified against torch), ``holdout.npz`` (the held-out images and labels,
8-bit, which `dream` uses to rank an activation among real data) and ``summary.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Unpack

import numpy as np
import torch
from torch.nn import functional as F

from ..configs.classifier import ClassifierConfig
from ..configs.schema import to_dict
from ..errors import UserError
from ..graph.export import save_model
from ..io.atomic import atomic_output
from ..io.images import ImageSet
from .loop import Every
from .models.classifier import Classifier
from .onnx_export import export_onnx, verify_onnx
from .run import RunArgs, RunOptions, Session, set_lr

CLASSIFIER_ONNX = "classifier.onnx"
HOLDOUT_FILE = "holdout.npz"


@dataclass
class ClassifierResult:
    """What ``train_classifier`` returns: steps reached, seconds, held-out accuracy before and after
    training, the held-out image count and the run folder."""

    steps: int
    seconds: float
    accuracy: float  # on the held-out split
    accuracy_untrained: float
    holdout: int
    out: Path


def load_labelled_images(source: str, config: ClassifierConfig) -> ImageSet:
    """Labelled images at image_size: builtin:digits, IDX images with their labels file beside
    them, or a folder with one subfolder per class."""
    from ..io.images import load_images, resize_images

    data = load_images(source, config.channels, limit=config.data_limit, seed=config.seed)
    if data.labels is None:
        raise UserError(
            f"data '{source}' has no labels; give builtin:digits, MNIST IDX images with the labels file "
            "beside them, or a folder with one subfolder per class"
        )
    if data.size != (config.image_size, config.image_size):
        data = ImageSet(resize_images(data.images, config.image_size), data.labels, data.source, data.classes)
    labels = data.labels
    assert labels is not None  # checked above; resizing keeps them
    found = int(labels.max()) + 1
    if found > config.classes or int(labels.min()) < 0:
        raise UserError(f"data '{source}' has labels 0..{found - 1} but the preset has {config.classes} classes")
    if len(data.images) < 20:
        raise UserError(f"data '{source}' holds {len(data.images)} images; a classifier needs at least 20")
    return data


def split(data: ImageSet, config: ClassifierConfig) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and held-out images (a seeded permutation)."""
    order = np.random.default_rng([config.seed, 11]).permutation(len(data.images))
    held = max(1, round(config.holdout * len(order)))
    return order[held:], order[:held]


@torch.no_grad()
def accuracy(net: Classifier, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    """The fraction of images classified as their label (eval mode)."""
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    right = sum(
        int((net(x.to(device)).argmax(1).cpu() == y).sum()) for x, y in zip(images.split(batch), labels.split(batch))
    )
    net.train(was_training)
    return right / max(1, len(labels))


def train_classifier(
    config: ClassifierConfig, data: ImageSet, out: Path, **options: Unpack[RunOptions]
) -> ClassifierResult:
    """Train (or continue from ``payload``, a loaded checkpoint) up to ``config.steps``.

    ``options``: ``device`` and optionally ``payload``, ``callbacks``, ``export`` (``run.RunOptions``).
    """
    import kornia.augmentation as K

    run = RunArgs(**options)
    device, payload, callbacks, export = run.device, run.payload, run.callbacks, run.export

    rng = Session.seed_torch(config.seed)
    net = Classifier(config).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    train_idx, held_idx = split(data, config)
    images, labels = torch.from_numpy(data.images), torch.from_numpy(data.labels)  # type: ignore[arg-type]
    x_train, y_train = images[train_idx], labels[train_idx]
    x_held, y_held = images[held_idx], labels[held_idx]
    jitter = K.RandomAffine(degrees=8.0, translate=(0.08, 0.08), scale=(0.9, 1.1), p=0.8)
    session = Session(config, out, callbacks, {"model": net, "optimizer": optimizer}, {"batches": rng})
    start = session.start(payload)
    untrained = payload["extra"].get("accuracy_untrained") if payload is not None else None
    if untrained is None:
        untrained = accuracy(net, x_held, y_held)
    session.extra = {"data": data.source, "accuracy_untrained": untrained}

    def step_fn(step: int) -> dict[str, float]:
        set_lr(optimizer, config.lr_at(step))
        idx = torch.randint(0, len(x_train), (config.batch,), generator=rng)
        x, y = jitter(x_train[idx].to(device)), y_train[idx].to(device)
        logits = net(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.item(), "batch_accuracy": float((logits.argmax(1) == y).float().mean())}

    def evaluate(step: int) -> None:
        if callbacks.on_metrics is not None:
            callbacks.on_metrics(step, {"holdout_accuracy": accuracy(net, x_held, y_held)})

    steps, seconds = session.run(step_fn, start, config.steps, [Every(config.eval_every, evaluate)])
    result = ClassifierResult(steps, seconds, accuracy(net, x_held, y_held), float(untrained), len(held_idx), out)
    if export:
        export_classifier(config, net, out)
        with atomic_output(out / HOLDOUT_FILE) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, images=np.round(x_held.numpy() * 255).astype(np.uint8), labels=y_held.numpy())
        session.summary(
            steps,
            seconds,
            device,
            {
                "holdout_accuracy": result.accuracy,
                "holdout_accuracy_untrained": result.accuracy_untrained,
                "holdout_images": result.holdout,
                "data": data.source,
                "classes": list(data.classes) if data.classes else list(range(config.classes)),
                "images": len(train_idx),
            },
        )
    return result


def export_classifier(config: ClassifierConfig, net: Classifier, out: Path) -> Path:
    """classifier.onnx: images [B, C, S, S] -> logits [B, K], verified against torch."""
    net = net.cpu()
    x = torch.rand(3, config.channels, config.image_size, config.image_size, generator=torch.Generator().manual_seed(0))
    proto = export_onnx(
        net,
        {"images": x},
        output_names=["logits"],
        dynamic={"images": {0: "B"}},
        metadata={"kind": "classifier", "interface": "classifier", "preset": config.name, "config": to_dict(config)},
    )
    verify_onnx(proto, net, {"images": x})
    return save_model(proto, out / CLASSIFIER_ONNX)
