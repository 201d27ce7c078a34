"""``in_order``: submit Ray tasks a window ahead of the consumer and hand the results back in
submission order.

At most ``window`` tasks are in flight or finished and waiting, so the driver's memory holds a
window of results however long the job (backpressure: a slow writer slows the submissions).
Closing the generator early (Ctrl-C, an error in the writer) cancels what is still pending.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .connect import import_ray


def in_order(submit: Callable[[Any], Any], items: Iterable[Any], window: int) -> Iterator[Any]:
    """For each item, ``submit(item)`` (an ObjectRef); yield ``ray.get`` of each, in order."""
    ray = import_ray()
    pending: deque[Any] = deque()
    try:
        for item in items:
            pending.append(submit(item))
            if len(pending) >= window:
                yield ray.get(pending.popleft())
        while pending:
            yield ray.get(pending.popleft())
    finally:
        for ref in pending:
            with contextlib.suppress(Exception):  # already finished, or the connection is gone
                ray.cancel(ref)


def as_completed(
    submit: Callable[[Any], Any],
    items: Iterable[Any],
    window: int,
    idle: Callable[[], None] | None = None,
    every: float = 1.0,
) -> Iterator[tuple[Any, Any]]:
    """(item, result) pairs as tasks finish, at most ``window`` in flight (for independent runs);
    while none finishes, ``idle()`` is called every ``every`` seconds (to take in their progress)."""
    ray = import_ray()
    pending: dict[Any, Any] = {}
    source = iter(items)
    try:
        for item in source:
            pending[submit(item)] = item
            if len(pending) >= window:
                yield _next_done(ray, pending, idle, every)
        while pending:
            yield _next_done(ray, pending, idle, every)
    finally:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref)


def _next_done(
    ray: Any, pending: dict[Any, Any], idle: Callable[[], None] | None = None, every: float = 1.0
) -> tuple[Any, Any]:
    while True:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=None if idle is None else every)
        if ready:
            break
        assert idle is not None
        idle()
    (ref,) = ready
    item = pending.pop(ref)
    return item, ray.get(ref)
