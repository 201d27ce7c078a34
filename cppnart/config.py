"""Presets: TOML files that describe a model, loaded into frozen dataclasses.

Every preset names its ``kind``; this module knows the ``cppn`` kind (random-weight CPPN art)
and dispatches other kinds to the config classes registered in ``CONFIG_KINDS``. Unknown keys,
wrong types and unknown activations are errors that name the key and the file.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import UserError

# Activations the CPPN graph builder, the numpy forward and the torch modules all implement.
HIDDEN_ACTIVATIONS = ("tanh", "softplus", "sin", "cos", "gaussian", "abs", "relu", "sigmoid", "identity")
# Output activations squash to [0, 1]: sigmoid, 0.5 + 0.5 sin, 0.5 + 0.5 tanh, exp(-x^2), |tanh|.
OUTPUT_ACTIVATIONS = ("sigmoid", "sin", "tanh", "gaussian", "abs")
Z_PRIORS = ("uniform", "normal")
DEFAULT_PRESET = "classic"  # what `cppnart render` draws when no model is named


@dataclass(frozen=True)
class CPPNConfig:
    """A random-weight CPPN: f(scale*x, scale*y, scale*r, scale*z) -> colour in [0, 1]."""

    name: str = "cppn"
    description: str = ""
    kind: str = "cppn"
    z_dim: int = 8
    channels: int = 3
    width: int = 32
    depth: int = 4
    # One per hidden layer; a single string means "this activation on every layer".
    activations: tuple[str, ...] = ("tanh",)
    output: str = "sigmoid"
    # Multiplies coordinates and z before the first layer (seed 003 uses 10).
    scale: float = 10.0
    # Standard deviation of the gaussian weights (seed 003 uses unit gaussians).
    init_scale: float = 1.0
    bias_scale: float = 0.0
    # Residual hidden layers: h <- h + act(W h + b).
    residual: bool = False
    # Distribution of random latents: seed 003 draws z uniformly from [-1, 1].
    z_prior: str = "uniform"

    def __post_init__(self) -> None:
        acts = self.activations
        if len(acts) == 1 and self.depth > 1:
            object.__setattr__(self, "activations", tuple(acts) * self.depth)

    def validate(self, where: str) -> None:
        positive = {"z_dim": self.z_dim, "width": self.width, "depth": self.depth}
        for key, value in positive.items():
            if value < 1:
                raise UserError(f"{where}: '{key}' must be at least 1, got {value}")
        if self.channels not in (1, 3):
            raise UserError(f"{where}: 'channels' must be 1 (greyscale) or 3 (colour), got {self.channels}")
        if len(self.activations) != self.depth:
            raise UserError(
                f"{where}: 'activations' has {len(self.activations)} entries but 'depth' is {self.depth}; "
                "give one activation per hidden layer or a single name for all"
            )
        for act in self.activations:
            if act not in HIDDEN_ACTIVATIONS:
                raise UserError(
                    f"{where}: 'activations' has unknown activation '{act}'; "
                    f"choose from {', '.join(HIDDEN_ACTIVATIONS)}"
                )
        if self.output not in OUTPUT_ACTIVATIONS:
            raise UserError(
                f"{where}: 'output' has unknown activation '{self.output}'; "
                f"choose from {', '.join(OUTPUT_ACTIVATIONS)}"
            )
        if self.z_prior not in Z_PRIORS:
            raise UserError(f"{where}: 'z_prior' must be one of {', '.join(Z_PRIORS)}, got '{self.z_prior}'")


# kind -> config dataclass. Training modules register their own kinds here.
CONFIG_KINDS: dict[str, type] = {"cppn": CPPNConfig}


def register_kind(kind: str, cls: type) -> None:
    CONFIG_KINDS[kind] = cls


def _type_ok(value: Any, hint: Any) -> bool:
    """Check a TOML value against a dataclass field's type hint (the subset we use)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is bool:
        return isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (tuple, list):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return isinstance(value, (list, tuple)) and all(_type_ok(v, args[0]) for v in value) if args else True
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if dataclasses.is_dataclass(hint):
        return isinstance(value, dict)
    return True


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (tuple, list):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return f"a list of {_describe(args[0])}" if args else "a list"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(h) for h in typing.get_args(hint))
    if dataclasses.is_dataclass(hint):
        return "a table"
    return {float: "a number", int: "an integer", bool: "true or false", str: "a string"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )


def from_dict(cls: type, data: dict[str, Any], where: str, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a TOML table, naming the file and key on any mistake.

    Nested dataclass fields are built from nested tables; strings given for a tuple field
    become a one-element tuple (``activations = "tanh"``).
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if key not in names:
            raise UserError(f"{where}: unknown key '{full}'; known keys: {', '.join(sorted(names))}")
        hint = hints[key]
        if typing.get_origin(hint) is tuple and isinstance(value, str):
            value = [value]
        if not _type_ok(value, hint):
            raise UserError(f"{where}: key '{full}' must be {_describe(hint)}, got {value!r}")
        if dataclasses.is_dataclass(hint):
            value = from_dict(hint, value, where, prefix=f"{full}.")
        elif typing.get_origin(hint) is tuple:
            value = tuple(value)
        elif hint is float:
            value = float(value)
        kwargs[key] = value
    return cls(**kwargs)


def to_dict(config: Any) -> dict[str, Any]:
    """The TOML-ready table of a config (tuples become lists)."""

    def plain(v: Any) -> Any:
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {k: plain(v) for k, v in dataclasses.asdict(config).items()}


def preset_dir() -> Path:
    """The folder the bundled presets live in (``presets/`` of the repo, installed as ``cppnart.presets``)."""
    return Path(str(resources.files("cppnart.presets")))


def preset_names() -> list[str]:
    return sorted(p.stem for p in preset_dir().glob("*.toml"))


def parse_preset(text: str, name: str, where: str) -> Any:
    """Parse preset TOML text into the config dataclass of its ``kind``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{where}: not valid TOML ({exc})") from None
    kind = data.get("kind", "cppn")
    if not isinstance(kind, str):
        raise UserError(f"{where}: key 'kind' must be a string, got {kind!r}")
    if kind not in CONFIG_KINDS:
        _load_kind_module(kind)
    if kind not in CONFIG_KINDS:
        raise UserError(f"{where}: unknown kind '{kind}'; known kinds: {', '.join(sorted(CONFIG_KINDS))}")
    data.setdefault("name", name)
    config = from_dict(CONFIG_KINDS[kind], data, where)
    validate = getattr(config, "validate", None)
    if validate is not None:
        validate(where)
    return config


# kind -> module that calls register_kind() for it when imported. These modules hold only
# dataclasses (no torch), so `cppnart presets` lists training presets in a torch-free install.
KIND_MODULES: dict[str, str] = {
    "glyph": "cppnart.glyph_config",
    "ganvae": "cppnart.ganvae_config",
    "fit": "cppnart.ganvae_config",
}


def _load_kind_module(kind: str) -> None:
    import importlib

    if kind in KIND_MODULES:
        importlib.import_module(KIND_MODULES[kind])


def looks_like_path(source: str) -> bool:
    return source.endswith(".toml") or "/" in source or "\\" in source


def load_preset(source: str | Path) -> Any:
    """Load a bundled preset by name, or a preset TOML file by path."""
    source = str(source)
    if looks_like_path(source):
        path = Path(source)
        if not path.is_file():
            raise UserError(f"preset file '{source}' not found; pass a preset name (see `cppnart presets`) or a .toml path")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read preset file '{source}': {exc}") from None
        return parse_preset(text, path.stem, str(path))
    path = preset_dir() / f"{source}.toml"
    if not path.is_file():
        names = ", ".join(preset_names())
        raise UserError(f"unknown preset '{source}'; choose one of: {names}")
    return parse_preset(path.read_text(encoding="utf-8"), source, str(path))
