"""Finding a Ray cluster: ``auto``, ``local``, ``ray://HOST:PORT`` or ``HOST:PORT``.

    with connected("auto") as where:     # RAY_ADDRESS, else the cluster started here, else a new one
        renderer = RayRenderer()
        ...                               # a cluster started by this block is shut down after it

Connecting is left to Ray (``ray.init``); this module checks the address before any work,
names the extra to install when Ray is missing, and leaves a cluster it did not start running.
Before Ray is handed an address, its port is probed over TCP for ``timeout`` seconds: with
nothing listening Ray itself retries for 60 s or more (31-33 s for ``ray://``), printing its
C++ warnings, so a closed port is one line within the timeout instead. Ray's own messages are
kept off the terminal unless ``verbose``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import socket
from collections.abc import Iterator
from typing import Any

from ..errors import ParamError, UserError
from .watchdog import exit_on_stop as exit_on_stop_watch

RAY_MISSING = (
    '--cluster needs Ray: from the cppnart folder, pip install -e ".[ray]" (or pip install "ray[client]"), '
    "on this machine and on every node"
)
_ADDRESS = re.compile(r"^(auto|local|ray://[^\s:/]+:\d+|[^\s:/]+:\d+)$")
DEFAULT_TIMEOUT = 5.0  # seconds for an address to answer: a LAN or a tunnel answers in well under one
MAX_TIMEOUT = 600.0
JOIN_GRACE = 10.0  # seconds Ray may take to join a GCS address that answered, past the timeout


def import_ray() -> Any:
    """Ray, or a UserError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(RAY_MISSING) from None
    return ray


def check_address(address: str) -> str:
    """``auto``, ``local``, ``ray://HOST:PORT`` or ``HOST:PORT`` (a head node's GCS address).

    >>> check_address("ray://head:10001")
    'ray://head:10001'
    """
    if not _ADDRESS.match(address):
        raise ParamError("cluster", f"must be auto, local, ray://HOST:PORT or HOST:PORT, got '{address}'")
    if address not in ("auto", "local"):
        port = int(address.rsplit(":", 1)[1])
        if not 1 <= port <= 65535:
            raise ParamError("cluster", f"'{address}': a port is 1 to 65535, got {port}")
    return address


def check_timeout(timeout: float) -> float:
    """Seconds to wait for a cluster's address to answer: more than 0, at most ``MAX_TIMEOUT``.

    >>> check_timeout(2.5)
    2.5
    """
    if not (0 < timeout <= MAX_TIMEOUT):  # NaN fails both
        raise ParamError("cluster_timeout", f"must be more than 0 and at most {MAX_TIMEOUT:g} seconds, got {timeout}")
    return float(timeout)


def dialled(address: str) -> tuple[str, str] | None:
    """(address Ray will dial, where it came from) for ``address``; None when Ray starts a new
    local cluster (``local``, or ``auto`` with no cluster to join)."""
    if address == "local":
        return None
    if address != "auto":
        return address, f"'{address}'"
    env = os.environ.get("RAY_ADDRESS", "").strip()
    if env and env not in ("auto", "local"):
        if not _ADDRESS.match(env):
            raise UserError(f"RAY_ADDRESS '{env}' must be ray://HOST:PORT or HOST:PORT (or unset it)")
        check_address(env)
        return env, f"'{env}' (RAY_ADDRESS)"
    try:  # the cluster `ray start` last started on this machine, which `auto` joins
        from ray._private.utils import read_ray_address

        recorded = read_ray_address()
    except Exception:  # a private helper of Ray's: without it, Ray decides alone
        recorded = None
    if recorded and _ADDRESS.match(recorded):
        return recorded, f"'{recorded}' (the cluster `ray start` recorded on this machine; `ray stop` clears it)"
    return None


def probe(address: str, where: str, timeout: float) -> None:
    """A TCP connection to the address's port within ``timeout`` seconds, or a one-line UserError."""
    host, port = address.removeprefix("ray://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except socket.gaierror:
        raise UserError(f"cannot reach the Ray cluster at {where}: unknown host '{host}'") from None
    except TimeoutError:
        raise ParamError(
            "cluster_timeout",
            f"cannot reach the Ray cluster at {where}: no answer within {timeout:g} s "
            "(a firewall, or the wrong address; {param} waits longer)",
        ) from None
    except OSError as exc:
        raise ParamError(
            "cluster",
            f"cannot reach the Ray cluster at {where}: nothing answers on port {port} ({exc.strerror or exc}); "
            "start it with `ray start --head`, or use {param} local",
        ) from None


@contextlib.contextmanager
def connected(
    address: str = "auto",
    num_cpus: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    verbose: bool = False,
    exit_on_stop: bool = False,
) -> Iterator[str]:
    """Connect this process to a Ray cluster for the block; yields a description of it.

    ``auto`` follows Ray: RAY_ADDRESS, else a cluster started on this machine with ``ray start``,
    else a new local one. ``local`` always starts a new one here (``num_cpus`` of them). A
    process already connected (a notebook, the tests) keeps its connection. The address must
    answer within ``timeout`` seconds; ``verbose`` lets Ray's own messages through.
    ``exit_on_stop`` (the command line's choice) ends the process on a stop signal that Ray's
    C++ keeps the main thread from acting on while it connects, and when joining a GCS address
    takes ``JOIN_GRACE`` seconds longer than the timeout (``cluster.watchdog``).
    """
    check_address(address)
    check_timeout(timeout)
    ray = import_ray()
    if ray.is_initialized():
        yield describe(ray)
        return
    target = dialled(address)
    if target is not None:
        probe(*target, timeout)
        _bound_handshake(target[0], timeout)
    options: dict[str, Any] = {"logging_level": logging.INFO if verbose else logging.ERROR}
    if not address.startswith("ray://"):
        options["log_to_driver"] = False  # workers have nothing to say; errors come back with the results
        options["include_dashboard"] = False  # a cluster started for one command needs no web UI
    if address == "local":
        options.update(address="local", num_cpus=num_cpus)
    elif address != "auto":
        options["address"] = address
    with _stderr_held(verbose) as terminal:
        watch: Any = contextlib.nullcontext()
        if exit_on_stop and target is not None:  # joining: nothing of Ray's runs here to be left behind
            gcs = not target[0].startswith("ray://")  # Ray Client's own waits are bounded (_bound_handshake)
            late = f"cannot reach the Ray cluster at {target[1]}: no answer from Ray within {timeout + JOIN_GRACE:g} s"
            watch = exit_on_stop_watch(terminal, timeout + JOIN_GRACE if gcs else None, late)
        with watch:
            _init(ray, address, options)
    try:
        yield describe(ray)
    finally:
        ray.shutdown()  # a cluster this block started stops with it; a cluster we joined keeps running


def _bound_handshake(address: str, timeout: float) -> None:
    """Ray's own waits after the port answered, bounded by ``timeout`` through its settings (unless
    the environment sets them): a GCS address is asked for the cluster's id 20 times by default,
    each for up to 30 s when the port accepts and never answers; Ray Client makes three attempts
    of 5, 10 and 30 s (the 31-33 s a port that answers but is not Ray took), read when
    ``ray.util.client.worker`` is first imported."""
    seconds = str(max(1, math.ceil(timeout)))
    if not address.startswith("ray://"):
        # One attempt (not 20), of the timeout (not 30 s: a port that accepts and never answers).
        os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "1")
        os.environ.setdefault("RAY_py_gcs_connect_timeout_s", seconds)
        return
    os.environ.setdefault("RAY_CLIENT_INITIAL_CONNECTION_TIMEOUT_S", seconds)  # each of the three attempts
    os.environ.setdefault("RAY_CLIENT_MAX_CONNECTION_TIMEOUT_S", seconds)


@contextlib.contextmanager
def _stderr_held(verbose: bool) -> Iterator[int]:
    """File descriptor 2 into a temporary file for the block (unless ``verbose``); yields a
    descriptor of the terminal. Ray's C++ client logs its retries there (``gcs_client.cc: Failed
    to get cluster ID``, once a second) whatever its log level; what it says on failure comes back
    in the exception, which becomes our one line."""
    import sys
    import tempfile

    if verbose:
        yield 2
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as held:
            os.dup2(held.fileno(), 2)
            try:
                yield saved
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def _init(ray: Any, address: str, options: dict[str, Any]) -> None:
    """``ray.init`` with this process's stop handling kept: Ray replaces the SIGTERM handler with
    one that calls ``sys.exit(15)`` (twice, in ``init`` and in its driver's ``connect``), which would
    make a stop exit 15 instead of 143 and skip the cleanup every Ctrl-C path runs."""
    import signal
    import threading

    from ..errors import SIGNALS_RECEIVED, Terminated

    main = threading.current_thread() is threading.main_thread()
    ours = signal.getsignal(signal.SIGTERM) if main else None
    try:
        for tries in range(1, CLIENT_SERVER_TRIES + 1):
            try:
                ray.init(**options)
                return
            except ConnectionError as exc:
                if not (_CLIENT_SERVER_DIED in str(exc) and tries < CLIENT_SERVER_TRIES):
                    raise unreachable(address, str(exc), tries) from None
                ray.shutdown()  # the head answered: a fresh connection gets a fresh server
    except SystemExit as exc:  # Ray's own SIGTERM handler ran during init
        if exc.code == signal.SIGTERM and callable(ours):
            SIGNALS_RECEIVED.append(signal.SIGTERM)
            raise Terminated(signal.SIGTERM) from None
        raise
    finally:
        if callable(ours) and signal.getsignal(signal.SIGTERM) is not ours:
            signal.signal(signal.SIGTERM, ours)


# Ray Client's proxier starts a server process for each connection. It says this when that process
# died while starting: a race between gRPC and fork() in the proxier (ray-project/ray#63202, open
# in Ray 2.60, "~7%" of connections there), met in CI twice, ray_client_server_PORT.err empty. The
# next connection gets a new process, so a connection is tried up to CLIENT_SERVER_TRIES times.
# A failed try costs about 40 s here: Ray's disconnect waits for the proxier to give the failed
# connection up (its 30 s reconnect grace, and its log stream's RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S).
_CLIENT_SERVER_DIED = "Starting Ray client server failed"
CLIENT_SERVER_TRIES = 3
# ... and this when the process runs but did not answer within RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S
# (30 s by default): a slow head. Not retried: each try would wait that long again.
_CLIENT_SERVER_SLOW = "Proxy failed to Connect to backend"


def unreachable(address: str, message: str, tries: int = 1) -> UserError:
    """The one-line error for a failed ``ray.init`` (after ``tries`` connections), with what to do
    when Ray says what went wrong."""
    # Ray Client puts the reason on the lines after "Initialization failure from server:"; keep it on one line.
    reason = " ".join(message.split())[:400]
    hint = ""
    if _CLIENT_SERVER_DIED in message:
        hint = (
            f"; the head's Ray Client server could not start a server for this connection ({tries} tries):"
            " see ray_client_server_*.err in the head's session logs, or restart the head"
        )
    elif _CLIENT_SERVER_SLOW in message:
        hint = (
            "; the head's Ray Client server started a server for this connection that did not answer in time:"
            " retry, or restart the head with RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S=120 in its environment"
        )
    return UserError(f"cannot reach the Ray cluster at '{address}': {reason}{hint}")


def describe(ray: Any) -> str:
    """'3 nodes, 48 CPUs' for messages."""
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    cpus = int(ray.cluster_resources().get("CPU", 0))
    return f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}, {cpus} CPU{'s' if cpus != 1 else ''}"


def cluster_cpus() -> int:
    """CPUs of the connected cluster (at least 1)."""
    return max(1, int(import_ray().cluster_resources().get("CPU", 1)))
