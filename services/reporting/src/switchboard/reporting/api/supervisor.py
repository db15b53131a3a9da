"""The supervisor page and the figures it polls.

The page and its assets carry no data, so they are served without a token; the page reads the token from the
URL fragment (`/supervisor#token=...`, which browsers never send to a server or put in a Referer) and sends it
as a bearer token (scope `analyst`: a lead sees every queue) on its calls to `GET /v1/supervisor/overview`.
Assets are a fixed list read from the wheel once, so no request can name any other file, and the page's CSP
allows nothing but this origin.
"""

# No `from __future__ import annotations` here: FastAPI must see the local `reader` alias as an object, or it
# takes the principal for a query parameter (422).

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from switchboard.runtime.auth import Principal, Scope, TokenAuth

from ..supervisor.overview import overview

# URL name -> (file under supervisor/static/, media type)
ASSETS = {
    "supervisor.js": ("supervisor.js", "text/javascript; charset=utf-8"),
    "supervisor.css": ("supervisor.css", "text/css; charset=utf-8"),
    "uPlot.iife.min.js": ("vendor/uplot/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    "uPlot.min.css": ("vendor/uplot/uPlot.min.css", "text/css; charset=utf-8"),
}
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:;"
        " base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _static(name: str) -> bytes:
    return (resources.files("switchboard.reporting.supervisor") / "static" / name).read_bytes()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def supervisor_router(
    *,
    conn_provider: Callable[[], sqlite3.Connection],
    auth: TokenAuth,
    clock: Callable[[], datetime] = _utc_now,
) -> APIRouter:
    """The overview's route runs on the event loop, not in the thread pool: its queries take milliseconds and
    run as one read transaction with no await inside, so one reader connection may serve every request."""
    router = APIRouter(tags=["supervisor"])
    reader = Annotated[Principal, Depends(auth.require(Scope.ANALYST))]
    page = _static("index.html")
    assets = {name: (_static(path), media) for name, (path, media) in ASSETS.items()}

    @router.get("/v1/supervisor/overview")
    async def get_overview(
        _: reader,
        at_risk_limit: Annotated[int, Query(ge=1, le=500)] = 50,
        days: Annotated[int, Query(ge=1, le=90, description="UTC days of CSAT/NPS trend, ending today")] = 14,
    ) -> dict[str, Any]:
        return overview(conn_provider(), now=clock(), at_risk_limit=at_risk_limit, days=days)

    @router.get("/supervisor", include_in_schema=False)
    async def get_page() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    @router.get("/supervisor/static/{name}", include_in_schema=False)
    async def get_asset(name: str) -> Response:
        if name not in assets:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such asset")
        body, media = assets[name]
        return Response(
            body, media_type=media, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
        )

    return router
