"""Routing's reactions to the platform's events: route opened tickets, feed the assigner, escalate.

Per ticket and idempotent: a decision's event id derives from its cause, is stored before it is
published, and a redelivered cause finds its decision already in the ticket's routing history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import structlog
from switchboard.events import Envelope, EventPayload, reaction_id
from switchboard.events.common import Department, TicketStatus, Tier
from switchboard.events.customers import AccountUpserted
from switchboard.events.feedback import FollowUpRequested
from switchboard.events.interactions import InteractionRecorded
from switchboard.events.routing import TicketEscalated, TicketHandedOff
from switchboard.events.sla import SlaBreached, SlaWarning
from switchboard.events.tickets import TicketOpened, TicketStatusChanged
from switchboard.runtime.decider import Relay
from switchboard.runtime.fanout import per_subject

from .board_inputs import BoardInput
from .domain.escalation import Cause, TicketTier, escalate
from .domain.roster import DEFAULT_QUEUE
from .domain.rules import TicketFacts, route
from .domain.skills import skills_from_wire
from .store import RoutingStore

log = structlog.get_logger(__name__)


class Assigns(Protocol):
    """Where board inputs go: the assigner (which publishes them to its topic)."""

    async def submit(self, item: BoardInput) -> None: ...


class Reactions:
    """The use cases behind routing's consumer."""

    def __init__(self, *, store: RoutingStore, relay: Relay, assigner: Assigns) -> None:
        self.store = store
        self.relay = relay
        self.assigner = assigner

    async def on_events(self, batch: Sequence[Envelope]) -> None:
        """Tickets are independent: each ticket's events in order, different tickets side by side."""
        await per_subject(batch, self.on_event)

    async def on_event(self, envelope: Envelope) -> None:
        match envelope.data:
            case AccountUpserted() as account:
                await self.store.remember_account(
                    account.account_id, tier=account.tier, key_account=account.key_account, name=account.name
                )
            case TicketOpened() as opened:
                await self.on_ticket_opened(envelope, opened)
            case TicketStatusChanged(to_status=TicketStatus.SOLVED | TicketStatus.CLOSED) as changed:
                await self.assigner.submit(
                    BoardInput(
                        id=envelope.id,
                        kind="released",
                        time=changed.changed_at,
                        ticket_id=changed.ticket_id,
                        reason="solved",
                    )
                )
            case InteractionRecorded(author_type="agent", public=True) as reply if reply.author_id:
                await self.assigner.submit(
                    BoardInput(
                        id=envelope.id,
                        kind="responded",
                        time=reply.occurred_at,
                        ticket_id=reply.ticket_id,
                        agent_id=reply.author_id,
                    )
                )
            case SlaWarning() as warning:
                await self.escalate(warning.ticket_id, Cause.sla_warning(warning, event_id=envelope.id), envelope)
            case SlaBreached() as breach:
                await self.escalate(breach.ticket_id, Cause.sla_breach(breach, event_id=envelope.id), envelope)
            case FollowUpRequested() as follow_up:
                await self.escalate(follow_up.ticket_id, Cause.follow_up(follow_up, event_id=envelope.id), envelope)

    async def on_ticket_opened(self, envelope: Envelope, opened: TicketOpened) -> None:
        account = await self.store.account(opened.requester.account_id)
        facts = TicketFacts.from_opened(
            opened,
            account_tier=account.get("tier") if account else None,
            key_account=bool(account and account.get("key_account")),
        )
        decision = route(await self.store.rules(), facts)
        routed = decision.to_event(ticket_id=opened.ticket_id, language=opened.language, routed_at=opened.opened_at)
        remembered: dict[str, object] = {
            "channel": opened.channel.value,
            "queue_id": decision.queue,
            "tier": Tier.L1.value,
            "priority": decision.priority.value,
            "language": opened.language,
            "department": None,
            "handled": [],
        }
        board_input = BoardInput(
            id=envelope.id,
            kind="routed",
            time=opened.opened_at,
            ticket_id=opened.ticket_id,
            queue_id=decision.queue,
            channel=opened.channel,
            priority=decision.priority,
            skills=dict(skills_from_wire(routed.required_skills)),
            language=opened.language,
            correlation_id=envelope.correlationid,
        )
        if facts.key_account:
            # Its escalation follows at once and must come after its routing in the ticket's history, so
            # routing is stored here first, not by the board (which names the queue's team for everyone else).
            roster = await self.store.roster()
            routed = routed.model_copy(update={"team_id": roster.team_of(decision.queue) if roster else None})
            await asyncio.gather(
                self.store.remember_ticket(opened.ticket_id, remembered),
                self.record(opened.ticket_id, routed, reaction_id(envelope.id, "routed"), envelope, new_subject=True),
            )
            await self.assigner.submit(board_input)
        else:
            # The board stores the routing decision with the assignment; the facts escalation needs later are
            # written meanwhile (both are done before the batch's offsets are committed).
            await asyncio.gather(
                self.store.remember_ticket(opened.ticket_id, remembered),
                self.assigner.submit(board_input.model_copy(update={"routed": routed})),
            )
        if facts.key_account:
            await self.escalate(
                opened.ticket_id,
                Cause.key_account_opened(event_id=envelope.id, account_name=account.get("name") if account else None),
                envelope,
            )

    async def escalate(self, ticket_id: str, cause: Cause, envelope: Envelope | None) -> None:
        """Escalate per the ticket's queue policy; ids derive from the cause, so a repeat decides nothing new."""
        now = envelope.time if envelope is not None else datetime.now(UTC)
        cause_id = envelope.id if envelope is not None else cause.cause_id
        ticket = await self.store.ticket(ticket_id)
        if ticket is None:
            log.info("escalation for a ticket routing never saw; ignored", ticket=ticket_id)
            return
        roster = await self.store.roster()
        if roster is None:
            return
        # A queue that left the roster sent its tickets to the default queue, whose policy applies to them.
        queue = roster.queues.get(ticket["queue_id"]) or roster.queues.get(DEFAULT_QUEUE)
        if queue is None:
            log.warning("neither the ticket's queue nor the default queue is on the roster; not escalated")
            return
        state = TicketTier(
            ticket_id=ticket_id,
            tier=Tier(ticket.get("tier") or "L1"),
            department=Department(ticket["department"]) if ticket.get("department") else None,
            handled=frozenset(ticket.get("handled", [])),
        )
        after, decisions = escalate(state, cause, queue.escalation, now)
        for index, decision in enumerate(decisions):
            await self.record(ticket_id, decision.event, reaction_id(cause_id, f"escalate/{index}"), envelope, now)
        await self.store.remember_ticket(
            ticket_id,
            {
                "tier": after.tier.value,
                "department": after.department.value if after.department else None,
                "handled": sorted(after.handled),
            },
        )
        for decision in decisions:
            if decision.queue_id is None or not isinstance(decision.event, (TicketEscalated, TicketHandedOff)):
                continue
            await self.store.remember_ticket(ticket_id, {"queue_id": decision.queue_id})
            await self.assigner.submit(
                BoardInput(
                    id=f"{cause_id}/release",
                    kind="released",
                    time=now,
                    ticket_id=ticket_id,
                    reason="escalated",
                )
            )
            await self.assigner.submit(
                BoardInput(
                    id=f"{cause_id}/reroute",
                    kind="routed",
                    time=now,
                    ticket_id=ticket_id,
                    queue_id=decision.queue_id,
                    channel=ticket["channel"],
                    priority=ticket.get("priority", "normal"),
                    language=ticket.get("language"),
                )
            )

    async def record(
        self,
        subject: str,
        event: EventPayload,
        event_id: str,
        cause: Envelope | None,
        now: datetime | None = None,
        *,
        new_subject: bool = False,
    ) -> None:
        """Store a decision once (a redelivered cause finds it already there), then hand it to the relay."""
        at = now or (cause.time if cause else datetime.now(UTC))
        commit = await self.store.events.append_once(
            subject, [event], [event_id], now=at, cause=cause, new_subject=new_subject
        )
        if commit is not None:
            self.relay.submit(commit)
