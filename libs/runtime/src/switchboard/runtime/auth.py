"""Bearer tokens with scopes: `channel` (webhooks), `agent` (desk work), `analyst` (every read model, for leads and
analysts), `qa` (quality reviews), `admin` (everything).

`SWITCHBOARD_API_TOKENS` lists them as 'token=scope+scope'; an agent's own desk token may name its agent,
'token=agent:ayla', which is what lets it set that agent's presence and no one else's.

Tokens come from the environment only. They are kept as SHA-256 digests and compared in constant time,
so a token never sits in memory longer than parsing takes and timing reveals nothing about it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from fastapi import HTTPException, Request, status

from .settings import ServiceSettings


class Scope(StrEnum):
    """What a token may do; `admin` implies every other scope."""

    CHANNEL = "channel"
    AGENT = "agent"
    ANALYST = "analyst"
    QA = "qa"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as far as the token says: a short token fingerprint (safe to log) and the scopes."""

    fingerprint: str
    scopes: frozenset[Scope]
    agent_id: str | None = None  # the agent a desk token belongs to ('token=agent:ayla'), if any

    def may(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenAuth:
    """Checks `Authorization: Bearer <token>` against the configured tokens."""

    def __init__(self, tokens: dict[str, frozenset[Scope]], agents: dict[str, str] | None = None) -> None:
        agents = agents or {}
        self._tokens = [(_digest(token), scopes, agents.get(token)) for token, scopes in tokens.items() if token]

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> TokenAuth:
        tokens: dict[str, frozenset[Scope]] = {}
        agents: dict[str, str] = {}
        if settings.api_token is not None:
            tokens[settings.api_token.get_secret_value()] = frozenset({Scope.ADMIN})
        if settings.api_tokens is not None:
            spec = settings.api_tokens.get_secret_value()
            tokens.update(parse_tokens(spec))
            agents = parse_agents(spec)
        return cls(tokens, agents)

    def authenticate(self, header: str | None) -> Principal:
        """The caller's principal; 401 without a valid bearer token."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        digest = _digest(token.strip())
        for known, scopes, agent_id in self._tokens:
            if hmac.compare_digest(known, digest):
                return Principal(fingerprint=digest.hex()[:8], scopes=scopes, agent_id=agent_id)
        raise _unauthorized("invalid bearer token")

    def require_any(self, *scopes: Scope) -> Callable[[Request], Awaitable[Principal]]:
        """A FastAPI dependency admitting callers whose token carries one of `scopes` (403 otherwise)."""
        wanted = " or ".join(f"'{scope}'" for scope in scopes)

        async def dependency(request: Request) -> Principal:
            principal = self.authenticate(request.headers.get("authorization"))
            if not any(principal.may(scope) for scope in scopes):
                raise HTTPException(status.HTTP_403_FORBIDDEN, f"this token lacks the {wanted} scope")
            return principal

        return dependency

    def require(self, scope: Scope) -> Callable[[Request], Awaitable[Principal]]:
        """A FastAPI dependency admitting callers whose token carries `scope` (403 otherwise)."""

        async def dependency(request: Request) -> Principal:
            principal = self.authenticate(request.headers.get("authorization"))
            if not principal.may(scope):
                raise HTTPException(status.HTTP_403_FORBIDDEN, f"this token lacks the '{scope}' scope")
            return principal

        return dependency


def parse_tokens(spec: str) -> dict[str, frozenset[Scope]]:
    """Parse 'token=scope+scope,token2=scope'; an unknown scope is a configuration error at start-up."""
    tokens: dict[str, frozenset[Scope]] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        token, sep, scopes = item.partition("=")
        if not sep or not token or not scopes:
            raise ValueError("SWITCHBOARD_API_TOKENS entries must look like 'token=scope+scope'")
        try:
            tokens[token] = frozenset(Scope(s.split(":", 1)[0]) for s in scopes.split("+"))
        except ValueError as exc:
            raise ValueError(f"SWITCHBOARD_API_TOKENS: {exc}; scopes are {', '.join(Scope)}") from None
    return tokens


def parse_agents(spec: str) -> dict[str, str]:
    """Which agent each desk token belongs to: 'token=agent:ayla' binds the token to agent 'ayla'."""
    agents: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        token, _, scopes = item.partition("=")
        for scope in scopes.split("+"):
            name, sep, agent_id = scope.partition(":")
            if sep and name == Scope.AGENT and agent_id:
                agents[token] = agent_id
    return agents


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})
