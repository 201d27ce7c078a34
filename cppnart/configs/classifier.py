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
from .schema import check_channels, check_positive, fields_of


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

    def validate(self, where: str) -> None:
        check_positive(
            where, fields_of(self, "image_size data_limit holdout steps batch lr eval_every checkpoint_every")
        )
        check_channels(where, self.channels)
        if self.classes < 2:
            raise UserError(f"{where}: 'classes' must be at least 2, got {self.classes}")
        if not self.conv or any(c < 1 for c in self.conv) or any(d < 1 for d in self.dense):
            raise UserError(f"{where}: 'conv' needs a layer; sizes in 'conv' and 'dense' must be >= 1")
        if not 0 <= self.dropout < 1 or not 0 < self.holdout < 1:
            raise UserError(f"{where}: 'dropout' must be in [0, 1) and 'holdout' in (0, 1)")
        if self.image_size >> (len(self.conv) - 1) < 1:
            raise UserError(f"{where}: 'image_size' {self.image_size} is too small for {len(self.conv)} conv layers")
