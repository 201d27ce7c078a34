"""``--cluster``: connect for the length of a command and hand it a renderer (local without it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Optional

import typer


def check_cluster(cluster: Optional[str], timeout: float = 5.0) -> None:
    """Before any work: the address is well formed (a port of 1-65535), the timeout is a
    positive number of seconds and Ray is installed."""
    if cluster is None:
        return
    from ..cluster.connect import check_address, check_timeout, import_ray

    check_address(cluster)
    check_timeout(timeout)
    import_ray()


@contextlib.contextmanager
def open_renderer(cluster: Optional[str], quiet: bool, timeout: float = 5.0, verbose: bool = False) -> Iterator[Any]:
    """None (render here) without --cluster; else a RayRenderer on the connected cluster (which
    must answer within ``timeout`` seconds; ``verbose`` shows Ray's own messages)."""
    if cluster is None:
        yield None
        return
    from ..cluster.connect import connected
    from ..cluster.renderer import RayRenderer

    with connected(cluster, timeout=timeout, verbose=verbose, exit_on_stop=True) as where:
        if not quiet:
            typer.echo(f"cluster: {where}", err=True)
        yield RayRenderer()


def cluster_report(renderer: Any) -> dict[str, Any]:
    """{"cluster": {"tasks": .., "nodes": ..}} for --json, or nothing for a local render."""
    return {"cluster": renderer.stats.as_dict()} if renderer is not None else {}
