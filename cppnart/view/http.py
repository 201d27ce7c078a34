"""What the viewer's servers share over HTTP: starlette's errors as one JSON line."""

from __future__ import annotations

from typing import Any


async def http_error(request: Any, exc: Exception) -> Any:
    """A starlette HTTPException (404, 405, ...) as ``{"error": "<what>: <path>"}`` with its status."""
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse

    assert isinstance(exc, HTTPException)
    message = "not found" if exc.status_code == 404 else str(exc.detail)
    return JSONResponse({"error": f"{message}: {request.url.path}"}, status_code=exc.status_code)
