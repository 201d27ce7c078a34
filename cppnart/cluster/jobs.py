"""Independent jobs on the cluster (training runs of a sweep): any picklable function, one task
per item, results as they finish, and an ``Inbox`` for what the tasks report while they run.

A job whose worker dies is retried (``max_retries``); a function that can pick up where it
stopped (a training run resumes from its checkpoint) loses at most the work since then.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .connect import cluster_cpus, import_ray
from .ordered import as_completed

JOB_RETRIES = 2


def _call(function: Callable[[Any], Any], item: Any) -> Any:
    return function(item)


def run_unordered(
    function: Callable[[Any], Any],
    items: Iterable[Any],
    cpus: int = 1,
    max_retries: int = JOB_RETRIES,
    idle: Callable[[], None] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """(item, function(item)) for every item, as the tasks finish; as many in flight as CPUs allow.
    ``idle()`` runs twice a second while no task finishes (to drain an ``Inbox``)."""
    ray = import_ray()
    task = ray.remote(_call).options(num_cpus=cpus, max_retries=max_retries)
    window = max(1, cluster_cpus() // cpus)
    yield from as_completed(lambda item: task.remote(function, item), items, window, idle, every=0.5)


class Inbox:
    """Messages from running tasks to the driver: ``put`` in a task (the inbox travels as an
    argument), ``drain`` on the driver. A Ray queue actor that holds no CPU, so it never takes a
    task's place; ``close`` ends it."""

    def __init__(self) -> None:
        from ray.util.queue import Queue

        self._queue = Queue(actor_options={"num_cpus": 0})
        self._queue.qsize()  # wait for the actor: a task's first message must not wait for it to start

    def put(self, item: Any) -> None:
        """Post one picklable item (from a task)."""
        self._queue.put(item)

    def drain(self) -> list[Any]:
        """Every item posted so far, oldest first; [] when none."""
        count = self._queue.qsize()
        return list(self._queue.get_nowait_batch(count)) if count else []

    def close(self) -> None:
        """End the queue's actor (items still in it are dropped)."""
        with contextlib.suppress(Exception):  # the cluster may already be gone (Ctrl-C, a lost head)
            self._queue.shutdown()
