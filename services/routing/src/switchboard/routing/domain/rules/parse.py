"""Parsing a rule set from YAML text: all or nothing, with every problem pointing at its line and column."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Literal

import yaml
from switchboard.events.common import Channel, Priority
from yaml.nodes import MappingNode, Node, SequenceNode

from .._frozen import freeze
from ..skills import MAX_LEVEL, MIN_LEVEL
from .model import (
    Condition,
    KeyAccount,
    OneOf,
    Outcome,
    Phrase,
    PriorityChange,
    Problem,
    Rule,
    RuleSet,
    RuleSetError,
    SubjectWords,
    Tags,
)
from .nodes import Reader, suggest

_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_CHANNELS = [channel.value for channel in Channel]
_PRIORITIES = [priority.value for priority in Priority]
_ONE_OF: tuple[Literal["channel", "category", "language", "account_tier", "priority"], ...] = (
    "channel",
    "category",
    "language",
    "account_tier",
    "priority",
)
_CONDITIONS = (*_ONE_OF, "key_account", "tags", "subject_words")


def parse_rules(text: str, *, known_queues: Iterable[str] | None, known_skills: Iterable[str] | None) -> RuleSet:
    """The rule set in `text`, or a `RuleSetError` listing every problem found (the set is never half-loaded).

    `known_queues` and `known_skills` come from the roster, so that a typo ('biling') is caught when the rules
    are saved, not when the first ticket is routed to a queue that does not exist. None skips that check: a
    stored rule set was checked when it was saved, and a roster changed since (a queue removed) must not stop
    it from loading; the board sends tickets for a queue it no longer has to the default queue.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise RuleSetError([Problem(line, column, f"not valid YAML: {error.problem or error}")]) from error
    except yaml.YAMLError as error:
        raise RuleSetError([Problem(1, 1, f"not valid YAML: {error}")]) from error
    if root is None:
        raise RuleSetError([Problem(1, 1, "the rule set is empty: it needs a version, a default and rules")])
    shared = _shared_node(root)
    if shared is not None:
        mark = shared.start_mark
        message = "anchors and aliases (&name, *name) are not supported in rule sets: write the values out"
        raise RuleSetError([Problem(mark.line + 1, mark.column + 1, message)])
    parser = _Parser(
        None if known_queues is None else frozenset(known_queues),
        None if known_skills is None else frozenset(known_skills),
    )
    rule_set = parser.rule_set(root, hashlib.sha256(text.encode()).hexdigest())
    if parser.problems or rule_set is None:
        raise RuleSetError(parser.problems)
    return rule_set


def _shared_node(root: Node) -> Node | None:
    """A node reached twice, i.e. through an alias: refused, as aliases let a small text expand enormously."""
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            return node
        seen.add(id(node))
        if isinstance(node, MappingNode):
            pending += [child for pair in node.value for child in pair]
        elif isinstance(node, SequenceNode):
            pending += node.value
    return None


class _Parser(Reader):
    def __init__(self, queues: frozenset[str] | None, skills: frozenset[str] | None) -> None:
        super().__init__()
        self.queues = queues
        self.skills = skills
        self.rule_ids: set[str] = set()

    def named(self, node: Node, what: str, known: frozenset[str] | None) -> str | None:
        """A queue or skill name, one of `known` unless that is None (not checked)."""
        return self.text(node, what) if known is None else self.choice(node, what, known)

    def rule_set(self, root: Node, digest: str) -> RuleSet | None:
        top = self.mapping(root, "rule set", required=("version", "default"), optional=("rules", "description"))
        if top is None:
            return None
        version = self.integer(top["version"], "version", 1) if "version" in top else None
        default = self.outcome(top["default"], "default", needs_queue=True) if "default" in top else None
        rules: list[Rule] = []
        if "rules" in top:
            node = top["rules"]
            if not isinstance(node, SequenceNode):
                self.fail(node, "rules must be a list")
            else:
                rules = [rule for rule in map(self.rule, node.value) if rule is not None]
        if version is None or default is None:
            return None
        return RuleSet(version=version, rules=tuple(rules), default=default, digest=digest)

    def rule(self, node: Node) -> Rule | None:
        fields = self.mapping(node, "rule", required=("id", "when", "then"), optional=("continue", "description"))
        if fields is None:
            return None
        rule_id = self.text(fields["id"], "rule id") if "id" in fields else None
        if rule_id is not None and not _RULE_ID.fullmatch(rule_id):
            self.fail(fields["id"], f"rule id '{rule_id}' may use letters, digits and _ . : - (up to 64)")
            rule_id = None
        elif rule_id is not None and rule_id in self.rule_ids:
            self.fail(fields["id"], f"duplicate rule id '{rule_id}'")
        elif rule_id is not None:
            self.rule_ids.add(rule_id)
        where = f"rule '{rule_id}'" if rule_id else "rule"
        when = self.conditions(fields["when"], f"{where} when") if "when" in fields else None
        then = self.outcome(fields["then"], f"{where} then", needs_queue=False) if "then" in fields else None
        fall_through = self.boolean(fields["continue"], "continue") if "continue" in fields else False
        description = self.text(fields["description"], "description") if "description" in fields else None
        if rule_id is None or when is None or then is None or fall_through is None:
            return None
        return Rule(rule_id, when, then, fall_through, node.start_mark.line + 1, description)

    def conditions(self, node: Node, what: str) -> tuple[Condition, ...] | None:
        before = len(self.problems)
        fields = self.mapping(node, what, optional=_CONDITIONS)
        if fields is None:
            return None
        if not fields:
            if len(self.problems) == before:
                self.fail(node, f"{what} has no conditions (a rule that always matches belongs in 'default')")
            return None
        found: list[Condition | None] = []
        for name, value in fields.items():
            line = value.start_mark.line + 1
            if name == "key_account":
                flag = self.boolean(value, name)
                found.append(None if flag is None else KeyAccount(flag, line))
            elif name in ("tags", "subject_words"):
                found += self.word_conditions(name, value)
            else:
                field = next(f for f in _ONE_OF if f == name)
                found.append(self.one_of(field, value))
        if any(condition is None for condition in found):
            return None
        return tuple(condition for condition in found if condition is not None)

    def one_of(
        self, field: Literal["channel", "category", "language", "account_tier", "priority"], node: Node
    ) -> OneOf | None:
        values: list[str | None] = []
        for value, item in self.texts(node, field):
            if field == "channel" and value not in _CHANNELS:
                self.fail(item, f"unknown channel '{value}'" + suggest(value, _CHANNELS))
                values.append(None)
            elif field == "priority" and value not in _PRIORITIES:
                self.fail(item, f"unknown priority '{value}'" + suggest(value, _PRIORITIES))
                values.append(None)
            elif field == "language" and not _LANGUAGE.fullmatch(value):
                self.fail(item, f"'{value}' is not a language tag (e.g. 'tr', 'en-GB')")
                values.append(None)
            else:
                values.append(value)
        if not values or None in values:
            return None
        return OneOf(field, tuple(v for v in values if v is not None), node.start_mark.line + 1)

    def word_conditions(self, name: str, node: Node) -> list[Condition | None]:
        if isinstance(node, MappingNode):
            before = len(self.problems)
            modes = self.mapping(node, name, optional=("any", "all")) or {}
            if not modes:
                if len(self.problems) == before:
                    self.fail(node, f"{name} needs 'any' or 'all'")
                return [None]
        else:
            modes = {"any": node}
        found: list[Condition | None] = []
        for mode, value in modes.items():
            kind: Literal["any", "all"] = "all" if mode == "all" else "any"
            items = self.texts(value, f"{name}.{mode}")
            line = value.start_mark.line + 1
            if not items:
                found.append(None)
            elif name == "tags":
                found.append(Tags(kind, tuple(text for text, _ in items), line))
            else:
                phrases = [Phrase.parse(text) for text, _ in items]
                for phrase, (_, item) in zip(phrases, items, strict=True):
                    if not phrase.parts:
                        self.fail(item, f"'{phrase.text}' has no words to look for")
                found.append(SubjectWords(kind, tuple(phrases), line) if all(p.parts for p in phrases) else None)
        return found

    def outcome(self, node: Node, what: str, *, needs_queue: bool) -> Outcome | None:
        required = ("queue",) if needs_queue else ()
        optional = ("priority", "skills") if needs_queue else ("queue", "priority", "skills")
        fields = self.mapping(node, what, required=required, optional=optional)
        if fields is None:
            return None
        if not fields:
            self.fail(node, f"{what} does nothing: give a queue, a priority or skills")
            return None
        queue = self.named(fields["queue"], "queue", self.queues) if "queue" in fields else None
        priority = self.priority_change(fields["priority"]) if "priority" in fields else None
        skills = self.required_skills(fields["skills"]) if "skills" in fields else {}
        bad = ("queue" in fields and queue is None) or ("priority" in fields and priority is None) or skills is None
        if bad or (needs_queue and queue is None):
            return None
        return Outcome(queue, priority, freeze(skills or {}))

    def priority_change(self, node: Node) -> PriorityChange | None:
        if not isinstance(node, MappingNode):
            value = self.choice(node, "priority", _PRIORITIES)
            return None if value is None else PriorityChange("set", Priority(value))
        before = len(self.problems)
        fields = self.mapping(node, "priority", optional=("set", "raise_to"))
        if not fields or len(fields) != 1:
            if len(self.problems) == before:
                self.fail(node, "priority takes either 'set' or 'raise_to'")
            return None
        ((mode, value_node),) = fields.items()
        value = self.choice(value_node, "priority", _PRIORITIES)
        if value is None:
            return None
        return PriorityChange("set" if mode == "set" else "raise_to", Priority(value))

    def required_skills(self, node: Node) -> dict[str, int] | None:
        """`{billing: 3, turkish: 2}` (minimum levels) or `[billing, turkish]` (level 1 each)."""
        before = len(self.problems)
        pairs: list[tuple[str | None, Node, int | None]] = []
        if isinstance(node, MappingNode):
            for key, value in node.value:
                name = self.named(key, "skill", self.skills)
                level = self.integer(value, f"level of skill '{key.value}'", MIN_LEVEL, MAX_LEVEL)
                pairs.append((name, key, level))
            if not pairs:
                self.fail(node, "skills must name at least one skill")
        else:
            pairs = [
                (self.named(item, "skill", self.skills), item, MIN_LEVEL) for _, item in self.texts(node, "skills")
            ]
        found: dict[str, int] = {}
        for name, key, level in pairs:
            if name is not None and name in found:
                self.fail(key, f"skill '{name}' is listed twice")
            elif name is not None and level is not None:
                found[name] = level
        return found if len(self.problems) == before else None
