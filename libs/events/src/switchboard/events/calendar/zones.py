"""Local wall-clock times to UTC instants, with one rule for the gaps and overlaps that DST creates.

The rule, used for every shift boundary:

- a local time that does not exist (skipped at spring-forward) moves forward to the first instant that does,
  i.e. the end of the gap: a shift written 02:30-05:00 on the night New York skips 02:00-03:00 opens at 03:00,
  because from that moment on the wall clock shows a time at or after 02:30;
- a local time that happens twice (repeated at fall-back) means its first occurrence.

Both make the mapping from local time to UTC non-decreasing, so a valid shift never becomes an inverted
interval; a shift lying wholly inside a gap becomes empty.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_MICROSECOND = timedelta(microseconds=1)


@lru_cache(maxsize=1 << 17)
def local_to_utc(zone_key: str, day: date, at: time) -> datetime:
    """The UTC instant at which `day` `at` (local wall-clock time in zone `zone_key`) begins, per the rule above."""
    zone = ZoneInfo(zone_key)
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first occurrence of a repeated time
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a gap: with fold=1 Python applies the offset after the transition, with fold=0 the one before; the
    # transition lies between the two candidates. Find the earliest instant whose wall clock reads >= naive.
    after = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = min(first, after), max(first, after)
    while high - low > _MICROSECOND:
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high


def local_date(zone: ZoneInfo, instant: datetime) -> date:
    """The local calendar date in `zone` at `instant`."""
    return instant.astimezone(zone).date()
