"""Calendars and policies from plain data (YAML, JSON, documents), so configuration and tests share one format.

Calendar::

    time_zone: Europe/Kyiv
    weekly: {mon-fri: ["09:00-18:00"], sat: ["10:00-14:00"], sun: ["22:00-06:00+1"]}   # "+1": ends next day
    holidays: ["2025-12-25..2026-01-01", "2025-05-01", "yearly 01-01", "yearly 12-24..12-26"]
    overrides: {"2025-06-01": ["10:00-14:00"], "2025-06-02": []}                    # [] closes the day

A shift ending at "24:00" runs until midnight (it is `Shift(start, 00:00, overnight=True)`).

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

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import date, time
from enum import StrEnum
from typing import Any, TypeVar

from switchboard.events.common import Channel, Priority, SlaTarget, TicketStatus

from .calendar import BusinessCalendar, CalendarError, Holiday, Shift
from .policy import DEFAULT_PAUSE_ON, DEFAULT_WARNINGS, Conditions, Policy, PolicyError, ReopenRule, TargetSpec

_E = TypeVar("_E", bound=StrEnum)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*(\+1)?\s*$")
_YEARLY = re.compile(r"^yearly\s+(\d{2})-(\d{2})(?:\.\.(\d{2})-(\d{2}))?$")


def calendar_from_dict(data: Mapping[str, Any]) -> BusinessCalendar:
    """A validated calendar from the format above; `CalendarError` names what is wrong."""
    _only(data, {"time_zone", "weekly", "holidays", "overrides"}, "calendar", CalendarError)
    weekly: dict[int, tuple[Shift, ...]] = {}
    for key, shifts in dict(data.get("weekly") or {}).items():
        for day in _weekdays(key):
            if day in weekly:
                raise CalendarError(f"weekday {DAYS[day]} is given twice in weekly hours")
            weekly[day] = tuple(parse_shift(text) for text in shifts)
    overrides = {
        _date(key): tuple(parse_shift(text) for text in shifts)
        for key, shifts in dict(data.get("overrides") or {}).items()
    }
    holidays = tuple(parse_holiday(text) for text in data.get("holidays") or ())
    return BusinessCalendar(str(data.get("time_zone", "")), weekly, holidays, overrides)


def parse_shift(text: str) -> Shift:
    """'09:00-17:00', '22:00-06:00+1' (ends the next day) or '18:00-24:00' (until midnight)."""
    match = _SHIFT.match(str(text))
    if not match:
        raise CalendarError(f"shift {text!r} is not like '09:00-17:00' or '22:00-06:00+1'")
    start, end, next_day = match.groups()
    if end == "24:00":
        if next_day:
            raise CalendarError(f"shift {text!r}: 24:00 already means midnight, drop the '+1'")
        return Shift(_time(start, text), time(0), overnight=True)
    return Shift(_time(start, text), _time(end, text), overnight=bool(next_day))


def parse_holiday(text: str) -> Holiday:
    """'2025-12-25', '2025-12-25..2026-01-01', 'yearly 01-01' or 'yearly 12-24..12-26' (may wrap New Year)."""
    value = str(text).strip()
    yearly = _YEARLY.match(value)
    if yearly:
        month, day, end_month, end_day = yearly.groups()
        until = (int(end_month), int(end_day)) if end_month else None
        return Holiday.every_year(int(month), int(day), until=until)
    first, _, last = value.partition("..")
    return Holiday(_date(first), _date(last) if last else None)


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


def _weekdays(key: object) -> list[int]:
    text = str(key).strip().lower()
    if text == "daily":
        return list(range(7))
    first, _, last = text.partition("-")
    if first not in DAYS or (last and last not in DAYS):
        raise CalendarError(f"weekly key {key!r} is not a day like 'mon', a range like 'mon-fri', or 'daily'")
    low, high = DAYS.index(first), DAYS.index(last or first)
    if high < low:
        raise CalendarError(f"weekday range {key!r} runs backwards")
    return list(range(low, high + 1))


def _time(text: str, shift: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise CalendarError(f"shift {shift!r}: {text} is not a time of day")
    return time(hours, minutes)


def _date(value: object) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise CalendarError(f"{value!r} is not a date like 2025-12-25") from None


def _only(data: Mapping[str, Any], allowed: set[str], where: str, error: type[ValueError]) -> None:
    if not isinstance(data, Mapping):
        raise error(f"{where} must be a mapping, got {data!r}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise error(f"{where}: unknown keys {unknown}; allowed: {sorted(allowed)}")
