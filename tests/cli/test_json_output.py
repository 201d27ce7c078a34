"""`--json` always prints strict JSON: NaN and the infinities become null (docs/design.md)."""

from __future__ import annotations

import json

import numpy as np

from cppnart.cli import app
from cppnart.cli.output import json_line
from cppnart.configs.presets import load_preset
from cppnart.graph.export import cppn_model, save_model
from cppnart.graph.weights import random_weights


def _strict(text: str):
    """Parse as a strict reader would: Python's json accepts NaN unless told not to."""

    def refuse(word: str):
        raise ValueError(f"not JSON: {word}")

    return json.loads(text, parse_constant=refuse)


def test_json_line_turns_non_finite_numbers_into_null():
    data = {"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5], "c": np.float32("nan"), "d": np.arange(2)}
    assert _strict(json_line(data)) == {"a": None, "b": [None, None, 1.5], "c": None, "d": [0, 1]}


def test_info_json_of_a_model_whose_config_holds_nan_is_valid_json(runner, tmp_path):
    config = load_preset("classic")
    proto = cppn_model(
        random_weights(config, 3), preset="classic", seed=3, config={"name": "classic", "scale": float("nan")}
    )
    path = save_model(proto, tmp_path / "nan.onnx")
    assert any("NaN" in p.value for p in proto.metadata_props)  # Python's json wrote the bare word
    result = runner.invoke(app, ["info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    shown = _strict(result.output)
    assert shown["config"]["scale"] is None and shown["seed"] == "3"
