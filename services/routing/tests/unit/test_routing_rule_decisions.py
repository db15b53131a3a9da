"""Routing a ticket by the rules: which queue, priority and skills it gets, and why, in words a lead can check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from switchboard.events.common import Channel, Priority
from switchboard.events.tickets import Requester, TicketOpened
from switchboard.routing.domain.rules import RuleSet, TicketFacts, explain, parse_rules, route
from switchboard.routing.domain.text import fold, words

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)

RULES = """\
version: 4
default: {queue: general}
rules:
  - id: key-accounts
    when: {key_account: true}
    then: {priority: {raise_to: high}, skills: {key_accounts: 2}}
    continue: true
  - id: outage
    when:
      subject_words: {any: ["çalışmıyor", "not working", "down"]}
      tags: {any: [api, integration]}
    then: {queue: tech, priority: urgent, skills: {api: 2}}
  - id: turkish-billing
    when:
      language: tr
      subject_words: ["fatura*", "iade*", "ödeme"]
    then: {queue: billing, skills: {billing: 3, turkish: 2}}
  - id: enterprise-mail
    when:
      channel: email
      account_tier: [Enterprise, premium]
      category: [Billing, contracts]
    then: {queue: vip, priority: {set: low}}
"""


@pytest.fixture(scope="module")
def rule_set() -> RuleSet:
    return parse_rules(
        RULES,
        known_queues=("billing", "general", "tech", "vip"),
        known_skills=("api", "billing", "key_accounts", "turkish"),
    )


def ticket(**overrides: object) -> TicketFacts:
    fields: dict[str, object] = {"channel": Channel.EMAIL, "subject": "Merhaba"}
    return TicketFacts(**(fields | overrides))  # type: ignore[arg-type]


def test_a_ticket_no_rule_matches_goes_to_the_default_queue_as_it_came(rule_set: RuleSet) -> None:
    decision = route(rule_set, ticket(priority=Priority.LOW))

    assert (decision.queue, decision.priority, dict(decision.skills)) == ("general", Priority.LOW, {})
    assert decision.rule_id is None
    assert decision.version == 4
    assert decision.reasons == ("no rule chose a queue: default queue general",)


def test_the_first_matching_rule_decides_and_later_rules_are_not_applied(rule_set: RuleSet) -> None:
    facts = ticket(subject="API down since 9:00", tags=("api",), language="tr")

    decision = route(rule_set, facts)

    assert (decision.queue, decision.priority, decision.rule_id) == ("tech", Priority.URGENT, "outage")
    assert dict(decision.skills) == {"api": 2}


def test_a_rule_that_continues_adds_to_what_the_deciding_rule_does(rule_set: RuleSet) -> None:
    facts = ticket(subject="Faturamı göremiyorum", language="tr-TR", key_account=True, priority=Priority.NORMAL)

    decision = route(rule_set, facts)

    assert (decision.queue, decision.priority, decision.rule_id) == ("billing", Priority.HIGH, "turkish-billing")
    assert dict(decision.skills) == {"billing": 3, "key_accounts": 2, "turkish": 2}
    assert decision.matched == ("key-accounts", "turkish-billing")
    assert decision.reasons == (
        "rule 'key-accounts' matched: priority at least high; skills key_accounts>=2",
        "rule 'turkish-billing' matched: queue billing; skills billing>=3, turkish>=2",
    )


def test_raising_priority_never_lowers_an_urgent_ticket(rule_set: RuleSet) -> None:
    decision = route(rule_set, ticket(key_account=True, priority=Priority.URGENT))

    assert decision.priority == Priority.URGENT
    assert decision.queue == "general"


def test_setting_priority_may_lower_it(rule_set: RuleSet) -> None:
    facts = ticket(account_tier="enterprise", category="billing", priority=Priority.HIGH)

    assert route(rule_set, facts).priority == Priority.LOW


@pytest.mark.parametrize(
    "subject",
    [
        "İADE TALEBİ",  # capital dotted İ
        "IADE TALEBI",  # written on a keyboard without Turkish letters
        "ıade talebı",  # dotless ı where a dotted i belongs
        "iadem yapılmadı",  # suffix: 'iade*' is a prefix
        "Ödeme başarısız",
        "ÖDEME",
        "ｆａｔｕｒａ",  # full-width letters
        "Re: Fatura'nın kopyası",  # apostrophe before a suffix
    ],
)
def test_turkish_subjects_match_however_the_customer_typed_the_i(rule_set: RuleSet, subject: str) -> None:
    assert route(rule_set, ticket(subject=subject, language="tr")).queue == "billing"


@pytest.mark.parametrize("subject", ["Kaçırılan ödemeler", "Sipariş iptali", "faturasız"])
def test_whole_words_are_needed_unless_the_rule_asks_for_a_prefix(rule_set: RuleSet, subject: str) -> None:
    decision = route(rule_set, ticket(subject=subject, language="tr"))

    assert decision.queue == ("billing" if subject == "faturasız" else "general")


def test_a_phrase_matches_its_words_in_a_row(rule_set: RuleSet) -> None:
    matching = ticket(subject="Webhook NOT   working!", tags=("integration",))
    apart = ticket(subject="not sure the webhook is working", tags=("integration",))

    assert route(rule_set, matching).queue == "tech"
    assert route(rule_set, apart).queue == "general"


def test_values_compare_without_regard_to_case(rule_set: RuleSet) -> None:
    facts = ticket(account_tier="PREMIUM", category="CONTRACTS")

    assert route(rule_set, facts).rule_id == "enterprise-mail"


def test_a_language_rule_covers_regional_variants_but_not_other_languages(rule_set: RuleSet) -> None:
    assert route(rule_set, ticket(subject="fatura", language="TR-tr")).queue == "billing"
    assert route(rule_set, ticket(subject="fatura", language="az")).queue == "general"
    assert route(rule_set, ticket(subject="fatura", language=None)).queue == "general"


def test_explain_shows_for_every_rule_whether_it_matched_and_which_condition_failed(rule_set: RuleSet) -> None:
    facts = ticket(subject="İade", language="en", tags=("refund",))

    explanation = explain(rule_set, facts)

    assert explanation.decision == route(rule_set, facts)
    traces = {trace.rule_id: trace for trace in explanation.rules}
    assert [trace.rule_id for trace in explanation.rules] == [
        "key-accounts",
        "outage",
        "turkish-billing",
        "enterprise-mail",
    ]
    assert not any(trace.matched for trace in explanation.rules)
    (failed,) = traces["turkish-billing"].failed
    assert failed.condition == "language"
    assert failed.detail == "language is one of tr (ticket: en)"
    assert [check.condition for check in traces["outage"].failed] == ["subject_words.any", "tags.any"]
    assert traces["outage"].failed[1].detail == "tags include any of api, integration (ticket: refund)"
    assert traces["key-accounts"].checks[0].detail == "account is a key account (ticket: not a key account)"


def test_explain_shows_rules_shadowed_by_an_earlier_match_as_not_reached(rule_set: RuleSet) -> None:
    facts = ticket(subject="fatura down", language="tr", tags=("api",))

    traces = explain(rule_set, facts).rules

    assert [(t.rule_id, t.matched, t.reached, t.applied) for t in traces] == [
        ("key-accounts", False, True, False),
        ("outage", True, True, True),
        ("turkish-billing", True, False, False),
        ("enterprise-mail", False, False, False),
    ]


def test_a_decision_becomes_a_ticket_routed_event_with_skill_levels(rule_set: RuleSet) -> None:
    decision = route(rule_set, ticket(subject="fatura", language="tr"))

    event = decision.to_event(ticket_id="t-1", language="tr", routed_at=NOW)

    assert event.queue_id == "billing"
    assert event.required_skills == ("billing:3", "turkish:2")
    assert (event.rule_id, event.rule_set_version, event.routed_at) == ("turkish-billing", 4, NOW)


def test_facts_come_from_the_ticket_opened_event_and_the_account() -> None:
    opened = TicketOpened(
        ticket_id="t-1",
        reference="SB-1",
        subject="Fatura",
        channel=Channel.CHAT,
        requester=Requester(customer_id="c-1"),
        priority=Priority.HIGH,
        category="billing",
        tags=("refund",),
        language="tr",
        opened_at=NOW,
    )

    facts = TicketFacts.from_opened(opened, account_tier="enterprise", key_account=True)

    assert facts == TicketFacts(Channel.CHAT, "Fatura", "billing", ("refund",), "tr", "enterprise", True, Priority.HIGH)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("İSTANBUL", ("istanbul",)),
        ("ISPARTA ılık", ("isparta", "ilik")),
        ("Straße", ("strasse",)),
        ("Żółć", ("żółć",)),  # a dot above other letters stays: only the i's fold
        ("退款申请", ("退", "款", "申", "请")),  # no spaces between words: each character is a word
        ("e-mail@example.com", ("e", "mail", "example", "com")),
    ],
)
def test_words_are_folded_the_same_way_for_rules_and_subjects(text: str, expected: tuple[str, ...]) -> None:
    assert words(text) == expected


def test_a_phrase_in_a_script_without_spaces_matches_inside_a_sentence() -> None:
    rule_set = parse_rules(
        "version: 1\ndefault: {queue: general}\nrules:\n  - {id: refund, when: {subject_words: [退款]}, then: {queue: billing}}\n",
        known_queues=("billing", "general"),
        known_skills=(),
    )

    assert route(rule_set, ticket(subject="我要退款谢谢")).queue == "billing"


@given(st.text())
def test_folding_twice_changes_nothing_more(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text(max_size=40), st.sampled_from(list(Channel)), st.booleans(), st.sampled_from(list(Priority)))
def test_routing_the_same_ticket_twice_gives_the_same_decision(
    text: str, channel: Channel, key_account: bool, priority: Priority
) -> None:
    rule_set = parse_rules(
        RULES,
        known_queues=("billing", "general", "tech", "vip"),
        known_skills=("api", "billing", "key_accounts", "turkish"),
    )
    facts = ticket(subject=text, channel=channel, key_account=key_account, priority=priority, language="tr")

    assert route(rule_set, facts) == route(rule_set, facts) == explain(rule_set, facts).decision
