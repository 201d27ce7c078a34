"""The small image classifier of the filter-visualisation series, built from a ClassifierConfig.

    net = Classifier(config)
    logits = net(images)                       # [B, C, S, S] in [0, 1] -> [B, classes]
    maps = net.activations(images, {"conv3"})  # {"conv3": [B, 128, 7, 7]} (after the ReLU)

Named layers, in order: ``conv1`` .. ``convK`` (3x3, ReLU; 2x2 max-pool after all but the last),
``dense1`` .. (ReLU) and ``logits``. Those names are what `cppnart layers` lists and
`cppnart dream --layer` takes.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ...configs.classifier import ClassifierConfig


class Classifier(nn.Module):
    """images [B, C, S, S] in [0, 1] -> logits [B, classes]; see the module docstring."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        sizes = [config.channels, *config.conv]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(sizes, sizes[1:]))
        side = config.image_size >> (len(config.conv) - 1)
        widths = [config.conv[-1] * side * side, *config.dense]
        self.dense = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.head = nn.Linear(widths[-1], config.classes)
        self.dropout = nn.Dropout(config.dropout)

    def layer_names(self) -> list[str]:
        """Every layer `dream` can visualise, input to output."""
        return (
            [f"conv{i + 1}" for i in range(len(self.convs))]
            + [f"dense{i + 1}" for i in range(len(self.dense))]
            + ["logits"]
        )

    def activations(self, images: torch.Tensor, wanted: set[str] | frozenset[str]) -> dict[str, torch.Tensor]:
        """The named layers' outputs; stops after the last one wanted."""
        found: dict[str, torch.Tensor] = {}
        h = images * 2 - 1  # centre the [0, 1] pixels
        for i, conv in enumerate(self.convs):
            h = F.relu(conv(h))
            if f"conv{i + 1}" in wanted:
                found[f"conv{i + 1}"] = h
                if len(found) == len(wanted):
                    return found
            if i < len(self.convs) - 1:
                h = F.max_pool2d(h, 2)
        h = h.flatten(1)
        for i, layer in enumerate(self.dense):
            h = F.relu(layer(self.dropout(h)))
            if f"dense{i + 1}" in wanted:
                found[f"dense{i + 1}"] = h
                if len(found) == len(wanted):
                    return found
        found["logits"] = self.head(self.dropout(h))
        return found

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits [B, classes] for images [B, C, S, S] in [0, 1] (what ``classifier.onnx`` computes)."""
        return self.activations(images, {"logits"})["logits"]
