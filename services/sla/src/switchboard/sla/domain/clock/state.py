"""What SLA remembers about one ticket: its facts, its policy and one clock per target, as frozen values.

Every field is a plain value (str, int, float, bool, datetime, enum, tuple, frozenset, mapping, dataclass), so
`pydantic.TypeAdapter(TicketClocks)` stores and loads the state as JSON without a hand-written mapper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from switchboard.events.common import SlaTarget, TicketStatus
from switchboard.events.interactions import InteractionRecorded
from switchboard.events.routing import TicketRouted
from switchboard.events.tickets import TicketMerged, TicketOpened, TicketReopened, TicketStatusChanged, TicketUpdated

from ..policy import DEFAULT_WARNINGS, Policy, TicketFacts
from ..sets import SortedSet

Pause = tuple[datetime, datetime]


class ClockState(StrEnum):
    """Where a clock stands. A breached clock keeps measuring (how late) until the promise is kept."""

    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"  # the ticket was merged away, or its new policy has no such target


@dataclass(frozen=True)
class Tick:
    """The ticket's timer fired at `at`: emit every warning and breach that fell due by then."""

    at: datetime


#: Inputs that can arrive before the ticket's `TicketOpened` (topics are not ordered with each other).
LateInput = TicketUpdated | TicketStatusChanged | TicketReopened | TicketMerged | TicketRouted | InteractionRecorded
#: Everything `decide` accepts.
SlaInput = TicketOpened | LateInput | Tick


@dataclass(frozen=True)
class Clock:
    """One promise on one ticket, from `started_at` on, minus its pauses.

    `deadline` is None while the clock is paused (it moves by the paused time). `due_warnings` are the warnings
    not yet sent with the instant each falls due, so `next_due` needs no calendar. `stopped_at` is set when the
    clock stops measuring: met, fulfilled late after a breach, or cancelled; `used_minutes` is then frozen.
    """

    target: SlaTarget
    target_minutes: int
    business_time: bool
    started_at: datetime
    warning_fractions: tuple[float, ...] = DEFAULT_WARNINGS
    state: ClockState = ClockState.RUNNING
    paused_since: datetime | None = None
    pause_reason: str | None = None
    pauses: tuple[Pause, ...] = ()
    deadline: datetime | None = None
    due_warnings: tuple[tuple[float, datetime], ...] = ()
    warnings_sent: SortedSet[float] = frozenset()
    breached_at: datetime | None = None
    met_at: datetime | None = None
    stopped_at: datetime | None = None
    used_minutes: float | None = None

    @property
    def active(self) -> bool:
        """Still measuring: running, paused, or breached and not yet fulfilled."""
        return self.stopped_at is None and self.state is not ClockState.CANCELLED

    @property
    def pending(self) -> bool:
        """Active and not yet breached: warnings and a breach may still fall due."""
        return self.active and self.state in (ClockState.RUNNING, ClockState.PAUSED)


@dataclass(frozen=True)
class TicketClocks:
    """The SLA state of one ticket. Start from `TicketClocks(ticket_id)` and fold inputs through `decide`.

    `processed` holds the keys of inputs already decided (idempotency); `deferred` holds inputs that arrived
    before the ticket was opened, replayed in time order once it is.
    """

    ticket_id: str
    policy: Policy | None = None
    facts: TicketFacts | None = None
    opened_at: datetime | None = None
    status: TicketStatus | None = None
    first_reply_at: datetime | None = None
    clocks: Mapping[SlaTarget, Clock] = field(default_factory=dict)
    processed: SortedSet[str] = frozenset()
    deferred: tuple[LateInput, ...] = ()
    merged: bool = False

    @property
    def policy_id(self) -> str | None:
        return self.policy.id if self.policy else None

    @property
    def policy_version(self) -> int | None:
        return self.policy.version if self.policy else None
