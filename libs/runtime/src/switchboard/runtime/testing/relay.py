"""A stand-in for the outbox relay in unit tests: it keeps every commit a use case hands it, in order."""

from __future__ import annotations

from dataclasses import dataclass, field

from switchboard.events import EventPayload, decode

from .values import Document


@dataclass
class RecordingRelay:
    """Satisfies `decider.Relay`; a test reads what would have been published from `commits` (or `events`)."""

    commits: list[Document] = field(default_factory=list)

    def submit(self, commit: Document) -> None:
        self.commits.append(commit)

    def subjects(self) -> list[str]:
        """Each commit's subject, in the order handed over."""
        return [c["subject"] for c in self.commits]

    @property
    def events(self) -> list[EventPayload]:
        """The events of every commit, decoded as a subscriber would receive them."""
        return [decode(r["value"], r["headers"]).data for c in self.commits for r in c["records"]]
