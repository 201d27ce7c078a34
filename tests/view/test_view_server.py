"""The viewer's server without a browser (a real uvicorn on a free port, plain HTTP from urllib):
refusals, posters and their recipes, cancellation."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from PIL import Image
from typer.testing import CliRunner

from cppnart.cli import app as cli
from cppnart.io.metadata import read_recipe
from cppnart.view.server import ViewerServer
from tests.view_fixtures import viewer_app


class Answer:
    def __init__(self, status: int, headers, body: bytes) -> None:
        self.status_code, self.headers, self.content = status, headers, body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


class Client:
    """GET and POST against the running server as its page does (with the token the page carries);
    4xx answers are returned, not raised."""

    def __init__(self, base: str, app) -> None:
        self.base, self.app_state = base.rstrip("/"), app.state
        self.token = page_token(self.get("/").text)

    def request(self, method: str, url: str, body: bytes | None = None, headers=None) -> Answer:
        headers = {"X-Cppnart-Token": getattr(self, "token", ""), **(headers or {})}
        req = urllib.request.Request(self.base + url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return Answer(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, e.headers, e.read())

    def get(self, url: str) -> Answer:
        return self.request("GET", url)

    def post(self, url: str, json=None, content: bytes | None = None, headers=None) -> Answer:
        if json is not None:
            content, headers = _json.dumps(json).encode(), {"content-type": "application/json"}
        return self.request("POST", url, content or b"", headers)


_json = json


def page_token(page: str) -> str:
    """The token the server wrote into its page."""
    found = re.search(r'<meta name="cppnart-token" content="([^"]+)">', page)
    assert found, "the page carries no token"
    return found.group(1)


@pytest.fixture
def client(tmp_path: Path):
    app, _ = viewer_app(tmp_path, heartbeat=1.0)
    with ViewerServer(app, port=0) as server:
        yield Client(server.url, app)


def one_line_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert message and "\n" not in message
    return message


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/api/frame?width=100000&height=10", 400, "width must be at most 4096"),
        ("/api/frame?width=10&height=10&z=1,2", 400, "3"),
        ("/api/frame?width=10&height=10&zoom=0", 400, "zoom must be at least 1e-06"),
        ("/api/frame?width=ten&height=10", 400, "whole number"),
        ("/api/model?model=nope", 404, "unknown model 'nope'"),
        ("/api/model?model=../../etc/passwd", 404, "unknown model"),
        ("/api/model?model=sin-sigmoid&seed=-1", 400, "seed must be at least 0"),
        ("/files/../pyproject.toml", 404, ""),
        ("/files/..%2F..%2Fpyproject.toml", 404, "output folder"),
        ("/files/%2Fetc%2Fpasswd", 404, "output folder"),
        ("/static/../../pyproject.toml", 404, ""),
        ("/static/..%2F..%2Fserver.py", 404, ""),
        ("/nothing-here", 404, "not found"),
    ],
)
def test_bad_requests_are_refused_with_one_line(client, url, status, words):
    response = client.get(url)
    assert words in one_line_error(response, status)


def test_huge_poster_and_bad_json_refused(client):
    response = client.post("/api/poster", json={"width": 100000, "height": 100000})
    assert "width must be at most 16384" in one_line_error(response, 400)
    response = client.post("/api/poster", content=b"{not json", headers={"content-type": "application/json"})
    assert "not valid JSON" in one_line_error(response, 400)
    response = client.post("/api/poster", json={"model": "elsewhere.onnx", "width": 8, "height": 8})
    assert "unknown model" in one_line_error(response, 404)


def wait_for(client, states=("done", "cancelled", "failed"), timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get("/api/poster").json()
        if job["state"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"poster still {job}")


def test_poster_recipe_renders_the_same_pixels(client, tmp_path: Path):
    z = [0.3, -0.7, 0.1]
    body = {"model": "sin-sigmoid", "seed": 4, "z": z, "width": 80, "height": 48, "zoom": 1.7, "cx": 0.2, "cy": -0.1}
    assert client.post("/api/poster", json=body).status_code == 202
    job = wait_for(client)
    assert job["state"] == "done", job
    served = client.get(job["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    poster = tmp_path / "posters" / job["name"]
    recipe = read_recipe(poster)
    assert recipe["z"] == pytest.approx(z) and recipe["zoom"] == 1.7 and recipe["res"] == [80, 48]
    again = tmp_path / "again.png"
    result = CliRunner().invoke(cli, ["render", "--from", str(poster), "-o", str(again)])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(poster)))


def test_a_poster_nobody_polls_stops_and_leaves_nothing(client, tmp_path: Path):
    client.app_state.desk.heartbeat = 0.2  # far shorter than the poster takes on any machine
    body = {"width": 8000, "height": 8000, "z": [0, 0, 0]}
    assert client.post("/api/poster", json=body).status_code == 202
    response = client.post("/api/poster", json=body)
    assert "already rendering" in one_line_error(response, 409)
    assert client.app_state.desk.wait(timeout=30), "the poster kept running with nobody polling"
    assert client.get("/api/poster").json()["state"] == "cancelled"
    assert list((tmp_path / "posters").iterdir()) == []


def test_cancel_stops_a_poster(client, tmp_path: Path):
    assert client.post("/api/poster", json={"width": 4000, "height": 4000}).status_code == 202
    client.post("/api/poster/cancel")
    assert wait_for(client)["state"] == "cancelled"
    assert list((tmp_path / "posters").iterdir()) == []


def test_view_cli_refuses_bad_options(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(cli, ["view", "--port", "70000", "--no-browser"])
    assert result.exit_code == 2 and "--port" in result.output
    result = runner.invoke(cli, ["view", "nope-preset", "--no-browser", "--port", "0"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


def test_a_conv_glyph_model_is_served_as_frames_at_its_own_size(tmp_path: Path):
    """Not a coordinate CPPN: no shader form, so the page asks the server, which draws its native size."""
    torch = pytest.importorskip("torch")
    from io import BytesIO

    from cppnart.render.model import load_model
    from cppnart.train.glyph import build_models, export_generator
    from cppnart.view.catalogue import Catalogue
    from cppnart.view.server import create_app, initial_state
    from tests.glyph_fixtures import TINY_CONV, tiny_config

    config = tiny_config(TINY_CONV)
    torch.manual_seed(0)
    path = export_generator(build_models(config, torch.device("cpu")).generator, config, tmp_path / "glyph.onnx")
    net = load_model(path, device="cpu")
    z = np.random.default_rng(3).standard_normal(8).astype(np.float32)
    app = create_app(
        Catalogue.around(net, "glyph.onnx", presets=False), tmp_path / "posters", initial_state(None, z, 3)
    )
    with ViewerServer(app, port=0) as server:
        client = Client(server.url, app)
        assert client.get("/api/weights?model=glyph.onnx").status_code == 400  # no shader form: frames instead
        zs = ",".join(f"{v:.6f}" for v in z)
        answer = client.get(f"/api/frame?model=glyph.onnx&width=15&height=15&z={zs}")
        assert answer.status_code == 200, answer.text
        got = np.asarray(Image.open(BytesIO(answer.content)))
        expected = np.round(net.render(z, 15, 15)[..., 0] * 255)
        assert got.shape == (15, 15) and np.abs(got.astype(float) - expected).max() <= 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("zoom", 1e-7), ("zoom", 1e-6), ("zoom", 1e9), ("zoom", 2e9), ("zoom", 0.5),
        ("cx", -1e6), ("cx", -1.5e6), ("cy", 1e6), ("cy", 2e6),
        ("zseed", 0), ("zseed", 2**63 - 1), ("zseed", 2**63), ("zseed", 2**32),
    ],
)  # fmt: skip
def test_the_viewer_refuses_what_the_library_refuses(client, key, value):
    """Issue 25: the viewer's query checks are the library's ranges (zoom and centre as `render`'s)."""
    from cppnart.configs.schema import RANGES, check_param
    from cppnart.errors import ParamError

    library = {"cx": "center", "cy": "center", "zseed": "seed"}.get(key, key)
    try:
        check_param(library, value)
        expected = 200
    except ParamError:
        expected = 400
    answer = client.get(f"/api/frame?width=4&height=4&{key}={value!r}")
    assert answer.status_code == expected, (key, value, answer.text, RANGES[library])


def test_the_pages_poster_is_cppnart_render_by_name_and_bytes(client, tmp_path: Path, monkeypatch):
    """ "Render poster" as the page sends it (a preset, its seed and the z that seed draws) gives the
    file `cppnart render` writes, under the same name; a model file's poster is named by its z seed."""
    from cppnart.render.model import load_model

    z = [float(v) for v in load_model("classic", seed=7).sample_z(7)[0]]
    body = {"model": "classic", "seed": 7, "z": z, "zseed": 7, "width": 64, "height": 40, "supersample": 1}
    assert client.post("/api/poster", json=body).status_code == 202
    job = wait_for(client)
    assert job["state"] == "done", job
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["render", "classic", "--seed", "7", "--res", "64x40", "--json"])
    assert result.exit_code == 0, result.output
    cli_path = tmp_path / json.loads(result.output)["path"]
    assert job["name"] == cli_path.name == "classic-7-64x40.png"
    assert (tmp_path / "posters" / job["name"]).read_bytes() == cli_path.read_bytes()

    onnx = load_model(tmp_path / "tiny.onnx")
    body = {"model": "tiny.onnx", "z": [float(v) for v in onnx.sample_z(5)[0]], "zseed": 5, "width": 16, "height": 8}
    assert client.post("/api/poster", json=body).status_code == 202
    job = wait_for(client)
    assert job["state"] == "done" and job["name"] == "tanh-sigmoid-5-16x8.png", job  # its preset label
