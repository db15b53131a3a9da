"""Scoped bearer tokens: admin implies every scope; a desk token may name its agent."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from switchboard.runtime.auth import Scope, TokenAuth, parse_agents, parse_tokens

pytestmark = pytest.mark.unit
SPEC = "gw=channel,desk=agent:ayla,lead=agent+admin"


def test_tokens_carry_their_scopes_and_desk_tokens_their_agent() -> None:
    auth = TokenAuth(parse_tokens(SPEC), parse_agents(SPEC))
    desk = auth.authenticate("Bearer desk")
    assert desk.may(Scope.AGENT) and not desk.may(Scope.CHANNEL) and desk.agent_id == "ayla"
    assert auth.authenticate("bearer gw").may(Scope.CHANNEL)
    lead = auth.authenticate("Bearer lead")
    assert lead.may(Scope.CHANNEL) and lead.agent_id is None  # admin implies every scope
    assert len(desk.fingerprint) == 8 and "desk" not in desk.fingerprint


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic ZGVzaw==", "Bearer nope"])
def test_anything_but_a_known_bearer_token_is_401(header: str | None) -> None:
    with pytest.raises(HTTPException) as refused:
        TokenAuth(parse_tokens(SPEC), parse_agents(SPEC)).authenticate(header)
    assert refused.value.status_code == 401


def test_a_misconfigured_token_list_fails_loudly() -> None:
    with pytest.raises(ValueError, match="scopes are channel, agent, analyst, qa, admin"):
        parse_tokens("x=superuser")
    with pytest.raises(ValueError, match="token=scope"):
        parse_tokens("just-a-token")
