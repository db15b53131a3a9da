"""Waiting in a bench: for a condition to hold, with a time limit, or for a moment on the wall clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime


async def eventually(check: Callable[[], bool], *, limit_s: float, every_s: float = 0.05) -> bool:
    """Poll `check` until it holds or `limit_s` passed; whether it held."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(every_s)
    return check()


async def sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))
