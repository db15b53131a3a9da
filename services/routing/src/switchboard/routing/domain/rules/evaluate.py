"""Running a rule set over a ticket: the decision (`route`) and, for every rule, why it did or did not match."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ..skills import merge_skills
from .model import Check, Decision, Outcome, Rule, RuleSet, TicketFacts


@dataclass(frozen=True)
class RuleTrace:
    """How one rule fared: every condition's check, whether all held, and whether evaluation got that far.

    A rule after a matching rule that does not `continue` is not reached; it is still checked, so a lead can see
    rules that a broader rule above them shadows.
    """

    rule_id: str
    line: int
    matched: bool
    reached: bool
    checks: tuple[Check, ...]

    @property
    def applied(self) -> bool:
        return self.matched and self.reached

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.ok)


@dataclass(frozen=True)
class Explanation:
    """The decision plus a trace per rule, in rule order: the body of `POST /v1/routing/explain`."""

    decision: Decision
    rules: tuple[RuleTrace, ...]


def _checks(rule: Rule, facts: TicketFacts) -> tuple[Check, ...]:
    return tuple(condition.check(facts) for condition in rule.when)


def _describe(outcome: Outcome) -> str:
    parts = []
    if outcome.queue is not None:
        parts.append(f"queue {outcome.queue}")
    if outcome.priority is not None:
        verb = "priority" if outcome.priority.mode == "set" else "priority at least"
        parts.append(f"{verb} {outcome.priority.priority}")
    if outcome.skills:
        parts.append("skills " + ", ".join(f"{skill}>={level}" for skill, level in outcome.skills.items()))
    return "; ".join(parts) or "nothing"


def _decide(rule_set: RuleSet, facts: TicketFacts, traces: list[RuleTrace] | None) -> Decision:
    queue: str | None = None
    rule_id: str | None = None
    priority = facts.priority
    skills = merge_skills()
    reasons: list[str] = []
    matched: list[str] = []
    reached = True
    for rule in rule_set.rules:
        if traces is None and not reached:
            break
        if traces is None:  # only `explain` needs the checks' wording: `route` asks just whether they hold
            ok = all(condition.holds(facts) for condition in rule.when)
        else:
            checks = _checks(rule, facts)
            ok = all(check.ok for check in checks)
            traces.append(RuleTrace(rule.rule_id, rule.line, ok, reached, checks))
        if not (ok and reached):
            continue
        matched.append(rule.rule_id)
        reasons.append(f"rule '{rule.rule_id}' matched: {_describe(rule.then)}")
        if rule.then.queue is not None:
            queue, rule_id = rule.then.queue, rule.rule_id
        if rule.then.priority is not None:
            priority = rule.then.priority.apply(priority)
        skills = merge_skills(skills, rule.then.skills)
        reached = rule.fall_through
    if queue is None:
        default = rule_set.default
        queue = default.queue or ""
        if default.priority is not None:
            priority = default.priority.apply(priority)
        skills = merge_skills(skills, default.skills)
        reasons.append(f"no rule chose a queue: default {_describe(default)}")
    return Decision(queue, priority, skills, rule_id, rule_set.version, tuple(reasons), tuple(matched))


def route(rule_set: RuleSet, facts: TicketFacts) -> Decision:
    """The first matching rule decides (earlier `continue` rules add to it); the default when none chose a queue."""
    return _decide(rule_set, facts, None)


def explain(rule_set: RuleSet, facts: TicketFacts) -> Explanation:
    """The same decision as `route`, plus every rule's checks, including rules never reached."""
    traces: list[RuleTrace] = []
    decision = _decide(rule_set, facts, traces)
    return Explanation(decision, tuple(traces))


def missing_from_roster(rule_set: RuleSet, *, queues: Collection[str], skills: Collection[str]) -> list[str]:
    """What the rules name that a roster lacks, in rule order, worded for the lead who is changing the roster.

    Such a roster is still stored: the rules keep routing, the board sends tickets for a missing queue to the
    default queue, and a missing skill makes its tickets wait for someone who has it. The lead is told, to fix
    the rules or the roster.
    """
    found: list[str] = []
    for where, outcome in [
        *((f"rule '{r.rule_id}'", r.then) for r in rule_set.rules),
        ("the default", rule_set.default),
    ]:
        if outcome.queue is not None and outcome.queue not in queues:
            found.append(
                f"{where} routes to queue '{outcome.queue}', which the roster does not have: its tickets go to"
                " the default queue until the rules change"
            )
        found += [
            f"{where} asks for skill '{skill}', which the roster does not have: its tickets wait for an agent who has it"
            for skill in outcome.skills
            if skill not in skills
        ]
    return found
