"""The use cases behind routing's HTTP API: roster and rule-set changes, presence, escalation, and what they show.

A roster change reads the version in force, applies the edit, checks the result whole and stores it as the next
version; when another version was stored meanwhile (another admin, another replica) it reads again and re-applies
the edit on that one (`retry_conflicts`), so no change is lost. Every stored version goes to the board, which
accepts them all: the only checks are the ones made here, so the API and the board never disagree. They are
static (the roster is consistent and keeps the default queue); what depends on tickets (a removed queue that
still has some) is the board's to handle, and it does: those tickets move to the default queue.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from switchboard.events.common import Presence
from switchboard.runtime.auth import Principal, Scope
from switchboard.runtime.conflicts import DEFAULT_RETRY, ConcurrencyConflict, Retry, retry_conflicts
from switchboard.runtime.jsonable import jsonable

from .assigner import Assigner
from .board_inputs import BoardInput, roster_input
from .domain.escalation import Cause
from .domain.roster import Roster, RosterError, storable_problems
from .domain.rules import TicketFacts, explain, missing_from_roster, parse_rules
from .models import DEFAULT_ROSTER, EscalateIn, ExplainIn, roster_from_document
from .store import RoutingStore
from .subscribers import Reactions

Document = dict[str, Any]
Edit = Callable[[Mapping[str, Any]], Document]
Kind = Literal["agents", "teams", "queues"]


class NotFound(LookupError):
    """The request names something routing does not have."""


class Forbidden(PermissionError):
    """The caller's token does not allow this."""


def checked_roster(doc: Mapping[str, Any]) -> Roster:
    """The roster a document describes, if it may be put in force; otherwise `RosterError` with every problem."""
    roster = roster_from_document(doc)
    problems = storable_problems(roster)
    if problems:
        raise RosterError(problems)
    return roster


class RoutingCommands:
    """Routing's configuration and the requests people make of it."""

    def __init__(
        self,
        *,
        store: RoutingStore,
        assigner: Assigner,
        reactions: Reactions,
        rules_file: Path,
        clock: Callable[[], datetime] | None = None,
        retry: Retry = DEFAULT_RETRY,
    ) -> None:
        self.store = store
        self.assigner = assigner
        self.reactions = reactions
        self.rules_file = rules_file
        self.clock = clock or (lambda: datetime.now(UTC))
        self.retry = retry

    # start-up ------------------------------------------------------------------------------------------------

    async def load_configuration(self) -> None:
        """First start: store the default roster and the rules file (checked against it; a bad file stops the
        start). Later starts use what is stored."""
        if await self.store.rosters.current() == 0:
            with contextlib.suppress(ConcurrencyConflict):  # another replica stored it
                await self.store.save_roster(0, DEFAULT_ROSTER, checked_roster(DEFAULT_ROSTER))
        if await self.store.rule_sets.current() == 0:
            text = self.rules_file.read_text(encoding="utf-8")
            doc = await self.store.roster_document() or {}
            rules = parse_rules(text, known_queues=doc.get("queues", {}), known_skills=doc.get("skills", []))
            with contextlib.suppress(ConcurrencyConflict):
                await self.store.save_rules(0, text, rules)
        await self.store.rules()

    async def announce_roster(self) -> None:
        """The board hears of the roster in force at every start: the first one, or one whose announcement was
        lost after it was stored (the input's id is the version's, so the board applies it once)."""
        version = await self.store.rosters.current()
        if version:
            await self.assigner.submit(roster_input(version, self.clock()))

    # the roster ----------------------------------------------------------------------------------------------

    async def change_roster(self, edit: Edit) -> Document:
        """Apply `edit` to the roster in force and put the result in force as the next version.

        Refused whole (`RosterError`) when the result is inconsistent or lacks the default queue. The answer
        warns about what the rules in force name that the new roster lacks (their tickets go to the default
        queue). `ConcurrencyConflict` only when the roster kept changing through every attempt.
        """

        async def attempt(_: int) -> tuple[int, Roster]:
            version = await self.store.rosters.current()
            doc = edit(await self.store.roster_document(version) or {})
            roster = checked_roster(doc)
            return await self.store.save_roster(version, doc, roster), roster

        version, roster = await retry_conflicts(attempt, what="the roster", retry=self.retry)
        await self.assigner.submit(roster_input(version, self.clock()))
        warnings = missing_from_roster(await self.store.rules(), queues=roster.queues, skills=roster.skills)
        return {"roster_version": version, "warnings": warnings}

    async def handle_put_roster(self, roster: Mapping[str, Any]) -> Document:
        return await self.change_roster(lambda _: dict(roster))

    async def handle_put_skills(self, skills: list[str]) -> Document:
        return await self.change_roster(lambda doc: {**doc, "skills": sorted(set(skills))})

    async def handle_put_item(self, kind: Kind, item_id: str, item: Mapping[str, Any]) -> Document:
        """Create or replace one agent, team or queue."""
        return await self.change_roster(lambda doc: {**doc, kind: {**doc.get(kind, {}), item_id: dict(item)}})

    async def roster_view(self) -> Document:
        """The roster in force and, on the board's owner, the version the board works to, who is on shift, what
        they hold and what waits."""
        version = await self.store.rosters.current()
        board = self.assigner.board
        seats = {a: {"presence": s.presence.value, "tickets": sorted(s.tickets)} for a, s in board.seats.items()}
        waiting = {q: list(ids) for q, ids in board.waiting.items()}
        live = {"roster_version": self.assigner.roster_version, "seats": seats, "waiting": waiting}
        roster = await self.store.roster_document(version)
        return {"version": version, "roster": roster, "live": live if self.assigner.owner else None}

    async def configured_item(self, kind: Kind, item_id: str) -> Document:
        doc = await self.store.roster_document() or {}
        item = doc.get(kind, {}).get(item_id)
        if item is None:
            raise NotFound(f"no {kind[:-1]} {item_id} on the roster")
        return {"id": item_id, **item}

    async def handle_set_presence(self, agent_id: str, presence: Presence, principal: Principal) -> Document:
        if not principal.may(Scope.ADMIN) and principal.agent_id != agent_id:
            raise Forbidden("an agent's token sets only that agent's own presence")
        doc = await self.store.roster_document()
        if doc is None or agent_id not in doc.get("agents", {}):
            raise NotFound(f"no agent {agent_id} on the roster")
        await self.assigner.submit(
            BoardInput(
                id=f"presence:{uuid.uuid4()}", kind="presence", time=self.clock(), agent_id=agent_id, presence=presence
            )
        )
        return {"agent_id": agent_id, "presence": presence.value}

    # the rule set --------------------------------------------------------------------------------------------

    async def handle_put_rules(self, text: str) -> Document:
        """Replace the rule set, checked against the roster in force (`RuleSetError` lists every problem)."""

        async def attempt(_: int) -> tuple[int, int]:
            version = await self.store.rule_sets.current()
            doc = await self.store.roster_document() or {}
            rules = parse_rules(text, known_queues=doc.get("queues", {}), known_skills=doc.get("skills", []))
            return await self.store.save_rules(version, text, rules), rules.version

        stored, author_version = await retry_conflicts(attempt, what="the rule set", retry=self.retry)
        return {"rules_version": stored, "author_version": author_version}

    async def rules_view(self) -> Document:
        version, text = await self.store.rules_text()
        return {"version": version, "text": text}

    async def handle_explain(self, body: ExplainIn) -> Document:
        ticket = TicketFacts(**(body.model_dump() | {"tags": tuple(body.tags)}))
        result: Document = jsonable(explain(await self.store.rules(), ticket))
        return result

    # tickets -------------------------------------------------------------------------------------------------

    async def handle_escalate(self, ticket_id: str, body: EscalateIn, principal: Principal) -> Document:
        """An agent escalates a ticket (to a named tier or department, or by the queue's policy), once per request."""
        if await self.store.ticket(ticket_id) is None:
            raise NotFound(f"routing has not seen ticket {ticket_id}")
        request_id = body.request_id or str(uuid.uuid4())
        cause = Cause.by_agent(
            agent_id=body.agent_id or f"token:{principal.fingerprint}",
            request_id=request_id,
            reason=body.reason,
            target=body.target,
        )
        await self.reactions.escalate(ticket_id, cause, None)
        return {"ticket_id": ticket_id, "request_id": request_id}
