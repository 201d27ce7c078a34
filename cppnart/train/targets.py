"""What `cppnart dream` can visualise: a trained network, its named layers and (where known) real data.

    target = load_target("runs/clf")                 # a classifier, ganvae or glyph run, or a .onnx file
    target.layers                                    # {"conv3": Layer(channels=128, shape=(128, 7, 7)), ...}
    acts = target.run(images, "conv3")               # images [B, C, H, W] in [0, 1] -> [B, 128, 7, 7]

- a ``train classifier`` run: ``conv1`` .. (after the ReLU), ``dense1`` .., ``logits``; its
  held-out images (``holdout.npz``) are the real data an activation is ranked among;
- a ``train ganvae`` run: its discriminator (``discriminator.conv1`` .., ``discriminator.logit``)
  and its encoder (``encoder.dense1`` .., ``encoder.mu``);
- a ``train glyph`` run: its decoder (``decoder.conv1`` .., ``decoder.message``);
- an image classifier in an ``.onnx`` file from elsewhere, run in torch by ``onnx_torch``.

Every target is in eval mode with frozen weights; only the input image gets gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ParamError, UserError
from .run_folder import CHECKPOINT


@dataclass(frozen=True)
class Layer:
    """A layer's output: ``channels`` and the full shape of one image's output (C,) or (C, H, W)."""

    channels: int
    shape: tuple[int, ...]

    @property
    def spatial(self) -> bool:
        """Whether the layer's output is maps [C, H, W] (a channel has a picture), not a vector."""
        return len(self.shape) == 3


MAX_NAME = 80  # characters of a class name kept for labels and messages


@dataclass
class Target:
    """A frozen network with named layers; ``run(images, layer)`` gives that layer's output."""

    source: str
    kind: str
    channels: int  # of the input image
    size: tuple[int, int]  # (height, width) of the input image
    layers: dict[str, Layer]
    forward: Callable[[torch.Tensor, str], torch.Tensor]
    data: np.ndarray | None = None  # real images [N, C, H, W] in [0, 1], for percentiles
    module: nn.Module | None = None
    normalise: tuple[tuple[float, ...], tuple[float, ...]] | None = None  # (mean, std) applied before the net
    labels: np.ndarray | None = None  # the class of each of ``data``'s images, where known
    data_source: str | None = None  # where ``data`` came from (a run's holdout.npz, or a user's --data)
    classes: tuple[str, ...] | None = None  # the last layer's units by name, where the model names them

    def unit_name(self, layer: str, unit: int) -> str | None:
        """The class name of ``unit`` of ``layer`` where that is the last layer and the model names
        its classes (a foreign model's ``classes`` metadata, a classifier run's named classes)."""
        last = list(self.layers)[-1] if self.layers else None
        if self.classes is None or layer != last or len(self.classes) != self.layers[layer].channels:
            return None
        if not 0 <= unit < len(self.classes):
            return None
        # a name comes from a file: printable characters only (it reaches the terminal), and short
        return "".join(c if c.isprintable() else "?" for c in self.classes[unit][:MAX_NAME]) or None

    def run(self, images: torch.Tensor, layer: str) -> torch.Tensor:
        """The named layer's output for images [B, C, H, W] in [0, 1]."""
        return self.forward(images, layer)

    def layer(self, name: str) -> Layer:
        """The layer called ``name``; an unknown name is a UserError listing the valid ones."""
        if name not in self.layers:
            raise UserError(f"{self.source} has no layer '{name}'; its layers: {', '.join(self.layers)}")
        return self.layers[name]


def with_data(target: Target, source: str | Path) -> Target:
    """``target`` with real images from ``source`` (what ``io.images.load_images`` reads: an image
    folder, an IDX file, builtin:digits), resized to its input and with their labels where the
    source has them: the images an activation is ranked among and the dataset examples."""
    from dataclasses import replace

    from ..io.images import load_images

    h, w = target.size
    if h != w:
        raise ParamError("data", f"needs a square input; {target.source} takes {w}x{h} images")
    found = load_images(source, channels=target.channels, resize=h, limit=MAX_HOLDOUT)
    return replace(target, data=found.images, labels=found.labels, data_source=str(source))


def _freeze(module: nn.Module) -> nn.Module:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def hooked(module: nn.Module, taps: dict[str, nn.Module]) -> Callable[[torch.Tensor, str], torch.Tensor]:
    """A forward that returns the output of the submodule tapped as ``layer`` (a forward hook)."""

    def forward(images: torch.Tensor, layer: str) -> torch.Tensor:
        found: list[torch.Tensor] = []
        handle = taps[layer].register_forward_hook(lambda m, i, o: found.append(o))
        try:
            module(images)
        finally:
            handle.remove()
        return found[0]

    return forward


# A probe's forward pass holds its input and each layer's output at once: at most this many times the
# input's floats for the small classifiers dream takes (a generous bound, checked before torch allocates).
PROBE_FACTOR = 16


def _describe(forward: Callable[[torch.Tensor, str], torch.Tensor], names: list[str], channels: int, size) -> dict:
    """Each named layer's output shape, from one probe image at the model's input size."""
    from ..io.budget import check_budget
    from .device import allocation_errors

    what = f"probing the model's layers with one {size[0]}x{size[1]} image"
    check_budget(what, memory=float(channels) * size[0] * size[1] * 4 * PROBE_FACTOR)
    with allocation_errors(what), torch.no_grad():
        probe = torch.zeros(1, channels, *size)
        shapes = {name: tuple(forward(probe, name).shape[1:]) for name in names}
    return {name: Layer(shape[0], shape) for name, shape in shapes.items()}


def load_target(
    source: str | Path,
    *,
    size: tuple[int, int] | None = None,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
) -> Target:
    """A run folder (classifier, ganvae, glyph) or a foreign ``.onnx`` image classifier. For a
    foreign one, ``size`` (height, width) is the input size of a model that takes any size, and
    ``mean``/``std`` its input normalisation (default: the model's metadata, else none); a run
    knows its own, so they are refused there."""
    path = Path(source)
    if path.suffix == ".onnx" and path.is_file():
        if path.name == "model.onnx" or path.name == "classifier.onnx":
            run = path.parent
            if (run / CHECKPOINT).is_file():
                return load_target(run, size=size, mean=mean, std=std)
        return _onnx(path, size, mean, std)
    for name, value in (("size", size), ("mean", mean), ("std", std)):
        if value is not None:
            raise ParamError(name, "applies to a foreign .onnx classifier only; a training run knows its own input")
    if path.is_file() and path.name == CHECKPOINT:
        path = path.parent
    if not path.is_dir():
        raise UserError(f"target '{source}' not found; give a training run folder or an .onnx image classifier")
    if not (path / CHECKPOINT).is_file():
        raise UserError(
            f"'{source}' holds no {CHECKPOINT}; dream needs a `train classifier`, `train ganvae` or `train glyph` "
            "run folder, or an .onnx image classifier"
        )
    from .checkpoint import load_checkpoint

    payload = load_checkpoint(path / CHECKPOINT)
    kind = payload["config"].get("kind")
    loaders = {"classifier": _classifier, "ganvae": _ganvae, "glyph": _glyph}
    if kind not in loaders:
        raise UserError(
            f"'{source}' is a '{kind}' run, which has no network to look into; dream takes {', '.join(loaders)} runs"
        )
    return loaders[kind](path, payload)


def _classifier(path: Path, payload: dict[str, Any]) -> Target:
    from ..configs.classifier import ClassifierConfig
    from .checkpoint import checkpoint_config, restore
    from .classifier import HOLDOUT_FILE
    from .models.classifier import Classifier

    config = checkpoint_config(payload, ClassifierConfig, str(path / CHECKPOINT))
    net = Classifier(config)
    restore(payload, states={"model": net}, where=str(path / CHECKPOINT), rng=False)
    _freeze(net)
    holdout = path / HOLDOUT_FILE
    data = read_holdout(holdout, config.channels, config.image_size) if holdout.is_file() else None

    def forward(images: torch.Tensor, layer: str) -> torch.Tensor:
        return net.activations(images, {layer})[layer]

    size = (config.image_size, config.image_size)
    layers = _describe(forward, net.layer_names(), config.channels, size)
    found = Target(str(path), "classifier", config.channels, size, layers, forward, data, net)
    found.data_source = None if data is None else str(holdout)
    found.classes = _run_class_names(path)
    return found


def _run_class_names(path: Path) -> tuple[str, ...] | None:
    """A classifier run's class names from its summary.json, where its data named them (a folder
    of class folders); None for numbered classes, whose index is their name."""
    from ..io.run_files import read_summary

    classes = read_summary(path).get("classes")  # {} for a run stopped early or a damaged summary
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        return None
    return tuple(classes)


MAX_HOLDOUT = 2000  # real images an activation is ranked among; more are not read


def read_holdout(path: Path, channels: int, size: int) -> np.ndarray:
    """A classifier run's held-out images [N, C, H, W] in [0, 1] (the first ``MAX_HOLDOUT``; only
    those are read), checked before any work: a damaged, foreign or mis-shaped file is one
    UserError naming it and what to do."""
    import zipfile
    import zlib

    fmt = np.lib.format
    try:
        with zipfile.ZipFile(path) as archive:
            if "images.npy" not in archive.namelist():
                raise _damaged(path, "it holds no 'images' array")
            with archive.open("images.npy") as member:
                version = fmt.read_magic(member)
                header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                shape, fortran, dtype = header(member)
                wanted = (channels, size, size)
                if dtype != np.uint8 or fortran or len(shape) != 4 or tuple(shape[1:]) != wanted or shape[0] < 1:
                    raise _damaged(
                        path, f"'images' is {dtype} {list(shape)}, not uint8 [N, {channels}, {size}, {size}]"
                    )
                count = min(int(shape[0]), MAX_HOLDOUT)
                raw = member.read(count * channels * size * size)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise _damaged(path, str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__) from None
    if len(raw) != count * channels * size * size:
        raise _damaged(path, "its images are cut short")
    return np.frombuffer(raw, np.uint8).reshape(count, *wanted).astype(np.float32) / 255.0


def _damaged(path: Path, why: str) -> UserError:
    return UserError(
        f"'{path}' is damaged ({why}); delete it (dream then ranks nothing against real images) "
        "or train the classifier again"
    )


def _ganvae(path: Path, payload: dict[str, Any]) -> Target:
    from ..configs.ganvae import GanVaeConfig
    from .checkpoint import checkpoint_config, restore
    from .models.ganvae import Discriminator, Encoder

    config = checkpoint_config(payload, GanVaeConfig, str(path / CHECKPOINT))
    size = config.crop
    disc = Discriminator(config.discriminator, config.channels, size)
    enc = Encoder(config.encoder, config.channels * size * size, config.z_dim)
    restore(payload, states={"discriminator": disc, "encoder": enc}, where=str(path / CHECKPOINT), rng=False)
    _freeze(disc), _freeze(enc)
    taps: dict[str, tuple[nn.Module, nn.Module]] = {}
    for i, conv in enumerate(disc.convs):
        taps[f"discriminator.conv{i + 1}"] = (disc, conv)
    taps["discriminator.logit"] = (disc, disc.head)
    for i, layer in enumerate(enc.body):
        taps[f"encoder.dense{i + 1}"] = (enc, layer)
    taps["encoder.mu"] = (enc, enc.mu)

    def forward(images: torch.Tensor, layer: str) -> torch.Tensor:
        module, tap = taps[layer]
        out = hooked(module, {layer: tap})(images, layer)
        return out[:, None] if out.ndim == 1 else out

    layers = _describe(forward, list(taps), config.channels, (size, size))
    return Target(str(path), "ganvae", config.channels, (size, size), layers, forward, None, disc)


def _glyph(path: Path, payload: dict[str, Any]) -> Target:
    from .checkpoint import restore
    from .glyph import config_from_checkpoint
    from .models.glyph import GlyphDecoder

    config = config_from_checkpoint(payload, str(path / CHECKPOINT))
    dec = GlyphDecoder(config)
    restore(payload, states={"decoder": dec}, where=str(path / CHECKPOINT), rng=False)
    _freeze(dec)
    acts = [m for m in dec.features if isinstance(m, nn.LeakyReLU)]
    taps: dict[str, nn.Module] = {f"decoder.conv{i + 1}": m for i, m in enumerate(acts)}
    taps["decoder.message"] = dec.head
    forward = hooked(dec, taps)
    size = (config.image_size, config.image_size)
    layers = _describe(forward, list(taps), config.channels, size)
    return Target(str(path), "glyph", config.channels, size, layers, forward, None, dec)


def _onnx(
    path: Path, size: tuple[int, int] | None, mean: tuple[float, ...] | None, std: tuple[float, ...] | None
) -> Target:
    from .onnx_torch import class_names, convert_onnx, normalisation

    module, channels, size, taps = convert_onnx(path, size)
    norm = input_normalisation(channels, mean, std, normalisation(path))
    _freeze(module)
    hook = hooked(module, taps)
    if norm is None:
        forward = hook
    else:
        shift = torch.tensor(norm[0], dtype=torch.float32).view(1, -1, 1, 1)
        scale = torch.tensor(norm[1], dtype=torch.float32).view(1, -1, 1, 1)

        def forward(images: torch.Tensor, layer: str) -> torch.Tensor:
            return hook((images - shift.to(images.device)) / scale.to(images.device), layer)

    layers = {k: v for k, v in _describe(forward, list(taps), channels, size).items() if len(v.shape) in (1, 3)}
    found = Target(str(path), "onnx", channels, size, layers, forward, None, module, norm)
    found.classes = class_names(path)
    return found


def input_normalisation(
    channels: int,
    mean: tuple[float, ...] | None,
    std: tuple[float, ...] | None,
    from_metadata: tuple[tuple[float, ...], tuple[float, ...]] | None,
) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """(mean, std) per input channel: the ones asked for (a missing half is 0 or 1), else the
    model's metadata, else None. One number stands for every channel; any other count than 1 or
    ``channels`` is a ParamError, as is a std that is not positive."""
    if mean is None and std is None:
        if from_metadata is None:
            return None
        mean, std = from_metadata
        where = "the model's metadata"
    else:
        where = ""
    found: list[tuple[float, ...]] = []
    for name, value, default in (("mean", mean, 0.0), ("std", std, 1.0)):
        values = tuple(float(v) for v in value) if value is not None else (default,)
        if len(values) not in (1, channels):
            origin = f" ({where})" if where else ""
            raise ParamError(
                name, f"has {len(values)} values{origin}; the model takes {channels} channel(s): give 1 or {channels}"
            )
        if not all(np.isfinite(values)) or (name == "std" and min(values) <= 0):
            raise ParamError(name, f"must be finite{' and positive' if name == 'std' else ''}, got {list(values)}")
        found.append(values * channels if len(values) == 1 else values)
    return found[0], found[1]
