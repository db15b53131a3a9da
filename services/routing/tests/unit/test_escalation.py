"""Escalation: a ticket moves up L1 → L2 → L3 or to another department, once per cause, and says who and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from switchboard.events.common import Department, SlaTarget, Tier
from switchboard.events.feedback import FollowUpRequested
from switchboard.events.routing import EscalationTrigger, TicketEscalated, TicketHandedOff
from switchboard.events.sla import SlaBreached, SlaWarning
from switchboard.routing.domain.escalation import Cause, EscalationDecision, TicketTier, escalate
from switchboard.routing.domain.roster import EscalationPolicy

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DEADLINE = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLICY = EscalationPolicy(
    actions={
        EscalationTrigger.SLA_WARNING: "next_tier",
        EscalationTrigger.SLA_BREACH: Tier.L3,
        EscalationTrigger.FOLLOW_UP: "next_tier",
        EscalationTrigger.KEY_ACCOUNT: Tier.L2,
    },
    tier_queues={Tier.L2: "billing-l2", Tier.L3: "billing-l3"},
)
L1 = TicketTier("t-1")


def warning(**overrides: object) -> SlaWarning:
    fields: dict[str, object] = {
        "ticket_id": "t-1",
        "target": SlaTarget.FIRST_RESPONSE,
        "policy_id": "standard",
        "policy_version": 2,
        "fraction": 0.75,
        "deadline": DEADLINE,
        "warned_at": NOW,
    }
    return SlaWarning(**(fields | overrides))


def breach() -> SlaBreached:
    return SlaBreached(
        ticket_id="t-1",
        target=SlaTarget.RESOLUTION,
        policy_id="standard",
        policy_version=2,
        deadline=DEADLINE,
        breached_at=DEADLINE,
    )


def only(decisions: list[EscalationDecision]) -> TicketEscalated | TicketHandedOff:
    (decision,) = decisions
    return decision.event


def test_an_sla_warning_moves_the_ticket_one_tier_up_and_says_why() -> None:
    state, decisions = escalate(L1, Cause.sla_warning(warning(), event_id="ev-1"), POLICY, NOW)

    assert decisions == [
        EscalationDecision(
            TicketEscalated(
                ticket_id="t-1",
                from_tier=Tier.L1,
                to_tier=Tier.L2,
                trigger=EscalationTrigger.SLA_WARNING,
                triggered_by_id="ev-1",
                reason="SLA first_response target 75% used (policy standard v2); deadline 2026-11-23 10:00 UTC",
                escalated_at=NOW,
            ),
            queue_id="billing-l2",
        )
    ]
    assert state.tier == Tier.L2


def test_a_breach_goes_straight_to_the_tier_the_policy_names() -> None:
    state, decisions = escalate(L1, Cause.sla_breach(breach(), event_id="ev-2"), POLICY, NOW)

    event = only(decisions)
    assert isinstance(event, TicketEscalated)
    assert (event.from_tier, event.to_tier, event.trigger) == (Tier.L1, Tier.L3, EscalationTrigger.SLA_BREACH)
    assert event.reason == "SLA resolution target missed (policy standard v2); deadline was 2026-11-23 10:00 UTC"
    assert decisions[0].queue_id == "billing-l3"
    assert state.tier == Tier.L3


def test_the_same_cause_delivered_twice_escalates_once() -> None:
    cause = Cause.sla_warning(warning(), event_id="ev-1")
    state, first = escalate(L1, cause, POLICY, NOW)

    again, second = escalate(state, cause, POLICY, NOW + timedelta(minutes=1))

    assert len(first) == 1 and second == []
    assert again == state


def test_two_different_warnings_climb_two_tiers_and_no_further() -> None:
    state = L1
    tiers = []
    for n in range(4):
        state, decisions = escalate(state, Cause.sla_warning(warning(), event_id=f"ev-{n}"), POLICY, NOW)
        tiers += [(e.from_tier, e.to_tier) for d in decisions if isinstance(e := d.event, TicketEscalated)]

    assert tiers == [(Tier.L1, Tier.L2), (Tier.L2, Tier.L3)]
    assert state.tier == Tier.L3
    assert state.handled == {"ev-0", "ev-1", "ev-2", "ev-3"}


def test_at_l3_the_next_tier_is_the_department_the_policy_names() -> None:
    policy = EscalationPolicy(beyond_top=Department.ENGINEERING)
    at_top = TicketTier("t-1", Tier.L3)

    state, decisions = escalate(at_top, Cause.follow_up(follow_up(), event_id="ev-9"), policy, NOW)

    event = only(decisions)
    assert isinstance(event, TicketHandedOff)
    assert (event.to_department, event.trigger, event.triggered_by_id) == (
        Department.ENGINEERING,
        EscalationTrigger.FOLLOW_UP,
        "ev-9",
    )
    assert event.reason == "follow-up requested: CSAT 1: 'nobody called me back'"
    assert decisions[0].queue_id is None
    assert (state.tier, state.department) == (Tier.L3, Department.ENGINEERING)


def test_at_l3_without_a_department_to_hand_to_nothing_happens() -> None:
    state, decisions = escalate(TicketTier("t-1", Tier.L3), Cause.sla_warning(warning(), event_id="e"), POLICY, NOW)

    assert decisions == []
    assert state.tier == Tier.L3


def test_a_trigger_the_policy_does_not_list_changes_nothing() -> None:
    quiet = EscalationPolicy(actions={})

    for cause in (
        Cause.sla_warning(warning(), event_id="a"),
        Cause.sla_breach(breach(), event_id="b"),
        Cause.follow_up(follow_up(), event_id="c"),
        Cause.key_account_opened(event_id="d"),
    ):
        assert escalate(L1, cause, quiet, NOW)[1] == []


def test_the_default_policy_escalates_on_breach_but_only_notifies_on_warning() -> None:
    assert escalate(L1, Cause.sla_warning(warning(), event_id="a"), EscalationPolicy(), NOW)[1] == []
    assert len(escalate(L1, Cause.sla_breach(breach(), event_id="b"), EscalationPolicy(), NOW)[1]) == 1


def test_a_tier_never_goes_down() -> None:
    at_l3 = TicketTier("t-1", Tier.L3)

    assert escalate(at_l3, Cause.key_account_opened(event_id="ev-1"), POLICY, NOW)[1] == []


def test_a_key_account_ticket_starts_at_the_tier_the_policy_gives_key_accounts() -> None:
    state, decisions = escalate(
        L1, Cause.key_account_opened(event_id="opened-1", account_name="Acme A.Ş."), POLICY, NOW
    )

    event = only(decisions)
    assert isinstance(event, TicketEscalated)
    assert (event.to_tier, event.trigger, event.triggered_by_id) == (Tier.L2, EscalationTrigger.KEY_ACCOUNT, "opened-1")
    assert event.reason == "ticket opened by a key account (Acme A.Ş.)"
    assert state.tier == Tier.L2


def test_an_agent_may_escalate_one_tier_up_even_when_the_policy_says_nothing_about_agents() -> None:
    cause = Cause.by_agent(agent_id="ayse", request_id="req-1", reason="needs a refund approval")

    state, decisions = escalate(L1, cause, EscalationPolicy(actions={}), NOW)

    event = only(decisions)
    assert isinstance(event, TicketEscalated)
    assert (event.to_tier, event.trigger, event.triggered_by_id) == (Tier.L2, EscalationTrigger.AGENT, "ayse")
    assert event.reason == "escalated by agent ayse: needs a refund approval"
    assert state.tier == Tier.L2


def test_the_same_agent_escalating_twice_with_two_requests_climbs_twice() -> None:
    state, _ = escalate(L1, Cause.by_agent(agent_id="ayse", request_id="r-1", reason="x"), POLICY, NOW)
    state, _ = escalate(state, Cause.by_agent(agent_id="ayse", request_id="r-2", reason="y"), POLICY, NOW)

    assert state.tier == Tier.L3


def test_an_agent_may_hand_a_ticket_to_a_named_department_and_back() -> None:
    to_billing = Cause.by_agent(agent_id="ayse", request_id="r-1", reason="invoice dispute", target=Department.BILLING)
    state, decisions = escalate(L1, to_billing, POLICY, NOW)
    assert only(decisions) == TicketHandedOff(
        ticket_id="t-1",
        to_department=Department.BILLING,
        trigger=EscalationTrigger.AGENT,
        triggered_by_id="ayse",
        reason="escalated by agent ayse: invoice dispute",
        handed_off_at=NOW,
    )
    assert (state.tier, state.department) == (Tier.L1, Department.BILLING)
    assert escalate(state, Cause.sla_breach(breach(), event_id="ev-5"), POLICY, NOW)[1] == []

    back = Cause.by_agent(agent_id="ayse", request_id="r-2", reason="billing done", target=Department.SUPPORT)
    state, returned = escalate(state, back, POLICY, NOW)

    event = only(returned)
    assert isinstance(event, TicketHandedOff) and event.to_department == Department.SUPPORT
    assert state.department is None


def test_an_agent_naming_the_tier_the_ticket_is_already_at_changes_nothing() -> None:
    cause = Cause.by_agent(agent_id="ayse", request_id="r-1", reason="x", target=Tier.L1)

    assert escalate(L1, cause, POLICY, NOW)[1] == []


def test_a_long_reason_is_cut_to_what_the_event_allows() -> None:
    cause = Cause.by_agent(agent_id="ayse", request_id="r-1", reason="ş" * 600)

    event = only(escalate(L1, cause, POLICY, NOW)[1])

    assert len(event.reason) == 500
    assert event.reason.endswith("…")


def follow_up() -> FollowUpRequested:
    return FollowUpRequested(ticket_id="t-1", reason="CSAT 1: 'nobody called me back'", requested_at=NOW)


causes = st.one_of(
    st.builds(lambda n: Cause.sla_warning(warning(), event_id=f"w-{n}"), st.integers(0, 3)),
    st.builds(lambda n: Cause.sla_breach(breach(), event_id=f"b-{n}"), st.integers(0, 3)),
    st.builds(lambda n: Cause.follow_up(follow_up(), event_id=f"f-{n}"), st.integers(0, 3)),
    st.builds(
        lambda n, target: Cause.by_agent(agent_id="ayse", request_id=f"r-{n}", reason="x", target=target),
        st.integers(0, 3),
        st.sampled_from([None, *Tier, *Department]),
    ),
)


@given(st.lists(causes, max_size=12), st.sampled_from([None, *Department]))
def test_whatever_the_causes_tiers_only_climb_within_l1_to_l3_and_each_cause_acts_once(
    sequence: list[Cause], beyond: Department | None
) -> None:
    policy = EscalationPolicy(actions=POLICY.actions, beyond_top=beyond, tier_queues=POLICY.tier_queues)
    state, acted = L1, []
    for cause in sequence:
        before = state
        state, decisions = escalate(state, cause, policy, NOW)
        assert len(decisions) <= 1
        if decisions:
            acted.append(cause.cause_id)
            event = decisions[0].event
            if isinstance(event, TicketEscalated):
                assert event.from_tier == before.tier and [*Tier].index(event.to_tier) > [*Tier].index(event.from_tier)
        assert [*Tier].index(state.tier) >= [*Tier].index(before.tier)
    assert len(acted) == len(set(acted))
