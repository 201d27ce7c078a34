"""A watch over a call that blocks in C++ for long stretches: Ray's connect.

A Python signal handler only runs between bytecodes of the main thread, so while ``ray.init``
waits inside Ray's C++ GCS client (5 s per attempt, several attempts, measured against a port
that accepts and never answers) a SIGTERM waited 11-38 s. Python's C-level handler still writes
the signal's number to the wakeup fd at once; a thread reading it ends the process when the main
thread has not acted on the signal within ``GRACE`` seconds. Only for a block that has written
nothing yet (connecting happens before any output is opened), and only where the caller asks:
the command line, never a notebook.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Iterator

GRACE = 1.0  # seconds the main thread has to act on a stop signal itself
_STOPS = {int(getattr(signal, name)) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)}


def _note(signum: int) -> str:
    # The CLI's wording (cli/output.stop_note): this layer may not import the CLI.
    what = "interrupted" if signum == signal.SIGINT else f"stopped by signal {signum}"
    return f"{what}; no partial output was left behind\n"


@contextlib.contextmanager
def exit_on_stop(terminal: int = 2, deadline: float | None = None, late: str = "") -> Iterator[None]:
    """For the block, on the main thread: a stop signal it does not act on within ``GRACE`` s
    ends the process with exit 128 + n and one line on file descriptor ``terminal``; past
    ``deadline`` seconds, the line ``error: {late}`` and exit 2."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    done = threading.Event()

    def leave(line: str, code: int) -> None:
        if not done.is_set():
            os.write(terminal, line.encode())
            os._exit(code)

    def watch() -> None:
        start = time.monotonic()
        while not done.is_set():
            if select.select([reader], [], [], 0.1)[0]:
                stops = [n for n in reader.recv(64) if n in _STOPS]
                if stops and not done.wait(GRACE):
                    leave(_note(stops[-1]), 128 + stops[-1])
            if deadline is not None and time.monotonic() - start > deadline:
                leave(f"error: {late}\n", 2)

    thread = threading.Thread(target=watch, name="cppnart-stop-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        signal.set_wakeup_fd(previous)
        reader.close()
        writer.close()
