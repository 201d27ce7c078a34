"""Shared fixtures: tiny seeded CPPNs and a CLI runner; the ``torch`` marker.

Every test module that uses torch (imports it, trains through the CLI, or takes the
``one_torch_thread`` fixture) is marked ``torch``. Without torch installed those modules are not
collected at all, so a render-only install (`pip install ".[cpu,test]"`) runs every render-side
test and skips the rest cleanly: ``python -m pytest -q`` there reports them as deselected.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

HERE = Path(__file__).parent
_NEEDS_TORCH = re.compile(
    r'^(import torch|import kornia|from cppnart\.train)|one_torch_thread|"train", "(glyph|ganvae|fit)"', re.M
)
TORCH_MODULES = {p.name for p in HERE.glob("test_*.py") if _NEEDS_TORCH.search(p.read_text(encoding="utf-8"))}
HAVE_TORCH = importlib.util.find_spec("torch") is not None and importlib.util.find_spec("kornia") is not None
collect_ignore = [] if HAVE_TORCH else sorted(TORCH_MODULES)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in TORCH_MODULES:
            item.add_marker(pytest.mark.torch)


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


def one_error_line(result) -> str:
    """The CLI's contract for bad input: exit 2 and exactly one line starting 'error: '."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.fixture
def one_torch_thread():
    """Tiny models: one thread avoids OpenMP spin-waits on a busy 2-core machine (6x faster here)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def full_disk(tmp_path: Path):
    """A 192 kB tmpfs (mounted as root; skipped where it cannot be), unmounted afterwards."""
    import os
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)  # a leaked handle: detach it anyway


@pytest.fixture(scope="session")
def ray_cluster():
    """One real local Ray cluster of 2 CPUs for the whole test session (skipped without Ray)."""
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()
