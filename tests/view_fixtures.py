"""Tiny models and a viewer app for the viewer's tests: one model per hidden activation and one
per output activation of the table, a greyscale one, and an exported .onnx (read back from its
initializers) as the default."""

from __future__ import annotations

from pathlib import Path

from cppnart.configs.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from cppnart.configs.cppn import CPPNConfig
from cppnart.render.model import Model, load_model, model_from_config
from cppnart.view.catalogue import Catalogue
from cppnart.view.http import RenderGate
from cppnart.view.server import create_app, initial_state


def tiny_config(activation: str, output: str, channels: int = 3) -> CPPNConfig:
    # Small weights: no activation saturates, so every formula shows in the pixels.
    return CPPNConfig(
        name=f"{activation}-{output}",
        z_dim=3,
        channels=channels,
        width=8,
        depth=2,
        activations=(activation,),
        output=output,
        scale=2.0,
        init_scale=0.7,
        bias_scale=0.3,
    )


def tiny_models() -> dict[str, Model]:
    """name -> model: every hidden activation (sigmoid out), every output (tanh hidden), greyscale."""
    configs = [tiny_config(a, "sigmoid") for a in HIDDEN_ACTIVATIONS]
    configs += [tiny_config("tanh", o) for o in OUTPUT_ACTIVATIONS if o != "sigmoid"]
    configs.append(replace_name(tiny_config("sin", "sin", channels=1), "grey"))
    return {c.name: model_from_config(c, 3, c.name, "cpu") for c in configs}


def replace_name(config: CPPNConfig, name: str) -> CPPNConfig:
    from dataclasses import replace

    return replace(config, name=name)


def viewer_app(folder: Path, heartbeat: float = 5.0, gate: RenderGate | None = None):
    """(app, models): the .onnx of a tiny preset as the default, the tiny models, and `classic`;
    ``gate`` bounds its frames (the server's default when None)."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / "tiny.onnx"
    config = tiny_config("tanh", "sigmoid")
    onnx_path.write_bytes(model_from_config(config, 11, "tiny", "cpu").onnx_bytes)
    default = load_model(onnx_path, device="cpu")
    models = {"tiny.onnx": default, **tiny_models()}
    catalogue = Catalogue.around(default, "tiny.onnx", presets=False)
    catalogue.models.update(models)
    catalogue.models["classic"] = None  # a bundled preset, loaded on first use
    z = default.sample_z(5)
    app = create_app(catalogue, folder / "posters", initial_state(None, z, 5), heartbeat=heartbeat, gate=gate)
    return app, models
