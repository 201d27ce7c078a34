"""Print the parity table: max |backend - numpy| for every activation x output x backend.

python bench/parity.py
"""

from __future__ import annotations

import torch

from cppnart.configs.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from cppnart.render.parity import onnx_forward, parity_table
from cppnart.train.models.cppn import CPPN


def torch_forward(weights, coords, z):
    with torch.no_grad():
        return CPPN.from_weights(weights)(torch.from_numpy(coords), torch.from_numpy(z)).numpy()


def main() -> None:
    table = parity_table({"onnx": onnx_forward, "torch": torch_forward})
    print(f"{'activation':<10} " + " ".join(f"{o + ' onnx/torch':>22}" for o in OUTPUT_ACTIVATIONS))
    for act in HIDDEN_ACTIVATIONS:
        cells = [f"{table[(act, o, 'onnx')]:>10.1e}/{table[(act, o, 'torch')]:<11.1e}" for o in OUTPUT_ACTIVATIONS]
        print(f"{act:<10} " + " ".join(cells))
    for backend in ("onnx", "torch"):
        print(f"worst {backend}: {max(v for k, v in table.items() if k[2] == backend):.2e}")


if __name__ == "__main__":
    main()
