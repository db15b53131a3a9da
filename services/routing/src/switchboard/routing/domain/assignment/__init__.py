"""Assignment: which agent holds which ticket, under capacity, presence and response limits.

The board is one value for all agents and tickets; each `on_*` reaction takes it with one input and `now` and
returns the next board plus the `TicketAssigned`/`TicketUnassigned` payloads to publish, in order (and a
`TicketRouted` saying why, when the board moves a ticket whose queue is not on the roster to the default queue).
"""

from .board import (
    AssignmentDecision,
    Board,
    PickStrategy,
    ReleaseReason,
    RoutedTicket,
    Seat,
    Slot,
    UnassignReason,
    empty_board,
    wait_order,
)
from .pick import candidates, fits, pick, utilisation
from .reactions import (
    AssignmentError,
    BoardAndDecisions,
    assign_manually,
    on_agent_responded,
    on_no_response,
    on_presence,
    on_released,
    on_roster_changed,
    on_routed,
)

__all__ = [
    "AssignmentDecision",
    "AssignmentError",
    "Board",
    "BoardAndDecisions",
    "PickStrategy",
    "ReleaseReason",
    "RoutedTicket",
    "Seat",
    "Slot",
    "UnassignReason",
    "assign_manually",
    "candidates",
    "empty_board",
    "fits",
    "on_agent_responded",
    "on_no_response",
    "on_presence",
    "on_released",
    "on_roster_changed",
    "on_routed",
    "pick",
    "utilisation",
    "wait_order",
]
