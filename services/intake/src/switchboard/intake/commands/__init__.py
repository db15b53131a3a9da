"""Intake's use cases, one class per kind of subject: `Tickets`, `Customers`, `Accounts`, and `Channels` for the
channel webhooks. Each HTTP route calls exactly one of their methods.

A use case gathers what the rules need (look-ups, reference numbers, ids derived from the request, the
language), lets the pure rules in `domain` decide through the runtime's `Decider` (load the subject from its
ledger in `store.py`, decide, append the commit with its outbox marker, retry a conflict), and returns the
answer (`Outcome`, or a document for reads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from switchboard.runtime.decider import Decider, Relay

from ..settings import IntakeSettings
from ..store import IntakeStore
from .channels import Channels
from .customers import Accounts, Customers
from .tickets import Tickets

__all__ = ["Accounts", "Channels", "Customers", "Intake", "Tickets"]


@dataclass(frozen=True)
class Intake:
    """All of intake's use cases over one store, sharing one `Decider` (so one lock per subject)."""

    tickets: Tickets
    customers: Customers
    accounts: Accounts
    channels: Channels

    @classmethod
    def create(
        cls,
        store: IntakeStore,
        *,
        relay: Relay,
        settings: IntakeSettings,
        clock: Callable[[], datetime] | None = None,
    ) -> Intake:
        decider = Decider(relay=relay, clock=clock)
        customers = Customers(store, decider, phone_region=settings.default_phone_region)
        tickets = Tickets(
            store, decider, customers, reference_prefix=settings.reference_prefix, languages=settings.languages
        )
        channels = Channels(
            store,
            tickets,
            customers,
            reference_prefix=settings.reference_prefix,
            window=timedelta(minutes=settings.channel_window_minutes),
            clock=decider.clock,
        )
        return cls(tickets=tickets, customers=customers, accounts=Accounts(store, decider), channels=channels)
