"""The viewer's ASGI app (starlette) and a uvicorn server running it in a background thread.

    app = create_app(catalogue, out_dir)
    with ViewerServer(app, host="127.0.0.1", port=0) as server:   # port 0: any free port
        print(server.url)

Every refusal is a 4xx with ``{"error": "one line"}``, which the page shows as it is.
Files are served from two places only: the page's own folder (``static/``, through starlette's
StaticFiles, which refuses paths that leave it) and the output folder, by plain file name.

Only the server's own page can drive it (``http.LocalGuard``: Host allow-list, Origin, JSON
bodies, a per-server token the page carries). Frames are rendered ``FRAME_SLOTS`` at a time with
``FRAME_QUEUE`` more waiting (``http.RenderGate``; beyond that 503 with Retry-After), each one
sized against the memory budget first (``io.budget``) and quantized band by band, so a 4096^2
frame holds its 8-bit pixels and one band of floats, not the whole float image.

``tile=1`` (with ``width``, ``height``, ``zoom``, ``cx``, ``cy``: the tile's canvas) asks
``/api/model``, ``/api/weights`` and ``/api/frame`` for the model's seamless tile of that canvas
(``render.seamless``: the torus shader of a random CPPN, reflection frames otherwise), and a
poster with ``"tile": true`` is the tiled poster `cppnart render --tile` writes.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ..configs.schema import RANGES, Range
from ..errors import UserError
from ..graph.glsl import WeightLayout, fragment_shader
from ..graph.onnx_weights import weights_from_onnx
from ..graph.weights import CPPNWeights
from ..render.model import Model
from .breed_api import BreedDesk, breed_routes
from .catalogue import (
    FRAME_SIDE,
    POSTER_SIDE,
    POSTER_SUPERSAMPLE,
    SHEET_COUNT,
    Catalogue,
    RequestError,
    get_flag,
    get_int,
    get_size,
    get_view,
    get_z,
    tiling_of,
)
from .frames import check_frame_budget, frame_png
from .http import RenderGate, allow_host, guarded_app, http_error, page_with_token, read_json, user_error
from .posters import PosterDesk

STATIC = Path(__file__).parent / "static"
_SHADER_WEIGHTS: dict[int, tuple[Model, CPPNWeights | None]] = {}  # per model object, the last few
FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.png$")
# Frames rendered at once, and more waiting for a slot. Two on a laptop's cores keeps the page
# responsive; a 4096^2 frame holds about 130 MB (8-bit pixels, its PNG, one band of floats): six at
# once peaked at 375 MB of server RSS against 891 MB with a slot each (bench/view_concurrency.py).
FRAME_SLOTS = 2
FRAME_QUEUE = 8


def shader_weights(model: Model) -> CPPNWeights | None:
    """The weights of a coordinate CPPN cppnart built (read from its ONNX initializers), else None."""
    key = id(model)
    if key not in _SHADER_WEIGHTS or _SHADER_WEIGHTS[key][0] is not model:
        found = None
        if model.interface == "coords":
            found = weights_from_onnx(onnx.load_from_string(model.onnx_bytes))
        _SHADER_WEIGHTS[key] = (model, found)
        while len(_SHADER_WEIGHTS) > 16:
            _SHADER_WEIGHTS.pop(next(iter(_SHADER_WEIGHTS)))
    return _SHADER_WEIGHTS[key][1]


def model_info(name: str, model: Model) -> dict[str, Any]:
    """What the page needs to draw a model: its facts, and the shader when it has one."""
    weights = shader_weights(model)
    info: dict[str, Any] = {
        "name": name,
        "label": model.label,
        "source": model.source,
        "kind": model.kind,
        "interface": model.interface,
        "z_dim": model.z_dim,
        "channels": model.channels,
        "z_prior": model.z_prior,
        "from_preset": model.from_preset,
        "seed": model.seed,
        "native_size": model.native_size,
        "shader": None,
        "texture": None,
        "tiling": tiling_of(model),  # how it would tile: torus, reflect, or None (an image model)
        "tile": model.metadata.get("tile"),  # how this one does: None when it is not a tile
    }
    if weights is not None:
        _, width, height = WeightLayout.of(weights).texture()
        info["shader"] = fragment_shader(weights)
        info["texture"] = [width, height]
    return info


def create_app(
    catalogue: Catalogue,
    out_dir: str | Path,
    initial: dict[str, Any] | None = None,
    heartbeat: float = 5.0,
    gate: RenderGate | None = None,
    breeding: BreedDesk | None = None,
) -> Any:
    """The starlette app. ``initial`` (seed, z, zoom, center) is what the page opens on; ``gate``
    bounds the frames rendered at once (``FRAME_SLOTS`` running, ``FRAME_QUEUE`` waiting);
    ``breeding`` is the breeding session (``view --breed``; the page's 'breed' button starts one)."""
    from starlette.exceptions import HTTPException

    handlers = ViewerRoutes(catalogue, Path(out_dir), initial or {}, heartbeat, gate, breeding)
    app = guarded_app(handlers.routes(), {UserError: user_error, HTTPException: http_error})
    app.state.desk, app.state.frames, app.state.breeding = handlers.desk, handlers.frames, handlers.breeder
    return app


class ViewerRoutes:
    """The viewer's request handlers over one catalogue, poster desk, render gate and breeding desk:
    each parses its query through the library's ranges and calls one library function."""

    def __init__(
        self,
        catalogue: Catalogue,
        out: Path,
        initial: dict[str, Any],
        heartbeat: float,
        gate: RenderGate | None,
        breeding: BreedDesk | None,
    ) -> None:
        self.catalogue, self.out, self.initial = catalogue, out, initial
        self.desk = PosterDesk(out, heartbeat)
        self.frames = gate or RenderGate(FRAME_SLOTS, FRAME_QUEUE)
        self.breeder = breeding or BreedDesk()

    def routes(self) -> list[Any]:
        """The app's routes: the page, its API, the posters folder, the breeding page, the static files."""
        from starlette.routing import Mount, Route
        from starlette.staticfiles import StaticFiles

        return [
            Route("/", self.index),
            Route("/api/models", self.models),
            Route("/api/model", self.model),
            Route("/api/weights", self.weights),
            Route("/api/z", self.latent),
            Route("/api/frame", self.frame),
            Route("/api/sheet", self.sheet),
            Route("/api/poster", self.poster_start, methods=["POST"]),
            Route("/api/poster", self.poster_state, methods=["GET"]),
            Route("/api/poster/cancel", self.poster_cancel, methods=["POST"]),
            Route("/files/{name:path}", self.files),
            *breed_routes(self.catalogue, self.breeder, self.frames, self.desk),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]

    def pick(self, params: Any) -> tuple[str, Model]:
        """The model a query names (the catalogue's default when none) with its weights' seed."""
        name = params.get("model") or self.catalogue.default
        seed = get_int(params, "seed") if params.get("seed") not in (None, "") else None
        return name, self.catalogue.get(str(name), seed)

    def shown(self, params: Any, net: Model, side: Range = FRAME_SIDE, supersample: int = 1) -> Model:
        """``net``, or with ``tile`` its seamless tile of the canvas ``width`` x ``height`` at the view
        asked (call it in a worker thread: a torus front is a new network, a reflection a new graph)."""
        if not get_flag(params, "tile"):
            return net
        width, height = get_size(params, side)
        return self.catalogue.tiled(net, net.canvas(width, height, get_view(params), supersample))

    async def index(self, request: Any) -> Any:
        """The page, with this server's token in it."""
        return page_with_token(STATIC / "index.html", request.app.state.token)

    async def models(self, request: Any) -> Any:
        """The catalogue and what the page opens on; a breeding session under way opens its grid."""
        from starlette.responses import JSONResponse

        answer = {"models": self.catalogue.names(), "default": self.catalogue.default, "initial": self.initial}
        return JSONResponse({**answer, "breeding": self.breeder.session is not None})

    async def model(self, request: Any) -> Any:
        """What the page needs to draw a model (its shader when it has one), tiled when asked."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        name, net = self.pick(request.query_params)
        tile = await run_in_threadpool(self.shown, request.query_params, net)
        return JSONResponse(await run_in_threadpool(model_info, name, tile))

    async def weights(self, request: Any) -> Any:
        """The shader's weight texture, as raw float32 bytes."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import Response

        _, net = self.pick(request.query_params)
        net = await run_in_threadpool(self.shown, request.query_params, net)
        found = await run_in_threadpool(shader_weights, net)
        if found is None:
            raise RequestError(f"model '{net.label}' has no shader form; ask /api/frame for server-rendered frames")
        data, _, _ = WeightLayout.of(found).texture()
        return Response(data.tobytes(), media_type="application/octet-stream")

    async def latent(self, request: Any) -> Any:
        """The z a seed draws for the model."""
        from starlette.responses import JSONResponse

        _, net = self.pick(request.query_params)
        seed = get_int(request.query_params, "zseed")
        return JSONResponse({"z": [float(v) for v in net.sample_z(seed)[0]], "zseed": seed})

    async def frame(self, request: Any) -> Any:
        """One PNG frame rendered here (browsers without WebGL2, and models without a shader)."""
        from starlette.responses import Response

        params = request.query_params
        _, net = self.pick(params)
        z = get_z(params, net)
        width, height = get_size(params, FRAME_SIDE)
        view = get_view(params)
        get_flag(params, "tile")  # a bad flag is refused before the queue
        check_frame_budget(net, width, height)
        png = await self.frames.run(lambda: frame_png(self.shown(params, net), z, width, height, view))
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def sheet(self, request: Any) -> Any:
        """Seeds (weights and z, as `grid --seeds`) or latents (z seeds of the current weights) for a contact sheet."""
        from starlette.responses import JSONResponse

        params = request.query_params
        _, net = self.pick(params)
        count = get_int(params, "count", 12, spec=SHEET_COUNT)
        last_first = Range(0, int(RANGES["seed"].high) - count + 1, "the sheet's seeds are stored as 64-bit integers")
        first = get_int(params, "first", spec=last_first)
        cells = [{"seed": first + i, "z": [float(v) for v in net.sample_z(first + i)[0]]} for i in range(count)]
        return JSONResponse({"cells": cells})

    async def poster_start(self, request: Any) -> Any:
        """Start a poster of the picture the page shows (202), named and written as `cppnart render` does."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        body = await read_json(request, "the poster request")
        if not isinstance(body, dict):
            raise RequestError("the poster request must be a JSON object")
        params = {k: v for k, v in body.items() if v is not None}
        name, net = self.pick(params)
        width, height = get_size(params, POSTER_SIDE)
        supersample = get_int(params, "supersample", 1, spec=POSTER_SUPERSAMPLE)
        view = get_view(params)
        z = get_z(params, net)
        # The seed that names the file: a preset's weights seed; a model file's z seed (as `cppnart render`).
        zseed = get_int(params, "zseed") if params.get("zseed") is not None else None
        seed = net.seed if net.from_preset else zseed
        net = await run_in_threadpool(self.shown, params, net, POSTER_SIDE, supersample)  # "tile": true: --tile
        job = self.desk.start(net, z, width, height, view, supersample, seed)
        return JSONResponse(job.as_json(), status_code=202)

    async def poster_state(self, request: Any) -> Any:
        """The running (or last) poster's state; polling keeps it alive."""
        from starlette.responses import JSONResponse

        job = self.desk.poll()
        return JSONResponse(job.as_json() if job else {"state": "idle"})

    async def poster_cancel(self, request: Any) -> Any:
        """Stop the running poster at its next band (it leaves no file)."""
        from starlette.responses import JSONResponse

        self.desk.stop()
        return JSONResponse({"state": "cancelling"})

    async def files(self, request: Any) -> Any:
        """A poster from the output folder, by plain file name only."""
        from starlette.responses import FileResponse

        name = request.path_params["name"]
        path = self.out / name
        if not FILE_NAME.match(name) or not path.is_file():
            raise RequestError(f"no file '{name}' in the viewer's output folder", 404)
        return FileResponse(path, media_type="image/png", filename=name)


class ViewerServer:
    """uvicorn serving ``app`` from a background thread; ``url`` once started (port 0 = a free port).

    The app answers to ``host`` as well as the loopback names (``http.allow_host``). uvicorn installs
    no signal handlers outside the main thread, so SIGINT and SIGTERM reach the caller, which
    ``stop``s the server: a poster still rendering is cancelled first, and leaves no file."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 8765) -> None:
        import uvicorn

        allow_host(app, host)
        config = uvicorn.Config(app, host=host, port=port, log_level="critical", lifespan="off")
        self.app = app
        self.server = uvicorn.Server(config)
        self.host = host
        self.thread = threading.Thread(target=self.server.run, name="cppnart-view", daemon=True)

    def start(self, timeout: float = 20.0) -> ViewerServer:
        """Serve from the background thread once it listens; a UserError if it cannot (port in use)."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise UserError(f"the viewer could not listen on {self.host}:{self.server.config.port} (in use?)")
            if time.monotonic() > deadline:
                raise UserError("the viewer's server did not start")
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        """The port it listens on (the one the system picked for port 0)."""
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:8765/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def stop(self) -> None:
        """Cancel a running poster (its temporary file is removed), then stop serving."""
        desk = getattr(self.app.state, "desk", None)
        if desk is not None:
            desk.stop()
            desk.wait(timeout=10)
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> ViewerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def initial_state(
    seed: int | None, z: np.ndarray, zseed: int | None, zoom: float = 1.0, center: tuple[float, float] = (0.0, 0.0)
) -> dict[str, Any]:
    """What the page opens on: the weights seed, the latent (and the seed it was drawn from, if any), the view."""
    return {
        "seed": seed,
        "z": [float(v) for v in np.asarray(z).reshape(-1)],
        "zseed": zseed,
        "zoom": zoom,
        "center": list(center),
    }
