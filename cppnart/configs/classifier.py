"""The image classifier that ``cppnart dream`` visualises (kind ``classifier``): a dataclass, no torch.

The network is the small CNN of the filter-visualisation series on MNIST: three 3x3 conv layers
(ReLU, 2x2 max-pooling after the first two), the last with many maps at low resolution, then
dense layers to one logit per class. Trained with Adam and a cosine learning rate on a held-out
split; the summary keeps the held-out accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError
from .schedule import lr_at
from .schema import Range, check_channels, check_positive, check_ranges, fields_of

# The network's sizes, each bounded so one typo cannot ask torch for terabytes; in-range values
# that still combine to too much are refused by ``memory_bytes`` against the memory budget.
SIZE_RANGES = {
    "classes": Range(2, 100_000, "one logit per class: the last layer grows with them"),
    "conv": Range(1, 4096, "maps per conv layer: memory grows with maps x image pixels x batch"),
    "dense": Range(1, 65536, "units per dense layer: weights grow with their product"),
}
MAX_LAYERS = 16  # conv or dense layers; each conv after the first halves the side
FLOAT_BYTES = 4
EVAL_BATCH = 1000  # images per held-out accuracy pass (train/classifier.accuracy)


@dataclass(frozen=True)
class ClassifierConfig:
    name: str = "classifier"
    description: str = ""
    kind: str = "classifier"
    channels: int = 1
    image_size: int = 28  # images are brought to image_size x image_size
    classes: int = 10
    conv: tuple[int, ...] = (32, 64, 128)  # maps per 3x3 conv layer; 2x2 max-pool after all but the last
    dense: tuple[int, ...] = (128,)  # hidden dense layers before the logits
    dropout: float = 0.25
    data_limit: int = 20000
    holdout: float = 0.1  # fraction of the images kept out of training for the accuracy
    steps: int = 3000
    batch: int = 128
    lr: float = 2e-3
    lr_final: float = 1e-5
    eval_every: int = 500
    checkpoint_every: int = 500
    seed: int = 0

    def lr_at(self, step: int) -> float:
        """Cosine from ``lr`` to ``lr_final`` over the run's last 70%, after a short warm-up."""
        return lr_at(step, self.steps, self.lr, self.lr_final, "cosine", warmup=100, decay=0.7)

    def parameter_count(self) -> int:
        """Weights and biases of the network (train/models/classifier.py builds the same layers)."""
        sizes = [self.channels, *self.conv]
        count = sum(a * b * 9 + b for a, b in zip(sizes, sizes[1:]))
        side = self.image_size >> (len(self.conv) - 1)
        widths = [self.conv[-1] * side * side, *self.dense, self.classes]
        return count + sum(a * b + b for a, b in zip(widths, widths[1:]))

    def memory_bytes(self) -> int:
        """About the bytes a training run holds at once, to refuse before torch allocates them: the
        images (loaded, and the training split copied), the weights with their gradients and two
        Adam moments, a batch's activations kept for the backward pass and their gradients, and
        one held-out evaluation pass."""
        pixels = self.channels * self.image_size**2
        per_image = 2 * pixels  # the centred input and the jittered batch
        side = self.image_size
        for i, maps in enumerate(self.conv):
            per_image += 2 * maps * side * side  # conv output and its ReLU
            if i < len(self.conv) - 1:
                side //= 2
                per_image += maps * side * side  # the pooled maps
        per_image += 2 * sum(self.dense) + self.classes
        images = 2 * self.data_limit * pixels
        floats = images + 4 * self.parameter_count() + 2 * self.batch * per_image + EVAL_BATCH * per_image
        return FLOAT_BYTES * floats

    def validate(self, where: str) -> None:
        check_positive(
            where, fields_of(self, "image_size data_limit holdout steps batch lr eval_every checkpoint_every")
        )
        check_channels(where, self.channels)
        if not self.conv or len(self.conv) > MAX_LAYERS or len(self.dense) > MAX_LAYERS:
            raise UserError(f"{where}: 'conv' needs 1 to {MAX_LAYERS} layers and 'dense' at most {MAX_LAYERS}")
        check_ranges(where, {"classes": self.classes}, SIZE_RANGES)
        for key in ("conv", "dense"):
            for size in getattr(self, key):
                check_ranges(where, {key: size}, SIZE_RANGES)
        if not 0 <= self.dropout < 1 or not 0 < self.holdout < 1:
            raise UserError(f"{where}: 'dropout' must be in [0, 1) and 'holdout' in (0, 1)")
        if self.image_size >> (len(self.conv) - 1) < 1:
            raise UserError(f"{where}: 'image_size' {self.image_size} is too small for {len(self.conv)} conv layers")
