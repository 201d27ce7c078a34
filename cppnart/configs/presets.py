"""Presets: TOML files that describe a model, loaded into the frozen dataclass of their ``kind``.

    config = load_preset("classic")        # a bundled preset by name
    config = load_preset("my-net.toml")    # or a file
    names = preset_names()

Unknown keys, wrong types and unknown activations are errors that name the key and the file.
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import UserError
from .schema import from_dict

DEFAULT_PRESET = "classic"  # what `cppnart render` draws when no model is named

# kind -> (module, config dataclass). All of them are plain dataclasses (no torch), so a
# torch-free install lists and checks training presets too.
KIND_CLASSES: dict[str, tuple[str, str]] = {
    "cppn": ("cppn", "CPPNConfig"),
    "glyph": ("glyph", "GlyphConfig"),
    "ganvae": ("ganvae", "GanVaeConfig"),
    "fit": ("ganvae", "FitConfig"),
    "classifier": ("classifier", "ClassifierConfig"),
    "solid": ("solid", "SolidConfig"),  # 3-D CPPNs for `cppnart mesh`
}


class ConfigKinds(Mapping[str, type]):
    """kind -> config dataclass, each module imported when its kind is first asked for: a
    preset render loads only ``configs.cppn`` (the others' dataclasses cost about 20 ms of a
    tiny render's start; bench/startup.py)."""

    def __getitem__(self, kind: str) -> type:
        module, name = KIND_CLASSES[kind]
        config: type = getattr(importlib.import_module(f"{__package__}.{module}"), name)
        return config

    def __iter__(self) -> Iterator[str]:
        return iter(KIND_CLASSES)

    def __len__(self) -> int:
        return len(KIND_CLASSES)


KINDS: Mapping[str, type] = ConfigKinds()


def preset_dir() -> Path:
    """The folder the bundled presets live in (``cppnart/presets``)."""
    # The package's own folder (setuptools installs it as files, never zipped); importlib.resources
    # would cost every command ~3 ms to import for the same answer.
    return Path(__file__).resolve().parent.parent / "presets"


def preset_names() -> list[str]:
    """The bundled presets' names, sorted.

    >>> "classic" in preset_names()
    True
    """
    return sorted(p.stem for p in preset_dir().glob("*.toml"))


def parse_preset(text: str, name: str, where: str) -> Any:
    """Parse preset TOML text into the config dataclass of its ``kind``, validated."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{where}: not valid TOML ({exc})") from None
    kind = data.get("kind", "cppn")
    if not isinstance(kind, str) or kind not in KINDS:
        raise UserError(f"{where}: unknown kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    data.setdefault("name", name)
    config = from_dict(KINDS[kind], data, where)
    config.validate(where)
    return config


def looks_like_path(source: str) -> bool:
    """Whether a preset argument names a TOML file rather than a bundled preset (a path or ``.toml``)."""
    return source.endswith(".toml") or "/" in source or "\\" in source


def load_preset(source: str | Path) -> Any:
    """Load a bundled preset by name, or a preset TOML file by path."""
    source = str(source)
    if looks_like_path(source):
        path = Path(source)
        if not path.is_file():
            raise UserError(f"preset file '{source}' not found; pass a preset name (see `cppnart presets`) or a .toml")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read preset file '{source}': {exc}") from None
        return parse_preset(text, path.stem, str(path))
    path = preset_dir() / f"{source}.toml"
    if not path.is_file():
        raise UserError(f"unknown preset '{source}'; choose one of: {', '.join(preset_names())}")
    return parse_preset(path.read_text(encoding="utf-8"), source, str(path))
