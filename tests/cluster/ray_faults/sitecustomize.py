"""Fault injection for the test session's Ray head: the Ray Client proxier that it starts
(``python -m ray.util.client.server --mode=proxy``) kills the server it starts for a connection,
the next N times, where N is the number in the file named by ``CPPNART_TEST_CLIENT_SERVER_FAILURES``.

This is the failure CI met twice on a busy 2-core machine: the per-connection server process died
while starting, its ``ray_client_server_PORT.err`` empty, and the proxier answered the client
"Starting Ray client server failed". Every other process the head starts (raylet, workers, the
dashboard agent) is left alone: this file acts only inside the proxier.
"""

import os
import sys

_COUNT = os.environ.get("CPPNART_TEST_CLIENT_SERVER_FAILURES")


def _take_one(path: str) -> bool:
    """One failure from the count in ``path``, if any is left (the proxier starts servers one by one)."""
    try:
        with open(path) as file:
            left = int(file.read().strip() or 0)
    except (OSError, ValueError):
        return False
    if left <= 0:
        return False
    with open(path, "w") as file:
        file.write(str(left - 1))
    return True


if _COUNT and "--mode=proxy" in sys.argv:
    from ray.util.client.server import proxier

    _start = proxier.ProxyManager.start_specific_server

    def start_specific_server(self, client_id, job_config):  # type: ignore[no-untyped-def]
        started = _start(self, client_id, job_config)
        if started and _take_one(_COUNT):
            process = self._get_server_for_client(client_id).process_handle_future.result().process
            process.kill()  # SIGKILL, as a server that died starting leaves an empty .err
            process.wait()
            return False  # what the proxier itself returns when that process is gone
        return started

    proxier.ProxyManager.start_specific_server = start_specific_server
