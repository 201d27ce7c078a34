"""The viewer's memory under concurrent large frames: peak RSS of the server process with N
frames of 4096^2 sent at once, with the render queue as shipped (``FRAME_SLOTS`` at a time,
``FRAME_QUEUE`` waiting) against one slot per request (no bound), in one run.

    python bench/view_concurrency.py            # N = 6, as in the report that found 2.1 GB
    python bench/view_concurrency.py --frames 8 --side 2048 --preset classic

Each server runs in its own child process, so its peak RSS (VmHWM in /proc) is its own; every
request is written before any answer is read, so all N are in the server's hands at once.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVE = """
import sys
from pathlib import Path
from cppnart.render.model import load_model
from cppnart.view.catalogue import Catalogue
from cppnart.view.http import RenderGate
from cppnart.view.server import ViewerServer, create_app, initial_state
preset, slots, queue, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
net = load_model(preset, seed=1, device="cpu")
app = create_app(Catalogue.around(net, preset, presets=False), out, initial_state(1, net.sample_z(1), 1),
                 gate=RenderGate(slots, queue))
server = ViewerServer(app, port=0).start()
print(server.port, app.state.token, flush=True)
sys.stdin.read()  # until the parent closes it
server.stop()
"""


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    text = Path(f"/proc/{pid}/status").read_text()
    rss, hwm = (int(re.search(rf"{key}:\s+(\d+) kB", text).group(1)) / 1024 for key in ("VmRSS", "VmHWM"))
    return rss, hwm


def run(preset: str, slots: int, queue: int, frames: int, side: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as out:
        child = subprocess.Popen(
            [sys.executable, "-c", SERVE, preset, str(slots), str(queue), out],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        port_text, token = child.stdout.readline().split()
        port = int(port_text)
        # One small frame first: the session is made and the arenas warmed, as a page would.
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        warm.request("GET", "/api/frame?width=64&height=64", headers={"X-Cppnart-Token": token})
        assert warm.getresponse().read()
        warm.close()
        idle = peak_rss_mb(child.pid)[1]
        request = (
            f"GET /api/frame?width={side}&height={side}&zseed=2 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"X-Cppnart-Token: {token}\r\nConnection: close\r\n\r\n"
        ).encode()
        start = time.perf_counter()
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=600) for _ in range(frames)]
        for sock in sockets:
            sock.sendall(request)
        statuses = []
        for sock in sockets:
            answer = http.client.HTTPResponse(sock)
            answer.begin()
            body = answer.read()
            statuses.append(answer.status if answer.status == 200 else f"{answer.status} {json.loads(body)['error']}")
            sock.close()
        seconds = time.perf_counter() - start
        peak = peak_rss_mb(child.pid)[1]
        child.stdin.close()
        child.wait(timeout=60)
    return {"slots": slots, "queue": queue, "idle_mb": idle, "peak_mb": peak, "seconds": seconds, "statuses": statuses}


def main() -> None:
    from cppnart.view.server import FRAME_QUEUE, FRAME_SLOTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--side", type=int, default=4096)
    parser.add_argument("--preset", default="classic")
    args = parser.parse_args()
    bounded = run(args.preset, FRAME_SLOTS, FRAME_QUEUE, args.frames, args.side)
    unbounded = run(args.preset, args.frames, 0, args.frames, args.side)
    print(f"{args.frames} concurrent {args.side}x{args.side} frames of '{args.preset}', server peak RSS (VmHWM):")
    for name, result in (("as shipped", bounded), ("one slot each", unbounded)):
        served = sum(1 for s in result["statuses"] if s == 200)
        print(
            f"  {name:14s} slots={result['slots']} queue={result['queue']}: idle {result['idle_mb']:.0f} MB, "
            f"peak {result['peak_mb']:.0f} MB (+{result['peak_mb'] - result['idle_mb']:.0f}), "
            f"{served}/{args.frames} served, {result['seconds']:.1f} s"
        )
        for status in result["statuses"]:
            if status != 200:
                print(f"    refused: {status}")
    growth = (unbounded["peak_mb"] - unbounded["idle_mb"]) / max(1.0, bounded["peak_mb"] - bounded["idle_mb"])
    print(f"  growth over idle, unbounded / as shipped: {growth:.2f}x")


if __name__ == "__main__":
    main()
