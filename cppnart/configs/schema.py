"""TOML tables <-> frozen dataclasses, with errors that name the file and the key.

config = from_dict(CPPNConfig, {"width": 32}, "my.toml")
table = to_dict(config)          # tuples become lists: ready for TOML, JSON and checkpoints
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import numbers
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, dataclass_transform

from ..errors import ParamError, UserError


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
    becomes a one-element tuple (``activations = "tanh"``). Every field declared with ``bounded``
    or ``chosen`` is checked here, as it is read; a config's ``validate`` keeps the rules that
    relate two fields.
    """
    if not isinstance(data, dict):
        raise UserError(f"{where}: '{prefix.rstrip('.') or 'the config'}' must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if key not in fields:
            raise UserError(f"{where}: unknown key '{full}'; known keys: {', '.join(sorted(fields))}")
        hint = hints[key]
        if typing.get_origin(hint) is tuple and isinstance(value, str):
            value = [value]
        if not _type_ok(value, hint):
            raise UserError(f"{where}: key '{full}' must be {_describe(hint)}, got {value!r}")
        check_field(where, full, value, fields[key].metadata)  # declared ranges, before anything is built
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


# --- ranges: every bounded number says what its bound protects --------------------------------
@dataclass(frozen=True)
class Range:
    """The accepted values of one number and what the bounds protect (said in the error).

    ``open_low`` / ``open_high`` leave a bound out of the range ((0, 1] for a learning-rate
    fraction); a range with an open bound, or with nothing to protect (a probability in [0, 1]),
    is named as an interval in errors.
    """

    low: float
    high: float
    protects: str = ""
    open_low: bool = False
    open_high: bool = False

    def interval(self) -> str:
        """The range in interval notation, e.g. ``[0, 1)``.

        >>> Range(0, 1, open_high=True).interval()
        '[0, 1)'
        """
        return f"{'(' if self.open_low else '['}{self.low:g}, {self.high:g}{')' if self.open_high else ']'}"

    @property
    def integer(self) -> bool:
        """Whole numbers only: both bounds are written as ints (``Range(1, 16, ...)``)."""
        return type(self.low) is int and type(self.high) is int


MAX_SEED = 2**63 - 1
# libpng's default limit on a PNG side (PNG_USER_WIDTH_MAX); wide posters and tile pyramids need
# more than 65535, and the sample and memory budgets bound the work whatever the sides.
MAX_SIDE = 1_000_000
RANGES: dict[str, Range] = {
    # images and views
    "width": Range(1, MAX_SIDE, "an image side; libpng refuses more by default"),
    "height": Range(1, MAX_SIDE, "an image side; libpng refuses more by default"),
    "supersample": Range(1, 16, "work grows with its square: 16 is 256 samples per pixel"),
    "chunk": Range(1, 1 << 30, "coordinates per onnxruntime call, each holding a layer of activations"),
    "zoom": Range(1e-6, 1e9, "beyond these float32 coordinates collapse to a blank image"),
    "center": Range(-1e6, 1e6, "float32 coordinates lose every detail this far out"),
    "bits": Range(8, 16, "PNG sample depth"),
    # animations and sheets
    "frames": Range(1, 100_000, "frames per transition; each one is rendered"),
    "hold": Range(0, 100_000, "extra frames per keyframe"),
    "fps": Range(0.01, 1000, "frames per second that players accept"),
    "batch": Range(1, 1024, "frames per onnxruntime call are held in memory together"),
    "cols": Range(1, 4096, "cells per row of a sheet"),
    "gap": Range(0, 4096, "pixels between cells"),
    # latents and seeds
    "count": Range(1, 1_000_000, "latents held in memory and written to one file"),
    "dim": Range(1, 65536, "the size of one latent"),
    "z_dim": Range(1, 65536, "the size of one latent"),
    "seed": Range(0, MAX_SEED, "seeds are stored as 64-bit integers"),
    # training and machines
    "steps": Range(0, 100_000_000, "training steps"),
    "threads": Range(1, 1024, "CPU threads"),
}
# Keys of preset tables (configs): a network's size bounds its memory and its run time.
CONFIG_RANGES: dict[str, Range] = {
    "z_dim": RANGES["z_dim"],
    "width": Range(1, 4096, "units per hidden layer: memory grows with chunk x width"),
    "depth": Range(1, 256, "hidden layers: run time grows with depth"),
    "scale": Range(1e-6, 1e6, "multiplies coordinates; beyond this float32 saturates every unit"),
    "init_scale": Range(0, 1e3, "weight spread; beyond this float32 overflows to NaN"),
    "bias_scale": Range(0, 1e3, "bias spread; beyond this float32 overflows"),
    "layers": Range(1, 64, "encoder layers: run time grows with them"),
    "message_size": Range(1, 4096, "bits per glyph message"),
    # training images, batches and steps: memory grows with batch x image pixels
    "image_size": Range(1, 1024, "training image side: memory grows with its square"),
    "data_size": Range(1, 1024, "training image side: memory grows with its square"),
    "crop": Range(1, 1024, "training image side: memory grows with its square"),
    "max_side": Range(1, 4096, "fitted image side: memory grows with its square"),
    "upscale_size": Range(1, 8192, "sample side: memory grows with its square"),
    "render_scale": Range(1e-3, 64, "sample size factor: memory grows with its square"),
    "batch": Range(1, 65536, "examples per step held in memory"),
    "batch_size": Range(1, 65536, "examples per step held in memory"),
    "steps": RANGES["steps"],
    "sample_count": Range(1, 1024, "samples drawn at each sample step"),
    "eval_messages": Range(1, 1_000_000, "messages drawn per evaluation"),
    "data_limit": Range(1, 10_000_000, "training images held in memory"),
    "lr": Range(0.0, 10.0, "learning rate; beyond this training diverges to NaN"),
    "lr_d": Range(0.0, 10.0, "learning rate; beyond this training diverges to NaN"),
    "fourier_scale": Range(1e-6, 1e6, "frequency spread; beyond this float32 saturates"),
    "vae_steps": Range(1, 1000, "inner steps per batch"),
    "g_steps": Range(1, 1000, "inner steps per batch"),
    "fourier_features": Range(0, 65536, "input features: memory grows with them"),
    "batch_pixels": Range(0, 1 << 26, "pixels per step held in memory"),
}


# Shared by every training family's fields (see ``bounded``).
POSITIVE_STEPS = Range(1, 100_000_000, "training steps")
LEARNING_RATE = Range(0.0, 10.0, "learning rate; beyond this training diverges to NaN", open_low=True)


def _range_problem(value: Any, spec: Range) -> str | None:
    # numbers.Real takes numpy scalars too (np.float32 is no Python float); bool is no number here.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return f"must be a number, got {str(value)[:40]!r}"
    if spec.integer and not isinstance(value, numbers.Integral):
        return f"must be a whole number, got {value}"
    if not isinstance(value, numbers.Integral) and not math.isfinite(value):
        return f"must be a finite number, got {value}"
    shown = str(value) if isinstance(value, numbers.Integral) else f"{float(value):g}"
    value = float(value) if not isinstance(value, numbers.Integral) else int(value)
    below = value < spec.low or (spec.open_low and value == spec.low)
    above = value > spec.high or (spec.open_high and value == spec.high)
    if (below or above) and (spec.open_low or spec.open_high or not spec.protects):
        return f"must be in {spec.interval()}, got {shown}"
    if below:
        return f"must be at least {spec.low:g}, got {shown}"
    if above:
        return f"must be at most {spec.high:g} ({spec.protects}), got {shown}"
    return None


def check_param(param: str, value: Any, spec: Range | None = None) -> Any:
    """Check a library parameter against its range (``RANGES[param]`` unless ``spec`` is given).

    >>> check_param("supersample", 4)
    4
    >>> check_param("seed", -1)
    Traceback (most recent call last):
    cppnart.errors.ParamError: seed must be at least 0, got -1
    """
    problem = _range_problem(value, spec or RANGES[param])
    if problem:
        raise ParamError(param, problem)
    return value


def check_ranges(where: str, values: dict[str, Any], table: dict[str, Range] = CONFIG_RANGES) -> None:
    """Check the keys of a file's table (a preset, a recipe) against ``table``, naming file and key."""
    for key, value in values.items():
        spec = table.get(key.rsplit(".", 1)[-1])  # 'generator.width' is bounded like 'width'
        problem = spec and _range_problem(value, spec)
        if problem:
            raise UserError(f"{where}: '{key}' {problem}")


@dataclass(frozen=True)
class PresetHeader:
    """What every preset starts with: its name, a line about it, and its kind (which config class
    reads it). The fields come first in every preset's dict (``to_dict``), as in its TOML file."""

    name: str = ""
    description: str = ""
    kind: str = ""


PresetT = TypeVar("PresetT")


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def preset(kind: str) -> Callable[[type[PresetT]], type[PresetT]]:
    """A preset's config class, declared once: a frozen dataclass on ``PresetHeader`` (subclass it)
    whose ``name`` and ``kind`` default to ``kind``; the header's fields keep their place first.

    >>> @preset("toy")
    ... class Toy(PresetHeader):
    ...     width: int = 8
    >>> Toy()
    Toy(name='toy', description='', kind='toy', width=8)
    """

    def make(cls: type[PresetT]) -> type[PresetT]:
        # Redeclared here, the header's fields take the kind's defaults and keep their order.
        cls.__annotations__ = {"name": "str", "kind": "str", **inspect.get_annotations(cls)}
        type.__setattr__(cls, "name", kind)
        type.__setattr__(cls, "kind", kind)
        return dataclass(frozen=True)(cls)

    return make


def bounded(default: Any, spec: Range | str) -> Any:
    """A config field whose value (or each value, for a list) must lie in ``spec``: a ``Range``, or
    the name of a shared one in ``CONFIG_RANGES``. ``from_dict`` checks it as it reads the field,
    before the config is built.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class C:
    ...     width: int = bounded(8, "width")
    >>> from_dict(C, {"width": 0}, "my.toml")
    Traceback (most recent call last):
    cppnart.errors.UserError: my.toml: 'width' must be at least 1, got 0
    """
    return dataclasses.field(
        default=default, metadata={"range": CONFIG_RANGES[spec] if isinstance(spec, str) else spec}
    )


def chosen(default: Any, choices: tuple[Any, ...]) -> Any:
    """A config field whose value must be one of ``choices`` (checked by ``from_dict``)."""
    return dataclasses.field(default=default, metadata={"choices": choices})


def check_field(where: str, key: str, value: Any, metadata: Any) -> None:
    """One field's declared range (every element of a list) and choices, naming the file and key."""
    spec = metadata.get("range")
    if spec is not None:
        for item in value if isinstance(value, (list, tuple)) else (value,):
            problem = _range_problem(item, spec)
            if problem:
                raise UserError(f"{where}: '{key}' {problem}")
    choices = metadata.get("choices")
    if choices is not None and value not in choices:
        names = ", ".join(str(c) for c in choices)
        raise UserError(f"{where}: '{key}' must be one of {names}, got {value!r}")


def check_low_high(where: str, key: str, values: tuple[float, ...]) -> None:
    """A [low, high] pair (each end's range is the field's): two numbers, low <= high."""
    if len(values) != 2 or not values[0] <= values[1]:
        raise UserError(f"{where}: '{key}' must be [low, high] with low <= high, got {list(values)}")


def check_fields(config: Any, where: str, prefix: str = "") -> None:
    """Every declared range and choice of a config built in code (``from_dict`` checks a file's as it
    reads them), nested configs included."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            check_fields(value, where, f"{prefix}{f.name}.")
        else:
            check_field(where, f"{prefix}{f.name}", value, f.metadata)


def check_settings(settings: Any) -> Any:
    """Every declared range and choice of a library settings value (not a file: errors are
    ``ParamError``s naming the field, which the CLI turns into its flag); returns it."""
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        spec = f.metadata.get("range")
        for item in value if isinstance(value, (list, tuple)) else (value,):
            problem = spec and _range_problem(item, spec)
            if problem:
                raise ParamError(f.name, problem)
        choices = f.metadata.get("choices")
        if choices is not None and value not in choices:
            raise ParamError(f.name, f"must be one of {', '.join(str(c) for c in choices)}, got {value!r}")
    return settings


def field_ranges(cls: type) -> dict[str, Range]:
    """Every bounded field of a settings dataclass: name -> its ``Range`` (what other front ends
    parse with, such as the viewer's query and dream's settings)."""
    return {f.name: f.metadata["range"] for f in dataclasses.fields(cls) if "range" in f.metadata}


def check_finite_view(zoom: Any, center: Any, where: str = "") -> None:
    """A view that renders: zoom and centre finite and inside their ranges."""
    prefix = f"{where}: " if where else ""
    problem = _range_problem(zoom, RANGES["zoom"])
    if problem:
        raise ParamError("zoom", problem) if not where else UserError(f"{prefix}'zoom' {problem}")
    if not isinstance(center, (list, tuple)) or len(center) != 2:
        raise UserError(f"{prefix}'center' must be two numbers X,Y, got {center!r}")
    for value in center:
        problem = _range_problem(value, RANGES["center"])
        if problem:
            raise ParamError("center", problem) if not where else UserError(f"{prefix}'center' {problem}")


MAX_JSON_DEPTH = 8


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of decoded JSON, stopping past ``limit`` (so a hostile file costs nothing).

    >>> json_depth({"a": [1, {"b": 2}]})
    3
    """

    def depth(v: Any, level: int) -> int:
        if level > limit:
            return level
        if isinstance(v, dict):
            return max((depth(x, level + 1) for x in v.values()), default=level + 1)
        if isinstance(v, list):
            return max((depth(x, level + 1) for x in v), default=level + 1)
        return level

    return depth(value, 0)


def loads_bounded(text: str, where: str, max_chars: int = 1 << 24, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads for files from elsewhere: size and nesting bounded, errors one line naming the file."""
    if len(text) > max_chars:
        raise UserError(f"{where} is {len(text)} characters of JSON; at most {max_chars} are read")
    # Python's parser recurses per level: refuse deep nesting before it can exhaust the stack.
    deepest = running = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            in_string = escaped or ch != '"'
            escaped = not escaped and ch == "\\"
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            running += 1
            deepest = max(deepest, running)
            if deepest > max_depth:
                raise UserError(f"{where} nests JSON deeper than {max_depth} levels; it is not a file cppnart wrote")
        elif ch in "]}":
            running -= 1
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise UserError(f"{where} is not valid JSON") from None
