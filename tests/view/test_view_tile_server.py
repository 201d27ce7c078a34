"""The viewer's tile endpoints without a browser (a real uvicorn, plain HTTP): ``tile=1`` gives the
model's seamless tile (``render.seamless``) as a shader (torus) or as frames (reflection), and a
poster with ``"tile": true`` is `cppnart render --tile` by name and bytes."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from PIL import Image
from typer.testing import CliRunner

from cppnart.cli import app as cli
from cppnart.configs.view import View
from cppnart.io.metadata import read_recipe
from cppnart.io.png import quantize
from cppnart.render.model import load_model
from cppnart.render.request import resolve_picture
from cppnart.view.server import ViewerServer
from tests.view.test_view_server import Client, wait_for
from tests.view_fixtures import viewer_app


@pytest.fixture
def client(tmp_path: Path):
    app, _ = viewer_app(tmp_path, heartbeat=5.0)
    with ViewerServer(app, port=0) as server:
        yield Client(server.url, app)


def png(answer) -> np.ndarray:
    assert answer.status_code == 200, answer.text
    return np.asarray(Image.open(BytesIO(answer.content))).astype(np.float64)


def wrap_step(pixels: np.ndarray) -> tuple[float, float, float, float]:
    """(step across the wrap in x, the largest step between neighbouring columns inside; the same in y)."""
    cols = np.abs(np.diff(pixels, axis=1)).mean(axis=(0, 2))
    rows = np.abs(np.diff(pixels, axis=0)).mean(axis=(1, 2))
    return (
        float(np.abs(pixels[:, 0] - pixels[:, -1]).mean()), float(cols.max()),
        float(np.abs(pixels[0] - pixels[-1]).mean()), float(rows.max()),
    )  # fmt: skip


def test_the_tiled_model_answers_which_tiling_and_a_torus_shader(client):
    plain = client.get("/api/model?model=classic&seed=7").json()
    assert plain["tiling"] == "torus" and plain["tile"] is None and "sin(th)" not in plain["shader"]
    tiled = client.get("/api/model?model=classic&seed=7&tile=1&width=96&height=64&zoom=1.5").json()
    assert tiled["tile"] == "torus" and tiled["tiling"] == "torus"
    assert "sin(th)" in tiled["shader"]  # graph.glsl's torus front: the coordinates go round a circle
    assert client.get("/api/weights?model=classic&seed=7&tile=1&width=96&height=64").status_code == 200
    other = client.get("/api/model?model=classic&seed=7&tile=1&width=96&height=64&zoom=3").json()
    assert other["shader"] != tiled["shader"]  # the periods follow the zoom
    file = client.get("/api/model?model=tiny.onnx&tile=1&width=96&height=64").json()
    assert file["tiling"] == "reflect" and file["tile"] == "reflect" and file["shader"] is None  # frames
    answer = client.get("/api/weights?model=tiny.onnx&tile=1&width=96&height=64")
    assert answer.status_code == 400 and "/api/frame" in answer.json()["error"]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/api/frame?model=classic&tile=yes&width=8&height=8", "tile must be 1 or 0"),
        ("/api/model?model=classic&tile=2", "tile must be 1 or 0"),
        ("/api/model?model=classic&tile=1", "width is missing"),
        ("/api/model?model=classic&tile=1&width=8&height=99999", "height must be at most 4096"),
        ("/api/model?model=classic&tile=1&width=8&height=8&zoom=0", "zoom"),
    ],
)
def test_bad_tile_requests_are_refused_with_one_line(client, url, words):
    answer = client.get(url)
    assert answer.status_code == 400 and words in answer.json()["error"], answer.text
    assert "\n" not in answer.json()["error"]


def test_the_tile_needs_the_token_like_every_call(client):
    client.token = ""
    assert client.get("/api/frame?model=classic&tile=1&width=8&height=8").status_code == 403


@pytest.mark.parametrize(("name", "method"), [("classic", "torus"), ("tiny.onnx", "reflect")])
def test_a_tiled_frame_is_the_librarys_tile_and_wraps(client, tmp_path: Path, name, method):
    """The frame of ``tile=1`` equals the tile `resolve_picture(..., tile=True)` draws, and its step
    across the wrap is within the steps between neighbouring columns and rows inside it."""
    view = View(zoom=1.25, center=(0.2, -0.1))
    source = name if name == "classic" else tmp_path / name
    request = resolve_picture(source, seed=7, res=(72, 48), zoom=view.zoom, center=view.center, tile=True)
    assert request.tile == method
    z = ",".join(repr(float(v)) for v in request.z[0])
    seed = "&seed=7" if name == "classic" else ""
    query = f"model={name}{seed}&width=72&height=48&zoom=1.25&cx=0.2&cy=-0.1&z={z}"
    got = png(client.get(f"/api/frame?{query}&tile=1"))
    want = quantize(request.model.render(request.z[0], 72, 48, view=view)).astype(np.float64)
    assert np.abs(got - want).max() <= 1
    x_wrap, x_inside, y_wrap, y_inside = wrap_step(got)
    assert x_wrap <= x_inside and y_wrap <= y_inside, wrap_step(got)
    plain = png(client.get(f"/api/frame?{query}"))
    assert np.abs(plain - got).mean() > 1  # the tile is another picture than the plain frame


def test_a_tiled_poster_is_cppnart_render_tile_by_name_and_bytes(client, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = [
        ("classic", {"seed": 7}, ["classic", "--seed", "7"], 7, "torus"),
        ("tiny.onnx", {}, [str(tmp_path / "tiny.onnx"), "--seed", "5"], 5, "reflect"),
    ]
    for name, seed, command, zseed, method in cases:
        net = load_model(name if name == "classic" else tmp_path / name, seed=7)
        z = [float(v) for v in net.sample_z(zseed)[0]]
        body = {"model": name, **seed, "z": z, "zseed": zseed, "width": 60, "height": 36, "supersample": 1}
        body.update(zoom=1.25, cx=-0.1, cy=0.05, tile=True)
        assert client.post("/api/poster", json=body).status_code == 202
        job = wait_for(client)
        assert job["state"] == "done", job
        poster = tmp_path / "posters" / job["name"]
        assert read_recipe(poster)["tile"] == method
        args = ["render", *command, "--res", "60x36", "--zoom", "1.25", "--center", "-0.1,0.05", "--tile", "--json"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        cli_path = tmp_path / json.loads(result.output)["path"]
        assert job["name"] == cli_path.name, (job["name"], cli_path.name)
        assert poster.read_bytes() == cli_path.read_bytes()
        body["tile"] = False  # the same picture untiled is another file under another name
        assert client.post("/api/poster", json=body).status_code == 202
        plain = wait_for(client)
        assert plain["state"] == "done" and plain["name"] != job["name"]
