"""The breeding endpoints without a browser (a real uvicorn on a free port, plain HTTP): the page's
own requests work and save the history; refusals are one JSON line and change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from PIL import Image
from typer.testing import CliRunner

from cppnart.cli import app as cli
from cppnart.io.metadata import read_recipe
from cppnart.render.breeding import load_history
from cppnart.view.server import ViewerServer
from tests.view.test_view_security import Raw, one_json_line
from tests.view_fixtures import viewer_app

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("breed-server")
    app, _ = viewer_app(folder)
    app.state.breeding.history = folder / "page.history.json"  # as `view --history FILE` sets it
    with ViewerServer(app, port=0) as server:
        yield Raw(server), app, folder


def ask_json(raw: Raw, path: str, body: object = None, **kw):
    data = json.dumps({} if body is None else body).encode()
    return raw.ask("POST", path, data, {**JSON, **kw.pop("headers", {})}, **kw)


def answer(result) -> dict:
    status, _, body = result
    assert status in (200, 202), (status, body[:300])
    return json.loads(body)


@pytest.fixture(scope="module")
def started(viewer):
    raw, app, folder = viewer
    assert answer(raw.ask("GET", "/api/breed")) == {"active": False}
    assert "no breeding yet" in one_json_line(ask_json(raw, "/api/breed/pick", {"picks": [0]}), 409, 409)
    state = answer(ask_json(raw, "/api/breed/start", {"model": "tiny.onnx", "breed_seed": 5, "count": 9}))
    assert state["generation"] == 0 and state["count"] == 9 and len(state["children"]) == 9
    return raw, app, folder


def test_the_page_s_requests_breed_and_save_the_history(started):
    raw, app, folder = started
    state = answer(ask_json(raw, "/api/breed/pick", {"picks": [3], "what": "weights", "strength": 0.3}))
    assert (state["generation"], state["picked"], state["what"]) == (1, [3], "weights")
    saved = load_history(folder / "page.history.json")
    assert saved.cursor == 1 and saved.steps[1].picked == (3,)
    png = raw.ask("GET", "/api/breed/frame?child=2&width=64&height=48")
    assert png[0] == 200 and png[1]["content-type"] == "image/png"
    import io

    assert Image.open(io.BytesIO(png[2])).size == (64, 48)
    shader = raw.ask("GET", "/api/breed/shader?child=2")
    assert shader[0] == 200 and shader[2].startswith(b"#version 300 es")
    genome = raw.ask("GET", "/api/breed/file?generation=0&child=-1&format=genome")
    assert genome[0] == 200 and json.loads(genome[2])["format"] == "cppnart-genome"
    assert 'filename="bred-g0-parent.genome.json"' in genome[1]["content-disposition"]
    history = raw.ask("GET", "/api/breed/history")
    assert json.loads(history[2])["format"] == "cppnart-breeding-history"
    back = answer(ask_json(raw, "/api/breed/undo"))
    assert back["generation"] == 0 and back["can_redo"]
    assert answer(ask_json(raw, "/api/breed/goto", {"generation": 1}))["generation"] == 1


def test_a_poster_of_a_child_carries_its_genome_and_lineage(started):
    raw, app, folder = started
    job = answer(ask_json(raw, "/api/breed/poster", {"child": 4, "width": 80, "height": 60}))
    assert app.state.desk.wait(60)
    path = folder / "posters" / job["name"]
    recipe = read_recipe(path)
    assert recipe["genome"]["format"] == "cppnart-genome" and recipe["lineage"]["child"] == 4
    assert [s["generation"] for s in recipe["lineage"]["steps"]] == [0, 1]
    again = folder / "again.png"
    result = CliRunner().invoke(cli, ["render", "--from", str(path), "-o", str(again), "--quiet"])
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(path)))


def test_an_opened_child_joins_the_catalogue(started):
    raw, app, _ = started
    name = answer(ask_json(raw, "/api/breed/open", {"child": 0}))["model"]
    info = answer(raw.ask("GET", f"/api/model?model={name}"))
    assert info["kind"] == "genome" and name.startswith("bred-g")


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/api/breed/pick", {"picks": [0], "count": 17}, 400, "count must be at most 16"),
        ("/api/breed/pick", {"picks": [0], "count": 10}, 400, "count must be one of 9, 16"),
        ("/api/breed/pick", {"picks": [0], "count": 10**9}, 400, "count must be at most 16"),
        ("/api/breed/pick", {"picks": [99]}, 400, "picks must be at most 15"),
        ("/api/breed/pick", {"picks": [1, 1]}, 400, "different children"),
        ("/api/breed/pick", {"picks": list(range(9))}, 400, "1 to 8 children"),
        ("/api/breed/pick", {"picks": []}, 400, "1 to 8 children"),
        ("/api/breed/pick", {"picks": "0"}, 400, "1 to 8 children"),
        ("/api/breed/pick", {"picks": [0], "strength": 0}, 400, "strength must be in (0, 10]"),
        ("/api/breed/pick", {"picks": [0], "strength": 1e9}, 400, "strength"),
        ("/api/breed/pick", {"picks": [0], "what": "everything"}, 400, "what must be one of"),
        ("/api/breed/pick", {"picks": [0], "what": 5}, 400, "what must be a word"),
        ("/api/breed/pick", [0], 400, "must be a JSON object"),
        ("/api/breed/goto", {"generation": 500}, 400, "generation must be 0 to"),
        ("/api/breed/goto", {"generation": 5000}, 400, "generation must be at most 999"),
        ("/api/breed/poster", {"child": 0, "width": 100000, "height": 10}, 400, "width must be at most 16384"),
        ("/api/breed/start", {"model": "nope"}, 404, "unknown model 'nope'"),
    ],
)
def test_bad_requests_are_refused_with_one_line_and_change_nothing(started, path, body, status, words):
    raw, app, folder = started
    before = (folder / "page.history.json").read_bytes()
    shown = app.state.breeding.session.cursor
    assert words in one_json_line(ask_json(raw, path, body), status, status)
    assert app.state.breeding.session.cursor == shown
    assert (folder / "page.history.json").read_bytes() == before


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/api/breed/frame?child=0&width=4096&height=64", "width must be at most 512"),
        ("/api/breed/frame?child=16&width=64&height=64", "child must be at most 15"),
        ("/api/breed/frame?child=-2&width=64&height=64", "child must be at least -1"),
        ("/api/breed/frame?child=x&width=64&height=64", "whole number"),
        ("/api/breed/file?child=0&format=exe", "format must be one of genome, onnx, glsl"),
        ("/api/breed/shader?child=0&generation=999", "generation must be 0 to"),
    ],
)
def test_bad_queries_are_refused_with_one_line(started, url, words):
    raw, _, _ = started
    assert words in one_json_line(raw.ask("GET", url), 400, 400)


def test_nothing_to_undo_at_the_first_generation(started):
    raw, _, _ = started
    answer(ask_json(raw, "/api/breed/goto", {"generation": 0}))
    assert "nothing to undo" in one_json_line(ask_json(raw, "/api/breed/undo"), 400, 400)


@pytest.mark.parametrize(
    ("body", "headers", "token", "status", "words"),
    [
        (b'{"picks": [0]}', JSON, False, 403, "viewer token"),
        (b'{"picks": [0]}', {**JSON, "X-Cppnart-Token": "wrong"}, False, 403, "viewer token"),
        (b'{"picks": [0]}', {"Content-Type": "text/plain"}, True, 415, "must be JSON"),
        (b"", {}, True, 415, "must be JSON"),  # an empty cross-origin "simple" POST
        (b'{"picks": [0]', JSON, True, 400, "not valid JSON"),
        (b"\xff\xfe", JSON, True, 400, "not UTF-8"),
        (b'{"picks": [0]}', {**JSON, "Origin": "http://evil.example"}, True, 403, "cross-origin"),
        (b'{"picks": [0]}', {**JSON, "Sec-Fetch-Site": "cross-site"}, True, 403, "cross-site"),
    ],
)
def test_the_guard_refuses_what_the_page_would_not_send(started, body, headers, token, status, words):
    raw, app, _ = started
    shown = app.state.breeding.session.cursor
    for path in ("/api/breed/pick", "/api/breed/undo", "/api/breed/start"):
        assert words in one_json_line(raw.ask("POST", path, body, headers, token=token), status, status)
    assert app.state.breeding.session.cursor == shown


def test_reads_need_the_token_too(started):
    raw, _, _ = started
    for url in ("/api/breed", "/api/breed/frame?child=0&width=8&height=8", "/api/breed/history"):
        assert "viewer token" in one_json_line(raw.ask("GET", url, token=False), 403, 403)


def test_view_breed_refuses_bad_histories_in_one_line(tmp_path: Path):
    bad = tmp_path / "bad.json"
    cases = {
        "not json": "{",
        "not a history": json.dumps({"format": "something"}),
        "damaged": json.dumps({"format": "cppnart-breeding-history", "version": 1, "steps": [{}]}),
        "deep": "[" * 100 + "]" * 100,
    }
    for label, text in cases.items():
        bad.write_text(text)
        result = CliRunner().invoke(cli, ["view", "--history", str(bad), "--no-browser", "--port", "0"])
        assert result.exit_code == 2, (label, result.output)
        assert result.output.strip().count("\n") == 0 and "Traceback" not in result.output, (label, result.output)
    result = CliRunner().invoke(cli, ["view", "classic", "--history", str(bad), "--no-browser", "--port", "0"])
    assert result.exit_code == 2 and "exists and reopens" in result.output
    result = CliRunner().invoke(cli, ["view", "--breed", "--zoom", "2", "--no-browser", "--port", "0"])
    assert result.exit_code == 2 and "--zoom and --center" in result.output
