"""`cppnart view`: the interactive viewer in the browser (the ``view`` extra: starlette + uvicorn)."""

from __future__ import annotations

import time
import webbrowser
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import UserError
from .options import CenterOption, Device, ModelArg, OnnxDeviceOption, SeedOption, ZoomOption
from .output import parse_center, user_errors

app = typer.Typer()

VIEW_EXTRA = 'pip install -e ".[view]" in the cppnart folder'  # cppnart is on no index: the clone's extra


FromImageOption = Annotated[
    Optional[Path], typer.Option("--from", help="Open on the model, seed, z and view a cppnart PNG carries.")
]
PortOption = Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")]
HostOption = Annotated[
    str, typer.Option(help="Address to bind. Anything but 127.0.0.1/localhost lets other machines in.")
]
BrowserOption = Annotated[bool, typer.Option("--browser/--no-browser", help="Open the page in a browser.")]
PosterFolderOption = Annotated[
    Path, typer.Option("--out", "-o", help="Folder for the posters the page renders (the only files it serves).")
]
BreedOption = Annotated[
    bool, typer.Option("--breed", help="Open on the breeding grid: children of MODEL (a random genome if none).")
]
HistoryOption = Annotated[
    Optional[Path],
    typer.Option(help="Breeding history (JSON): reopened when it exists, saved after every pick (implies --breed)."),
]


@app.command(epilog="Example: cppnart view classic --seed 7   (then move the sliders)")
@user_errors
def view(
    model: ModelArg = None,
    seed: SeedOption = None,
    from_image: FromImageOption = None,
    zoom: ZoomOption = None,
    center: CenterOption = None,
    port: PortOption = 8765,
    host: HostOption = "127.0.0.1",
    browser: BrowserOption = True,
    out: PosterFolderOption = Path("posters"),
    device: OnnxDeviceOption = Device.auto,  # type: ignore[attr-defined]
    breed: BreedOption = False,
    history: HistoryOption = None,
) -> None:
    """Explore a model in the browser: sliders for z, zoom and pan, animate, posters, contact sheets.

    Given a Deep Zoom pyramid (the .dzi, or the folder `render --tiles` wrote), show it in OpenSeadragon.
    """
    _check_viewer_installed()
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, got {port}")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out '{out}' is a file; give a folder for the posters")
    from ..view.pyramid import is_pyramid_path

    if breed or history is not None:
        if zoom is not None or center is not None:
            raise UserError("--zoom and --center apply to the slider view; the breeding grid shows the whole picture")
        _serve_breeding(model, seed, from_image, history, host, port, browser, out)
    elif model is not None and is_pyramid_path(model):
        if seed is not None or from_image is not None or zoom is not None or center is not None:
            raise UserError("--seed, --from, --zoom and --center apply to models; a pyramid is already rendered")
        _serve_pyramid(model, host, port, browser)
    else:
        _serve_model(model, seed, from_image, zoom, center, device.value, host, port, browser, out)


def _check_viewer_installed() -> None:
    """The viewer's extra (starlette, uvicorn), or one line naming the install."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401

        from ..view import server  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name not in ("starlette", "uvicorn"):
            raise
        raise UserError(f"`cppnart view` needs {exc.name}; install the viewer with: {VIEW_EXTRA}") from None


def _serve_model(
    model: Optional[str], seed: Optional[int], from_image: Optional[Path], zoom: Optional[float],
    center: Optional[str], device: str, host: str, port: int, browser: bool, out: Path,
) -> None:  # fmt: skip
    """The slider view of the picture these options ask for (``render.request.resolve_picture``)."""
    from ..render.request import read_recipe_file, resolve_picture
    from ..view.catalogue import Catalogue
    from ..view.server import ViewerServer, create_app, initial_state

    recipe = read_recipe_file(from_image)
    request = resolve_picture(
        model, recipe=recipe, seed=seed, zoom=zoom, center=parse_center(center) if center else None, device=device
    )
    net, z, frame = request.model, request.z, request.canvas.view
    name = net.label if net.from_preset and model is None and not recipe else (model or net.label)
    zseed = request.seed if request.z_from_seed else None
    initial = initial_state(net.seed, z, zseed, frame.zoom, frame.center)
    _warn_host(host)
    app_ = create_app(Catalogue.around(net, name), out, initial)
    server = ViewerServer(app_, host, port).start()
    typer.echo(f"cppnart view: {net.label} at {server.url}  (posters go to {out}/; Ctrl-C stops)")
    _serve_until_stopped(server, browser)


def _serve_breeding(
    model: Optional[str], seed: Optional[int], from_image: Optional[Path], history: Optional[Path],
    host: str, port: int, browser: bool, out: Path,
) -> None:  # fmt: skip
    """`cppnart view --breed`: the breeding grid on a session the library opens (or reopens)."""
    from ..render.breeding import child_model, open_session, save_history
    from ..view.breed_api import BreedDesk
    from ..view.catalogue import Catalogue
    from ..view.server import ViewerServer, create_app, initial_state

    if history is not None and history.exists() and not history.is_file():
        raise UserError(f"--history '{history}' is a folder; give a .json file")
    session = open_session(model, history, seed if seed is not None else 0, from_image)
    if history is not None:
        save_history(session, history)  # the file exists from the start, and a bad path fails now
    first = child_model(session, 0, -1)
    initial = initial_state(None, first.sample_z(0), None)
    _warn_host(host)
    app_ = create_app(Catalogue.around(first, first.label), out, initial, breeding=BreedDesk(session, history))
    server = ViewerServer(app_, host, port).start()
    where = f"; history in {history}" if history else ""
    typer.echo(f"cppnart view --breed: generation {session.cursor} at {server.url}  (posters go to {out}/{where})")
    _serve_until_stopped(server, browser)


def _warn_host(host: str) -> None:
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: binding {host}: anyone who can reach this machine can use the viewer", err=True)


def _serve_pyramid(path: str, host: str, port: int, browser: bool) -> None:
    """`cppnart view PYRAMID.dzi`: OpenSeadragon on the pyramid, its recipe as the caption."""
    from ..view.pyramid import find_pyramid, pyramid_app
    from ..view.server import ViewerServer

    pyramid = find_pyramid(path)
    _warn_host(host)
    server = ViewerServer(pyramid_app(pyramid), host, port).start()
    size = f"{pyramid.width}x{pyramid.height}"
    typer.echo(f"cppnart view: {pyramid.name} ({size} pyramid) at {server.url}  (Ctrl-C stops)")
    _serve_until_stopped(server, browser)


def _serve_until_stopped(server: Any, browser: bool) -> None:
    """Serve until a stop signal: uvicorn runs in a thread and installs no handlers there, so
    SIGINT and SIGTERM arrive here as KeyboardInterrupt / Terminated (cli.main); the server stops
    (cancelling a running poster) and the signal goes on, so the command exits 128 + n."""
    if browser:
        webbrowser.open(server.url)
    try:
        while server.thread.is_alive():
            time.sleep(0.2)
    finally:
        server.stop()
    raise UserError("the viewer's server stopped unexpectedly")
