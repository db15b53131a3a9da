"""The routing rule set: parsed from YAML, it picks a ticket's queue, priority and required skills.

Format (a mapping; unknown keys are problems, so typos do not pass silently)::

    version: 3                        # the author's number, stamped on every decision
    default: {queue: general}         # required: where a ticket goes when no rule chose a queue
    rules:                            # tried in order; the first match decides ...
      - id: key-accounts
        when: {key_account: true}
        then: {priority: {raise_to: high}, skills: {key_accounts: 2}}
        continue: true                # ... unless it says `continue`: then later rules add to it
      - id: turkish-billing
        when:                         # every condition must hold
          language: tr                # covers tr-TR too
          subject_words: {any: ["fatura*", "iade*", ödeme]}   # '*' = prefix; case and i/ı/İ/I folded
        then: {queue: billing, priority: high, skills: {billing: 3, turkish: 2}}

Conditions: `channel`, `category`, `language`, `account_tier`, `priority` (one value or a list: any of them),
`key_account` (true/false), `tags` and `subject_words` (a list meaning any, or `{any: [...], all: [...]}`).
Outcomes: `queue`, `priority` (`high`, `{set: high}` or `{raise_to: high}`), `skills` (`{skill: min level}` or a
list of skills at level 1).
"""

from .evaluate import Explanation, RuleTrace, explain, missing_from_roster, route
from .model import (
    Check,
    Decision,
    Outcome,
    PriorityChange,
    Problem,
    Rule,
    RuleSet,
    RuleSetError,
    TicketFacts,
    priority_rank,
)
from .parse import parse_rules

__all__ = [
    "Check",
    "Decision",
    "Explanation",
    "Outcome",
    "PriorityChange",
    "Problem",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "RuleTrace",
    "TicketFacts",
    "explain",
    "missing_from_roster",
    "parse_rules",
    "priority_rank",
    "route",
]
