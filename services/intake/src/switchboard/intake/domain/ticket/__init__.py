"""A ticket's life: its state and the fold of its events (`state`), the commands (`commands`), and the rules
that decide which events a command produces (`rules`)."""

from switchboard.events.tickets import CustomFields

from .commands import ChangeStatus, Command, MergeInto, OpenTicket, RecordInteraction, UpdateTicket
from .rules import PUBLIC_KINDS, TRANSITIONS, check_merge_target, decide
from .state import Ticket, evolve, fold

__all__ = [
    "PUBLIC_KINDS",
    "TRANSITIONS",
    "ChangeStatus",
    "Command",
    "CustomFields",
    "MergeInto",
    "OpenTicket",
    "RecordInteraction",
    "Ticket",
    "UpdateTicket",
    "check_merge_target",
    "decide",
    "evolve",
    "fold",
]
