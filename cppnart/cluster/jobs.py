"""Independent jobs on the cluster (training runs of a sweep): any picklable function, one task
per item, results as they finish.

A job whose worker dies is retried (``max_retries``); a function that can pick up where it
stopped (a training run resumes from its checkpoint) loses at most the work since then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .connect import cluster_cpus, import_ray
from .ordered import as_completed

JOB_RETRIES = 2


def _call(function: Callable[[Any], Any], item: Any) -> Any:
    return function(item)


def run_unordered(
    function: Callable[[Any], Any], items: Iterable[Any], cpus: int = 1, max_retries: int = JOB_RETRIES
) -> Iterator[tuple[Any, Any]]:
    """(item, function(item)) for every item, as the tasks finish; as many in flight as CPUs allow."""
    ray = import_ray()
    task = ray.remote(_call).options(num_cpus=cpus, max_retries=max_retries)
    window = max(1, cluster_cpus() // cpus)
    yield from as_completed(lambda item: task.remote(function, item), items, window)
