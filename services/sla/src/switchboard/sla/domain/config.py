"""Policies from plain data (YAML, JSON, documents), so configuration and tests share one format.

Calendars have their own format, shared with every service that counts business time:
`switchboard.events.calendar.calendar_from_dict`.

Policy::

    id: vip
    version: 3
    name: VIP accounts
    calendar: kyiv-office
    when: {priority: [urgent, high], tier: [enterprise], key_account: true, channel: [chat], queue: [vip]}
    targets: {first_response: 30, next_response: {minutes: 60, business_time: false}, resolution: 480}
    warnings: [0.75, 0.9]
    pause_on: [pending, on_hold]
    reopen: resume            # or restart

Unknown keys are errors, so a typo never silently weakens a promise. An admin gives the policy set without
versions; `revise_policy_set` numbers them: a changed policy gets the next version, an unchanged one keeps its
own, so that saving the set again does not make its tickets look as if they ran under an older version.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar

from switchboard.events.common import Channel, Priority, SlaTarget, TicketStatus

from .policy import DEFAULT_PAUSE_ON, DEFAULT_WARNINGS, Conditions, Policy, PolicyError, ReopenRule, TargetSpec

_E = TypeVar("_E", bound=StrEnum)


def policy_from_dict(data: Mapping[str, Any]) -> Policy:
    """A validated policy from the format above; `PolicyError` names what is wrong."""
    keys = {"id", "version", "name", "calendar", "when", "targets", "warnings", "pause_on", "reopen"}
    _only(data, keys, f"policy {data.get('id')!r}", PolicyError)
    targets = {}
    for key, spec in dict(data.get("targets") or {}).items():
        if isinstance(spec, Mapping):
            _only(spec, {"minutes", "business_time"}, f"target {key}", PolicyError)
            targets[_enum(SlaTarget, key)] = TargetSpec(spec.get("minutes", 0), bool(spec.get("business_time", True)))
        else:
            targets[_enum(SlaTarget, key)] = TargetSpec(spec)
    return Policy(
        id=str(data.get("id", "")),
        version=data.get("version", 1),
        name=str(data.get("name", data.get("id", ""))),
        targets=targets,
        calendar_id=str(data.get("calendar", "default")),
        conditions=_conditions(data.get("when") or {}),
        warning_fractions=tuple(data.get("warnings", DEFAULT_WARNINGS)),
        pause_on=frozenset(_enum(TicketStatus, s) for s in data.get("pause_on", DEFAULT_PAUSE_ON)),
        reopen=_enum(ReopenRule, data.get("reopen", ReopenRule.RESUME)),
    )


def revise_policy_set(
    current: Sequence[Mapping[str, Any]], proposed: Sequence[Mapping[str, Any]], calendar_ids: Collection[str]
) -> list[dict[str, Any]]:
    """The ordered policy set to store for `proposed` (policies without versions) over the set in force.

    Each policy keeps its id's version when nothing else changed, else gets the next one (1 for a new id); each
    must be valid and count on a calendar in `calendar_ids` (or `default`, which always exists), and ids are
    unique. `PolicyError` says which policy is wrong and why.
    """
    previous = {str(p["id"]): p for p in current}
    revised = []
    for index, raw in enumerate(proposed):
        policy_id = raw.get("id")
        if not isinstance(policy_id, str) or not policy_id:
            raise PolicyError(f"policy #{index + 1}: needs an 'id'")
        old = previous.get(policy_id)
        if old is None:
            version = 1
        elif {k: v for k, v in old.items() if k != "version"} == raw:
            version = int(old["version"])
        else:
            version = int(old["version"]) + 1
        candidate = {**raw, "version": version}
        try:
            policy = policy_from_dict(candidate)
        except ValueError as exc:  # PolicyError, or a value that cannot be read at all
            raise PolicyError(f"policy {policy_id}: {exc}") from None
        if policy.calendar_id not in calendar_ids and policy.calendar_id != "default":
            raise PolicyError(f"policy {policy_id}: unknown calendar '{policy.calendar_id}'")
        revised.append(candidate)
    if len({p["id"] for p in revised}) != len(revised):
        raise PolicyError("policy ids must be unique")
    return revised


def _conditions(when: Mapping[str, Any]) -> Conditions:
    _only(when, {"priority", "tier", "key_account", "channel", "queue"}, "policy conditions", PolicyError)

    def strings(key: str) -> frozenset[str] | None:
        values = when.get(key)
        return None if values is None else frozenset(str(v) for v in _listed(values))

    priorities, channels = strings("priority"), strings("channel")
    key_account = when.get("key_account")
    if key_account is not None and not isinstance(key_account, bool):
        raise PolicyError(f"condition key_account must be true or false, got {key_account!r}")
    return Conditions(
        priorities=None if priorities is None else frozenset(_enum(Priority, p) for p in priorities),
        tiers=strings("tier"),
        key_account=key_account,
        channels=None if channels is None else frozenset(_enum(Channel, c) for c in channels),
        queues=strings("queue"),
    )


def _listed(values: Any) -> list[Any]:
    return list(values) if isinstance(values, list | tuple | set | frozenset) else [values]


def _enum(kind: type[_E], value: Any) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise PolicyError(f"unknown {kind.__name__} {value!r}; known: {', '.join(str(v) for v in kind)}") from None


def _only(data: Mapping[str, Any], allowed: set[str], where: str, error: type[ValueError]) -> None:
    if not isinstance(data, Mapping):
        raise error(f"{where} must be a mapping, got {data!r}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise error(f"{where}: unknown keys {unknown}; allowed: {sorted(allowed)}")
