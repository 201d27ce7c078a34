"""One activation table, three backends: every hidden activation x every output x numpy, ONNX, torch."""

from __future__ import annotations

import numpy as np
import pytest

from cppnart.configs.activations import HIDDEN, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, OUTPUTS, output_formula
from cppnart.render.parity import onnx_forward, parity_table, probe_inputs, probe_weights

TOLERANCE = 2e-6  # float32 rounding of the same formula in another kernel
# torch multiplies the coordinates by the scale before the matmul, numpy and ONNX fold it into the weights
TORCH_TOLERANCE = 1e-5


def test_every_activation_and_output_agrees_between_numpy_and_onnxruntime():
    table = parity_table({"onnx": onnx_forward})
    assert len(table) == len(HIDDEN_ACTIVATIONS) * len(OUTPUT_ACTIVATIONS)
    worst = max(table, key=table.get)
    assert table[worst] < TOLERANCE, f"{worst}: {table[worst]:.3g}"


def test_every_activation_and_output_agrees_between_numpy_and_torch():
    torch = pytest.importorskip("torch")
    from cppnart.train.models.cppn import CPPN

    def torch_forward(weights, coords, z):
        with torch.no_grad():
            return CPPN.from_weights(weights)(torch.from_numpy(coords), torch.from_numpy(z)).numpy()

    table = parity_table({"torch": torch_forward})
    worst = max(table, key=table.get)
    assert table[worst] < TORCH_TOLERANCE, f"{worst}: {table[worst]:.3g}"


def test_probe_nets_really_differ_per_activation():
    """A parity test is only as good as its probe: each activation must change the picture."""
    coords, z = probe_inputs()
    from cppnart.graph.numpy_forward import forward

    outputs = [forward(probe_weights(act, "sigmoid"), coords, z) for act in HIDDEN_ACTIVATIONS]
    for i in range(len(outputs)):
        for j in range(i + 1, len(outputs)):
            assert np.abs(outputs[i] - outputs[j]).max() > 1e-3, (HIDDEN_ACTIVATIONS[i], HIDDEN_ACTIVATIONS[j])


def test_outputs_land_in_the_colour_range_and_formulas_compose():
    coords, z = probe_inputs()
    from cppnart.graph.numpy_forward import forward

    for output in OUTPUTS:
        rgb = forward(probe_weights("identity", output), coords, z)
        assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    assert output_formula("abs") == "|tanh(x)|" and output_formula("sin") == f"0.5 + 0.5 * {HIDDEN['sin']}"


def test_a_backend_that_drifts_from_the_table_fails_at_import():
    from cppnart.configs.activations import check_backend

    with pytest.raises(RuntimeError, match="differ from the table"):
        check_backend("new", [*HIDDEN_ACTIVATIONS, "swish"])
