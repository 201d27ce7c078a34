"""``--cluster``: connect for the length of a command and hand it a renderer (local without it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Optional

import typer


def check_cluster(cluster: Optional[str]) -> None:
    """Before any work: the address is well formed and Ray is installed."""
    if cluster is None:
        return
    from ..cluster.connect import check_address, import_ray

    check_address(cluster)
    import_ray()


@contextlib.contextmanager
def open_renderer(cluster: Optional[str], quiet: bool) -> Iterator[Any]:
    """None (render here) without --cluster; else a RayRenderer on the connected cluster."""
    if cluster is None:
        yield None
        return
    from ..cluster.connect import connected
    from ..cluster.renderer import RayRenderer

    with connected(cluster) as where:
        if not quiet:
            typer.echo(f"cluster: {where}", err=True)
        yield RayRenderer()


def cluster_report(renderer: Any) -> dict[str, Any]:
    """{"cluster": {"tasks": .., "nodes": ..}} for --json, or nothing for a local render."""
    return {"cluster": renderer.stats.as_dict()} if renderer is not None else {}
