"""Sets in stored state, written in sorted order: a ticket's clocks are the same bytes whichever process wrote them.

A frozenset is written (as a JSON list) in its iteration order, and string hashing is randomised per process, so
two replicas deciding the same input stored `pause_on: ["pending", "on_hold"]` and `["on_hold", "pending"]`: equal
state, different documents (the SLA benchmark's byte-for-byte fidelity check caught it). Sorting costs nothing at
these sizes and makes a stored document a function of the state alone.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import PlainSerializer

T = TypeVar("T")


def _in_order(values: frozenset[Any]) -> list[Any]:
    return sorted(values)


#: A frozenset that is stored sorted.
SortedSet = Annotated[frozenset[T], PlainSerializer(_in_order)]
