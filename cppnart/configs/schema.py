"""TOML tables <-> frozen dataclasses, with errors that name the file and the key.

config = from_dict(CPPNConfig, {"width": 32}, "my.toml")
table = to_dict(config)          # tuples become lists: ready for TOML, JSON and checkpoints
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from ..errors import UserError


def _type_ok(value: Any, hint: Any) -> bool:
    """Check a TOML value against a dataclass field's type hint (the subset configs use)."""
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
        return isinstance(value, (list, tuple)) and (all(_type_ok(v, args[0]) for v in value) if args else True)
    if origin is dict or hint is dict or dataclasses.is_dataclass(hint):
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
    names = {float: "a number", int: "an integer", bool: "true or false", str: "a string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def from_dict(cls: type, data: dict[str, Any], where: str, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a TOML table, naming the file and key on any mistake.

    Nested dataclass fields are built from nested tables; a string given for a tuple field
    becomes a one-element tuple (``activations = "tanh"``).
    """
    if not isinstance(data, dict):
        raise UserError(f"{where}: '{prefix.rstrip('.') or 'the config'}' must be a table, got {data!r}")
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
            value = from_dict(hint, value, where, prefix=f"{full}.")  # type: ignore[arg-type]
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


def check_positive(where: str, values: dict[str, float]) -> None:
    """Every value must be > 0 (NaN fails too)."""
    for key, value in values.items():
        if not value > 0:
            raise UserError(f"{where}: '{key}' must be positive, got {value}")


def check_channels(where: str, channels: int) -> None:
    if channels not in (1, 3):
        raise UserError(f"{where}: 'channels' must be 1 (greyscale) or 3 (colour), got {channels}")


def check_choice(where: str, key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UserError(f"{where}: '{key}' must be one of {', '.join(choices)}, got '{value}'")
