"""Where reporting's time goes: the areas of its code (and of the libraries under it) that py-spy's samples of the
service, or of `rebuild`, are counted in. SQLite runs in C under the Python line that called it, so its time
shows in the frame of engine.py or worklist that ran the statement."""

from __future__ import annotations

from bench.profile_areas import at, path, under
from bench.profiling import Areas

#: Innermost frames of a thread that waits: a pool worker on its queue, the event loop inside uvloop (C, whose
#: own frames py-spy cannot see, so its I/O work is in here too). `--nonblocking` cannot tell idle threads apart.
IDLE_LEAVES = (
    "_worker (concurrent/futures/thread.py:81)",
    "Runner.run (asyncio/runners.py:118)",
    "select (selectors.py",
)


def busy_only(raw: str) -> tuple[str, float]:
    """py-spy's collapsed stacks without those of waiting threads, and the share of samples left out (%)."""
    kept, idle, total = [], 0, 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        if stack.rsplit(";", 1)[-1].startswith(IDLE_LEAVES):
            idle += int(count)
        else:
            kept.append(line)
    return "\n".join(kept), round(100 * idle / total, 1) if total else 0.0


REPORTING_AREAS = Areas(
    innermost=[
        ("engine.py (SQLite statements run from it)", at("reporting/engine.py")),
        ("worklist row_of / upsert", under("worklist")),
        (
            "ticket fold (domain/ticket.py, sla.py)",
            lambda f, fn: path(f).endswith(("/domain/ticket.py", "/domain/sla.py")),
        ),
        ("contributions (aggregates)", at("domain/contributions.py")),
        ("records (record_of, add)", at("domain/records.py")),
        ("agent fold", at("domain/agent.py")),
        ("business minutes / calendar", lambda f, fn: "/calendar/" in path(f) or path(f).endswith("/business.py")),
        ("pydantic (decode, model_dump)", lambda f, fn: "/pydantic" in path(f)),
        ("codec (events)", under("events")),
        ("json (stdlib)", under("json")),
        (
            "datetime / zoneinfo",
            lambda f, fn: path(f).endswith(("/datetime.py", "/_strptime.py")) or "/zoneinfo/" in path(f),
        ),
        ("aiokafka", under("aiokafka", "kafka")),
        ("pymongo / bson", under("pymongo", "bson")),
        ("publisher / projections", lambda f, fn: path(f).endswith(("/publisher.py", "/projections.py"))),
        ("fastapi / starlette / uvicorn", under("fastapi", "starlette", "uvicorn", "h11", "httptools")),
        ("prometheus_client", under("prometheus_client")),
        ("structlog / logging", under("structlog", "logging")),
        ("asyncio / threading", under("asyncio", "threading", "concurrent")),
    ],
    inclusive=[
        ("Engine.apply (the fold, all)", at("reporting/engine.py", "apply")),
        ("  derive (ticket views)", at("domain/ticket.py", "derive")),
        ("  business_minutes", at("reporting/business.py", "business_minutes")),
        ("  contributions", at("domain/contributions.py", "contributions")),
        ("  worklist upsert", at("worklist/schema.py", "upsert")),
        ("  _apply_delta (aggregates)", at("reporting/engine.py", "_apply_delta")),
        ("  _mark (dirty)", at("reporting/engine.py", "_mark")),
        ("Feed._fold (decode, apply, metrics: all)", at("reporting/feed.py", "_fold")),
        ("  codec.decode", at("events/codec.py", "decode")),
        ("  lag histogram and counters", lambda f, fn: fn in ("observe", "inc", "labels") and "prometheus" in path(f)),
        ("publish_dirty (all)", at("reporting/publisher.py", "publish_dirty")),
        ("event loop thread (uvicorn.run and below)", under("uvicorn")),
        ("writing the new version (insert_many)", lambda f, fn: fn == "insert_many"),
        ("Kafka fetches (aiokafka)", under("aiokafka")),
    ],
    other="other",
)
