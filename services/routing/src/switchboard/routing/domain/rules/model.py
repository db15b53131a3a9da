"""What a routing rule set is made of: ticket facts, conditions, outcomes, rules and the decision they lead to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Literal

from switchboard.events.common import Channel, Priority
from switchboard.events.routing import TicketRouted
from switchboard.events.tickets import TicketOpened

from ..skills import Skills, skills_to_wire
from ..text import fold, language_covers, words

PRIORITY_ORDER: tuple[Priority, ...] = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)


def priority_rank(priority: Priority) -> int:
    """LOW < NORMAL < HIGH < URGENT, as numbers."""
    return PRIORITY_ORDER.index(priority)


@dataclass(frozen=True)
class TicketFacts:
    """What rules may look at: the ticket as opened, plus its account's tier and key-account flag."""

    channel: Channel
    subject: str = ""
    category: str | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    account_tier: str | None = None
    key_account: bool = False
    priority: Priority = Priority.NORMAL

    @classmethod
    def from_opened(
        cls, event: TicketOpened, *, account_tier: str | None = None, key_account: bool = False
    ) -> TicketFacts:
        """Facts from `TicketOpened`; the account's tier and flag come from `AccountUpserted`, if known."""
        return cls(
            channel=event.channel,
            subject=event.subject,
            category=event.category,
            tags=event.tags,
            language=event.language,
            account_tier=account_tier,
            key_account=key_account,
            priority=event.priority,
        )

    # Every rule's conditions look at the same ticket: fold its subject and tags once, not once per rule.

    @cached_property
    def subject_words(self) -> tuple[str, ...]:
        """The subject's folded words, as subject conditions compare them."""
        return words(self.subject)

    @cached_property
    def folded_tags(self) -> frozenset[str]:
        """The tags, folded as tag conditions compare them."""
        return frozenset(fold(tag) for tag in self.tags)


# --- conditions -----------------------------------------------------------------------------------------------

Field = Literal["channel", "category", "language", "account_tier", "priority"]


@dataclass(frozen=True)
class Check:
    """One condition tried against one ticket: whether it held and, in words, what was compared."""

    condition: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class OneOf:
    """A ticket attribute equals one of the values (case-insensitive; a language covers its regional variants)."""

    field: Field
    values: tuple[str, ...]
    line: int

    def holds(self, facts: TicketFacts) -> bool:
        actual = getattr(facts, self.field)
        if actual is None:
            return False
        if self.field == "language":
            return any(language_covers(value, actual) for value in self.values)
        return fold(str(actual)) in self._folded

    @cached_property
    def _folded(self) -> frozenset[str]:
        return frozenset(fold(value) for value in self.values)

    def check(self, facts: TicketFacts) -> Check:
        actual = getattr(facts, self.field)
        detail = f"{self.field} is one of {', '.join(self.values)} (ticket: {actual or 'none'})"
        return Check(self.field, self.holds(facts), detail)


@dataclass(frozen=True)
class KeyAccount:
    """The ticket's account is (or is not) a key account."""

    value: bool
    line: int

    def holds(self, facts: TicketFacts) -> bool:
        return facts.key_account == self.value

    def check(self, facts: TicketFacts) -> Check:
        wanted = "a key account" if self.value else "not a key account"
        got = "key account" if facts.key_account else "not a key account"
        return Check("key_account", self.holds(facts), f"account is {wanted} (ticket: {got})")


@dataclass(frozen=True)
class Tags:
    """The ticket carries any (or all) of the tags, compared case-insensitively."""

    mode: Literal["any", "all"]
    tags: tuple[str, ...]
    line: int

    def holds(self, facts: TicketFacts) -> bool:
        present = facts.folded_tags
        hits = (fold(tag) in present for tag in self.tags)
        return any(hits) if self.mode == "any" else all(hits)

    def check(self, facts: TicketFacts) -> Check:
        shown = ", ".join(facts.tags) or "none"
        detail = f"tags include {self.mode} of {', '.join(self.tags)} (ticket: {shown})"
        return Check(f"tags.{self.mode}", self.holds(facts), detail)


@dataclass(frozen=True)
class Phrase:
    """Words to find in a row in the subject; a word written with a trailing '*' matches as a prefix."""

    text: str
    parts: tuple[tuple[str, bool], ...]

    @classmethod
    def parse(cls, text: str) -> Phrase:
        parts: list[tuple[str, bool]] = []
        for piece in text.split():
            found = words(piece)
            parts += [(word, piece.endswith("*") and i == len(found) - 1) for i, word in enumerate(found)]
        return cls(text, tuple(parts))

    def found_in(self, subject: tuple[str, ...]) -> bool:
        width = len(self.parts)
        if width == 1:  # most phrases are one word: no windows to slide
            part, prefix = self.parts[0]
            return any(word.startswith(part) for word in subject) if prefix else part in subject
        return width > 0 and any(
            all(
                word.startswith(part) if prefix else word == part
                for word, (part, prefix) in zip(subject[start : start + width], self.parts, strict=True)
            )
            for start in range(len(subject) - width + 1)
        )


@dataclass(frozen=True)
class SubjectWords:
    """The subject contains any (or all) of the phrases, whole words, whatever the case or the i."""

    mode: Literal["any", "all"]
    phrases: tuple[Phrase, ...]
    line: int

    def holds(self, facts: TicketFacts) -> bool:
        subject = facts.subject_words
        hits = (phrase.found_in(subject) for phrase in self.phrases)
        return any(hits) if self.mode == "any" else all(hits)

    def check(self, facts: TicketFacts) -> Check:
        listed = ", ".join(repr(p.text) for p in self.phrases)
        detail = f"subject has {self.mode} of {listed} (ticket: {facts.subject!r})"
        return Check(f"subject_words.{self.mode}", self.holds(facts), detail)


Condition = OneOf | KeyAccount | Tags | SubjectWords


# --- outcomes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorityChange:
    """Set the priority, or raise it to at least a level (never lowering it)."""

    mode: Literal["set", "raise_to"]
    priority: Priority

    def apply(self, current: Priority) -> Priority:
        if self.mode == "set":
            return self.priority
        return max(current, self.priority, key=priority_rank)


@dataclass(frozen=True)
class Outcome:
    """What a matching rule does: choose a queue, change the priority, require skills (with minimum levels)."""

    queue: str | None = None
    priority: PriorityChange | None = None
    skills: Skills = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """`when` all conditions hold, `then` apply the outcome; stop there unless `fall_through` (YAML `continue`)."""

    rule_id: str
    when: tuple[Condition, ...]
    then: Outcome
    fall_through: bool = False
    line: int = 0
    description: str | None = None


@dataclass(frozen=True)
class RuleSet:
    """Rules in order plus the fallback; `version` is the author's number, `digest` the SHA-256 of the text."""

    version: int
    rules: tuple[Rule, ...]
    default: Outcome
    digest: str = ""


@dataclass(frozen=True)
class Decision:
    """Where a ticket goes and why: `rule_id` chose the queue (None: the default did)."""

    queue: str
    priority: Priority
    skills: Skills
    rule_id: str | None
    version: int
    reasons: tuple[str, ...]
    matched: tuple[str, ...] = ()

    def to_event(self, *, ticket_id: str, language: str | None, routed_at: datetime) -> TicketRouted:
        """The `TicketRouted` payload announcing this decision (skills as 'skill:level')."""
        return TicketRouted(
            ticket_id=ticket_id,
            queue_id=self.queue,
            priority=self.priority,
            required_skills=skills_to_wire(self.skills),
            language=language,
            rule_id=self.rule_id,
            rule_set_version=self.version,
            routed_at=routed_at,
        )


# --- problems -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Problem:
    """Something wrong in the rule set text, pointing at the line and column (1-based) of the bad node."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class RuleSetError(ValueError):
    """The rule set was rejected as a whole; `problems` lists every reason, in text order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        super().__init__("\n".join(str(problem) for problem in self.problems))
