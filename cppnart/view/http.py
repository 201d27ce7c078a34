"""What the viewer's servers share over HTTP: a guard that lets only their own page drive them,
bounded JSON bodies, a bounded queue for renders, and errors as one JSON line.

A local web server is reachable by every page the user's browser opens, so each request passes
``LocalGuard`` first (a pure ASGI middleware, one place for both apps):

- **Host** must be a loopback name (``localhost``, ``127.0.0.1``, ``[::1]``), the address the
  server was bound to, or the address the connection arrived on, with the server's port; anything
  else is 421. A DNS-rebinding page reaches the server under its own name, so it is refused.
- **Origin**, on every request that can change state (POST, PUT, ...), must be absent or this
  server's own (403), and ``Sec-Fetch-Site`` where the browser sends it must be ``same-origin``.
- A **body** must be ``application/json`` (415): a cross-origin "simple" request (``text/plain``,
  forms) needs no preflight, so its content type is the tell; and at most ``MAX_BODY`` bytes (413).
- **/api/** calls carry the server's random token (``X-Cppnart-Token``, or ``token=`` in the query
  for ``<img src>`` and ``sendBeacon``, which cannot set headers), compared in constant time (403).
  The token is written into the page the server serves; another origin cannot read that page.

Every answer also carries ``X-Content-Type-Options: nosniff`` and a CSP ``frame-ancestors 'none'``,
so no other page can frame the viewer and click its buttons.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..configs.schema import loads_bounded
from .catalogue import RequestError

T = TypeVar("T")

TOKEN_HEADER = "x-cppnart-token"
TOKEN_QUERY = "token"
TOKEN_SLOT = '<meta name="cppnart-token" content="">'  # in static/head.html, which every page starts with
PAGE_HEAD = "head.html"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A poster request is a few numbers and a latent: 65536 floats (the largest z) as JSON are ~1.3 MB.
MAX_BODY = 2 << 20
MAX_JSON_DEPTH = 4  # {"z": [...]} is 2 deep
_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[^:\[\]/@\s]+)(?::([0-9]{1,5}))?")
EXTRA_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"same-origin"),
]


def new_token() -> str:
    """A fresh random token for one server (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def allow_host(app: Any, host: str) -> None:
    """Let ``app`` (made by ``guarded_app``) answer to ``host`` too: the address or name it is bound to."""
    names = getattr(app.state, "hosts", None)
    if names is not None and host not in WILDCARD_HOSTS:
        names.add(_bracketed(host.lower()))


class LocalGuard:
    """ASGI middleware: the Host allow-list, the Origin check, JSON bodies and the API token (see
    the module's docstring). ``names`` is the Host allow-list, shared with ``app.state.hosts``."""

    def __init__(self, app: Any, token: str, names: set[str]) -> None:
        self.app = app
        self.token = token.encode()
        self.names = names

    def host_ok(self, host: str, scope: dict[str, Any]) -> bool:
        """``host`` names this server: an allowed name, or the connection's own address, and its port."""
        match = _HOST.fullmatch(host.lower())
        server = scope.get("server") or (None, None)
        if match is None or server[1] is None:
            return False
        name, port = match.group(1), match.group(2)
        names = self.names | ({_bracketed(str(server[0]).lower())} if server[0] else set())
        return name in names and (int(port) if port else 80) == int(server[1])

    def refusal(self, scope: dict[str, Any]) -> tuple[int, str] | None:
        """(status, message) for a request this server does not answer, else None."""
        from starlette.datastructures import Headers

        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self.host_ok(host, scope):
            return 421, f"this viewer answers only to its own address, not Host '{host[:80]}'"
        path, method = scope.get("path", ""), scope.get("method", "GET")
        state_changing = method not in SAFE_METHODS
        if state_changing or path.startswith("/api/"):
            refused = _origin_refusal(headers, host, state_changing)
            if refused is not None:
                return refused
        if state_changing:
            refused = _body_refusal(headers)
            if refused is not None:
                return refused
        if path.startswith("/api/") and not self.token_ok(headers, scope):
            return 403, "missing or wrong viewer token: this server answers only its own page (reload it)"
        return None

    def token_ok(self, headers: Any, scope: dict[str, Any]) -> bool:
        """The request carries this server's token (header, or ``token=`` in the query), compared in constant time."""
        from starlette.datastructures import QueryParams

        given = headers.get(TOKEN_HEADER) or QueryParams(scope.get("query_string", b"")).get(TOKEN_QUERY) or ""
        return secrets.compare_digest(given.encode("utf-8", "replace"), self.token)

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "websocket":  # neither viewer speaks WebSocket
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self.refusal(scope)
        if refused is not None:
            from starlette.responses import JSONResponse

            status, message = refused
            response = JSONResponse({"error": message}, status_code=status)
            response.raw_headers.extend(EXTRA_HEADERS)
            await response(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *EXTRA_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _origin_refusal(headers: Any, host: str, state_changing: bool) -> tuple[int, str] | None:
    """Another page's request: an ``Origin`` that is not this server's (on a state-changing
    request), or ``Sec-Fetch-Site`` that is not same-origin (where the browser sends it)."""
    origin = headers.get("origin")
    if state_changing and origin is not None and origin.lower() != f"http://{host}".lower():
        return 403, f"cross-origin request from '{origin[:80]}' refused; use the viewer's own page"
    if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return 403, "cross-site request refused; use the viewer's own page"
    return None


def _body_refusal(headers: Any) -> tuple[int, str] | None:
    """A body that is not JSON (what a form or a "simple" cross-origin POST sends), or too large."""
    length = headers.get("content-length", "")
    has_body = headers.get("transfer-encoding") is not None or length not in ("", "0")
    if has_body and headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return 415, "a request body must be JSON (Content-Type: application/json)"
    if length.isdigit() and int(length) > MAX_BODY:
        return 413, f"a request body of {length} bytes is too large; at most {MAX_BODY} are read"
    return None


def guarded_app(routes: list[Any], exception_handlers: dict[Any, Any]) -> Any:
    """A starlette app of ``routes`` behind a ``LocalGuard`` with a fresh token (``app.state.token``;
    the Host allow-list is ``app.state.hosts``). Unexpected errors are 500 with one JSON line too."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    token, names = new_token(), set(LOOPBACK_NAMES)
    handlers = {**exception_handlers, Exception: internal_error}
    app = Starlette(routes=routes, middleware=[Middleware(LocalGuard, token, names)], exception_handlers=handlers)
    app.state.token, app.state.hosts = token, names
    return app


def page_with_token(path: Path, token: str) -> Any:
    """The HTML page at ``path`` with the server's token in its ``cppnart-token`` meta tag. A page
    file holds only what is its own (its stylesheet, its body): the server puts the head every
    viewer page shares (``PAGE_HEAD`` beside it: charset, viewport, the token slot, title, icon)
    before it, so the two pages cannot drift apart in what the token and the guard rely on."""
    from starlette.responses import HTMLResponse

    text = (path.parent / PAGE_HEAD).read_text(encoding="utf-8") + path.read_text(encoding="utf-8")
    if TOKEN_SLOT not in text:
        raise RuntimeError(f"{path} has no {TOKEN_SLOT} for the token")  # a packaging bug, not a user's
    filled = text.replace(TOKEN_SLOT, f'<meta name="cppnart-token" content="{html.escape(token)}">')
    return HTMLResponse(filled, headers={"Cache-Control": "no-store"})


async def read_json(request: Any, what: str = "the request") -> Any:
    """The JSON body of ``request``: at most ``MAX_BODY`` bytes (413) and ``MAX_JSON_DEPTH`` levels, UTF-8."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise RequestError(f"{what} must be JSON (Content-Type: application/json)", 415)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise RequestError(f"{what} is over {MAX_BODY} bytes; send less", 413)
        chunks.append(chunk)
    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(f"{what} is not JSON (not UTF-8)") from None
    return loads_bounded(text, what, max_chars=MAX_BODY, max_depth=MAX_JSON_DEPTH)


class Busy(RequestError):
    """Too many renders running and waiting: 503 with Retry-After (the page may ask again)."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message, 503)
        self.headers = {"Retry-After": str(retry_after)}


class RenderGate:
    """At most ``slots`` renders at once and ``queue`` more waiting for a slot; a request beyond
    them is refused at once (``Busy``), so any number of concurrent requests holds at most
    ``slots`` renders' memory (each bounded by its own budget) and a queue of waiting requests."""

    def __init__(self, slots: int = 2, queue: int = 8) -> None:
        if slots < 1 or queue < 0:
            raise ValueError("a render gate needs at least one slot and a queue of zero or more")
        self.slots, self.queue = slots, queue
        self.admitted = 0  # running and waiting; touched only on the server's event loop
        self.peak = 0
        self._semaphore: asyncio.Semaphore | None = None

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` in a worker thread once a slot is free; ``Busy`` if the queue is full."""
        from starlette.concurrency import run_in_threadpool

        if self.admitted >= self.slots + self.queue:
            raise Busy(f"the viewer is busy ({self.slots} renders running, {self.queue} waiting); try again shortly")
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.slots)
        self.admitted += 1
        self.peak = max(self.peak, self.admitted)
        try:
            async with self._semaphore:
                return await run_in_threadpool(work, *args)
        finally:
            self.admitted -= 1


async def http_error(request: Any, exc: Exception) -> Any:
    """A starlette HTTPException (404, 405, ...) as ``{"error": "<what>: <path>"}`` with its status."""
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse

    assert isinstance(exc, HTTPException)
    message = "not found" if exc.status_code == 404 else str(exc.detail)
    return JSONResponse({"error": f"{message}: {request.url.path}"}, status_code=exc.status_code)


async def user_error(request: Any, exc: Exception) -> Any:
    """A ``UserError`` as ``{"error": "one line"}``: its status if it is a ``RequestError``, else 400."""
    from starlette.responses import JSONResponse

    status = exc.status if isinstance(exc, RequestError) else 400
    headers = getattr(exc, "headers", None)
    return JSONResponse({"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}, status, headers)


async def internal_error(request: Any, exc: Exception) -> Any:
    """A bug, not a bad request: still one JSON line (500), never a page of traceback."""
    from starlette.responses import JSONResponse

    first = str(exc).splitlines()[0] if str(exc) else ""
    return JSONResponse({"error": f"internal error: {type(exc).__name__}: {first}"[:600]}, 500)
