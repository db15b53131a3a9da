"""Saving routing rules: a rule set is accepted whole or refused with every mistake, each at its line and column."""

from __future__ import annotations

from textwrap import dedent

import pytest
from switchboard.events.common import Channel, Priority
from switchboard.routing.domain import rules
from switchboard.routing.domain.rules import PriorityChange, RuleSet, RuleSetError, parse_rules
from switchboard.routing.domain.rules.model import KeyAccount, OneOf, SubjectWords, Tags

pytestmark = pytest.mark.unit

QUEUES = ("billing", "general", "tech", "vip")
SKILLS = ("api", "billing", "key_accounts", "turkish")

EXAMPLE = """\
version: 3
description: Istanbul office routing
default:
  queue: general
rules:
  - id: key-accounts
    when: {key_account: true}
    then:
      priority: {raise_to: high}
      skills: {key_accounts: 2}
    continue: true
  - id: turkish-billing
    description: Turkish invoices and refunds
    when:
      language: tr
      channel: [email, chat]
      subject_words: {any: ["fatura*", "iade*", ödeme]}
    then: {queue: billing, priority: high, skills: {billing: 3, turkish: 2}}
  - id: api-errors
    when:
      tags: {all: [api, error]}
      account_tier: [enterprise, premium]
    then: {queue: tech, skills: [api]}
"""


def parse(text: str) -> RuleSet:
    return parse_rules(dedent(text), known_queues=QUEUES, known_skills=SKILLS)


def problems(text: str) -> list[str]:
    with pytest.raises(RuleSetError) as refused:
        parse(text)
    return [str(problem) for problem in refused.value.problems]


def test_a_well_formed_rule_set_keeps_its_rules_in_order_with_their_lines() -> None:
    rule_set = parse(EXAMPLE)

    assert rule_set.version == 3
    assert rule_set.default.queue == "general"
    assert [(rule.rule_id, rule.line) for rule in rule_set.rules] == [
        ("key-accounts", 6),
        ("turkish-billing", 12),
        ("api-errors", 19),
    ]
    key_accounts, turkish_billing, api_errors = rule_set.rules
    assert key_accounts.fall_through
    assert key_accounts.when == (KeyAccount(True, 7),)
    assert key_accounts.then.priority == PriorityChange("raise_to", Priority.HIGH)
    assert dict(turkish_billing.then.skills) == {"billing": 3, "turkish": 2}
    assert turkish_billing.description == "Turkish invoices and refunds"
    assert turkish_billing.when[1] == OneOf("channel", (Channel.EMAIL.value, Channel.CHAT.value), 16)
    assert isinstance(turkish_billing.when[2], SubjectWords)
    assert api_errors.when[0] == Tags("all", ("api", "error"), 21)
    assert dict(api_errors.then.skills) == {"api": 1}


def test_the_digest_tells_two_texts_apart_even_with_the_same_version() -> None:
    assert parse(EXAMPLE).digest == parse(EXAMPLE).digest
    assert parse(EXAMPLE).digest != parse(EXAMPLE.replace("priority: high", "priority: urgent")).digest


def test_a_typo_in_a_queue_name_points_at_its_line_and_suggests_the_right_one() -> None:
    text = EXAMPLE.replace("queue: billing", "queue: biling")

    assert problems(text) == [
        "line 18, column 19: unknown queue 'biling' (known: billing, general, tech, vip; did you mean 'billing'?)"
    ]


def test_every_mistake_is_reported_at_once_in_text_order() -> None:
    text = """\
        version: 0
        default: {queue: genral}
        rules:
          - id: x
            when: {chanel: email, language: no}
            then: {queue: tech, skills: {billng: 7}}
          - id: x
            when: {}
            then: {priority: {raise: high}}
        """

    assert problems(text) == [
        "line 1, column 10: version is 0, it must be at least 1",
        "line 2, column 18: unknown queue 'genral' (known: billing, general, tech, vip; did you mean 'general'?)",
        "line 5, column 12: rule 'x' when: unknown key 'chanel' (known: account_tier, category, channel, "
        "key_account, language, priority, subject_words, tags; did you mean 'channel'?)",
        "line 6, column 34: unknown skill 'billng' (known: api, billing, key_accounts, turkish; did you mean 'billing'?)",
        "line 6, column 42: level of skill 'billng' is 7, it must be from 1 to 5",
        "line 7, column 9: duplicate rule id 'x'",
        "line 8, column 11: rule 'x' when has no conditions (a rule that always matches belongs in 'default')",
        "line 9, column 23: priority: unknown key 'raise' (known: raise_to, set; did you mean 'raise_to'?)",
    ]


def test_a_default_rule_is_required() -> None:
    assert problems("version: 1\nrules: []\n") == ["line 1, column 1: rule set: missing 'default'"]


def test_the_default_must_name_a_queue() -> None:
    assert problems("version: 1\ndefault: {priority: high}\n") == ["line 2, column 10: default: missing 'queue'"]


def test_an_empty_text_is_refused() -> None:
    assert problems("") == ["line 1, column 1: the rule set is empty: it needs a version, a default and rules"]


def test_broken_yaml_is_refused_at_the_place_the_parser_stopped() -> None:
    (problem,) = problems("version: 1\ndefault: {queue: general\nrules: []\n")

    assert problem.startswith("line 3, column 6: not valid YAML:")


def at(text: str, line: int, token: str, message: str) -> str:
    """The problem as reported when it points at `token` on `line`: the column is where the token starts."""
    column = text.splitlines()[line - 1].index(token) + 1
    return f"line {line}, column {column}: {message}"


@pytest.mark.parametrize(
    ("condition", "token", "message"),
    [
        ("channel: fax", "fax", "unknown channel 'fax' (known: api, chat, email, phone, social, web_form)"),
        ("priority: [high, asap]", "asap", "unknown priority 'asap' (known: high, low, normal, urgent)"),
        ("language: turkish", "turkish", "'turkish' is not a language tag (e.g. 'tr', 'en-GB')"),
        ("key_account: maybe", "maybe", "key_account must be true or false"),
        ("category: []", "[]", "category must list at least one value"),
        ("tags: {some: [x]}", "some", "tags: unknown key 'some' (known: all, any)"),
        ("tags: {}", "{}", "tags needs 'any' or 'all'"),
        ("subject_words: ['?!']", "'?!'", "'?!' has no words to look for"),
        ("account_tier: ~", "~", "account_tier must be a non-empty text"),
    ],
)
def test_a_bad_condition_is_pointed_at_exactly(condition: str, token: str, message: str) -> None:
    text = f"version: 1\ndefault: {{queue: general}}\nrules:\n  - id: r\n    when:\n      {condition}\n    then: {{queue: tech}}\n"

    assert problems(text) == [at(text, 6, token, message)]


@pytest.mark.parametrize(
    ("then", "token", "message"),
    [
        ("{}", "{}", "rule 'r' then does nothing: give a queue, a priority or skills"),
        ("{priority: {set: high, raise_to: urgent}}", "{set", "priority takes either 'set' or 'raise_to'"),
        ("{skills: {billing: high}}", "high", "level of skill 'billing' must be a whole number"),
        ("{skills: [api, api]}", "api]", "skill 'api' is listed twice"),
        (
            "{queue: tech, escalate: L2}",
            "escalate",
            "rule 'r' then: unknown key 'escalate' (known: priority, queue, skills)",
        ),
    ],
)
def test_a_bad_outcome_is_pointed_at_exactly(then: str, token: str, message: str) -> None:
    text = (
        f"version: 1\ndefault: {{queue: general}}\nrules:\n  - id: r\n    when: {{channel: chat}}\n    then: {then}\n"
    )

    assert problems(text) == [at(text, 6, token, message)]


def test_a_rule_without_an_id_when_or_then_is_refused() -> None:
    text = "version: 1\ndefault: {queue: general}\nrules:\n  - when: {channel: chat}\n"

    assert problems(text) == ["line 4, column 5: rule: missing 'id'", "line 4, column 5: rule: missing 'then'"]


def test_rule_ids_are_short_plain_names() -> None:
    text = "version: 1\ndefault: {queue: general}\nrules:\n  - {id: 'two words', when: {channel: chat}, then: {queue: tech}}\n"

    assert problems(text) == [
        at(text, 4, "'two words'", "rule id 'two words' may use letters, digits and _ . : - (up to 64)")
    ]


def test_rules_must_be_a_list() -> None:
    assert problems("version: 1\ndefault: {queue: general}\nrules: {id: x}\n") == [
        "line 3, column 8: rules must be a list"
    ]


def test_a_duplicated_key_is_a_mistake_not_a_silent_override() -> None:
    text = "version: 1\ndefault: {queue: general}\ndefault: {queue: tech}\n"

    assert problems(text) == ["line 3, column 1: rule set: duplicate key 'default'"]


def test_yaml_booleans_do_not_swallow_norwegian() -> None:
    text = "version: 1\ndefault: {queue: general}\nrules:\n  - {id: norsk, when: {language: no}, then: {queue: tech}}\n"

    (rule,) = parse(text).rules

    assert rule.when == (OneOf("language", ("no",), 4),)


def test_skills_may_be_given_as_a_list_at_level_one_and_the_default_may_set_them() -> None:
    text = "version: 1\ndefault: {queue: general, priority: low, skills: [turkish]}\n"

    rule_set = parse(text)

    assert rule_set.rules == ()
    assert dict(rule_set.default.skills) == {"turkish": 1}
    assert rule_set.default.priority == PriorityChange("set", Priority.LOW)


def test_the_example_in_the_documentation_parses() -> None:
    doc = rules.__doc__ or ""
    example = dedent(doc.split("::\n\n", 1)[1].split("\n\n", 1)[0])

    rule_set = parse(example)

    assert [rule.rule_id for rule in rule_set.rules] == ["key-accounts", "turkish-billing"]


def test_a_condition_block_with_only_a_typo_reports_the_typo_alone() -> None:
    text = "version: 1\ndefault: {queue: general}\nrules:\n  - {id: r, when: {chanel: chat}, then: {queue: tech}}\n"

    assert problems(text) == [
        at(
            text,
            4,
            "chanel",
            "rule 'r' when: unknown key 'chanel' (known: account_tier, category, channel, "
            "key_account, language, priority, subject_words, tags; did you mean 'channel'?)",
        )
    ]


def test_yaml_aliases_are_refused_so_a_small_text_cannot_expand_into_a_huge_one() -> None:
    text = """\
        version: 1
        default: {queue: general}
        rules:
          - id: a
            when: &chat {channel: chat}
            then: {queue: tech}
          - id: b
            when: *chat
            then: {queue: vip}
        """

    assert problems(text) == [
        "line 5, column 11: anchors and aliases (&name, *name) are not supported in rule sets: write the values out"
    ]
