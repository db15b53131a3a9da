"""What every intake route shares: error answers, request identity (idempotency), the body-size limit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Header, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from switchboard.runtime.auth import Principal
from switchboard.runtime.conflicts import ConcurrencyConflict
from switchboard.runtime.decider import Outcome, RequestReused, content_hash
from switchboard.runtime.decider import Request as CommandRequest

from ..domain.errors import Rejected
from ..store import IdentityTaken

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Retrying with the same key answers as the first time and changes nothing.",
    ),
]


def command_request(principal: Principal, key: str | None, body: BaseModel, *, path: str) -> CommandRequest:
    """Who asks, and how to know the request again: keys are scoped to the caller's token, so two clients' keys
    never collide, and the hash of path and body tells a retry from a reuse of the key."""
    return CommandRequest(
        key=f"http:{principal.fingerprint}:{key}" if key else None,
        hash=content_hash({"path": path, "body": body.model_dump(mode="json")}) if key else None,
        actor_id=f"token:{principal.fingerprint}",
    )


def answer(outcome: Outcome, response: Response, *, created: bool = False) -> dict[str, Any]:
    """The stored or fresh answer; a replay says so, and keeps the status the first answer had."""
    response.headers["Idempotent-Replayed"] = "true" if outcome.replayed else "false"
    if created and not outcome.replayed:
        response.status_code = status.HTTP_201_CREATED
    return outcome.response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Rejected)
    async def rejected(_: Request, exc: Rejected) -> JSONResponse:
        return JSONResponse({"detail": exc.reason}, status_code=exc.status)

    @app.exception_handler(ValidationError)
    async def invalid_event(_: Request, exc: ValidationError) -> JSONResponse:
        # a value the API let through but an event refuses: still the caller's input, so 422
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(IdentityTaken)
    async def taken(_: Request, exc: IdentityTaken) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "owner": exc.owner}, status_code=409)

    @app.exception_handler(RequestReused)
    async def reused(_: Request, exc: RequestReused) -> JSONResponse:
        detail = f"{exc}; send a new Idempotency-Key for a new request, or the same body to retry"
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(ConcurrencyConflict)
    async def busy(_: Request, exc: ConcurrencyConflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)


class BodyLimit:
    """Answers 413 for bodies over the limit, by Content-Length or by counting a streamed body."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        seen = 0

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting, send)
        except _TooLarge:
            await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        response = JSONResponse({"detail": f"request body larger than {self.max_bytes} bytes"}, status_code=413)
        await response({"type": "http"}, _nothing, send)


class _TooLarge(Exception):
    pass


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
