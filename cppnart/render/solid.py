"""3-D CPPNs ready to sample: ``SolidModel`` (an onnxruntime session of a ``volume`` graph plus
the metadata its file carries) and ``load_solid`` for the ``solid`` presets and their .onnx files.

    model = load_solid("solid", seed=7)
    field = model.field(points, model.sample_z(7))     # [N, 4]: density, red, green, blue
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..configs.presets import load_preset, looks_like_path
from ..configs.schema import from_dict, to_dict
from ..configs.solid import SolidConfig
from ..errors import PARAM, ParamError, UserError
from ..latent.io import as_batch, sample_z
from .bands import check_finite_output
from .model import draw_seed

SOLID_CHUNK = 1 << 15  # points per onnxruntime call: a 32-wide net's activations stay near 4 MB


@dataclass(repr=False)
class SolidModel:
    """A 3-D CPPN: its ONNX bytes, their metadata, what the user named, and a lazy session."""

    onnx_bytes: bytes
    metadata: dict[str, str]
    source: str
    device: str = "auto"
    _session: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"SolidModel({self.label!r}, seed={self.seed}, z_dim={self.z_dim})"

    kind = "solid"
    channels = 3

    @property
    def z_dim(self) -> int:
        """The latent's size (metadata ``z_dim``)."""
        return int(self.metadata["z_dim"])

    @property
    def preset(self) -> str:
        """The preset the weights were drawn for ('' for a file without one)."""
        return self.metadata.get("preset", "")

    @property
    def seed(self) -> int | None:
        """The weights' seed, None when unknown."""
        text = self.metadata.get("seed", "")
        return int(text) if text else None

    @property
    def from_preset(self) -> bool:
        """Random weights from a preset and a seed (the seed picks the object)."""
        return not self.source.endswith(".onnx")

    @property
    def label(self) -> str:
        """Short name for file names and messages."""
        return self.preset or Path(self.source).stem

    @property
    def config(self) -> dict[str, Any] | None:
        """The solid config the file carries (rebuilds a preset's weights from a recipe), or None."""
        text = self.metadata.get("config")
        return json.loads(text) if text else None

    def sample_z(self, seed: int, count: int = 1) -> np.ndarray:
        """Latents [count, Z] from the model's prior."""
        return sample_z(self.z_dim, seed, self.metadata.get("z_prior", "uniform"), count)

    def check_z(self, z: np.ndarray, what: str = "z") -> np.ndarray:
        """``z`` as a checked batch [B, Z] (``latent.io.as_batch``)."""
        return as_batch(z, self.z_dim, what)

    @property
    def session(self) -> Any:
        """The onnxruntime session, made on first use."""
        if self._session is None:
            from .runtime import create_session

            self._session = create_session(self.onnx_bytes, self.device)
        return self._session

    def field(self, points: np.ndarray, z: np.ndarray, chunk: int = SOLID_CHUNK) -> np.ndarray:
        """Density and colour [N, 4] in [0, 1] at ``points`` [N, 3] for one latent ``z`` [1, Z]."""
        points = np.ascontiguousarray(points, dtype=np.float32)
        out = np.empty((points.shape[0], 4), dtype=np.float32)
        for i in range(0, points.shape[0], chunk):
            part = self.session.run(["field"], {"points": points[i : i + chunk], "z": z})[0]
            out[i : i + part.shape[1]] = check_finite_output(part[0])
        return out


def solid_from_config(config: SolidConfig, seed: int, source: str, device: str = "auto") -> SolidModel:
    """Random weights for a solid config, as an in-memory ONNX model."""
    from ..graph.solid import random_solid_weights, solid_model_bytes

    meta = {"preset": config.name, "seed": str(seed), "z_prior": config.z_prior, "config": to_dict(config)}
    data = solid_model_bytes(random_solid_weights(config, seed), meta)
    import onnx

    metadata = {p.key: p.value for p in onnx.load_from_string(data).metadata_props}
    return SolidModel(data, metadata, source, device)


def solid_from_table(table: dict[str, Any], seed: int, source: str, device: str, where: str) -> SolidModel:
    """A solid config given as a table (a recipe's), checked, with weights from ``seed``."""
    config = from_dict(SolidConfig, table, where)
    config.validate(where)
    return solid_from_config(config, seed, source, device)


def _read_volume_onnx(path: Path) -> tuple[bytes, dict[str, str]]:
    """A .onnx file of a 3-D CPPN: inputs points [N, 3] and z, output field [B, N, 4], metadata checked."""
    import onnx

    from .onnx_checks import MAX_MODEL_BYTES

    try:
        if path.stat().st_size > MAX_MODEL_BYTES:
            raise UserError(f"'{path}' is larger than an ONNX file can be")
        data = path.read_bytes()
        proto = onnx.load_from_string(data)
    except OSError as exc:
        raise UserError(f"cannot read model file '{path}': {exc.strerror}") from None
    except UserError:
        raise
    except Exception:
        raise UserError(f"'{path}' is not a valid ONNX file (corrupt or truncated)") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    inputs = {i.name for i in proto.graph.input}
    outputs = {o.name for o in proto.graph.output}
    if meta.get("interface") != "volume" or inputs != {"points", "z"} or "field" not in outputs:
        raise UserError(f"'{path}' is not a 3-D CPPN (interface volume: points and z in, field out)")
    try:
        if not 1 <= int(meta["z_dim"]) <= 65536:
            raise ValueError
    except (KeyError, ValueError):
        raise UserError(f"'{path}': metadata 'z_dim' must be an integer from 1 to 65536") from None
    return data, meta


def is_solid(source: str | Path) -> bool:
    """Whether ``source`` names a 3-D CPPN: a preset of kind ``solid`` or a ``volume`` .onnx file."""
    text = str(source)
    if text.endswith(".onnx"):
        import onnx

        try:
            proto = onnx.load(text, load_external_data=False)
        except Exception:
            return False
        return any(p.key == "interface" and p.value == "volume" for p in proto.metadata_props)
    import tomllib

    from ..configs.presets import preset_dir

    # Only the table's kind decides: a solid preset with a mistake in it is still a solid, whose
    # own error (load_solid's) names the key, not "a 2-D model".
    path = Path(text) if looks_like_path(text) else preset_dir() / f"{text}.toml"
    try:
        return path.is_file() and tomllib.loads(path.read_text(encoding="utf-8")).get("kind") == "solid"
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def load_solid(source: str | Path, seed: int | None = None, device: str = "auto") -> SolidModel:
    """A 3-D CPPN: a ``solid`` preset (weights from ``seed``, drawn when None) or its .onnx file."""
    text = str(source)
    if text.endswith(".onnx"):
        path = Path(text)
        if not path.is_file():
            raise UserError(f"model file '{text}' not found")
        data, meta = _read_volume_onnx(path)
        return SolidModel(data, meta, text, device)
    config = load_preset(text)
    if not isinstance(config, SolidConfig):
        raise ParamError(
            "relief",
            f"'{text}' is a 2-D model (kind '{config.kind}'); mesh it as a height field with {PARAM}, "
            "or name a 3-D preset such as 'solid'",
        )
    if looks_like_path(text):
        text = str(Path(text).resolve())
    return solid_from_config(config, draw_seed() if seed is None else seed, text, device)
