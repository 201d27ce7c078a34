"""Finding a Ray cluster: ``auto``, ``local``, ``ray://HOST:PORT`` or ``HOST:PORT``.

    with connected("auto") as where:     # RAY_ADDRESS, else the cluster started here, else a new one
        renderer = RayRenderer()
        ...                               # a cluster started by this block is shut down after it

Connecting is left to Ray (``ray.init``); this module checks the address before any work,
names the extra to install when Ray is missing, and leaves a cluster it did not start running.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

from ..errors import ParamError, UserError

RAY_MISSING = (
    '--cluster needs Ray: from the cppnart folder, pip install ".[ray]" (or pip install "ray[client]"), '
    "on this machine and on every node"
)
_ADDRESS = re.compile(r"^(auto|local|ray://[^\s:/]+:\d+|[^\s:/]+:\d+)$")


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
    return address


@contextlib.contextmanager
def connected(address: str = "auto", num_cpus: int | None = None) -> Iterator[str]:
    """Connect this process to a Ray cluster for the block; yields a description of it.

    ``auto`` follows Ray: RAY_ADDRESS, else a cluster started on this machine with ``ray start``,
    else a new local one. ``local`` always starts a new one here (``num_cpus`` of them). A
    process already connected (a notebook, the tests) keeps its connection.
    """
    check_address(address)
    ray = import_ray()
    if ray.is_initialized():
        yield describe(ray)
        return
    options: dict[str, Any] = {"logging_level": logging.ERROR}  # Ray's start-up notes are not ours to print
    if not address.startswith("ray://"):
        options["log_to_driver"] = False  # workers have nothing to say; errors come back with the results
        options["include_dashboard"] = False  # a cluster started for one command needs no web UI
    if address == "local":
        options.update(address="local", num_cpus=num_cpus)
    elif address != "auto":
        options["address"] = address
    try:
        ray.init(**options)
    except ConnectionError as exc:
        raise unreachable(address, str(exc)) from None
    try:
        yield describe(ray)
    finally:
        ray.shutdown()  # a cluster this block started stops with it; a cluster we joined keeps running


# Ray Client's proxier says this when the server process it starts for each connection did not
# answer in time (RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S, 30 s by default): seen on a 2-core
# head busy with other work, where that start took longer.
_CLIENT_SERVER_SLOW = "Starting Ray client server failed"


def unreachable(address: str, message: str) -> UserError:
    """The one-line error for a failed ``ray.init``, with what to do when Ray says what went wrong."""
    # Ray Client puts the reason on the lines after "Initialization failure from server:"; keep it on one line.
    reason = " ".join(message.split())[:400]
    hint = ""
    if _CLIENT_SERVER_SLOW in message:
        hint = (
            "; the head's Ray Client server did not start a server for this connection in time: retry,"
            " or restart the head with RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S=120 in its environment"
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
