"""The freshness figures read off one run: lags by topic and by 5 s of timetable, and the quantiles of the service's
own lag histogram between two scrapes of its /metrics."""

from __future__ import annotations

import math

from bench.figures import Json, latency_summary, percentile
from bench.reporting_freshness import Event
from bench.servers import metric_families

LAG = "switchboard_reporting_event_to_projection_seconds"


def by_topic(events: list[Event], lags: dict[int, float]) -> Json:
    topics: dict[str, list[float]] = {}
    for event in events:
        topics.setdefault(event.topic.split(".support.", 1)[-1], []).append(lags[id(event)])
    return {t: {"events": len(v), **latency_summary(v)} for t, v in sorted(topics.items())}


def by_5s(events: list[Event], lags: dict[int, float], window: float) -> dict[int, float]:
    slots: dict[int, list[float]] = {}
    for event in events:
        slots.setdefault(int((event.due - window) // 5) * 5, []).append(lags[id(event)])
    return {s: round(percentile(v, 99) * 1000, 1) for s, v in sorted(slots.items())}


async def buckets(url: str) -> dict[float, float]:
    """The service's lag histogram: cumulative count per bucket edge (s)."""
    found: dict[float, float] = {}
    for family in await metric_families(url):
        if family.name == LAG:
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    edge = float(sample.labels["le"])
                    found[edge] = found.get(edge, 0.0) + sample.value
    return found


def quantiles(before: dict[float, float], after: dict[float, float]) -> Json:
    """p50 and p99 of the observations between two scrapes: the bucket edge they fall under (an upper bound) and a
    linear interpolation inside that bucket (Prometheus's histogram_quantile)."""
    edges = sorted(after)
    counts = [after[e] - before.get(e, 0.0) for e in edges]
    total = counts[-1] if counts else 0.0
    found: Json = {"observations": int(total), "buckets_ms": {}}
    if total <= 0:
        return found
    found["buckets_ms"] = {
        ("inf" if math.isinf(e) else round(e * 1000)): int(c) for e, c in zip(edges, counts, strict=True)
    }
    for q in (0.5, 0.99):
        rank = q * total
        i = next(i for i, c in enumerate(counts) if c >= rank)
        low, high = (edges[i - 1], counts[i - 1]) if i else (0.0, 0.0)
        edge = edges[i]
        name = f"p{round(q * 100)}"
        found[f"{name}_bucket_le_ms"] = None if math.isinf(edge) else round(edge * 1000, 1)
        if not math.isinf(edge) and counts[i] > high:
            found[f"{name}_ms"] = round((low + (edge - low) * (rank - high) / (counts[i] - high)) * 1000, 1)
    return found
