"""The image classifier that ``cppnart dream`` visualises (kind ``classifier``): a dataclass, no torch.

The network is the small CNN of the filter-visualisation series on MNIST: three 3x3 conv layers
(ReLU, 2x2 max-pooling after the first two), the last with many maps at low resolution, then
dense layers to one logit per class. Trained with Adam and a cosine learning rate on a held-out
split; the summary keeps the held-out accuracy.
"""

from __future__ import annotations

from ..errors import UserError
from .schedule import lr_at
from .schema import LEARNING_RATE, POSITIVE_STEPS, PresetHeader, Range, bounded, chosen, preset

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


@preset("classifier")
class ClassifierConfig(PresetHeader):
    """A ``classifier`` preset: the CNN's layer sizes, the data split and the training schedule."""

    channels: int = chosen(1, (1, 3))
    image_size: int = bounded(28, "image_size")  # images are brought to image_size x image_size
    classes: int = bounded(10, SIZE_RANGES["classes"])
    conv: tuple[int, ...] = bounded(
        (32, 64, 128), SIZE_RANGES["conv"]
    )  # maps per 3x3 conv layer; 2x2 max-pool after all but the last
    dense: tuple[int, ...] = bounded((128,), SIZE_RANGES["dense"])  # hidden dense layers before the logits
    dropout: float = bounded(0.25, Range(0.0, 1.0, open_high=True))
    data_limit: int = bounded(20000, "data_limit")
    holdout: float = bounded(
        0.1, Range(0.0, 1.0, open_low=True, open_high=True)
    )  # fraction of the images kept out of training for the accuracy
    steps: int = bounded(3000, POSITIVE_STEPS)
    batch: int = bounded(128, "batch")
    lr: float = bounded(2e-3, LEARNING_RATE)
    lr_final: float = bounded(1e-5, "lr")
    eval_every: int = bounded(500, POSITIVE_STEPS)
    checkpoint_every: int = bounded(500, POSITIVE_STEPS)
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
        """The rules that relate fields (each field's own range is checked as it is read)."""
        if not self.conv or len(self.conv) > MAX_LAYERS or len(self.dense) > MAX_LAYERS:
            raise UserError(f"{where}: 'conv' needs 1 to {MAX_LAYERS} layers and 'dense' at most {MAX_LAYERS}")
        if self.image_size >> (len(self.conv) - 1) < 1:
            raise UserError(f"{where}: 'image_size' {self.image_size} is too small for {len(self.conv)} conv layers")
