"""The breeding page's endpoints (``/api/breed/...``): they parse, and ``render.breeding`` decides.

    GET  /api/breed                      the generation shown: children, settings, lineage, undo/redo
    POST /api/breed/start                {model, seed, z, breed_seed, what, strength, count}: a new history
    POST /api/breed/pick                 {picks: [i, ...], what, strength, count}: a new generation
    POST /api/breed/again | undo | redo  {} (again: {what, strength, count})
    POST /api/breed/goto                 {generation}: the lineage strip's click
    GET  /api/breed/frame                ?generation&child&width&height: a child as PNG (server frames)
    GET  /api/breed/shader               ?generation&child: its WebGL2 fragment shader
    GET  /api/breed/file                 ?generation&child&format=genome|onnx|glsl: a download
    GET  /api/breed/history              the history file's JSON, to reopen with --history
    POST /api/breed/poster | open        {generation, child, ...}: a poster; the child in the slider view

Every POST carries a JSON body (``http.read_json``), so each passes the guard's token, Origin and
content-type checks. One lock serialises the transitions (a pick and an undo never interleave);
with a history file, every transition saves it atomically before it answers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..configs.schema import Range, check_param
from ..render.breeding import (
    COUNTS,
    MAX_PICKS,
    MAX_STEPS,
    MAX_STRENGTH,
    BreedingSession,
    check_breedable,
    child_file,
    child_model,
    child_name,
    history_to_dict,
    save_history,
    start_session,
)
from ..render.model import Model
from .catalogue import POSTER_SIDE, POSTER_SUPERSAMPLE, Catalogue, RequestError, get_int, get_z, narrowed
from .frames import check_frame_budget, frame_png
from .http import read_json

# A grid cell: 16 children at 128^2 draw in ~0.2 s of server frames (bench/breed.py); 512 is a big cell.
BREED_SIDE = narrowed("width", 512, "a breeding grid cell; open the child in the slider view for more")
GENERATION = Range(0, MAX_STEPS - 1, "generations one history holds")
CHILD = Range(-1, max(COUNTS) - 1, "children of one generation (-1: its parent)")
STRENGTH = Range(0.0, MAX_STRENGTH, "mutation strength", open_low=True)
BREED_SEED = narrowed("seed", 2**63 - 1, "breeding seeds are stored as 64-bit integers")
MAX_BRED_MODELS = 16  # children opened in the slider view, kept in the catalogue


class BreedDesk:
    """The server's breeding session (None until the page starts one), its history file and lock."""

    def __init__(self, session: BreedingSession | None = None, history: str | Path | None = None) -> None:
        self.session = session
        self.history = Path(history) if history is not None else None
        self.lock = threading.Lock()
        self._models: OrderedDict[tuple[int, int], Model] = OrderedDict()

    def active(self) -> BreedingSession:
        """The session, or 409 before the page (or `view --breed`) started one."""
        if self.session is None:
            raise RequestError("no breeding yet: press 'breed' on the page (or start `cppnart view --breed`)", 409)
        return self.session

    def change(self, action: Any) -> dict[str, Any]:
        """Run ``action()`` (a transition, which looks the session up itself) under the lock, save
        the history file, answer the new state."""
        with self.lock:
            action()
            if self.history is not None:
                save_history(self.active(), self.history)
            return self.state()

    def read(self, look: Any) -> Any:
        """``look(session)`` under the lock: children evicted from memory are drawn again, and
        never while a transition changes the session."""
        with self.lock:
            return look(self.session)

    def model(self, generation: int, child: int) -> Model:
        """A child compiled to ONNX, with its lineage (the last few kept: a grid asks 16 at once)."""
        with self.lock:
            session = self.active()
            key = (session.steps[session.index(generation)].key, child)
            if key not in self._models:
                self._models[key] = child_model(session, generation, child)
                while len(self._models) > 2 * max(COUNTS) + 8:
                    self._models.popitem(last=False)
            self._models.move_to_end(key)
            return self._models[key]

    def state(self) -> dict[str, Any]:
        """What the page draws: the generation shown, its children, the settings and the lineage."""
        if self.session is None:
            return {"active": False}
        s = self.session
        step = s.step
        children = [
            {"index": i, "name": child_name(s.cursor, i), "nodes": len(g.nodes), "links": len(g.links),
             "colour": g.colour, "z": [float(v) for v in (g.z or [0.0] * g.z_dim)]}
            for i, g in enumerate(s.children())
        ]  # fmt: skip
        lineage = [{"generation": g, "picked": list(t.picked), "what": t.what} for g, t in enumerate(s.steps)]
        return {
            "active": True,
            "seed": s.seed,
            "generation": s.cursor,
            "generations": len(s.steps),
            "can_undo": s.can_undo,
            "can_redo": s.can_redo,
            "what": step.what,
            "strength": step.strength,
            "count": step.count,
            "picked": list(step.picked),
            "children": children,
            "lineage": lineage,
            "latent": step.parents[0].z_inputs > 0,
            "history": str(self.history) if self.history else None,
        }


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    """``what``, ``strength`` and ``count`` of a request body, each checked (None where absent)."""
    out: dict[str, Any] = {"what": body.get("what"), "strength": None, "count": None}
    if out["what"] is not None and not isinstance(out["what"], str):
        raise RequestError("what must be a word (weights, activations, structure, colour, latent, all)")
    if body.get("strength") is not None:
        out["strength"] = float(check_param("strength", body["strength"], STRENGTH))
    if body.get("count") is not None:
        out["count"] = get_int(body, "count", spec=Range(min(COUNTS), max(COUNTS), "children of one generation"))
    return out


def _child(params: Any) -> tuple[int | None, int]:
    generation = get_int(params, "generation", spec=GENERATION) if params.get("generation") is not None else None
    return generation, get_int(params, "child", spec=CHILD)


def breed_routes(catalogue: Catalogue, desk: BreedDesk, frames: Any, posters: Any) -> list[Any]:
    """The routes of the breeding page, on ``desk``; frames through the server's render gate."""
    return BreedRoutes(catalogue, desk, frames, posters).routes()


class BreedRoutes:
    """The breeding page's handlers: each parses its request through the library's ranges and asks
    the desk's session (``render.breeding``) for one change or one answer."""

    def __init__(self, catalogue: Catalogue, desk: BreedDesk, frames: Any, posters: Any) -> None:
        self.catalogue, self.desk, self.frames, self.posters = catalogue, desk, frames, posters

    def routes(self) -> list[Any]:
        """``/api/breed`` (the state), its POSTs (changes) and GETs (pictures and files)."""
        from starlette.routing import Route

        posts = {"start": self.start, "pick": self.pick, "again": self.again, "undo": self.undo}
        posts |= {"redo": self.redo, "goto": self.goto, "poster": self.poster, "open": self.open_child}
        gets = {"frame": self.frame, "shader": self.shader, "file": self.file, "history": self.history}
        return [
            Route("/api/breed", self.state),
            *(Route(f"/api/breed/{n}", f, methods=["POST"]) for n, f in posts.items()),
            *(Route(f"/api/breed/{n}", f) for n, f in gets.items()),
        ]

    async def body_of(self, request: Any, what: str) -> dict[str, Any]:
        """The JSON object of a state-changing request (guarded: token, Origin, JSON), without nulls."""
        body = await read_json(request, what)
        if not isinstance(body, dict):
            raise RequestError(f"{what} must be a JSON object")
        return {k: v for k, v in body.items() if v is not None}

    async def state(self, request: Any) -> Any:
        """The session as the page draws it (inactive when none)."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        return JSONResponse(await run_in_threadpool(self.desk.read, lambda _: self.desk.state()))

    async def start(self, request: Any) -> Any:
        """A new session from a model of the catalogue (its genome and z), with the settings asked."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        from ..render.breed import genome_of_model

        body = await self.body_of(request, "the breeding request")
        name = str(body.get("model") or self.catalogue.default)
        net = self.catalogue.get(name, get_int(body, "seed") if "seed" in body else None)
        z = get_z(body, net)[0]
        seed = get_int(body, "breed_seed", 0, spec=BREED_SEED)
        settings = _settings(body)

        def begin() -> None:
            parent = check_breedable(genome_of_model(net, net.seed, z))
            chosen = {k: v for k, v in settings.items() if v is not None}
            self.desk.session = start_session(parent, seed, **chosen)

        return JSONResponse(await run_in_threadpool(self.desk.change, begin))

    async def pick(self, request: Any) -> Any:
        """The next generation from the picked children (several: crossed)."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        body = await self.body_of(request, "the pick")
        picks = body.get("picks")
        if not isinstance(picks, list) or not 1 <= len(picks) <= MAX_PICKS:
            raise RequestError(f"picks must be a list of 1 to {MAX_PICKS} children")
        picks = [get_int({"picks": p}, "picks", spec=CHILD) for p in picks]
        settings = _settings(body)
        self.desk.active()
        return JSONResponse(
            await run_in_threadpool(self.desk.change, lambda: self.desk.active().pick(picks, **settings))
        )

    async def again(self, request: Any) -> Any:
        """New children of the same parents."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        body = await self.body_of(request, "the request")
        settings = _settings(body)
        self.desk.active()
        return JSONResponse(await run_in_threadpool(self.desk.change, lambda: self.desk.active().again(**settings)))

    async def undo(self, request: Any) -> Any:
        """Back one generation."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        await self.body_of(request, "the request")
        self.desk.active()
        return JSONResponse(await run_in_threadpool(self.desk.change, lambda: self.desk.active().undo()))

    async def redo(self, request: Any) -> Any:
        """Forward one generation."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        await self.body_of(request, "the request")
        self.desk.active()
        return JSONResponse(await run_in_threadpool(self.desk.change, lambda: self.desk.active().redo()))

    async def goto(self, request: Any) -> Any:
        """Back to a generation of the lineage."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        body = await self.body_of(request, "the request")
        generation = get_int(body, "generation", spec=GENERATION)
        self.desk.active()
        return JSONResponse(await run_in_threadpool(self.desk.change, lambda: self.desk.active().goto(generation)))

    async def frame(self, request: Any) -> Any:
        """One child drawn here, as PNG (browsers without WebGL2)."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import Response

        params = request.query_params
        generation, child = _child(params)
        width, height = get_int(params, "width", spec=BREED_SIDE), get_int(params, "height", spec=BREED_SIDE)
        net = await run_in_threadpool(self.desk.model, self.desk.active().index(generation), child)
        check_frame_budget(net, width, height)
        from ..configs.view import View

        png = await self.frames.run(frame_png, net, net.sample_z(0), width, height, View())
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def shader(self, request: Any) -> Any:
        """One child's WebGL2 fragment shader."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import Response

        from ..graph.genome_glsl import genome_fragment_shader

        generation, child = _child(request.query_params)
        self.desk.active()
        genome = await run_in_threadpool(self.desk.read, lambda s: s.child(generation, child))
        text = await run_in_threadpool(genome_fragment_shader, genome)
        return Response(text, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-store"})

    async def file(self, request: Any) -> Any:
        """One child as a download: its genome, ONNX or GLSL."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import Response

        generation, child = _child(request.query_params)
        fmt = request.query_params.get("format", "genome")
        self.desk.active()
        name, data = await run_in_threadpool(self.desk.read, lambda s: child_file(s, generation, child, fmt))
        kind = {"onnx": "application/octet-stream", "glsl": "text/plain; charset=utf-8"}.get(fmt, "application/json")
        headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
        return Response(data, media_type=kind, headers=headers)

    async def history(self, request: Any) -> Any:
        """The breeding history as a download."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        self.desk.active()
        table = await run_in_threadpool(self.desk.read, history_to_dict)
        headers = {"Content-Disposition": 'attachment; filename="breeding.history.json"'}
        return JSONResponse(table, headers=headers)

    async def poster(self, request: Any) -> Any:
        """A poster of one child (its recipe carries the genome and the lineage)."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        body = await self.body_of(request, "the poster request")
        generation, child = _child(body)
        width, height = get_int(body, "width", spec=POSTER_SIDE), get_int(body, "height", spec=POSTER_SIDE)
        supersample = get_int(body, "supersample", 1, spec=POSTER_SUPERSAMPLE)
        from ..configs.view import View

        net = await run_in_threadpool(self.desk.model, self.desk.active().index(generation), child)
        job = self.posters.start(net, net.sample_z(0), width, height, View(), supersample, None)
        return JSONResponse(job.as_json(), status_code=202)

    async def open_child(self, request: Any) -> Any:
        """One child as a model of the catalogue, for the slider view (the last few are kept)."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        body = await self.body_of(request, "the request")
        generation, child = _child(body)
        g = self.desk.active().index(generation)
        net = await run_in_threadpool(self.desk.model, g, child)
        name = child_name(g, child)
        self.catalogue.models.pop(name, None)
        self.catalogue.models[name] = net
        bred = [n for n in self.catalogue.models if n.startswith("bred-") and n != self.catalogue.default]
        for old in bred[:-MAX_BRED_MODELS]:
            del self.catalogue.models[old]
        return JSONResponse({"model": name})
