"""SLA policies: which tickets a policy governs, the targets it promises, and how its clocks pause and reopen."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from typing import TypeVar

from switchboard.events.common import Channel, Priority, SlaTarget, TicketStatus

from .sets import SortedSet

DEFAULT_WARNINGS = (0.75, 0.9)
DEFAULT_PAUSE_ON = frozenset({TicketStatus.PENDING, TicketStatus.ON_HOLD})
#: Statuses that end the resolution clock; pausing on them would contradict that.
STOPPING = frozenset({TicketStatus.SOLVED, TicketStatus.CLOSED})


_E = TypeVar("_E", bound=StrEnum)


class PolicyError(ValueError):
    """A policy that cannot be used (or refers to what does not exist); the message says exactly why."""


class ReopenRule(StrEnum):
    """What a reopened ticket's resolution clock does: count on from where it stopped, or start over."""

    RESUME = "resume"
    RESTART = "restart"


@dataclass(frozen=True)
class AccountFacts:
    """What SLA needs to know about the customer's account; the service looks it up when a ticket opens."""

    tier: str | None = None
    key_account: bool = False


@dataclass(frozen=True)
class TicketFacts:
    """The facts a policy is selected by. `queue` is unknown until routing has placed the ticket."""

    priority: Priority
    channel: Channel
    account_tier: str | None = None
    key_account: bool = False
    queue: str | None = None


@dataclass(frozen=True)
class Conditions:
    """When a policy applies: every condition given must hold (None means "any"), so no conditions match all."""

    priorities: SortedSet[Priority] | None = None
    tiers: SortedSet[str] | None = None
    key_account: bool | None = None
    channels: SortedSet[Channel] | None = None
    queues: SortedSet[str] | None = None

    def matches(self, facts: TicketFacts) -> bool:
        return (
            (self.priorities is None or facts.priority in self.priorities)
            and (self.tiers is None or facts.account_tier in self.tiers)
            and (self.key_account is None or facts.key_account == self.key_account)
            and (self.channels is None or facts.channel in self.channels)
            and (self.queues is None or facts.queue in self.queues)
        )


@dataclass(frozen=True)
class TargetSpec:
    """One promise: `minutes` of business time (on the policy's calendar) or of plain calendar time."""

    minutes: int
    business_time: bool = True


@dataclass(frozen=True)
class Policy:
    """A versioned SLA policy; building one validates it (see `validate_policy`).

    A ticket keeps the version it was opened under: editing a policy means a new `version`, and only tickets
    opened (or re-prioritised) afterwards use it.
    """

    id: str
    version: int
    name: str
    targets: Mapping[SlaTarget, TargetSpec]
    calendar_id: str = "default"
    conditions: Conditions = field(default_factory=Conditions)
    warning_fractions: tuple[float, ...] = DEFAULT_WARNINGS
    pause_on: SortedSet[TicketStatus] = DEFAULT_PAUSE_ON
    reopen: ReopenRule = ReopenRule.RESUME

    def __post_init__(self) -> None:
        where = f"policy {self.id!r} v{self.version}"
        targets = {_enum(SlaTarget, key, f"{where}: unknown target"): spec for key, spec in self.targets.items()}
        object.__setattr__(self, "targets", targets)  # a private copy; read-only by convention (and serialisable)
        object.__setattr__(self, "warning_fractions", tuple(self.warning_fractions))
        pause_on = frozenset(_enum(TicketStatus, s, f"{where}: unknown status in pause_on") for s in self.pause_on)
        object.__setattr__(self, "pause_on", pause_on)
        object.__setattr__(self, "reopen", _enum(ReopenRule, self.reopen, f"{where}: unknown reopen rule"))
        validate_policy(self)


def _enum(kind: type[_E], value: object, problem: str) -> _E:
    try:
        return kind(value)  # type: ignore[arg-type]  # validating untyped input is the point
    except ValueError:
        raise PolicyError(f"{problem} {value!r}; known: {', '.join(str(v) for v in kind)}") from None


def validate_policy(policy: Policy) -> None:
    """Raise `PolicyError` saying precisely what is wrong, or return if the policy is usable.

    Checked: an id and a version >= 1; at least one target; every target is a known `SlaTarget` with a
    positive whole number of minutes; warning fractions strictly inside (0, 1), strictly increasing; pause
    statuses are known ticket statuses other than solved/closed; the reopen rule is known.
    """
    where = f"policy {policy.id!r} v{policy.version}"
    if not isinstance(policy.id, str) or not policy.id:
        raise PolicyError("policy id must be a non-empty string")
    if not isinstance(policy.version, int) or isinstance(policy.version, bool) or policy.version < 1:
        raise PolicyError(f"{where}: version must be an integer >= 1")
    if not policy.targets:
        raise PolicyError(f"{where}: has no targets")
    for target, spec in policy.targets.items():
        if target not in set(SlaTarget):
            raise PolicyError(f"{where}: unknown target {target!r}; known: {', '.join(SlaTarget)}")
        if not isinstance(spec, TargetSpec):
            raise PolicyError(f"{where}: target {target} must be a TargetSpec, got {spec!r}")
        if not isinstance(spec.minutes, int) or isinstance(spec.minutes, bool) or spec.minutes <= 0:
            raise PolicyError(
                f"{where}: target {target} must be a positive whole number of minutes, got {spec.minutes!r}"
            )
    if any(spec.business_time for spec in policy.targets.values()) and not policy.calendar_id:
        raise PolicyError(f"{where}: business-time targets need a calendar id")
    _check_fractions(where, policy.warning_fractions)
    _check_statuses(where, policy.pause_on)
    if policy.reopen not in set(ReopenRule):
        raise PolicyError(f"{where}: reopen must be one of {', '.join(ReopenRule)}, got {policy.reopen!r}")


def _check_fractions(where: str, fractions: Iterable[float]) -> None:
    values = list(fractions)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise PolicyError(f"{where}: warning fraction {value!r} is not a number")
        if not 0 < value < 1:
            raise PolicyError(f"{where}: warning fraction {value} must lie strictly between 0 and 1")
    if any(later <= earlier for earlier, later in pairwise(values)):
        raise PolicyError(f"{where}: warning fractions {values} must be strictly increasing")


def _check_statuses(where: str, statuses: Iterable[TicketStatus]) -> None:
    for status in statuses:
        if status not in set(TicketStatus):
            raise PolicyError(f"{where}: unknown status {status!r} in pause_on; known: {', '.join(TicketStatus)}")
        if status in STOPPING:
            raise PolicyError(f"{where}: {status} stops the clocks, it cannot pause them")


def select_policy(policies: Iterable[Policy], facts: TicketFacts) -> Policy | None:
    """The first policy, in the given order, whose conditions the ticket's facts meet; None when none does."""
    return next((policy for policy in policies if policy.conditions.matches(facts)), None)
