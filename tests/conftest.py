"""Shared fixtures: tiny seeded CPPNs and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

TINY_PRESET = """
description = "tiny test net"
kind = "cppn"
z_dim = 4
channels = 3
width = 8
depth = 2
activations = ["tanh", "sin"]
output = "sigmoid"
scale = 3.0
"""


@pytest.fixture
def tiny_preset(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_PRESET)
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def files_in(folder: Path) -> list[str]:
    """Every file in a folder, hidden temporaries included (to catch partial outputs)."""
    return sorted(p.name for p in folder.iterdir())
