"""The roster a team lead edits: agents, teams and queues are checked before they are used."""

from __future__ import annotations

import pytest
from switchboard.events.common import Channel, Department, Tier
from switchboard.events.routing import EscalationTrigger
from switchboard.routing.domain.roster import (
    Agent,
    EscalationPolicy,
    Queue,
    Roster,
    RosterError,
    Team,
    build_roster,
    roster_problems,
    validate_roster,
)
from switchboard.routing.domain.skills import merge_skills, skills_from_wire, skills_to_wire

pytestmark = pytest.mark.unit

SKILLS = ("billing", "turkish", "api")


def ayse(**overrides: object) -> Agent:
    fields: dict[str, object] = {
        "agent_id": "ayse",
        "name": "Ayşe Yılmaz",
        "skills": {"billing": 3, "turkish": 5},
        "languages": frozenset({"tr", "en"}),
        "teams": frozenset({"billing-team"}),
        "capacity": {Channel.CHAT: 2, Channel.EMAIL: 8},
    }
    return Agent(**(fields | overrides))  # type: ignore[arg-type]


def a_roster(*agents: Agent, queues: tuple[Queue, ...] = ()) -> Roster:
    return build_roster(
        agents=agents or (ayse(),),
        teams=[Team("billing-team", "Billing")],
        queues=queues or (Queue("billing", "billing-team"),),
        skills=SKILLS,
    )


def test_a_consistent_roster_is_accepted_as_it_is() -> None:
    roster = a_roster()

    assert validate_roster(roster) is roster
    assert roster.queue("billing").team_id == "billing-team"
    assert [agent.agent_id for agent in roster.members("billing-team")] == ["ayse"]


def test_an_agent_with_a_skill_missing_from_the_catalogue_is_refused_with_the_known_skills() -> None:
    with pytest.raises(RosterError) as refused:
        a_roster(ayse(skills={"biling": 2}))

    assert refused.value.problems == ("agent 'ayse': unknown skill 'biling' (known: api, billing, turkish)",)


def test_skill_levels_go_from_one_to_five() -> None:
    with pytest.raises(RosterError, match="skill 'billing' has level 6, levels go from 1 to 5"):
        a_roster(ayse(skills={"billing": 6}))
    with pytest.raises(RosterError, match="level 0"):
        a_roster(ayse(skills={"billing": 0}))


def test_a_negative_capacity_is_refused() -> None:
    with pytest.raises(RosterError, match="capacity for chat is -1, it cannot be negative"):
        a_roster(ayse(capacity={Channel.CHAT: -1}))


def test_an_agent_in_an_unknown_team_is_refused() -> None:
    with pytest.raises(RosterError, match=r"agent 'ayse': unknown team 'sales-team' \(known: billing-team\)"):
        a_roster(ayse(teams=frozenset({"sales-team"})))


def test_a_queue_of_an_unknown_team_or_with_unknown_skills_is_refused_with_every_problem() -> None:
    queue = Queue("vip", "vip-team", required_skills={"kyc": 2}, response_limit_minutes=0)

    with pytest.raises(RosterError) as refused:
        a_roster(queues=(queue,))

    assert refused.value.problems == (
        "queue 'vip': unknown team 'vip-team' (known: billing-team)",
        "queue 'vip': unknown skill 'kyc' (known: api, billing, turkish)",
        "queue 'vip': response limit must be a positive number of minutes",
    )


def test_an_escalation_policy_must_name_queues_that_exist() -> None:
    policy = EscalationPolicy(tier_queues={Tier.L2: "billing-l2"})

    with pytest.raises(RosterError, match="escalation to L2: unknown queue 'billing-l2'"):
        a_roster(queues=(Queue("billing", "billing-team", escalation=policy),))


def test_two_agents_with_the_same_id_are_refused() -> None:
    with pytest.raises(RosterError, match="duplicate agent id 'ayse'"):
        a_roster(ayse(), ayse(name="Another Ayşe"))


def test_asking_for_an_unknown_queue_or_team_names_the_known_ones() -> None:
    roster = a_roster()

    with pytest.raises(RosterError, match=r"unknown queue 'biling' \(known: billing\)"):
        roster.queue("biling")
    with pytest.raises(RosterError, match=r"unknown team 'x' \(known: billing-team\)"):
        roster.team("x")


def test_a_roster_filed_under_the_wrong_ids_is_inconsistent() -> None:
    roster = Roster(
        agents={"mehmet": ayse()}, teams={"billing-team": Team("billing-team", "Billing")}, skills=frozenset(SKILLS)
    )

    assert roster_problems(roster) == ["agent 'ayse' is filed under id 'mehmet'"]


def test_an_agent_speaks_every_regional_variant_of_their_languages() -> None:
    agent = ayse(languages=frozenset({"en-US", "tr"}))

    assert agent.speaks("en-GB")
    assert agent.speaks("TR-tr")
    assert agent.speaks(None)
    assert not agent.speaks("az")


def test_a_channel_without_capacity_takes_no_tickets() -> None:
    assert ayse().capacity_for(Channel.PHONE) == 0
    assert ayse().capacity_for(Channel.CHAT) == 2


def test_roster_mappings_cannot_be_changed_in_place_and_iterate_in_key_order() -> None:
    agent = ayse(skills={"turkish": 2, "billing": 1})

    assert list(agent.skills) == ["billing", "turkish"]
    with pytest.raises(TypeError):
        agent.skills["api"] = 5  # type: ignore[index]


def test_the_default_policy_escalates_on_breach_follow_up_and_agent_but_not_on_warning() -> None:
    policy = EscalationPolicy()

    assert set(policy.actions) == {EscalationTrigger.SLA_BREACH, EscalationTrigger.FOLLOW_UP, EscalationTrigger.AGENT}
    assert policy.beyond_top is None
    assert EscalationPolicy(beyond_top=Department.ENGINEERING).beyond_top == Department.ENGINEERING


def test_skill_requirements_merge_at_the_highest_level_asked() -> None:
    assert dict(merge_skills({"billing": 2}, {"billing": 4, "turkish": 1})) == {"billing": 4, "turkish": 1}


def test_skills_travel_on_ticket_routed_as_skill_colon_level() -> None:
    wire = skills_to_wire({"turkish": 2, "billing": 3})

    assert wire == ("billing:3", "turkish:2")
    assert dict(skills_from_wire(wire)) == {"billing": 3, "turkish": 2}
    assert dict(skills_from_wire(("api",))) == {"api": 1}
