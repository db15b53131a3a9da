"""Liveness, readiness and metrics endpoints that every service serves, as Kubernetes probes expect."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

#: A readiness check answers (ready?, reason); it must be quick, and never raise.
ReadinessCheck = Callable[[], Awaitable[tuple[bool, str]]]


def add_probes(app: FastAPI, checks: Sequence[tuple[str, ReadinessCheck]], *, timeout_s: float = 2.0) -> None:
    """`/healthz` says the process answers; `/readyz` says it can do its work right now."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        ready = True
        for name, check in checks:
            try:
                ok, reason = await asyncio.wait_for(check(), timeout_s)
            except TimeoutError:
                ok, reason = False, f"no answer within {timeout_s:g}s"
            except Exception as exc:  # a probe must answer, whatever broke
                ok, reason = False, f"{type(exc).__name__}: {exc}"
            results[name] = "ok" if ok else reason
            ready = ready and ok
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": results}, status_code=200 if ready else 503
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
