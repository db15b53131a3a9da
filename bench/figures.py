"""Figures of a run: metrics with their baselines and ratios, percentiles, the table printed at the end, and the
merge into bench/results/latest.json."""

from __future__ import annotations

import contextlib
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = dict[str, Any]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def rate(count: int, first: float, last: float) -> float | None:
    """Events per second from the first to the last (None for fewer than two)."""
    return count / (last - first) if count > 1 and last > first else None


def latency_summary(seconds: list[float], *, count_and_min: bool = False) -> Json:
    """p50, p90, p99, p99.9 and max in ms (None when there are none); with `count_and_min`, those two as well."""
    summary = {f"p{q:g}_ms": percentile(seconds, q) * 1000 for q in (50, 90, 99, 99.9)}
    summary["max_ms"] = max(seconds, default=float("nan")) * 1000
    if count_and_min:
        summary["min_ms"] = min(seconds, default=float("nan")) * 1000
    shown = {k: None if math.isnan(v) else round(v, 2) for k, v in summary.items()}
    return ({"count": len(seconds)} | shown) if count_and_min else shown


@dataclass(frozen=True)
class Metric:
    value: float | None  # None: not measured (phase stalled, skipped or blocked)
    unit: str
    baseline: float | None = None

    def as_json(self) -> Json:
        value = None if self.value is None or math.isnan(self.value) else self.value
        ratio = value / self.baseline if value is not None and self.baseline else None
        return {
            "value": None if value is None else round(value, 3),
            "unit": self.unit,
            "baseline": None if self.baseline is None else round(self.baseline, 3),
            "ratio": None if ratio is None else round(ratio, 4),
        }


@dataclass
class Results:
    """A run's metrics by name, in the order measured, and the details that explain them (`meta`)."""

    metrics: dict[str, Metric] = field(default_factory=dict)
    meta: Json = field(default_factory=dict)

    def add(self, name: str, value: float | None, unit: str, baseline: float | None = None) -> None:
        metric = Metric(value, unit, baseline)
        self.metrics[name] = metric
        shown = metric.as_json()
        text = "not measured" if shown["value"] is None else f"{shown['value']:,.3f} {unit}"
        ratio = "" if shown["ratio"] is None else f"  (baseline {shown['baseline']:,.3f}, ratio {shown['ratio']:.3f})"
        log(f"  {name} = {text}{ratio}")

    def value(self, name: str) -> float | None:
        metric = self.metrics.get(name)
        return None if metric is None else metric.value


def merge_into(path: Path, results: Results, meta_key: str) -> None:
    """Write this run's metrics into `path` and its details under `meta_key`, keeping every other key (the
    three benches write the same file)."""
    existing: Json = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text())
        if isinstance(loaded, dict):
            existing = loaded
    existing |= {name: metric.as_json() for name, metric in results.metrics.items()}
    existing[meta_key] = results.meta
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{meta_key.strip('_')}.tmp")
    tmp.write_text(json.dumps(existing, indent=2, allow_nan=False, default=str) + "\n")
    tmp.replace(path)


def number(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def render(rows: list[tuple[str, ...]], left: set[int]) -> list[str]:
    """Rows as aligned columns (the first row is the header); columns in `left` are left-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def metric_table(results: Results) -> list[str]:
    """The metrics as a table: name, value, unit, baseline, ratio."""
    rows: list[tuple[str, ...]] = [("metric", "value", "unit", "baseline", "ratio")]
    for name, metric in results.metrics.items():
        shown = metric.as_json()
        rows.append((name, number(shown["value"]), metric.unit, number(shown["baseline"]), number(shown["ratio"], 3)))
    return render(rows, left={0, 2})
