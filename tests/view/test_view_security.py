"""The viewers as an attacker meets them: a real uvicorn on 127.0.0.1, raw HTTP (http.client, so
every header and path is sent exactly as written). A page on another origin, a DNS-rebinding name,
a file beside a pyramid, numbers no page sends, bodies no page sends, more frames than the server
renders at once, and stop signals to `cppnart view` in a subprocess."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from typer.testing import CliRunner

from cppnart.cli import app as cli
from cppnart.view.http import MAX_BODY, RenderGate
from cppnart.view.pyramid import find_pyramid, pyramid_app
from cppnart.view.server import ViewerServer
from tests.view_fixtures import viewer_app

from ..conftest import TINY_PRESET

ROOT = Path(__file__).resolve().parents[2]
EVIL = "http://evil.example"


class Raw:
    """One server, spoken to byte for byte: ``ask`` returns (status, headers, body)."""

    def __init__(self, server: ViewerServer) -> None:
        self.port = server.port
        self.token = ""
        self.token = re.search(r'name="cppnart-token" content="([^"]+)"', self.ask("GET", "/")[2].decode()).group(1)

    def ask(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, token=True):
        headers = dict(headers or {})
        if token and self.token:
            headers.setdefault("X-Cppnart-Token", self.token)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        connection.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
        for key, value in headers.items():
            connection.putheader(key, value)
        if body or method == "POST":
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        answer = connection.getresponse()
        result = answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
        connection.close()
        return result


def one_json_line(answer, low: int = 400, high: int = 499) -> str:
    status, headers, body = answer
    assert low <= status <= high, (status, body[:200])
    assert headers["content-type"] == "application/json" and body.count(b"\n") == 0, body[:200]
    message = json.loads(body)["error"]
    assert message and "\n" not in message and "Traceback" not in message
    return message


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("viewer")
    app, _ = viewer_app(folder)
    with ViewerServer(app, port=0) as server:
        yield Raw(server), app, folder


@pytest.fixture(scope="module")
def pyramid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pyramid")
    (folder / "tiny.toml").write_text(TINY_PRESET)
    result = CliRunner().invoke(
        cli, ["render", str(folder / "tiny.toml"), "--res", "300x200", "--tiles", str(folder / "poster"), "-q"]
    )
    assert result.exit_code == 0, result.output
    (folder / "poster" / "secret.txt").write_text("beside the pyramid")
    (folder / "poster" / "poster_files" / "0" / "notes.txt").write_text("inside the tile folder")
    (folder / "poster" / "other.dzi").write_text("<Image/>")
    with ViewerServer(pyramid_app(find_pyramid(folder / "poster" / "poster.dzi")), port=0) as server:
        yield Raw(server), folder / "poster"


# --- a page on another origin ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Type": "text/plain", "Origin": EVIL}, 403),  # the "simple" request a page sends unasked
        ({"Content-Type": "text/plain"}, 415),  # the same without Origin (an old browser, a plug-in)
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),  # an HTML form
        ({"Content-Type": "multipart/form-data; boundary=x"}, 415),
        ({"Content-Type": "application/json", "Origin": EVIL}, 403),  # JSON after a preflight it would fail
        ({"Content-Type": "application/json", "Origin": "null"}, 403),  # a sandboxed frame, a file:// page
        ({"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403),
        ({"Content-Type": "application/json", "X-Cppnart-Token": ""}, 403),  # no token
        ({"Content-Type": "application/json", "X-Cppnart-Token": "guess"}, 403),
        ({"Content-Type": "application/json", "X-Cppnart-Token": "\u00e9\u00e9"}, 403),  # not ASCII: still 403
    ],
)
def test_a_cross_origin_poster_request_is_refused_and_writes_nothing(viewer, headers, status):
    raw, app, folder = viewer
    body = json.dumps({"width": 64, "height": 64}).encode()
    for path in ("/api/poster", "/api/poster/cancel"):
        assert status == raw.ask("POST", path, body, headers)[0]
        one_json_line(raw.ask("POST", path, body, headers))
    assert app.state.desk.job is None
    assert not (folder / "posters").exists() or list((folder / "posters").iterdir()) == []


def test_the_page_s_own_poster_request_is_accepted(viewer):
    raw, app, folder = viewer
    port = raw.port
    body = json.dumps({"width": 16, "height": 8, "z": [0, 0, 0]}).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Origin": f"http://127.0.0.1:{port}"}
    status, _, answer = raw.ask("POST", "/api/poster", body, headers)
    assert status == 202, answer
    assert app.state.desk.wait(30) and app.state.desk.job.state == "done"
    assert (folder / "posters" / json.loads(answer)["name"]).is_file()
    (folder / "posters" / json.loads(answer)["name"]).unlink()
    app.state.desk.job = None


def test_a_token_in_the_query_serves_what_cannot_send_headers(viewer):
    raw = viewer[0]
    assert raw.ask("GET", "/api/models", token=False)[0] == 403
    assert raw.ask("GET", f"/api/frame?width=4&height=4&token={raw.token}", token=False)[0] == 200
    assert raw.ask("GET", "/api/frame?width=4&height=4&token=wrong", token=False)[0] == 403


def test_a_new_server_has_a_new_token(tmp_path):
    first, second = viewer_app(tmp_path / "a")[0], viewer_app(tmp_path / "b")[0]
    assert first.state.token != second.state.token and len(first.state.token) >= 40


# --- DNS rebinding: the server reached under another name -----------------------------------
def wrong_hosts(port: int) -> list[str]:
    return [
        "evil.example",
        f"evil.example:{port}",
        f"localhost.evil.example:{port}",
        f"127.0.0.1.nip.io:{port}",
        f"127.0.0.1:{port + 1}",
        f"localhost:{port}@evil.example",
        f"[::1]:{port}:{port}",
        "",
    ]


def test_a_wrong_host_is_refused_by_both_viewers(viewer, pyramid):
    for raw in (viewer[0], pyramid[0]):
        for host in wrong_hosts(raw.port):
            for path in ("/", "/api/models" if raw is viewer[0] else "/api/pyramid", "/static/style.css"):
                answer = raw.ask("GET", path, headers={"Host": host})
                assert answer[0] == 421, (host, path, answer)
                assert "own address" in one_json_line(answer)
        for host in (f"127.0.0.1:{raw.port}", f"localhost:{raw.port}", f"LOCALHOST:{raw.port}", f"[::1]:{raw.port}"):
            assert raw.ask("GET", "/", headers={"Host": host})[0] == 200, host


def test_a_server_bound_to_a_name_answers_to_that_name(tmp_path):
    app, _ = viewer_app(tmp_path)
    with ViewerServer(app, host="localhost", port=0) as server:
        raw = Raw(server)
        assert raw.ask("GET", "/", headers={"Host": f"localhost:{raw.port}"})[0] == 200
        assert raw.ask("GET", "/", headers={"Host": f"elsewhere:{raw.port}"})[0] == 421


def test_no_other_page_may_frame_the_viewer(viewer):
    _, headers, _ = viewer[0].ask("GET", "/")
    assert headers["content-security-policy"] == "frame-ancestors 'none'"
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"


# --- the pyramid viewer serves the pyramid, nothing beside it --------------------------------
def test_the_pyramid_viewer_serves_only_the_pyramid_s_files(pyramid):
    raw, folder = pyramid
    assert raw.ask("GET", "/pyramid/poster.dzi")[2] == (folder / "poster.dzi").read_bytes()
    assert raw.ask("GET", "/pyramid/recipe.json")[0] == 200
    assert raw.ask("GET", "/pyramid/poster_files/0/0_0.png")[0] == 200
    assert raw.ask("GET", "/pyramid/poster_files/9/1_0.png")[0] == 200
    for path in (
        "/pyramid/secret.txt",
        "/pyramid/other.dzi",
        "/pyramid/poster_files/0/notes.txt",
        "/pyramid/poster_files/0/9_9.png",  # not there
        "/pyramid/poster_files/0/../../secret.txt",
        "/pyramid/poster_files/0/0_0.png/../../../secret.txt",
        "/pyramid/./secret.txt",
        "/pyramid/poster_files",
        "/pyramid/",
    ):
        status, _, body = raw.ask("GET", path)
        assert status == 404 and b"beside" not in body and b"inside the tile" not in body, path


# --- numbers and bodies no page sends ----------------------------------------------------------
FRAME = "/api/frame?height=4&width="
BAD_QUERIES = [
    FRAME + "1e999",
    FRAME + "10.5",
    FRAME + "-1",
    FRAME + "0",
    FRAME + "1_000",
    FRAME + "%D9%A1%D9%A2",  # Arabic-Indic digits (percent-encoded): int() would take them
    FRAME + "9" * 5000,
    FRAME + "nan",
    FRAME + "4097",
    FRAME + "4&zoom=0",
    FRAME + "4&zoom=-1",
    FRAME + "4&zoom=1e-300",
    FRAME + "4&zoom=inf",
    FRAME + "4&cx=1e300",
    FRAME + "4&cy=nan",
    FRAME + "4&z=1,2",
    FRAME + "4&z=1,2,nan",
    FRAME + "4&z=1,2,1e999",
    FRAME + "4&z=" + ",".join(["0"] * 1000),
    FRAME + "4&zseed=-1",
    FRAME + "4&zseed=18446744073709551616",
    "/api/model?seed=1.5",
    "/api/model?model=classic&seed=99999999999999999999",
    "/api/z?zseed=x",
    "/api/sheet?first=0&count=0",
    "/api/sheet?first=0&count=65",
    "/api/sheet?first=9223372036854775807&count=2",
]


@pytest.mark.parametrize("url", BAD_QUERIES, ids=lambda u: u[-40:])
def test_a_bad_number_in_a_query_is_a_4xx_with_one_json_line(viewer, url):
    one_json_line(viewer[0].ask("GET", url.replace(" ", "%20")))


BAD_BODIES = [
    b'{"width": 1e999, "height": 8}',
    b'{"width": 10.5, "height": 8}',
    b'{"width": 8.0, "height": 8}',
    b'{"width": "10.5", "height": 8}',
    b'{"width": true, "height": 8}',
    b'{"width": [8], "height": 8}',
    b'{"width": {"a": 1}, "height": 8}',
    b'{"width": NaN, "height": 8}',
    b'{"width": -Infinity, "height": 8}',
    b'{"width": 16385, "height": 8}',
    b'{"width": 8, "height": 8, "supersample": 9}',
    b'{"width": 8, "height": 8, "supersample": 0}',
    b'{"width": 8, "height": 8, "zoom": 0}',
    b'{"width": 8, "height": 8, "cx": 1e7}',
    b'{"width": 8, "height": 8, "seed": -3}',
    b'{"width": 8, "height": 8, "seed": 1e30}',
    b'{"width": 8, "height": 8, "z": [1, 2]}',
    b'{"width": 8, "height": 8, "z": [1, 2, "nan"]}',
    b'{"width": 8, "height": 8, "z": [1, 2, true]}',
    b'{"width": 8, "height": 8, "z": [[1], [2], [3]]}',
    b'{"width": 8, "height": 8, "z": "1,2,x"}',
    b'{"width": 8, "height": 8, "z": [' + b",".join([b"0"] * 70000) + b"]}",
    b'{"width": 8, "height": 8, "model": ["tiny.onnx"]}',
    b'{"width": 8, "height": ' + b"9" * 5000 + b"}",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": ' * 50 + b"1" + b"}" * 50,
    b"[1, 2, 3]",
    b'"width"',
    b"{not json",
    b"\xff\xfe{}",
    b"",
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: b[:40].decode("latin-1"))
def test_a_bad_poster_body_is_a_4xx_with_one_json_line(viewer, body):
    raw, app, _ = viewer
    one_json_line(raw.ask("POST", "/api/poster", body, {"Content-Type": "application/json"}))
    assert app.state.desk.job is None


def test_a_huge_body_is_refused_before_it_is_read(viewer):
    raw = viewer[0]
    answer = raw.ask("POST", "/api/poster", b" " * (MAX_BODY + 1), {"Content-Type": "application/json"})
    assert answer[0] == 413 and "too large" in one_json_line(answer)


def test_a_chunked_body_over_the_limit_is_refused(viewer):
    """No Content-Length to check first: the body is counted as it is read."""
    raw = viewer[0]
    connection = http.client.HTTPConnection("127.0.0.1", raw.port, timeout=60)
    chunks = (b"[" + b"0," * 1000 for _ in range(2000))  # ~4 MB, never finished
    headers = {"Content-Type": "application/json", "X-Cppnart-Token": raw.token}
    connection.request("POST", "/api/poster", body=chunks, headers=headers, encode_chunked=True)
    answer = connection.getresponse()
    status, body = answer.status, answer.read()
    connection.close()
    assert status == 413 and json.loads(body)["error"]


# --- more frames than the server renders at once --------------------------------------------
def send_all_then_read(port: int, requests: list[bytes]) -> list[tuple[int, dict[str, str], bytes]]:
    """Open one connection per request, write every request, and only then read the answers: all
    of them are in the server's hands before the first frame can be finished."""
    sockets = []
    for request in requests:
        sock = socket.create_connection(("127.0.0.1", port), timeout=300)
        sock.sendall(request)
        sockets.append(sock)
    answers = []
    for sock in sockets:
        response = http.client.HTTPResponse(sock)
        response.begin()
        answers.append((response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()))
        sock.close()
    return answers


def test_concurrent_large_frames_beyond_the_queue_are_refused_with_retry_after(tmp_path):
    """Six 4096^2 frames at once against one render slot and one waiting place: two are rendered,
    four are answered 503 with Retry-After at once (the memory held is one frame's: see
    bench/view_concurrency.py for the server's peak RSS)."""
    gate = RenderGate(slots=1, queue=1)
    app, _ = viewer_app(tmp_path, gate=gate)
    with ViewerServer(app, port=0) as server:
        token, port = app.state.token, server.port
        request = (
            f"GET /api/frame?model=tiny.onnx&width=4096&height=4096&zseed=1 HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nX-Cppnart-Token: {token}\r\nConnection: close\r\n\r\n"
        ).encode()
        answers = send_all_then_read(port, [request] * 6)
    statuses = sorted(a[0] for a in answers)
    assert statuses == [200, 200, 503, 503, 503, 503], statuses
    for status, headers, body in answers:
        if status == 503:
            assert headers["retry-after"] == "1" and "busy" in json.loads(body)["error"]
        else:
            assert headers["content-type"] == "image/png" and body[:8] == b"\x89PNG\r\n\x1a\n"
    assert gate.peak == 2 and gate.admitted == 0


def test_a_frame_over_the_memory_budget_is_refused_before_any_work(viewer, monkeypatch):
    monkeypatch.setenv("CPPNART_MAX_MEMORY", str(10_000_000))
    message = one_json_line(viewer[0].ask("GET", "/api/frame?width=4096&height=4096"))
    assert "in memory" in message and "CPPNART_MAX_MEMORY" in message
    assert viewer[0].ask("GET", "/api/frame?width=64&height=64")[0] == 200


# --- stop signals -----------------------------------------------------------------------------
def start_view(tmp_path: Path) -> tuple[subprocess.Popen, str]:
    (tmp_path / "tiny.toml").write_text(TINY_PRESET)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "cppnart", "view", str(tmp_path / "tiny.toml"), "--seed", "3"]
    command += ["--no-browser", "--port", "0", "--out", str(tmp_path / "posters")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()  # "cppnart view: tiny at http://127.0.0.1:PORT/ ..."
    found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if found is None:
        process.kill()
        raise AssertionError(f"the viewer did not start: {line!r} {process.stderr.read()}")
    return process, found.group(1)


@pytest.mark.parametrize(("signum", "note"), [(signal.SIGTERM, "stopped by signal 15"), (signal.SIGINT, "interrupted")])
def test_view_exits_128_plus_n_on_a_stop_signal(tmp_path, signum, note):
    process, _ = start_view(tmp_path)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(note), err


def test_a_poster_rendering_when_the_viewer_is_stopped_leaves_no_file(tmp_path):
    process, port = start_view(tmp_path)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
        connection.request("GET", "/")
        token = re.search(r'name="cppnart-token" content="([^"]+)"', connection.getresponse().read().decode()).group(1)
        body = json.dumps({"width": 8000, "height": 8000}).encode()
        headers = {"Content-Type": "application/json", "X-Cppnart-Token": token}
        connection.request("POST", "/api/poster", body, headers)
        started = connection.getresponse()
        assert started.status == 202, started.read()
        started.read()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the first band is written
            connection.request("GET", "/api/poster", headers={"X-Cppnart-Token": token})
            job = json.loads(connection.getresponse().read())
            if job["progress"] > 0:
                break
            time.sleep(0.05)
        assert job["state"] == "running", job
        connection.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert list((tmp_path / "posters").iterdir()) == []
