"""Tier escalation (L1 → L2 → L3) and hand-offs to other departments, as decisions that record their cause."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from switchboard.events.common import Department, Tier
from switchboard.events.feedback import FollowUpRequested
from switchboard.events.routing import EscalationTrigger, TicketEscalated, TicketHandedOff
from switchboard.events.sla import SlaBreached, SlaWarning

from .roster import TIERS, EscalationAction, EscalationPolicy, tier_rank

_REASON_LIMIT = 500  # the events' `reason` max_length


@dataclass(frozen=True)
class Cause:
    """Why an escalation is asked for.

    `cause_id` makes it idempotent: the causing event's id, or the id of an agent's request (one agent may
    rightly escalate the same ticket twice). `triggered_by_id` is what the event records: the causing event id,
    or the agent id. An agent may name a `target`; every other trigger follows the queue's policy.
    """

    trigger: EscalationTrigger
    cause_id: str
    triggered_by_id: str | None
    reason: str
    target: Tier | Department | None = None

    @classmethod
    def sla_warning(cls, event: SlaWarning, *, event_id: str) -> Cause:
        """An SLA clock passed its warning fraction (`event_id`: the envelope id of the `SlaWarning`)."""
        reason = (
            f"SLA {event.target} target {event.fraction:.0%} used (policy {event.policy_id} "
            f"v{event.policy_version}); deadline {event.deadline:%Y-%m-%d %H:%M} UTC"
        )
        return cls(EscalationTrigger.SLA_WARNING, event_id, event_id, reason)

    @classmethod
    def sla_breach(cls, event: SlaBreached, *, event_id: str) -> Cause:
        """An SLA target was missed (`event_id`: the envelope id of the `SlaBreached`)."""
        reason = (
            f"SLA {event.target} target missed (policy {event.policy_id} v{event.policy_version}); "
            f"deadline was {event.deadline:%Y-%m-%d %H:%M} UTC"
        )
        return cls(EscalationTrigger.SLA_BREACH, event_id, event_id, reason)

    @classmethod
    def follow_up(cls, event: FollowUpRequested, *, event_id: str) -> Cause:
        """Feedback asked for a follow-up with an unhappy customer."""
        return cls(EscalationTrigger.FOLLOW_UP, event_id, event_id, f"follow-up requested: {event.reason}")

    @classmethod
    def by_agent(cls, *, agent_id: str, request_id: str, reason: str, target: Tier | Department | None = None) -> Cause:
        """An agent escalates by hand, to a named tier or department or (by default) per the queue's policy."""
        return cls(EscalationTrigger.AGENT, request_id, agent_id, f"escalated by agent {agent_id}: {reason}", target)

    @classmethod
    def key_account_opened(cls, *, event_id: str, account_name: str | None = None) -> Cause:
        """A key account opened a ticket (`event_id`: the envelope id of the `TicketOpened`)."""
        who = f" ({account_name})" if account_name else ""
        return cls(EscalationTrigger.KEY_ACCOUNT, event_id, event_id, f"ticket opened by a key account{who}")


@dataclass(frozen=True)
class TicketTier:
    """Where a ticket stands: its tier, the department it was handed to (None: support), the causes handled."""

    ticket_id: str
    tier: Tier = Tier.L1
    department: Department | None = None
    handled: frozenset[str] = frozenset()


@dataclass(frozen=True)
class EscalationDecision:
    """A decision to publish, and the queue serving the new tier (per the policy) to re-route the ticket to."""

    event: TicketEscalated | TicketHandedOff
    queue_id: str | None = None


def resolve(state: TicketTier, cause: Cause, policy: EscalationPolicy) -> Tier | Department | None:
    """Where the cause sends the ticket, before checking it is a move at all.

    An agent's named target wins; otherwise the policy's action for the trigger. Agents may always go one tier
    up, even when the policy names no action for them. 'next_tier' from L3 means the policy's `beyond_top`.
    """
    action: EscalationAction | None = cause.target or policy.actions.get(cause.trigger)
    if action is None and cause.trigger == EscalationTrigger.AGENT:
        action = "next_tier"
    if action is None or isinstance(action, Tier | Department):
        return action
    if state.tier == Tier.L3:
        return policy.beyond_top
    return TIERS[tier_rank(state.tier) + 1]


def escalate(
    state: TicketTier, cause: Cause, policy: EscalationPolicy, now: datetime
) -> tuple[TicketTier, list[EscalationDecision]]:
    """Escalate or hand off the ticket for this cause, once: a cause already handled decides nothing.

    Tickets only go up (a target at or below the current tier does nothing), never past L3. Once a ticket is
    with another department, only an agent moves it again (to another department, or back to support).
    """
    if cause.cause_id in state.handled:
        return state, []
    handled = replace(state, handled=state.handled | {cause.cause_id})
    target = resolve(state, cause, policy)
    with_department = state.department is not None
    if target is None or (with_department and cause.trigger != EscalationTrigger.AGENT):
        return handled, []
    reason = cause.reason if len(cause.reason) <= _REASON_LIMIT else cause.reason[: _REASON_LIMIT - 1] + "…"
    if isinstance(target, Tier):
        if with_department or tier_rank(target) <= tier_rank(state.tier):
            return handled, []
        event = TicketEscalated(
            ticket_id=state.ticket_id,
            from_tier=state.tier,
            to_tier=target,
            trigger=cause.trigger,
            triggered_by_id=cause.triggered_by_id,
            reason=reason,
            escalated_at=now,
        )
        return replace(handled, tier=target), [EscalationDecision(event, policy.tier_queues.get(target))]
    current = state.department or Department.SUPPORT
    if target == current:
        return handled, []
    handed = TicketHandedOff(
        ticket_id=state.ticket_id,
        to_department=target,
        trigger=cause.trigger,
        triggered_by_id=cause.triggered_by_id,
        reason=reason,
        handed_off_at=now,
    )
    department = None if target == Department.SUPPORT else target
    return replace(handled, department=department), [EscalationDecision(handed)]
