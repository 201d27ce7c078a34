"""Shared fixtures: tiny seeded CPPNs and a CLI runner; the ``torch`` marker.

Every test module that uses torch (imports it, trains through the CLI, or takes the
``one_torch_thread`` fixture) is marked ``torch``. Without torch installed those modules are not
collected at all, so a render-only install (`pip install ".[cpu,test]"`) runs every render-side
test and skips the rest cleanly: ``python -m pytest -q`` there reports them as deselected.
"""

from __future__ import annotations

import importlib.util
import re
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

HERE = Path(__file__).parent
_NEEDS_TORCH = re.compile(
    r'^(import torch|import kornia|from cppnart\.train)|one_torch_thread|"train", "(glyph|ganvae|fit)"', re.M
)
TORCH_MODULES = {
    p.relative_to(HERE).as_posix()
    for p in HERE.rglob("test_*.py")
    if _NEEDS_TORCH.search(p.read_text(encoding="utf-8"))
}
HAVE_TORCH = importlib.util.find_spec("torch") is not None and importlib.util.find_spec("kornia") is not None
collect_ignore = [] if HAVE_TORCH else sorted(TORCH_MODULES)

# A shell starts background jobs (`.ci/run &`) with SIGINT ignored, and an ignored signal stays
# ignored in every child, so the CLIs the tests start would never see the Ctrl-C the tests send.
# A handler (unlike SIG_IGN) is reset to the default in a child, where Python installs its own.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.is_relative_to(HERE) and item.path.relative_to(HERE).as_posix() in TORCH_MODULES:
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


def _free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.fixture(scope="session")
def ray_head():
    """One real Ray cluster of 2 CPUs for the whole test session, started as a user starts one
    (``ray start --head``, with a Ray Client server); this process joins it as a driver.

    Yields (ray, "ray://127.0.0.1:PORT", the proxier's fault file). Every port is a free one and
    the temporary folder is its own, so it never meets another cluster on the machine; at the end
    only the processes it started
    are stopped (SIGTERM to ``ray start --block``, which stops its children), never ``ray stop``.
    """
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import tempfile
    import time

    ray = pytest.importorskip("ray")
    command = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    if command is None:
        pytest.skip("no `ray` command beside this Python")
    gcs, client, *agents = _free_ports(6)
    temp = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths must stay under 108 bytes
    ports = ["--port", gcs, "--ray-client-server-port", client, "--dashboard-agent-listen-port", agents[0]]
    ports += ["--dashboard-agent-grpc-port", agents[1], "--metrics-export-port", agents[2]]
    ports += ["--runtime-env-agent-port", agents[3]]
    args = [command, "start", "--head", "--block", "--num-cpus", "2", "--include-dashboard", "false"]
    args += ["--node-ip-address", "127.0.0.1", "--temp-dir", temp, "--disable-usage-stats", *map(str, ports)]
    # Workers import this checkout; a throwaway cluster on 127.0.0.1 needs no token (as ray.init's own).
    root = str(HERE.parent)
    # The head's Ray Client proxier can be told to kill the next N servers it starts for connections
    # (tests/cluster/ray_faults: the failure CI met), by writing N into `failures`.
    faults = str(HERE / "cluster" / "ray_faults")
    path = [root, faults, os.environ.get("PYTHONPATH")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}
    failures = Path(temp) / "client-server-failures"
    env["CPPNART_TEST_CLIENT_SERVER_FAILURES"] = str(failures)
    env["RAY_AUTH_MODE"] = "disabled"
    log = open(Path(temp) / "ray-start.log", "w")
    head = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in (Path(temp) / "ray-start.log").read_text():
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.fail("ray start failed: " + (Path(temp) / "ray-start.log").read_text()[-2000:])
            time.sleep(0.2)
        ray.init(address=f"127.0.0.1:{gcs}", log_to_driver=False, logging_level="ERROR")
        yield ray, f"ray://127.0.0.1:{client}", failures
    finally:
        ray.shutdown()
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)  # the group started above, nothing else
            head.wait()
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_cluster(ray_head):
    """The session's Ray cluster (2 CPUs, this process connected to it); skipped without Ray."""
    return ray_head[0]


@pytest.fixture(scope="session")
def ray_client_address(ray_head):
    """``ray://127.0.0.1:PORT``: the session cluster's Ray Client server (needs grpcio: ``ray[client]``)."""
    pytest.importorskip("grpc")
    return ray_head[1]


@pytest.fixture
def client_server_failures(ray_head, ray_client_address):
    """The file the session head's Ray Client proxier reads: write N into it, and the next N
    servers it starts for a connection die starting, as a busy head's did in CI. Emptied after."""
    failures = ray_head[2]
    yield failures
    failures.unlink(missing_ok=True)
