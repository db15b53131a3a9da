"""The ticket fold and its metric rules, on one ticket's life across every topic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from switchboard.events import Envelope
from switchboard.reporting.domain.contributions import contributions
from switchboard.reporting.domain.records import Record, add, record_of
from switchboard.reporting.domain.ticket import derive
from switchboard.reporting.domain.topics_order import by_topic

from services.reporting.tests.fixtures import life

pytestmark = pytest.mark.unit


def calendar_minutes(_: Any, a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def fold(events: list[Envelope]) -> dict[str, Any] | None:
    records: list[Record] = []
    for e in events:
        record = record_of(e)
        if record is not None:
            add(records, record)
    return derive(events[0].subject, records, business=calendar_minutes)


def test_metric_rules_on_one_ticket() -> None:
    view = fold(life())
    assert view is not None
    assert view["status"] == "solved"
    assert view["queue_id"] == "billing" and view["assignee_id"] == "ayla"
    assert view["first_reply_at"].startswith("2026-11-02T09:20")  # the note and the automatic reply are not replies
    assert view["first_reply_minutes"] == {"calendar": 20.0, "business": 20.0}  # the reopen did not reset it
    assert view["public_replies"] == 2 and view["internal_notes"] == 1 and view["customer_messages"] == 1
    assert view["reopens"] == 1 and view["one_touch"] is False
    assert view["resolution_minutes"] == {"calendar": 260.0, "business": 260.0}  # to the last solve
    assert view["agent_wait_minutes"]["calendar"] == 19.0  # pending 21 -> 40
    assert view["requester_wait_minutes"]["calendar"] == 3 + 18 + 210  # new 0-3, open 3-21 and 50-260
    assert view["sla"]["first_response"]["state"] == "met"
    assert view["sla"]["resolution"]["state"] == "breached" and view["sla_state"] == "breached"
    assert view["survey"]["score"] == 4  # the revision replaced the first answer
    assert view["qa_percent"] == 70.0
    assert view["tags"] == ["refund"]
    assert "secret body" not in repr(view)


def test_reopened_ticket_is_not_resolved() -> None:
    events = [e for e in life() if not (e.type.endswith("status_changed.v1") and e.sequence == 8)]
    view = fold(events)
    assert view is not None and view["status"] == "open" and view["resolution_minutes"] is None


def test_automated_tickets_stay_out_of_agent_metrics() -> None:
    view = fold(life(tags=("bot",)))
    collections = {c for c, _ in contributions(view)}
    assert collections == {"issue_week"}


def test_aggregates_count_each_thing_once() -> None:
    sums = contributions(fold(life()))
    agent_day = sums[("agent_day", "ayla|2026-11-02")]
    assert agent_day["assigned"] == 1 and agent_day["solved"] == 2 and agent_day["replies"] == 2
    assert agent_day["csat_answers"] == 1 and agent_day["csat_satisfied"] == 1
    assert sums[("sla_day", "standard|resolution|high|-|2026-11-02")] == {"breached": 1.0}
    assert sums[("sla_day", "standard|first_response|high|-|2026-11-02")] == {"met": 1.0}


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(min_value=0, max_value=6))
def test_any_interleaving_and_duplication_folds_the_same(rnd: Any, duplicates: int) -> None:
    """Order is kept per ticket within a topic; topics interleave at random and some events come twice."""
    events = life()
    expected = fold(events)
    lanes = [list(lane) for lane in by_topic(events).values()]
    shuffled: list[Envelope] = []
    while any(lanes):
        lane = rnd.choice([lane for lane in lanes if lane])
        shuffled.append(lane.pop(0))
    for _ in range(duplicates):
        shuffled.insert(rnd.randrange(len(shuffled) + 1), rnd.choice(events))
    assert fold(shuffled) == expected


def test_business_minutes_use_the_calendar_the_sla_clock_carried() -> None:
    """Opened Friday 17:00 Istanbul, first reply Monday 10:00: one business hour on Friday, one on Monday."""
    from datetime import UTC, datetime

    from switchboard.events.calendar import CalendarSpec
    from switchboard.events.common import SlaTarget
    from switchboard.events.sla import SlaClockStarted
    from switchboard.reporting.business import business_minutes

    from services.reporting.tests.fixtures import message, wrap
    from tests.factories import ticket_opened

    friday_5pm = datetime(2026, 11, 6, 14, 0, tzinfo=UTC)  # 17:00 in Europe/Istanbul (UTC+3)
    monday_10am = datetime(2026, 11, 9, 7, 0, tzinfo=UTC)
    spec = CalendarSpec(id="istanbul", time_zone="Europe/Istanbul", weekly={"mon-fri": ("09:00-18:00",)})
    started = SlaClockStarted(
        ticket_id="t-b",
        target=SlaTarget.FIRST_RESPONSE,
        policy_id="p",
        policy_version=1,
        target_minutes=240,
        business_time=True,
        started_at=friday_5pm,
        deadline=monday_10am,
        calendar=spec,
    )
    reply = message("t-b", 0, who="ayla").model_copy(update={"time": monday_10am})
    reply = reply.model_copy(update={"data": reply.data.model_copy(update={"occurred_at": monday_10am})})
    events = [wrap(ticket_opened("t-b", friday_5pm), "t-b", friday_5pm, 1), wrap(started, "t-b", friday_5pm), reply]
    records: list[Record] = []
    for e in events:
        record = record_of(e)
        assert record is not None
        add(records, record)
    view = derive("t-b", records, business=business_minutes)
    assert view is not None
    assert view["first_reply_minutes"] == {"calendar": 3 * 24 * 60 - 7 * 60, "business": 120.0}
