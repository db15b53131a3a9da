"""SLA policies: the first policy whose conditions a ticket meets governs it, and a bad policy never loads."""

from __future__ import annotations

from typing import Any

import pytest
from switchboard.events.common import Channel, Priority, SlaTarget, TicketStatus
from switchboard.sla.domain.config import policy_from_dict
from switchboard.sla.domain.policy import (
    Conditions,
    Policy,
    PolicyError,
    ReopenRule,
    TargetSpec,
    TicketFacts,
    select_policy,
)

pytestmark = pytest.mark.unit

POLICIES = [
    policy_from_dict({"id": "key-accounts", "when": {"key_account": True}, "targets": {"first_response": 15}}),
    policy_from_dict(
        {
            "id": "enterprise-urgent",
            "when": {"tier": ["enterprise"], "priority": ["urgent"]},
            "targets": {"first_response": 30},
        }
    ),
    policy_from_dict({"id": "chat", "when": {"channel": ["chat", "social"]}, "targets": {"first_response": 5}}),
    policy_from_dict({"id": "billing", "when": {"queue": ["billing"]}, "targets": {"resolution": 2880}}),
    policy_from_dict({"id": "default", "targets": {"first_response": 240, "resolution": 4320}}),
]


def facts(**changes: Any) -> TicketFacts:
    base: dict[str, Any] = {"priority": Priority.NORMAL, "channel": Channel.EMAIL}
    return TicketFacts(**(base | changes))


@pytest.mark.parametrize(
    ("ticket", "expected"),
    [
        (facts(key_account=True, channel=Channel.CHAT), "key-accounts"),
        (facts(account_tier="enterprise", priority=Priority.URGENT), "enterprise-urgent"),
        (facts(account_tier="enterprise", priority=Priority.HIGH), "default"),
        (facts(account_tier="smb", priority=Priority.URGENT), "default"),
        (facts(channel=Channel.SOCIAL), "chat"),
        (facts(queue="billing"), "billing"),
        (facts(queue="billing", channel=Channel.CHAT), "chat"),
        (facts(), "default"),
    ],
)
def test_the_first_matching_policy_wins(ticket: TicketFacts, expected: str) -> None:
    chosen = select_policy(POLICIES, ticket)
    assert chosen is not None and chosen.id == expected


def test_no_policy_matches_when_none_is_a_catch_all() -> None:
    assert select_policy(POLICIES[:2], facts()) is None


def test_no_conditions_match_everything_and_every_given_condition_must_hold() -> None:
    assert Conditions().matches(facts())
    both = Conditions(priorities=frozenset({Priority.HIGH}), channels=frozenset({Channel.PHONE}))
    assert both.matches(facts(priority=Priority.HIGH, channel=Channel.PHONE))
    assert not both.matches(facts(priority=Priority.HIGH))
    assert Conditions(key_account=False).matches(facts()) and not Conditions(key_account=False).matches(
        facts(key_account=True)
    )


def test_defaults_warn_at_75_and_90_percent_pause_on_pending_and_on_hold_and_resume_on_reopen() -> None:
    policy = policy_from_dict({"id": "p", "targets": {"resolution": 60}})
    assert policy.warning_fractions == (0.75, 0.9)
    assert policy.pause_on == {TicketStatus.PENDING, TicketStatus.ON_HOLD}
    assert policy.reopen is ReopenRule.RESUME
    assert policy.version == 1 and policy.calendar_id == "default"
    assert policy.targets[SlaTarget.RESOLUTION] == TargetSpec(60, business_time=True)


def test_a_target_may_count_calendar_time() -> None:
    policy = policy_from_dict({"id": "p", "targets": {"next_response": {"minutes": 60, "business_time": False}}})
    assert policy.targets[SlaTarget.NEXT_RESPONSE] == TargetSpec(60, business_time=False)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"targets": {}}, "has no targets"),
        ({"targets": {"first_response": 0}}, "first_response must be a positive whole number of minutes, got 0"),
        ({"targets": {"resolution": -5}}, "positive whole number"),
        ({"targets": {"resolution": 1.5}}, "positive whole number"),
        ({"targets": {"first_response": True}}, "positive whole number"),
        ({"targets": {"first_reply": 10}}, "unknown SlaTarget 'first_reply'"),
        ({"warnings": [0.9, 0.75]}, "must be strictly increasing"),
        ({"warnings": [0.5, 0.5]}, "must be strictly increasing"),
        ({"warnings": [0.75, 1.0]}, "strictly between 0 and 1"),
        ({"warnings": [0]}, "strictly between 0 and 1"),
        ({"warnings": ["soon"]}, "is not a number"),
        ({"pause_on": ["waiting"]}, "unknown TicketStatus 'waiting'"),
        ({"pause_on": ["solved"]}, "solved stops the clocks"),
        ({"reopen": "rewind"}, "unknown ReopenRule 'rewind'"),
        ({"version": 0}, "version must be an integer >= 1"),
        ({"id": ""}, "policy id must be a non-empty string"),
        ({"calendar": ""}, "business-time targets need a calendar id"),
        ({"when": {"priority": ["critical"]}}, "unknown Priority 'critical'"),
        ({"when": {"key_account": "yes"}}, "key_account must be true or false"),
        ({"when": {"weekday": ["mon"]}}, "unknown keys \\['weekday'\\]"),
        ({"target": {"resolution": 60}}, "unknown keys \\['target'\\]"),
    ],
)
def test_a_bad_policy_is_refused_with_the_precise_reason(changes: dict[str, Any], message: str) -> None:
    data = {"id": "standard", "version": 2, "targets": {"first_response": 60, "resolution": 480}} | changes
    with pytest.raises(PolicyError, match=message):
        policy_from_dict(data)


def test_policies_built_in_code_are_validated_too() -> None:
    with pytest.raises(PolicyError, match=r"fraction 1\.5"):
        Policy("p", 1, "P", {SlaTarget.RESOLUTION: TargetSpec(60)}, warning_fractions=(0.5, 1.5))
    with pytest.raises(PolicyError, match="unknown status in pause_on 'later'"):
        Policy("p", 1, "P", {SlaTarget.RESOLUTION: TargetSpec(60)}, pause_on=frozenset({"later"}))  # type: ignore[arg-type]
