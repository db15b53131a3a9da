"""One ticket's SLA clocks as a pure state machine.

Fold inputs with `decide(state, input, now=..., policies=..., calendars=...)`, which returns the new state and
the `support.sla` events to publish; arm the ticket's timer at `next_due(state)` and, when it fires, decide a
`Tick(at)`; serve `view(state, now, calendars=...)`.
"""

from .decide import decide, input_key, reapply
from .state import Clock, ClockState, LateInput, Pause, SlaInput, Tick, TicketClocks
from .view import TargetView, TicketSlaView, next_due, view

__all__ = [
    "Clock",
    "ClockState",
    "LateInput",
    "Pause",
    "SlaInput",
    "TargetView",
    "Tick",
    "TicketClocks",
    "TicketSlaView",
    "decide",
    "input_key",
    "next_due",
    "reapply",
    "view",
]
