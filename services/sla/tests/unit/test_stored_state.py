"""A ticket's clocks are stored as the same bytes whichever process writes them.

String hashing is randomised per process, so a frozenset written in iteration order came out differently in two
replicas (the SLA benchmark's byte-for-byte check of seeded against service-written clocks found it).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

DUMP = """
from datetime import UTC, datetime
from pydantic import TypeAdapter
from switchboard.events.common import Channel, Priority, SlaTarget, TicketStatus
from switchboard.sla.domain.clock.state import TicketClocks
from switchboard.sla.domain.policy import Conditions, Policy, TargetSpec
policy = Policy(
    id="standard", version=1, name="Standard", targets={SlaTarget.FIRST_RESPONSE: TargetSpec(60)},
    conditions=Conditions(priorities=frozenset(Priority), channels=frozenset(Channel), queues=frozenset({"billing", "general", "vip"})),
    pause_on=frozenset({TicketStatus.PENDING, TicketStatus.ON_HOLD}),
)
state = TicketClocks("t-1", policy=policy, opened_at=datetime(2026, 12, 3, 9, tzinfo=UTC),
                     processed=frozenset(f"event-{n}" for n in range(8)))
print(TypeAdapter(TicketClocks).dump_json(state).decode())
"""


def test_the_stored_clocks_do_not_depend_on_the_process_hash_seed() -> None:
    written = {
        subprocess.run(
            [sys.executable, "-c", DUMP],
            env=os.environ | {"PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(6)
    }
    assert len(written) == 1, "two processes stored the same clocks as different documents"
    assert '"pause_on":["on_hold","pending"]' in written.pop()
